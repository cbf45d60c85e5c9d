//! Turns one HTTP request to the edge into Matomo's answer and the requests to forward.
//!
//! Pure (no `worker` calls), so every rule is tested on the host: routing, the answers of
//! MATOMO.md 1.1-1.2 (GIF, 204, bulk JSON, 400, the "nothing tracked" page, CORS, preflight),
//! and the enrichment of each tracking request with what only the edge knows.

use std::net::IpAddr;

use shared::answer::Answer;
use shared::batch::{EdgeFacts, EdgeRequest, HintHeaders};
use shared::params::{self, Incoming, Params};
use shared::tracker_script::Build;

use crate::config::{CorsOrigins, EdgeConfig};

/// The HTTP methods the edge tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET (image beacons, `?idsite=...`).
    Get,
    /// HEAD: answered like GET without a body by the runtime.
    Head,
    /// POST (form, empty body with URL parameters, bulk JSON).
    Post,
    /// OPTIONS (CORS preflight when it carries `Access-Control-Request-*`).
    Options,
    /// Anything else.
    Other,
}

impl Method {
    /// Reads a method name (case-sensitive, as HTTP says).
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

/// What the edge serves at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The tracking endpoint (`matomo.php`, `piwik.php`, the alias).
    Tracking,
    /// A build of the tracker script (`matomo.js`, `piwik.js`, the script alias: the default
    /// build; `matomo.full.js`: the full one).
    Script(Build),
    /// Anything else: 404.
    NotFound,
}

/// Picks the route for a URL path. The Matomo names match as the last path segment, so the
/// Worker also works when it is routed under a prefix (`example.com/_a/*`).
pub fn route(path: &str, config: &EdgeConfig) -> Route {
    if config.alias_path.as_deref() == Some(path) {
        return Route::Tracking;
    }
    if config.script_alias_path.as_deref() == Some(path) {
        return Route::Script(Build::Default);
    }
    match path.rsplit('/').next() {
        Some("matomo.php" | "piwik.php") => Route::Tracking,
        Some("matomo.js" | "piwik.js") => Route::Script(Build::Default),
        Some("matomo.full.js") => Route::Script(Build::Full),
        _ => Route::NotFound,
    }
}

/// Splits a request URL into its path and its query (without `?`; the fragment dropped).
pub fn split_url(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or_default();
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let path_and_query = url[after_scheme..]
        .find('/')
        .map_or("/", |at| &url[after_scheme + at..]);
    match path_and_query.split_once('?') {
        Some((path, query)) => (path, query),
        None => (path_and_query, ""),
    }
}

/// The request as the tracking endpoint sees it.
#[derive(Debug, Clone, Copy)]
pub struct Beacon<'a> {
    /// The method.
    pub method: Method,
    /// The URL's query, without `?`.
    pub query: &'a str,
    /// The raw body.
    pub body: &'a [u8],
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// Whether `Access-Control-Request-Method` or `-Headers` is present (a CORS preflight).
    pub preflight: bool,
}

/// What the edge knows about the visitor's connection (from headers and `request.cf`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visitor {
    /// The full IP (`CF-Connecting-IP`); anonymised before it is forwarded.
    pub ip: Option<IpAddr>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `Accept-Language`.
    pub accept_language: Option<String>,
    /// The `Sec-CH-UA-*` client hints, forwarded for the origin's device detection.
    pub client_hints: HintHeaders,
    /// `DNT: 1`.
    pub dnt: bool,
    /// `request.cf.country` (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// `request.cf.region`.
    pub region: Option<String>,
    /// `request.cf.city`.
    pub city: Option<String>,
    /// `request.cf.latitude`.
    pub latitude: Option<f64>,
    /// `request.cf.longitude`.
    pub longitude: Option<f64>,
}

/// The answer and the requests to forward.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// What the visitor gets.
    pub answer: Answer,
    /// What goes to the origin (empty when nothing was tracked).
    pub requests: Vec<EdgeRequest>,
}

/// What only the edge adds to each request, computed once per HTTP request.
pub struct Enrichment<'a> {
    /// The visitor's connection.
    pub visitor: &'a Visitor,
    /// Arrival time, milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Fresh request ids (random in the Worker, a counter in tests).
    pub new_id: &'a mut dyn FnMut() -> [u8; 16],
}

/// Answers a request to the tracking endpoint and lists what to forward.
pub fn handle(beacon: &Beacon<'_>, config: &EdgeConfig, enrich: Enrichment<'_>) -> Outcome {
    if beacon.method == Method::Options && beacon.preflight {
        return Outcome {
            answer: Answer::preflight(),
            requests: Vec::new(),
        };
    }
    // Matomo reads `$_GET + $_POST`; only POST has a body to read.
    let body = if beacon.method == Method::Post {
        beacon.body
    } else {
        b""
    };
    let (answer, requests) = match params::parse_incoming(beacon.query, body) {
        Ok(Incoming::Single(params)) => single(params, beacon.method, config, enrich),
        Ok(Incoming::Bulk(bulk)) => {
            let mut requests = Vec::new();
            let mut invalid_indices = Vec::new();
            let mut enrich = enrich;
            for (index, element) in bulk.requests.into_iter().enumerate() {
                match element {
                    Ok(params) => match accept(params, config, &mut enrich) {
                        Some(request) => requests.push(request),
                        None => invalid_indices.push(index),
                    },
                    Err(_) => invalid_indices.push(index),
                }
            }
            // The edge cannot check a token: like Matomo for a non-super user, it does not
            // list the invalid positions.
            let answer = Answer::bulk(requests.len(), &invalid_indices, false, bulk.send_image);
            (answer, requests)
        }
        Err(err) => (Answer::bulk_error(&err.to_string()), Vec::new()),
    };
    Outcome {
        answer: finish(answer, beacon, config),
        requests,
    }
}

fn single(
    params: Params,
    method: Method,
    config: &EdgeConfig,
    mut enrich: Enrichment<'_>,
) -> (Answer, Vec<EdgeRequest>) {
    let is_get = matches!(method, Method::Get | Method::Head);
    if params.is_empty() {
        return (Answer::nothing_tracked(is_get), Vec::new());
    }
    // `send_image` must be exactly "0" (`core/Tracker/Response.php`).
    let send_image = params.get("send_image") != Some("0");
    match accept(params, config, &mut enrich) {
        Some(request) => (Answer::pixel(is_get, 200, send_image), vec![request]),
        None => (Answer::pixel(is_get, 400, send_image), Vec::new()),
    }
}

/// Validates one request and, when valid, enriches it; `None` is Matomo's "invalid" (400).
fn accept(params: Params, config: &EdgeConfig, enrich: &mut Enrichment<'_>) -> Option<EdgeRequest> {
    let idsite = crate::validate::site_id(&params)?;
    if !config.sites.accepts(idsite) {
        return None;
    }
    let v = enrich.visitor;
    let fingerprint =
        crate::validate::fingerprint(&config.fingerprint_key, enrich.now_ms, v, &params);
    let facts = EdgeFacts {
        ip: v
            .ip
            .map(|ip| shared::ip::anonymise(ip, config.anonymize_ip_bytes)),
        fingerprint,
        country: v.country.clone(),
        region: v.region.clone(),
        city: v.city.clone(),
        latitude: v.latitude,
        longitude: v.longitude,
        user_agent: v.user_agent.clone(),
        accept_language: v.accept_language.clone(),
        client_hints: v.client_hints.clone(),
        dnt: v.dnt,
    };
    Some(EdgeRequest {
        id: (enrich.new_id)(),
        received_at_ms: enrich.now_ms,
        query: params.to_query_string(),
        facts,
    })
}

/// CORS for non-GET requests: Matomo echoes any Origin; a configured list narrows it.
fn finish(answer: Answer, beacon: &Beacon<'_>, config: &EdgeConfig) -> Answer {
    let is_get = matches!(beacon.method, Method::Get | Method::Head);
    let allowed = match (&config.cors, beacon.origin) {
        (CorsOrigins::Any, origin) => Some(origin.unwrap_or("*")),
        (CorsOrigins::List(list), Some(origin)) => list
            .contains(origin.trim_end_matches('/'))
            .then_some(origin),
        (CorsOrigins::List(_), None) => None,
    };
    let mut answer = answer.with_cors(is_get, allowed);
    if !is_get && matches!(config.cors, CorsOrigins::List(_)) {
        answer.headers.push(("Vary", "Origin".to_owned()));
    }
    answer
}

/// The answer for any path the edge does not serve.
pub fn not_found() -> Answer {
    Answer::text(404, "Not found: the edge serves /matomo.php, /piwik.php, /matomo.js, /piwik.js, /matomo.full.js and their aliases\n".to_owned())
}

/// The answer the glue gives when something inside the edge failed: the beacon is still
/// answered the way a tracked request is, so the client never sees an edge problem.
pub fn fallback(method: Method, origin: Option<&str>) -> Answer {
    let is_get = matches!(method, Method::Get | Method::Head);
    let beacon = Beacon {
        method,
        query: "",
        body: b"",
        origin,
        preflight: false,
    };
    finish(
        Answer::pixel(is_get, 200, true),
        &beacon,
        &EdgeConfig::from_lookup(|_| None),
    )
}

#[cfg(test)]
mod tests;
