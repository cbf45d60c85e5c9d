//! The content of one archive: numeric metrics and report tables, how sub-period archives are
//! summed into a parent period, how tables are truncated into an "Others" row, and how tables are
//! stored (deflate-compressed JSON).

use std::{
    collections::{BTreeMap, HashMap},
    io::{Read, Write},
};

use serde::{Deserialize, Serialize};

/// The label Matomo gives the row that sums the rows cut by a row limit
/// (`DataTable::LABEL_SUMMARY_ROW`, shown as "Others").
pub const OTHERS_LABEL: &str = "Others";

/// One row of an archived table: a label, its metrics, per-goal metrics and maybe a subtable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rec {
    pub label: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub m: BTreeMap<String, f64>,
    /// Per idgoal metrics (`nb_conversions`, `nb_visits_converted`, `revenue`...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub goals: BTreeMap<i64, BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<Table>,
    /// Text metadata (a page's full URL); the first value seen is kept when merging.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// An archived report table, rows in no particular order (the report sorts them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub rows: Vec<Rec>,
}

/// Everything archived for one site and period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveData {
    pub numeric: BTreeMap<String, f64>,
    pub blobs: BTreeMap<String, Table>,
}

/// How a metric is combined across rows or sub-periods (`ArchiveProcessor::getOperationForColumns`:
/// `max_*` by max, `min_*` by min, the rest summed).
fn combine(name: &str, into: &mut f64, value: f64) {
    if name.starts_with("max_") {
        *into = into.max(value);
    } else if name.starts_with("min_") {
        *into = into.min(value);
    } else {
        *into += value;
    }
}

/// The column a day-level unique count becomes once summed over days: Matomo cannot sum unique
/// visitors, so non-day tables carry `sum_daily_*` (spec/MATOMO.md 4.5).
pub fn summed_name(name: &str) -> &str {
    match name {
        "nb_uniq_visitors" => "sum_daily_nb_uniq_visitors",
        "nb_users" => "sum_daily_nb_users",
        "entry_nb_uniq_visitors" => "sum_daily_entry_nb_uniq_visitors",
        "exit_nb_uniq_visitors" => "sum_daily_exit_nb_uniq_visitors",
        other => other,
    }
}

/// Adds metrics into a map, combining by name.
pub fn add_metrics(into: &mut BTreeMap<String, f64>, from: &BTreeMap<String, f64>, rename: bool) {
    for (name, value) in from {
        let name = if rename { summed_name(name) } else { name };
        match into.get_mut(name) {
            Some(existing) => combine(name, existing, *value),
            None => {
                into.insert(name.to_owned(), *value);
            }
        }
    }
}

impl Rec {
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            ..Self::default()
        }
    }

    /// A metric, 0 when absent.
    pub fn get(&self, name: &str) -> f64 {
        self.m.get(name).copied().unwrap_or(0.0)
    }

    /// Adds `other` into this row (metrics, goals and subtable), renaming unique counts when
    /// summing periods.
    pub fn merge(&mut self, other: &Rec, rename: bool) {
        add_metrics(&mut self.m, &other.m, rename);
        for (idgoal, metrics) in &other.goals {
            add_metrics(self.goals.entry(*idgoal).or_default(), metrics, false);
        }
        for (name, value) in &other.meta {
            self.meta
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        if let Some(sub) = &other.sub {
            self.sub
                .get_or_insert_with(Table::default)
                .merge(sub, rename);
        }
    }
}

impl Table {
    /// Merges `other`'s rows into this table by label.
    pub fn merge(&mut self, other: &Table, rename: bool) {
        let mut index: HashMap<String, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.label.clone(), i))
            .collect();
        for row in &other.rows {
            match index.get(&row.label) {
                Some(&i) => self.rows[i].merge(row, rename),
                None => {
                    let mut fresh = Rec::new(row.label.clone());
                    fresh.merge(row, rename);
                    index.insert(row.label.clone(), self.rows.len());
                    self.rows.push(fresh);
                }
            }
        }
    }

    /// Keeps the `limit - 1` rows with the most `sort_by` and sums the others into an "Others" row,
    /// as Matomo's `datatable_archiving_maximum_rows_*` (`DataTable::getSerialized` truncates to
    /// `max - 1` rows plus the summary row). Subtables are limited to `sub_limit` rows.
    pub fn truncate(&mut self, limit: usize, sub_limit: usize, sort_by: &str) {
        for row in &mut self.rows {
            if let Some(sub) = &mut row.sub {
                sub.truncate(sub_limit, sub_limit, sort_by);
            }
        }
        if limit == 0 || self.rows.len() <= limit {
            return;
        }
        self.sort_desc(sort_by);
        let cut = self.rows.split_off(limit - 1);
        let mut others = self
            .rows
            .iter()
            .position(|row| row.label == OTHERS_LABEL)
            .map(|i| self.rows.remove(i))
            .unwrap_or_else(|| Rec::new(OTHERS_LABEL));
        for row in &cut {
            let mut flat = row.clone();
            // The summary row has no subtable of its own, and no URL or other text metadata:
            // it stands for many rows, so it must never read as the first one it folded in
            // (Matomo's summary row carries only its label and metrics).
            flat.sub = None;
            flat.meta.clear();
            others.merge(&flat, false);
        }
        self.rows.push(others);
    }

    /// Sorts by a metric, largest first, ties by label (a stable, backend-independent order).
    pub fn sort_desc(&mut self, by: &str) {
        self.rows.sort_by(|a, b| {
            b.get(by)
                .total_cmp(&a.get(by))
                .then_with(|| a.label.cmp(&b.label))
        });
    }

    /// The table as deflate-compressed JSON.
    pub fn to_blob(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(&json);
        encoder.finish().unwrap_or_default()
    }

    /// Reads a table written by [`Table::to_blob`], with the size of its JSON text (a measure of
    /// its size in memory); `None` when the blob is damaged.
    pub fn from_blob(blob: &[u8]) -> Option<(Self, usize)> {
        let mut json = Vec::new();
        flate2::read::DeflateDecoder::new(blob)
            .read_to_end(&mut json)
            .ok()?;
        Some((serde_json::from_slice(&json).ok()?, json.len()))
    }
}

impl ArchiveData {
    /// Sums sub-period archives into this one (numeric metrics and tables).
    pub fn merge(&mut self, other: &ArchiveData) {
        add_metrics(&mut self.numeric, &other.numeric, false);
        for (name, table) in &other.blobs {
            self.blobs
                .entry(name.clone())
                .or_default()
                .merge(table, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(label: &str, visits: f64) -> Rec {
        let mut r = Rec::new(label);
        r.m.insert("nb_visits".into(), visits);
        r.m.insert("max_actions".into(), visits);
        r.m.insert("nb_uniq_visitors".into(), 1.0);
        r
    }

    #[test]
    fn merging_sums_counts_keeps_the_max_and_renames_uniques() {
        let mut a = Table {
            rows: vec![rec("x", 2.0)],
        };
        a.merge(
            &Table {
                rows: vec![rec("x", 5.0), rec("y", 1.0)],
            },
            true,
        );
        let mut total = Table::default();
        total.merge(&a, false);
        let x = &total.rows[0];
        assert_eq!(x.get("nb_visits"), 7.0);
        assert_eq!(x.get("max_actions"), 5.0);
        assert_eq!(x.get("sum_daily_nb_uniq_visitors"), 1.0);
        assert_eq!(total.rows.len(), 2);
    }

    #[test]
    fn truncation_keeps_limit_minus_one_rows_and_an_others_row() {
        let mut t = Table {
            rows: (1..=5)
                .map(|i| rec(&format!("r{i}"), f64::from(i)))
                .collect(),
        };
        t.truncate(3, 3, "nb_visits");
        let labels: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["r5", "r4", "Others"]);
        assert_eq!(t.rows[2].get("nb_visits"), 6.0);
    }

    #[test]
    fn the_others_row_keeps_no_url_of_the_rows_it_folds_in() {
        let mut folder = Rec::new("good");
        folder.sub = Some(Table {
            rows: (1..=5)
                .map(|i| {
                    let mut page = rec(&format!("/{i}"), f64::from(i));
                    page.meta
                        .insert("url".into(), format!("https://shop.example.com/good/{i}"));
                    page
                })
                .collect(),
        });
        let mut t = Table { rows: vec![folder] };
        t.truncate(10, 3, "nb_visits");
        let sub = t.rows[0].sub.as_ref().unwrap();
        let others = sub.rows.iter().find(|r| r.label == OTHERS_LABEL).unwrap();
        assert_eq!(others.get("nb_visits"), 6.0);
        assert!(others.meta.is_empty(), "{:?}", others.meta);
        assert_eq!(
            sub.rows[0].meta["url"], "https://shop.example.com/good/5",
            "kept rows keep their URL"
        );
    }

    #[test]
    fn a_table_survives_the_blob_round_trip() {
        let mut t = Table {
            rows: vec![rec("a", 1.0)],
        };
        t.rows[0].sub = Some(Table {
            rows: vec![rec("b", 2.0)],
        });
        let json_len = serde_json::to_vec(&t).unwrap().len();
        assert_eq!(Table::from_blob(&t.to_blob()), Some((t, json_len)));
        assert_eq!(Table::from_blob(b"garbage"), None);
    }
}
