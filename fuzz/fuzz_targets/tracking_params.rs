//! `/matomo.php`: the URL query and the body (form or bulk JSON) through Matomo's merge rules,
//! then every request through validation. The input's first line is the query, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::{
    params::{parse_incoming, Incoming, Params, MAX_INPUT_VARS},
    request::TrackingRequest,
};

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    match parse_incoming(&query, body) {
        Ok(Incoming::Single(params)) => check(&params),
        Ok(Incoming::Bulk(bulk)) => {
            for params in bulk.requests.iter().flatten() {
                check(params);
            }
        }
        Err(_) => {}
    }
    // One form source: at most the cap, and it survives a round trip through its query string.
    let form = Params::from_form_bytes(body);
    assert!(form.len() <= MAX_INPUT_VARS);
    let again = Params::from_form_bytes(form.to_query_string().as_bytes());
    assert!(form.iter().eq(again.iter()), "round trip changed the pairs");
});

fn check(params: &Params) {
    let _ = TrackingRequest::from_params(params);
}
