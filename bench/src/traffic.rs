//! Deterministic, realistic tracking traffic: many sites, visitors with multi-page visits,
//! referrers (search engines, social networks, websites, campaigns), events, site searches,
//! outlinks, downloads, goal conversions and several user agents, as Matomo query strings.
//!
//! Everything is drawn from a ChaCha RNG with a fixed seed, so two runs with the same
//! [`Spec`] produce byte-identical hits: figures from different runs measure the same work.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of sites; traffic per site falls off as 1/rank, like a real multi-site install.
pub const SITES: usize = 20;
/// The seed of every generated data set.
const SEED: u64 = 0x00ed_9e3e_7e12;

/// User-Agents, most common first (desktop Chrome, Firefox, iPhone Safari, Android Chrome, Edge,
/// macOS Safari).
pub const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
];
/// Accept-Language values.
pub const LANGUAGES: [&str; 4] = [
    "en-US,en;q=0.9",
    "fr-FR,fr;q=0.9,en;q=0.5",
    "de-DE,de;q=0.9",
    "es-ES,es;q=0.8",
];
const RESOLUTIONS: [&str; 5] = ["1920x1080", "1366x768", "390x844", "412x915", "2560x1440"];
const SEARCH_ENGINES: [&str; 3] = [
    "https://www.google.com/search?q=",
    "https://www.bing.com/search?q=",
    "https://duckduckgo.com/?q=",
];
const SOCIAL: [&str; 3] = [
    "https://www.facebook.com/",
    "https://t.co/abc123",
    "https://www.linkedin.com/feed/",
];
const KEYWORDS: [&str; 8] = [
    "web analytics",
    "privacy analytics",
    "matomo alternative",
    "edge tracking",
    "cookie banner",
    "gdpr analytics",
    "self hosted analytics",
    "page views",
];
const CAMPAIGNS: [&str; 4] = ["spring-sale", "newsletter-april", "retargeting", "launch"];
const SECTIONS: [&str; 5] = ["blog", "products", "docs", "about", "pricing"];
/// Distinct pages per site; picked with a skew so a few pages get most views.
const PAGES_PER_SITE: u32 = 400;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Requests wanted (about; visits are whole).
    pub requests: usize,
    /// First second of the site-local (UTC) day the traffic falls on.
    pub day_start: i64,
}

/// One tracking request.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// UNIX seconds.
    pub ts: i64,
    pub idsite: u32,
    /// Global visit number (0-based), the same for every hit of a visit.
    pub visit: u32,
    /// Whether this is the first hit of its visit.
    pub first_of_visit: bool,
    /// Position in its visit (1-based).
    pub position: u32,
    /// The visitor id (`_id`).
    pub visitor: [u8; 8],
    /// Index into [`USER_AGENTS`].
    pub ua: usize,
    /// Index into [`LANGUAGES`].
    pub lang: usize,
    /// The visitor's IPv4 address.
    pub ip: [u8; 4],
    /// The page URL of the hit (for the ceiling rows).
    pub url: String,
    /// The Matomo parameters, url-encoded, without `cdt`, `token_auth`, `ua`, `cip`, `lang`.
    pub query: String,
}

/// Picks an index in `0..n` with a strong skew towards 0 (u^3 maps most draws near 0).
fn skewed(rng: &mut ChaCha8Rng, n: u32) -> u32 {
    let u: f64 = rng.random();
    ((u * u * u) * f64::from(n)) as u32 % n.max(1)
}

/// Picks a site with weight 1/rank.
fn site(rng: &mut ChaCha8Rng) -> u32 {
    let total: f64 = (1..=SITES).map(|r| 1.0 / r as f64).sum();
    let mut x = rng.random::<f64>() * total;
    for rank in 1..=SITES {
        x -= 1.0 / rank as f64;
        if x <= 0.0 {
            return rank as u32;
        }
    }
    SITES as u32
}

/// The site's base URL; site ids are 1..=SITES in creation order.
pub fn site_url(idsite: u32) -> String {
    format!("https://site{idsite}.example.com")
}

/// Generates the hits of one day, sorted by time (ties keep visit order).
pub fn generate(spec: Spec) -> Vec<Hit> {
    // The seed ignores the day: every run draws the same traffic, only shifted in time.
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    // About 5 requests per visit (Matomo's typical 1M actions = 200k visits), and 30% of the
    // visits are by a visitor seen earlier that day.
    let visits_wanted = (spec.requests / 5).max(1);
    let visitor_pool = (visits_wanted as u32 * 7 / 10).max(1);
    let mut hits = Vec::with_capacity(spec.requests + 16);
    let mut visit = 0u32;
    while hits.len() < spec.requests {
        let idsite = site(&mut rng);
        let visitor_no = rng.random_range(0..visitor_pool);
        let mut visitor = [0u8; 8];
        visitor[..4].copy_from_slice(&visitor_no.to_be_bytes());
        visitor[4..].copy_from_slice(&(visitor_no.wrapping_mul(2_654_435_761)).to_be_bytes());
        let ua = skewed(&mut rng, USER_AGENTS.len() as u32) as usize;
        let lang = skewed(&mut rng, LANGUAGES.len() as u32) as usize;
        let ip = [
            10,
            (visitor_no >> 16) as u8,
            (visitor_no >> 8) as u8,
            visitor_no as u8,
        ];
        let res = RESOLUTIONS[ua % RESOLUTIONS.len()];
        // Mean 5 actions: 1 + geometric(p = 0.2), capped.
        let mut actions = 1u32;
        while actions < 40 && rng.random::<f64>() >= 0.2 {
            actions += 1;
        }
        let mut ts = spec.day_start + rng.random_range(0..(86_400 - 3_600));
        let base = site_url(idsite);
        let referrer = rng.random_range(0..10u32);
        let converts = rng.random_range(0..100u32) < 4;
        let mut last_url = String::new();
        for position in 1..=actions {
            let page = skewed(&mut rng, PAGES_PER_SITE);
            let section = SECTIONS[page as usize % SECTIONS.len()];
            let mut url = format!("{base}/{section}/page-{page}");
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("idsite", &idsite.to_string())
                .append_pair("rec", "1")
                .append_pair("apiv", "1")
                .append_pair("r", &format!("{:06}", rng.random_range(0..1_000_000u32)))
                .append_pair("_id", &hex(&visitor))
                .append_pair("res", res)
                .append_pair("cookie", "1")
                .append_pair("send_image", "0");
            let kind = rng.random_range(0..100u32);
            if position == 1 {
                match referrer {
                    0..=3 => {}
                    4..=6 => {
                        let engine = SEARCH_ENGINES[rng.random_range(0..SEARCH_ENGINES.len())];
                        let kw = KEYWORDS[skewed(&mut rng, KEYWORDS.len() as u32) as usize];
                        q.append_pair("urlref", &format!("{engine}{}", kw.replace(' ', "+")));
                    }
                    7 => {
                        q.append_pair("urlref", SOCIAL[rng.random_range(0..SOCIAL.len())]);
                    }
                    8 => {
                        q.append_pair(
                            "urlref",
                            &format!(
                                "https://news{}.example.org/story-{}",
                                rng.random_range(0..30u32),
                                rng.random_range(0..500u32)
                            ),
                        );
                    }
                    _ => {
                        let campaign = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
                        url = format!("{url}?mtm_campaign={campaign}&mtm_kwd=kw{page}");
                    }
                }
            }
            if position > 1 && kind < 15 {
                // An event on the current page.
                q.append_pair("url", &last_url)
                    .append_pair("e_c", ["Video", "Newsletter", "Cart"][page as usize % 3])
                    .append_pair("e_a", ["Play", "Subscribe", "Add"][page as usize % 3])
                    .append_pair("e_n", &format!("item-{}", page % 20))
                    .append_pair("e_v", &(page % 50).to_string());
                url.clone_from(&last_url);
            } else if position > 1 && kind < 18 {
                q.append_pair("url", &last_url).append_pair(
                    "link",
                    &format!("https://partner{}.example.net/", page % 10),
                );
                url.clone_from(&last_url);
            } else if position > 1 && kind < 20 {
                q.append_pair("url", &last_url).append_pair(
                    "download",
                    &format!("{base}/files/report-{}.pdf", page % 15),
                );
                url.clone_from(&last_url);
            } else if position > 1 && kind < 25 {
                let kw = KEYWORDS[skewed(&mut rng, KEYWORDS.len() as u32) as usize];
                url = format!("{base}/search?q={}", kw.replace(' ', "+"));
                q.append_pair("url", &url)
                    .append_pair("action_name", "Search")
                    .append_pair("search", kw)
                    .append_pair("search_count", &(page % 30).to_string());
            } else {
                q.append_pair("url", &url)
                    .append_pair("action_name", &format!("{section} / Page {page}"))
                    .append_pair(
                        "pv_id",
                        &format!("{:06x}", rng.random_range(0..0xff_ffffu32)),
                    )
                    .append_pair("pf_net", &rng.random_range(0..80u32).to_string())
                    .append_pair("pf_srv", &rng.random_range(10..300u32).to_string());
                if position > 1 {
                    q.append_pair("urlref", &last_url);
                }
            }
            let secs = ts - spec.day_start;
            q.append_pair("h", &(secs / 3600).to_string())
                .append_pair("m", &(secs / 60 % 60).to_string())
                .append_pair("s", &(secs % 60).to_string());
            last_url.clone_from(&url);
            hits.push(Hit {
                ts,
                idsite,
                visit,
                first_of_visit: position == 1,
                position,
                visitor,
                ua,
                lang,
                ip,
                url: url.clone(),
                query: q.finish(),
            });
            ts += rng.random_range(5..180i64);
        }
        if converts {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("idsite", &idsite.to_string())
                .append_pair("rec", "1")
                .append_pair("_id", &hex(&visitor))
                .append_pair("idgoal", "1")
                .append_pair("revenue", &(10 + rng.random_range(0..90u32)).to_string())
                .append_pair("url", &last_url)
                .append_pair("send_image", "0");
            hits.push(Hit {
                ts,
                idsite,
                visit,
                first_of_visit: false,
                position: actions + 1,
                visitor,
                ua,
                lang,
                ip,
                url: last_url.clone(),
                query: q.finish(),
            });
        }
        visit += 1;
    }
    hits.sort_by_key(|h| (h.ts, h.visit, h.position));
    hits
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The query with the parameters a trusted bulk or edge sender adds: the real time (`cdt`, which
/// needs a token when older than a day) and the token itself.
pub fn with_time_and_token(hit: &Hit, token: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(hit.query.clone());
    q.append_pair("cdt", &hit.ts.to_string())
        .append_pair("token_auth", token);
    q.finish()
}

/// The query for a `/matomo.php` bulk element: also the visitor's User-Agent, language and IP,
/// which a bulk sender passes as parameters (one HTTP request carries many visitors).
pub fn for_bulk(hit: &Hit, token: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(with_time_and_token(hit, token));
    q.append_pair("ua", USER_AGENTS[hit.ua])
        .append_pair("lang", LANGUAGES[hit.lang])
        .append_pair(
            "cip",
            &format!("{}.{}.{}.{}", hit.ip[0], hit.ip[1], hit.ip[2], hit.ip[3]),
        );
    q.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 1_712_707_200; // 2024-04-10 00:00:00 UTC

    #[test]
    fn the_same_spec_generates_the_same_hits() {
        let spec = Spec {
            requests: 2_000,
            day_start: DAY,
        };
        assert_eq!(generate(spec), generate(spec));
    }

    #[test]
    fn hits_fall_on_the_day_in_time_order_with_about_five_per_visit() {
        let hits = generate(Spec {
            requests: 10_000,
            day_start: DAY,
        });
        assert!(hits.len() >= 10_000 && hits.len() < 10_100);
        assert!(hits.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(hits.iter().all(|h| h.ts >= DAY && h.ts < DAY + 86_400));
        let visits = hits.iter().filter(|h| h.first_of_visit).count();
        let per_visit = hits.len() as f64 / visits as f64;
        assert!(
            (4.0..6.5).contains(&per_visit),
            "{per_visit} hits per visit"
        );
    }

    #[test]
    fn traffic_covers_every_feature_and_many_sites() {
        let hits = generate(Spec {
            requests: 10_000,
            day_start: DAY,
        });
        let has = |needle: &str| hits.iter().any(|h| h.query.contains(needle));
        for needle in [
            "e_c=",
            "search=",
            "link=",
            "download=",
            "idgoal=1",
            "mtm_campaign",
            "urlref=https%3A%2F%2Fwww.google.com",
        ] {
            assert!(has(needle), "no hit with {needle}");
        }
        let sites: std::collections::BTreeSet<u32> = hits.iter().map(|h| h.idsite).collect();
        assert_eq!(sites.len(), SITES);
        let uas: std::collections::BTreeSet<usize> = hits.iter().map(|h| h.ua).collect();
        assert!(uas.len() >= 4);
    }

    #[test]
    fn bulk_queries_carry_time_token_agent_and_ip() {
        let hits = generate(Spec {
            requests: 10,
            day_start: DAY,
        });
        let q = for_bulk(&hits[0], "tok");
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("cdt"), Some(hits[0].ts.to_string()));
        assert_eq!(get("token_auth").as_deref(), Some("tok"));
        assert_eq!(get("ua").as_deref(), Some(USER_AGENTS[hits[0].ua]));
        assert!(get("cip").is_some_and(|ip| ip.starts_with("10.")));
    }
}
