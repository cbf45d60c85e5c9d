//! Matomo's tracking endpoint, `/matomo.php` and `/piwik.php`, with Matomo's answers
//! (spec/MATOMO.md 1.1-1.2): single requests by GET, form POST or sendBeacon's empty-body POST,
//! and bulk JSON bodies.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, Method, Uri},
    response::Response,
    routing::any,
    Router,
};
use shared::{
    answer::Answer,
    params::{Incoming, Params},
    request::TrackingRequest,
};

use super::{answer::respond, parse_off_runtime, read_body, AppState, BodyError};
use crate::{
    enrich::client_hints::ClientHints,
    metrics::Metrics,
    store::{now_unix, Access, StoreError, TokenOwner},
    tracker::{Facts, Item, Outcome},
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/matomo.php", any(track))
        .route("/piwik.php", any(track))
}

async fn track(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let is_preflight = headers.contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS)
        || headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if method == Method::OPTIONS && is_preflight {
        return respond(Answer::preflight());
    }
    let is_get = method == Method::GET;
    let answer = handle(&state, peer, is_get, &uri, &headers, body).await;
    // Matomo allows any caller: the Origin header, or `*` without one.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*");
    respond(answer.with_cors(is_get, Some(origin)))
}

async fn handle(
    state: &AppState,
    peer: SocketAddr,
    is_get: bool,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Answer {
    let metrics = &state.metrics;
    let body = match read_body(body, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(err @ BodyError::TooLarge(_)) => {
            Metrics::add(&metrics.body_too_large_total, 1);
            return Answer::text(413, err.to_string());
        }
        Err(err) => return Answer::text(400, err.to_string()),
    };
    let query = uri.query().unwrap_or("").to_owned();
    let parsed = parse_off_runtime(body, move |body| {
        shared::params::parse_incoming(&query, body)
    })
    .await;
    let incoming = match parsed {
        Ok(Ok(incoming)) => incoming,
        Err(err) => {
            tracing::error!(error = %err, "parsing a tracking request panicked");
            return Answer::text(500, "the request could not be parsed\n".to_owned());
        }
        Ok(Err(err)) => {
            Metrics::add(&metrics.bulk_invalid_json_total, 1);
            return Answer::bulk_error(&err.to_string());
        }
    };
    if !state.switches.recording(&state.store).await {
        let send_image = match &incoming {
            Incoming::Single(params) => params.get("send_image") != Some("0"),
            Incoming::Bulk(bulk) => bulk.send_image,
        };
        return Answer::pixel(is_get, 503, send_image);
    }
    let facts = Facts {
        received_at: now_unix(),
        ip: Some(peer.ip()),
        user_agent: header_text(headers, header::USER_AGENT),
        accept_language: header_text(headers, header::ACCEPT_LANGUAGE),
        client_hints: ClientHints::from_headers(|name| {
            headers.get(name).and_then(|v| v.to_str().ok())
        }),
        dnt: headers.get("dnt").is_some_and(|v| v == "1"),
        ..Facts::default()
    };
    // A bulk body's tokens are in the body; a single request's may be in the URL.
    let token_in_url = matches!(incoming, Incoming::Single(_))
        && Params::from_query(uri.query().unwrap_or("")).contains("token_auth");
    let mut tokens = TokenCache::for_client(peer.ip(), token_in_url);
    match incoming {
        Incoming::Single(params) => track_one(state, is_get, params, facts, &mut tokens).await,
        Incoming::Bulk(bulk) => {
            let mut items = Vec::new();
            let mut slots = Vec::with_capacity(bulk.requests.len());
            for element in bulk.requests {
                let parsed = element.map_err(|err| err.to_string()).and_then(|params| {
                    count_parse_flaws(state, &params);
                    TrackingRequest::from_params(&params).map_err(|err| err.to_string())
                });
                match parsed {
                    Ok(request) => {
                        let trusted = tokens
                            .may_write(state, request.token_auth.as_deref(), request.site_id.get())
                            .await;
                        slots.push(Some(items.len()));
                        items.push(Item {
                            request,
                            facts: facts.clone(),
                            trusted: trusted.unwrap_or(false),
                            request_id: None,
                        });
                    }
                    Err(message) => {
                        tracing::debug!(%message, "invalid bulk element");
                        slots.push(None);
                    }
                }
            }
            let outcomes = match state.writer.submit(items).await {
                Ok(outcomes) => outcomes,
                Err(err) => {
                    Metrics::add(&metrics.storage_errors_total, slots.len() as u64);
                    tracing::error!(error = %err, "bulk tracking request failed");
                    return Answer::text(
                        500,
                        "storing the requests failed; retry later\n".to_owned(),
                    );
                }
            };
            let mut tracked = 0;
            let mut invalid_indices = Vec::new();
            for (index, slot) in slots.iter().enumerate() {
                match slot.map(|i| &outcomes[i]) {
                    Some(
                        outcome @ (Outcome::Tracked | Outcome::Excluded(_) | Outcome::Duplicate),
                    ) => {
                        count_outcome(metrics, outcome);
                        tracked += 1;
                    }
                    Some(outcome @ Outcome::Rejected(_)) => {
                        count_outcome(metrics, outcome);
                        invalid_indices.push(index);
                    }
                    None => {
                        Metrics::add(&metrics.requests_invalid_total, 1);
                        invalid_indices.push(index);
                    }
                }
            }
            // Matomo lists the rejected positions only to a super user's token.
            let list_indices = tokens.is_superuser(state, bulk.token_auth.as_deref()).await;
            Answer::bulk(tracked, &invalid_indices, list_indices, bulk.send_image)
        }
    }
}

/// A single (non-bulk) request.
async fn track_one(
    state: &AppState,
    is_get: bool,
    params: Params,
    facts: Facts,
    tokens: &mut TokenCache,
) -> Answer {
    let metrics = &state.metrics;
    if params.is_empty() {
        return Answer::nothing_tracked(is_get);
    }
    count_parse_flaws(state, &params);
    let send_image = params.get("send_image") != Some("0");
    let request = match TrackingRequest::from_params(&params) {
        Ok(request) => request,
        Err(err) => {
            Metrics::add(&metrics.requests_invalid_total, 1);
            tracing::debug!(error = %err, "invalid tracking request");
            return Answer::pixel(is_get, 400, send_image);
        }
    };
    let trusted = tokens
        .may_write(state, request.token_auth.as_deref(), request.site_id.get())
        .await;
    let item = Item {
        request,
        facts,
        trusted: trusted.unwrap_or(false),
        request_id: None,
    };
    match state
        .writer
        .submit(vec![item])
        .await
        .map(|mut outcomes| outcomes.pop())
    {
        Ok(Some(outcome)) => {
            count_outcome(metrics, &outcome);
            let status = match outcome {
                Outcome::Rejected(rejection) => {
                    tracing::debug!(%rejection, "tracking request refused");
                    400
                }
                Outcome::Tracked | Outcome::Excluded(_) | Outcome::Duplicate => 200,
            };
            Answer::pixel(is_get, status, send_image)
        }
        Ok(None) | Err(_) => {
            Metrics::add(&metrics.storage_errors_total, 1);
            Answer::pixel(is_get, 500, send_image)
        }
    }
}

pub(super) fn count_outcome(metrics: &Metrics, outcome: &Outcome) {
    let counter = match outcome {
        Outcome::Tracked => &metrics.requests_tracked_total,
        Outcome::Excluded(_) => &metrics.requests_excluded_total,
        Outcome::Rejected(_) => &metrics.requests_rejected_total,
        Outcome::Duplicate => &metrics.requests_duplicate_total,
    };
    Metrics::add(counter, 1);
}

/// Counts the flaws parsing tolerated: invalid UTF-8, and pieces dropped beyond PHP's
/// `max_input_vars` (which PHP drops with a warning in its log, as here).
fn count_parse_flaws(state: &AppState, params: &Params) {
    if params.had_invalid_utf8() {
        Metrics::add(&state.metrics.invalid_utf8_total, 1);
    }
    let dropped = params.dropped_over_limit();
    if dropped > 0 {
        Metrics::add(&state.metrics.params_over_limit_total, 1);
        tracing::debug!(
            dropped,
            "tracking request with more than {} parameters: the rest were dropped",
            shared::params::MAX_INPUT_VARS
        );
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Token owners looked up once per HTTP request (a bulk body repeats its token in every element).
///
/// For a direct client (`for_client`), a wrong token is a failed attempt of its IP
/// (`crate::brute_force`, Matomo's `Tracker.Request.authenticate.failed`), and the tokens of a
/// blocked IP are not looked up: its requests count as sent without a token. Edge batches
/// (`default`) carry visitors' tokens from many IPs the origin never sees, so nothing is counted.
/// A `secure_only` token sent in the URL (`token_in_url`) is refused like an unknown one, as on
/// the Reporting API.
#[derive(Default)]
pub(super) struct TokenCache {
    owners: HashMap<String, Option<TokenOwner>>,
    client: Option<std::net::IpAddr>,
    token_in_url: bool,
}

impl TokenCache {
    /// For the requests of one direct client.
    pub(super) fn for_client(ip: std::net::IpAddr, token_in_url: bool) -> Self {
        Self {
            owners: HashMap::new(),
            client: Some(ip),
            token_in_url,
        }
    }

    async fn owner(
        &mut self,
        state: &AppState,
        token: &str,
    ) -> Result<Option<TokenOwner>, StoreError> {
        if let Some(owner) = self.owners.get(token) {
            return Ok(owner.clone());
        }
        if let Some(ip) = self.client.filter(|ip| state.brute_force.is_blocked(*ip)) {
            Metrics::add(&state.metrics.brute_force_blocked_total, 1);
            tracing::debug!(%ip, "token of a blocked IP not checked");
            self.owners.insert(token.to_owned(), None);
            return Ok(None);
        }
        let owner = state
            .store
            .token_owner(&crate::auth::token_digest(token))
            .await?
            .filter(|owner| !(owner.secure_only && self.token_in_url));
        if let (None, Some(ip)) = (&owner, self.client) {
            Metrics::add(&state.metrics.auth_failures_total, 1);
            state.brute_force.record_failure(ip);
        }
        self.owners.insert(token.to_owned(), owner.clone());
        Ok(owner)
    }

    /// Whether the token may override IP, time and location for the site (Matomo: write access
    /// or more). `Err` only when the database fails; the request then counts as untrusted.
    pub(super) async fn may_write(
        &mut self,
        state: &AppState,
        token: Option<&str>,
        idsite: u32,
    ) -> Result<bool, StoreError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(false);
        };
        let Some(owner) = self.owner(state, token).await? else {
            return Ok(false);
        };
        Ok(state.store.access(&owner, i64::from(idsite)).await? >= Access::Write)
    }

    async fn is_superuser(&mut self, state: &AppState, token: Option<&str>) -> bool {
        match token {
            Some(token) => {
                matches!(self.owner(state, token).await, Ok(Some(owner)) if owner.is_superuser())
            }
            None => false,
        }
    }
}
