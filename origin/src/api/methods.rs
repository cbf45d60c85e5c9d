//! The API methods that are not reports: `API.*` (version, bulk requests, report metadata) and
//! `Goals.addGoal`/`getGoals` (spec/MATOMO.md 3.2, 4.6; `plugins/Goals/API.php`,
//! `plugins/API/API.php`); `SitesManager.*` is in `sites`, `UsersManager.*` in `users`.

use serde_json::{json, Value};

use super::{
    params::ApiParams,
    render::{self, Output},
    require_some, require_view, require_write, required, site_ids, site_info, ApiError, ApiResult,
    Caller, MATOMO_VERSION,
};
use crate::{
    http::AppState,
    store::{Access, Goal, NewGoal},
};

/// Runs `method` when it is one of these; `None` otherwise.
pub(super) async fn call(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    method: &str,
) -> ApiResult<Option<Output>> {
    if let Some(output) = super::users::call(state, params, caller, method).await? {
        return Ok(Some(output));
    }
    if let Some(output) = super::sites::call(state, params, caller, method).await? {
        return Ok(Some(output));
    }
    let output = match method {
        "API.getMatomoVersion" | "API.getPiwikVersion" => {
            require_some(state, caller, Access::View).await?;
            Output::Scalar(Value::from(MATOMO_VERSION))
        }
        "API.getBulkRequest" => bulk(state, params, caller).await?,
        "API.getReportMetadata" => report_metadata(state, params, caller).await?,
        "API.getSegmentsMetadata" => super::segments::metadata(state, params, caller).await?,
        "Goals.addGoal" => add_goal(state, params, caller).await?,
        "Goals.getGoals" => {
            let idsite = id_param(params, "idSite")?;
            require_view(state, caller, idsite).await?;
            site_info(state, idsite).await?;
            let goals = state.store.goals(idsite).await?;
            Output::Array(Value::Object(
                goals
                    .iter()
                    .map(|goal| (goal.idgoal.to_string(), goal_row(goal)))
                    .collect(),
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(output))
}

pub(super) fn id_param(params: &ApiParams, name: &str) -> ApiResult<i64> {
    let raw = required(params, name)?;
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::Message(format!(
                "An unexpected website was found in the request: website id was set to '{raw}' ."
            ))
        })
}

/// Matomo's boolean parameters: `1`/`true` are true, anything else false.
pub(super) fn bool_param(params: &ApiParams, name: &str, default: bool) -> bool {
    match params.get(name) {
        None | Some("") => default,
        Some(v) => v == "1" || v.eq_ignore_ascii_case("true"),
    }
}

/// A CSV or newline list parameter, trimmed, as Matomo stores it (comma-joined).
pub(super) fn list_param(params: &ApiParams, name: &str) -> String {
    let values = params.list(name);
    let items: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split([',', '\n']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    items.join(",")
}

// ------------------------------------------------------------------ API.getBulkRequest

/// `API::getBulkRequest` (Matomo 5): each URL is a query string; the outer request's
/// parameters (but `urls`) fill what it lacks; `format` is forced to JSON and each answer is
/// decoded back, so a failed call appears as `{"result":"error","message":...}`; nested bulk
/// requests are skipped.
async fn bulk(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let urls = params.list("urls");
    let mut defaults = params.clone();
    defaults.remove("urls");
    let mut results = Vec::with_capacity(urls.len());
    for url in urls {
        let mut sub = ApiParams::parse(url.as_bytes());
        sub.set("format".to_owned(), "json".to_owned());
        sub.fill_from(&defaults);
        if sub.get("method").map(str::trim) == Some("API.getBulkRequest") {
            continue;
        }
        let future = super::run(state, &sub, caller);
        let options = render::RenderOptions::default();
        let rendered = match future.await {
            Ok(output) => render::render(&output, render::Format::Json, &options),
            Err(ApiError::Message(m) | ApiError::NoAccess(m) | ApiError::Internal(m)) => {
                render::render_error(&m, render::Format::Json, &options)
            }
        };
        results.push(serde_json::from_slice(&rendered.body).unwrap_or(Value::Null));
    }
    Ok(Output::Array(Value::Array(results)))
}

// ------------------------------------------------------------------ API.getReportMetadata

/// `API.getReportMetadata`: the reports of the catalogue (`crate::reports::catalogue`),
/// with `category`, `name`, `module`, `action`. Matomo's richer fields (`metrics`,
/// `processedMetrics`, `uniqueId`...) are not produced yet.
async fn report_metadata(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<Output> {
    if params.non_empty("idSite").is_some() {
        let (ids, _) = site_ids(state, params, caller).await?;
        for idsite in ids {
            require_view(state, caller, idsite).await?;
        }
    } else {
        require_some(state, caller, Access::View).await?;
    }
    let rows = crate::reports::catalogue::CATALOGUE
        .iter()
        .filter_map(|report| {
            let (category, name) = report.metadata?;
            Some(json!({
                "category": category,
                "name": name,
                "module": report.module,
                "action": report.action,
            }))
        })
        .collect();
    Ok(Output::Array(Value::Array(rows)))
}

// ------------------------------------------------------------------ Goals

const MATCH_ATTRIBUTES: &[&str] = &[
    "url",
    "title",
    "file",
    "external_website",
    "manually",
    "event_category",
    "event_action",
    "event_name",
    "visit_duration",
    "visit_total_actions",
    "visit_total_pageviews",
];

const PATTERN_TYPES: &[&str] = &["contains", "exact", "regex", "greater_than"];

async fn add_goal(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let idsite = id_param(params, "idSite")?;
    require_write(state, caller, idsite).await?;
    site_info(state, idsite).await?;
    let name = required(params, "name")?.trim().to_owned();
    let match_attribute = required(params, "matchAttribute")?.trim().to_owned();
    if !MATCH_ATTRIBUTES.contains(&match_attribute.as_str()) {
        return Err(ApiError::Message(format!(
            "Goal match attribute \"{match_attribute}\" is not valid. Try any of the following instead: {}.",
            MATCH_ATTRIBUTES.join(", ")
        )));
    }
    let manually = match_attribute == "manually";
    let pattern = params.get("pattern").unwrap_or("").to_owned();
    let pattern_type = params
        .non_empty("patternType")
        .unwrap_or(if manually { "" } else { "contains" })
        .trim()
        .to_owned();
    if !manually {
        if pattern.is_empty() {
            return Err(ApiError::Message(
                "Please specify a value for 'pattern'.".to_owned(),
            ));
        }
        if !PATTERN_TYPES.contains(&pattern_type.as_str()) {
            return Err(ApiError::Message(format!(
                "Goal pattern type \"{pattern_type}\" is not valid. Try any of the following instead: {}.",
                PATTERN_TYPES.join(", ")
            )));
        }
        if pattern_type == "regex" && regex::Regex::new(&pattern).is_err() {
            return Err(ApiError::Message(format!(
                "The pattern \"{pattern}\" is not a valid regular expression."
            )));
        }
    }
    let revenue = match params.non_empty("revenue") {
        None => 0.0,
        Some(raw) => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| {
                ApiError::Message(format!("The revenue \"{raw}\" is not a valid number."))
            })?,
    };
    let goal = NewGoal {
        idsite,
        name,
        description: params.get("description").unwrap_or("").to_owned(),
        match_attribute,
        pattern,
        pattern_type,
        case_sensitive: bool_param(params, "caseSensitive", false),
        allow_multiple: bool_param(params, "allowMultipleConversionsPerVisit", false),
        revenue,
        event_value_as_revenue: bool_param(params, "useEventValueAsRevenue", false),
    };
    let idgoal = state.store.add_goal(&goal).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Scalar(Value::from(idgoal)))
}

/// A goal as `Goals.getGoals` returns it (the `goal` table's columns).
fn goal_row(goal: &Goal) -> Value {
    let revenue = if goal.revenue.fract() == 0.0 && goal.revenue.abs() < 1e15 {
        Value::from(goal.revenue as i64)
    } else {
        Value::from(goal.revenue)
    };
    json!({
        "idsite": goal.idsite,
        "idgoal": goal.idgoal,
        "name": goal.name,
        "description": goal.description,
        "match_attribute": goal.match_attribute,
        "pattern": goal.pattern,
        "pattern_type": goal.pattern_type,
        "case_sensitive": goal.case_sensitive,
        "allow_multiple": goal.allow_multiple,
        "revenue": revenue,
        "deleted": goal.deleted,
        "event_value_as_revenue": goal.event_value_as_revenue,
    })
}
