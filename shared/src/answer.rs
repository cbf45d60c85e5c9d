//! Matomo's answers to tracking requests (spec/MATOMO.md 1.2) as plain values, independent of the
//! HTTP runtime: the origin turns an [`Answer`] into an axum response, the edge into a Worker
//! response, so a client gets the same status, headers and bytes from either.
//!
//! Sources: `core/Tracker/Response.php` (`outputApiResponse`, `outputResponse`,
//! `outputAccessControlHeaders`), `core/Tracker.php::main` (the preflight),
//! `plugins/BulkTracking/Tracker/Response.php` (bulk answers).

use std::borrow::Cow;

use crate::tracker_script;

/// The 1x1 transparent GIF Matomo answers with: exactly 43 bytes.
pub const GIF: &[u8; 43] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\
\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// Matomo's page for a request with no tracking parameters (text asserted in
/// `tests/PHPUnit/System/TrackerResponseTest.php`).
pub const NOTHING_TRACKED: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

/// An HTTP answer: status, headers in order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Cow<'static, [u8]>,
}

impl Answer {
    fn new(status: u16, content_type: Option<&'static str>, body: Cow<'static, [u8]>) -> Answer {
        let mut headers = Vec::with_capacity(6);
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type.to_owned()));
        }
        // Beacons are fetched cross-origin as images or with no-cors: let every page embed them,
        // and never let a browser sniff the GIF or JSON as something else.
        headers.push(("Cross-Origin-Resource-Policy", "cross-origin".to_owned()));
        headers.push(("X-Content-Type-Options", "nosniff".to_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The answer to one (non-bulk) tracking request with `status` (200 tracked or excluded,
    /// 400 invalid, 500 failed, 503 recording off). With `send_image=0` Matomo answers an empty
    /// 204 whatever happened, errors included: its exception path sets the error status first and
    /// the no-image branch then overwrites it. GET answers also say `Cache-Control: no-store`.
    pub fn pixel(is_get: bool, status: u16, send_image: bool) -> Answer {
        let mut answer = if send_image {
            Answer::new(status, Some("image/gif"), Cow::Borrowed(GIF))
        } else {
            Answer::new(204, None, Cow::Borrowed(b""))
        };
        if is_get {
            answer
                .headers
                .push(("Cache-Control", "no-store".to_owned()));
        }
        answer
    }

    /// Matomo's page for a request without parameters: 200 for a bare GET (monitoring checks that
    /// the endpoint exists), 400 otherwise.
    pub fn nothing_tracked(is_get: bool) -> Answer {
        Answer::new(
            if is_get { 200 } else { 400 },
            Some("text/html; charset=utf-8"),
            Cow::Borrowed(NOTHING_TRACKED.as_bytes()),
        )
    }

    /// The CORS preflight answer: nothing is tracked.
    pub fn preflight() -> Answer {
        let mut answer = Answer::new(204, None, Cow::Borrowed(b""));
        answer.headers.extend([
            ("Access-Control-Allow-Methods", "GET, POST".to_owned()),
            ("Access-Control-Allow-Headers", "*".to_owned()),
            ("Access-Control-Allow-Origin", "*".to_owned()),
        ]);
        answer
    }

    /// A bulk request's answer: `{"status":"success","tracked":N,"invalid":M}`, plus the 0-based
    /// `invalid_indices` when `list_indices` (Matomo shows them to a super user's token only), or
    /// an empty 204 when the body said `"send_image":0`.
    pub fn bulk(
        tracked: usize,
        invalid_indices: &[usize],
        list_indices: bool,
        send_image: bool,
    ) -> Answer {
        if !send_image {
            return Answer::new(204, None, Cow::Borrowed(b""));
        }
        let mut body = serde_json::json!({
            "status": "success",
            "tracked": tracked,
            "invalid": invalid_indices.len(),
        });
        if list_indices {
            body["invalid_indices"] = serde_json::json!(invalid_indices);
        }
        Answer::json(200, &body)
    }

    /// A bulk body that could not be read: 400 with Matomo's error shape and a message. (Matomo
    /// itself answers "success, 0 tracked", which hides the loss from the client.)
    pub fn bulk_error(message: &str) -> Answer {
        Answer::json(
            400,
            &serde_json::json!({"status": "error", "tracked": 0, "invalid": 0, "message": message}),
        )
    }

    /// A request the endpoint refuses before reading it (too large, unreadable): a short text.
    pub fn text(status: u16, message: String) -> Answer {
        Answer::new(
            status,
            Some("text/plain; charset=utf-8"),
            Cow::Owned(message.into_bytes()),
        )
    }

    /// A build of the tracker script, or 304 when `if_none_match` names its current version.
    pub fn script(build: tracker_script::Build, if_none_match: Option<&str>) -> Answer {
        let etag = tracker_script::etag(build);
        let fresh = if_none_match.is_some_and(|value| tracker_script::is_fresh(value, &etag));
        let mut answer = if fresh {
            Answer::new(304, None, Cow::Borrowed(b""))
        } else {
            Answer::new(
                200,
                Some(tracker_script::CONTENT_TYPE),
                Cow::Borrowed(build.source().as_bytes()),
            )
        };
        answer.headers.push(("ETag", etag));
        answer
            .headers
            .push(("Cache-Control", tracker_script::CACHE_CONTROL.to_owned()));
        answer
    }

    fn json(status: u16, body: &serde_json::Value) -> Answer {
        Answer::new(
            status,
            Some("application/json"),
            Cow::Owned(body.to_string().into_bytes()),
        )
    }

    /// Matomo's CORS headers on every non-GET tracking answer: the allowed Origin (Matomo allows
    /// any: the request's Origin, or `*` without one) with credentials. `allowed_origin` is
    /// `None` when a configured allow-list refuses the caller's Origin.
    pub fn with_cors(mut self, is_get: bool, allowed_origin: Option<&str>) -> Answer {
        if !is_get {
            if let Some(origin) = allowed_origin {
                self.headers
                    .push(("Access-Control-Allow-Origin", origin.to_owned()));
                self.headers
                    .push(("Access-Control-Allow-Credentials", "true".to_owned()));
            }
        }
        self
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gif_is_matomos_43_bytes() {
        assert_eq!(GIF.len(), 43);
        assert_eq!(&GIF[..6], b"GIF89a");
        assert_eq!(GIF[42], 0x3b);
    }

    #[test]
    fn a_tracked_get_gets_the_gif_with_no_store() {
        let answer = Answer::pixel(true, 200, true);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("image/gif"));
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        assert_eq!(&answer.body[..], &GIF[..]);
        assert_eq!(
            Answer::pixel(false, 200, true).header("cache-control"),
            None
        );
    }

    #[test]
    fn send_image_0_is_an_empty_204_even_for_errors_as_matomo_does() {
        for status in [200, 400, 500] {
            let answer = Answer::pixel(false, status, false);
            assert_eq!(answer.status, 204);
            assert!(answer.body.is_empty());
        }
    }

    #[test]
    fn errors_keep_the_gif_and_their_status() {
        let answer = Answer::pixel(true, 400, true);
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body.len(), 43);
    }

    #[test]
    fn a_bare_get_shows_matomos_page_with_200_and_anything_else_400() {
        assert_eq!(Answer::nothing_tracked(true).status, 200);
        assert_eq!(Answer::nothing_tracked(false).status, 400);
        assert!(Answer::nothing_tracked(true)
            .body
            .starts_with(b"This resource is part of Matomo."));
    }

    #[test]
    fn the_preflight_is_a_204_with_matomos_headers() {
        let answer = Answer::preflight();
        assert_eq!(answer.status, 204);
        assert_eq!(
            answer.header("access-control-allow-methods"),
            Some("GET, POST")
        );
        assert_eq!(answer.header("access-control-allow-headers"), Some("*"));
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn bulk_answers_list_invalid_indices_only_when_asked() {
        let answer = Answer::bulk(2, &[1, 3], false, true);
        assert_eq!(
            &answer.body[..],
            br#"{"status":"success","tracked":2,"invalid":2}"#
        );
        let listed = Answer::bulk(2, &[1, 3], true, true);
        assert_eq!(
            &listed.body[..],
            br#"{"status":"success","tracked":2,"invalid":2,"invalid_indices":[1,3]}"#
        );
        assert_eq!(Answer::bulk(2, &[], true, false).status, 204);
    }

    #[test]
    fn post_answers_carry_cors_with_credentials_and_get_answers_do_not() {
        let post = Answer::pixel(false, 200, true).with_cors(false, Some("https://a.example"));
        assert_eq!(
            post.header("access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(
            post.header("access-control-allow-credentials"),
            Some("true")
        );
        let get = Answer::pixel(true, 200, true).with_cors(true, Some("https://a.example"));
        assert_eq!(get.header("access-control-allow-origin"), None);
    }

    #[test]
    fn every_answer_says_cross_origin_and_nosniff() {
        for answer in [
            Answer::pixel(true, 200, true),
            Answer::preflight(),
            Answer::bulk_error("x"),
            Answer::script(tracker_script::Build::Default, None),
        ] {
            assert_eq!(
                answer.header("cross-origin-resource-policy"),
                Some("cross-origin")
            );
            assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        }
    }

    #[test]
    fn each_build_revalidates_with_its_own_etag() {
        use tracker_script::Build;
        for (build, other) in [(Build::Default, Build::Full), (Build::Full, Build::Default)] {
            let first = Answer::script(build, None);
            assert_eq!(first.status, 200);
            assert_eq!(&*first.body, build.source().as_bytes());
            let etag = first.header("etag").unwrap().to_owned();
            assert_eq!(Answer::script(build, Some(&etag)).status, 304);
            assert_eq!(Answer::script(other, Some(&etag)).status, 200);
            assert_eq!(Answer::script(build, Some("\"stale\"")).status, 200);
        }
    }
}
