//! `/index.php`: the URL query and the form body merged with PHP's array syntax and the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use origin::api::ApiParams;

fuzz_target!(|data: &[u8]| {
    let (query, form) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let params = ApiParams::from_query_and_form(&query, form);
    let _ = params.cache_key();
    for name in [
        "method",
        "idSite",
        "period",
        "date",
        "segment",
        "urls",
        "token_auth",
    ] {
        let _ = params.get(name);
        let _ = params.list(name);
    }
    let mut sub = ApiParams::parse(form);
    sub.fill_from(&params);
    sub.remove("method");
    assert_eq!(sub.get("method"), None);
});
