//! Host tests of the tracking endpoint's answers and enrichment (MATOMO.md 1.1-1.2, 3.3).

use super::*;
use crate::config::{self, EdgeConfig};
use shared::answer::GIF;
use std::collections::HashMap;

fn config(pairs: &[(&str, &str)]) -> EdgeConfig {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    EdgeConfig::from_lookup(|name| map.get(name).cloned())
}

fn visitor() -> Visitor {
    Visitor {
        ip: "203.0.113.77".parse().ok(),
        user_agent: Some("Mozilla/5.0 Test".to_owned()),
        accept_language: Some("fr-CH,fr;q=0.9".to_owned()),
        client_hints: HintHeaders {
            platform: Some("\"Windows\"".to_owned()),
            ..HintHeaders::default()
        },
        dnt: true,
        country: Some("CH".to_owned()),
        region: Some("Zurich".to_owned()),
        city: Some("Zurich".to_owned()),
        latitude: Some(47.37),
        longitude: Some(8.54),
    }
}

fn run_with(
    method: Method,
    query: &str,
    body: &[u8],
    origin: Option<&str>,
    cfg: &EdgeConfig,
) -> Outcome {
    let v = visitor();
    let mut next = 0u8;
    let mut new_id = move || {
        next += 1;
        [next; 16]
    };
    handle(
        &Beacon {
            method,
            query,
            body,
            origin,
            preflight: false,
        },
        cfg,
        Enrichment {
            visitor: &v,
            now_ms: 1_700_000_000_123,
            new_id: &mut new_id,
        },
    )
}

fn run(method: Method, query: &str, body: &[u8]) -> Outcome {
    run_with(method, query, body, None, &config(&[]))
}

const HIT: &str = "idsite=1&rec=1&action_name=Home&url=https%3A%2F%2Fexample.com%2F";

#[test]
fn the_gif_is_matomos_43_byte_transparent_pixel() {
    let hex: String = GIF.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "47494638396101000100800000000000000000\
         21f90401000000002c00000000010001000002024401003b"
    );
}

#[test]
fn a_get_hit_is_answered_with_the_gif_and_no_store_and_forwarded_once() {
    let out = run(Method::Get, HIT, b"");
    assert_eq!(out.answer.status, 200);
    assert_eq!(out.answer.header("content-type"), Some("image/gif"));
    assert_eq!(&*out.answer.body, &GIF[..]);
    assert_eq!(out.answer.header("cache-control"), Some("no-store"));
    assert_eq!(
        out.answer.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert_eq!(out.answer.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        out.answer.header("access-control-allow-origin"),
        None,
        "GET has no CORS"
    );
    assert_eq!(out.requests.len(), 1);
    assert!(out.requests[0].query.contains("action_name=Home"));
}

#[test]
fn send_image_zero_gives_204_without_a_body() {
    let out = run(Method::Get, &format!("{HIT}&send_image=0"), b"");
    assert_eq!(out.answer.status, 204);
    assert!(out.answer.body.is_empty());
    assert_eq!(out.requests.len(), 1);
}

#[test]
fn a_form_post_is_tracked_and_gets_cors_with_the_request_origin() {
    let out = run_with(
        Method::Post,
        "",
        HIT.as_bytes(),
        Some("https://site.example"),
        &config(&[]),
    );
    assert_eq!(out.answer.status, 200);
    assert_eq!(
        out.answer.header("access-control-allow-origin"),
        Some("https://site.example")
    );
    assert_eq!(
        out.answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(out.requests.len(), 1);
}

#[test]
fn a_post_without_origin_gets_a_wildcard_acao() {
    let out = run(Method::Post, HIT, b"");
    assert_eq!(out.answer.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn an_empty_body_post_with_url_parameters_is_tracked_like_send_beacon() {
    let out = run(Method::Post, &format!("{HIT}&send_image=0"), b"");
    assert_eq!(out.answer.status, 204);
    assert_eq!(out.requests.len(), 1);
}

#[test]
fn an_invalid_idsite_is_a_400_with_the_gif_and_nothing_forwarded() {
    for query in ["idsite=0&rec=1", "idsite=abc&rec=1", "rec=1"] {
        let out = run(Method::Get, query, b"");
        assert_eq!(out.answer.status, 400, "{query}");
        assert_eq!(&*out.answer.body, &GIF[..], "{query}");
        assert!(out.requests.is_empty(), "{query}");
    }
}

#[test]
fn a_site_outside_known_site_ids_is_refused_at_the_edge() {
    let cfg = config(&[(config::KNOWN_SITE_IDS, "2,3")]);
    assert_eq!(
        run_with(Method::Get, HIT, b"", None, &cfg).answer.status,
        400
    );
    let allowed = run_with(Method::Get, "idsite=3&rec=1", b"", None, &cfg);
    assert_eq!(allowed.answer.status, 200);
}

#[test]
fn a_bare_get_shows_the_matomo_page_with_200_and_a_bare_post_gets_400() {
    let get = run(Method::Get, "", b"");
    assert_eq!(get.answer.status, 200);
    assert!(get
        .answer
        .body
        .starts_with(b"This resource is part of Matomo."));
    assert!(get.requests.is_empty());
    let post = run(Method::Post, "", b"");
    assert_eq!(post.answer.status, 400);
    assert!(post.requests.is_empty());
}

#[test]
fn a_bulk_post_counts_tracked_and_invalid_requests() {
    let body = br#"{"requests":["?idsite=1&rec=1&action_name=a",{"idsite":"1","rec":"1","action_name":"b"},"?idsite=0&rec=1",42]}"#;
    let out = run(Method::Post, "", body);
    assert_eq!(out.answer.status, 200);
    assert_eq!(out.answer.header("content-type"), Some("application/json"));
    assert_eq!(
        &*out.answer.body,
        br#"{"status":"success","tracked":2,"invalid":2}"#
    );
    assert_eq!(out.requests.len(), 2);
    assert_ne!(
        out.requests[0].id, out.requests[1].id,
        "each request has its own id"
    );
}

#[test]
fn a_bulk_post_with_send_image_zero_gets_204() {
    let body = br#"{"requests":["?idsite=1&rec=1"],"send_image":0}"#;
    let out = run(Method::Post, "", body);
    assert_eq!(out.answer.status, 204);
    assert_eq!(out.requests.len(), 1);
}

#[test]
fn the_bulk_token_auth_reaches_every_forwarded_request() {
    let body = br#"{"requests":["?idsite=1&rec=1&cip=1.2.3.4"],"token_auth":"abc"}"#;
    let out = run(Method::Post, "", body);
    assert!(out.requests[0].query.contains("token_auth=abc"));
}

#[test]
fn unreadable_bulk_json_is_a_400_with_the_bulk_error_shape() {
    let out = run(Method::Post, "", br#"{"requests": [nope"#);
    assert_eq!(out.answer.status, 400);
    assert!(out.answer.body.starts_with(br#"{"status":"error""#));
    assert!(out.requests.is_empty());
}

#[test]
fn an_options_preflight_is_204_with_matomos_headers_and_tracks_nothing() {
    let v = visitor();
    let mut id = || [0u8; 16];
    let out = handle(
        &Beacon {
            method: Method::Options,
            query: HIT,
            body: b"",
            origin: Some("https://a"),
            preflight: true,
        },
        &config(&[]),
        Enrichment {
            visitor: &v,
            now_ms: 0,
            new_id: &mut id,
        },
    );
    assert_eq!(out.answer.status, 204);
    assert_eq!(
        out.answer.header("access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(out.answer.header("access-control-allow-headers"), Some("*"));
    assert_eq!(out.answer.header("access-control-allow-origin"), Some("*"));
    assert!(out.requests.is_empty());
}

#[test]
fn a_listed_cors_origin_is_echoed_and_an_unlisted_one_is_not() {
    let cfg = config(&[(config::CORS_ALLOWED_ORIGINS, "https://ok.example")]);
    let ok = run_with(Method::Post, HIT, b"", Some("https://ok.example"), &cfg);
    assert_eq!(
        ok.answer.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    assert_eq!(ok.answer.header("vary"), Some("Origin"));
    let other = run_with(Method::Post, HIT, b"", Some("https://evil.example"), &cfg);
    assert_eq!(other.answer.header("access-control-allow-origin"), None);
    assert_eq!(other.requests.len(), 1, "tracking does not depend on CORS");
}

#[test]
fn the_edge_adds_time_geo_language_dnt_and_an_anonymised_ip() {
    let out = run(Method::Get, HIT, b"");
    let r = &out.requests[0];
    assert_eq!(r.received_at_ms, 1_700_000_000_123);
    assert_eq!(
        r.facts.ip,
        "203.0.0.0".parse().ok(),
        "two bytes zeroed by default"
    );
    assert_eq!(r.facts.country.as_deref(), Some("CH"));
    assert_eq!(r.facts.city.as_deref(), Some("Zurich"));
    assert_eq!(r.facts.latitude, Some(47.37));
    assert_eq!(r.facts.accept_language.as_deref(), Some("fr-CH,fr;q=0.9"));
    assert_eq!(r.facts.user_agent.as_deref(), Some("Mozilla/5.0 Test"));
    assert_eq!(
        r.facts.client_hints.platform.as_deref(),
        Some("\"Windows\"")
    );
    assert!(r.facts.dnt);
}

#[test]
fn zero_anonymisation_bytes_forward_the_full_ip() {
    let cfg = config(&[(config::ANONYMIZE_IP_BYTES, "0")]);
    let out = run_with(Method::Get, HIT, b"", None, &cfg);
    assert_eq!(out.requests[0].facts.ip, "203.0.113.77".parse().ok());
}

#[test]
fn the_fingerprint_uses_the_full_ip_so_neighbours_in_one_slash_16_differ() {
    let cfg = config(&[(config::INGEST_SECRET, "k")]);
    let fp = |ip: &str| {
        let v = Visitor {
            ip: ip.parse().ok(),
            ..visitor()
        };
        let mut id = || [1u8; 16];
        let out = handle(
            &Beacon {
                method: Method::Get,
                query: HIT,
                body: b"",
                origin: None,
                preflight: false,
            },
            &cfg,
            Enrichment {
                visitor: &v,
                now_ms: 1_700_000_000_000,
                new_id: &mut id,
            },
        );
        out.requests[0].facts.fingerprint
    };
    assert_ne!(fp("203.0.113.77"), fp("203.0.113.78"));
    assert_eq!(fp("203.0.113.77"), fp("203.0.113.77"));
}

#[test]
fn the_fingerprint_changes_with_the_utc_day() {
    let cfg = config(&[(config::INGEST_SECRET, "k")]);
    let v = visitor();
    let fp = |now_ms: i64| {
        let mut id = || [1u8; 16];
        let out = handle(
            &Beacon {
                method: Method::Get,
                query: HIT,
                body: b"",
                origin: None,
                preflight: false,
            },
            &cfg,
            Enrichment {
                visitor: &v,
                now_ms,
                new_id: &mut id,
            },
        );
        out.requests[0].facts.fingerprint
    };
    assert_eq!(fp(1_700_000_000_000), fp(1_700_000_000_000 + 1000));
    assert_ne!(fp(1_700_000_000_000), fp(1_700_000_000_000 + 86_400_000));
}

#[test]
fn routing_knows_the_matomo_names_the_aliases_and_nothing_else() {
    let cfg = config(&[
        (config::ALIAS_PATH, "/_a/e"),
        (config::SCRIPT_ALIAS_PATH, "/_a/s.js"),
    ]);
    assert_eq!(route("/matomo.php", &cfg), Route::Tracking);
    assert_eq!(route("/piwik.php", &cfg), Route::Tracking);
    assert_eq!(route("/stats/matomo.php", &cfg), Route::Tracking);
    assert_eq!(route("/_a/e", &cfg), Route::Tracking);
    assert_eq!(route("/matomo.js", &cfg), Route::Script(Build::Default));
    assert_eq!(route("/piwik.js", &cfg), Route::Script(Build::Default));
    assert_eq!(route("/_a/s.js", &cfg), Route::Script(Build::Default));
    assert_eq!(route("/x/matomo.full.js", &cfg), Route::Script(Build::Full));
    assert_eq!(route("/piwik.full.js", &cfg), Route::NotFound);
    assert_eq!(route("/", &cfg), Route::NotFound);
    assert_eq!(route("/matomo.php.bak", &cfg), Route::NotFound);
}

#[test]
fn split_url_separates_path_and_query_and_drops_the_fragment() {
    assert_eq!(
        split_url("http://h:1/matomo.php?idsite=1&rec=1#x"),
        ("/matomo.php", "idsite=1&rec=1")
    );
    assert_eq!(split_url("https://h/piwik.php"), ("/piwik.php", ""));
    assert_eq!(split_url("https://h"), ("/", ""));
}

#[test]
fn the_fallback_answer_is_a_tracked_looking_gif_with_cors_on_post() {
    let a = fallback(Method::Post, Some("https://x"));
    assert_eq!(a.status, 200);
    assert_eq!(&*a.body, &GIF[..]);
    assert_eq!(a.header("access-control-allow-origin"), Some("https://x"));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let bodies: [&[u8]; 5] = [
        b"\xff\xfe\x00",
        b"\"requests\"",
        b"{\"requests\":{}}",
        b"%%%=&&=",
        b"{\"requests\":[null,[],{}]}",
    ];
    for body in bodies {
        let out = run(Method::Post, "%zz=%%&idsite=1%00", body);
        assert!(matches!(out.answer.status, 200 | 204 | 400), "{body:?}");
    }
}
