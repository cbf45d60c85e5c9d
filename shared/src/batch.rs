//! The edge-to-origin wire format: a versioned, compact batch of tracking requests, and its
//! HMAC-SHA256 signature.
//!
//! Layout: one byte [`BATCH_VERSION`], then a [postcard](https://docs.rs/postcard) body (varint
//! integers, length-prefixed UTF-8 strings, fixed-size byte arrays written raw). Two tricks keep
//! it small without a compressor:
//! - the strings that repeat across requests (User-Agent, Accept-Language, the `Sec-CH-UA-*`
//!   client hints, country, region, city) are written once in a per-batch string table and referenced by index;
//! - `received_at_ms` is written as an offset from the batch's earliest time.
//!
//! Measured (test `typical_pageview_sizes_are_as_documented`): a realistic matomo.js 5 pageview
//! from desktop Chrome (30 parameters: url with a campaign query, action_name, urlref, `_id`,
//! `res`, `h/m/s`, the eight flags, `pv_id`, `pf_*` timings, `uadata` client hints, `send_image=0`)
//! is a **798-byte query string**; with the Chrome User-Agent, Accept-Language, the `Sec-CH-UA`
//! and `Sec-CH-UA-Platform` hints Chrome sends unasked, an IPv4 address, fingerprint and geo
//! facts it encodes to **1,099 bytes** as a one-item batch. In a 100-item batch of such pageviews
//! (5 distinct User-Agents, 3 languages, 4 cities) the batch is **87,759 bytes, 877 bytes per
//! item**: the query string (about 800 bytes) plus about **78 bytes** of id, time, IP,
//! fingerprint, coordinates, string indices and the shared string table. The query string dominates, `uadata` alone being about 300 bytes of it; a
//! general-purpose compressor over the whole body would shrink it further if ever needed.
//!
//! Signing: the origin checks [`SIGNATURE_HEADER`] = hex `HMAC-SHA256(secret, timestamp "." body)`
//! and that [`TIMESTAMP_HEADER`] (UNIX seconds) is within a window of its own clock, so a captured
//! batch cannot be replayed later (within the window, replays are harmless anyway: the origin
//! deduplicates by request id).

use std::collections::BTreeMap;
use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The format version written as the first byte of every encoded batch.
pub const BATCH_VERSION: u8 = 2;
/// The header carrying the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-edgemeter-signature";
/// The header carrying the signing time in UNIX seconds.
pub const TIMESTAMP_HEADER: &str = "x-edgemeter-timestamp";

/// A request id chosen by the edge, used by the origin to drop retried duplicates: a UUIDv7
/// ([`request_id`]), so ids sort by the time the edge received the request and the origin's
/// deduplication index grows at its end and can be pruned by age.
pub type RequestId = [u8; 16];

/// The UUIDv7 (RFC 9562) of a request received at `received_at_ms` (UNIX milliseconds), its other
/// 74 bits from `random`. Ids of later milliseconds sort after earlier ones.
pub fn request_id(received_at_ms: i64, random: [u8; 10]) -> RequestId {
    let millis = u64::try_from(received_at_ms).unwrap_or(0);
    *uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .as_bytes()
}

/// What the edge forwards: one batch of tracking requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// The requests, in the order received.
    pub items: Vec<EdgeRequest>,
}

/// One tracking request as received by the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRequest {
    /// Unique id (dedup key at the origin).
    pub id: RequestId,
    /// When the edge received it, UNIX milliseconds.
    pub received_at_ms: i64,
    /// The original parameters as a url-encoded query string ([`crate::params::Params::to_query_string`]);
    /// a bulk element becomes one `EdgeRequest` with the bulk `token_auth` merged in.
    pub query: String,
    /// What only the edge knows.
    pub facts: EdgeFacts,
}

/// Facts about the HTTP request that the query does not carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EdgeFacts {
    /// The client IP, ALREADY anonymised ([`crate::ip::anonymise`]).
    pub ip: Option<IpAddr>,
    /// [`crate::fingerprint::fingerprint`] of the full IP and browser traits.
    pub fingerprint: [u8; 8],
    /// ISO country code from the CDN's geolocation.
    pub country: Option<String>,
    /// Region code.
    pub region: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Accept-Language` header.
    pub accept_language: Option<String>,
    /// The `Sec-CH-UA-*` client-hint headers (since version 2).
    pub client_hints: HintHeaders,
    /// `DNT: 1` or `X-Do-Not-Track: 1` was sent.
    pub dnt: bool,
}

/// The user-agent client-hint headers Matomo's device detection reads, as the browser sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HintHeaders {
    /// `Sec-CH-UA`.
    pub ua: Option<String>,
    /// `Sec-CH-UA-Full-Version-List`.
    pub full_version_list: Option<String>,
    /// `Sec-CH-UA-Platform`.
    pub platform: Option<String>,
    /// `Sec-CH-UA-Platform-Version`.
    pub platform_version: Option<String>,
    /// `Sec-CH-UA-Model`.
    pub model: Option<String>,
}

impl HintHeaders {
    /// The header names, lower-case, in field order.
    pub const NAMES: [&'static str; 5] = [
        "sec-ch-ua",
        "sec-ch-ua-full-version-list",
        "sec-ch-ua-platform",
        "sec-ch-ua-platform-version",
        "sec-ch-ua-model",
    ];

    /// Reads the headers with a lookup by lower-case name.
    pub fn from_lookup(mut header: impl FnMut(&str) -> Option<String>) -> Self {
        let [ua, full_version_list, platform, platform_version, model] =
            Self::NAMES.map(&mut header);
        Self {
            ua,
            full_version_list,
            platform,
            platform_version,
            model,
        }
    }

    /// The value of a header by lower-case name.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = match name {
            "sec-ch-ua" => &self.ua,
            "sec-ch-ua-full-version-list" => &self.full_version_list,
            "sec-ch-ua-platform" => &self.platform,
            "sec-ch-ua-platform-version" => &self.platform_version,
            "sec-ch-ua-model" => &self.model,
            _ => &None,
        };
        value.as_deref()
    }
}

/// Why a batch body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Zero bytes.
    #[error("empty batch body: expected a version byte followed by the batch")]
    Empty,
    /// A version this build does not read.
    #[error("unknown batch format version {0}: this build reads versions 1 to {BATCH_VERSION}; deploy matching edge and origin versions")]
    UnknownVersion(u8),
    /// Truncated or corrupt body.
    #[error("malformed batch body: {0}")]
    Malformed(String),
}

/// Why a signed request is refused (the messages are fit for a 401 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is absent.
    #[error("missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header: batches must be signed")]
    Missing,
    /// A header is not in the expected form.
    #[error("malformed signature headers: {TIMESTAMP_HEADER} must be UNIX seconds and {SIGNATURE_HEADER} 64 hex characters")]
    Malformed,
    /// Wrong signature.
    #[error("signature mismatch: the body was altered or the edge and origin secrets differ")]
    Mismatch,
    /// Timestamp outside the accepted window (negative age: in the future).
    #[error("signature timestamp is {age_secs} s away from the origin's clock, outside the accepted window: check both clocks")]
    Expired {
        /// `now - timestamp`.
        age_secs: i64,
    },
}

#[derive(Serialize, Deserialize)]
struct WireBatch<'a> {
    base_ms: i64,
    #[serde(borrow)]
    strings: Vec<&'a str>,
    #[serde(borrow)]
    items: Vec<WireItem<'a>>,
}

#[derive(Serialize, Deserialize)]
struct WireItem<'a> {
    id: RequestId,
    offset_ms: u64,
    query: &'a str,
    ip: Option<IpAddr>,
    fingerprint: [u8; 8],
    country: Option<u32>,
    region: Option<u32>,
    city: Option<u32>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    user_agent: Option<u32>,
    accept_language: Option<u32>,
    /// [`HintHeaders`] in field order.
    client_hints: [Option<u32>; 5],
    dnt: bool,
}

/// Version 1's layout, before the client hints: still read, so batches an edge queued before
/// both were upgraded are stored, not refused into the dead-letter queue.
#[derive(Deserialize)]
struct WireBatchV1<'a> {
    base_ms: i64,
    #[serde(borrow)]
    strings: Vec<&'a str>,
    #[serde(borrow)]
    items: Vec<WireItemV1<'a>>,
}

#[derive(Deserialize)]
struct WireItemV1<'a> {
    id: RequestId,
    offset_ms: u64,
    query: &'a str,
    ip: Option<IpAddr>,
    fingerprint: [u8; 8],
    country: Option<u32>,
    region: Option<u32>,
    city: Option<u32>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    user_agent: Option<u32>,
    accept_language: Option<u32>,
    dnt: bool,
}

impl<'a> From<WireBatchV1<'a>> for WireBatch<'a> {
    fn from(v1: WireBatchV1<'a>) -> Self {
        let items = v1
            .items
            .into_iter()
            .map(|item| WireItem {
                id: item.id,
                offset_ms: item.offset_ms,
                query: item.query,
                ip: item.ip,
                fingerprint: item.fingerprint,
                country: item.country,
                region: item.region,
                city: item.city,
                latitude: item.latitude,
                longitude: item.longitude,
                user_agent: item.user_agent,
                accept_language: item.accept_language,
                client_hints: [None; 5],
                dnt: item.dnt,
            })
            .collect();
        WireBatch {
            base_ms: v1.base_ms,
            strings: v1.strings,
            items,
        }
    }
}

/// Reads the body of one format version, refusing trailing bytes.
fn take_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, BatchError> {
    let (wire, rest): (T, _) =
        postcard::take_from_bytes(body).map_err(|err| BatchError::Malformed(err.to_string()))?;
    if !rest.is_empty() {
        return Err(BatchError::Malformed(format!(
            "{} unexpected bytes after the batch",
            rest.len()
        )));
    }
    Ok(wire)
}

#[derive(Default)]
struct StringTable<'a> {
    strings: Vec<&'a str>,
    index: BTreeMap<&'a str, u32>,
}

impl<'a> StringTable<'a> {
    fn intern(&mut self, value: Option<&'a String>) -> Option<u32> {
        self.intern_str(value.map(String::as_str))
    }

    fn intern_str(&mut self, value: Option<&'a str>) -> Option<u32> {
        let value = value?;
        if let Some(&at) = self.index.get(value) {
            return Some(at);
        }
        // A batch never holds 2^32 distinct strings; saturating keeps this total anyway.
        let at = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.push(value);
        self.index.insert(value, at);
        Some(at)
    }
}

/// Encodes a batch: the version byte, then the body.
pub fn encode(batch: &Batch) -> Vec<u8> {
    let base_ms = batch
        .items
        .iter()
        .map(|item| item.received_at_ms)
        .min()
        .unwrap_or(0);
    let mut table = StringTable::default();
    let items = batch
        .items
        .iter()
        .map(|item| {
            let f = &item.facts;
            WireItem {
                id: item.id,
                offset_ms: item.received_at_ms.abs_diff(base_ms),
                query: &item.query,
                ip: f.ip,
                fingerprint: f.fingerprint,
                country: table.intern(f.country.as_ref()),
                region: table.intern(f.region.as_ref()),
                city: table.intern(f.city.as_ref()),
                latitude: f.latitude,
                longitude: f.longitude,
                user_agent: table.intern(f.user_agent.as_ref()),
                accept_language: table.intern(f.accept_language.as_ref()),
                client_hints: HintHeaders::NAMES
                    .map(|name| table.intern_str(f.client_hints.get(name))),
                dnt: f.dnt,
            }
        })
        .collect();
    let wire = WireBatch {
        base_ms,
        strings: table.strings,
        items,
    };
    let out = vec![BATCH_VERSION];
    // Serialising plain structs into a growable Vec cannot fail.
    match postcard::to_extend(&wire, out) {
        Ok(bytes) => bytes,
        Err(_) => vec![BATCH_VERSION],
    }
}

/// Decodes a batch written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Batch, BatchError> {
    let (&version, body) = bytes.split_first().ok_or(BatchError::Empty)?;
    let wire: WireBatch<'_> = match version {
        1 => take_body::<WireBatchV1<'_>>(body)?.into(),
        BATCH_VERSION => take_body(body)?,
        _ => return Err(BatchError::UnknownVersion(version)),
    };
    let lookup = |at: Option<u32>| -> Result<Option<String>, BatchError> {
        at.map(|at| {
            usize::try_from(at)
                .ok()
                .and_then(|at| wire.strings.get(at))
                .map(|s| (*s).to_owned())
                .ok_or_else(|| BatchError::Malformed(format!("string index {at} out of range")))
        })
        .transpose()
    };
    let items = wire
        .items
        .iter()
        .map(|item| {
            let offset = i64::try_from(item.offset_ms)
                .map_err(|_| BatchError::Malformed("time offset out of range".to_owned()))?;
            Ok(EdgeRequest {
                id: item.id,
                received_at_ms: wire.base_ms.saturating_add(offset),
                query: item.query.to_owned(),
                facts: EdgeFacts {
                    ip: item.ip,
                    fingerprint: item.fingerprint,
                    country: lookup(item.country)?,
                    region: lookup(item.region)?,
                    city: lookup(item.city)?,
                    latitude: item.latitude,
                    longitude: item.longitude,
                    user_agent: lookup(item.user_agent)?,
                    accept_language: lookup(item.accept_language)?,
                    client_hints: {
                        let [ua, full_version_list, platform, platform_version, model] =
                            item.client_hints;
                        HintHeaders {
                            ua: lookup(ua)?,
                            full_version_list: lookup(full_version_list)?,
                            platform: lookup(platform)?,
                            platform_version: lookup(platform_version)?,
                            model: lookup(model)?,
                        }
                    },
                    dnt: item.dnt,
                },
            })
        })
        .collect::<Result<Vec<_>, BatchError>>()?;
    Ok(Batch { items })
}

/// Hex `HMAC-SHA256(secret, "<timestamp>.<body>")`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks the signature headers of a batch POST against `now` (UNIX seconds), accepting a
/// timestamp at most `window_secs` away in either direction. The comparison is constant-time.
pub fn verify(
    secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now: i64,
    window_secs: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp_header, signature_header) else {
        return Err(SignatureError::Missing);
    };
    let timestamp = timestamp.trim();
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(SignatureError::Malformed);
    }
    let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(signature.trim(), &mut expected).map_err(|_| SignatureError::Malformed)?;
    mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)?;
    let age_secs = now.saturating_sub(timestamp);
    if age_secs.saturating_abs() > window_secs {
        return Err(SignatureError::Expired { age_secs });
    }
    Ok(())
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuidv7_ordered_by_time() {
        let earlier = request_id(1_764_000_000_000, [0xff; 10]);
        let later = request_id(1_764_000_000_001, [0x00; 10]);
        let parsed = uuid::Uuid::from_bytes(earlier);
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        // The first 48 bits are the milliseconds, big-endian.
        assert_eq!(earlier[..6], 1_764_000_000_000u64.to_be_bytes()[2..]);
        assert!(earlier < later, "{earlier:?} !< {later:?}");
        // The random bits are kept (those not taken by the version and variant).
        assert_ne!(request_id(5, [1; 10]), request_id(5, [2; 10]));
    }

    const SECRET: &[u8] = b"edge-origin secret";
    const NOW: i64 = 1_714_521_600;

    const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    /// A pageview as matomo.js 5 sends it from desktop Chrome.
    fn pageview_query(n: usize) -> String {
        let uadata = r#"{"fullVersionList":[{"brand":"Chromium","version":"124.0.6367.91"},{"brand":"Google Chrome","version":"124.0.6367.91"},{"brand":"Not-A.Brand","version":"99.0.0.0"}],"mobile":false,"model":"","platform":"Windows","platformVersion":"15.0.0"}"#;
        let params = crate::params::Params::from_pairs([
            ("action_name", format!("Pricing plans {n} – Example Shop")),
            ("idsite", "1".to_owned()),
            ("rec", "1".to_owned()),
            ("r", format!("{:06}", 123_456 + n)),
            ("h", "14".to_owned()),
            ("m", "3".to_owned()),
            ("s", "27".to_owned()),
            (
                "url",
                format!(
                    "https://www.example.com/pricing/{n}?utm_source=newsletter&utm_medium=email"
                ),
            ),
            ("urlref", "https://www.google.com/".to_owned()),
            ("_id", format!("3f8a1c2b4d5e{:04x}", n)),
            ("_idn", "0".to_owned()),
            ("send_image", "0".to_owned()),
            ("_refts", "0".to_owned()),
            ("pv_id", "Xy3kQ9".to_owned()),
            ("fla", "0".to_owned()),
            ("java", "0".to_owned()),
            ("qt", "0".to_owned()),
            ("realp", "0".to_owned()),
            ("pdf", "1".to_owned()),
            ("wma", "0".to_owned()),
            ("ag", "0".to_owned()),
            ("cookie", "1".to_owned()),
            ("res", "1920x1080".to_owned()),
            ("uadata", uadata.to_owned()),
            ("pf_net", "0".to_owned()),
            ("pf_srv", "112".to_owned()),
            ("pf_tfr", "3".to_owned()),
            ("pf_dm1", "240".to_owned()),
            ("pf_dm2", "180".to_owned()),
            ("pf_onl", "2".to_owned()),
        ]);
        params.to_query_string()
    }

    fn item(n: usize) -> EdgeRequest {
        let cities = [
            ("us", "CA", "San Francisco"),
            ("fr", "IDF", "Paris"),
            ("de", "BE", "Berlin"),
            ("gb", "ENG", "London"),
        ];
        let langs = [
            "en-US,en;q=0.9",
            "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7",
            "de-DE,de;q=0.9,en;q=0.8",
        ];
        let (country, region, city) = cities[n % cities.len()];
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(n as u64).to_le_bytes());
        id[8..].copy_from_slice(&(n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        EdgeRequest {
            id,
            received_at_ms: NOW * 1000 + (n as i64) * 137,
            query: pageview_query(n),
            facts: EdgeFacts {
                ip: Some(IpAddr::from([203, 0, (n % 200) as u8, 0])),
                fingerprint: [n as u8, 1, 2, 3, 4, 5, 6, 7],
                country: Some(country.to_owned()),
                region: Some(region.to_owned()),
                city: Some(city.to_owned()),
                latitude: Some(37.7749),
                longitude: Some(-122.4194),
                user_agent: Some(CHROME_UA.replace("124.0", &format!("12{}.0", n % 5))),
                accept_language: Some(langs[n % langs.len()].to_owned()),
                // The hints Chrome sends unasked (the others need `Accept-CH`).
                client_hints: HintHeaders {
                    ua: Some(
                        r#""Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99""#
                            .to_owned(),
                    ),
                    platform: Some(r#""Windows""#.to_owned()),
                    ..HintHeaders::default()
                },
                dnt: n.is_multiple_of(7),
            },
        }
    }

    fn batch(n: usize) -> Batch {
        Batch {
            items: (0..n).map(item).collect(),
        }
    }

    #[test]
    fn a_batch_round_trips() {
        let original = batch(100);
        assert_eq!(decode(&encode(&original)), Ok(original));
    }

    #[test]
    fn an_empty_batch_and_empty_facts_round_trip() {
        assert_eq!(decode(&encode(&Batch::default())), Ok(Batch::default()));
        let bare = Batch {
            items: vec![EdgeRequest {
                id: [9; 16],
                received_at_ms: -5,
                query: String::new(),
                facts: EdgeFacts::default(),
            }],
        };
        assert_eq!(decode(&encode(&bare)), Ok(bare));
    }

    #[test]
    fn items_received_out_of_order_keep_their_times() {
        let mut b = batch(3);
        b.items[0].received_at_ms += 10_000;
        assert_eq!(decode(&encode(&b)), Ok(b));
    }

    #[test]
    fn repeated_strings_are_written_once() {
        let bytes = encode(&batch(100));
        let needle = CHROME_UA.as_bytes();
        let count = bytes.windows(needle.len()).filter(|w| *w == needle).count();
        assert_eq!(
            count, 1,
            "the unmodified UA (n % 5 == 4 replaces 124.0 by 124.0) appears once"
        );
    }

    #[test]
    fn the_first_byte_is_the_version() {
        assert_eq!(encode(&batch(1))[0], BATCH_VERSION);
    }

    #[test]
    fn an_unknown_version_is_a_clear_error() {
        let mut bytes = encode(&batch(2));
        bytes[0] = BATCH_VERSION + 1;
        let err = decode(&bytes).expect_err("a newer version is not read");
        assert_eq!(err, BatchError::UnknownVersion(BATCH_VERSION + 1));
        assert!(err.to_string().contains("reads versions 1 to 2"));
    }

    #[test]
    fn version_1_batches_queued_before_an_upgrade_are_still_read() {
        // Version 1 is version 2 without the client-hint indices: a batch of one item with no
        // hints differs from its version 2 encoding by those five `None` bytes only.
        let mut one = batch(1);
        one.items[0].facts.client_hints = HintHeaders::default();
        let v2 = encode(&one);
        let hints_at = v2.len() - 1 - 5; // before the final `dnt` byte
        assert_eq!(&v2[hints_at..hints_at + 5], &[0; 5], "five None indices");
        let mut v1 = v2[..hints_at].to_vec();
        v1.push(*v2.last().unwrap());
        v1[0] = 1;
        assert_eq!(decode(&v1).unwrap(), one);
    }

    #[test]
    fn empty_and_truncated_input_is_rejected() {
        assert_eq!(decode(&[]), Err(BatchError::Empty));
        let bytes = encode(&batch(3));
        for len in [1, 2, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                matches!(decode(&bytes[..len]), Err(BatchError::Malformed(_))),
                "cut at {len}"
            );
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&batch(1));
        bytes.push(0);
        assert!(matches!(decode(&bytes), Err(BatchError::Malformed(_))));
    }

    #[test]
    fn typical_pageview_sizes_are_as_documented() {
        let one = item(0);
        let query_len = one.query.len();
        let single = encode(&Batch { items: vec![one] }).len();
        let hundred = encode(&batch(100)).len();
        let queries: usize = batch(100).items.iter().map(|i| i.query.len()).sum();
        println!(
            "query {query_len} B, one-item batch {single} B, 100-item batch {hundred} B ({} B/item, queries {queries} B)",
            hundred / 100
        );
        // The module doc quotes these figures; keep it in sync if the format changes.
        assert_eq!(query_len, 798);
        assert_eq!(single, 1099);
        assert_eq!(hundred, 87_759);
    }

    #[test]
    fn a_signature_round_trips() {
        let body = encode(&batch(2));
        let signature = sign(SECRET, NOW, &body);
        assert_eq!(signature.len(), 64);
        assert_eq!(
            verify(
                SECRET,
                Some(&NOW.to_string()),
                Some(&signature),
                &body,
                NOW + 5,
                300
            ),
            Ok(())
        );
    }

    #[test]
    fn the_signature_matches_an_independent_hmac() {
        // python3: hmac.new(b'edge-origin secret', b'1714521600.hello', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(SECRET, NOW, b"hello"),
            "52cdadb149879866869b6d0d601c0fdbf280fb87aa5c5f66b095787d885f8ce3"
        );
    }

    #[test]
    fn a_tampered_body_timestamp_or_signature_is_a_mismatch() {
        let body = b"payload".to_vec();
        let ts = NOW.to_string();
        let signature = sign(SECRET, NOW, &body);
        assert_eq!(
            verify(SECRET, Some(&ts), Some(&signature), b"payloaD", NOW, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                SECRET,
                Some(&(NOW + 1).to_string()),
                Some(&signature),
                &body,
                NOW,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = signature.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).expect("hex");
        assert_eq!(
            verify(SECRET, Some(&ts), Some(&flipped), &body, NOW, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(&ts), Some(&signature), &body, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_or_future_timestamp_beyond_the_window_is_expired() {
        let body = b"payload";
        let old = NOW - 301;
        let sig = sign(SECRET, old, body);
        assert_eq!(
            verify(SECRET, Some(&old.to_string()), Some(&sig), body, NOW, 300),
            Err(SignatureError::Expired { age_secs: 301 })
        );
        let future = NOW + 301;
        let sig = sign(SECRET, future, body);
        assert_eq!(
            verify(
                SECRET,
                Some(&future.to_string()),
                Some(&sig),
                body,
                NOW,
                300
            ),
            Err(SignatureError::Expired { age_secs: -301 })
        );
        let edge = NOW - 300;
        let sig = sign(SECRET, edge, body);
        assert_eq!(
            verify(SECRET, Some(&edge.to_string()), Some(&sig), body, NOW, 300),
            Ok(())
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_reported() {
        let sig = sign(SECRET, NOW, b"x");
        let ts = NOW.to_string();
        assert_eq!(
            verify(SECRET, None, Some(&sig), b"x", NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(&ts), None, b"x", NOW, 300),
            Err(SignatureError::Missing)
        );
        for (t, s) in [
            ("abc", sig.as_str()),
            ("", sig.as_str()),
            ("+1", sig.as_str()),
            (ts.as_str(), "zz"),
            (ts.as_str(), &sig[..62]),
        ] {
            assert_eq!(
                verify(SECRET, Some(t), Some(s), b"x", NOW, 300),
                Err(SignatureError::Malformed),
                "{t} {s}"
            );
        }
    }
}
