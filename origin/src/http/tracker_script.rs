//! `/matomo.js` and `/piwik.js`: the browser tracker, answered as the edge answers it
//! (`shared::answer::Answer::script`), so the stock Matomo snippet works unchanged when its URL
//! points at the origin; `/matomo.full.js`: its full build.

use axum::{
    http::{header, HeaderMap},
    response::Response,
    routing::get,
    Router,
};
use shared::{answer::Answer, tracker_script::Build};

use super::{answer::respond, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/matomo.js", get(|headers| script(Build::Default, headers)))
        .route("/piwik.js", get(|headers| script(Build::Default, headers)))
        .route(
            "/matomo.full.js",
            get(|headers| script(Build::Full, headers)),
        )
}

async fn script(build: Build, headers: HeaderMap) -> Response {
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok());
    respond(Answer::script(build, if_none_match))
}
