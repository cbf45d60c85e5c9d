//! Property-style check: no input, however hostile, makes any parser or decoder panic.

use crate::batch;
use crate::params::{parse_incoming, Incoming, Params};
use crate::request::TrackingRequest;

/// Inputs chosen to hit edge cases: empty pieces, stray `%`, overlong numbers, invalid UTF-8,
/// deep JSON, odd bulk shapes, huge values.
fn nasty_inputs() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = [
        "",
        "?",
        "??",
        "&&&",
        "=",
        "==",
        "%",
        "%%",
        "%zz",
        "%F",
        "a=%",
        "a=%E2%82",
        "idsite=%00",
        "idsite=1&idsite=",
        "idsite=-0",
        "idsite=1e400",
        "idsite=9223372036854775808",
        "idsite=1&cdt=-9223372036854775808",
        "idsite=1&cdt=1e308&cdo=-9223372036854775808",
        "idsite=1&cdo=9223372036854775807",
        "idsite=1&cdt=9999-12-31+23%3A59%3A59",
        "idsite=1&cdt=-1e18",
        "idsite=1&h=99999999999999999999&m=-9223372036854775808",
        "idsite=1&lat=-0&long=1e-400",
        "idsite=1&lat=.&long=-",
        "idsite=1&_id=ééééééééééééééééé",
        "idsite=1&cid=éééééééé",
        "idsite=1&_id=0123456789abcdé",
        "idsite=1&pv_id=😀😀😀😀😀😀😀",
        "idsite=1&dimension4294967296=x&dimension00=y",
        "idsite=1&cip=::ffff:1.2.3.4%25eth0",
        "idsite=1&country=%C3%A9%C3%A9&region=%C3%A9",
        "idsite=1&search_count=-1e30",
        "https://x/?#",
        "x?y?z=1#a#b",
        r#"{"requests":null}"#,
        r#"{"requests":[null,true,1.5e400]}"#,
        r#"{"requests":[{"":""},{"a":{"b":[1,{"c":null}]}}],"token_auth":["x"],"send_image":[]}"#,
        r#"{"requests":["?", "?#", "https://?", "?a=%ff"],"token_auth":1}"#,
        r#""requests""#,
        r#"'requests'"#,
        "{\"requests\":[\"",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    inputs.push(format!("{{\"requests\":{}1{}}}", "[".repeat(200), "]".repeat(200)).into_bytes());
    inputs.push(format!("{{\"requests\":{}1{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes());
    inputs.push(format!("idsite=1&url={}", "%E2%82%AC".repeat(5000)).into_bytes());
    inputs.push(b"idsite=1&action_name=\xff\xfe\x00&\xc0=\xc1".to_vec());
    inputs.push((0u8..=255).collect());
    inputs
}

fn exercise(params: &Params) {
    let _ = params.to_query_string();
    if let Ok(request) = TrackingRequest::from_params(params) {
        for now in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX] {
            let _ = request.resolve_time(now);
            let _ = request.cdt_age(now);
            let _ = request.requires_token_at(now, i64::MIN);
        }
    }
}

#[test]
fn no_input_makes_any_parser_panic() {
    let mut parsed = 0;
    for input in nasty_inputs() {
        let text = String::from_utf8_lossy(&input);
        for (query, body) in [
            (text.as_ref(), &input[..]),
            ("", &input[..]),
            (text.as_ref(), &[][..]),
        ] {
            match parse_incoming(query, body) {
                Ok(Incoming::Single(params)) => exercise(&params),
                Ok(Incoming::Bulk(bulk)) => bulk.requests.iter().flatten().for_each(exercise),
                Err(err) => assert!(!err.to_string().is_empty()),
            }
            parsed += 1;
        }
        exercise(&Params::from_query_bytes(&input));
        let _ = batch::decode(&input);
        let _ = batch::verify(b"k", Some(&text), Some(&text), &input, 0, i64::MAX);
    }
    assert!(parsed > 100, "the list must actually run");
}

#[test]
fn every_byte_flip_of_a_batch_decodes_or_errors_without_panicking() {
    let batch = batch::Batch {
        items: vec![batch::EdgeRequest {
            id: [7; 16],
            received_at_ms: 1_700_000_000_000,
            query: "idsite=1&rec=1".to_owned(),
            facts: batch::EdgeFacts {
                ip: "2001:db8::".parse().ok(),
                user_agent: Some("UA".to_owned()),
                country: Some("fr".to_owned()),
                latitude: Some(1.5),
                ..batch::EdgeFacts::default()
            },
        }],
    };
    let bytes = batch::encode(&batch);
    let mut errors = 0;
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= flip;
            if batch::decode(&corrupt).is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0, "some corruptions must be detected");
}
