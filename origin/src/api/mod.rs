//! Matomo's Reporting API at `/index.php?module=API&method=Module.action` (spec/MATOMO.md 4).
//!
//! One request goes: parameters (`params`: URL query + form body, the query winning) ->
//! authentication (`token_auth`, or the `anonymous` user) -> the method (`methods` for the
//! non-report ones, else `crate::reports::produce` per site and period) -> generic filters
//! (`filters`) -> the format (`render`). Dates are resolved in each site's time zone (`dates`).
//!
//! Report requests are resolved first ([`Plan`]: sites, access, periods, and the archive headers
//! of all periods of a site in one query), then produced. What a report answer depends on is
//! then known, so a rendered answer is reused from `cache` when the request (minus its token)
//! and that resolution are the same; see `cache` for why that is never stale. Verified tokens
//! are kept a few seconds (`cache::TokenCache`), so a request usually costs one indexed query.
//!
//! Matomo's rules kept here (`core/API/Request.php`, `core/API/ResponseBuilder.php`):
//! - `format` defaults to `xml`; errors are rendered in the requested format with HTTP 200,
//!   except `NoAccessException`s (no or wrong token, no access to the site), which are 401.
//! - `method` must be `Module.action`: "The method name is invalid. Expected 'module.methodName'".
//! - `idSite=all` and `idSite=1,2` key the answer by site id; `lastN`, `previousN` and `D1,D2`
//!   (with a period other than `range`) key it by period label; both nest site -> date.

pub mod cache;
pub mod dates;
pub mod filters;
pub mod label;
mod methods;
pub mod params;
pub mod render;
mod segments;
mod sites;
mod users;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub use dates::{label as period_label, parse as parse_dates, parse_kind, Dates};
pub use params::ApiParams;
pub use render::{Format, Output};

use crate::{
    archive::{self, Lookup, Mode, SiteArchiver},
    http::AppState,
    reports::{self, ReportError, ReportOutput, ReportRequest},
    store::{Access, StoreError, TokenOwner, ANONYMOUS},
    tracker::SiteInfo,
};

/// The Matomo version this API answers as (`API.getMatomoVersion`).
pub const MATOMO_VERSION: &str = "5.3.1";

/// `/` and `/index.php` (GET and POST): one entry point, as Matomo's `index.php` is; `module=API`
/// is answered here, every other module by `crate::web` (the pages).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index).post(index))
        .route("/index.php", get(index).post(index))
}

/// Why a request failed; rendered in the requested format.
#[derive(Debug)]
pub enum ApiError {
    /// An ordinary API error: HTTP 200 with an error body, as Matomo does.
    Message(String),
    /// `NoAccessException`: HTTP 401.
    NoAccess(String),
    /// A database failure: HTTP 500.
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(message) => Self::Message(message),
            StoreError::Db(err) => {
                tracing::error!(error = %err, "database error in the Reporting API");
                Self::Internal("A database error occurred; see the server log.".to_owned())
            }
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        match err {
            ReportError::Store(err) => err.into(),
            other => Self::Message(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Caller {
    pub owner: TokenOwner,
    /// The `Host` of the request, for `getJavascriptTag`'s default Matomo URL.
    pub host: Option<String>,
}

impl Caller {
    pub fn is_superuser(&self) -> bool {
        self.owner.is_superuser()
    }

    /// A request without a token (or with `token_auth=anonymous`).
    pub fn is_anonymous(&self) -> bool {
        self.owner.login == ANONYMOUS
    }
}

async fn index(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        let message = format!(
            "the request body is larger than {} bytes",
            state.config.max_body_bytes
        );
        return (StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
    };
    let query = uri.query().unwrap_or("").to_owned();
    let parsed = crate::http::parse_off_runtime(body, move |form| {
        ApiParams::from_query_and_form(&query, form)
    })
    .await;
    let Ok(params) = parsed else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request could not be parsed\n",
        )
            .into_response();
    };
    if params.get("module") != Some("API") {
        let request = crate::web::PageRequest {
            method: &method,
            headers: &headers,
            peer,
            params: &params,
        };
        return crate::web::handle(&state, request).await;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let (status, rendered) = handle(&state, &params, host, peer.ip()).await;
    let mut response = (status, rendered.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    response
}

/// Answers one API request: status and rendered body.
pub async fn handle(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
    client: IpAddr,
) -> (StatusCode, render::Rendered) {
    let format_name = params.non_empty("format").unwrap_or("xml");
    let options = render::RenderOptions {
        convert_to_unicode: params.get("convertToUnicode") != Some("0"),
        callback: params
            .non_empty("callback")
            .or_else(|| params.non_empty("jsoncallback"))
            .filter(|name| {
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            })
            .map(str::to_owned),
    };
    let Some(format) = Format::parse(format_name) else {
        let message = format!(
            "Renderer format '{format_name}' not valid. Try any of the following instead: csv, json, tsv, xml."
        );
        return (
            StatusCode::OK,
            render::render_error(&message, Format::Xml, &options),
        );
    };
    match respond(state, params, host, client, format, &options).await {
        Ok(rendered) => (StatusCode::OK, rendered),
        Err(err) => {
            let (status, message) = match err {
                ApiError::Message(m) => (StatusCode::OK, m),
                ApiError::NoAccess(m) => (StatusCode::UNAUTHORIZED, m),
                ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
            };
            (status, render::render_error(&message, format, &options))
        }
    }
}

/// Authenticates, runs the method and renders it; report answers go through the answer cache
/// (`cache`), everything else through [`run`].
async fn respond(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
    client: IpAddr,
    format: Format,
    options: &render::RenderOptions,
) -> ApiResult<render::Rendered> {
    if params.dropped_over_limit() > 0 {
        crate::metrics::Metrics::add(&state.metrics.params_over_limit_total, 1);
        return Err(ApiError::Message(format!(
            "The request has more than {} parameters in its URL or in its body (PHP's max_input_vars, beyond which Matomo ignores the rest): send fewer, for example by splitting an API.getBulkRequest.",
            params::MAX_INPUT_VARS
        )));
    }
    let caller = authenticate(state, params, host, client).await?;
    // Report method names belong to modules `methods` never handles, so `run` would go straight
    // to `report` for them too.
    let Some(method) = params
        .non_empty("method")
        .filter(|method| reports::is_report_method(method))
    else {
        let output = run(state, params, &caller).await?;
        return Ok(render::render(&output, format, options));
    };
    let plan = plan_report(state, params, &caller).await?;
    let key = plan.cacheable().then(|| params.cache_key());
    if let Some(key) = &key {
        if let Some(rendered) = state
            .store
            .answers
            .get_if(key, plan.generation, |stamp| plan.matches(stamp))
        {
            return Ok(render::Rendered::clone(&rendered));
        }
    }
    let (generation, stamp) = (plan.generation, key.as_ref().map(|_| plan.stamp()));
    let output = produce_planned(state, params, method, plan).await?;
    let output = filters::Filters::from_params(params).apply(output);
    let rendered = render::render(&output, format, options);
    if let Some((key, stamp)) = key.zip(stamp) {
        if state.store.archives.generation() == generation {
            state
                .store
                .answers
                .put(key, generation, stamp, Arc::new(rendered.clone()));
        }
    }
    Ok(rendered)
}

/// Authenticates and runs the method.
pub async fn answer(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
    client: IpAddr,
) -> ApiResult<Output> {
    let caller = authenticate(state, params, host, client).await?;
    run(state, params, &caller).await
}

/// Who asks. A blocked IP is refused first, whatever its token (`crate::brute_force`); a wrong
/// token, or a `secure_only` token sent in the URL (Matomo accepts those only in a POST body),
/// fails like an unknown token and counts as a failed attempt of the client's IP.
async fn authenticate(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
    client: IpAddr,
) -> ApiResult<Caller> {
    if state.brute_force.is_blocked(client) {
        crate::metrics::Metrics::add(&state.metrics.brute_force_blocked_total, 1);
        return Err(ApiError::Message(
            crate::brute_force::BLOCKED_MESSAGE.to_owned(),
        ));
    }
    let owner = match params.non_empty("token_auth") {
        None | Some("anonymous") => TokenOwner::user(ANONYMOUS.to_owned(), 0),
        Some(token) => {
            let digest = crate::auth::token_digest(token);
            let owner = match state.store.tokens.get(&digest) {
                Some(owner) => Some(owner),
                None => {
                    let owner = state.store.token_owner(&digest).await?;
                    if let Some(owner) = &owner {
                        state.store.tokens.put(digest, owner.clone());
                    }
                    owner
                }
            };
            match owner {
                Some(owner) if !(owner.secure_only && params.token_auth_in_url()) => owner,
                _ => {
                    crate::metrics::Metrics::add(&state.metrics.auth_failures_total, 1);
                    state.brute_force.record_failure(client);
                    return Err(ApiError::NoAccess(
                        "Unable to authenticate with the provided token. It is either invalid or expired."
                            .to_owned(),
                    ));
                }
            }
        }
    };
    Ok(Caller { owner, host })
}

/// Runs `method` for an authenticated caller (also used per URL by `API.getBulkRequest`).
///
/// Boxed as a `Send` future because a bulk request reaches this function again.
pub(crate) fn run<'a>(
    state: &'a AppState,
    params: &'a ApiParams,
    caller: &'a Caller,
) -> Pin<Box<dyn Future<Output = ApiResult<Output>> + Send + 'a>> {
    Box::pin(run_inner(state, params, caller))
}

async fn run_inner(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let Some(method) = params.non_empty("method") else {
        return Err(ApiError::Message(
            "The parameter 'method' isn't set in the Request, and a default value wasn't provided."
                .to_owned(),
        ));
    };
    let parts: Vec<&str> = method.split('.').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(ApiError::Message(
            "The method name is invalid. Expected 'module.methodName'".to_owned(),
        ));
    }
    if let Some(output) = methods::call(state, params, caller, method).await? {
        return Ok(output);
    }
    if reports::is_report_method(method) {
        let output = report(state, params, caller, method).await?;
        return Ok(filters::Filters::from_params(params).apply(output));
    }
    Err(ApiError::Message(format!(
        "The method '{}' does not exist or is not available in the module '{}'.",
        parts[1], parts[0]
    )))
}

// ------------------------------------------------------------------ access

/// `Piwik::checkUserHasViewAccess`.
pub(crate) async fn require_view(state: &AppState, caller: &Caller, idsite: i64) -> ApiResult<()> {
    require(state, caller, idsite, Access::View).await
}

/// `Piwik::checkUserHasWriteAccess`.
pub(crate) async fn require_write(state: &AppState, caller: &Caller, idsite: i64) -> ApiResult<()> {
    require(state, caller, idsite, Access::Write).await
}

/// `Piwik::checkUserHasAdminAccess`.
pub(crate) async fn require_admin(state: &AppState, caller: &Caller, idsite: i64) -> ApiResult<()> {
    require(state, caller, idsite, Access::Admin).await
}

/// At least `min` on `idsite` (`General_ExceptionPrivilegeAccessWebsite`).
async fn require(state: &AppState, caller: &Caller, idsite: i64, min: Access) -> ApiResult<()> {
    if state.store.access(&caller.owner, idsite).await? >= min {
        return Ok(());
    }
    Err(no_access(&format!(
        "You can't access this resource as it requires '{}' access for the website id = {idsite}.",
        min.as_str()
    )))
}

/// `Piwik::checkUserHasSomeViewAccess` / `SomeWriteAccess` / `SomeAdminAccess`: `min` on at
/// least one site (`General_ExceptionPrivilegeAtLeastOneWebsite`, the role unquoted).
pub(crate) async fn require_some(state: &AppState, caller: &Caller, min: Access) -> ApiResult<()> {
    if caller.is_superuser()
        || !state
            .store
            .sites_with_access(&caller.owner, min)
            .await?
            .is_empty()
    {
        return Ok(());
    }
    Err(no_access(&format!(
        "You can't access this resource as it requires {} access for at least one website.",
        min.as_str()
    )))
}

/// `Piwik::checkUserHasSuperUserAccess` (`General_ExceptionPrivilege`).
pub(crate) fn require_superuser(caller: &Caller) -> ApiResult<()> {
    if caller.is_superuser() {
        return Ok(());
    }
    Err(no_access(
        "You can't access this resource as it requires a 'superuser' access.",
    ))
}

/// `Piwik::checkUserHasSuperUserAccessOrIsTheUser`.
pub(crate) fn require_superuser_or_self(caller: &Caller, login: &str) -> ApiResult<()> {
    if caller.is_superuser() || (caller.owner.login == login && !caller.is_anonymous()) {
        return Ok(());
    }
    Err(no_access(&format!(
        "The user has to be either a Super User or the user '{login}' itself."
    )))
}

/// `Piwik::checkUserIsNotAnonymous` (`General_YouMustBeLoggedIn`).
pub(crate) fn require_not_anonymous(caller: &Caller) -> ApiResult<()> {
    if caller.is_anonymous() {
        return Err(no_access(
            "You must be logged in to access this functionality.",
        ));
    }
    Ok(())
}

/// A `NoAccessException` (HTTP 401). API requests keep the message for anonymous callers too
/// (`Access::throwNoAccessException` only swaps it for "You must be logged in" outside the API).
pub(crate) fn no_access(message: &str) -> ApiError {
    ApiError::NoAccess(message.to_owned())
}

/// A site by id, after the access check (`UnexpectedWebsiteFoundException` when unknown).
pub(crate) async fn site_info(state: &AppState, idsite: i64) -> ApiResult<Arc<SiteInfo>> {
    state.sites.get(&state.store, idsite).await?.ok_or_else(|| {
        ApiError::Message(format!(
            "An unexpected website was found in the request: website id was set to '{idsite}' ."
        ))
    })
}

/// `Please specify a value for 'name'.`
pub(crate) fn required<'a>(params: &'a ApiParams, name: &str) -> ApiResult<&'a str> {
    params
        .non_empty(name)
        .ok_or_else(|| ApiError::Message(format!("Please specify a value for '{name}'.")))
}

/// `idSite=`: one id, a CSV list or `all`; `(ids, keyed by site)`.
pub(crate) async fn site_ids(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<(Vec<i64>, bool)> {
    let raw = required(params, "idSite")?.trim();
    if raw.eq_ignore_ascii_case("all") {
        return Ok((
            state.store.sites_with_view_access(&caller.owner).await?,
            true,
        ));
    }
    let mut ids = Vec::new();
    for piece in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = piece
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                ApiError::Message(format!(
                "An unexpected website was found in the request: website id was set to '{piece}' ."
            ))
            })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::Message(
            "Please specify a value for 'idSite'.".to_owned(),
        ));
    }
    Ok((ids, raw.contains(',')))
}

// ------------------------------------------------------------------ reports

async fn report(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    method: &str,
) -> ApiResult<Output> {
    let plan = plan_report(state, params, caller).await?;
    produce_planned(state, params, method, plan).await
}

/// One site of a report request, resolved: its settings, its periods' archive lookups.
struct SitePlan {
    info: Arc<SiteInfo>,
    /// `lastN`, `previousN`, `D1,D2`: the answer is keyed by period.
    multi: bool,
    mode: Mode,
    lookups: Vec<Lookup>,
}

/// A report request resolved up to the archive headers (one query per site), before any archive
/// is read or built: what its answer depends on.
struct Plan {
    sites: Vec<SitePlan>,
    /// The error met resolving a later site; reported once the earlier sites are produced,
    /// where resolving site by site met it.
    pending: Option<ApiError>,
    by_site: bool,
    /// The archive cache's generation before the lookups.
    generation: u64,
    now: i64,
}

impl Plan {
    /// Whether the answer depends only on the request and [`Plan::stamp`].
    fn cacheable(&self) -> bool {
        self.pending.is_none()
            && self.sites.iter().all(|site| {
                site.lookups
                    .iter()
                    .all(|lookup| lookup.ready && lookup.period.start <= lookup.period.end)
            })
    }

    /// Whether `stamp` is what [`Plan::stamp`] would build.
    fn matches(&self, stamp: &cache::Stamp) -> bool {
        stamp.len() == self.sites.len()
            && stamp
                .iter()
                .zip(&self.sites)
                .all(|((site, lookups), plan)| *site == plan.info.site && *lookups == plan.lookups)
    }

    fn stamp(&self) -> cache::Stamp {
        self.sites
            .iter()
            .map(|site| (site.info.site.clone(), site.lookups.clone()))
            .collect()
    }
}

async fn plan_report(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Plan> {
    let (ids, by_site) = site_ids(state, params, caller).await?;
    let kind = parse_kind(required(params, "period")?).map_err(ApiError::Message)?;
    let date = required(params, "date")?;
    for &idsite in &ids {
        require_view(state, caller, idsite).await?;
    }
    segments::check(params, caller)?;
    let mut plan = Plan {
        sites: Vec::with_capacity(ids.len()),
        pending: None,
        by_site,
        generation: state.store.archives.generation(),
        now: crate::store::now_unix(),
    };
    for idsite in ids {
        match plan_site(state, idsite, kind, date, plan.now).await {
            Ok(site) => plan.sites.push(site),
            Err(err) => {
                plan.pending = Some(err);
                break;
            }
        }
    }
    Ok(plan)
}

async fn plan_site(
    state: &AppState,
    idsite: i64,
    kind: reports::PeriodKind,
    date: &str,
    now: i64,
) -> ApiResult<SitePlan> {
    let info = site_info(state, idsite).await?;
    let today = info.tz.local_date(now);
    let (periods, multi) = match parse_dates(kind, date, today).map_err(ApiError::Message)? {
        Dates::Single(period) => (vec![period], false),
        Dates::Multi(periods) => (periods, true),
    };
    // All periods of one request are of the same kind, so of the same mode.
    let settings = archive::Settings::from(&state.config.archiving);
    let mode = periods
        .first()
        .map_or(Mode::ReadOnly, |period| settings.report_mode(period));
    let lookups = SiteArchiver::new(&state.store, &info.site, now, settings)
        .lookup(&periods, mode)
        .await?;
    Ok(SitePlan {
        info,
        multi,
        mode,
        lookups,
    })
}

async fn produce_planned(
    state: &AppState,
    params: &ApiParams,
    method: &str,
    plan: Plan,
) -> ApiResult<Output> {
    let mut per_site = Vec::with_capacity(plan.sites.len());
    for site in &plan.sites {
        let archiver = SiteArchiver::new(
            &state.store,
            &site.info.site,
            plan.now,
            archive::Settings::from(&state.config.archiving),
        );
        let mut entries = Vec::with_capacity(site.lookups.len());
        for lookup in &site.lookups {
            let request = report_request(params, method, &site.info, lookup.period);
            // The checks come before any archive is read or built, as in `reports::produce`.
            reports::check(&request)?;
            let data = archiver.serve(lookup, plan.generation, site.mode).await?;
            let output = match reports::render(&request, &data)? {
                ReportOutput::Table(table) => Output::Table(table),
                ReportOutput::Metrics(map) => Output::Simple(map),
                ReportOutput::Value(value) => Output::Scalar(value),
            };
            entries.push((period_label(&lookup.period), output));
        }
        let output = if site.multi {
            Output::Keyed {
                key: "date",
                entries,
            }
        } else {
            entries
                .pop()
                .map(|(_, output)| output)
                .ok_or_else(|| ApiError::Message("Please specify a value for 'date'.".to_owned()))?
        };
        per_site.push((site.info.site.idsite.to_string(), output));
    }
    if let Some(err) = plan.pending {
        return Err(err);
    }
    if plan.by_site {
        return Ok(Output::Keyed {
            key: "idSite",
            entries: per_site,
        });
    }
    per_site
        .pop()
        .map(|(_, output)| output)
        .ok_or_else(|| ApiError::Message("Please specify a value for 'idSite'.".to_owned()))
}

fn report_request<'a>(
    params: &ApiParams,
    method: &'a str,
    info: &'a SiteInfo,
    period: reports::Period,
) -> ReportRequest<'a> {
    ReportRequest {
        method,
        site: &info.site,
        period,
        flat: params.flag("flat"),
        // A label filter walks the subtables itself (`label`).
        expanded: params.flag("expanded") || label::requested(params),
        id_subtable: params
            .non_empty("idSubtable")
            .and_then(|v| v.trim().parse().ok()),
        id_goal: params
            .non_empty("idGoal")
            .and_then(|v| v.trim().parse().ok()),
    }
}
