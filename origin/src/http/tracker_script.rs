//! `/matomo.js` and `/piwik.js`: the browser tracker, answered as the edge answers it
//! (`shared::answer::Answer::script`), so the stock Matomo snippet works unchanged when its URL
//! points at the origin.

use axum::{
    http::{header, HeaderMap},
    response::Response,
    routing::get,
    Router,
};
use shared::answer::Answer;

use super::{answer::respond, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/matomo.js", get(script))
        .route("/piwik.js", get(script))
}

async fn script(headers: HeaderMap) -> Response {
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok());
    respond(Answer::script(if_none_match))
}
