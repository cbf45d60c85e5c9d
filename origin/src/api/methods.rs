//! The API methods that are not reports: `API.*` (version, bulk requests, report metadata),
//! `SitesManager.*` (add and read sites, the tracking snippet) and `Goals.addGoal`/`getGoals`
//! (spec/MATOMO.md 3.1, 3.2, 4.6; `plugins/SitesManager/API.php`, `plugins/Goals/API.php`,
//! `plugins/API/API.php`).

use serde_json::{json, Map, Value};

use super::{
    params::ApiParams,
    render::{self, Output},
    require_superuser, require_view, require_write, required, site_ids, site_info, ApiError,
    ApiResult, Caller, MATOMO_VERSION,
};
use crate::{
    http::AppState,
    store::{Goal, NewGoal, NewSite, Site},
};

/// Runs `method` when it is one of these; `None` otherwise.
pub(super) async fn call(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    method: &str,
) -> ApiResult<Option<Output>> {
    let output = match method {
        "API.getMatomoVersion" | "API.getPiwikVersion" => {
            some_view_access(state, caller).await?;
            Output::Scalar(Value::from(MATOMO_VERSION))
        }
        "API.getBulkRequest" => bulk(state, params, caller).await?,
        "API.getReportMetadata" => report_metadata(state, params, caller).await?,
        "SitesManager.addSite" => add_site(state, params, caller).await?,
        "SitesManager.getSiteFromId" => {
            let idsite = id_param(params, "idSite")?;
            require_view(state, caller, idsite).await?;
            let info = site_info(state, idsite).await?;
            Output::Array(Value::Object(site_row(&info.site, caller)))
        }
        "SitesManager.getSitesWithAtLeastViewAccess" => {
            let ids = state.store.sites_with_view_access(&caller.owner).await?;
            let mut rows = Vec::with_capacity(ids.len());
            for idsite in ids {
                if let Some(site) = state.store.site(idsite).await? {
                    rows.push(Value::Object(site_row(&site, caller)));
                }
            }
            Output::Array(Value::Array(rows))
        }
        "SitesManager.getSitesIdWithAtLeastViewAccess" => {
            let ids = state.store.sites_with_view_access(&caller.owner).await?;
            Output::Array(Value::Array(ids.into_iter().map(Value::from).collect()))
        }
        "SitesManager.getJavascriptTag" => javascript_tag(state, params, caller).await?,
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

/// `Piwik::checkUserHasSomeViewAccess`.
async fn some_view_access(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if caller.is_superuser()
        || !state
            .store
            .sites_with_view_access(&caller.owner)
            .await?
            .is_empty()
    {
        return Ok(());
    }
    Err(super::no_access(
        caller,
        "'view' access for at least one website",
    ))
}

fn id_param(params: &ApiParams, name: &str) -> ApiResult<i64> {
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
fn bool_param(params: &ApiParams, name: &str, default: bool) -> bool {
    match params.get(name) {
        None | Some("") => default,
        Some(v) => v == "1" || v.eq_ignore_ascii_case("true"),
    }
}

/// A CSV or newline list parameter, trimmed, as Matomo stores it (comma-joined).
fn list_param(params: &ApiParams, name: &str) -> String {
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
        some_view_access(state, caller).await?;
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

// ------------------------------------------------------------------ SitesManager

/// A site as `getSiteFromId` returns it (`creator_login` only for super users).
fn site_row(site: &Site, caller: &Caller) -> Map<String, Value> {
    let mut row = match serde_json::to_value(site) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if !caller.is_superuser() {
        row.remove("creator_login");
    }
    row.insert("timezone_name".into(), Value::from(site.timezone.clone()));
    row.insert(
        "currency_name".into(),
        Value::from(currency_name(&site.currency)),
    );
    row
}

fn currency_name(code: &str) -> String {
    match code {
        "USD" => "US Dollar",
        "EUR" => "Euro",
        "GBP" => "British Pound",
        "JPY" => "Japanese Yen",
        "CHF" => "Swiss Franc",
        "CAD" => "Canadian Dollar",
        "AUD" => "Australian Dollar",
        other => other,
    }
    .to_owned()
}

/// `UrlHelper::isLookLikeUrl`: `scheme://...` or `//...`.
fn looks_like_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("//") else {
        return false;
    };
    let scheme_ok = scheme.is_empty()
        || scheme.strip_suffix(':').is_some_and(|s| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        });
    scheme_ok && !rest.is_empty()
}

/// Whether Matomo would accept a time zone: a tz database name or `UTC`, `UTC+5.5`, `UTC-3`.
fn valid_timezone(name: &str) -> bool {
    if name.parse::<chrono_tz::Tz>().is_ok() {
        return true;
    }
    name.strip_prefix("UTC").is_some_and(|offset| {
        offset.is_empty()
            || (offset.starts_with(['+', '-'])
                && offset[1..]
                    .parse::<f64>()
                    .is_ok_and(|h| (0.0..=14.0).contains(&h)))
    })
}

async fn add_site(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_superuser(caller)?;
    let name = params.get("siteName").unwrap_or("").trim();
    if name.is_empty() {
        return Err(ApiError::Message(
            "The website name can't be empty.".to_owned(),
        ));
    }
    let mut urls: Vec<String> = Vec::new();
    for url in params
        .list("urls")
        .iter()
        .flat_map(|u| u.split(['\n', ',']))
    {
        let url = url.trim().trim_end_matches('/');
        if url.is_empty() {
            continue;
        }
        if !looks_like_url(url) {
            return Err(ApiError::Message(format!(
                "The url '{url}' is not a valid URL."
            )));
        }
        if !urls.iter().any(|u| u == url) {
            urls.push(url.to_owned());
        }
    }
    if urls.is_empty() {
        return Err(ApiError::Message(
            "You must specify at least one URL for the site.".to_owned(),
        ));
    }
    let timezone = params
        .non_empty("timezone")
        .map(str::trim)
        .map(str::to_owned);
    if let Some(tz) = &timezone {
        if !valid_timezone(tz) {
            return Err(ApiError::Message(format!(
                "The timezone \"{tz}\" is not valid. Please enter a valid timezone."
            )));
        }
    }
    let currency = params
        .non_empty("currency")
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(code) = &currency {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::Message(format!(
                "The currency \"{code}\" is not valid. Please enter a valid currency symbol (eg. 'EUR')."
            )));
        }
    }
    let ts_created = match params.non_empty("startDate") {
        None => None,
        Some(date) => {
            let today = chrono::Utc::now().date_naive();
            let day = super::dates::resolve_day(date, today).map_err(ApiError::Message)?;
            Some(format!("{} 00:00:00", day.format("%Y-%m-%d")))
        }
    };
    let keep_url_fragment = match params.get("keepURLFragments").map(str::trim) {
        None | Some("" | "0") => 0,
        Some("1") => 1,
        Some("2") => 2,
        Some(other) => {
            return Err(ApiError::Message(format!(
                "Error in SitesManager.addSite: keepURLFragments must be 0, 1 or 2, not '{other}'."
            )))
        }
    };
    let site = NewSite {
        name: name.to_owned(),
        urls,
        timezone,
        currency,
        ecommerce: bool_param(params, "ecommerce", false),
        sitesearch: bool_param(params, "siteSearch", true),
        sitesearch_keyword_parameters: list_param(params, "searchKeywordParameters"),
        sitesearch_category_parameters: list_param(params, "searchCategoryParameters"),
        excluded_ips: list_param(params, "excludedIps"),
        excluded_parameters: list_param(params, "excludedQueryParameters"),
        excluded_user_agents: list_param(params, "excludedUserAgents"),
        excluded_referrers: list_param(params, "excludedReferrers"),
        exclude_unknown_urls: bool_param(params, "excludeUnknownUrls", false),
        keep_url_fragment,
        ts_created,
        creator_login: caller.owner.login.clone(),
    };
    let idsite = state.store.add_site(&site).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Scalar(Value::from(idsite)))
}

/// The `piwikUrl` without its scheme and with one trailing slash: `//host/path/`.
fn tracker_base(piwik_url: &str) -> String {
    let without_scheme = match piwik_url.split_once("://") {
        Some((_, rest)) => rest,
        None => piwik_url.trim_start_matches("//"),
    };
    let trimmed = without_scheme.trim_end_matches('/');
    format!("//{trimmed}/")
}

/// `htmlspecialchars($code, ENT_QUOTES)`: how Matomo's API sanitises the returned snippet.
fn html_escape(text: &str) -> String {
    render::escape_xml(text).replace('\'', "&#039;")
}

async fn javascript_tag(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<Output> {
    let idsite = id_param(params, "idSite")?;
    require_view(state, caller, idsite).await?;
    site_info(state, idsite).await?;
    let piwik_url = params
        .non_empty("piwikUrl")
        .map(str::to_owned)
        .or_else(|| caller.host.clone())
        .unwrap_or_else(|| "localhost".to_owned());
    let base = tracker_base(&piwik_url).replace(['"', '\\', '<', '>'], "");
    let mut options = String::new();
    if bool_param(params, "mergeSubdomains", false) {
        if let Some(site) = state.store.site(idsite).await? {
            if let Some(host) = site.main_url.split_once("://").map(|(_, h)| h) {
                let host = host.split('/').next().unwrap_or(host);
                let host = host.strip_prefix("www.").unwrap_or(host);
                options.push_str(&format!(
                    "  _paq.push([\"setCookieDomain\", \"*.{host}\"]);\n"
                ));
            }
        }
    }
    if bool_param(params, "doNotTrack", false) {
        options.push_str("  _paq.push([\"setDoNotTrack\", true]);\n");
    }
    if bool_param(params, "disableCookies", false) {
        options.push_str("  _paq.push([\"disableCookies\"]);\n");
    }
    let noscript = if bool_param(params, "trackNoScript", false) {
        format!(
            "<noscript><p><img referrerpolicy=\"no-referrer-when-downgrade\" src=\"{base}matomo.php?idsite={idsite}&amp;rec=1\" style=\"border:0;\" alt=\"\" /></p></noscript>\n"
        )
    } else {
        String::new()
    };
    let code = format!(
        "<!-- Matomo -->\n<script>\n  var _paq = window._paq = window._paq || [];\n  /* tracker methods like \"setCustomDimension\" should be called before \"trackPageView\" */\n{options}  _paq.push(['trackPageView']);\n  _paq.push(['enableLinkTracking']);\n  (function() {{\n    var u=\"{base}\";\n    _paq.push(['setTrackerUrl', u+'matomo.php']);\n    _paq.push(['setSiteId', '{idsite}']);\n    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];\n    g.async=true; g.src=u+'matomo.js'; s.parentNode.insertBefore(g,s);\n  }})();\n</script>\n{noscript}<!-- End Matomo Code -->\n"
    );
    Ok(Output::Scalar(Value::from(html_escape(&code))))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracker_base_drops_the_scheme_and_ends_with_one_slash() {
        assert_eq!(
            tracker_base("https://stats.example.com/"),
            "//stats.example.com/"
        );
        assert_eq!(
            tracker_base("stats.example.com/m"),
            "//stats.example.com/m/"
        );
    }

    #[test]
    fn urls_need_a_scheme_or_a_protocol_relative_start() {
        assert!(looks_like_url("https://shop.example.com"));
        assert!(looks_like_url("//cdn.example.com"));
        assert!(!looks_like_url("shop.example.com"));
        assert!(!looks_like_url("1http://x"));
    }

    #[test]
    fn time_zones_are_tz_names_or_utc_offsets() {
        assert!(valid_timezone("America/New_York"));
        assert!(valid_timezone("UTC+5.5"));
        assert!(valid_timezone("UTC"));
        assert!(!valid_timezone("Mars/Olympus"));
        assert!(!valid_timezone("UTC+99"));
    }

    #[test]
    fn snippets_are_html_escaped_like_matomo() {
        assert_eq!(
            html_escape("<a href='x'>&</a>"),
            "&lt;a href=&#039;x&#039;&gt;&amp;&lt;/a&gt;"
        );
    }
}
