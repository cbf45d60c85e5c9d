//! Configuration: defaults, then an optional TOML file (`--config`), then `EDGEMETER_*` environment
//! variables, then command-line flags. Loaded once and validated before anything starts.
//!
//! The loader takes the environment as an iterator of pairs so tests never touch the process
//! environment. Every key is documented in `config.example.toml` at the repository root.

use std::{net::SocketAddr, path::Path};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Everything the origin can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (the default, under `./data/`) or `postgres://...`.
    pub database_url: String,
    /// Key shared with the edge (its `INGEST_SECRET`) to verify signed batches on `/ingest`.
    /// Without it `/ingest` answers 503: the origin then only takes direct tracking requests.
    pub ingest_secret: Option<String>,
    /// How far a batch's signature timestamp may be from the origin's clock, in seconds.
    pub ingest_window_secs: i64,
    /// Key for the visitor fingerprint of direct (non-edge) requests; the edge has its own
    /// `FINGERPRINT_KEY`. Without it a random key is drawn at start, so fingerprints of direct
    /// requests do not survive a restart.
    pub fingerprint_key: Option<String>,
    /// Largest accepted request body on the tracking endpoints and `/ingest`, in bytes.
    pub max_body_bytes: usize,
    /// Number of bytes of the visitor IP zeroed before storage (Matomo's `ipAddressMaskLength`).
    pub ip_anonymisation_bytes: u8,
    /// Connection limits and timeouts of the HTTP server.
    pub http: HttpConfig,
    /// Blocking of IPs that keep sending wrong tokens (Matomo's brute-force detection).
    pub brute_force: BruteForceConfig,
    /// Matomo's `[Tracker]` settings that change how visits are built.
    pub tracker: TrackerConfig,
    /// When and how reports are archived.
    pub archiving: ArchivingConfig,
    /// The web pages' password login.
    pub web: WebConfig,
}

/// Login sessions of the web pages (`crate::web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Seconds a session lasts after login, whatever its use: Matomo's `login_cookie_expire`
    /// (`config/global.ini.php`, 1209600 = 14 days).
    pub session_lifetime_secs: i64,
    /// Seconds without a request after which a session ends (Edgemeter's own limit).
    pub session_idle_secs: i64,
    /// Always mark the session cookie `Secure` (set it when a proxy not listed in
    /// `trusted_proxies` terminates https).
    pub secure_cookie: bool,
    /// Peers whose `X-Forwarded-Proto: https` makes the session cookie `Secure`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_lifetime_secs: 1_209_600,
            session_idle_secs: 86_400,
            secure_cookie: false,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The HTTP server's defences against connections that hold a descriptor without sending a
/// request (see `http::serve` for the exact rules).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds a connection may take to send a complete request head, counted from when it starts
    /// waiting for one (Apache's `mod_reqtimeout` allows 20 to 40 s for the headers).
    pub header_read_timeout_secs: u64,
    /// Seconds without a byte in or out after which a connection is closed (once its request in
    /// flight, if any, is answered).
    pub idle_timeout_secs: u64,
    /// Open connections at most; more are closed as soon as they are accepted. Keep it below the
    /// descriptor limit (`ulimit -n`, often 1024), leaving room for database and log files.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 20,
            idle_timeout_secs: 60,
            max_connections: 900,
        }
    }
}

/// Matomo's Login plugin settings `maxFailedLoginsPerMinutes` and `loginAttemptsTimeRange`
/// (see `crate::brute_force`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteForceConfig {
    /// Failed authentications from one IP within the window that block it; 0 turns this off.
    pub max_failed_logins: usize,
    /// The window, in seconds.
    pub window_secs: u64,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        Self {
            max_failed_logins: 20,
            window_secs: 3600,
        }
    }
}

/// Archiving switches (Matomo's `enable_browser_archiving_triggering`,
/// `time_before_today_archive_considered_outdated`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchivingConfig {
    /// Whether a report request archives a missing period on the fly. Off: reports read only
    /// what the scheduler or `edgemeter archive` built (ranges are still built on demand).
    pub browser_trigger: bool,
    /// Seconds before an archive containing today is rebuilt.
    pub today_ttl_secs: i64,
    /// Whether `edgemeter serve` runs the archiving scheduler.
    pub scheduler: bool,
    /// Seconds between two scheduler passes (plus up to 10% jitter).
    pub scheduler_interval_secs: u64,
}

impl Default for ArchivingConfig {
    fn default() -> Self {
        Self {
            browser_trigger: true,
            today_ttl_secs: 900,
            scheduler: true,
            scheduler_interval_secs: 300,
        }
    }
}

/// Matomo's `[Tracker]` section: the switches a Matomo user may have changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// `record_statistics`: when false the tracker answers 503 and stores nothing.
    pub record_statistics: bool,
    /// `visit_standard_length`: seconds of inactivity after which a new visit starts.
    pub visit_standard_length: i64,
    /// `window_look_back_for_visitor`.
    pub window_look_back_for_visitor: i64,
    /// `create_new_visit_after_midnight` (site time zone).
    pub create_new_visit_after_midnight: bool,
    /// `create_new_visit_when_campaign_changes`.
    pub create_new_visit_when_campaign_changes: bool,
    /// `create_new_visit_when_website_referrer_changes`.
    pub create_new_visit_when_website_referrer_changes: bool,
    /// `create_new_visit_after_x_actions`.
    pub create_new_visit_after_x_actions: i64,
    /// `enable_userid_overwrites_visitorid`.
    pub enable_userid_overwrites_visitorid: bool,
    /// `tracking_requests_require_authentication_when_custom_timestamp_newer_than` (seconds).
    pub custom_timestamp_max_age_without_token: i64,
    /// `page_maximum_length`.
    pub page_maximum_length: usize,
    /// PrivacyManager's `doNotTrackEnabled` (off by default in Matomo 5): exclude requests whose
    /// browser sent `DNT: 1`.
    pub honour_do_not_track: bool,
    /// Global list of query parameters removed from page URLs, on top of Matomo's default list.
    pub excluded_query_parameters: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/edgemeter.sqlite".to_owned(),
            ingest_secret: None,
            ingest_window_secs: 300,
            fingerprint_key: None,
            max_body_bytes: 1024 * 1024,
            ip_anonymisation_bytes: 2,
            http: HttpConfig::default(),
            brute_force: BruteForceConfig::default(),
            tracker: TrackerConfig::default(),
            archiving: ArchivingConfig::default(),
            web: WebConfig::default(),
        }
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            record_statistics: true,
            visit_standard_length: 1800,
            window_look_back_for_visitor: 0,
            create_new_visit_after_midnight: true,
            create_new_visit_when_campaign_changes: true,
            create_new_visit_when_website_referrer_changes: false,
            create_new_visit_after_x_actions: 10_000,
            enable_userid_overwrites_visitorid: true,
            custom_timestamp_max_age_without_token: 86_400,
            page_maximum_length: 1024,
            honour_do_not_track: false,
            excluded_query_parameters: Vec::new(),
        }
    }
}

/// The environment variables read, with the config key each one sets.
const ENV_KEYS: &[(&str, &str)] = &[
    ("EDGEMETER_LISTEN", "listen"),
    ("EDGEMETER_DATABASE_URL", "database_url"),
    ("EDGEMETER_INGEST_SECRET", "ingest_secret"),
    ("EDGEMETER_INGEST_WINDOW_SECS", "ingest_window_secs"),
    ("EDGEMETER_FINGERPRINT_KEY", "fingerprint_key"),
    ("EDGEMETER_MAX_BODY_BYTES", "max_body_bytes"),
    ("EDGEMETER_IP_ANONYMISATION_BYTES", "ip_anonymisation_bytes"),
    ("EDGEMETER_RECORD_STATISTICS", "tracker.record_statistics"),
];

impl Config {
    /// Layers the optional TOML file and the `EDGEMETER_*` variables of `env` over the defaults.
    pub fn load<I, K, V>(file: Option<&Path>, env: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("parsing the config file {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let name = name.as_ref();
            if !name.starts_with("EDGEMETER_") {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(env_name, _)| *env_name == name) else {
                continue;
            };
            set_path(&mut table, key, env_value(key, value.as_ref())?);
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration (see config.example.toml for every key)")?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the whole configuration up front so a bad value fails at start, not at first use.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!(
                "database_url must start with sqlite:// or postgres://, got {:?}",
                self.database_url
            );
        }
        if self.ip_anonymisation_bytes > 4 {
            bail!("ip_anonymisation_bytes must be between 0 and 4");
        }
        if self.ingest_secret.as_deref().is_some_and(|s| s.len() < 16) {
            bail!("ingest_secret must be at least 16 characters long");
        }
        if self.http.header_read_timeout_secs == 0 || self.http.idle_timeout_secs == 0 {
            bail!("http.header_read_timeout_secs and http.idle_timeout_secs must be at least 1");
        }
        if self.http.max_connections == 0 {
            bail!("http.max_connections must be at least 1");
        }
        if self.web.session_lifetime_secs <= 0 || self.web.session_idle_secs <= 0 {
            bail!("web.session_lifetime_secs and web.session_idle_secs must be positive");
        }
        if self.tracker.visit_standard_length <= 0 {
            bail!("tracker.visit_standard_length must be positive");
        }
        Ok(())
    }
}

/// Environment values are strings; typed keys are parsed as TOML scalars.
fn env_value(key: &str, raw: &str) -> anyhow::Result<toml::Value> {
    const STRINGS: &[&str] = &["listen", "database_url", "ingest_secret", "fingerprint_key"];
    if STRINGS.contains(&key) {
        return Ok(toml::Value::String(raw.to_owned()));
    }
    let value = match raw {
        "true" | "1" if key.ends_with("record_statistics") => toml::Value::Boolean(true),
        "false" | "0" if key.ends_with("record_statistics") => toml::Value::Boolean(false),
        _ => toml::Value::Integer(
            raw.parse()
                .with_context(|| format!("{key} must be a number, got {raw:?}"))?,
        ),
    };
    Ok(value)
}

fn set_path(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    match dotted.split_once('.') {
        Some((head, rest)) => {
            let entry = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
        None => {
            table.insert(dotted.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("edgemeter.toml");
        if let Some(text) = file {
            std::fs::write(&path, text)?;
        }
        Config::load(file.map(|_| path.as_path()), env.iter().copied())
    }

    #[test]
    fn defaults_use_sqlite_under_data() {
        let config = load(None, &[]).unwrap();
        assert_eq!(config.database_url, "sqlite://data/edgemeter.sqlite");
        assert_eq!(config.tracker.visit_standard_length, 1800);
        assert!(config.tracker.record_statistics);
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let config = load(
            Some("listen = \"127.0.0.1:9000\"\n[tracker]\nvisit_standard_length = 600\n"),
            &[("EDGEMETER_LISTEN", "127.0.0.1:9100"), ("HOME", "/root")],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.tracker.visit_standard_length, 600);
    }

    #[test]
    fn record_statistics_can_be_switched_off_from_the_environment() {
        let config = load(None, &[("EDGEMETER_RECORD_STATISTICS", "0")]).unwrap();
        assert!(!config.tracker.record_statistics);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error() {
        let err = load(Some("lissen = \"x\""), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("lissen"), "{err:#}");
    }

    #[test]
    fn a_database_url_of_another_kind_is_rejected() {
        let err = load(None, &[("EDGEMETER_DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().contains("sqlite:// or postgres://"));
    }

    #[test]
    fn http_limits_have_defaults_and_zero_is_refused() {
        let config = load(None, &[]).unwrap();
        assert_eq!(config.http.header_read_timeout_secs, 20);
        assert_eq!(config.http.max_connections, 900);
        let err = load(Some("[http]\nmax_connections = 0\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("max_connections"), "{err}");
        let err = load(Some("[http]\nidle_timeout_secs = 0\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("idle_timeout_secs"), "{err}");
    }

    #[test]
    fn a_short_ingest_secret_is_rejected() {
        assert!(load(None, &[("EDGEMETER_INGEST_SECRET", "short")]).is_err());
    }
}
