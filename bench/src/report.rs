//! The result table: one row per figure with its same-run baseline, the ratio of the two, the
//! goal and by how much it is met or missed; plus the small statistics the rows need.

use std::fmt::Write as _;

/// A goal a figure is checked against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
}

impl Goal {
    /// "met" or "missed by N%", for a value.
    pub fn verdict(self, value: f64) -> String {
        match self {
            Self::AtLeast(goal) if value >= goal => "met".to_owned(),
            Self::AtLeast(goal) => format!("MISSED by {:.0}%", (goal - value) / goal * 100.0),
            Self::AtMost(goal) if value <= goal => "met".to_owned(),
            Self::AtMost(goal) => format!("MISSED by {:.0}%", (value - goal) / goal * 100.0),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub section: &'static str,
    pub figure: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
    pub goal: String,
    pub verdict: String,
}

impl Row {
    pub fn new(section: &'static str, figure: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            section,
            figure: figure.into(),
            value: value.into(),
            ..Self::default()
        }
    }

    pub fn baseline(mut self, baseline: impl Into<String>, ratio: impl Into<String>) -> Self {
        self.baseline = baseline.into();
        self.ratio = ratio.into();
        self
    }

    /// Checks `value` against `goal`, shown as `text`.
    pub fn goal(mut self, goal: Goal, value: f64, text: impl Into<String>) -> Self {
        self.goal = text.into();
        self.verdict = goal.verdict(value);
        self
    }
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| section | figure | value | baseline (same run) | ratio | goal | verdict |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.section, r.figure, r.value, r.baseline, r.ratio, r.goal, r.verdict
        );
    }
    out
}

/// The median (the upper one for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The nearest-rank quantile `q` in 0..=1; 0 for none.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    if q == 0.5 {
        return sorted[sorted.len() / 2];
    }
    sorted[rank - 1]
}

/// 12345.6 -> "12,346".
pub fn thousands(value: f64) -> String {
    let n = value.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_goal_says_by_how_much() {
        assert_eq!(Goal::AtLeast(20_000.0).verdict(15_000.0), "MISSED by 25%");
        assert_eq!(Goal::AtMost(10.0).verdict(15.0), "MISSED by 50%");
        assert_eq!(Goal::AtLeast(1.0).verdict(1.0), "met");
        assert_eq!(Goal::AtMost(5.0).verdict(4.9), "met");
    }

    #[test]
    fn medians_and_p99_use_the_sorted_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&hundred, 0.99), 99.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn large_numbers_get_thousands_separators() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1000.0), "-1,000");
    }

    #[test]
    fn the_table_has_a_header_and_one_line_per_row() {
        let rows = vec![Row::new("ingest", "x", "1").goal(Goal::AtLeast(2.0), 1.0, ">= 2")];
        let table = markdown(&rows);
        assert_eq!(table.lines().count(), 3);
        assert!(table.contains("| ingest | x | 1 |  |  | >= 2 | MISSED by 50% |"));
    }
}
