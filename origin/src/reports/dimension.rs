//! The generic renderer of visit-dimension reports (catalogue rows with `Render::Dimension`):
//! the visit metrics in Matomo's order, per-goal conversions where the record has them, and the
//! label and segment functions of `DimensionLabels`.

use serde_json::{Map, Value};

use super::{
    catalogue::{DimensionLabels, DimensionReport, RangeUnit},
    format::{put_goals, put_metrics, SUMMED_DAILY, VISIT_METRICS},
    DataTable, ReportRequest, Row,
};
use crate::{
    archive::{
        day::ServerHours, dimensions::NEW_VISITS_LABEL, periods::utc_bounds, ArchiveData, Rec,
    },
    tracker::SiteTz,
};

/// Renders a visit-dimension report. A period without visits has no rows (Matomo archives
/// nothing for it), even though every day archive holds the record.
pub(super) fn render(
    report: &DimensionReport,
    request: &ReportRequest<'_>,
    data: &ArchiveData,
) -> DataTable {
    let visits = data.numeric.get("nb_visits").copied().unwrap_or(0.0);
    let Some(table) = data.blobs.get(report.record).filter(|_| visits > 0.0) else {
        return DataTable::default();
    };
    let mut recs: Vec<&Rec> = table.rows.iter().collect();
    let rows = match report.labels {
        DimensionLabels::Hours {
            segment,
            utc_segment,
        } => {
            recs.sort_by_key(|rec| rec.label.parse::<u32>().unwrap_or(u32::MAX));
            let tz = SiteTz::parse(&request.site.timezone);
            let (start, _) = utc_bounds(&tz, request.period.start, request.period.start);
            let hours = ServerHours::new(&tz, start);
            recs.into_iter()
                .map(|rec| {
                    // A visit without a local time (none is stored without one) keeps its
                    // empty label rather than reading as midnight.
                    let Ok(hour) = rec.label.parse::<u32>() else {
                        return row(rec.label.clone(), rec, format!("{segment}=="));
                    };
                    let value = if utc_segment {
                        (0..24)
                            .find(|utc| hours.local(*utc) == hour)
                            .unwrap_or(hour)
                    } else {
                        hour
                    };
                    row(format!("{hour:02}"), rec, format!("{segment}=={value}"))
                })
                .collect()
        }
        DimensionLabels::Mapped {
            label,
            metadata,
            fill,
        } => mapped_rows(&recs, label, metadata, fill),
        DimensionLabels::Ranges { segment, unit } => recs
            .into_iter()
            .map(|rec| {
                if rec.label == NEW_VISITS_LABEL {
                    return row("New visits".into(), rec, "visitorType==new".into());
                }
                let (label, segment) = range_label(&rec.label, segment, unit);
                row(label, rec, segment)
            })
            .collect(),
    };
    DataTable { rows }
}

/// The rows of a `DimensionLabels::Mapped` report: archived rows of one name merged (the first
/// archived value gives the metadata), most visits first, ties by name; then a zero row for every
/// `fill` value no visit had.
fn mapped_rows(
    recs: &[&Rec],
    label: fn(&str) -> String,
    metadata: fn(&str, &mut Map<String, Value>),
    fill: &[&str],
) -> Vec<Row> {
    let mut merged: Vec<(String, String, Rec)> = Vec::new();
    for rec in recs {
        let name = label(&rec.label);
        match merged.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, _, into)) => into.merge(rec, false),
            None => {
                let mut fresh = Rec::new(name.clone());
                fresh.merge(rec, false);
                merged.push((name, rec.label.clone(), fresh));
            }
        }
    }
    merged.sort_by(|(a_name, _, a), (b_name, _, b)| {
        b.get("nb_visits")
            .total_cmp(&a.get("nb_visits"))
            .then_with(|| a_name.cmp(b_name))
    });
    let mut rows: Vec<Row> = merged
        .iter()
        .map(|(name, value, rec)| {
            let mut columns = Map::new();
            columns.insert("label".into(), Value::from(name.clone()));
            put_metrics(&mut columns, rec, VISIT_METRICS);
            put_metrics(&mut columns, rec, SUMMED_DAILY);
            put_goals(&mut columns, rec);
            metadata(value, &mut columns);
            plain(columns)
        })
        .collect();
    let mut missing: Vec<(String, &str)> = fill
        .iter()
        .filter(|value| !recs.iter().any(|rec| rec.label == **value))
        .map(|value| (label(value), *value))
        .collect();
    missing.sort();
    for (name, value) in missing {
        let mut columns = Map::new();
        columns.insert("label".into(), Value::from(name));
        columns.insert("nb_visits".into(), Value::from(0));
        metadata(value, &mut columns);
        rows.push(plain(columns));
    }
    rows
}

fn plain(columns: Map<String, Value>) -> Row {
    Row {
        columns,
        subtable: None,
        idsubdatatable: None,
    }
}

fn row(label: String, rec: &Rec, segment: String) -> Row {
    let mut columns = Map::new();
    columns.insert("label".into(), Value::from(label));
    put_metrics(&mut columns, rec, VISIT_METRICS);
    put_metrics(&mut columns, rec, SUMMED_DAILY);
    put_goals(&mut columns, rec);
    columns.insert("segment".into(), Value::from(segment));
    plain(columns)
}

/// A range's label and segment: `BeautifyRangeLabels` / `BeautifyTimeRangeLabels` with
/// VisitorInterest's English texts, and `AddSegmentByRangeLabel` (`==` for a one-value range,
/// `>=;<=` for a range, `>=` for an open one). The archived label is `min-max` or `N+`.
fn range_label(label: &str, dimension: &str, unit: RangeUnit) -> (String, String) {
    let (min, max) = match label.strip_suffix('+') {
        Some(open) => (open.parse::<i64>().unwrap_or(0), None),
        None => {
            let (min, max) = label.split_once('-').unwrap_or((label, label));
            (min.parse().unwrap_or(0), Some(max.parse().unwrap_or(0)))
        }
    };
    let segment = match max {
        Some(max) if max == min => format!("{dimension}=={min}"),
        Some(max) => format!("{dimension}>={min};{dimension}<={max}"),
        None => format!("{dimension}>={min}"),
    };
    let text = match unit {
        RangeUnit::Duration => duration_label(min, max),
        RangeUnit::Pages => counted(min, max, "page", "pages"),
        RangeUnit::Days => counted(min, max, "day", "days"),
    };
    (text, segment)
}

/// `1 page`, `2 pages`, `6-7 pages`, `21+ pages` (`BeautifyRangeLabels`: the singular only for
/// exactly one).
fn counted(min: i64, max: Option<i64>, one: &str, many: &str) -> String {
    match max {
        Some(max) if max == min && min == 1 => format!("1 {one}"),
        Some(max) if max == min => format!("{min} {many}"),
        Some(max) => format!("{min}-{max} {many}"),
        None => format!("{min}+ {many}"),
    }
}

/// `BeautifyTimeRangeLabels`: below a minute `0–10s` (an en dash), else in minutes `1-2 min`,
/// `30+ min`.
fn duration_label(min: i64, max: Option<i64>) -> String {
    match max {
        Some(max) if min < 60 => format!("{min}\u{2013}{max}s"),
        Some(max) => format!("{}-{} min", min / 60, max / 60),
        None => format!("{}+ min", min / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_labels_and_segments_are_matomos() {
        let pages = |l| range_label(l, "actions", RangeUnit::Pages);
        assert_eq!(pages("1-1"), ("1 page".into(), "actions==1".into()));
        assert_eq!(
            pages("6-7"),
            ("6-7 pages".into(), "actions>=6;actions<=7".into())
        );
        assert_eq!(pages("21+"), ("21+ pages".into(), "actions>=21".into()));
        let time = |l| range_label(l, "visitDuration", RangeUnit::Duration).0;
        assert_eq!(time("0-10"), "0\u{2013}10s");
        assert_eq!(time("60-120"), "1-2 min");
        assert_eq!(time("1801+"), "30+ min");
        assert_eq!(
            range_label("0-0", "daysSinceLastVisit", RangeUnit::Days),
            ("0 days".into(), "daysSinceLastVisit==0".into())
        );
        assert_eq!(
            range_label("1-1", "daysSinceLastVisit", RangeUnit::Days).0,
            "1 day"
        );
    }
}
