//! Turns one HTTP request to the edge into Matomo's answer and the requests to forward.
//!
//! Pure (no `worker` calls), so every rule is tested on the host: routing, the answers of
//! MATOMO.md 1.1-1.2 (GIF, 204, bulk JSON, 400, the "nothing tracked" page, CORS, preflight),
//! and the enrichment of each tracking request with what only the edge knows.

use std::borrow::Cow;
use std::net::IpAddr;

use shared::batch::{EdgeFacts, EdgeRequest};
use shared::params::{self, Incoming, Params};

use crate::config::{CorsOrigins, EdgeConfig};

/// Matomo's 1x1 transparent GIF, exactly 43 bytes (`core/Tracker/Response.php`).
pub const GIF: &[u8; 43] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\
\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// The page Matomo prints when nothing was tracked (`core/Tracker/Response.php::outputResponse`,
/// text asserted in `tests/PHPUnit/System/TrackerResponseTest.php`).
pub const NOTHING_TRACKED: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

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
    /// The tracker script (`matomo.js`, `piwik.js`, the script alias).
    Script,
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
        return Route::Script;
    }
    match path.rsplit('/').next() {
        Some("matomo.php" | "piwik.php") => Route::Tracking,
        Some("matomo.js" | "piwik.js") => Route::Script,
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

/// An HTTP answer, independent of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for 204).
    pub body: Cow<'static, [u8]>,
}

impl Answer {
    fn new(status: u16, content_type: Option<&str>, body: Cow<'static, [u8]>) -> Answer {
        let mut headers = Vec::with_capacity(6);
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct.to_owned()));
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Matomo's answer to a tracked (or silently excluded) request: the GIF, or 204 without one.
    fn image(status: u16, send_image: bool) -> Answer {
        if send_image {
            Answer::new(status, Some("image/gif"), Cow::Borrowed(GIF))
        } else if status == 200 {
            Answer::new(204, None, Cow::Borrowed(b""))
        } else {
            Answer::new(status, None, Cow::Borrowed(b""))
        }
    }

    /// The value of a header, for tests and the glue.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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
            answer: preflight(),
            requests: Vec::new(),
        };
    }
    // Matomo reads `$_GET + $_POST`; only POST has a body to read.
    let body = if beacon.method == Method::Post {
        beacon.body
    } else {
        b""
    };
    let (mut answer, requests) = match params::parse_incoming(beacon.query, body) {
        Ok(Incoming::Single(params)) => single(params, beacon.method, config, enrich),
        Ok(Incoming::Bulk(bulk)) => {
            let mut requests = Vec::new();
            let mut tracked = 0usize;
            let mut invalid = 0usize;
            let mut enrich = enrich;
            for element in bulk.requests {
                match element {
                    Ok(params) => match accept(params, config, &mut enrich) {
                        Some(request) => {
                            tracked += 1;
                            requests.push(request);
                        }
                        None => invalid += 1,
                    },
                    // Matomo skips a URL without a query without counting it.
                    Err(params::ElementError::EmptyQuery { .. }) => {}
                    Err(_) => invalid += 1,
                }
            }
            let answer = if bulk.send_image {
                let json =
                    format!(r#"{{"status":"success","tracked":{tracked},"invalid":{invalid}}}"#);
                Answer::new(200, Some("application/json"), Cow::Owned(json.into_bytes()))
            } else {
                Answer::new(204, None, Cow::Borrowed(b""))
            };
            (answer, requests)
        }
        Err(_) => {
            // Matomo answers an unreadable bulk body with its bulk error shape.
            let json = r#"{"status":"error","tracked":0,"invalid":0}"#;
            (
                Answer::new(
                    400,
                    Some("application/json"),
                    Cow::Borrowed(json.as_bytes()),
                ),
                Vec::new(),
            )
        }
    };
    finish(&mut answer, beacon, config);
    Outcome { answer, requests }
}

fn single(
    params: Params,
    method: Method,
    config: &EdgeConfig,
    mut enrich: Enrichment<'_>,
) -> (Answer, Vec<EdgeRequest>) {
    if params.is_empty() {
        // A bare GET is how monitoring checks that the endpoint exists: 200; anything else 400.
        let status = if matches!(method, Method::Get | Method::Head) {
            200
        } else {
            400
        };
        let answer = Answer::new(
            status,
            Some("text/html; charset=UTF-8"),
            Cow::Borrowed(NOTHING_TRACKED.as_bytes()),
        );
        return (answer, Vec::new());
    }
    // `send_image` must be exactly "0" (`core/Tracker/Response.php`).
    let send_image = params.get("send_image") != Some("0");
    match accept(params, config, &mut enrich) {
        Some(request) => (Answer::image(200, send_image), vec![request]),
        None => (Answer::image(400, send_image), Vec::new()),
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
        dnt: v.dnt,
    };
    Some(EdgeRequest {
        id: (enrich.new_id)(),
        received_at_ms: enrich.now_ms,
        query: params.to_query_string(),
        facts,
    })
}

/// The CORS preflight answer (`core/Tracker.php::main`).
fn preflight() -> Answer {
    let mut answer = Answer::new(204, None, Cow::Borrowed(b""));
    answer.headers.extend([
        ("Access-Control-Allow-Methods", "GET, POST".to_owned()),
        ("Access-Control-Allow-Headers", "*".to_owned()),
        ("Access-Control-Allow-Origin", "*".to_owned()),
    ]);
    common_headers(&mut answer);
    answer
}

/// Headers every tracking answer carries, and CORS for non-GET requests.
fn finish(answer: &mut Answer, beacon: &Beacon<'_>, config: &EdgeConfig) {
    if !matches!(beacon.method, Method::Get | Method::Head) {
        // `Response::outputAccessControlHeaders`: ACAO = Origin or `*`, with credentials.
        let allowed = match (&config.cors, beacon.origin) {
            (CorsOrigins::Any, origin) => Some(origin.unwrap_or("*").to_owned()),
            (CorsOrigins::List(list), Some(origin)) => list
                .contains(origin.trim_end_matches('/'))
                .then(|| origin.to_owned()),
            (CorsOrigins::List(_), None) => None,
        };
        if let CorsOrigins::List(_) = config.cors {
            answer.headers.push(("Vary", "Origin".to_owned()));
        }
        if let Some(origin) = allowed {
            answer.headers.push(("Access-Control-Allow-Origin", origin));
            answer
                .headers
                .push(("Access-Control-Allow-Credentials", "true".to_owned()));
        }
    }
    common_headers(answer);
}

fn common_headers(answer: &mut Answer) {
    answer.headers.extend([
        ("Cache-Control", "no-store".to_owned()),
        ("Cross-Origin-Resource-Policy", "cross-origin".to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
    ]);
}

/// The answer for any path the edge does not serve.
pub fn not_found() -> Answer {
    let mut answer = Answer::new(
        404,
        Some("text/plain; charset=UTF-8"),
        Cow::Borrowed(b"Not found\n"),
    );
    common_headers(&mut answer);
    answer
}

/// The answer the glue gives when something inside the edge failed: the beacon is still
/// answered the way a tracked request is, so the client never sees an edge problem.
pub fn fallback(method: Method, origin: Option<&str>) -> Answer {
    let mut answer = Answer::image(200, true);
    let beacon = Beacon {
        method,
        query: "",
        body: b"",
        origin,
        preflight: false,
    };
    finish(&mut answer, &beacon, &EdgeConfig::from_lookup(|_| None));
    answer
}

#[cfg(test)]
mod tests;
