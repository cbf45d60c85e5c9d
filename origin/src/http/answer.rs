//! Turns `shared::answer::Answer` (Matomo's tracking answers, identical at the edge) into axum
//! responses.

use axum::{
    body::Body,
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use shared::answer::Answer;

/// An [`Answer`] as an axum response.
pub(crate) fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(answer.body.into_owned())).into_response();
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_an_answer_uses_becomes_a_valid_response_header() {
        let answer = Answer::preflight().with_cors(false, Some("https://a.example"));
        let response = respond(Answer::script(shared::tracker_script::Build::Default, None));
        assert_eq!(response.headers()["etag"].len(), 34);
        let response = respond(answer);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()["access-control-allow-credentials"],
            "true"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}
