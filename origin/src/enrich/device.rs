//! Device, browser and operating-system detection from the user agent, mapped to the codes and
//! labels of Matomo's DeviceDetector (`log_visit.config_os`, `config_browser_name`, ...).
//!
//! Library: `uaparser` (crate, MIT) with the ua-parser project's `regexes.yaml` from the npm
//! package `uap-core` 0.18.0 (Apache-2.0, `data/uap-core.LICENSE`), embedded at build time.
//! Chosen over `woothee` (Apache-2.0) because, for the scenario's user agents, woothee cannot
//! tell Mobile Safari from Safari, reports the iPad as a smartphone, reports Ubuntu as plain
//! Linux and gives no device brand or model; ua-parser gives all of these. ua-parser is slow on
//! an unseen user agent (about 2-10 ms in release, the first call after start also builds the
//! parser, about 1 s), so results are cached per user-agent string in a bounded map; a cached
//! lookup is a hash and a clone.
//!
//! Codes and labels are DeviceDetector's (matomo-org/device-detector `Parser/Client/Browser.php`,
//! `Parser/OperatingSystem.php`, `Parser/Device/AbstractDeviceParser.php`), mapped from
//! ua-parser's family names by the tables below; anything unmapped is `UNK` / "Unknown".
//!
//! Differences kept versus Matomo 5.3.1 for the scenario's 10 user agents (golden
//! `DevicesDetection.*`, `Live.getLastVisitsDetails`): all browser, OS, OS family, version,
//! engine and device-type labels match; the Samsung `SM-S911B` is reported with model
//! `SM-S911B` where DeviceDetector says `Galaxy S23` (ua-parser has no marketing names).
//! Googlebot and bingbot are bots in both. Client hints are not read (no scenario request has
//! them); a Chrome that freezes its UA to `Windows NT 10.0` is therefore Windows 10, as in
//! Matomo without hints.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use uaparser::{Parser, UserAgentParser};

/// What Matomo stores about a visitor's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// DeviceDetector OS code: `WIN`, `MAC`, `IOS`, `IPA` (iPadOS), `AND`, `LIN`, `UBT`, ... `UNK`.
    pub os: String,
    pub os_version: String,
    /// DeviceDetector browser code: `CH`, `CM`, `MF`, `SF`, `FF`, `PS` (Edge), `SB`, ... `UNK`.
    pub browser: String,
    /// `major.minor`, as DeviceDetector truncates it.
    pub browser_version: String,
    /// `Blink`, `WebKit`, `Gecko`, `Trident`, or empty.
    pub browser_engine: String,
    /// DeviceDetector device type ([`DEVICE_TYPE_NAMES`] index), or [`DEVICE_TYPE_UNKNOWN`].
    pub device_type: u8,
    /// DeviceDetector brand code (`AP` Apple, `GO` Google, `SA` Samsung...), empty if unknown.
    pub device_brand: String,
    pub device_model: String,
    pub is_bot: bool,
}

/// `config_device_type` is NULL in Matomo when DeviceDetector finds no device type.
pub const DEVICE_TYPE_UNKNOWN: u8 = u8::MAX;

/// DeviceDetector's device types by number, with Matomo's report labels.
pub const DEVICE_TYPE_NAMES: [&str; 14] = [
    "Desktop",
    "Smartphone",
    "Tablet",
    "Feature phone",
    "Console",
    "Tv",
    "Car browser",
    "Smart display",
    "Camera",
    "Portable media player",
    "Phablet",
    "Smart speaker",
    "Wearable",
    "Peripheral",
];

/// ua-parser browser family -> (DeviceDetector code, name, engine).
const BROWSERS: &[(&str, &str, &str, &str)] = &[
    ("Chrome", "CH", "Chrome", "Blink"),
    ("Chrome Mobile", "CM", "Chrome Mobile", "Blink"),
    ("Chrome Mobile WebView", "CV", "Chrome Webview", "Blink"),
    ("Chrome Mobile iOS", "CI", "Chrome Mobile iOS", "WebKit"),
    ("Chromium", "CR", "Chromium", "Blink"),
    ("Mobile Safari", "MF", "Mobile Safari", "WebKit"),
    (
        "Mobile Safari UI/WKWebView",
        "MF",
        "Mobile Safari",
        "WebKit",
    ),
    ("Safari", "SF", "Safari", "WebKit"),
    ("Firefox", "FF", "Firefox", "Gecko"),
    ("Firefox Mobile", "FM", "Firefox Mobile", "Gecko"),
    ("Firefox iOS", "FM", "Firefox Mobile", "WebKit"),
    ("Edge", "PS", "Microsoft Edge", "Blink"),
    ("Edge Mobile", "PS", "Microsoft Edge", "Blink"),
    ("Samsung Internet", "SB", "Samsung Browser", "Blink"),
    ("Opera", "OP", "Opera", "Blink"),
    ("Opera Mobile", "OM", "Opera Mobile", "Blink"),
    ("IE", "IE", "Internet Explorer", "Trident"),
    ("IE Mobile", "IM", "IE Mobile", "Trident"),
    ("Yandex Browser", "YA", "Yandex Browser", "Blink"),
    ("Vivaldi", "VI", "Vivaldi", "Blink"),
    ("UC Browser", "UC", "UC Browser", "WebKit"),
    (
        "DuckDuckGo Mobile",
        "DD",
        "DuckDuckGo Privacy Browser",
        "WebKit",
    ),
];

/// ua-parser OS family -> (DeviceDetector code, name, Matomo OS family).
const OPERATING_SYSTEMS: &[(&str, &str, &str, &str)] = &[
    ("Windows", "WIN", "Windows", "Windows"),
    ("Mac OS X", "MAC", "Mac", "Mac"),
    ("iOS", "IOS", "iOS", "iOS"),
    ("Android", "AND", "Android", "Android"),
    ("Linux", "LIN", "GNU/Linux", "GNU/Linux"),
    ("Ubuntu", "UBT", "Ubuntu", "GNU/Linux"),
    ("Fedora", "FED", "Fedora", "GNU/Linux"),
    ("Debian", "DEB", "Debian", "GNU/Linux"),
    ("Chrome OS", "COS", "Chrome OS", "Chrome OS"),
    ("ChromeOS", "COS", "Chrome OS", "Chrome OS"),
    ("FreeBSD", "BSD", "FreeBSD", "Unix"),
];

/// ua-parser device brand -> DeviceDetector brand code and name.
const BRANDS: &[(&str, &str, &str)] = &[
    ("Apple", "AP", "Apple"),
    ("Google", "GO", "Google"),
    ("Samsung", "SA", "Samsung"),
    ("Huawei", "HU", "Huawei"),
    ("XiaoMi", "XI", "Xiaomi"),
    ("LG", "LG", "LG"),
    ("Sony", "SO", "Sony"),
];

const CACHE_CAPACITY: usize = 4096;

static PARSER: LazyLock<Option<UserAgentParser>> = LazyLock::new(|| {
    UserAgentParser::builder()
        .with_unicode_support(false)
        .build_from_bytes(include_bytes!("../../data/uap-regexes.yaml"))
        .ok()
});

static CACHE: LazyLock<RwLock<HashMap<Box<str>, Arc<Device>>>> =
    LazyLock::new(|| RwLock::new(HashMap::with_capacity(256)));

/// Detects the device of a user agent (cached; see [`detect_shared`] to avoid the clone).
pub fn detect(user_agent: &str) -> Device {
    Device::clone(&detect_shared(user_agent))
}

/// Detects the device of a user agent, sharing the cached result. The cache keeps at most 4096
/// user agents and is emptied when full: real traffic has few distinct user agents, and a burst
/// of random ones must not grow memory.
pub fn detect_shared(user_agent: &str) -> Arc<Device> {
    if let Ok(cache) = CACHE.read() {
        if let Some(hit) = cache.get(user_agent) {
            return Arc::clone(hit);
        }
    }
    let device = Arc::new(parse(user_agent));
    if let Ok(mut cache) = CACHE.write() {
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(user_agent.into(), Arc::clone(&device));
    }
    device
}

fn unknown() -> Device {
    Device {
        os: "UNK".to_owned(),
        os_version: String::new(),
        browser: "UNK".to_owned(),
        browser_version: String::new(),
        browser_engine: String::new(),
        device_type: DEVICE_TYPE_UNKNOWN,
        device_brand: String::new(),
        device_model: String::new(),
        is_bot: false,
    }
}

fn version(major: Option<&str>, minor: Option<&str>) -> String {
    match (
        major.filter(|m| !m.is_empty()),
        minor.filter(|m| !m.is_empty()),
    ) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        (Some(major), None) => major.to_owned(),
        _ => String::new(),
    }
}

fn parse(user_agent: &str) -> Device {
    let Some(parser) = PARSER.as_ref() else {
        return unknown();
    };
    let client = parser.parse(user_agent);
    let mut device = unknown();
    if client.device.family == "Spider" {
        device.is_bot = true;
        return device;
    }
    let ua = &client.user_agent;
    if let Some(&(_, code, _, engine)) = BROWSERS.iter().find(|(family, ..)| *family == ua.family) {
        device.browser = code.to_owned();
        device.browser_engine = engine.to_owned();
        device.browser_version = version(ua.major.as_deref(), ua.minor.as_deref());
    }
    let os = &client.os;
    if let Some(&(_, code, ..)) = OPERATING_SYSTEMS
        .iter()
        .find(|(family, ..)| *family == os.family)
    {
        device.os = code.to_owned();
        device.os_version = match code {
            // DeviceDetector reports Windows and Android by major (and Android minor when given).
            "WIN" => os.major.as_deref().unwrap_or_default().to_owned(),
            _ => version(os.major.as_deref(), os.minor.as_deref()),
        };
    }
    let family = client.device.family.as_ref();
    let lower_ua = user_agent.to_ascii_lowercase();
    let is_ipad = family == "iPad" || lower_ua.contains("ipad");
    if is_ipad && device.os == "IOS" {
        device.os = "IPA".to_owned();
    }
    device.device_type = if is_ipad
        || lower_ua.contains("tablet")
        || (device.os == "AND" && !lower_ua.contains("mobile"))
    {
        2
    } else if family == "iPhone" || family == "iPod" || lower_ua.contains("mobile") {
        1
    } else if matches!(
        device.os.as_str(),
        "WIN" | "MAC" | "LIN" | "UBT" | "FED" | "DEB" | "COS" | "BSD"
    ) {
        0
    } else {
        DEVICE_TYPE_UNKNOWN
    };
    if let Some(brand) = client.device.brand.as_deref() {
        if let Some(&(_, code, _)) = BRANDS.iter().find(|(b, ..)| *b == brand) {
            device.device_brand = code.to_owned();
        }
    }
    // DeviceDetector has no model for desktops ("Generic Desktop" in reports).
    if device.device_type != 0 {
        if let Some(model) = client.device.model.as_deref() {
            device.device_model = model.to_owned();
        }
    }
    device
}

/// Browser name for a DeviceDetector code (`DevicesDetection.getBrowsers` label).
pub fn browser_name(code: &str) -> &'static str {
    BROWSERS
        .iter()
        .find(|(_, c, ..)| *c == code)
        .map_or("Unknown", |(_, _, name, _)| name)
}

/// OS name for a DeviceDetector code (`operatingSystemName` in Live). Matomo 5.3.1 shows the
/// iPad's `IPA` as "iOS" (golden Live answers).
pub fn os_name(code: &str) -> &'static str {
    if code == "IPA" {
        return "iOS";
    }
    OPERATING_SYSTEMS
        .iter()
        .find(|(_, c, ..)| *c == code)
        .map_or("Unknown", |(_, _, name, _)| name)
}

/// OS family for a DeviceDetector code (`DevicesDetection.getOsFamilies` label).
pub fn os_family(code: &str) -> &'static str {
    if code == "IPA" {
        return "iOS";
    }
    OPERATING_SYSTEMS
        .iter()
        .find(|(_, c, ..)| *c == code)
        .map_or("Unknown", |(_, _, _, family)| family)
}

/// Device type label (`DevicesDetection.getType`), "Unknown" for [`DEVICE_TYPE_UNKNOWN`].
pub fn device_type_name(device_type: u8) -> &'static str {
    DEVICE_TYPE_NAMES
        .get(usize::from(device_type))
        .copied()
        .unwrap_or("Unknown")
}

/// Brand name for a DeviceDetector brand code, "Unknown" when empty or unmapped.
pub fn brand_name(code: &str) -> &'static str {
    BRANDS
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or("Unknown", |(_, _, name)| name)
}

/// Model label as Live's `deviceModel` shows it: the model, else "Generic" and the device type,
/// "Generic Mobile device" for a mobile OS without a type, "Unknown" otherwise (Matomo 5.3.1's
/// answers for the recorded user agents, `tests/conformance/devices/`).
pub fn model_label(device: &Device) -> String {
    if !device.device_model.is_empty() {
        return device.device_model.clone();
    }
    if device.device_type != DEVICE_TYPE_UNKNOWN {
        return format!("Generic {}", device_type_name(device.device_type));
    }
    if device.os != "UNK" && MOBILE_OS_FAMILIES.contains(&os_family(&device.os)) {
        return "Generic Mobile device".to_owned();
    }
    "Unknown".to_owned()
}

/// Matomo's mobile OS families (`Parser/OperatingSystem.php`, `isMobile` via `$mobileOsFamilies`... )
const MOBILE_OS_FAMILIES: &[&str] = &[
    "Android",
    "iOS",
    "Other Mobile",
    "BlackBerry",
    "Windows Mobile",
    "Firefox OS",
    "Symbian",
    "Real-time OS",
    "WebOS",
];

/// Engine description as Live's `browserFamilyDescription` shows it.
pub fn engine_description(engine: &str) -> &'static str {
    match engine {
        "Blink" => "Blink (Chrome, Opera)",
        "WebKit" => "WebKit (Safari)",
        "Gecko" => "Gecko (Firefox)",
        "Trident" => "Trident (IE)",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        ua: &'static str,
        os: &'static str,
        os_version: &'static str,
        browser: &'static str,
        browser_version: &'static str,
        engine: &'static str,
        device_type: u8,
        brand: &'static str,
        model: &'static str,
    }

    /// The scenario's browsers with what Matomo 5.3.1 reported (model differences noted).
    const CASES: &[Case] = &[
        Case { ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", os: "WIN", os_version: "10", browser: "CH", browser_version: "124.0", engine: "Blink", device_type: 0, brand: "", model: "" },
        Case { ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", os: "IOS", os_version: "17.4", browser: "MF", browser_version: "17.4", engine: "WebKit", device_type: 1, brand: "AP", model: "iPhone" },
        Case { ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", os: "MAC", os_version: "10.15", browser: "SF", browser_version: "17.4", engine: "WebKit", device_type: 0, brand: "AP", model: "" },
        Case { ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", os: "AND", os_version: "14", browser: "CM", browser_version: "124.0", engine: "Blink", device_type: 1, brand: "GO", model: "Pixel 8" },
        Case { ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", os: "WIN", os_version: "10", browser: "PS", browser_version: "124.0", engine: "Blink", device_type: 0, brand: "", model: "" },
        Case { ua: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", os: "UBT", os_version: "", browser: "FF", browser_version: "125.0", engine: "Gecko", device_type: 0, brand: "", model: "" },
        // DeviceDetector: model "Galaxy S23".
        Case { ua: "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", os: "AND", os_version: "13", browser: "SB", browser_version: "24.0", engine: "Blink", device_type: 1, brand: "SA", model: "SM-S911B" },
        Case { ua: "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", os: "IPA", os_version: "17.4", browser: "MF", browser_version: "17.4", engine: "WebKit", device_type: 2, brand: "AP", model: "iPad" },
    ];

    #[test]
    fn scenario_browsers_get_device_detector_codes() {
        for c in CASES {
            let d = detect(c.ua);
            assert_eq!(
                (
                    d.os.as_str(),
                    d.os_version.as_str(),
                    d.browser.as_str(),
                    d.browser_version.as_str()
                ),
                (c.os, c.os_version, c.browser, c.browser_version),
                "{}",
                c.ua
            );
            assert_eq!(
                (d.browser_engine.as_str(), d.device_type),
                (c.engine, c.device_type),
                "{}",
                c.ua
            );
            assert_eq!(
                (d.device_brand.as_str(), d.device_model.as_str()),
                (c.brand, c.model),
                "{}",
                c.ua
            );
            assert!(!d.is_bot);
        }
    }

    #[test]
    fn crawlers_are_bots() {
        assert!(
            detect("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
                .is_bot
        );
        assert!(
            detect("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
                .is_bot
        );
    }

    #[test]
    fn unknown_agents_are_unknown_not_errors() {
        let d = detect("");
        assert_eq!(
            (d.os.as_str(), d.browser.as_str(), d.device_type),
            ("UNK", "UNK", DEVICE_TYPE_UNKNOWN)
        );
    }

    #[test]
    fn labels_match_the_golden_reports() {
        assert_eq!(browser_name("PS"), "Microsoft Edge");
        assert_eq!(browser_name("SB"), "Samsung Browser");
        assert_eq!(browser_name("MF"), "Mobile Safari");
        assert_eq!(browser_name("ZZ"), "Unknown");
        assert_eq!(os_family("UBT"), "GNU/Linux");
        assert_eq!(os_family("MAC"), "Mac");
        assert_eq!(os_family("IPA"), "iOS");
        assert_eq!(os_name("UBT"), "Ubuntu");
        assert_eq!(device_type_name(2), "Tablet");
        assert_eq!(device_type_name(DEVICE_TYPE_UNKNOWN), "Unknown");
        assert_eq!(brand_name("SA"), "Samsung");
        assert_eq!(engine_description("Blink"), "Blink (Chrome, Opera)");
    }

    #[test]
    fn cached_lookups_return_the_same_result() {
        let ua = CASES[0].ua;
        let first = detect_shared(ua);
        let second = detect_shared(ua);
        assert!(Arc::ptr_eq(&first, &second));
    }
}
