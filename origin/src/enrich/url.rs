//! Matomo's page-URL handling: the `url_prefix` split, query-parameter exclusion, fragment
//! removal, URL-based site-search detection and the hierarchical page-URL labels.
//!
//! Sources (matomo-org/matomo): `core/Tracker/PageUrl.php` (`$urlPrefixMap`,
//! `excludeQueryParametersFromUrl`, `getQueryParametersToExclude`), `config/global.ini.php`
//! (`url_query_parameter_to_exclude_from_url`, `action_default_name = index`,
//! `action_category_level_limit = 10`), `core/Common.php::getCampaignParameters`,
//! `plugins/Actions/Actions/ActionSiteSearch.php` and
//! `plugins/Actions/ArchivingHelper.php::getActionExplodedNames`.
//!
//! Facts checked against the golden answers (`Actions.getPageUrls`): campaign name and keyword
//! parameters are removed from page URLs while other parameters (`mtm_source`, `utm_content`)
//! stay in place and in their order; the fragment is dropped; the flat label is the path with a
//! leading `/`, the host is not part of any label.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// `log_action.url_prefix` values, longest prefix first so `http://www.` wins over `http://`.
const URL_PREFIXES: [(&str, u8); 4] = [
    ("http://www.", 1),
    ("https://www.", 3),
    ("http://", 0),
    ("https://", 2),
];

/// `[Tracker] url_query_parameter_to_exclude_from_url` in Matomo 5 (global default list).
pub const DEFAULT_EXCLUDED_PARAMS: [&str; 16] = [
    "gclid",
    "fbclid",
    "msclkid",
    "twclid",
    "wbraid",
    "gbraid",
    "yclid",
    "fb_xd_fragment",
    "fb_comment_id",
    "phpsessid",
    "jsessionid",
    "sessionid",
    "aspsessionid",
    "doing_wp_cron",
    "sid",
    "pk_vid",
];

/// `[Tracker] campaign_var_name`: query parameters naming a campaign, in priority order.
pub const CAMPAIGN_NAME_PARAMS: [&str; 8] = [
    "pk_cpn",
    "pk_campaign",
    "piwik_campaign",
    "mtm_campaign",
    "matomo_campaign",
    "utm_campaign",
    "utm_source",
    "utm_medium",
];

/// `[Tracker] campaign_keyword_var_name`: query parameters carrying a campaign keyword.
pub const CAMPAIGN_KEYWORD_PARAMS: [&str; 7] = [
    "pk_kwd",
    "pk_keyword",
    "piwik_kwd",
    "mtm_kwd",
    "mtm_keyword",
    "matomo_kwd",
    "utm_term",
];

/// Matomo's default site-search keyword parameters (`SitesManager` global default).
pub const DEFAULT_SITE_SEARCH_KEYWORD_PARAMS: [&str; 8] = [
    "q",
    "query",
    "s",
    "search",
    "searchword",
    "k",
    "keyword",
    "keywords",
];

/// `[General] action_category_level_limit`.
const CATEGORY_LEVEL_LIMIT: usize = 10;

/// Label Matomo uses when a page URL has no usable path (`General_NotDefined` of
/// `Actions_ColumnPageURL`).
pub const PAGE_URL_NOT_DEFINED: &str = "Page URL not defined";

/// Splits `url` into Matomo's `url_prefix` id and the rest (the stored `log_action.name`).
/// The scheme and `www.` are compared case-insensitively; a URL with another scheme (or none)
/// has no prefix and is stored whole.
pub fn split_prefix(url: &str) -> (Option<u8>, &str) {
    for (prefix, id) in URL_PREFIXES {
        if let Some(head) = url.get(..prefix.len()) {
            if head.eq_ignore_ascii_case(prefix) {
                return (Some(id), &url[prefix.len()..]);
            }
        }
    }
    (None, url)
}

/// The inverse of [`split_prefix`]: the URL Matomo shows for a stored action.
pub fn join_prefix(prefix: Option<u8>, rest: &str) -> String {
    let head = match prefix {
        Some(0) => "http://",
        Some(1) => "http://www.",
        Some(2) => "https://",
        Some(3) => "https://www.",
        _ => "",
    };
    let mut out = String::with_capacity(head.len() + rest.len());
    out.push_str(head);
    out.push_str(rest);
    out
}

/// PHP `urldecode`: `+` is a space, `%XX` a byte; invalid UTF-8 is replaced.
pub fn url_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['+', '%']) {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

/// PHP `trim` without a character list.
pub(crate) fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

/// The pieces of a URL around its query: `(before '?', query, fragment)`; the fragment
/// excludes `#`, the query excludes `?`.
pub(crate) fn split_query(url: &str) -> (&str, Option<&str>, Option<&str>) {
    let (main, fragment) = match url.split_once('#') {
        Some((m, f)) => (m, Some(f)),
        None => (url, None),
    };
    match main.split_once('?') {
        Some((base, query)) => (base, Some(query), fragment),
        None => (main, None, fragment),
    }
}

/// The raw (still encoded) value of the first `name=value` pair in `query` whose name equals
/// `name` exactly, like Matomo's `UrlHelper::getParameterFromQueryString`. A bare `name`
/// without `=` yields an empty value.
pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

fn param_name_is_in(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Removes from `url`'s query the parameters Matomo never keeps (global default list), the
/// campaign parameters, `extra` and `site_excluded`, all compared case-insensitively on the
/// decoded name. The other pairs stay raw and in order; the fragment is kept. Used for the
/// referrer URL (`Referrers/Columns/Base.php::excludeQueryParamsFromReferrerUrl`) and, through
/// [`normalise_page_url`], for page URLs.
pub fn exclude_query_params(url: &str, extra: &[&str], site_excluded: &[String]) -> String {
    let (base, query, fragment) = split_query(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    if let Some(query) = query {
        push_filtered_query(&mut out, query, |name| {
            param_name_is_in(name, extra)
                || site_excluded
                    .iter()
                    .any(|p| p.trim().eq_ignore_ascii_case(name))
        });
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn push_filtered_query(out: &mut String, query: &str, also_excluded: impl Fn(&str) -> bool) {
    let mut first = true;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let raw_name = pair.split_once('=').map_or(pair, |(n, _)| n);
        let name = url_decode(raw_name);
        let name = name.trim();
        if param_name_is_in(name, &DEFAULT_EXCLUDED_PARAMS)
            || param_name_is_in(name, &CAMPAIGN_NAME_PARAMS)
            || param_name_is_in(name, &CAMPAIGN_KEYWORD_PARAMS)
            || also_excluded(name)
        {
            continue;
        }
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(pair);
    }
}

/// The page URL Matomo stores for a pageview: default, campaign, site-excluded and (when a site
/// search was detected) site-search parameters removed; the fragment removed unless
/// `keep_fragment`. The result still carries its scheme: pass it to [`split_prefix`] next, and
/// to [`cut`] for `page_maximum_length`.
pub fn normalise_page_url(
    url: &str,
    excluded_params: &[String],
    site_search_params: Option<&[String]>,
    keep_fragment: bool,
) -> String {
    let (base, query, fragment) = split_query(url.trim());
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    if let Some(query) = query {
        push_filtered_query(&mut out, query, |name| {
            excluded_params
                .iter()
                .chain(site_search_params.unwrap_or(&[]))
                .any(|p| p.trim().eq_ignore_ascii_case(name))
        });
    }
    if keep_fragment {
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            out.push('#');
            out.push_str(fragment);
        }
    }
    out
}

/// URL-based site search (`ActionSiteSearch::detectSiteSearchFromUrl`): the first keyword
/// parameter (case-insensitive name) with a non-empty decoded value gives the keyword, the first
/// such category parameter the category. Keyword case is kept (golden: `Sneakers`).
/// Empty `keyword_params` means Matomo's defaults ([`DEFAULT_SITE_SEARCH_KEYWORD_PARAMS`]).
pub fn detect_site_search(
    url: &str,
    keyword_params: &[String],
    category_params: &[String],
) -> Option<(String, Option<String>)> {
    let (_, query, _) = split_query(url);
    let query = query?;
    let find = |names: &mut dyn Iterator<Item = &str>| -> Option<String> {
        for wanted in names {
            for pair in query.split('&') {
                let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
                let name = url_decode(raw_name);
                // `q[]=a` style arrays are accepted by Matomo under the bare name.
                let name = name.strip_suffix("[]").unwrap_or(&name);
                if name.eq_ignore_ascii_case(wanted) {
                    let value = url_decode(raw_value);
                    let value = php_trim(&value);
                    if !value.is_empty() {
                        return Some(value.to_owned());
                    }
                }
            }
        }
        None
    };
    let keyword = if keyword_params.is_empty() {
        find(&mut DEFAULT_SITE_SEARCH_KEYWORD_PARAMS.iter().copied())
    } else {
        find(&mut keyword_params.iter().map(|s| s.trim()))
    }?;
    let category = find(&mut category_params.iter().map(|s| s.trim()));
    Some((keyword, category))
}

/// The labels of a page URL in the hierarchical `Actions.getPageUrls` report, from the stored
/// name (URL without prefix, e.g. `shop.example.com/products/?x=1`). Rules of
/// `getActionExplodedNames`: the host is dropped; a path that is empty or ends in `/` gets
/// `index` appended; a fragment is re-attached with `#`; the path splits on `/` into at most 10
/// parts (the last keeps the rest); parts are trimmed and empty ones dropped; the last part is
/// prefixed with `/` so a page never merges with a folder of the same name.
/// `shop.example.com/products/` gives `["products", "/index"]`,
/// `shop.example.com/products/?a=b` gives `["products", "/?a=b"]`.
pub fn url_path_segments(url_without_prefix: &str) -> Vec<String> {
    let name: Cow<'_, str> = if url_without_prefix.contains('\n') {
        Cow::Owned(url_without_prefix.replace('\n', ""))
    } else {
        Cow::Borrowed(url_without_prefix)
    };
    // `@^([^/]+)[/]?([^#]*)[#]?(.*)$@i`: a URL needs a non-empty host before the first `/`.
    let path = match name.find('/') {
        Some(0) => name.to_string(),
        Some(slash) => {
            let after = &name[slash + 1..];
            let (path, fragment) = after.split_once('#').unwrap_or((after, ""));
            let mut p = path.to_owned();
            if p.is_empty() || p.ends_with('/') {
                p.push_str("index");
            }
            if !fragment.is_empty() {
                p.push('#');
                p.push_str(fragment);
            }
            p
        }
        None if name.is_empty() => String::new(),
        None => {
            let fragment = name.split_once('#').map_or("", |(_, f)| f);
            let mut p = String::from("index");
            if !fragment.is_empty() {
                p.push('#');
                p.push_str(fragment);
            }
            p
        }
    };
    let mut parts: Vec<String> = path
        .splitn(CATEGORY_LEVEL_LIMIT, '/')
        .map(php_trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    match parts.last_mut() {
        Some(last) => last.insert(0, '/'),
        None => parts.push(PAGE_URL_NOT_DEFINED.to_owned()),
    }
    parts
}

/// The flat-report label of a stored page URL name (`Actions.getPageUrls` with `flat=1`):
/// the path with its leading `/`, query and (kept) fragment; `/` for the site root.
pub fn flat_page_label(url_without_prefix: &str) -> &str {
    match url_without_prefix.find('/') {
        Some(slash) => &url_without_prefix[slash..],
        None => "/",
    }
}

/// `mb_substr($s, 0, $max_chars)`: the first `max_chars` characters, never splitting one.
pub fn cut(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn prefixes_map_to_matomo_ids_and_www_beats_plain_scheme() {
        assert_eq!(split_prefix("http://a.b/x"), (Some(0), "a.b/x"));
        assert_eq!(split_prefix("http://www.a.b/"), (Some(1), "a.b/"));
        assert_eq!(split_prefix("https://a.b"), (Some(2), "a.b"));
        assert_eq!(split_prefix("HTTPS://WWW.a.b"), (Some(3), "a.b"));
        assert_eq!(split_prefix("ftp://a.b"), (None, "ftp://a.b"));
        assert_eq!(join_prefix(Some(3), "a.b/x"), "https://www.a.b/x");
    }

    #[test]
    fn campaign_params_are_stripped_but_unknown_ones_stay_in_order() {
        let url = "https://shop.example.com/products/shoes/red-sneaker?color=red&size=42&mtm_campaign=Retargeting&mtm_kwd=sneakers&mtm_source=display";
        assert_eq!(
            normalise_page_url(url, &[], None, false),
            "https://shop.example.com/products/shoes/red-sneaker?color=red&size=42&mtm_source=display"
        );
        let url = "https://blog.example.org/posts/rust-analytics?utm_content=inline&utm_campaign=weekly_digest&utm_source=newsletter";
        assert_eq!(
            normalise_page_url(url, &[], None, false),
            "https://blog.example.org/posts/rust-analytics?utm_content=inline"
        );
        assert_eq!(
            normalise_page_url(
                "https://a.b/?pk_campaign=P&pk_kwd=t&utm_medium=e&utm_term=x",
                &[],
                None,
                false
            ),
            "https://a.b/"
        );
    }

    #[test]
    fn default_and_site_excluded_params_go_case_insensitively() {
        let url = "https://a.b/p?GCLID=1&keep=2&Session_Token=3&fbclid=4";
        assert_eq!(
            normalise_page_url(url, &strings(&["session_token"]), None, false),
            "https://a.b/p?keep=2"
        );
    }

    #[test]
    fn fragment_is_removed_unless_kept() {
        assert_eq!(
            normalise_page_url("https://a.b/contact#form", &[], None, false),
            "https://a.b/contact"
        );
        assert_eq!(
            normalise_page_url("https://a.b/contact#form", &[], None, true),
            "https://a.b/contact#form"
        );
    }

    #[test]
    fn site_search_params_are_removed_when_given() {
        let params = strings(&["q"]);
        assert_eq!(
            normalise_page_url(
                "https://a.b/search?q=boots&page=2",
                &[],
                Some(&params),
                false
            ),
            "https://a.b/search?page=2"
        );
    }

    #[test]
    fn site_search_uses_default_params_and_keeps_keyword_case() {
        assert_eq!(
            detect_site_search("https://shop.example.com/search?q=Sneakers", &[], &[]),
            Some(("Sneakers".to_owned(), None))
        );
        assert_eq!(
            detect_site_search(
                "https://a.b/s?x=1&Search=red+shoes&cat=Shoes",
                &[],
                &strings(&["cat"])
            ),
            Some(("red shoes".to_owned(), Some("Shoes".to_owned())))
        );
        assert_eq!(detect_site_search("https://a.b/s?q=", &[], &[]), None);
        assert_eq!(
            detect_site_search("https://a.b/s?q=x", &strings(&["term"]), &[]),
            None
        );
    }

    #[test]
    fn path_segments_follow_matomo_hierarchy_labels() {
        assert_eq!(url_path_segments("shop.example.com/"), vec!["/index"]);
        assert_eq!(url_path_segments("shop.example.com"), vec!["/index"]);
        assert_eq!(
            url_path_segments("shop.example.com/products/"),
            vec!["products", "/index"]
        );
        assert_eq!(
            url_path_segments("shop.example.com/products/?mtm_source=display"),
            vec!["products", "/?mtm_source=display"]
        );
        assert_eq!(
            url_path_segments("blog.example.org/posts/privacy/cookies-explained"),
            vec!["posts", "privacy", "/cookies-explained"]
        );
        assert_eq!(url_path_segments("a.b/x//y"), vec!["x", "/y"]);
    }

    #[test]
    fn path_segments_stop_at_ten_levels() {
        let parts = url_path_segments("a.b/1/2/3/4/5/6/7/8/9/10/11/12");
        assert_eq!(parts.len(), 10);
        assert_eq!(parts.last().map(String::as_str), Some("/10/11/12"));
    }

    #[test]
    fn flat_label_is_the_path_with_leading_slash() {
        assert_eq!(
            flat_page_label("shop.example.com/products/?a=1"),
            "/products/?a=1"
        );
        assert_eq!(flat_page_label("shop.example.com"), "/");
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("", 0), "");
    }
}
