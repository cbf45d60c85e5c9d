//! Label and metadata functions of the visit-dimension reports whose archived value is a code
//! Matomo maps to a name (DeviceDetector codes, device types), with the row metadata each report
//! adds after its metrics, in Matomo's order.
//!
//! Logos: Matomo points at `plugins/Morpheus/icons/dist/<kind>/<code>.png`, or `UNK.png` when
//! that file is missing from its installation; Edgemeter serves no icons, so it names the file
//! for the code (the conformance comparison ignores logo paths).

use serde_json::{Map, Value};

use super::format::php_urlencode;
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
