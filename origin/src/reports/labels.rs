//! Label and metadata functions of the visit-dimension reports whose archived value is a code
//! Matomo maps to a name (DeviceDetector codes, device types), with the row metadata each report
//! adds after its metrics, in Matomo's order.
//!
//! Logos: Matomo points at `plugins/Morpheus/icons/dist/<kind>/<code>.png`, or `UNK.png` when
//! that file is missing from its installation; Edgemeter serves no icons, so it names the file
//! for the code (the conformance comparison ignores logo paths).

use serde_json::{Map, Value};

use super::{
    format::php_urlencode,
    names::{COUNTRY_NAMES, LANGUAGE_NAMES},
};
use crate::enrich::device;

fn put(columns: &mut Map<String, Value>, name: &str, value: String) {
    columns.insert(name.to_owned(), Value::from(value));
}

/// `DevicesDetection.getType`: the archived `config_device_type` number (empty for a visit
/// DeviceDetector gave no type) to its name (`getDeviceTypeLabel`).
pub(super) fn device_type(value: &str) -> String {
    value
        .parse::<u8>()
        .map_or("Unknown", device::device_type_name)
        .to_owned()
}

/// Every device type has a row, zero when no visit had it (`DevicesDetection\API::getType`).
pub(super) const DEVICE_TYPES: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
];

/// `segment=deviceType==<name, lowercase>`, then the device type's logo.
pub(super) fn device_type_metadata(value: &str, columns: &mut Map<String, Value>) {
    let name = device_type(value).to_lowercase();
    put(
        columns,
        "segment",
        format!("deviceType=={}", php_urlencode(&name)),
    );
    put(
        columns,
        "logo",
        format!(
            "plugins/Morpheus/icons/dist/devices/{}.png",
            name.replace(' ', "_")
        ),
    );
}

/// `DevicesDetection.getBrowsers`: a DeviceDetector browser code to its name.
pub(super) fn browser(value: &str) -> String {
    device::browser_name(value).to_owned()
}

/// The browser's logo, then `segment=browserCode==<code>`.
pub(super) fn browser_metadata(value: &str, columns: &mut Map<String, Value>) {
    let code = if value.is_empty() { "UNK" } else { value };
    put(
        columns,
        "logo",
        format!("plugins/Morpheus/icons/dist/browsers/{code}.png"),
    );
    put(
        columns,
        "segment",
        format!("browserCode=={}", php_urlencode(value)),
    );
}

/// `DevicesDetection.getOsFamilies`: a DeviceDetector OS code to its family (codes of one family
/// share a row).
pub(super) fn os_family(value: &str) -> String {
    device::os_family(value).to_owned()
}

/// Only the family's logo: Matomo gives the families no segment.
pub(super) fn os_family_metadata(value: &str, columns: &mut Map<String, Value>) {
    let code = if value.is_empty() { "UNK" } else { value };
    put(
        columns,
        "logo",
        format!("plugins/Morpheus/icons/dist/os/{code}.png"),
    );
}

/// The archived value as it is (`Resolution.getResolution`).
pub(super) fn as_is(value: &str) -> String {
    value.to_owned()
}

/// `segment=resolution==<value>`.
pub(super) fn resolution_metadata(value: &str, columns: &mut Map<String, Value>) {
    put(
        columns,
        "segment",
        format!("resolution=={}", php_urlencode(value)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_types_are_named_and_segmented_as_matomo() {
        assert_eq!(device_type("0"), "Desktop");
        assert_eq!(device_type(""), "Unknown");
        let mut columns = Map::new();
        device_type_metadata("6", &mut columns);
        assert_eq!(columns["segment"], "deviceType==car+browser");
        assert_eq!(browser("CH"), "Chrome");
        assert_eq!(os_family("WIN"), "Windows");
    }
}

/// Matomo's `Common::extractLanguageCodeFromBrowserLanguage` over a stored browser language
/// (`location_browser_lang`, an `Accept-Language` value or the `lang` parameter): the first
/// `,`-separated entry (at the start or right after a comma) that is `[a-z]{2,3}` with an
/// optional `-script` and `-region`, whose language is known, cut to its first two letters;
/// `xx` when none is.
pub(super) fn language_code(browser_language: &str) -> String {
    let lower = browser_language.to_lowercase();
    for entry in lower.split(',') {
        let letters = entry.bytes().take_while(u8::is_ascii_lowercase).count();
        if letters < 2 {
            continue;
        }
        // `[a-z]{2,3}`: at most three letters, whatever follows.
        let language = &entry[..letters.min(3)];
        if known_language(language) {
            return language.chars().take(2).collect();
        }
    }
    "xx".to_owned()
}

fn known_language(code: &str) -> bool {
    LANGUAGE_NAMES
        .binary_search_by(|(known, _)| (*known).cmp(code))
        .is_ok()
}

/// `UserLanguage.getLanguage`: the language's English name (`languageTranslate`): `Unknown` for
/// `xx`, `Language code <code>` for a code without a name.
pub(super) fn language(browser_language: &str) -> String {
    let code = language_code(browser_language);
    if code == "xx" {
        return "Unknown".to_owned();
    }
    LANGUAGE_NAMES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(
            || format!("Language code {code}"),
            |(_, name)| (*name).to_owned(),
        )
}

/// `segment=languageCode==<code>,languageCode=@<code>-` (`languageCode==xx` when unknown).
pub(super) fn language_metadata(browser_language: &str, columns: &mut Map<String, Value>) {
    let code = language_code(browser_language);
    let segment = if code == "xx" {
        "languageCode==xx".to_owned()
    } else {
        format!("languageCode=={code},languageCode=@{code}-")
    };
    put(columns, "segment", segment);
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn browser_languages_read_as_matomo_reads_them() {
        assert_eq!(language_code("en-US,en;q=0.9"), "en");
        assert_eq!(language_code("pt-br"), "pt");
        assert_eq!(language_code("zz,de;q=0.5"), "de");
        // Matomo's pattern takes an entry only at the start or right after a comma.
        assert_eq!(language_code("zz, de"), "xx");
        assert_eq!(language(""), "Unknown");
        assert_eq!(language("ja-JP"), "Japanese");
        let mut columns = Map::new();
        language_metadata("en-gb", &mut columns);
        assert_eq!(columns["segment"], "languageCode==en,languageCode=@en-");
    }

    #[test]
    fn the_language_names_are_sorted_for_the_binary_search() {
        assert!(LANGUAGE_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

/// The archived country code (lower case, `xx` or empty when unknown), with Matomo's merge of
/// `ti` into `cn` (`UserCountry\API::getCountry`).
fn country_code(value: &str) -> String {
    match value.to_lowercase().as_str() {
        "" => "xx".to_owned(),
        "ti" => "cn".to_owned(),
        code => code.to_owned(),
    }
}

/// `UserCountry.getCountry`: the country's English name (`countryTranslate`: Intl's name, then
/// UserCountry's special codes, else `Unknown`).
pub(super) fn country(value: &str) -> String {
    let code = country_code(value);
    let special = [
        ("a1", "Anonymous proxy"),
        ("a2", "Satellite provider"),
        ("cat", "Catalan-speaking communities"),
        ("o1", "Other country"),
    ];
    COUNTRY_NAMES
        .iter()
        .chain(special.iter())
        .find(|(known, _)| *known == code)
        .map_or("Unknown", |(_, name)| name)
        .to_owned()
}

/// `code`, the flag `logo`, `segment=countryCode==<code>` and `logoHeight` 16.
pub(super) fn country_metadata(value: &str, columns: &mut Map<String, Value>) {
    let code = country_code(value);
    put(columns, "code", code.clone());
    put(
        columns,
        "logo",
        format!("plugins/Morpheus/icons/dist/flags/{code}.png"),
    );
    put(
        columns,
        "segment",
        format!("countryCode=={}", php_urlencode(&code)),
    );
    columns.insert("logoHeight".into(), Value::from(16));
}

#[cfg(test)]
mod country_tests {
    use super::*;

    #[test]
    fn countries_are_named_and_coded_as_matomo() {
        assert_eq!(country("us"), "United States");
        assert_eq!(country("ti"), "China");
        assert_eq!(country("xx"), "Unknown");
        assert_eq!(country("a1"), "Anonymous proxy");
        let mut columns = Map::new();
        country_metadata("gb", &mut columns);
        let keys: Vec<&str> = columns.keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "logo", "segment", "logoHeight"]);
        assert_eq!(columns["segment"], "countryCode==gb");
    }

    #[test]
    fn the_country_names_are_sorted_and_lower_case() {
        assert!(COUNTRY_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COUNTRY_NAMES.iter().all(|(c, _)| *c == c.to_lowercase()));
    }
}

/// `DevicesDetection.getBrowserEngines`: `getBrowserEngineName` (legacy type names mapped to
/// engines, Matomo's display names, else the engine itself, `Unknown` when empty).
pub(super) fn browser_engine(value: &str) -> String {
    let engine = match value {
        "ie" => "Trident",
        "gecko" => "Gecko",
        "khtml" => "KHTML",
        "webkit" => "WebKit",
        "opera" => "Presto",
        "unknown" => "",
        other => other,
    };
    match engine {
        "" => "Unknown",
        "Trident" => "Trident (IE)",
        "Gecko" => "Gecko (Firefox)",
        "KHTML" => "KHTML (Konqueror)",
        "Presto" => "Presto (Opera)",
        "WebKit" => "WebKit (Safari)",
        "Blink" => "Blink (Chrome, Opera)",
        other => other,
    }
    .to_owned()
}

/// `segment=browserEngine==<engine>` (`AddSegmentValue`: the archived value, empty included).
pub(super) fn browser_engine_metadata(value: &str, columns: &mut Map<String, Value>) {
    put(
        columns,
        "segment",
        format!("browserEngine=={}", php_urlencode(value)),
    );
}

#[cfg(test)]
mod engine_tests {
    use super::*;

    #[test]
    fn engines_are_named_as_matomo() {
        assert_eq!(browser_engine("Blink"), "Blink (Chrome, Opera)");
        assert_eq!(browser_engine("Edge"), "Edge");
        assert_eq!(browser_engine(""), "Unknown");
        assert_eq!(browser_engine("webkit"), "WebKit (Safari)");
        let mut columns = Map::new();
        browser_engine_metadata("", &mut columns);
        assert_eq!(columns["segment"], "browserEngine==");
    }
}
