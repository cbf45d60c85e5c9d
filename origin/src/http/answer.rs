//! The answers of Matomo's tracking endpoint (spec/MATOMO.md 1.2), shared by `/matomo.php` here
//! and mirrored byte for byte by the edge.

use axum::{
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};

/// The 1x1 transparent GIF Matomo answers with: exactly 43 bytes.
pub(crate) const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Matomo's text for a request with no tracking parameters (`core/Tracker/Handler.php`).
pub(crate) const NOTHING_TRACKED: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

/// The answer to one non-bulk tracking request (`core/Tracker/Response.php::outputApiResponse`):
/// the GIF with `status`; GET answers also say `Cache-Control: no-store`. With `send_image=0`
/// Matomo answers an empty 204 whatever happened, errors included: its exception path sets the
/// error status first and the no-image branch then overwrites it, and we keep that behaviour.
pub(crate) fn pixel(method: &Method, status: StatusCode, send_image: bool) -> Response {
    let mut response = if send_image {
        (status, [(header::CONTENT_TYPE, "image/gif")], GIF).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    if method == Method::GET {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Matomo's page for a request that carried no tracking parameters: 200 for a bare GET, 400
/// otherwise (`Response::outputResponse`).
pub(crate) fn nothing_tracked(method: &Method) -> Response {
    let status = if method == Method::GET {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        NOTHING_TRACKED,
    )
        .into_response()
}

/// Matomo adds CORS headers to every non-GET tracking answer: the caller's Origin (or `*`) with
/// credentials allowed (`core/Tracker/Response.php::outputAccessControlHeaders`).
pub(crate) fn with_cors(
    method: &Method,
    request_headers: &HeaderMap,
    mut response: Response,
) -> Response {
    if method != Method::GET {
        let origin = request_headers
            .get(header::ORIGIN)
            .cloned()
            .unwrap_or(HeaderValue::from_static("*"));
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The CORS preflight answer (`core/Tracker.php::main`), or `None` when the OPTIONS request is
/// not a preflight (Matomo then handles it like any request).
pub(crate) fn preflight(request_headers: &HeaderMap) -> Option<Response> {
    let is_preflight = request_headers.contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS)
        || request_headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    is_preflight.then(|| {
        (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, "*"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
        )
            .into_response()
    })
}

/// A JSON answer of the bulk endpoint.
pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gif_is_matomos_43_bytes() {
        assert_eq!(GIF.len(), 43);
        assert_eq!(&GIF[..6], b"GIF89a");
    }

    #[test]
    fn send_image_0_answers_an_empty_204_even_for_errors_as_matomo_does() {
        let ok = pixel(&Method::POST, StatusCode::OK, false);
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            pixel(&Method::GET, StatusCode::BAD_REQUEST, false).status(),
            StatusCode::NO_CONTENT
        );
    }

    #[test]
    fn only_get_answers_carry_no_store() {
        let get = pixel(&Method::GET, StatusCode::OK, true);
        assert_eq!(get.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(get.headers()[header::CONTENT_TYPE], "image/gif");
        assert!(!pixel(&Method::POST, StatusCode::OK, true)
            .headers()
            .contains_key(header::CACHE_CONTROL));
    }

    #[test]
    fn post_answers_echo_the_origin_with_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://a.example"),
        );
        let response = with_cors(
            &Method::POST,
            &headers,
            pixel(&Method::POST, StatusCode::OK, true),
        );
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://a.example"
        );
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
            "true"
        );
        let get = with_cors(
            &Method::GET,
            &headers,
            pixel(&Method::GET, StatusCode::OK, true),
        );
        assert!(!get
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }
}
