//! The tracker script at `/matomo.js`, `/piwik.js` and the script alias.
//!
//! The file is `tracker-js/dist/matomo.js`, embedded at build time when it exists (see
//! `build.rs`); without it the edge answers a clear 404 rather than a broken script.

use std::borrow::Cow;

use crate::beacon::Answer;

/// The embedded script and its ETag (a quoted content hash), when the build found one.
#[cfg(edgemeter_tracker_js)]
pub const SCRIPT: Option<(&str, &str)> = Some((
    include_str!(env!("EDGEMETER_TRACKER_JS_PATH")),
    env!("EDGEMETER_TRACKER_JS_ETAG"),
));
/// The embedded script and its ETag (a quoted content hash), when the build found one.
#[cfg(not(edgemeter_tracker_js))]
pub const SCRIPT: Option<(&str, &str)> = None;

/// Browsers and the CDN may keep the script an hour, then revalidate with the ETag (cheap 304).
const CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

/// Answers a request for the script; `if_none_match` is the request's `If-None-Match`.
pub fn answer(script: Option<(&'static str, &'static str)>, if_none_match: Option<&str>) -> Answer {
    let common = |headers: &mut Vec<(&'static str, String)>| {
        headers.push(("Cross-Origin-Resource-Policy", "cross-origin".to_owned()));
        headers.push(("X-Content-Type-Options", "nosniff".to_owned()));
    };
    let Some((body, etag)) = script else {
        let mut headers = vec![
            ("Content-Type", "text/plain; charset=UTF-8".to_owned()),
            ("Cache-Control", "no-store".to_owned()),
        ];
        common(&mut headers);
        return Answer {
            status: 404,
            headers,
            body: Cow::Borrowed(
                b"The tracker script is not part of this build: build tracker-js (tracker-js/dist/matomo.js), then rebuild the edge.\n",
            ),
        };
    };
    let mut headers = vec![
        ("Cache-Control", CACHE_CONTROL.to_owned()),
        ("ETag", etag.to_owned()),
    ];
    common(&mut headers);
    let matches = if_none_match.is_some_and(|value| {
        value
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*")
    });
    if matches {
        return Answer {
            status: 304,
            headers,
            body: Cow::Borrowed(b""),
        };
    }
    headers.insert(
        0,
        (
            "Content-Type",
            "application/javascript; charset=UTF-8".to_owned(),
        ),
    );
    Answer {
        status: 200,
        headers,
        body: Cow::Borrowed(body.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAKE: Option<(&str, &str)> = Some(("var _paq;", "\"abc\""));

    #[test]
    fn without_a_built_script_the_answer_is_a_clear_404() {
        let a = answer(None, None);
        assert_eq!(a.status, 404);
        assert!(String::from_utf8_lossy(&a.body).contains("tracker-js/dist/matomo.js"));
    }

    #[test]
    fn the_script_is_served_with_caching_headers_and_an_etag() {
        let a = answer(FAKE, None);
        assert_eq!(a.status, 200);
        assert_eq!(a.header("etag"), Some("\"abc\""));
        assert!(a
            .header("cache-control")
            .is_some_and(|c| c.contains("max-age")));
        assert_eq!(&*a.body, b"var _paq;");
    }

    #[test]
    fn a_matching_if_none_match_gets_304_without_a_body() {
        let a = answer(FAKE, Some("W/\"zzz\", \"abc\""));
        assert_eq!(a.status, 304);
        assert!(a.body.is_empty());
        assert_eq!(answer(FAKE, Some("\"other\"")).status, 200);
    }
}
