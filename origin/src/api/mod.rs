//! Matomo's Reporting API at `/index.php?module=API&method=Module.action` (spec/MATOMO.md 4).
//!
//! One request goes: parameters (`params`: URL query + form body, the query winning) ->
//! authentication (`token_auth`, or the `anonymous` user) -> the method (`methods` for the
//! non-report ones, else `crate::reports::produce` per site and period) -> generic filters
//! (`filters`) -> the format (`render`). Dates are resolved in each site's time zone (`dates`).
//!
//! Matomo's rules kept here (`core/API/Request.php`, `core/API/ResponseBuilder.php`):
//! - `format` defaults to `xml`; errors are rendered in the requested format with HTTP 200,
//!   except `NoAccessException`s (no or wrong token, no access to the site), which are 401.
//! - `method` must be `Module.action`: "The method name is invalid. Expected 'module.methodName'".
//! - `idSite=all` and `idSite=1,2` key the answer by site id; `lastN`, `previousN` and `D1,D2`
//!   (with a period other than `range`) key it by period label; both nest site -> date.

pub mod dates;
pub mod filters;
mod methods;
pub mod params;
pub mod render;

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub use dates::{label as period_label, parse as parse_dates, parse_kind, Dates};
pub use params::ApiParams;
pub use render::{Format, Output};

use crate::{
    http::AppState,
    reports::{self, ReportError, ReportOutput, ReportRequest},
    store::{Access, StoreError, TokenOwner, ANONYMOUS},
    tracker::SiteInfo,
};

/// The Matomo version this API answers as (`API.getMatomoVersion`).
pub const MATOMO_VERSION: &str = "5.3.1";

/// `/index.php` (GET and POST).
pub fn router() -> Router<AppState> {
    Router::new().route("/index.php", get(index).post(index))
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
}

async fn index(
    State(state): State<AppState>,
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
    let params = ApiParams::from_query_and_form(uri.query().unwrap_or(""), &body);
    if params.get("module") != Some("API") {
        return (
            StatusCode::NOT_FOUND,
            "Edgemeter serves Matomo's Reporting API only: add module=API&method=Module.action.\n",
        )
            .into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let (status, rendered) = handle(&state, &params, host).await;
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
    match answer(state, params, host).await {
        Ok(output) => (StatusCode::OK, render::render(&output, format, &options)),
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

/// Authenticates and runs the method.
pub async fn answer(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
) -> ApiResult<Output> {
    let caller = authenticate(state, params, host).await?;
    run(state, params, &caller).await
}

async fn authenticate(
    state: &AppState,
    params: &ApiParams,
    host: Option<String>,
) -> ApiResult<Caller> {
    let owner = match params.non_empty("token_auth") {
        None | Some("anonymous") => TokenOwner {
            login: ANONYMOUS.to_owned(),
            superuser_access: 0,
        },
        Some(token) => state
            .store
            .token_owner(&crate::auth::token_digest(token))
            .await?
            .ok_or_else(|| {
                ApiError::NoAccess(
                    "Unable to authenticate with the provided token. It is either invalid or expired."
                        .to_owned(),
                )
            })?,
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
    if state.store.access(&caller.owner, idsite).await? >= Access::View {
        return Ok(());
    }
    Err(no_access(
        caller,
        &format!("'view' access for the website id = {idsite}"),
    ))
}

/// `Piwik::checkUserHasWriteAccess`.
pub(crate) async fn require_write(state: &AppState, caller: &Caller, idsite: i64) -> ApiResult<()> {
    if state.store.access(&caller.owner, idsite).await? >= Access::Write {
        return Ok(());
    }
    Err(no_access(
        caller,
        &format!("'write' access for the website id = {idsite}"),
    ))
}

/// `Piwik::checkUserHasSuperUserAccess`.
pub(crate) fn require_superuser(caller: &Caller) -> ApiResult<()> {
    if caller.is_superuser() {
        return Ok(());
    }
    Err(no_access(caller, "'superuser' access"))
}

/// `General_ExceptionPrivilege*`; API requests keep this text for anonymous callers too
/// (`Access::throwNoAccessException` only swaps it for "You must be logged in" outside the API).
pub(crate) fn no_access(_caller: &Caller, what: &str) -> ApiError {
    ApiError::NoAccess(format!(
        "You can't access this resource as it requires {what}."
    ))
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
    let (ids, by_site) = site_ids(state, params, caller).await?;
    let kind = parse_kind(required(params, "period")?).map_err(ApiError::Message)?;
    let date = required(params, "date")?;
    for &idsite in &ids {
        require_view(state, caller, idsite).await?;
    }
    let mut per_site = Vec::with_capacity(ids.len());
    for idsite in ids {
        let info = site_info(state, idsite).await?;
        let today = info.tz.local_date(crate::store::now_unix());
        let dates = parse_dates(kind, date, today).map_err(ApiError::Message)?;
        let output = match dates {
            Dates::Single(period) => one_report(state, params, method, &info, period).await?,
            Dates::Multi(periods) => {
                let mut entries = Vec::with_capacity(periods.len());
                for period in periods {
                    let output = one_report(state, params, method, &info, period).await?;
                    entries.push((period_label(&period), output));
                }
                Output::Keyed {
                    key: "date",
                    entries,
                }
            }
        };
        per_site.push((idsite.to_string(), output));
    }
    if by_site {
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

async fn one_report(
    state: &AppState,
    params: &ApiParams,
    method: &str,
    info: &SiteInfo,
    period: reports::Period,
) -> ApiResult<Output> {
    let request = ReportRequest {
        method,
        site: &info.site,
        period,
        flat: params.flag("flat"),
        expanded: params.flag("expanded"),
        id_subtable: params
            .non_empty("idSubtable")
            .and_then(|v| v.trim().parse().ok()),
        id_goal: params
            .non_empty("idGoal")
            .and_then(|v| v.trim().parse().ok()),
    };
    Ok(match reports::produce(&state.store, &request).await? {
        ReportOutput::Table(table) => Output::Table(table),
        ReportOutput::Metrics(map) => Output::Simple(map),
        ReportOutput::Value(value) => Output::Scalar(value),
    })
}
