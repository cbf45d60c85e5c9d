//! `/healthz` (the process answers), `/readyz` (it can do its job) and `/metrics` (Prometheus).

use std::time::Duration;

use axum::{extract::State, http::StatusCode, routing::get, Router};

use super::AppState;

/// How long the tracker writer may have work without finishing a group before `/readyz` calls
/// it stuck. A group waits at most the database's busy or acquire timeout (10 s) per statement;
/// a healthy group of 2,000 requests takes about a second.
const WRITER_STUCK_AFTER: Duration = Duration::from_secs(30);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness: answers as long as the HTTP server runs, without touching the database, so an
/// orchestrator restarts the process only when the process itself is wedged.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers, every migration of this binary is applied, and the tracker
/// writer is not stuck. 200 with one `check: ok` line per check, or 503 naming what failed.
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let (database, migrations) = match state.store.pending_migrations().await {
        Ok(pending) if pending.is_empty() => (Ok(()), Ok(())),
        Ok(pending) => (
            Ok(()),
            Err(format!("not applied: {pending:?}: run `edgemeter migrate`")),
        ),
        Err(err) => {
            tracing::error!(error = %err, "readiness check: the database does not answer");
            (
                Err(format!("unavailable: {err}")),
                Err("unknown (the database does not answer)".to_owned()),
            )
        }
    };
    let status = state.writer.status();
    let writer = if status.is_stuck(WRITER_STUCK_AFTER) {
        Err(format!(
            "stuck: {} requests waiting, no group finished for {} s",
            status.queued_items,
            status.stalled_for.as_secs()
        ))
    } else {
        Ok(())
    };
    let mut body = String::new();
    let mut ready = true;
    for (name, check) in [
        ("database", database),
        ("migrations", migrations),
        ("writer", writer),
    ] {
        ready &= check.is_ok();
        let outcome = check.err().unwrap_or_else(|| "ok".to_owned());
        body.push_str(&format!("{name}: {outcome}\n"));
    }
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body)
}

async fn metrics(State(state): State<AppState>) -> String {
    state
        .metrics
        .render(&state.writer.status(), crate::store::now_unix())
}
