//! The edge's settings, read once per request from wrangler vars and secrets, and validated.
//!
//! Pure: the Worker glue hands in a lookup function over the environment, so tests never need a
//! runtime. Names of the bindings live here as constants so wrangler.toml, `.dev.vars.example`,
//! the README and the code can be checked against one list.

use std::collections::BTreeSet;

/// The Queue producer the fetch handler sends requests to (absent: direct, best-effort mode).
pub const QUEUE_BINDING: &str = "BEACONS";
/// A producer on the dead-letter queue, for batches the origin refuses as malformed.
pub const DEAD_LETTER_BINDING: &str = "DEAD_LETTERS";
/// Base URL of the origin; batches go to `ORIGIN_URL + /ingest`.
pub const ORIGIN_URL: &str = "ORIGIN_URL";
/// The batch signing key, the same bytes as the origin's `EDGEMETER_INGEST_SECRET` (secret).
pub const INGEST_SECRET: &str = "INGEST_SECRET";
/// Keys the daily fingerprint (secret); without it a key is derived from `INGEST_SECRET`.
pub const FINGERPRINT_KEY: &str = "FINGERPRINT_KEY";
/// Path of the tracking endpoint alias (ad blockers match `matomo.php` and `piwik.php`).
pub const ALIAS_PATH: &str = "ALIAS_PATH";
/// Path of the tracker script alias.
pub const SCRIPT_ALIAS_PATH: &str = "SCRIPT_ALIAS_PATH";
/// How many trailing bytes of the visitor's IP are zeroed before it leaves the edge (0 to 4).
pub const ANONYMIZE_IP_BYTES: &str = "ANONYMIZE_IP_BYTES";
/// `*` or a comma-separated list of origins allowed to read beacon answers.
pub const CORS_ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
/// Comma-separated site ids the edge accepts; empty or unset: any positive id.
pub const KNOWN_SITE_IDS: &str = "KNOWN_SITE_IDS";

/// Matomo's default mask length (`PrivacyManager.ipAddressMaskLength`, MATOMO.md 3.3).
pub const DEFAULT_ANONYMIZE_IP_BYTES: u8 = 2;

/// Which origins may read the answer to a cross-origin POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Matomo's behaviour: echo any Origin (or `*`).
    Any,
    /// Echo the Origin only when it is listed (Matomo's `[General] cors_domains[]`).
    List(BTreeSet<String>),
}

/// Which site ids the edge accepts before queueing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownSites {
    /// Any positive id; the origin drops unknown ids and counts them.
    AnyPositive,
    /// Only these ids; others get Matomo's 400 at the edge.
    Only(BTreeSet<u32>),
}

impl KnownSites {
    /// Whether the edge accepts requests for this site id.
    pub fn accepts(&self, idsite: u32) -> bool {
        match self {
            KnownSites::AnyPositive => idsite > 0,
            KnownSites::Only(ids) => ids.contains(&idsite),
        }
    }
}

/// Everything the edge needs to know, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeConfig {
    /// Where batches go, without a trailing slash (`None` when unset or not http(s)).
    pub origin_url: Option<String>,
    /// The signing key; `None` means batches cannot be signed (logged, retried).
    pub ingest_secret: Option<Vec<u8>>,
    /// The fingerprint key (never empty when `ingest_secret` is set).
    pub fingerprint_key: Vec<u8>,
    /// Tracking endpoint alias, starting with `/`.
    pub alias_path: Option<String>,
    /// Tracker script alias, starting with `/`.
    pub script_alias_path: Option<String>,
    /// Bytes zeroed by IP anonymisation.
    pub anonymize_ip_bytes: u8,
    /// Who may read POST answers.
    pub cors: CorsOrigins,
    /// Which site ids are accepted.
    pub sites: KnownSites,
    /// Settings that were present but invalid, with the default used instead: logged by the glue.
    pub warnings: Vec<String>,
}

impl EdgeConfig {
    /// Reads the settings through `lookup` (a var or secret by name; `None` when unset).
    /// Never fails: an invalid value falls back to its default and adds a warning, because a
    /// beacon must be answered whatever the configuration.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut warnings = Vec::new();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let origin_url = match get(ORIGIN_URL) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => {
                warnings.push(format!("{ORIGIN_URL} {url:?} is not an http(s) URL"));
                None
            }
            None => None,
        };
        let ingest_secret = get(INGEST_SECRET).map(String::into_bytes);
        let fingerprint_key = match get(FINGERPRINT_KEY) {
            Some(key) => key.into_bytes(),
            // A separate key keeps the fingerprint unlinkable to the signing key; deriving one
            // with a fixed prefix keeps `wrangler dev --var INGEST_SECRET:..` enough to run.
            None => {
                let mut key = b"edgemeter-fingerprint:".to_vec();
                key.extend_from_slice(ingest_secret.as_deref().unwrap_or_default());
                key
            }
        };
        let anonymize_ip_bytes = match get(ANONYMIZE_IP_BYTES) {
            None => DEFAULT_ANONYMIZE_IP_BYTES,
            Some(v) => match v.parse::<u8>() {
                Ok(n) if n <= 4 => n,
                _ => {
                    warnings.push(format!(
                        "{ANONYMIZE_IP_BYTES} {v:?} is not 0 to 4; using {DEFAULT_ANONYMIZE_IP_BYTES}"
                    ));
                    DEFAULT_ANONYMIZE_IP_BYTES
                }
            },
        };
        let cors = match get(CORS_ALLOWED_ORIGINS) {
            None => CorsOrigins::Any,
            Some(v) if v == "*" => CorsOrigins::Any,
            Some(v) => CorsOrigins::List(
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        };
        let sites = match get(KNOWN_SITE_IDS) {
            None => KnownSites::AnyPositive,
            Some(v) => {
                let mut ids = BTreeSet::new();
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match part.parse::<u32>() {
                        Ok(id) if id > 0 => {
                            ids.insert(id);
                        }
                        _ => warnings.push(format!("{KNOWN_SITE_IDS}: {part:?} is not a site id")),
                    }
                }
                if ids.is_empty() {
                    warnings.push(format!("{KNOWN_SITE_IDS} lists no valid id; accepting any"));
                    KnownSites::AnyPositive
                } else {
                    KnownSites::Only(ids)
                }
            }
        };
        let path = |name: &str, warnings: &mut Vec<String>| match get(name) {
            Some(p) if p.starts_with('/') => Some(p),
            Some(p) => {
                warnings.push(format!("{name} {p:?} must start with '/'; ignored"));
                None
            }
            None => None,
        };
        let alias_path = path(ALIAS_PATH, &mut warnings);
        let script_alias_path = path(SCRIPT_ALIAS_PATH, &mut warnings);
        EdgeConfig {
            origin_url,
            ingest_secret,
            fingerprint_key,
            alias_path,
            script_alias_path,
            anonymize_ip_bytes,
            cors,
            sites,
            warnings,
        }
    }

    /// The URL batches are POSTed to.
    pub fn ingest_url(&self) -> Option<String> {
        self.origin_url
            .as_ref()
            .map(|base| format!("{base}/ingest"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> EdgeConfig {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EdgeConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn an_empty_environment_gives_matomo_defaults() {
        let c = config(&[]);
        assert_eq!(c.anonymize_ip_bytes, 2);
        assert_eq!(c.cors, CorsOrigins::Any);
        assert_eq!(c.sites, KnownSites::AnyPositive);
        assert_eq!(c.origin_url, None);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn the_ingest_url_appends_ingest_to_the_origin_without_a_double_slash() {
        let c = config(&[(ORIGIN_URL, "http://127.0.0.1:8080/")]);
        assert_eq!(
            c.ingest_url().as_deref(),
            Some("http://127.0.0.1:8080/ingest")
        );
    }

    #[test]
    fn an_origin_url_that_is_not_http_is_refused_with_a_warning() {
        let c = config(&[(ORIGIN_URL, "ftp://x")]);
        assert_eq!(c.origin_url, None);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn known_site_ids_restrict_accepted_sites() {
        let c = config(&[(KNOWN_SITE_IDS, "1, 3,x")]);
        assert!(c.sites.accepts(1) && c.sites.accepts(3));
        assert!(!c.sites.accepts(2));
        assert_eq!(c.warnings.len(), 1, "the bad id is reported");
    }

    #[test]
    fn without_known_site_ids_any_positive_id_is_accepted_but_not_zero() {
        let c = config(&[]);
        assert!(c.sites.accepts(12345));
        assert!(!c.sites.accepts(0));
    }

    #[test]
    fn an_anonymisation_above_four_bytes_falls_back_to_two() {
        let c = config(&[(ANONYMIZE_IP_BYTES, "9")]);
        assert_eq!(c.anonymize_ip_bytes, 2);
        assert_eq!(config(&[(ANONYMIZE_IP_BYTES, "0")]).anonymize_ip_bytes, 0);
    }

    #[test]
    fn a_cors_list_is_split_and_trimmed() {
        let c = config(&[(
            CORS_ALLOWED_ORIGINS,
            "https://a.example/, https://b.example",
        )]);
        let CorsOrigins::List(list) = c.cors else {
            panic!("expected a list")
        };
        assert!(list.contains("https://a.example") && list.contains("https://b.example"));
    }

    #[test]
    fn the_fingerprint_key_differs_from_the_signing_key_when_derived() {
        let c = config(&[(INGEST_SECRET, "k")]);
        assert_ne!(c.fingerprint_key, b"k".to_vec());
        assert!(c.fingerprint_key.ends_with(b"k"));
        let c = config(&[(INGEST_SECRET, "k"), (FINGERPRINT_KEY, "f")]);
        assert_eq!(c.fingerprint_key, b"f".to_vec());
    }

    #[test]
    fn an_alias_without_a_leading_slash_is_ignored() {
        let c = config(&[(ALIAS_PATH, "_a/e"), (SCRIPT_ALIAS_PATH, "/_a/s.js")]);
        assert_eq!(c.alias_path, None);
        assert_eq!(c.script_alias_path.as_deref(), Some("/_a/s.js"));
    }
}
