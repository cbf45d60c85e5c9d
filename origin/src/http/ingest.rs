//! `POST /ingest`: signed batches from the edge (format in `shared::batch`).
//!
//! The signature and its timestamp window are checked first (401 with the reason otherwise), then
//! the batch is decoded (400 when malformed: the edge sends such a batch to its dead-letter queue
//! at once). Each request id already stored is skipped, so a retried batch counts once; the whole
//! batch is written in one transaction and acknowledged (200) only after the commit. A storage
//! failure answers 503 so the edge retries later.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use serde_json::json;
use shared::{
    batch::{self, EdgeRequest},
    params::Params,
    request::TrackingRequest,
};

use super::{
    parse_off_runtime, read_body,
    tracking::{count_outcome, TokenCache},
    AppState, BodyError,
};
use crate::{
    enrich::client_hints::ClientHints,
    metrics::Metrics,
    store::now_unix,
    tracker::{Facts, Item, Outcome},
};

/// Batches are larger than single beacons: a queue batch of 100 requests is about 50 KB.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/ingest", post(ingest))
}

async fn ingest(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let metrics = &state.metrics;
    let Some(secret) = state.config.ingest_secret.as_deref() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest is not configured on this origin: set EDGEMETER_INGEST_SECRET to the edge's INGEST_SECRET\n",
        )
            .into_response();
    };
    // The edge keeps a batch answered with a non-2xx and retries it later, so nothing sent
    // during maintenance, or while recording is off, is lost (Matomo drops what reaches it
    // with `record_statistics = 0`; the edge's queue makes dropping unnecessary).
    if state.switches.maintenance(&state.store).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the origin is in maintenance mode: the edge keeps this batch and retries it later\n",
        )
            .into_response();
    }
    if !state.switches.recording(&state.store).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "recording is off on the origin: the edge keeps this batch and retries it later\n",
        )
            .into_response();
    }
    let body = match read_body(body, MAX_BATCH_BYTES).await {
        Ok(body) => body,
        Err(err @ BodyError::TooLarge(_)) => {
            Metrics::add(&metrics.body_too_large_total, 1);
            return (StatusCode::PAYLOAD_TOO_LARGE, err.to_string()).into_response();
        }
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (timestamp, signature) = (
        header(batch::TIMESTAMP_HEADER),
        header(batch::SIGNATURE_HEADER),
    );
    let (secret, window) = (secret.to_owned(), state.config.ingest_window_secs);
    // Hashing and decoding up to 16 MB, before anything is known about the sender: off the
    // runtime threads.
    let checked = parse_off_runtime(body, move |body| {
        batch::verify(
            secret.as_bytes(),
            timestamp.as_deref(),
            signature.as_deref(),
            body,
            now_unix(),
            window,
        )
        .map(|()| batch::decode(body))
    })
    .await;
    let decoded = match checked {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(err)) => {
            Metrics::add(&metrics.ingest_rejected_total, 1);
            tracing::warn!(error = %err, "edge batch refused");
            return (StatusCode::UNAUTHORIZED, format!("{err}\n")).into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "checking an edge batch panicked");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the batch could not be read\n",
            )
                .into_response();
        }
    };
    let batch = match decoded {
        Ok(batch) => batch,
        Err(err) => {
            Metrics::add(&metrics.ingest_rejected_total, 1);
            tracing::warn!(error = %err, "malformed edge batch");
            return (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response();
        }
    };
    let mut tokens = TokenCache::default();
    let mut items = Vec::with_capacity(batch.items.len());
    let mut invalid = 0u64;
    for edge_request in batch.items {
        match item_from_edge(&state, &mut tokens, edge_request).await {
            Some(item) => items.push(item),
            None => invalid += 1,
        }
    }
    Metrics::add(&metrics.requests_invalid_total, invalid);
    match state.writer.submit(items).await {
        Ok(outcomes) => {
            outcomes
                .iter()
                .for_each(|outcome| count_outcome(metrics, outcome));
            Metrics::add(&metrics.ingest_batches_total, 1);
            let count =
                |wanted: fn(&Outcome) -> bool| outcomes.iter().filter(|o| wanted(o)).count();
            axum::Json(json!({
                "status": "success",
                "tracked": count(|o| matches!(o, Outcome::Tracked | Outcome::Excluded(_))),
                "duplicates": count(|o| matches!(o, Outcome::Duplicate)),
                "rejected": count(|o| matches!(o, Outcome::Rejected(_))),
                "invalid": invalid,
            }))
            .into_response()
        }
        Err(err) => {
            Metrics::add(&metrics.storage_errors_total, 1);
            tracing::error!(error = %err, "storing an edge batch failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable, retry later\n",
            )
                .into_response()
        }
    }
}

/// One edge request as a tracker item: its parameters as the visitor sent them, the edge's facts
/// (trusted: the batch is signed), and its request id for deduplication. `None` when the
/// parameters are invalid (the edge validates them too, so this is rare; it is counted).
async fn item_from_edge(
    state: &AppState,
    tokens: &mut TokenCache,
    edge: EdgeRequest,
) -> Option<Item> {
    let params = Params::from_query(&edge.query);
    let request = match TrackingRequest::from_params(&params) {
        Ok(request) => request,
        Err(err) => {
            tracing::debug!(error = %err, "invalid request in an edge batch");
            return None;
        }
    };
    let trusted = tokens
        .may_write(state, request.token_auth.as_deref(), request.site_id.get())
        .await;
    let facts = edge.facts;
    Some(Item {
        request,
        facts: Facts {
            received_at: edge.received_at_ms.div_euclid(1000),
            ip: facts.ip,
            fingerprint: Some(facts.fingerprint),
            user_agent: facts.user_agent,
            accept_language: facts.accept_language,
            country: facts.country,
            region: facts.region,
            city: facts.city,
            latitude: facts.latitude,
            longitude: facts.longitude,
            client_hints: ClientHints::from_headers(|name| facts.client_hints.get(name)),
            dnt: facts.dnt,
        },
        trusted: trusted.unwrap_or(false),
        request_id: Some(edge.id),
    })
}
