//! The parameters of one Reporting API request: the URL query and the form body, merged the way
//! Matomo merges them, with PHP's `name[]=` / `name[N]=` array syntax.
//!
//! Matomo reads `$_GET + $_POST` (`core/API/Request.php::getDefaultRequest` through
//! `Request::getRequestArrayFromString`): on a name present in both, the **URL query wins**, as in
//! the tracker. Within one source a repeated plain name keeps its last value (PHP's `parse_str`).
//!
//! Names are kept in index maps, so parsing and merging are linear in the number of pieces. Each
//! source is read up to [`MAX_INPUT_VARS`] pieces, as PHP's `max_input_vars` does; where PHP then
//! drops the rest with a warning (`main/php_variables.c`) and Matomo answers from what is left,
//! the count of dropped pieces is kept ([`ApiParams::dropped_over_limit`]) and the request is
//! refused with an error, so a truncated question never gets a silently wrong answer.

use indexmap::IndexMap;
use percent_encoding::percent_decode;
pub use shared::params::MAX_INPUT_VARS;

/// The merged (name, value) pairs of one API request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiParams {
    /// Plain names: one value each, first source wins.
    pairs: IndexMap<String, String>,
    /// Array names (`urls` for `urls[]=` and `urls[0]=`): values in order of appearance.
    arrays: IndexMap<String, Vec<String>>,
    /// Pieces dropped beyond [`MAX_INPUT_VARS`], over all sources.
    dropped: usize,
    /// Whether `token_auth` came from the URL query (where proxies and logs see it).
    token_auth_in_url: bool,
}

impl ApiParams {
    /// Merges the URL query and a form-encoded body, the query winning on a clash.
    pub fn from_query_and_form(query: &str, form: &[u8]) -> Self {
        let mut from_query = Self::parse(query.as_bytes());
        from_query.token_auth_in_url = from_query.pairs.contains_key("token_auth");
        let from_form = Self::parse(form);
        from_query.dropped += from_form.dropped;
        for (name, value) in from_form.pairs {
            from_query.pairs.entry(name).or_insert(value);
        }
        for (name, values) in from_form.arrays {
            from_query.arrays.entry(name).or_insert(values);
        }
        from_query
    }

    /// Parses one `a=1&b[]=2` string (a leading `?` is ignored), at most [`MAX_INPUT_VARS`]
    /// pieces of it.
    pub fn parse(raw: &[u8]) -> Self {
        let raw = raw.strip_prefix(b"?").unwrap_or(raw);
        let mut params = Self::default();
        let mut pieces = raw
            .split(|byte| *byte == b'&')
            .filter(|piece| !piece.is_empty());
        for piece in pieces.by_ref().take(MAX_INPUT_VARS) {
            let (name, value) = match piece.iter().position(|byte| *byte == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &b""[..]),
            };
            let name = decode(name);
            let value = decode(value);
            if let Some(open) = name.find('[').filter(|_| name.ends_with(']')) {
                let base = name[..open].to_owned();
                params.arrays.entry(base).or_default().push(value);
            } else {
                params.set(name, value);
            }
        }
        params.dropped = pieces.count();
        params
    }

    /// Sets a plain value, replacing an existing one in place.
    pub fn set(&mut self, name: String, value: String) {
        self.pairs.insert(name, value);
    }

    /// Removes a plain value and an array of the same name (the others keep their order).
    pub fn remove(&mut self, name: &str) {
        self.pairs.shift_remove(name);
        self.arrays.shift_remove(name);
    }

    /// A plain value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.get(name).map(String::as_str)
    }

    /// Whether `token_auth` was sent in the URL query of the HTTP request rather than in its POST
    /// body (`Request::isTokenAuthProvidedSecurely` is the opposite).
    pub fn token_auth_in_url(&self) -> bool {
        self.token_auth_in_url
    }

    /// How many pieces were dropped beyond [`MAX_INPUT_VARS`] (0 for an ordinary request).
    pub fn dropped_over_limit(&self) -> usize {
        self.dropped
    }

    /// Every parameter except `token_auth`, in order and unambiguously delimited: two requests
    /// with the same key ask the same question (who asks is checked separately).
    pub fn cache_key(&self) -> String {
        let mut key = String::new();
        for (name, value) in self.pairs.iter().filter(|(name, _)| *name != "token_auth") {
            key.push_str(&format!("{}:{name}={}:{value}&", name.len(), value.len()));
        }
        for (name, values) in &self.arrays {
            key.push_str(&format!("{}:{name}[]", name.len()));
            for value in values {
                key.push_str(&format!("{}:{value},", value.len()));
            }
            key.push('&');
        }
        key
    }

    /// A plain value that is present and not empty (PHP's `!empty()` on strings, minus "0").
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// A boolean flag: `1`, `true` (Matomo's `Common::getRequestVar(..., 'int')` plus `true`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(v) if v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// The values of `name[]=`, or of a plain `name=` when no array was sent.
    pub fn list(&self, name: &str) -> Vec<String> {
        if let Some(values) = self.arrays.get(name) {
            return values.clone();
        }
        self.get(name)
            .map(|v| vec![v.to_owned()])
            .unwrap_or_default()
    }

    /// Fills every name missing here from `defaults` (the bulk request's `$params += $query`).
    pub fn fill_from(&mut self, defaults: &ApiParams) {
        for (name, value) in &defaults.pairs {
            if self.get(name).is_none() && self.list(name).is_empty() {
                self.pairs.insert(name.clone(), value.clone());
            }
        }
        for (name, values) in &defaults.arrays {
            if self.list(name).is_empty() {
                self.arrays.insert(name.clone(), values.clone());
            }
        }
    }
}

/// `+` is a space, then percent-decoding; invalid UTF-8 is decoded lossily.
fn decode(raw: &[u8]) -> String {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|byte| if *byte == b'+' { b' ' } else { *byte })
        .collect();
    percent_decode(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_ignores_the_token_but_not_any_other_parameter() {
        let a = ApiParams::parse(b"method=A.b&date=today&token_auth=x");
        let b = ApiParams::parse(b"method=A.b&date=today&token_auth=y");
        let c = ApiParams::parse(b"method=A.b&date=yesterday&token_auth=x");
        let d = ApiParams::parse(b"method=A.b&date=today&u[]=1");
        assert_eq!(a.cache_key(), b.cache_key());
        assert_ne!(a.cache_key(), c.cache_key());
        assert_ne!(a.cache_key(), d.cache_key());
        // Delimiters inside values cannot forge another parameter list.
        let e = ApiParams::parse(b"a=1%26b%3D2");
        let f = ApiParams::parse(b"a=1&b=2");
        assert_ne!(e.cache_key(), f.cache_key());
    }

    #[test]
    fn the_url_query_wins_over_the_form_body_on_a_clash() {
        let params = ApiParams::from_query_and_form("format=xml&a=1", b"format=json&b=2");
        assert_eq!(params.get("format"), Some("xml"));
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("2"));
        assert!(!params.token_auth_in_url());
        assert!(ApiParams::from_query_and_form("token_auth=x", b"").token_auth_in_url());
        assert!(!ApiParams::from_query_and_form("a=1", b"token_auth=x").token_auth_in_url());
    }

    #[test]
    fn bracket_arrays_keep_their_order_with_or_without_indexes() {
        let params = ApiParams::parse(b"urls[]=https%3A%2F%2Fa&urls[]=b+c&x[0]=1&x[1]=2");
        assert_eq!(params.list("urls"), vec!["https://a", "b c"]);
        assert_eq!(params.list("x"), vec!["1", "2"]);
        assert_eq!(params.get("urls"), None);
    }

    #[test]
    fn a_plain_value_is_a_one_element_list() {
        assert_eq!(ApiParams::parse(b"urls=a").list("urls"), vec!["a"]);
        assert!(ApiParams::parse(b"").list("urls").is_empty());
    }

    #[test]
    fn a_repeated_plain_name_keeps_its_last_value() {
        assert_eq!(ApiParams::parse(b"?a=1&a=2").get("a"), Some("2"));
    }

    #[test]
    fn each_source_is_read_up_to_the_cap_and_the_rest_is_counted() {
        let form: Vec<u8> = (0..100_000)
            .map(|i| format!("n{i}=1"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        let params = ApiParams::from_query_and_form("module=API&u[]=a&u[]=b", &form);
        assert_eq!(params.get("module"), Some("API"));
        assert_eq!(params.list("u"), vec!["a", "b"]);
        assert_eq!(params.get("n999"), Some("1"));
        assert_eq!(params.get("n1000"), None);
        assert_eq!(params.dropped_over_limit(), 100_000 - MAX_INPUT_VARS);
        let arrays = "u[]=x&".repeat(MAX_INPUT_VARS + 5);
        let params = ApiParams::parse(arrays.as_bytes());
        assert_eq!(params.list("u").len(), MAX_INPUT_VARS);
        assert_eq!(params.dropped_over_limit(), 5);
    }

    #[test]
    fn filling_from_defaults_never_overrides() {
        let mut sub = ApiParams::parse(b"method=A.b&idSite=2");
        sub.fill_from(&ApiParams::parse(b"idSite=1&token_auth=t"));
        assert_eq!(sub.get("idSite"), Some("2"));
        assert_eq!(sub.get("token_auth"), Some("t"));
    }
}
