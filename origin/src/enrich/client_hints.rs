//! User-agent client hints, as Matomo's DeviceDetector reads them (`ClientHints.php`): from the
//! tracker's `uadata` parameter (the JSON of `navigator.userAgentData.getHighEntropyValues`) or,
//! when a request has none, from the `Sec-CH-UA-*` headers, of a direct tracking request or as
//! the edge forwards them (`shared::batch::HintHeaders`) (Matomo's
//! `core/Tracker/Request.php::getClientHints`: the request's data wins over headers).
//!
//! Read: the brand list (`fullVersionList`, else `brands`; `Sec-CH-UA-Full-Version-List`, else
//! `Sec-CH-UA`), `platform`, `platformVersion` and `model`. `mobile` (`Sec-CH-UA-Mobile`) is
//! not read: DeviceDetector uses it only for `isMobile()`, which Matomo does not store (the
//! device type comes from the user agent). Hints that are not valid JSON or not strings are
//! ignored, as DeviceDetector ignores them, and the user agent alone decides.

use serde::Deserialize;

/// The client hints of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHints {
    /// `(brand, full version)` in the browser's order, GREASE brands included.
    pub brands: Vec<(String, String)>,
    pub platform: String,
    pub platform_version: String,
    pub model: String,
}

#[derive(Deserialize)]
struct Brand {
    brand: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UaData {
    #[serde(default)]
    full_version_list: Vec<Brand>,
    #[serde(default)]
    brands: Vec<Brand>,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    platform_version: String,
    #[serde(default)]
    model: String,
}

impl ClientHints {
    /// No hint at all: detection uses the user agent alone.
    pub fn is_empty(&self) -> bool {
        self.brands.is_empty()
            && self.platform.is_empty()
            && self.platform_version.is_empty()
            && self.model.is_empty()
    }

    /// The hints of the tracker's `uadata` JSON; `None` when it is not a JSON object of the
    /// expected shape.
    pub fn from_uadata(json: &str) -> Option<Self> {
        let data: UaData = serde_json::from_str(json).ok()?;
        let list = if data.full_version_list.is_empty() {
            data.brands
        } else {
            data.full_version_list
        };
        Some(Self {
            brands: list.into_iter().map(|b| (b.brand, b.version)).collect(),
            platform: data.platform,
            platform_version: data.platform_version,
            model: data.model,
        })
    }

    /// The hints of the `Sec-CH-UA-*` headers, given a lookup by lower-case header name.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Self {
        let unquote = |name: &str| {
            header(name)
                .map(|value| value.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        let brands = header("sec-ch-ua-full-version-list")
            .map(brand_list)
            .filter(|list| !list.is_empty())
            .or_else(|| header("sec-ch-ua").map(brand_list))
            .unwrap_or_default();
        Self {
            brands,
            platform: unquote("sec-ch-ua-platform"),
            platform_version: unquote("sec-ch-ua-platform-version"),
            model: unquote("sec-ch-ua-model"),
        }
    }

    /// The request's hints: its `uadata` when that is valid and not empty, else the headers'.
    pub fn for_request(uadata: Option<&str>, headers: &Self) -> Self {
        uadata
            .and_then(Self::from_uadata)
            .filter(|hints| !hints.is_empty())
            .unwrap_or_else(|| headers.clone())
    }
}

/// A structured-header brand list: `"Chromium";v="124.0.6367.91", "Google Chrome";v="124..."`.
fn brand_list(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .filter_map(|item| {
            let (brand, version) = item.split_once(';')?;
            let version = version.trim().strip_prefix("v=")?;
            Some((
                brand.trim().trim_matches('"').to_owned(),
                version.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UADATA: &str = r#"{"fullVersionList":[{"brand":"Chromium","version":"124.0.6367.91"},{"brand":"Google Chrome","version":"124.0.6367.91"},{"brand":"Not-A.Brand","version":"99.0.0.0"}],"mobile":false,"model":"","platform":"Windows","platformVersion":"15.0.0"}"#;

    #[test]
    fn uadata_gives_the_full_version_list_and_platform() {
        let hints = ClientHints::from_uadata(UADATA).unwrap();
        assert_eq!(hints.brands.len(), 3);
        assert_eq!(
            hints.brands[1],
            ("Google Chrome".to_owned(), "124.0.6367.91".to_owned())
        );
        assert_eq!(
            (hints.platform.as_str(), hints.platform_version.as_str()),
            ("Windows", "15.0.0")
        );
    }

    #[test]
    fn uadata_falls_back_to_brands_and_rejects_bad_json() {
        let hints =
            ClientHints::from_uadata(r#"{"brands":[{"brand":"Opera","version":"110"}]}"#).unwrap();
        assert_eq!(hints.brands, [("Opera".to_owned(), "110".to_owned())]);
        assert_eq!(ClientHints::from_uadata("{not json"), None);
        assert_eq!(ClientHints::from_uadata(r#"{"model":5}"#), None);
    }

    #[test]
    fn headers_give_the_same_hints() {
        let headers = [
            (
                "sec-ch-ua",
                r#""Chromium";v="124", "Google Chrome";v="124""#,
            ),
            (
                "sec-ch-ua-full-version-list",
                r#""Chromium";v="124.0.6367.91", "Google Chrome";v="124.0.6367.91", "Not-A.Brand";v="99.0.0.0""#,
            ),
            ("sec-ch-ua-platform", r#""Android""#),
            ("sec-ch-ua-platform-version", r#""14.0.0""#),
            ("sec-ch-ua-model", r#""Pixel 8""#),
        ];
        let hints = ClientHints::from_headers(|name| {
            headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        });
        assert_eq!(
            hints.brands[1],
            ("Google Chrome".to_owned(), "124.0.6367.91".to_owned())
        );
        assert_eq!(hints.platform, "Android");
        assert_eq!(hints.platform_version, "14.0.0");
        assert_eq!(hints.model, "Pixel 8");
        // Without the full list, Sec-CH-UA's major versions.
        let short = ClientHints::from_headers(|name| {
            (name == "sec-ch-ua").then_some(r#""Chromium";v="124", "Google Chrome";v="124""#)
        });
        assert_eq!(short.brands[0], ("Chromium".to_owned(), "124".to_owned()));
    }

    #[test]
    fn uadata_wins_over_headers_unless_empty() {
        let headers = ClientHints {
            platform: "macOS".to_owned(),
            ..ClientHints::default()
        };
        let from_uadata = ClientHints::for_request(Some(UADATA), &headers);
        assert_eq!(from_uadata.platform, "Windows");
        assert_eq!(ClientHints::for_request(Some("{}"), &headers), headers);
        assert_eq!(ClientHints::for_request(Some("oops"), &headers), headers);
        assert_eq!(ClientHints::for_request(None, &headers), headers);
    }
}
