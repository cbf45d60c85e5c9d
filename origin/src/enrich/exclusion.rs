//! Per-site request exclusion rules: excluded IPs (exact, `1.2.3.*` wildcards, CIDR), excluded
//! user agents (case-insensitive substring or PHP-style regex), `exclude_unknown_urls`, and
//! Matomo's hard-coded search-bot IP ranges.
//!
//! Source: matomo-org/matomo `core/Tracker/VisitExcluded.php` (`isExcluded`, `isIpExcluded`,
//! `isUserAgentExcluded`, `isUrlExcluded`, `getBotIpRanges`), `core/Network/IPUtils.php`
//! (wildcards become ranges), `plugins/SitesManager/API.php` (settings are comma- or
//! newline-separated lists). The order in which the caller applies the checks is MATOMO.md §1.4.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use regex::Regex;

/// One entry of an excluded-IP list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpPattern {
    Exact(IpAddr),
    /// CIDR, or an IPv4 wildcard (`1.2.3.*` is `1.2.3.0/24`).
    Net(IpNet),
}

impl IpPattern {
    /// Parses `1.2.3.4`, `1.2.3.*`, `1.2.*.*`, `10.0.0.0/8`, `2001:db8::/32`; `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.contains('/') {
            return s.parse::<IpNet>().ok().map(|n| Self::Net(n.trunc()));
        }
        if s.contains('*') {
            let octets: Vec<&str> = s.split('.').collect();
            if octets.len() != 4 {
                return None;
            }
            let fixed = octets.iter().take_while(|o| **o != "*").count();
            // Wildcards only at the end: `1.*.3.4` is not a range Matomo can express either.
            if octets[fixed..].iter().any(|o| *o != "*") {
                return None;
            }
            let mut addr = String::new();
            for (i, o) in octets.iter().enumerate() {
                if i > 0 {
                    addr.push('.');
                }
                addr.push_str(if i < fixed { o } else { "0" });
            }
            let prefix = u8::try_from(fixed * 8).ok()?;
            return format!("{addr}/{prefix}")
                .parse::<IpNet>()
                .ok()
                .map(|n| Self::Net(n.trunc()));
        }
        s.parse::<IpAddr>().ok().map(Self::Exact)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        match self {
            Self::Exact(a) => canonical_ip(*a) == ip,
            Self::Net(n) => n.contains(&ip),
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One entry of an excluded-user-agent list: matched as a case-insensitive substring, and also
/// as a regex when the entry is a valid PHP regex (`/pattern/flags`).
#[derive(Debug, Clone)]
pub struct UaPattern {
    lower: String,
    regex: Option<Regex>,
}

impl UaPattern {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        Some(Self {
            lower: s.to_lowercase(),
            regex: php_regex(s),
        })
    }
}

/// A PHP `/body/flags` (or `#body#flags`, `~body~flags`) pattern as a Rust regex.
fn php_regex(s: &str) -> Option<Regex> {
    let delimiter = s
        .chars()
        .next()
        .filter(|c| matches!(c, '/' | '#' | '~' | '@' | '!' | '%'))?;
    let inner = &s[delimiter.len_utf8()..];
    let end = inner.rfind(delimiter)?;
    let (body, flags) = (&inner[..end], &inner[end + delimiter.len_utf8()..]);
    if !flags
        .chars()
        .all(|c| matches!(c, 'i' | 'm' | 's' | 'x' | 'u' | 'U' | 'D'))
    {
        return None;
    }
    let rust_flags: String = flags
        .chars()
        .filter(|c| matches!(c, 'i' | 'm' | 's' | 'x'))
        .collect();
    let pattern = if rust_flags.is_empty() {
        body.to_owned()
    } else {
        format!("(?{rust_flags}){body}")
    };
    Regex::new(&pattern).ok()
}

/// A site's exclusion settings, parsed once from the CSV columns of the `site` table.
#[derive(Debug, Clone, Default)]
pub struct SiteExclusions {
    pub ips: Vec<IpPattern>,
    pub user_agents: Vec<UaPattern>,
    pub excluded_params: Vec<String>,
    pub excluded_referrers: Vec<String>,
    pub exclude_unknown_urls: bool,
}

/// Splits a Matomo list setting on commas and newlines, trimmed, empties dropped.
pub fn split_list(csv: &str) -> impl Iterator<Item = &str> {
    csv.split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl SiteExclusions {
    /// Builds the rules from the site's `excluded_ips`, `excluded_user_agents`,
    /// `excluded_parameters` and `excluded_referrers` columns. Invalid IP entries are skipped
    /// (Matomo's API refuses them on save).
    pub fn from_settings(
        excluded_ips: &str,
        excluded_user_agents: &str,
        excluded_parameters: &str,
        excluded_referrers: &str,
        exclude_unknown_urls: bool,
    ) -> Self {
        Self {
            ips: split_list(excluded_ips)
                .filter_map(IpPattern::parse)
                .collect(),
            user_agents: split_list(excluded_user_agents)
                .filter_map(UaPattern::parse)
                .collect(),
            excluded_params: split_list(excluded_parameters).map(str::to_owned).collect(),
            excluded_referrers: split_list(excluded_referrers).map(str::to_owned).collect(),
            exclude_unknown_urls,
        }
    }
}

/// Whether `ip` matches one of the excluded-IP patterns.
pub fn ip_excluded(ip: IpAddr, patterns: &[IpPattern]) -> bool {
    patterns.iter().any(|p| p.contains(ip))
}

/// `isUserAgentExcluded`: substring match ignoring case, or a regex match.
pub fn user_agent_excluded(user_agent: &str, patterns: &[UaPattern]) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let lower = user_agent.to_lowercase();
    patterns.iter().any(|p| {
        lower.contains(&p.lower) || p.regex.as_ref().is_some_and(|re| re.is_match(user_agent))
    })
}

/// For `exclude_unknown_urls`: whether the page URL's host (ignoring case and a leading `www.`)
/// is one of the site's hosts with a path prefixed by that site URL's path.
pub fn url_is_known(url: &str, site_urls: &[String]) -> bool {
    super::referrer::url_matches_site_urls(url, site_urls)
}

/// `VisitExcluded::getBotIpRanges` (Google, Bing/MSN, Yahoo and one crawler address).
const BOT_IP_RANGES: [&str; 24] = [
    "216.239.32.0/19",
    "64.233.160.0/19",
    "66.249.80.0/20",
    "72.14.192.0/18",
    "209.85.128.0/17",
    "66.102.0.0/20",
    "74.125.0.0/16",
    "64.18.0.0/20",
    "207.126.144.0/20",
    "173.194.0.0/16",
    "64.4.0.0/18",
    "65.52.0.0/14",
    "157.54.0.0/15",
    "157.56.0.0/14",
    "157.60.0.0/16",
    "207.46.0.0/16",
    "207.68.128.0/18",
    "207.68.192.0/20",
    "131.253.26.0/20",
    "131.253.24.0/20",
    "72.30.198.0/20",
    "72.30.196.0/20",
    "98.137.207.0/20",
    "1.202.218.8/32",
];

static BOT_NETS: LazyLock<Vec<IpPattern>> = LazyLock::new(|| {
    BOT_IP_RANGES
        .iter()
        .filter_map(|r| IpPattern::parse(r))
        .collect()
});

/// Whether `ip` is in Matomo's hard-coded search-bot ranges (skipped by Matomo when the request
/// has `bots=1`, and for Google ranges behind Chrome's data-saver proxy: `Via` containing
/// `chrome-compression-proxy`, which the caller checks).
pub fn ip_is_known_bot(ip: IpAddr) -> bool {
    ip_excluded(ip, &BOT_NETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn exact_wildcard_and_cidr_ips_are_excluded() {
        let rules = SiteExclusions::from_settings(
            "203.0.113.9, 198.51.100.*\n10.0.0.0/8,2001:db8::/32,bogus",
            "",
            "",
            "",
            false,
        );
        assert_eq!(rules.ips.len(), 4);
        assert!(ip_excluded(ip("203.0.113.9"), &rules.ips));
        assert!(!ip_excluded(ip("203.0.113.10"), &rules.ips));
        assert!(ip_excluded(ip("198.51.100.77"), &rules.ips));
        assert!(!ip_excluded(ip("198.51.101.1"), &rules.ips));
        assert!(ip_excluded(ip("10.200.3.4"), &rules.ips));
        assert!(ip_excluded(ip("2001:db8::1"), &rules.ips));
        assert!(ip_excluded(ip("::ffff:203.0.113.9"), &rules.ips));
    }

    #[test]
    fn wildcards_widen_by_octet_and_only_at_the_end() {
        assert_eq!(
            IpPattern::parse("1.2.*.*"),
            "1.2.0.0/16".parse().ok().map(IpPattern::Net)
        );
        assert_eq!(IpPattern::parse("1.*.3.4"), None);
    }

    #[test]
    fn user_agents_match_as_substring_ignoring_case_or_as_regex() {
        let rules =
            SiteExclusions::from_settings("", "HeadlessChrome\n/^curl\\/[0-9]+/i", "", "", false);
        assert!(user_agent_excluded(
            "Mozilla/5.0 headlesschrome/120",
            &rules.user_agents
        ));
        assert!(user_agent_excluded("CURL/8.1", &rules.user_agents));
        assert!(!user_agent_excluded(
            "Mozilla/5.0 (X11) Firefox/125.0",
            &rules.user_agents
        ));
        assert!(!user_agent_excluded("anything", &[]));
    }

    #[test]
    fn unknown_urls_are_those_outside_the_site_hosts_and_paths() {
        let urls = vec![
            "https://shop.example.com".to_owned(),
            "https://example.org/blog".to_owned(),
        ];
        assert!(url_is_known("https://www.shop.example.com/cart", &urls));
        assert!(url_is_known("http://SHOP.example.com", &urls));
        assert!(url_is_known("https://example.org/blog/post", &urls));
        assert!(!url_is_known("https://example.org/shop", &urls));
        assert!(!url_is_known("https://evil.example.net/", &urls));
        assert!(!url_is_known("not a url", &urls));
    }

    #[test]
    fn search_bot_ranges_are_recognised() {
        assert!(ip_is_known_bot(ip("66.249.80.1")));
        assert!(ip_is_known_bot(ip("157.55.39.1")));
        assert!(ip_is_known_bot(ip("1.202.218.8")));
        assert!(!ip_is_known_bot(ip("203.0.113.200")));
        assert_eq!(BOT_NETS.len(), BOT_IP_RANGES.len());
    }
}
