//! Raw tracking parameters and Matomo's rules for turning an HTTP request into one or more of them.
//!
//! Matomo reads the union `$_GET + $_POST` (the URL query wins on a key clash), or, when the raw
//! body contains `"requests"` or `'requests'`, a bulk JSON document
//! (`core/Tracker/RequestSet.php::initRequestsAndTokenAuth`,
//! `plugins/BulkTracking/Tracker/Requests.php`). This module reproduces those rules without
//! validating any value: that is [`crate::request`]'s job.
//!
//! Choices worth knowing:
//! - Within one source (the URL query, or the form body) a repeated name keeps its **last** value,
//!   as PHP's `parse_str` does; the name keeps the position of its first appearance. A `Params`
//!   therefore never holds a name twice, and [`Params::get`] returning the first occurrence is
//!   the same as returning the only one.
//! - PHP's `a[]=` array syntax and its rewriting of `.` and ` ` in names are not reproduced: no
//!   tracking parameter uses them.
//! - Percent-decoded bytes that are not UTF-8 are decoded lossily (U+FFFD) and flagged through
//!   [`Params::had_invalid_utf8`], so the origin can count such requests.
//! - At most [`MAX_INPUT_VARS`] pieces of one form-encoded source (the URL query, the form body,
//!   one bulk element's query string) are read; the rest are dropped and counted through
//!   [`Params::dropped_over_limit`]. This is PHP's `max_input_vars` (1000 by default), which
//!   `$_GET`, `$_POST` and `parse_str` each apply on their own: PHP keeps the first 1000 pieces,
//!   repeated names included, and drops the rest with the warning "Input variables exceeded 1000"
//!   (`main/php_variables.c`, `php_default_treat_data`: `if (++count > PG(max_input_vars))`).
//!   Bulk elements that are JSON objects are not capped (PHP's `json_decode` has no such limit);
//!   the body size limit bounds them, and every operation here is linear.

use indexmap::IndexMap;
use percent_encoding::percent_decode;
use serde_json::Value;

/// PHP's default `max_input_vars`: pieces read from one form-encoded source.
pub const MAX_INPUT_VARS: usize = 1000;

/// The ordered (name, value) pairs of ONE tracking request, URL-decoded.
///
/// Names are kept in an index map, so building, reading and merging are linear in the number of
/// pairs (a list searched on every `set` made a 100,000-name body cost about 55 s of CPU).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: IndexMap<String, String>,
    invalid_utf8: bool,
    dropped: usize,
}

/// Equal pairs in the same order and the same flags (an `IndexMap` alone ignores order).
impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.pairs.iter().eq(other.pairs.iter())
            && self.invalid_utf8 == other.invalid_utf8
            && self.dropped == other.dropped
    }
}

impl Eq for Params {}

impl Params {
    /// An empty parameter set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a query string. A leading `?`, and anything before the first `?` (as in a full URL
    /// sent as a bulk element), is ignored, and so is a `#fragment`.
    pub fn from_query(query: &str) -> Params {
        Self::from_query_bytes(query.as_bytes())
    }

    /// Like [`Params::from_query`] for raw bytes (a form body need not be UTF-8).
    pub fn from_query_bytes(query: &[u8]) -> Params {
        let query = match query.iter().position(|&b| b == b'?') {
            Some(at) => &query[at + 1..],
            None => query,
        };
        let query = match query.iter().position(|&b| b == b'#') {
            Some(at) => &query[..at],
            None => query,
        };
        Self::from_form_bytes(query)
    }

    /// Parses `application/x-www-form-urlencoded` bytes as they are (no `?` stripping).
    /// At most [`MAX_INPUT_VARS`] pieces are read (see the module documentation).
    pub fn from_form_bytes(form: &[u8]) -> Params {
        let mut params = Params::new();
        let mut pieces = form.split(|&b| b == b'&').filter(|piece| !piece.is_empty());
        for piece in pieces.by_ref().take(MAX_INPUT_VARS) {
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &[][..]),
            };
            let name = params.decode(name);
            if name.is_empty() {
                continue;
            }
            let value = params.decode(value);
            params.set(name, value);
        }
        params.dropped = pieces.count();
        params
    }

    /// Builds params from already-decoded pairs; a repeated name keeps its last value.
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut params = Params::new();
        for (name, value) in pairs {
            params.set(name.into(), value.into());
        }
        params
    }

    fn decode(&mut self, raw: &[u8]) -> String {
        // `+` means space in form encoding; it must be replaced before percent-decoding so that
        // an encoded `%2B` stays a plus.
        let replaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes = percent_decode(&replaced).collect::<Vec<u8>>();
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                self.invalid_utf8 = true;
                String::from_utf8_lossy(err.as_bytes()).into_owned()
            }
        }
    }

    /// Sets `name` to `value`, replacing an existing value in place (PHP's last-wins rule).
    pub fn set(&mut self, name: String, value: String) {
        self.pairs.insert(name, value);
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.get(name).map(String::as_str)
    }

    /// Whether `name` is present (even with an empty value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The pairs in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no parameters at all (Matomo's "nothing tracked" case).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds `name=value` unless `name` is already present.
    pub fn insert_if_absent(&mut self, name: &str, value: &str) {
        if !self.contains(name) {
            self.pairs.insert(name.to_owned(), value.to_owned());
        }
    }

    /// Adds every pair of `other` whose name is not present yet (used for "query wins" merges).
    pub fn merge_missing_from(&mut self, other: Params) {
        self.invalid_utf8 |= other.invalid_utf8;
        self.dropped += other.dropped;
        for (name, value) in other.pairs {
            self.pairs.entry(name).or_insert(value);
        }
    }

    /// Removes `name`, returning its value (the others keep their order).
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.pairs.shift_remove(name)
    }

    /// The url-encoded query string (no leading `?`); `from_query` of it gives back equal pairs.
    pub fn to_query_string(&self) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }

    /// True when some percent-decoded name or value was not valid UTF-8 (it was decoded lossily).
    pub fn had_invalid_utf8(&self) -> bool {
        self.invalid_utf8
    }

    /// How many pieces were dropped beyond [`MAX_INPUT_VARS`] (0 for an ordinary request).
    pub fn dropped_over_limit(&self) -> usize {
        self.dropped
    }
}

/// What one HTTP request to `/matomo.php` carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An ordinary tracking request (GET query, form POST, or beacon with an empty body).
    Single(Params),
    /// A bulk POST (`{"requests": [...]}`).
    Bulk(BulkRequest),
}

/// A parsed bulk tracking body.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// One slot per element of `requests`, in order; a bad element never affects the others.
    /// The top-level `token_auth` is already merged into every `Ok` element.
    pub requests: Vec<Result<Params, ElementError>>,
    /// The top-level `token_auth`, if any.
    pub token_auth: Option<String>,
    /// False when the JSON has `"send_image"` as `0`, `"0"` or `""` (PHP falsy, as Matomo's
    /// `Requests::shouldSendResponse`): answer 204 instead of the JSON body.
    pub send_image: bool,
}

/// Why one element of a bulk `requests` array could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElementError {
    /// A string element whose query part is empty. Matomo skips such elements without counting
    /// them as invalid; the slot is kept here so indices match the client's array.
    #[error("bulk element {index} is a URL without a query string: send `?idsite=...&rec=1...`")]
    EmptyQuery {
        /// Position in the `requests` array.
        index: usize,
    },
    /// An element that is neither a string nor a JSON object.
    #[error("bulk element {index} is a JSON {found}: each element must be a query string or an object of parameters")]
    NotAQueryOrObject {
        /// Position in the `requests` array.
        index: usize,
        /// The JSON type found (`number`, `array`, ...).
        found: &'static str,
    },
}

/// Why an HTTP request body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body looks like a bulk request but is not usable JSON.
    #[error("invalid bulk tracking body: {0}")]
    InvalidBulkJson(String),
}

/// Reads one HTTP request to the tracking endpoint with Matomo's rules.
///
/// `url_query` is the request URL's query (with or without the leading `?`); `body` the raw body.
/// A non-bulk body is read as form-urlencoded whatever its content type: PHP would ignore a
/// `text/plain` body, but reading it lets beacons sent with that CORS-safelisted type work too,
/// and a body that is not form data yields at worst a few meaningless parameter names.
pub fn parse_incoming(url_query: &str, body: &[u8]) -> Result<Incoming, ParseError> {
    if is_bulk(body) {
        return parse_bulk(body).map(Incoming::Bulk);
    }
    let mut params = Params::from_query(url_query);
    params.merge_missing_from(Params::from_form_bytes(body));
    Ok(Incoming::Single(params))
}

/// Matomo's test: the raw body contains `"requests"` or `'requests'`, whatever the content type.
fn is_bulk(body: &[u8]) -> bool {
    const DOUBLE: &[u8] = b"\"requests\"";
    const SINGLE: &[u8] = b"'requests'";
    body.windows(DOUBLE.len())
        .any(|w| w == DOUBLE || w == SINGLE)
}

fn parse_bulk(body: &[u8]) -> Result<BulkRequest, ParseError> {
    // Matomo strips every CR and LF before decoding (`Common::sanitizeLineBreaks`), which also
    // makes a raw line break inside a JSON string acceptable.
    let body: Vec<u8> = body
        .iter()
        .copied()
        .filter(|&b| b != b'\n' && b != b'\r')
        .collect();
    let document: Value = serde_json::from_slice(&body).map_err(|err| {
        ParseError::InvalidBulkJson(format!(
            "the body contains \"requests\" so it is read as bulk JSON, but it is not valid JSON ({err}); send {{\"requests\": [\"?idsite=1&rec=1...\"]}}"
        ))
    })?;
    let Value::Object(root) = document else {
        return Err(ParseError::InvalidBulkJson(
            "the bulk body must be a JSON object like {\"requests\": [...]}".to_owned(),
        ));
    };
    let Some(Value::Array(elements)) = root.get("requests") else {
        return Err(ParseError::InvalidBulkJson(
            "the bulk body has no \"requests\" array: send {\"requests\": [\"?idsite=1&rec=1...\"]}"
                .to_owned(),
        ));
    };
    // `getRequestVar(..., 'string')` accepts strings and numbers only; anything else is the
    // default (no token; send the image).
    let token_auth = match root.get("token_auth") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let send_image = match root.get("send_image") {
        Some(Value::String(s)) => !(s.is_empty() || s == "0"),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        _ => true,
    };
    let requests = elements
        .iter()
        .enumerate()
        .map(|(index, element)| {
            let mut params = element_params(index, element)?;
            if let Some(token) = &token_auth {
                params.insert_if_absent("token_auth", token);
            }
            Ok(params)
        })
        .collect();
    Ok(BulkRequest {
        requests,
        token_auth,
        send_image,
    })
}

fn element_params(index: usize, element: &Value) -> Result<Params, ElementError> {
    match element {
        Value::String(url) => {
            // parse_url + parse_str: only the query part of the URL counts, so a bare
            // `idsite=1&rec=1` without `?` has no query for Matomo either.
            let query = match url.find('?') {
                Some(at) => &url[at + 1..],
                None => "",
            };
            let query = query.split('#').next().unwrap_or_default();
            if query.is_empty() {
                return Err(ElementError::EmptyQuery { index });
            }
            Ok(Params::from_form_bytes(query.as_bytes()))
        }
        Value::Object(map) => Ok(Params::from_pairs(
            map.iter()
                .filter_map(|(name, value)| Some((name.clone(), scalar_or_json(value)?))),
        )),
        other => Err(ElementError::NotAQueryOrObject {
            index,
            found: json_type(other),
        }),
    }
}

/// PHP's string conversion of a JSON scalar: numbers as written, `true` as `1`, `false` as ``.
fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("1".to_owned()),
        Value::Bool(false) => Some(String::new()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A parameter value from a JSON object element: scalars as PHP would stringify them, `null`
/// dropped (PHP's `isset` is false), nested arrays/objects re-encoded as JSON, which is what the
/// JSON-typed parameters (`ec_items`, `_cvar`, `uadata`) expect.
fn scalar_or_json(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
        scalar => scalar_to_string(scalar),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(query: &str, body: &[u8]) -> Params {
        match parse_incoming(query, body) {
            Ok(Incoming::Single(p)) => p,
            other => panic!("expected a single request, got {other:?}"),
        }
    }

    fn bulk(body: &str) -> BulkRequest {
        match parse_incoming("", body.as_bytes()) {
            Ok(Incoming::Bulk(b)) => b,
            other => panic!("expected a bulk request, got {other:?}"),
        }
    }

    #[test]
    fn a_query_is_percent_and_plus_decoded() {
        let p = Params::from_query("?action_name=Hello+World%21&url=https%3A%2F%2Fa.b%2F%3Fx%3D1");
        assert_eq!(p.get("action_name"), Some("Hello World!"));
        assert_eq!(p.get("url"), Some("https://a.b/?x=1"));
        assert!(!p.had_invalid_utf8());
    }

    #[test]
    fn an_encoded_plus_stays_a_plus() {
        assert_eq!(Params::from_query("q=a%2Bb").get("q"), Some("a+b"));
    }

    #[test]
    fn anything_before_the_question_mark_is_ignored() {
        let p = Params::from_query("https://example.com/matomo.php?idsite=3&rec=1#frag");
        assert_eq!(p.get("idsite"), Some("3"));
        assert_eq!(p.get("rec"), Some("1"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value_like_php() {
        let p = Params::from_query("a=1&b=2&a=3");
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_name_without_value_is_present_and_empty() {
        let p = Params::from_query("rec&=x&&idsite=");
        assert_eq!(p.get("rec"), Some(""));
        assert_eq!(p.get("idsite"), Some(""));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_and_reported() {
        let p = Params::from_query("action_name=a%FFb");
        assert_eq!(p.get("action_name"), Some("a\u{FFFD}b"));
        assert!(p.had_invalid_utf8());
    }

    #[test]
    fn the_query_string_round_trips() {
        let p = Params::from_query(
            "url=https%3A%2F%2Fx.y%2F%3Fa%3Db%26c&action_name=%C3%A9t%C3%A9+%2B&e=",
        );
        let again = Params::from_query(&p.to_query_string());
        assert_eq!(again, p);
        assert_eq!(again.get("action_name"), Some("été +"));
    }

    #[test]
    fn a_hundred_thousand_names_keep_the_first_thousand_like_php() {
        let body: Vec<u8> = (0..100_000)
            .map(|i| format!("n{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        let p = single("idsite=1&rec=1", &body);
        assert_eq!(p.len(), 2 + MAX_INPUT_VARS);
        assert_eq!(p.dropped_over_limit(), 100_000 - MAX_INPUT_VARS);
        assert_eq!(p.get("n999"), Some("v999"));
        assert_eq!(p.get("n1000"), None, "the 1001st piece is dropped");
        assert_eq!(p.get("idsite"), Some("1"));
    }

    #[test]
    fn repeated_names_count_towards_the_cap() {
        let query = "a=1&".repeat(MAX_INPUT_VARS) + "b=2";
        let p = Params::from_query(&query);
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.dropped_over_limit(), 1);
        assert_eq!(Params::from_query("a=1&b=2").dropped_over_limit(), 0);
    }

    #[test]
    fn remove_keeps_the_order_of_the_others() {
        let mut p = Params::from_query("a=1&b=2&c=3");
        assert_eq!(p.remove("b"), Some("2".to_owned()));
        assert_eq!(p.remove("b"), None);
        assert_eq!(p.to_query_string(), "a=1&c=3");
        assert_ne!(Params::from_query("a=1&c=3"), Params::from_query("c=3&a=1"));
    }

    #[test]
    fn insert_if_absent_keeps_an_existing_value() {
        let mut p = Params::from_query("token_auth=mine");
        p.insert_if_absent("token_auth", "other");
        p.insert_if_absent("idsite", "1");
        assert_eq!(p.get("token_auth"), Some("mine"));
        assert_eq!(p.get("idsite"), Some("1"));
    }

    #[test]
    fn the_url_query_wins_over_the_body_on_a_key_clash() {
        let p = single("idsite=1&rec=1", b"idsite=2&action_name=Body");
        assert_eq!(p.get("idsite"), Some("1"));
        assert_eq!(p.get("action_name"), Some("Body"));
    }

    #[test]
    fn an_empty_body_beacon_reads_the_url_parameters() {
        let p = single("?idsite=5&rec=1&send_image=0", b"");
        assert_eq!(p.get("idsite"), Some("5"));
        assert_eq!(p.get("send_image"), Some("0"));
    }

    #[test]
    fn a_form_body_alone_is_read() {
        let p = single("", b"idsite=7&rec=1");
        assert_eq!(p.get("idsite"), Some("7"));
    }

    #[test]
    fn invalid_utf8_in_a_form_body_is_reported() {
        let p = single("", b"idsite=1&action_name=\xff%FE");
        assert!(p.had_invalid_utf8());
        assert_eq!(p.get("idsite"), Some("1"));
    }

    #[test]
    fn a_bulk_body_with_string_and_object_elements_is_read_in_order() {
        let b = bulk(
            r#"{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fa.b%2F",
                "https://x.y/matomo.php?idsite=2&rec=1",
                {"idsite":3,"rec":1,"e_v":1.5,"bots":true,"ping":false,"ec_items":[["sku",1]],"x":null}],
               "token_auth":"abc","send_image":0}"#,
        );
        assert_eq!(b.requests.len(), 3);
        assert!(!b.send_image);
        assert_eq!(b.token_auth.as_deref(), Some("abc"));
        let p0 = b.requests[0].as_ref().expect("element 0");
        assert_eq!(p0.get("url"), Some("https://a.b/"));
        assert_eq!(p0.get("token_auth"), Some("abc"));
        let p1 = b.requests[1].as_ref().expect("element 1");
        assert_eq!(p1.get("idsite"), Some("2"));
        let p2 = b.requests[2].as_ref().expect("element 2");
        assert_eq!(p2.get("idsite"), Some("3"));
        assert_eq!(p2.get("e_v"), Some("1.5"));
        assert_eq!(p2.get("bots"), Some("1"));
        assert_eq!(p2.get("ping"), Some(""));
        assert_eq!(p2.get("ec_items"), Some(r#"[["sku",1]]"#));
        assert_eq!(p2.get("x"), None);
        assert_eq!(p2.get("token_auth"), Some("abc"));
    }

    #[test]
    fn an_element_token_auth_is_not_overwritten_by_the_top_level_one() {
        let b = bulk(r#"{"requests":["?idsite=1&token_auth=own"],"token_auth":"top"}"#);
        let p = b.requests[0].as_ref().expect("element");
        assert_eq!(p.get("token_auth"), Some("own"));
    }

    #[test]
    fn one_malformed_bulk_element_does_not_drop_the_others() {
        let b = bulk(
            r#"{"requests":["?idsite=1&rec=1", 42, "https://no.query/", ["a"], {"idsite":"4"}]}"#,
        );
        assert_eq!(b.requests.len(), 5);
        assert!(b.requests[0].is_ok());
        assert_eq!(
            b.requests[1],
            Err(ElementError::NotAQueryOrObject {
                index: 1,
                found: "number"
            })
        );
        assert_eq!(b.requests[2], Err(ElementError::EmptyQuery { index: 2 }));
        assert!(matches!(
            b.requests[3],
            Err(ElementError::NotAQueryOrObject { found: "array", .. })
        ));
        assert_eq!(
            b.requests[4].as_ref().ok().and_then(|p| p.get("idsite")),
            Some("4")
        );
        assert!(b.send_image, "send_image defaults to true");
    }

    #[test]
    fn send_image_as_the_string_zero_means_no_image() {
        assert!(!bulk(r#"{"requests":[],"send_image":"0"}"#).send_image);
        assert!(bulk(r#"{"requests":[],"send_image":1}"#).send_image);
    }

    #[test]
    fn send_image_follows_phps_falsy_strings_and_numbers_only() {
        assert!(!bulk(r#"{"requests":[],"send_image":""}"#).send_image);
        assert!(!bulk(r#"{"requests":[],"send_image":0.0}"#).send_image);
        assert!(
            bulk(r#"{"requests":[],"send_image":false}"#).send_image,
            "a bool is not a string: default"
        );
        assert!(bulk(r#"{"requests":[],"send_image":null}"#).send_image);
    }

    #[test]
    fn line_breaks_in_a_bulk_body_are_stripped_like_matomo() {
        let b = bulk("{\"requests\":[\"?idsite=1&action_name=a\nb\"],\r\n\"token_auth\":true}");
        let p = b.requests[0].as_ref().expect("element");
        assert_eq!(p.get("action_name"), Some("ab"));
        assert_eq!(b.token_auth, None, "a boolean token_auth is ignored");
    }

    #[test]
    fn a_bulk_body_that_is_not_json_is_an_actionable_error() {
        let err = parse_incoming("", br#"{"requests": [ "?idsite=1" "#).expect_err("must fail");
        let ParseError::InvalidBulkJson(message) = err;
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn a_bulk_body_without_a_requests_array_is_an_error() {
        let err = parse_incoming("", br#"{"requests": "?idsite=1"}"#).expect_err("must fail");
        assert!(err.to_string().contains("no \"requests\" array"), "{err}");
        let err = parse_incoming("", br#"["requests"]"#).expect_err("must fail");
        assert!(err.to_string().contains("JSON object"), "{err}");
    }

    #[test]
    fn invalid_utf8_in_a_bulk_body_is_invalid_json() {
        let err = parse_incoming("", b"{\"requests\":[\"?a=\xff\"]}").expect_err("must fail");
        assert!(matches!(err, ParseError::InvalidBulkJson(_)));
    }

    #[test]
    fn single_quoted_requests_also_selects_bulk_mode() {
        let err =
            parse_incoming("", b"{'requests': []}").expect_err("PHP json_decode rejects it too");
        assert!(matches!(err, ParseError::InvalidBulkJson(_)));
    }
}
