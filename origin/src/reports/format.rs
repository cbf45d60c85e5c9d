//! Number and text formatting shared by the report definitions: Matomo's JSON numbers (integers
//! stay integers), processed-metric precision (spec/MATOMO.md 4.2) and PHP's `urlencode` for the
//! `segment` metadata.

use serde_json::{Map, Number, Value};

use crate::archive::Rec;

/// A metric as Matomo's JSON prints it: integral values as integers, others as floats.
pub fn num(value: f64) -> Value {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        Number::from_f64(value).map_or(Value::from(0), Value::Number)
    }
}

/// `value` rounded to `decimals` places, printed by [`num`].
pub fn rounded(value: f64, decimals: i32) -> Value {
    let factor = 10f64.powi(decimals);
    num((value * factor).round() / factor)
}

/// `a / b`, 0 when `b` is 0 (Matomo's `Piwik::getQuotientSafe`).
pub fn quotient(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// PHP's `urlencode`: letters, digits and `-_.` stay, a space becomes `+`, the rest `%XX`.
pub fn php_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The visit metrics of a dimension row (referrers, devices, times...) in Matomo's order.
pub const VISIT_METRICS: &[&str] = &[
    "nb_uniq_visitors",
    "nb_visits",
    "nb_actions",
    "nb_users",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
];

/// What a non-day period has in place of the unique counts: their daily sums, which Matomo's
/// aggregation appends after the other columns of the row.
pub const SUMMED_DAILY: &[&str] = &["sum_daily_nb_uniq_visitors", "sum_daily_nb_users"];

/// Copies the metrics of `rec` named in `names` (those it has) into `columns`, in that order.
pub fn put_metrics(columns: &mut Map<String, Value>, rec: &Rec, names: &[&str]) {
    for name in names {
        if let Some(value) = rec.m.get(*name) {
            columns.insert((*name).to_owned(), num(*value));
        }
    }
}

/// The `goals` object, `nb_conversions` and `revenue` of a visit-dimension row, when it has
/// conversions (`{"idgoal=1": {"nb_conversions", "nb_visits_converted", "revenue"}}`).
pub fn put_goals(columns: &mut Map<String, Value>, rec: &Rec) {
    if rec.goals.is_empty() {
        return;
    }
    let mut goals = Map::new();
    let (mut conversions, mut revenue) = (0.0, 0.0);
    for (idgoal, metrics) in &rec.goals {
        let mut goal = Map::new();
        for name in ["nb_conversions", "nb_visits_converted", "revenue"] {
            goal.insert(
                name.to_owned(),
                num(metrics.get(name).copied().unwrap_or(0.0)),
            );
        }
        conversions += metrics.get("nb_conversions").copied().unwrap_or(0.0);
        revenue += metrics.get("revenue").copied().unwrap_or(0.0);
        goals.insert(format!("idgoal={idgoal}"), Value::Object(goal));
    }
    columns.insert("goals".to_owned(), Value::Object(goals));
    columns.insert("nb_conversions".to_owned(), num(conversions));
    columns.insert("revenue".to_owned(), num(revenue));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_metrics_print_as_integers_and_rates_keep_decimals() {
        assert_eq!(num(3.0).to_string(), "3");
        assert_eq!(rounded(2.777, 1).to_string(), "2.8");
        assert_eq!(rounded(313.6, 0).to_string(), "314");
    }

    #[test]
    fn urlencode_matches_php() {
        assert_eq!(php_urlencode("buy red sneakers"), "buy+red+sneakers");
        assert_eq!(php_urlencode("a/b?c"), "a%2Fb%3Fc");
    }
}
