//! Page URL and referrer classification: `PAGE_URL\nREFERRER_URL`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use origin::enrich::{referrer, url};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (page, referrer_url) = text.split_once('\n').unwrap_or((&text, ""));
    let site_urls = vec![
        "https://example.com".to_owned(),
        "http://shop.example.com/en".to_owned(),
    ];
    let excluded = vec!["spam.example".to_owned()];
    let _ = referrer::classify(page, Some(referrer_url), &site_urls, &excluded, None);
    let _ = referrer::search_engine(referrer_url);
    let _ = referrer::social_network(referrer_url);
    let normalised = url::normalise_page_url(page, &["utm_source".to_owned()], None, false);
    let (prefix, rest) = url::split_prefix(&normalised);
    let _ = url::join_prefix(prefix, rest);
    let _ = url::url_path_segments(rest);
    let _ = url::flat_page_label(rest);
    let _ = url::cut(rest, 1024);
    let _ = url::detect_site_search(page, &[], &[]);
    let _ = url::exclude_query_params(page, &["q"], &[]);
    let _ = url::url_decode(page);
});
