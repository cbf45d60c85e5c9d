//! Log lines: one JSON object per line on the console (what `wrangler tail` and Logpush collect).

use serde_json::{Map, Value};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation worth recording (rare: never per beacon).
    Info,
    /// Degraded but working (best-effort mode, invalid settings).
    Warn,
    /// Something failed; data may be delayed or, in direct mode, lost.
    Error,
}

/// Formats one log line: `{"level":..,"msg":..,<fields>}`.
pub fn line(level: Level, msg: &str, fields: &[(&str, Value)]) -> String {
    let mut map = Map::new();
    let level = match level {
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    };
    map.insert("level".to_owned(), Value::from(level));
    map.insert("msg".to_owned(), Value::from(msg));
    for (name, value) in fields {
        map.insert((*name).to_owned(), value.clone());
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_one_json_object_with_level_message_and_fields() {
        let text = line(
            Level::Warn,
            "origin said \"no\"\n",
            &[("status", Value::from(503))],
        );
        assert!(!text.contains('\n'), "one line");
        let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed["level"], "warn");
        assert_eq!(parsed["msg"], "origin said \"no\"\n");
        assert_eq!(parsed["status"], 503);
    }
}
