//! The visit fingerprint: a keyed, daily-salted hash of the visitor's full IP and browser traits.
//!
//! Matomo's `config_id` (MATOMO.md 2.2) is `md5` over the OS, browser, plugin flags, the IP,
//! the browser language and a per-day random salt, so that a visitor without a cookie can be
//! recognised within a day but not across days. We keep that purpose with two changes:
//!
//! - **The full IP never leaves the edge.** The edge computes the fingerprint from the full IP
//!   and forwards only the fingerprint and the anonymised IP ([`crate::ip`]). The origin, when it
//!   receives a tracking request directly (no edge), calls the same function with the same inputs,
//!   so a visitor gets the same fingerprint whichever way the request came in, and visits built
//!   from both paths match.
//! - **A keyed HMAC instead of md5 with a stored random salt.** The daily salt is
//!   `HMAC-SHA256(key, domain || day)`: edge and origin derive the same salt from the shared
//!   secret with no salt table to synchronise, and nobody without the key can test a guessed IP
//!   against a fingerprint (an unkeyed hash of an IPv4 address is trivially brute-forced). The
//!   salt changes every day, so fingerprints cannot be linked across days.
//!
//! The raw User-Agent is hashed instead of Matomo's parsed OS/browser names because the edge
//! does no device detection; the inputs are length-prefixed so that no two different inputs
//! produce the same message. The site id is not an input (the function signature is shared by
//! contract); the origin keys its visit lookup by site anyway.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::params::Params;
use crate::request::PluginFlags;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation for the salt derivation, so the key can be reused for other HMACs safely.
const SALT_DOMAIN: &[u8] = b"edgemeter/fingerprint-salt/v1\n";

/// The 8-byte fingerprint of one visitor on one day.
///
/// `day` is `YYYY-MM-DD` (see [`utc_day`]); `ip` the FULL client IP; `plugin_flags` the eight
/// digits of [`PluginFlags::digits`]. `accept_language` is the `lang` parameter when sent, else
/// the header (as Matomo reads it); [`fingerprint_request`] applies these overrides for you.
pub fn fingerprint(
    key: &[u8],
    day: &str,
    ip: IpAddr,
    user_agent: &str,
    accept_language: &str,
    plugin_flags: &str,
) -> [u8; 8] {
    let mut salt_mac = new_mac(key);
    salt_mac.update(SALT_DOMAIN);
    salt_mac.update(day.as_bytes());
    let salt = salt_mac.finalize().into_bytes();

    let mut mac = new_mac(&salt);
    // An IPv4-mapped IPv6 address and the IPv4 address are the same visitor.
    let ip_text = ip.to_canonical().to_string();
    for field in [
        ip_text.as_bytes(),
        user_agent.as_bytes(),
        accept_language.as_bytes(),
        plugin_flags.as_bytes(),
    ] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    let digest = mac.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// [`fingerprint`] for one tracking request: `ua` and `lang` parameters override the headers
/// (Matomo's `Request::getUserAgent`, `getBrowserLanguage`), the plugin flags come from the
/// params, and the day is the UTC day of `received_at_unix`. Edge and origin both call this.
pub fn fingerprint_request(
    key: &[u8],
    received_at_unix: i64,
    ip: IpAddr,
    user_agent_header: Option<&str>,
    accept_language_header: Option<&str>,
    params: &Params,
) -> [u8; 8] {
    let pick = |param: &str, header: Option<&str>| {
        params
            .get(param)
            .filter(|v| !v.is_empty())
            .or(header)
            .unwrap_or_default()
            .to_owned()
    };
    fingerprint(
        key,
        &utc_day(received_at_unix),
        ip,
        &pick("ua", user_agent_header),
        &pick("lang", accept_language_header),
        &PluginFlags::from_params(params).digits(),
    )
}

/// The UTC calendar day of a UNIX time, `YYYY-MM-DD` (out-of-range times clamp to 1970-01-01).
pub fn utc_day(unix_secs: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .map(|t| t.date())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH.date());
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` only fails for fixed-size-key MACs.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"shared secret";
    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0";

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test ip")
    }

    fn fp(day: &str, addr: &str, ua: &str, lang: &str, flags: &str) -> [u8; 8] {
        fingerprint(KEY, day, ip(addr), ua, lang, flags)
    }

    #[test]
    fn the_same_inputs_give_the_same_fingerprint() {
        assert_eq!(
            fp("2024-05-01", "203.0.113.7", UA, "en", "00001001"),
            fp("2024-05-01", "203.0.113.7", UA, "en", "00001001")
        );
    }

    #[test]
    fn every_input_changes_the_fingerprint() {
        let base = fp("2024-05-01", "203.0.113.7", UA, "en", "00001001");
        assert_ne!(
            base,
            fp("2024-05-02", "203.0.113.7", UA, "en", "00001001"),
            "day"
        );
        assert_ne!(
            base,
            fp("2024-05-01", "203.0.113.8", UA, "en", "00001001"),
            "ip"
        );
        assert_ne!(
            base,
            fp("2024-05-01", "203.0.113.7", "curl", "en", "00001001"),
            "ua"
        );
        assert_ne!(
            base,
            fp("2024-05-01", "203.0.113.7", UA, "fr", "00001001"),
            "lang"
        );
        assert_ne!(
            base,
            fp("2024-05-01", "203.0.113.7", UA, "en", "00001000"),
            "flags"
        );
        assert_ne!(
            base,
            fingerprint(
                b"other key",
                "2024-05-01",
                ip("203.0.113.7"),
                UA,
                "en",
                "00001001"
            ),
            "key"
        );
    }

    #[test]
    fn moving_bytes_between_fields_changes_the_fingerprint() {
        assert_ne!(
            fp("d", "10.0.0.1", "ab", "c", ""),
            fp("d", "10.0.0.1", "a", "bc", "")
        );
    }

    #[test]
    fn an_ipv4_mapped_address_matches_its_ipv4_form() {
        assert_eq!(
            fp("2024-05-01", "::ffff:203.0.113.7", UA, "en", "1"),
            fp("2024-05-01", "203.0.113.7", UA, "en", "1")
        );
    }

    #[test]
    fn request_parameters_override_the_headers() {
        let params = Params::from_query("idsite=1&ua=Custom&lang=de&pdf=1&cookie=1");
        let at = 1_714_521_600; // 2024-05-01T00:00:00Z
        assert_eq!(
            fingerprint_request(KEY, at, ip("198.51.100.1"), Some(UA), Some("en"), &params),
            fingerprint(
                KEY,
                "2024-05-01",
                ip("198.51.100.1"),
                "Custom",
                "de",
                "00001001"
            )
        );
        let bare = Params::from_query("idsite=1");
        assert_eq!(
            fingerprint_request(KEY, at, ip("198.51.100.1"), Some(UA), None, &bare),
            fingerprint(KEY, "2024-05-01", ip("198.51.100.1"), UA, "", "00000000")
        );
    }

    #[test]
    fn the_utc_day_is_formatted_with_padding() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_714_521_599), "2024-04-30");
        assert_eq!(utc_day(1_714_521_600), "2024-05-01");
        assert_eq!(utc_day(i64::MAX), "1970-01-01");
    }
}
