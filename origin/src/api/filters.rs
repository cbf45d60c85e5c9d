//! Matomo's generic filters and metric formatting, applied to what `crate::reports::produce`
//! returns (`core/API/DataTableGenericFilter.php`, `core/API/DataTablePostProcessor.php`).
//!
//! Order, as Matomo's post-processor runs them: pattern -> sort -> truncate -> limit/offset ->
//! column deletion (`hideColumns`, `showColumns`) -> metric formatting (`format_metrics`).
//! `flat`, `expanded` and `idSubtable` are not filters here: they go to `produce`. `label`
//! (`super::label`) runs after them, before the column deletion, and turns off limit, offset
//! and truncation as in Matomo.
//!
//! - `filter_limit` defaults to `[General] API_datatable_default_limit` = 100; `-1` is all rows.
//! - `filter_sort_order` is `desc` unless `asc`; numbers compare as numbers, text naturally and
//!   case-insensitively; rows without the column go last. Subtables are sorted too.
//! - `filter_pattern` is a case-insensitive regular expression on `filter_column` (default
//!   `label`); an invalid expression matches literally rather than failing the request.
//! - `filter_truncate=N` keeps N rows and sums the rest into a row labelled `Others`
//!   (`max_*` columns by maximum, `min_*` by minimum).
//! - `format_metrics`: `bc` (default for HTTP requests) and `1` print rates as `"23%"`; `0` keeps
//!   the raw fraction. The rates are `bounce_rate`, `exit_rate`, `interaction_rate` and the
//!   `conversion_rate*` columns (`plugins/*/Columns/Metrics/*Rate.php` declare them as
//!   percentages); Matomo rounds them (precision 2, conversion rates 4) before multiplying by 100.

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::{label::LabelFilter, params::ApiParams, render::php_float, render::Output};
use crate::reports::{DataTable, Row};

/// `format_metrics=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatMetrics {
    Raw,
    Bc,
    All,
}

/// The generic filters of one request.
#[derive(Debug, Clone)]
pub struct Filters {
    limit: i64,
    offset: usize,
    sort: Option<(String, bool)>,
    pattern: Option<(Option<Regex>, Vec<String>)>,
    pattern_recursive: Option<Option<Regex>>,
    truncate: Option<usize>,
    hide: Vec<String>,
    show: Vec<String>,
    format: FormatMetrics,
    label: Option<LabelFilter>,
}

/// Rows at most in `filter_limit` unless asked otherwise.
pub const DEFAULT_LIMIT: i64 = 100;

/// An integer parameter; a value that is not an integer counts as absent, as
/// `Common::getRequestVar($name, $default, 'int')` falls back to the default.
fn integer(params: &ApiParams, name: &str) -> Option<i64> {
    params
        .non_empty(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// A case-insensitive expression; an invalid one matches its text literally. `None` only when
/// even the literal form is over the size limit, and then nothing matches.
fn regex(pattern: &str) -> Option<Regex> {
    let build = |p: &str| {
        RegexBuilder::new(p)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
    };
    build(pattern)
        .or_else(|_| build(&regex::escape(pattern)))
        .ok()
}

fn csv_list(params: &ApiParams, name: &str) -> Vec<String> {
    params
        .get(name)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Filters {
    /// Reads the filter parameters.
    pub fn from_params(params: &ApiParams) -> Self {
        let sort = params.non_empty("filter_sort_column").map(|column| {
            let asc = params
                .get("filter_sort_order")
                .is_some_and(|o| o.eq_ignore_ascii_case("asc"));
            (column.to_owned(), asc)
        });
        let pattern = params.non_empty("filter_pattern").map(|p| {
            let mut columns = params.list("filter_column");
            columns.retain(|c| !c.is_empty());
            if columns.is_empty() {
                columns.push("label".to_owned());
            }
            (regex(p), columns)
        });
        let format = match params.get("format_metrics") {
            Some("0" | "false") => FormatMetrics::Raw,
            Some("1" | "true") => FormatMetrics::All,
            _ => FormatMetrics::Bc,
        };
        let label = LabelFilter::from_params(params);
        // `DataTablePostProcessor::applyGenericFilters` disables `Limit` and `Truncate` while a
        // label is set.
        let paged = label.is_none();
        Self {
            limit: integer(params, "filter_limit")
                .filter(|_| paged)
                .unwrap_or(if paged { DEFAULT_LIMIT } else { -1 }),
            offset: integer(params, "filter_offset")
                .filter(|_| paged)
                .unwrap_or(0)
                .clamp(0, i64::from(u32::MAX)) as usize,
            sort,
            pattern,
            pattern_recursive: params.non_empty("filter_pattern_recursive").map(regex),
            truncate: integer(params, "filter_truncate")
                .filter(|n| paged && *n >= 0)
                .map(|n| n.min(i64::from(u32::MAX)) as usize),
            hide: csv_list(params, "hideColumns"),
            show: csv_list(params, "showColumns"),
            format,
            label,
        }
    }

    /// Applies the filters to every table of an answer.
    pub fn apply(&self, output: Output) -> Output {
        match output {
            Output::Table(table) => Output::Table(self.table(table)),
            Output::Simple(mut map) => {
                self.columns(&mut map);
                self.format_row(&mut map);
                Output::Simple(map)
            }
            Output::Keyed { key, entries } => Output::Keyed {
                key,
                entries: entries
                    .into_iter()
                    .map(|(label, inner)| (label, self.apply(inner)))
                    .collect(),
            },
            other => other,
        }
    }

    fn table(&self, mut table: DataTable) -> DataTable {
        if let Some((regex, columns)) = &self.pattern {
            table.rows.retain(|row| {
                columns.iter().any(|column| {
                    row.columns.get(column).is_some_and(|value| {
                        regex
                            .as_ref()
                            .is_some_and(|regex| regex.is_match(&scalar_text(value)))
                    })
                })
            });
        }
        match &self.pattern_recursive {
            Some(Some(regex)) => {
                keep_recursive(&mut table, regex);
            }
            Some(None) => table.rows.clear(),
            None => {}
        }
        if let Some((column, asc)) = &self.sort {
            sort(&mut table, column, *asc);
        }
        if let Some(keep) = self.truncate {
            truncate(&mut table, keep);
        }
        let start = self.offset.min(table.rows.len());
        table.rows.drain(..start);
        if self.limit >= 0 {
            table
                .rows
                .truncate(self.limit.min(i64::from(u32::MAX)) as usize);
        }
        if let Some(label) = &self.label {
            table = label.apply(table);
        }
        self.finish(&mut table);
        table
    }

    /// Column deletion and formatting, through subtables.
    fn finish(&self, table: &mut DataTable) {
        for row in &mut table.rows {
            self.columns(&mut row.columns);
            self.format_row(&mut row.columns);
            if let Some(subtable) = &mut row.subtable {
                self.finish(subtable);
            }
        }
    }

    fn columns(&self, map: &mut Map<String, Value>) {
        if !self.hide.is_empty() {
            map.retain(|name, _| !self.hide.iter().any(|h| h == name));
        }
        if !self.show.is_empty() {
            map.retain(|name, _| {
                name == "label"
                    || super::render::is_metadata(name)
                    || self.show.iter().any(|s| s == name)
            });
        }
    }

    fn format_row(&self, map: &mut Map<String, Value>) {
        if self.format == FormatMetrics::Raw {
            return;
        }
        for (name, value) in map.iter_mut() {
            if let Some(precision) = percent_precision(name) {
                if let Some(formatted) = percent(value, precision) {
                    *value = Value::String(formatted);
                }
            }
        }
    }
}

/// The rounding precision of a rate column, or `None` when the column is not a rate.
fn percent_precision(name: &str) -> Option<i32> {
    match name {
        "bounce_rate" | "exit_rate" | "interaction_rate" => Some(2),
        _ if name.starts_with("conversion_rate")
            || (name.starts_with("goal_") && name.contains("_conversion_rate")) =>
        {
            Some(4)
        }
        _ => None,
    }
}

/// `Formatter::getPrettyPercentFromQuotient` after Matomo's rounding.
fn percent(value: &Value, precision: i32) -> Option<String> {
    let raw = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) if !s.ends_with('%') => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let scale = 10f64.powi(precision);
    let rounded = (raw * scale).round() / scale;
    Some(format!("{}%", php_float(rounded * 100.0)))
}

/// A value as text for matching.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => super::render::php_string(other),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => natural(
            &scalar_text(a).to_lowercase(),
            &scalar_text(b).to_lowercase(),
        ),
    }
}

/// Natural order: runs of digits compare by value (`strnatcasecmp` on lowercased text).
fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let mut m = String::new();
                while let Some(c) = x.peek().copied().filter(char::is_ascii_digit) {
                    m.push(c);
                    x.next();
                }
                let mut n = String::new();
                while let Some(d) = y.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    y.next();
                }
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let order = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

fn sort(table: &mut DataTable, column: &str, asc: bool) {
    table.rows.sort_by(
        |a, b| match (a.columns.get(column), b.columns.get(column)) {
            (Some(x), Some(y)) => {
                let order = compare(x, y);
                if asc {
                    order
                } else {
                    order.reverse()
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
    );
    for row in &mut table.rows {
        if let Some(subtable) = &mut row.subtable {
            sort(subtable, column, asc);
        }
    }
}

/// Keeps rows whose label matches or that have a matching row below them.
fn keep_recursive(table: &mut DataTable, regex: &Regex) -> bool {
    table.rows.retain_mut(|row| {
        let own = row.label().is_some_and(|label| regex.is_match(label));
        let below = row
            .subtable
            .as_mut()
            .is_some_and(|sub| keep_recursive(sub, regex));
        own || below
    });
    !table.rows.is_empty()
}

fn truncate(table: &mut DataTable, keep: usize) {
    if table.rows.len() <= keep {
        return;
    }
    let rest = table.rows.split_off(keep);
    let mut others = Map::new();
    others.insert("label".into(), Value::from("Others"));
    for row in &rest {
        sum_into(&mut others, &row.columns);
    }
    table.rows.push(Row {
        columns: others,
        ..Row::default()
    });
}

/// Adds the numeric columns of `from` into `into` (nested `goals` maps included).
fn sum_into(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (name, value) in from {
        if name == "label" || super::render::is_metadata(name) || name == "idsubdatatable" {
            continue;
        }
        match value {
            Value::Object(nested) => {
                let entry = into
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(target) = entry {
                    for (key, sub) in nested {
                        if let Value::Object(sub) = sub {
                            let slot = target
                                .entry(key.clone())
                                .or_insert_with(|| Value::Object(Map::new()));
                            if let Value::Object(slot) = slot {
                                sum_into(slot, sub);
                            }
                        }
                    }
                }
            }
            other => {
                let Some(add) = number(other) else { continue };
                let current = into.get(name).and_then(number);
                let merged = match current {
                    None => add,
                    Some(now) if name.starts_with("max_") => now.max(add),
                    Some(now) if name.starts_with("min_") => now.min(add),
                    Some(now) => now + add,
                };
                let both_int = other.is_i64() && into.get(name).is_none_or(Value::is_i64);
                let merged = if both_int && merged.abs() < 9e15 {
                    Value::from(merged as i64)
                } else {
                    serde_json::Number::from_f64(merged).map_or(Value::Null, Value::Number)
                };
                into.insert(name.clone(), merged);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(rows: Value) -> DataTable {
        DataTable {
            rows: rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| Row {
                    columns: r.as_object().unwrap().clone(),
                    ..Row::default()
                })
                .collect(),
        }
    }

    fn labels(output: &Output) -> Vec<String> {
        match output {
            Output::Table(t) => t
                .rows
                .iter()
                .map(|r| r.label().unwrap().to_owned())
                .collect(),
            _ => panic!("not a table"),
        }
    }

    fn filters(query: &str) -> Filters {
        Filters::from_params(&ApiParams::parse(query.as_bytes()))
    }

    fn sample() -> Output {
        Output::Table(table(json!([
            {"label": "b10", "nb_visits": 5, "bounce_rate": 0.2894},
            {"label": "b9", "nb_visits": 7, "bounce_rate": 0.5},
            {"label": "a", "nb_visits": 1, "max_actions": 3, "bounce_rate": 1},
            {"label": "c", "nb_visits": 2, "max_actions": 9, "bounce_rate": 0}
        ])))
    }

    #[test]
    fn limit_and_offset_slice_rows_and_minus_one_means_all() {
        assert_eq!(
            labels(&filters("filter_limit=2&filter_offset=1").apply(sample())),
            ["b9", "a"]
        );
        assert_eq!(labels(&filters("filter_limit=-1").apply(sample())).len(), 4);
        assert_eq!(
            labels(&filters("filter_offset=10").apply(sample())).len(),
            0
        );
        let not_a_number = filters("filter_limit=abc").apply(sample());
        assert_eq!(labels(&not_a_number).len(), 4, "a bad limit is the default");
    }

    #[test]
    fn sorting_is_numeric_for_numbers_and_natural_for_labels() {
        assert_eq!(
            labels(&filters("filter_sort_column=nb_visits").apply(sample())),
            ["b9", "b10", "c", "a"]
        );
        assert_eq!(
            labels(&filters("filter_sort_column=label&filter_sort_order=asc").apply(sample())),
            ["a", "b9", "b10", "c"]
        );
    }

    #[test]
    fn a_pattern_keeps_matching_rows_case_insensitively() {
        assert_eq!(
            labels(&filters("filter_pattern=^B").apply(sample())),
            ["b10", "b9"]
        );
        assert_eq!(
            labels(&filters("filter_pattern=(").apply(sample())).len(),
            0
        );
    }

    #[test]
    fn truncate_sums_the_rest_into_others() {
        let out = filters("filter_truncate=2&format_metrics=0").apply(sample());
        let Output::Table(t) = out else { panic!() };
        assert_eq!(t.rows.len(), 3);
        let others = &t.rows[2].columns;
        assert_eq!(others["label"], json!("Others"));
        assert_eq!(others["nb_visits"], json!(3));
        assert_eq!(others["max_actions"], json!(9));
    }

    #[test]
    fn rates_become_percent_strings_unless_raw_is_asked() {
        let Output::Table(t) = filters("").apply(sample()) else {
            panic!()
        };
        let rates: Vec<&Value> = t.rows.iter().map(|r| &r.columns["bounce_rate"]).collect();
        assert_eq!(
            rates,
            [&json!("29%"), &json!("50%"), &json!("100%"), &json!("0%")]
        );
        let Output::Table(raw) = filters("format_metrics=0").apply(sample()) else {
            panic!()
        };
        assert_eq!(raw.rows[0].columns["bounce_rate"], json!(0.2894));
        let mut map = Map::new();
        map.insert("conversion_rate".into(), json!(0.230769));
        let Output::Simple(goal) = filters("").apply(Output::Simple(map)) else {
            panic!()
        };
        assert_eq!(goal["conversion_rate"], json!("23.08%"));
    }

    #[test]
    fn hide_and_show_columns_keep_the_label() {
        let Output::Table(t) = filters("hideColumns=bounce_rate,max_actions").apply(sample())
        else {
            panic!()
        };
        assert_eq!(
            t.rows[2].columns.keys().collect::<Vec<_>>(),
            ["label", "nb_visits"]
        );
        let Output::Table(t) = filters("showColumns=nb_visits").apply(sample()) else {
            panic!()
        };
        assert_eq!(
            t.rows[0].columns.keys().collect::<Vec<_>>(),
            ["label", "nb_visits"]
        );
    }
}
