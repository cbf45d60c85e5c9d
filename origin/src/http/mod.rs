//! The HTTP surface: one router per feature, merged here with the cross-cutting layers.
//!
//! - `tracking`: Matomo's tracking endpoint `/matomo.php` and `/piwik.php` (direct clients);
//! - `ingest`: `POST /ingest`, signed batches from the edge;
//! - `tracker_script`: the browser tracker at `/matomo.js` and `/piwik.js`;
//! - `health`: `/healthz` (alive), `/readyz` (ready) and Prometheus `/metrics`;
//! - `crate::api`: Matomo's Reporting API at `/index.php`, which hands the other modules to
//!   `crate::web` (the pages; its own router serves their stylesheet);
//! - `serve`: the accept loop, with the connection cap and the header-read and idle timeouts.

mod answer;
mod health;
mod ingest;
pub mod serve;
mod tracker_script;
mod tracking;

use std::{sync::Arc, time::Duration};

use axum::{body::Body, Router};
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use crate::{
    config::Config,
    metrics::Metrics,
    store::Store,
    tracker::{SiteCache, WriterHandle},
};

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub writer: WriterHandle,
    pub sites: Arc<SiteCache>,
    pub metrics: Arc<Metrics>,
    /// Failed authentications per client IP.
    pub brute_force: Arc<crate::brute_force::BruteForce>,
    /// Maintenance mode and recording, switched at run time (see `crate::switches`).
    pub switches: Arc<crate::switches::Switches>,
}

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(tracking::router())
        .merge(
            crate::api::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                maintenance,
            )),
        )
        .merge(crate::web::router())
        .merge(ingest::router())
        .merge(tracker_script::router())
        .merge(health::router())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Bodies from this size on are parsed on tokio's blocking pool.
const PARSE_INLINE_BYTES: usize = 16 * 1024;

/// Runs `parse` over `body`, on tokio's blocking pool when the body is large, so that parsing a
/// megabyte of parameters never holds one of the few runtime threads `/healthz` and every other
/// request need. `Err` only if `parse` panicked.
pub(crate) async fn parse_off_runtime<T: Send + 'static>(
    body: axum::body::Bytes,
    parse: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    if body.len() < PARSE_INLINE_BYTES {
        return Ok(parse(&body));
    }
    tokio::task::spawn_blocking(move || parse(&body)).await
}

/// Matomo's maintenance page with 503 in place of the Reporting API while maintenance mode is on
/// (`core/FrontController.php::handleMaintenanceMode`; Matomo omits the 503 only with
/// `multi_server_environment = 1`, which has no equivalent here).
async fn maintenance(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.switches.maintenance(&state.store).await {
        let recording = state.switches.recording(&state.store).await;
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::response::Html(crate::switches::maintenance_page(recording)),
        )
            .into_response();
    }
    next.run(request).await
}

/// Reads a body up to `limit` bytes; `None` when it is larger (the caller answers 413).
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, BodyError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(err) => {
            // `to_bytes` reports both "too large" and transport errors through one type.
            if std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            {
                Err(BodyError::TooLarge(limit))
            } else {
                Err(BodyError::Unreadable(err.to_string()))
            }
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("the request body is larger than {0} bytes: split it into smaller requests")]
    TooLarge(usize),
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}
