//! `/matomo.js` and `/piwik.js`: the browser tracker (`shared::tracker_script`), so the stock
//! Matomo snippet works unchanged when its URL points at the origin.

use std::sync::LazyLock;

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use shared::tracker_script;

use super::AppState;

static ETAG: LazyLock<String> = LazyLock::new(tracker_script::etag);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/matomo.js", get(script))
        .route("/piwik.js", get(script))
}

async fn script(headers: HeaderMap) -> Response {
    let etag = ETAG.as_str();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| tracker_script::is_fresh(value, etag));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, tracker_script::CACHE_CONTROL),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, tracker_script::CONTENT_TYPE)],
        tracker_script::SOURCE,
    )
        .into_response()
}
