//! `SitesManager.*`: sites, their URLs, the tracking snippet and the global settings, as
//! Matomo 5 answers them (`plugins/SitesManager/API.php`, texts from
//! `plugins/SitesManager/lang/en.json`; spec/MATOMO.md 3.1).
//!
//! Global settings live in the `option` table under Matomo's option names and reach the
//! tracker through `tracker::SiteInfo` (global exclusions add to each site's). Getters of a
//! setting never set answer `false`, as Matomo's `Option::get` does.

use serde_json::{json, Map, Value};

use super::{
    methods::{bool_param, id_param, list_param},
    params::ApiParams,
    render::{self, Output},
    require_admin, require_some, require_superuser, require_view, site_info, ApiError, ApiResult,
    Caller,
};
use crate::{
    enrich::exclusion::IpPattern,
    http::AppState,
    store::{options::names, Access, NewSite, Site},
};

/// Runs `SitesManager.<action>` when it is one of these; `None` otherwise.
pub(super) async fn call(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    method: &str,
) -> ApiResult<Option<Output>> {
    let Some(action) = method.strip_prefix("SitesManager.") else {
        return Ok(None);
    };
    let output = match action {
        "addSite" => add_site(state, params, caller).await?,
        "updateSite" => update_site(state, params, caller).await?,
        "deleteSite" => delete_site(state, params, caller).await?,
        "getSiteFromId" => {
            let idsite = id_param(params, "idSite")?;
            require_view(state, caller, idsite).await?;
            let info = site_info(state, idsite).await?;
            Output::Array(Value::Object(site_row(&info.site, caller)))
        }
        "getSiteUrlsFromId" => {
            let idsite = id_param(params, "idSite")?;
            require_view(state, caller, idsite).await?;
            let info = site_info(state, idsite).await?;
            Output::Array(Value::from(info.site.urls.clone()))
        }
        "getSitesWithAtLeastViewAccess" => {
            let ids = state.store.sites_with_view_access(&caller.owner).await?;
            let sites = sites_of(state, ids, None, limit_param(params)?).await?;
            site_rows(&sites, caller, false)
        }
        "getSitesWithAdminAccess" => {
            let ids = state
                .store
                .sites_with_access(&caller.owner, Access::Admin)
                .await?;
            let pattern = params.non_empty("pattern");
            let sites = sites_of(state, ids, pattern, limit_param(params)?).await?;
            site_rows(&sites, caller, bool_param(params, "fetchAliasUrls", false))
        }
        "getSitesIdWithAtLeastViewAccess" => {
            let ids = state.store.sites_with_view_access(&caller.owner).await?;
            Output::Array(Value::from(ids))
        }
        "getSitesIdWithAdminAccess" => {
            let ids = state
                .store
                .sites_with_access(&caller.owner, Access::Admin)
                .await?;
            Output::Array(Value::from(ids))
        }
        "getAllSites" => {
            require_superuser(caller)?;
            let sites = state.store.sites().await?;
            let map: Map<String, Value> = sites
                .iter()
                .map(|site| {
                    (
                        site.idsite.to_string(),
                        Value::Object(site_row(site, caller)),
                    )
                })
                .collect();
            if map.is_empty() {
                Output::Array(Value::Array(Vec::new()))
            } else {
                Output::Array(Value::Object(map))
            }
        }
        "getAllSitesId" => {
            require_superuser(caller)?;
            let ids: Vec<i64> = state
                .store
                .sites()
                .await?
                .iter()
                .map(|s| s.idsite)
                .collect();
            Output::Array(Value::from(ids))
        }
        "getSitesIdFromSiteUrl" => {
            let url = params.get("url").unwrap_or("");
            let mut ids = state.store.sites_with_url(&url_variants(url)).await?;
            if !caller.is_superuser() {
                let allowed = state.store.sites_with_view_access(&caller.owner).await?;
                ids.retain(|id| allowed.contains(id));
            }
            Output::Array(Value::Array(
                ids.into_iter().map(|id| json!({ "idsite": id })).collect(),
            ))
        }
        "addSiteAliasUrls" => alias_urls(state, params, caller, AliasMode::Add).await?,
        "setSiteAliasUrls" => alias_urls(state, params, caller, AliasMode::Replace).await?,
        "getJavascriptTag" => javascript_tag(state, params, caller).await?,
        _ => return global_setting(state, params, caller, action).await,
    };
    Ok(Some(output))
}

/// The sites of `ids` (in order) that match `pattern` (Matomo's `getPatternMatchSites`: the
/// name or group contains it, the main URL contains it after `http`, or it is the id; LIKE is
/// case-insensitive in Matomo's MySQL collation), at most `limit` of them.
async fn sites_of(
    state: &AppState,
    ids: Vec<i64>,
    pattern: Option<&str>,
    limit: Option<usize>,
) -> ApiResult<Vec<Site>> {
    let pattern = pattern.map(str::to_lowercase);
    let mut sites = Vec::with_capacity(ids.len());
    for idsite in ids {
        if limit.is_some_and(|limit| sites.len() >= limit) {
            break;
        }
        let Some(site) = state.store.site(idsite).await? else {
            continue;
        };
        let matches = pattern.as_deref().is_none_or(|pattern| {
            let url = site.main_url.to_lowercase();
            site.name.to_lowercase().contains(pattern)
                || site.group.to_lowercase().contains(pattern)
                || (url.starts_with("http") && url[4..].contains(pattern))
                || pattern == site.idsite.to_string()
        });
        if matches {
            sites.push(site);
        }
    }
    Ok(sites)
}

/// `limit`: a positive number of sites, or none.
fn limit_param(params: &ApiParams) -> ApiResult<Option<usize>> {
    params
        .non_empty("limit")
        .map(|raw| {
            raw.trim()
                .parse::<usize>()
                .map_err(|_| ApiError::Message(format!("The limit '{raw}' is not a number.")))
        })
        .transpose()
}

/// Site rows; with `alias_urls` (every URL of the site, as `getSiteUrlsFromId`) when asked.
fn site_rows(sites: &[Site], caller: &Caller, alias_urls: bool) -> Output {
    let rows = sites
        .iter()
        .map(|site| {
            let mut row = site_row(site, caller);
            if alias_urls {
                row.insert("alias_urls".into(), Value::from(site.urls.clone()));
            }
            Value::Object(row)
        })
        .collect();
    Output::Array(Value::Array(rows))
}

// ------------------------------------------------------------------ global settings

/// How a global setting is checked and answered.
enum Global {
    /// A comma-separated list; `ips` validates each entry as an IP pattern.
    List {
        ips: bool,
    },
    Currency,
    Timezone,
    Flag,
}

/// The getters and setters of the global settings; `None` for other actions.
async fn global_setting(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    action: &str,
) -> ApiResult<Option<Output>> {
    // (getter, its access, option)
    let getter = match action {
        "getExcludedIpsGlobal" => Some((Access::Admin, names::EXCLUDED_IPS)),
        "getExcludedQueryParametersGlobal" => {
            Some((Access::View, names::EXCLUDED_QUERY_PARAMETERS))
        }
        "getExcludedUserAgentsGlobal" => Some((Access::Admin, names::EXCLUDED_USER_AGENTS)),
        "getExcludedReferrersGlobal" => Some((Access::Admin, names::EXCLUDED_REFERRERS)),
        "getSearchCategoryParametersGlobal" => {
            Some((Access::Admin, names::SEARCH_CATEGORY_PARAMETERS))
        }
        _ => None,
    };
    if let Some((access, name)) = getter {
        require_some(state, caller, access).await?;
        let value = state.store.option(name).await?;
        // Matomo's getExcludedReferrersGlobal is typed `string`: '' when unset.
        let value = match (value, name == names::EXCLUDED_REFERRERS) {
            (Some(value), _) => Value::from(value),
            (None, true) => Value::from(""),
            (None, false) => Value::Bool(false),
        };
        return Ok(Some(Output::Scalar(value)));
    }
    let output = match action {
        "getSearchKeywordParametersGlobal" => {
            require_some(state, caller, Access::Admin).await?;
            let value = state
                .store
                .option(names::SEARCH_KEYWORD_PARAMETERS)
                .await?
                .unwrap_or_else(|| DEFAULT_SEARCH_KEYWORD_PARAMETERS.to_owned());
            Output::Scalar(Value::from(value))
        }
        "getKeepURLFragmentsGlobal" => {
            require_some(state, caller, Access::View).await?;
            let value = state.store.option(names::KEEP_URL_FRAGMENTS).await?;
            Output::Scalar(Value::from(value.as_deref() == Some("1")))
        }
        "getDefaultCurrency" => {
            require_some(state, caller, Access::Admin).await?;
            Output::Scalar(Value::from(default_currency(state).await?))
        }
        "getDefaultTimezone" => Output::Scalar(Value::from(default_timezone(state).await?)),
        "setGlobalExcludedIps" => {
            set(
                state,
                params,
                caller,
                "excludedIps",
                names::EXCLUDED_IPS,
                Global::List { ips: true },
            )
            .await?;
            Output::Scalar(Value::Bool(true))
        }
        "setGlobalExcludedQueryParameters" => {
            set(
                state,
                params,
                caller,
                "excludedQueryParameters",
                names::EXCLUDED_QUERY_PARAMETERS,
                Global::List { ips: false },
            )
            .await?;
            Output::Scalar(Value::Bool(true))
        }
        "setGlobalExcludedUserAgents" => {
            set(
                state,
                params,
                caller,
                "excludedUserAgents",
                names::EXCLUDED_USER_AGENTS,
                Global::List { ips: false },
            )
            .await?;
            Output::Success
        }
        "setGlobalExcludedReferrers" => {
            require_superuser(caller)?;
            for url in params
                .get("excludedReferrers")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
            {
                let bare = url
                    .trim_start_matches("http://")
                    .trim_start_matches("https://");
                if !url.is_empty()
                    && !looks_like_url(&format!("https://{}", bare.trim_start_matches('.')))
                {
                    return Err(ApiError::Message(format!(
                        "The url '{url}' is not a valid URL."
                    )));
                }
            }
            set(
                state,
                params,
                caller,
                "excludedReferrers",
                names::EXCLUDED_REFERRERS,
                Global::List { ips: false },
            )
            .await?;
            Output::Success
        }
        "setGlobalSearchParameters" => {
            require_superuser(caller)?;
            for (param, name) in [
                ("searchKeywordParameters", names::SEARCH_KEYWORD_PARAMETERS),
                (
                    "searchCategoryParameters",
                    names::SEARCH_CATEGORY_PARAMETERS,
                ),
            ] {
                let value = params.get(param).unwrap_or("");
                state.store.set_option(name, value).await?;
            }
            state.sites.clear();
            Output::Scalar(Value::Bool(true))
        }
        "setKeepURLFragmentsGlobal" => {
            set(
                state,
                params,
                caller,
                "enabled",
                names::KEEP_URL_FRAGMENTS,
                Global::Flag,
            )
            .await?;
            Output::Success
        }
        "setDefaultCurrency" => {
            set(
                state,
                params,
                caller,
                "defaultCurrency",
                names::DEFAULT_CURRENCY,
                Global::Currency,
            )
            .await?;
            Output::Scalar(Value::Bool(true))
        }
        "setDefaultTimezone" => {
            set(
                state,
                params,
                caller,
                "defaultTimezone",
                names::DEFAULT_TIMEZONE,
                Global::Timezone,
            )
            .await?;
            Output::Scalar(Value::Bool(true))
        }
        _ => return Ok(None),
    };
    Ok(Some(output))
}

/// A global setter: super user only, the value checked as Matomo does, then every cached site
/// forgotten so the tracker applies it at once.
async fn set(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    param: &str,
    name: &str,
    kind: Global,
) -> ApiResult<()> {
    require_superuser(caller)?;
    let raw = params.get(param).unwrap_or("").trim();
    let value = match kind {
        Global::List { ips } => {
            let value = list_param(params, param);
            if ips {
                check_ips(&value)?;
            }
            value
        }
        Global::Currency => check_currency(&raw.to_ascii_uppercase())?,
        Global::Timezone => check_timezone(raw)?,
        Global::Flag => if bool_param(params, param, false) {
            "1"
        } else {
            "0"
        }
        .to_owned(),
    };
    state.store.set_option(name, &value).await?;
    state.sites.clear();
    Ok(())
}

/// `SitesManager::DEFAULT_SEARCH_KEYWORD_PARAMETERS`.
const DEFAULT_SEARCH_KEYWORD_PARAMETERS: &str = "q,query,s,search,searchword,k,keyword,keywords";

async fn default_currency(state: &AppState) -> ApiResult<String> {
    let value = state.store.option(names::DEFAULT_CURRENCY).await?;
    Ok(value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "USD".to_owned()))
}

async fn default_timezone(state: &AppState) -> ApiResult<String> {
    let value = state.store.option(names::DEFAULT_TIMEZONE).await?;
    Ok(value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "UTC".to_owned()))
}

// ------------------------------------------------------------------ sites

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

fn check_timezone(tz: &str) -> ApiResult<String> {
    if !valid_timezone(tz) {
        return Err(ApiError::Message(format!(
            "The timezone \"{tz}\" is not valid. Please enter a valid timezone."
        )));
    }
    Ok(tz.to_owned())
}

fn check_currency(code: &str) -> ApiResult<String> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::Message(format!(
            "The currency \"{code}\" is not valid. Please enter a valid currency symbol (eg. USD, EUR, etc.)"
        )));
    }
    Ok(code.to_owned())
}

/// `checkAndReturnExcludedIps`: every entry an IP, a wildcard (`1.2.3.*`) or a CIDR range.
fn check_ips(list: &str) -> ApiResult<()> {
    for ip in list.split(',').filter(|ip| !ip.is_empty()) {
        if IpPattern::parse(ip).is_none() {
            return Err(ApiError::Message(format!(
                "The IP to exclude \"{ip}\" does not have a valid IP format (eg. 1.2.3.4, 1.2.3.*, or 1.2.3.4/5)."
            )));
        }
    }
    Ok(())
}

/// The `urls` parameter (`urls[]=` or a comma/newline list), trimmed, without trailing slashes,
/// deduplicated, each checked with `looks_like_url`.
fn urls_param(params: &ApiParams) -> ApiResult<Vec<String>> {
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
    Ok(urls)
}

/// `getNormalizedUrls`: the URL with and without `www.`, over http and https.
fn url_variants(url: &str) -> Vec<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let bare = rest.strip_prefix("www.").unwrap_or(rest);
    let mut variants = vec![url.to_owned()];
    for host in [bare.to_owned(), format!("www.{bare}")] {
        for scheme in ["http://", "https://"] {
            let variant = format!("{scheme}{host}");
            if !variants.contains(&variant) {
                variants.push(variant);
            }
        }
    }
    variants
}

/// Applies the parameters `addSite` and `updateSite` share to `site`; absent ones keep its
/// value (the defaults for a new site). `group` changes only for super users, as in Matomo;
/// `settingValues` (plugin measurable settings) has no setting to write here.
fn apply_settings(params: &ApiParams, caller: &Caller, site: &mut NewSite) -> ApiResult<()> {
    if params.non_empty("settingValues").is_some() || !params.list("settingValues").is_empty() {
        return Err(ApiError::Message(
            "settingValues is not supported: Edgemeter has no plugin measurable settings; set the site's fields with their own parameters."
                .to_owned(),
        ));
    }
    if let Some(group) = params.get("group").filter(|_| caller.is_superuser()) {
        group.trim().clone_into(&mut site.group);
    }
    if let Some(kind) = params.non_empty("type") {
        site.kind = Some(kind.trim().to_owned());
    }
    if let Some(name) = params.get("siteName") {
        let name = name.trim();
        if name.is_empty() {
            return Err(ApiError::Message(
                "The website name can't be empty.".to_owned(),
            ));
        }
        name.clone_into(&mut site.name);
    }
    if !params.list("urls").is_empty() {
        site.urls = urls_param(params)?;
    }
    if let Some(tz) = params.non_empty("timezone") {
        site.timezone = Some(check_timezone(tz.trim())?);
    }
    if let Some(code) = params.non_empty("currency") {
        site.currency = Some(check_currency(&code.trim().to_ascii_uppercase())?);
    }
    if let Some(date) = params.non_empty("startDate") {
        let today = chrono::Utc::now().date_naive();
        let day = super::dates::resolve_day(date, today).map_err(ApiError::Message)?;
        site.ts_created = Some(format!("{} 00:00:00", day.format("%Y-%m-%d")));
    }
    match params.get("keepURLFragments").map(str::trim) {
        None | Some("") => {}
        Some("0") => site.keep_url_fragment = 0,
        Some("1") => site.keep_url_fragment = 1,
        Some("2") => site.keep_url_fragment = 2,
        Some(other) => {
            return Err(ApiError::Message(format!(
                "keepURLFragments must be 0, 1 or 2, not '{other}'."
            )))
        }
    }
    let flag = |name: &str, value: &mut bool| {
        if params.non_empty(name).is_some() {
            *value = bool_param(params, name, *value);
        }
    };
    flag("ecommerce", &mut site.ecommerce);
    flag("siteSearch", &mut site.sitesearch);
    flag("excludeUnknownUrls", &mut site.exclude_unknown_urls);
    let lists: [(&str, &mut String); 6] = [
        (
            "searchKeywordParameters",
            &mut site.sitesearch_keyword_parameters,
        ),
        (
            "searchCategoryParameters",
            &mut site.sitesearch_category_parameters,
        ),
        ("excludedIps", &mut site.excluded_ips),
        ("excludedQueryParameters", &mut site.excluded_parameters),
        ("excludedUserAgents", &mut site.excluded_user_agents),
        ("excludedReferrers", &mut site.excluded_referrers),
    ];
    for (name, value) in lists {
        if params.get(name).is_some() {
            *value = list_param(params, name);
        }
    }
    check_ips(&site.excluded_ips)?;
    if site.urls.is_empty() {
        return Err(ApiError::Message(
            "You must specify at least one URL for the website.".to_owned(),
        ));
    }
    Ok(())
}

async fn add_site(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_superuser(caller)?;
    let mut site = NewSite {
        sitesearch: true,
        timezone: Some(default_timezone(state).await?),
        currency: Some(default_currency(state).await?),
        creator_login: caller.owner.login.clone(),
        ..NewSite::default()
    };
    if params.get("siteName").is_none() {
        return Err(ApiError::Message(
            "The website name can't be empty.".to_owned(),
        ));
    }
    apply_settings(params, caller, &mut site)?;
    let idsite = state.store.add_site(&site).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Scalar(Value::from(idsite)))
}

/// The site after the access check, or Matomo's `website id = N not found`.
async fn existing_site(state: &AppState, idsite: i64) -> ApiResult<Site> {
    state
        .store
        .site(idsite)
        .await?
        .ok_or_else(|| ApiError::Message(format!("website id = {idsite} not found")))
}

async fn update_site(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let idsite = id_param(params, "idSite")?;
    require_admin(state, caller, idsite).await?;
    let current = existing_site(state, idsite).await?;
    let mut site = NewSite::from(&current);
    apply_settings(params, caller, &mut site)?;
    state.store.update_site(idsite, &site).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Success)
}

async fn delete_site(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_superuser(caller)?;
    let idsite = id_param(params, "idSite")?;
    existing_site(state, idsite).await?;
    if state.store.sites().await?.len() == 1 {
        return Err(ApiError::Message(
            "It is not possible to delete this website as it is the only registered website. Add a new website first, then delete this one."
                .to_owned(),
        ));
    }
    state.store.delete_site(idsite).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Success)
}

enum AliasMode {
    Add,
    Replace,
}

/// `addSiteAliasUrls` (answers how many URLs were new) and `setSiteAliasUrls` (how many stored
/// URLs were not given as they are, Matomo's `array_diff`).
async fn alias_urls(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    mode: AliasMode,
) -> ApiResult<Output> {
    let idsite = id_param(params, "idSite")?;
    require_admin(state, caller, idsite).await?;
    let current = existing_site(state, idsite).await?;
    let given = urls_param(params)?;
    let mut site = NewSite::from(&current);
    let before = match mode {
        AliasMode::Add => current.urls.clone(),
        AliasMode::Replace => {
            site.urls.truncate(1);
            let mut given_with_main = vec![current.main_url.clone()];
            given_with_main.extend(params.list("urls").iter().map(|u| u.trim().to_owned()));
            given_with_main
        }
    };
    for url in given {
        if !site.urls.contains(&url) {
            site.urls.push(url);
        }
    }
    let added = site.urls.iter().filter(|url| !before.contains(url)).count();
    state.store.update_site(idsite, &site).await?;
    state.sites.invalidate(idsite);
    Ok(Output::Scalar(Value::from(added)))
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
    fn site_urls_are_looked_up_with_and_without_www_over_both_schemes() {
        let variants = url_variants("https://www.example.com/");
        for url in [
            "https://www.example.com",
            "http://example.com",
            "https://example.com",
            "http://www.example.com",
        ] {
            assert!(variants.iter().any(|v| v == url), "{url}");
        }
    }

    #[test]
    fn excluded_ips_must_be_ips_wildcards_or_ranges() {
        assert!(check_ips("1.2.3.4,1.2.3.*,10.0.0.0/8").is_ok());
        assert!(check_ips("1.2.3.4,not-an-ip").is_err());
    }

    #[test]
    fn snippets_are_html_escaped_like_matomo() {
        assert_eq!(
            html_escape("<a href='x'>&</a>"),
            "&lt;a href=&#039;x&#039;&gt;&amp;&lt;/a&gt;"
        );
    }
}
