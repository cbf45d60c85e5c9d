//! `VisitsSummary.*`: the visit metrics of a period and their single-value variants.

use serde_json::{Map, Value};

use super::{
    format::{num, quotient, rounded},
    ReportError, ReportOutput,
};
use crate::archive::ArchiveData;

pub(super) const METHODS: &[&str] = &[
    "VisitsSummary.get",
    "VisitsSummary.getVisits",
    "VisitsSummary.getUniqueVisitors",
    "VisitsSummary.getUsers",
    "VisitsSummary.getActions",
    "VisitsSummary.getMaxActions",
    "VisitsSummary.getBounceCount",
    "VisitsSummary.getVisitsConverted",
    "VisitsSummary.getSumVisitsLength",
];

/// The single-value methods and the metric each returns.
const SINGLE: &[(&str, &str)] = &[
    ("VisitsSummary.getVisits", "nb_visits"),
    ("VisitsSummary.getUniqueVisitors", "nb_uniq_visitors"),
    ("VisitsSummary.getUsers", "nb_users"),
    ("VisitsSummary.getActions", "nb_actions"),
    ("VisitsSummary.getMaxActions", "max_actions"),
    ("VisitsSummary.getBounceCount", "bounce_count"),
    ("VisitsSummary.getVisitsConverted", "nb_visits_converted"),
    ("VisitsSummary.getSumVisitsLength", "sum_visit_length"),
];

/// `VisitsSummary.get`'s columns in Matomo's order; `nb_uniq_visitors` and `nb_users` only where
/// the archive has them (not for years and ranges). Processed metrics: `bounce_rate` (a fraction,
/// 2 decimals), `nb_actions_per_visit` (1 decimal), `avg_time_on_site` (whole seconds).
fn summary(data: &ArchiveData) -> Map<String, Value> {
    let get = |name: &str| data.numeric.get(name).copied().unwrap_or(0.0);
    let mut columns = Map::new();
    if get("nb_visits") == 0.0 {
        // Matomo answers an empty table for a period without visits.
        return columns;
    }
    for name in [
        "nb_uniq_visitors",
        "nb_users",
        "nb_visits",
        "nb_actions",
        "nb_visits_converted",
        "bounce_count",
        "sum_visit_length",
        "max_actions",
    ] {
        if let Some(value) = data.numeric.get(name) {
            columns.insert(name.to_owned(), num(*value));
        }
    }
    let visits = get("nb_visits");
    columns.insert(
        "bounce_rate".into(),
        rounded(quotient(get("bounce_count"), visits), 2),
    );
    columns.insert(
        "nb_actions_per_visit".into(),
        rounded(quotient(get("nb_actions"), visits), 1),
    );
    columns.insert(
        "avg_time_on_site".into(),
        rounded(quotient(get("sum_visit_length"), visits), 0),
    );
    columns
}

pub(super) fn render(method: &str, data: &ArchiveData) -> Result<ReportOutput, ReportError> {
    if method == "VisitsSummary.get" {
        return Ok(ReportOutput::Metrics(summary(data)));
    }
    let metric = SINGLE
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, metric)| *metric)
        .ok_or_else(|| ReportError::UnknownMethod(method.to_owned()))?;
    Ok(ReportOutput::Value(num(data
        .numeric
        .get(metric)
        .copied()
        .unwrap_or(0.0))))
}
