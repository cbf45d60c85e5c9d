//! The typed, validated view of one tracking request (MATOMO.md 1.3).
//!
//! Matomo reads typed parameters through `Common::getRequestVar` with a default per parameter
//! (`core/Tracker/Request.php::getParam`). A malformed integer or float there silently becomes
//! the parameter's default; this module does the same for those parameters (e.g. `idgoal=abc`
//! means "no goal", `h=99` means hour 0), so we accept exactly what Matomo accepts. PHP's numeric
//! strings are honoured: surrounding whitespace, `1.0` and `1e2` are integers (1 and 100), `1.5`
//! is not an integer (so it falls back to the default).
//!
//! Errors are raised only where Matomo answers 400 (`idsite`, `cid`) or where a value only a
//! server-side client can send (the token-guarded overrides `cip`, `cdt`, `cdo`, geo) is
//! malformed: Matomo silently ignores a bad `cdt`, but such a client is better served by an error
//! that says what to fix. A bad `_id` is silently ignored, as Matomo does
//! (`Request::getVisitorIdAsBinary` returns false and a new id is made).

use std::net::IpAddr;

use sha1::{Digest, Sha1};

use crate::params::Params;

/// Longest `url`, `urlref`, `link`, `download` kept, in characters.
pub const MAX_URL_CHARS: usize = 1024;
/// Longest `action_name` (and event/content/search text) kept, in characters.
pub const MAX_TITLE_CHARS: usize = 1024;
/// Longest custom dimension value kept, in characters
/// (`plugins/CustomDimensions/Tracker/CustomDimensionsRequestProcessor.php`).
pub const MAX_DIMENSION_CHARS: usize = 250;
/// Longest `city` override kept (`log_visit.location_city` is VARCHAR(255)).
pub const MAX_CITY_CHARS: usize = 255;
/// A `cdt` older than this is ignored (`Request::isTimestampValid`: 20 * 365 days).
pub const MAX_CDT_AGE_SECS: i64 = 20 * 365 * 86_400;
/// Matomo's default for `tracking_requests_require_authentication_when_custom_timestamp_newer_than`:
/// a `cdt` at least this old needs a valid `token_auth`.
pub const CDT_WITHOUT_TOKEN_MAX_AGE_SECS: i64 = 86_400;

/// A site id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId(u32);

impl SiteId {
    /// `Some` for a positive id.
    pub fn new(id: u32) -> Option<SiteId> {
        (id > 0).then_some(SiteId(id))
    }

    /// The numeric id.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for SiteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An 8-byte visitor id (`log_visit.idvisitor`), written as 16 hex characters on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitorId(pub [u8; 8]);

impl VisitorId {
    /// Parses exactly 16 hex characters.
    pub fn from_hex(hex_id: &str) -> Option<VisitorId> {
        if hex_id.len() != 16 {
            return None;
        }
        let mut bytes = [0u8; 8];
        hex::decode_to_slice(hex_id, &mut bytes).ok()?;
        Some(VisitorId(bytes))
    }

    /// Matomo's visitor id for a User ID: the first 16 hex chars of `sha1(uid)`
    /// (`Request::getUserIdHashed`, the same as `MatomoTracker::getUserIdHashed`).
    pub fn from_user_id(uid: &str) -> VisitorId {
        let digest = Sha1::digest(uid.as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        VisitorId(bytes)
    }

    /// Lowercase hex, 16 characters.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

/// The visitor's local time (`h`, `m`, `s`). `None` means "not sent": Matomo then uses the
/// server's time for that component. Out-of-range values become 0, as in `Request::getLocalTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocalTime {
    /// Hour 0..=23.
    pub hour: Option<u8>,
    /// Minute 0..=59.
    pub minute: Option<u8>,
    /// Second 0..=59.
    pub second: Option<u8>,
}

/// The browser feature flags, in Matomo's order (`Request::getPlugins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PluginFlags {
    /// `fla` (Flash).
    pub flash: bool,
    /// `java`.
    pub java: bool,
    /// `qt` (QuickTime).
    pub quicktime: bool,
    /// `realp` (RealPlayer).
    pub realplayer: bool,
    /// `pdf`.
    pub pdf: bool,
    /// `wma` (Windows Media).
    pub windows_media: bool,
    /// `ag` (Silverlight).
    pub silverlight: bool,
    /// `cookie` (cookies enabled).
    pub cookie: bool,
}

/// Parameter names of the plugin flags, in Matomo's order.
pub const PLUGIN_FLAG_PARAMS: [&str; 8] =
    ["fla", "java", "qt", "realp", "pdf", "wma", "ag", "cookie"];

impl PluginFlags {
    /// Reads the flags from raw params (a flag is set when its integer value is not 0).
    pub fn from_params(params: &Params) -> PluginFlags {
        let flag = |name: &str| params.get(name).and_then(php_int).is_some_and(|v| v != 0);
        PluginFlags {
            flash: flag("fla"),
            java: flag("java"),
            quicktime: flag("qt"),
            realplayer: flag("realp"),
            pdf: flag("pdf"),
            windows_media: flag("wma"),
            silverlight: flag("ag"),
            cookie: flag("cookie"),
        }
    }

    /// The flags as eight `0`/`1` digits in Matomo's order: the input of
    /// [`crate::fingerprint::fingerprint`].
    pub fn digits(&self) -> String {
        [
            self.flash,
            self.java,
            self.quicktime,
            self.realplayer,
            self.pdf,
            self.windows_media,
            self.silverlight,
            self.cookie,
        ]
        .iter()
        .map(|&on| if on { '1' } else { '0' })
        .collect()
    }
}

/// What kind of action a request records, after Matomo's precedence
/// (`core/Tracker/Action.php::$factoryPriority`): pageview < site search < content < event <
/// outlink < download; the highest kind present wins.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The default.
    Pageview,
    /// `search` (trimmed, non-empty), with `search_cat` and `search_count` (absent or negative
    /// count = unknown; 0 = "no result").
    SiteSearch {
        /// The keyword.
        keyword: String,
        /// `search_cat`.
        category: Option<String>,
        /// `search_count`.
        count: Option<u64>,
    },
    /// `c_n` (trimmed, non-empty): an impression, or an interaction when `c_i` is set.
    Content {
        /// `c_n`.
        name: String,
        /// `c_p`.
        piece: Option<String>,
        /// `c_t`.
        target: Option<String>,
        /// `c_i`.
        interaction: Option<String>,
    },
    /// `e_c` and `e_a` both non-empty after trimming.
    Event {
        /// `e_c`.
        category: String,
        /// `e_a`.
        action: String,
        /// `e_n`.
        name: Option<String>,
        /// `e_v` (a finite number).
        value: Option<f64>,
    },
    /// `link` (non-empty).
    Outlink {
        /// The clicked URL.
        url: String,
    },
    /// `download` (non-empty).
    Download {
        /// The downloaded URL.
        url: String,
    },
    /// `ca=1` and none of the above: a custom action that must never fall back to a pageview.
    NoAction,
}

/// Page performance timings in ms (`pf_*`; -1 or absent = not measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerformanceTimings {
    /// `pf_net`.
    pub network: Option<u64>,
    /// `pf_srv`.
    pub server: Option<u64>,
    /// `pf_tfr`.
    pub transfer: Option<u64>,
    /// `pf_dm1`.
    pub dom_processing: Option<u64>,
    /// `pf_dm2`.
    pub dom_completion: Option<u64>,
    /// `pf_onl`.
    pub on_load: Option<u64>,
}

/// Goal and ecommerce parameters, kept close to raw: the origin applies the goal rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ecommerce {
    /// `idgoal` (0 = ecommerce order/cart; Matomo's default -1 = none is `None`).
    pub idgoal: Option<i64>,
    /// `revenue`.
    pub revenue: Option<f64>,
    /// `ec_id` (order id).
    pub order_id: Option<String>,
    /// `ec_items`, the raw JSON array.
    pub items: Option<String>,
    /// `ec_st`.
    pub subtotal: Option<f64>,
    /// `ec_tx`.
    pub tax: Option<f64>,
    /// `ec_sh`.
    pub shipping: Option<f64>,
    /// `ec_dt`.
    pub discount: Option<f64>,
    /// `_pks` (product page SKU).
    pub product_sku: Option<String>,
    /// `_pkn`.
    pub product_name: Option<String>,
    /// `_pkc` (a string or a JSON array of up to 5 categories).
    pub product_category: Option<String>,
    /// `_pkp`.
    pub product_price: Option<f64>,
}

/// Conversion attribution from the JS tracker's cookies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribution {
    /// `_rcn` campaign name.
    pub campaign_name: Option<String>,
    /// `_rck` campaign keyword.
    pub campaign_keyword: Option<String>,
    /// `_ref` referrer URL.
    pub referrer_url: Option<String>,
    /// `_refts` referrer timestamp (0 = none).
    pub referrer_ts: Option<i64>,
}

/// The overrides only an authenticated client may send (`core/Tracker/Visit.php::$fieldsThatRequireAuth`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    /// `cip`.
    pub ip: Option<IpAddr>,
    /// `cdt` resolved to UNIX seconds (fractions truncated as PHP's `(int)` does).
    pub cdt: Option<i64>,
    /// `cdo`, seconds subtracted from `cdt` or from now (its absolute value, as Matomo uses).
    pub cdo: Option<i64>,
    /// `country`, lowercase ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// `region`, the ISO 3166-2 sub-code (1..=3 letters/digits, upper-cased).
    pub region: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `lat`, -90..=90.
    pub latitude: Option<f64>,
    /// `long`, -180..=180.
    pub longitude: Option<f64>,
}

/// One validated tracking request.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingRequest {
    /// `idsite`.
    pub site_id: SiteId,
    /// `rec=1`; otherwise Matomo silently excludes the request.
    pub rec: bool,
    /// `url`, cut to [`MAX_URL_CHARS`].
    pub url: Option<String>,
    /// `action_name`, cut to [`MAX_TITLE_CHARS`].
    pub action_name: Option<String>,
    /// `urlref`, cut to [`MAX_URL_CHARS`].
    pub urlref: Option<String>,
    /// `_id`: the first 16 characters when at least 16 hex characters were sent.
    pub visitor_id: Option<VisitorId>,
    /// `cid`: the forced visitor id.
    pub forced_visitor_id: Option<VisitorId>,
    /// `uid` (non-empty).
    pub user_id: Option<String>,
    /// `new_visit=1`.
    pub new_visit: bool,
    /// `res` (`WxH`), as sent.
    pub resolution: Option<String>,
    /// `h`, `m`, `s`.
    pub local_time: LocalTime,
    /// `fla` ... `cookie`.
    pub plugins: PluginFlags,
    /// `ua` (overrides the User-Agent header).
    pub user_agent: Option<String>,
    /// `lang` (overrides Accept-Language).
    pub lang: Option<String>,
    /// `uadata`, raw client-hints JSON.
    pub uadata: Option<String>,
    /// `cs`, the page charset when not UTF-8.
    pub charset: Option<String>,
    /// The action kind, after precedence.
    pub action: Action,
    /// `ping=1`: heartbeat only.
    pub ping: bool,
    /// `ca=1`: custom action.
    pub custom_action: bool,
    /// `pv_id`, first 6 characters.
    pub pageview_id: Option<String>,
    /// `pf_*` (`gt_ms` is accepted and ignored: Matomo 4 replaced it with `pf_srv`).
    pub performance: PerformanceTimings,
    /// `bots=1`: do not exclude bots.
    pub bots: bool,
    /// `dp=1`: no language-based location guess.
    pub disable_provider: bool,
    /// Goals and ecommerce.
    pub ecommerce: Ecommerce,
    /// `dimensionN`: (N, trimmed value cut to [`MAX_DIMENSION_CHARS`]), in request order.
    pub dimensions: Vec<(u32, String)>,
    /// `_cvar`, raw JSON (visit scope custom variables).
    pub visit_custom_variables: Option<String>,
    /// `cvar`, raw JSON (page scope custom variables).
    pub page_custom_variables: Option<String>,
    /// `_rcn`, `_rck`, `_ref`, `_refts`.
    pub attribution: Attribution,
    /// `token_auth` (non-empty).
    pub token_auth: Option<String>,
    /// `send_image`: false only for exactly `0`.
    pub send_image: bool,
    /// `cip`, `cdt`, `cdo`, `country`, `region`, `city`, `lat`, `long`.
    pub overrides: Overrides,
}

/// Why a tracking request is rejected (Matomo answers these with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No `idsite`.
    #[error("missing idsite: add idsite=<your site id> to the tracking request")]
    MissingSiteId,
    /// `idsite` not a positive integer.
    #[error("invalid idsite '{0}': idsite must be a positive integer site id")]
    InvalidSiteId(String),
    /// `cid` not 16 hex characters.
    #[error("invalid visitor id {param}='{value}': it must be exactly 16 hexadecimal characters")]
    InvalidVisitorId {
        /// The parameter name.
        param: &'static str,
        /// The value sent.
        value: String,
    },
    /// A number that must be an integer is not.
    #[error("invalid {param}='{value}': it must be an integer")]
    InvalidNumber {
        /// The parameter name.
        param: &'static str,
        /// The value sent.
        value: String,
    },
    /// `cdt` neither a UNIX timestamp nor `YYYY-MM-DD HH:MM:SS`.
    #[error("invalid cdt '{0}': send a UNIX timestamp in seconds or a UTC datetime 'YYYY-MM-DD HH:MM:SS'")]
    InvalidCdt(String),
    /// `cip` not an IP address.
    #[error("invalid cip '{0}': it must be an IPv4 or IPv6 address")]
    InvalidIp(String),
    /// `country` not two letters.
    #[error("invalid country '{0}': it must be a two-letter ISO 3166-1 code such as 'fr'")]
    InvalidCountry(String),
    /// `region` not an ISO 3166-2 sub-code.
    #[error("invalid region '{0}': it must be the ISO 3166-2 subdivision code without the country, 1 to 3 letters or digits")]
    InvalidRegion(String),
    /// `lat`/`long` not a number in range.
    #[error("invalid {param}='{value}': it must be a number of degrees, latitude within -90..90 and longitude within -180..180")]
    InvalidCoordinate {
        /// `lat` or `long`.
        param: &'static str,
        /// The value sent.
        value: String,
    },
}

impl TrackingRequest {
    /// Validates raw params.
    pub fn from_params(params: &Params) -> Result<TrackingRequest, RequestError> {
        let text = |name: &str| non_empty(params.get(name)).map(str::to_owned);
        let trimmed = |name: &str, max: usize| {
            params
                .get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| cut_chars(v, max))
        };
        let url = |name: &str| non_empty(params.get(name)).map(|v| cut_chars(v, MAX_URL_CHARS));
        let int = |name: &str| params.get(name).and_then(php_int);
        let float = |name: &str| params.get(name).and_then(php_float);
        let flag = |name: &str| int(name).is_some_and(|v| v != 0);

        let site_id = parse_site_id(params.get("idsite"))?;

        let forced_visitor_id =
            match non_empty(params.get("cid")) {
                None => None,
                Some(cid) => Some(VisitorId::from_hex(cid).ok_or_else(|| {
                    RequestError::InvalidVisitorId {
                        param: "cid",
                        value: cid.to_owned(),
                    }
                })?),
            };
        let visitor_id = params
            .get("_id")
            .and_then(|id| id.get(..16))
            .and_then(VisitorId::from_hex);

        let time_part = |name: &str, max: i64| {
            int(name).map(|v| if (0..=max).contains(&v) { v as u8 } else { 0 })
        };
        let timing = |name: &str| int(name).and_then(|v| u64::try_from(v).ok());

        let action = parse_action(params, flag("ca"));

        Ok(TrackingRequest {
            site_id,
            rec: int("rec") == Some(1),
            url: url("url"),
            action_name: non_empty(params.get("action_name"))
                .map(|v| cut_chars(v, MAX_TITLE_CHARS)),
            urlref: url("urlref"),
            visitor_id,
            forced_visitor_id,
            user_id: text("uid"),
            new_visit: int("new_visit") == Some(1),
            resolution: text("res"),
            local_time: LocalTime {
                hour: time_part("h", 23),
                minute: time_part("m", 59),
                second: time_part("s", 59),
            },
            plugins: PluginFlags::from_params(params),
            user_agent: text("ua"),
            lang: text("lang"),
            uadata: text("uadata"),
            charset: text("cs"),
            action,
            ping: int("ping") == Some(1),
            custom_action: flag("ca"),
            pageview_id: non_empty(params.get("pv_id")).map(|v| cut_chars(v, 6)),
            performance: PerformanceTimings {
                network: timing("pf_net"),
                server: timing("pf_srv"),
                transfer: timing("pf_tfr"),
                dom_processing: timing("pf_dm1"),
                dom_completion: timing("pf_dm2"),
                on_load: timing("pf_onl"),
            },
            bots: flag("bots"),
            disable_provider: flag("dp"),
            ecommerce: Ecommerce {
                idgoal: int("idgoal").filter(|&g| g >= 0),
                revenue: float("revenue"),
                order_id: text("ec_id"),
                items: text("ec_items"),
                subtotal: float("ec_st"),
                tax: float("ec_tx"),
                shipping: float("ec_sh"),
                discount: float("ec_dt"),
                product_sku: text("_pks"),
                product_name: text("_pkn"),
                product_category: text("_pkc"),
                product_price: float("_pkp"),
            },
            dimensions: parse_dimensions(params),
            visit_custom_variables: text("_cvar"),
            page_custom_variables: text("cvar"),
            attribution: Attribution {
                campaign_name: text("_rcn"),
                campaign_keyword: text("_rck"),
                referrer_url: url("_ref"),
                referrer_ts: int("_refts").filter(|&t| t > 0),
            },
            token_auth: text("token_auth"),
            send_image: params.get("send_image") != Some("0"),
            overrides: parse_overrides(&trimmed)?,
        })
    }

    /// True when any token-guarded override (`cip`, `cdt`/`cdo`, `country`, `region`, `city`,
    /// `lat`, `long`) is present. This is presence only: Matomo lets a `cdt` younger than 24 h
    /// through without a token, so the decision to demand one is [`Self::requires_token_at`].
    pub fn needs_token(&self) -> bool {
        let o = &self.overrides;
        o.ip.is_some()
            || o.cdt.is_some()
            || o.cdo.is_some()
            || o.country.is_some()
            || o.region.is_some()
            || o.city.is_some()
            || o.latitude.is_some()
            || o.longitude.is_some()
    }

    /// Whether Matomo would demand a valid `token_auth` at `now_unix`: any IP or geo override,
    /// or a custom time at least `cdt_max_age_secs` old (Matomo's default is
    /// [`CDT_WITHOUT_TOKEN_MAX_AGE_SECS`]; `Request::getCustomTimestamp`).
    pub fn requires_token_at(&self, now_unix: i64, cdt_max_age_secs: i64) -> bool {
        let o = &self.overrides;
        o.ip.is_some()
            || o.country.is_some()
            || o.region.is_some()
            || o.city.is_some()
            || o.latitude.is_some()
            || o.longitude.is_some()
            || self
                .cdt_age(now_unix)
                .is_some_and(|age| age >= cdt_max_age_secs)
    }

    /// The request time: `cdt` (or now when only `cdo` is sent) minus `|cdo|`; a result in the
    /// future or more than 20 years old is ignored and `now_unix` is used
    /// (`Request::getCustomTimestamp`, `isTimestampValid`).
    pub fn resolve_time(&self, now_unix: i64) -> i64 {
        self.custom_time(now_unix).unwrap_or(now_unix)
    }

    /// How old the custom time is, when one applies (for the 24 h token rule); `None` without a
    /// valid `cdt`/`cdo`.
    pub fn cdt_age(&self, now_unix: i64) -> Option<i64> {
        self.custom_time(now_unix)
            .map(|t| now_unix.saturating_sub(t))
    }

    fn custom_time(&self, now_unix: i64) -> Option<i64> {
        let o = &self.overrides;
        let base = match (o.cdt, o.cdo) {
            (None, None) => return None,
            (Some(cdt), _) => cdt,
            (None, Some(_)) => now_unix,
        };
        let time = base.saturating_sub(o.cdo.unwrap_or(0).saturating_abs());
        (time <= now_unix && time > now_unix.saturating_sub(MAX_CDT_AGE_SECS)).then_some(time)
    }
}

fn parse_site_id(raw: Option<&str>) -> Result<SiteId, RequestError> {
    let raw = non_empty(raw.map(str::trim)).ok_or(RequestError::MissingSiteId)?;
    php_int(raw)
        .and_then(|id| u32::try_from(id).ok())
        .and_then(SiteId::new)
        .ok_or_else(|| RequestError::InvalidSiteId(raw.to_owned()))
}

fn parse_action(params: &Params, custom_action: bool) -> Action {
    let trimmed = |name: &str| {
        params
            .get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| cut_chars(v, MAX_TITLE_CHARS))
    };
    if let Some(url) = non_empty(params.get("download")) {
        return Action::Download {
            url: cut_chars(url, MAX_URL_CHARS),
        };
    }
    if let Some(url) = non_empty(params.get("link")) {
        return Action::Outlink {
            url: cut_chars(url, MAX_URL_CHARS),
        };
    }
    if let (Some(category), Some(action)) = (trimmed("e_c"), trimmed("e_a")) {
        return Action::Event {
            category,
            action,
            name: trimmed("e_n"),
            value: params.get("e_v").and_then(php_float),
        };
    }
    if let Some(name) = trimmed("c_n") {
        return Action::Content {
            name,
            piece: trimmed("c_p"),
            target: trimmed("c_t"),
            interaction: trimmed("c_i"),
        };
    }
    if let Some(keyword) = trimmed("search") {
        return Action::SiteSearch {
            keyword,
            category: trimmed("search_cat"),
            count: params
                .get("search_count")
                .and_then(php_int)
                .and_then(|c| u64::try_from(c).ok()),
        };
    }
    if custom_action {
        Action::NoAction
    } else {
        Action::Pageview
    }
}

fn parse_dimensions(params: &Params) -> Vec<(u32, String)> {
    params
        .iter()
        .filter_map(|(name, value)| {
            let digits = name.strip_prefix("dimension")?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let id = digits.parse::<u32>().ok().filter(|&id| id > 0)?;
            Some((id, cut_chars(value.trim(), MAX_DIMENSION_CHARS)))
        })
        .collect()
}

fn parse_overrides(
    trimmed: &dyn Fn(&str, usize) -> Option<String>,
) -> Result<Overrides, RequestError> {
    let ip = match trimmed("cip", 64) {
        None => None,
        Some(cip) => Some(
            cip.parse::<IpAddr>()
                .map_err(|_| RequestError::InvalidIp(cip.clone()))?,
        ),
    };
    // `empty($cdt)` in PHP: "" and "0" mean "no cdt".
    let cdt = match trimmed("cdt", 64).filter(|v| v != "0") {
        None => None,
        Some(cdt) => Some(parse_cdt(&cdt).ok_or(RequestError::InvalidCdt(cdt))?),
    };
    let cdo = match trimmed("cdo", 64) {
        None => None,
        Some(cdo) => Some(php_int(&cdo).ok_or(RequestError::InvalidNumber {
            param: "cdo",
            value: cdo,
        })?),
    }
    .filter(|&cdo| cdo != 0);
    let country = match trimmed("country", 64) {
        None => None,
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_lowercase())
        }
        Some(c) => return Err(RequestError::InvalidCountry(c)),
    };
    let region = match trimmed("region", 64) {
        None => None,
        Some(r) if (1..=3).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Some(r.to_ascii_uppercase())
        }
        Some(r) => return Err(RequestError::InvalidRegion(r)),
    };
    let coordinate = |param: &'static str, limit: f64| match trimmed(param, 64) {
        None => Ok(None),
        Some(v) => php_float(&v)
            .filter(|x| (-limit..=limit).contains(x))
            .map(Some)
            .ok_or(RequestError::InvalidCoordinate { param, value: v }),
    };
    Ok(Overrides {
        ip,
        cdt,
        cdo,
        country,
        region,
        city: trimmed("city", MAX_CITY_CHARS),
        latitude: coordinate("lat", 90.0)?,
        longitude: coordinate("long", 180.0)?,
    })
}

/// `cdt`: a UNIX timestamp (fractions truncated) or a UTC datetime `YYYY-MM-DD HH:MM:SS`
/// (also accepted: a `T` separator, and a bare date meaning midnight, which PHP's `strtotime`
/// reads the same way under Matomo's UTC default timezone).
fn parse_cdt(raw: &str) -> Option<i64> {
    use time::macros::format_description;
    if let Some(seconds) = php_float(raw) {
        // Beyond i64 seconds nothing is meaningful; such values are future and get ignored.
        return Some(if seconds.abs() < 9.0e15 {
            seconds.trunc() as i64
        } else {
            i64::MAX
        });
    }
    let space = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let tee = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let date = format_description!("[year]-[month]-[day]");
    let raw = raw.strip_suffix('Z').unwrap_or(raw);
    time::PrimitiveDateTime::parse(raw, space)
        .or_else(|_| time::PrimitiveDateTime::parse(raw, tee))
        .or_else(|_| time::Date::parse(raw, date).map(|d| d.midnight()))
        .ok()
        .map(|dt| dt.assume_utc().unix_timestamp())
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// `value` cut to at most `max` characters (never inside a UTF-8 sequence).
pub fn cut_chars(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((at, _)) => value[..at].to_owned(),
        None => value.to_owned(),
    }
}

/// PHP's float reading for a numeric string: surrounding whitespace allowed, a finite decimal
/// with optional exponent. `inf`, `NaN` and hex are not numeric strings in PHP.
pub fn php_float(raw: &str) -> Option<f64> {
    let s = raw.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C'));
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        || !s.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// PHP's `getRequestVar(..., 'int')` acceptance test `$value == (string)(int)$value`: a numeric
/// string whose value is a whole number that fits.
pub fn php_int(raw: &str) -> Option<i64> {
    let s = raw.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C'));
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let v = php_float(s)?;
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    (v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v))
        .then_some(v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn req(query: &str) -> Result<TrackingRequest, RequestError> {
        TrackingRequest::from_params(&Params::from_query(query))
    }

    fn ok(query: &str) -> TrackingRequest {
        match req(query) {
            Ok(r) => r,
            Err(e) => panic!("{query}: {e}"),
        }
    }

    #[test]
    fn a_typical_pageview_is_read() {
        let r = ok("idsite=3&rec=1&action_name=Home&url=https%3A%2F%2Fa.b%2F&urlref=https%3A%2F%2Fg.com%2F&_id=0123456789abcdef&res=1920x1080&h=13&m=5&s=59&fla=0&pdf=1&cookie=1&pv_id=AbCdEf123&send_image=0&uadata=%7B%7D&lang=fr");
        assert_eq!(r.site_id.get(), 3);
        assert!(r.rec);
        assert_eq!(r.url.as_deref(), Some("https://a.b/"));
        assert_eq!(r.action_name.as_deref(), Some("Home"));
        assert_eq!(r.urlref.as_deref(), Some("https://g.com/"));
        assert_eq!(
            r.visitor_id.map(VisitorId::to_hex).as_deref(),
            Some("0123456789abcdef")
        );
        assert_eq!(r.resolution.as_deref(), Some("1920x1080"));
        assert_eq!(
            r.local_time,
            LocalTime {
                hour: Some(13),
                minute: Some(5),
                second: Some(59)
            }
        );
        assert_eq!(r.plugins.digits(), "00001001");
        assert_eq!(r.pageview_id.as_deref(), Some("AbCdEf"));
        assert!(!r.send_image);
        assert_eq!(r.action, Action::Pageview);
        assert_eq!(r.lang.as_deref(), Some("fr"));
        assert!(!r.needs_token());
    }

    #[test]
    fn a_missing_or_empty_idsite_is_rejected() {
        assert_eq!(req("rec=1"), Err(RequestError::MissingSiteId));
        assert_eq!(req("idsite=&rec=1"), Err(RequestError::MissingSiteId));
    }

    #[test]
    fn an_idsite_that_is_not_a_positive_integer_is_rejected() {
        for bad in ["0", "-1", "abc", "1.5", "99999999999"] {
            assert_eq!(
                req(&format!("idsite={bad}")),
                Err(RequestError::InvalidSiteId(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(ok("idsite=+7").site_id.get(), 7, "PHP reads +7 as 7");
        assert_eq!(
            ok("idsite=%207%20").site_id.get(),
            7,
            "surrounding spaces are allowed"
        );
    }

    #[test]
    fn a_visitor_id_longer_than_16_uses_its_first_16_hex_chars() {
        let r = ok("idsite=1&_id=0123456789ABCDEFxyz");
        assert_eq!(
            r.visitor_id,
            Some(VisitorId([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]))
        );
    }

    #[test]
    fn a_short_or_non_hex_id_is_ignored_like_matomo() {
        assert_eq!(ok("idsite=1&_id=0123").visitor_id, None);
        assert_eq!(ok("idsite=1&_id=zz23456789abcdef").visitor_id, None);
    }

    #[test]
    fn a_cid_that_is_not_16_hex_chars_is_rejected() {
        for bad in ["0123", "0123456789abcdef0", "zz23456789abcdef"] {
            assert_eq!(
                req(&format!("idsite=1&cid={bad}")),
                Err(RequestError::InvalidVisitorId {
                    param: "cid",
                    value: bad.to_owned()
                })
            );
        }
        assert!(ok("idsite=1&cid=0123456789abcdef")
            .forced_visitor_id
            .is_some());
        assert_eq!(ok("idsite=1&cid=").forced_visitor_id, None);
    }

    #[test]
    fn a_user_id_maps_to_the_sha1_prefix_like_matomo() {
        // sha1("user@example.com") = 63a710569261a24b3766275b7000ce8d7b32e2f7
        assert_eq!(
            VisitorId::from_user_id("user@example.com").to_hex(),
            "63a710569261a24b"
        );
    }

    #[test]
    fn urls_and_titles_are_cut_at_1024_chars_on_a_char_boundary() {
        let long = "é".repeat(1500);
        let r = ok(&format!(
            "idsite=1&url={long}&action_name={long}&urlref={long}"
        ));
        for value in [r.url, r.action_name, r.urlref] {
            let value = value.expect("present");
            assert_eq!(value.chars().count(), MAX_URL_CHARS);
            assert!(value.chars().all(|c| c == 'é'));
        }
    }

    #[test]
    fn custom_dimensions_are_trimmed_and_cut_to_250_chars() {
        let r = ok(&format!(
            "idsite=1&dimension1=+a+&dimension12={}&dimension0=x&dimensionx=y&dimension=z",
            "ü".repeat(300)
        ));
        assert_eq!(r.dimensions.len(), 2);
        assert_eq!(r.dimensions[0], (1, "a".to_owned()));
        assert_eq!(r.dimensions[1].0, 12);
        assert_eq!(r.dimensions[1].1.chars().count(), MAX_DIMENSION_CHARS);
    }

    #[test]
    fn local_time_out_of_range_becomes_zero() {
        let r = ok("idsite=1&h=24&m=-1&s=60");
        assert_eq!(
            r.local_time,
            LocalTime {
                hour: Some(0),
                minute: Some(0),
                second: Some(0)
            }
        );
        assert_eq!(ok("idsite=1").local_time, LocalTime::default());
    }

    #[test]
    fn malformed_numbers_fall_back_to_matomos_defaults() {
        let r = ok("idsite=1&rec=yes&idgoal=abc&revenue=12abc&pf_net=-1&pf_srv=1e2&ping=1.0&search=q&search_count=x");
        assert!(!r.rec);
        assert_eq!(r.ecommerce.idgoal, None);
        assert_eq!(r.ecommerce.revenue, None);
        assert_eq!(r.performance.network, None);
        assert_eq!(r.performance.server, Some(100));
        assert!(r.ping);
        assert_eq!(
            r.action,
            Action::SiteSearch {
                keyword: "q".to_owned(),
                category: None,
                count: None
            }
        );
        assert_eq!(
            ok("idsite=1&revenue=NaN&e_c=a&e_a=b&e_v=inf")
                .ecommerce
                .revenue,
            None
        );
    }

    #[test]
    fn the_action_kind_follows_matomos_precedence() {
        let all = "idsite=1&search=kw&c_n=banner&e_c=cat&e_a=act&link=https%3A%2F%2Fout&download=https%3A%2F%2Ffile";
        assert!(matches!(ok(all).action, Action::Download { .. }));
        assert!(matches!(
            ok(&all.replace("&download=", "&x=")).action,
            Action::Outlink { .. }
        ));
        let no_links = "idsite=1&search=kw&c_n=banner&e_c=cat&e_a=act";
        assert_eq!(
            ok(no_links).action,
            Action::Event {
                category: "cat".to_owned(),
                action: "act".to_owned(),
                name: None,
                value: None
            }
        );
        assert!(matches!(
            ok("idsite=1&search=kw&c_n=banner").action,
            Action::Content { .. }
        ));
        assert!(matches!(
            ok("idsite=1&search=kw").action,
            Action::SiteSearch { .. }
        ));
        assert_eq!(ok("idsite=1").action, Action::Pageview);
    }

    #[test]
    fn an_event_needs_a_non_blank_category_and_action() {
        assert_eq!(ok("idsite=1&e_c=+&e_a=act").action, Action::Pageview);
        assert_eq!(ok("idsite=1&e_c=cat").action, Action::Pageview);
        assert_eq!(
            ok("idsite=1&e_c=+cat+&e_a=act&e_n=n&e_v=2.5").action,
            Action::Event {
                category: "cat".to_owned(),
                action: "act".to_owned(),
                name: Some("n".to_owned()),
                value: Some(2.5)
            }
        );
    }

    #[test]
    fn content_with_an_interaction_keeps_all_parts() {
        assert_eq!(
            ok("idsite=1&c_n=Ad&c_p=img.png&c_t=https%3A%2F%2Ft&c_i=click").action,
            Action::Content {
                name: "Ad".to_owned(),
                piece: Some("img.png".to_owned()),
                target: Some("https://t".to_owned()),
                interaction: Some("click".to_owned()),
            }
        );
    }

    #[test]
    fn a_custom_action_never_falls_back_to_a_pageview() {
        assert_eq!(ok("idsite=1&ca=1").action, Action::NoAction);
        assert!(matches!(
            ok("idsite=1&ca=1&e_c=a&e_a=b").action,
            Action::Event { .. }
        ));
    }

    #[test]
    fn send_image_is_false_only_for_exactly_zero() {
        assert!(!ok("idsite=1&send_image=0").send_image);
        assert!(ok("idsite=1&send_image=00").send_image);
        assert!(ok("idsite=1&send_image=").send_image);
        assert!(ok("idsite=1").send_image);
    }

    #[test]
    fn a_unix_cdt_with_a_fraction_is_truncated() {
        let r = ok("idsite=1&cdt=1699990000.75");
        assert_eq!(r.overrides.cdt, Some(1_699_990_000));
        assert_eq!(r.resolve_time(NOW), 1_699_990_000);
        assert_eq!(r.cdt_age(NOW), Some(10_000));
        assert!(r.needs_token());
        assert!(!r.requires_token_at(NOW, CDT_WITHOUT_TOKEN_MAX_AGE_SECS));
    }

    #[test]
    fn a_datetime_cdt_is_read_as_utc() {
        // 2023-11-14 22:13:20 UTC = 1_700_000_000
        assert_eq!(
            ok("idsite=1&cdt=2023-11-14+22%3A13%3A20").overrides.cdt,
            Some(NOW)
        );
        assert_eq!(
            ok("idsite=1&cdt=2023-11-14T22%3A13%3A20Z").overrides.cdt,
            Some(NOW)
        );
        assert_eq!(
            ok("idsite=1&cdt=2023-11-14").overrides.cdt,
            Some(NOW - 80_000)
        );
    }

    #[test]
    fn a_cdt_older_than_a_day_requires_a_token() {
        let r = ok(&format!("idsite=1&cdt={}", NOW - 86_400));
        assert!(r.requires_token_at(NOW, CDT_WITHOUT_TOKEN_MAX_AGE_SECS));
    }

    #[test]
    fn a_future_or_ancient_cdt_is_ignored() {
        let future = ok(&format!("idsite=1&cdt={}", NOW + 10));
        assert_eq!(future.resolve_time(NOW), NOW);
        assert_eq!(future.cdt_age(NOW), None);
        assert!(!future.requires_token_at(NOW, CDT_WITHOUT_TOKEN_MAX_AGE_SECS));
        let ancient = ok(&format!("idsite=1&cdt={}", NOW - MAX_CDT_AGE_SECS));
        assert_eq!(ancient.resolve_time(NOW), NOW);
        assert_eq!(ok("idsite=1&cdt=1e300").resolve_time(NOW), NOW);
    }

    #[test]
    fn cdo_is_subtracted_from_cdt_or_from_now() {
        assert_eq!(
            ok(&format!("idsite=1&cdt={NOW}&cdo=60")).resolve_time(NOW),
            NOW - 60
        );
        assert_eq!(
            ok("idsite=1&cdo=-30").resolve_time(NOW),
            NOW - 30,
            "Matomo uses abs(cdo)"
        );
        assert_eq!(
            ok("idsite=1&cdt=0").overrides.cdt,
            None,
            "cdt=0 is PHP-empty"
        );
    }

    #[test]
    fn an_unreadable_cdt_is_rejected() {
        for bad in ["yesterday", "2023-13-01 00:00:00", "2023-02-30"] {
            assert_eq!(
                req(&format!("idsite=1&cdt={bad}")),
                Err(RequestError::InvalidCdt(bad.to_owned()))
            );
        }
    }

    #[test]
    fn a_non_integer_cdo_is_rejected() {
        assert_eq!(
            req("idsite=1&cdo=soon"),
            Err(RequestError::InvalidNumber {
                param: "cdo",
                value: "soon".to_owned()
            })
        );
    }

    #[test]
    fn an_invalid_cip_is_rejected() {
        assert_eq!(
            req("idsite=1&cip=1.2.3"),
            Err(RequestError::InvalidIp("1.2.3".to_owned()))
        );
        let r = ok("idsite=1&cip=2001%3Adb8%3A%3A1");
        assert_eq!(r.overrides.ip, "2001:db8::1".parse().ok());
        assert!(r.needs_token());
        assert!(r.requires_token_at(NOW, CDT_WITHOUT_TOKEN_MAX_AGE_SECS));
    }

    #[test]
    fn geo_overrides_are_normalised() {
        let r = ok("idsite=1&country=FR&region=idf&city=Paris&lat=48.85&long=2.35");
        let o = &r.overrides;
        assert_eq!(o.country.as_deref(), Some("fr"));
        assert_eq!(o.region.as_deref(), Some("IDF"));
        assert_eq!(o.city.as_deref(), Some("Paris"));
        assert_eq!((o.latitude, o.longitude), (Some(48.85), Some(2.35)));
        assert!(r.needs_token());
    }

    #[test]
    fn an_invalid_country_is_rejected() {
        assert_eq!(
            req("idsite=1&country=fra"),
            Err(RequestError::InvalidCountry("fra".to_owned()))
        );
    }

    #[test]
    fn an_invalid_region_is_rejected() {
        assert_eq!(
            req("idsite=1&region=FR-IDF"),
            Err(RequestError::InvalidRegion("FR-IDF".to_owned()))
        );
    }

    #[test]
    fn an_out_of_range_or_non_numeric_coordinate_is_rejected() {
        assert_eq!(
            req("idsite=1&lat=91"),
            Err(RequestError::InvalidCoordinate {
                param: "lat",
                value: "91".to_owned()
            })
        );
        assert_eq!(
            req("idsite=1&long=east"),
            Err(RequestError::InvalidCoordinate {
                param: "long",
                value: "east".to_owned()
            })
        );
    }

    #[test]
    fn ecommerce_and_attribution_fields_are_kept() {
        let r = ok("idsite=1&idgoal=0&revenue=12.5&ec_id=A1&ec_items=%5B%5D&ec_st=10&ec_tx=1&ec_sh=2&ec_dt=0.5&_pks=S&_pkn=N&_pkc=C&_pkp=9.99&_rcn=spring&_rck=kw&_ref=https%3A%2F%2Fr&_refts=1699999000&token_auth=t&uid=u1&new_visit=1&bots=1&dp=1&gt_ms=50&_cvar=%7B%7D");
        let e = &r.ecommerce;
        assert_eq!(
            (e.idgoal, e.revenue, e.order_id.as_deref()),
            (Some(0), Some(12.5), Some("A1"))
        );
        assert_eq!(
            (e.subtotal, e.tax, e.shipping, e.discount),
            (Some(10.0), Some(1.0), Some(2.0), Some(0.5))
        );
        assert_eq!(
            (e.product_sku.as_deref(), e.product_price),
            (Some("S"), Some(9.99))
        );
        assert_eq!(r.attribution.campaign_name.as_deref(), Some("spring"));
        assert_eq!(r.attribution.referrer_ts, Some(1_699_999_000));
        assert_eq!(r.token_auth.as_deref(), Some("t"));
        assert_eq!(r.user_id.as_deref(), Some("u1"));
        assert!(r.new_visit && r.bots && r.disable_provider);
        assert_eq!(r.visit_custom_variables.as_deref(), Some("{}"));
    }

    #[test]
    fn cutting_never_splits_a_character() {
        assert_eq!(cut_chars("aé😀b", 3), "aé😀");
        assert_eq!(cut_chars("ab", 5), "ab");
        assert_eq!(cut_chars("", 0), "");
    }

    #[test]
    fn php_numeric_strings_are_read_like_php() {
        assert_eq!(php_int(" 12 "), Some(12));
        assert_eq!(php_int("1e2"), Some(100));
        assert_eq!(php_int("1.0"), Some(1));
        assert_eq!(php_int("1.5"), None);
        assert_eq!(php_int("12abc"), None);
        assert_eq!(php_int("0x1A"), None);
        assert_eq!(php_float("-1.5e1"), Some(-15.0));
        assert_eq!(php_float("."), None);
        assert_eq!(php_float("e"), None);
    }
}
