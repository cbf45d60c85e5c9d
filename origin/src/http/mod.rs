//! The HTTP surface: one router per feature, merged here with the cross-cutting layers.
//!
//! - `tracking`: Matomo's tracking endpoint `/matomo.php` and `/piwik.php` (direct clients);
//! - `ingest`: `POST /ingest`, signed batches from the edge;
//! - `tracker_script`: the browser tracker at `/matomo.js` and `/piwik.js`;
//! - `health`: `/healthz` and Prometheus `/metrics`;
//! - `crate::api`: Matomo's Reporting API at `/index.php`, which hands the other modules to
//!   `crate::web` (the pages; its own router serves their stylesheet).

mod answer;
mod health;
mod ingest;
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
}

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(tracking::router())
        .merge(crate::api::router())
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
