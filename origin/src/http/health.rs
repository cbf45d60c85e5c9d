//! `/healthz` (the database answers) and `/metrics` (Prometheus counters).

use axum::{extract::State, http::StatusCode, routing::get, Router};

use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.begin().await {
        Ok(_) => (StatusCode::OK, "ok\n"),
        Err(err) => {
            tracing::error!(error = %err, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}
