//! `VisitsSummary.*`: the visit metrics of a period and their single-value variants.

use serde_json::{Map, Value};

use super::{
    format::{num, quotient, rounded},
    ReportOutput,
};
use crate::archive::ArchiveData;

/// `VisitsSummary.get`'s columns in Matomo's order; `nb_uniq_visitors` and `nb_users` only where
/// the archive has them (not for years and ranges). Processed metrics: `bounce_rate` (a fraction,
/// 2 decimals), `nb_actions_per_visit` (1 decimal), `avg_time_on_site` (whole seconds).
fn columns(data: &ArchiveData) -> Map<String, Value> {
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

/// `VisitsSummary.get`.
pub(super) fn summary(data: &ArchiveData) -> ReportOutput {
    ReportOutput::Metrics(columns(data))
}

/// A single-value method: the archive's numeric `metric`, 0 when absent.
pub(super) fn value(data: &ArchiveData, metric: &str) -> ReportOutput {
    ReportOutput::Value(num(data.numeric.get(metric).copied().unwrap_or(0.0)))
}
