//! Report definitions: which Reporting API methods exist, how each report is computed from the
//! archives, with Matomo's column names, order and row labels (spec/MATOMO.md 4.6).
//!
//! The API (`crate::api`) parses requests into [`ReportRequest`]s, calls [`produce`] per site and
//! period, then applies the generic filters and renders the format.

pub mod datatable;
pub mod period;

use serde_json::{Map, Value};

pub use datatable::{DataTable, Row};
pub use period::{Period, PeriodKind};

use crate::store::{Site, Store};

/// One report for one site and one period.
#[derive(Debug, Clone)]
pub struct ReportRequest<'a> {
    /// `Module.action`, e.g. `VisitsSummary.get`, `Actions.getPageUrls`.
    pub method: &'a str,
    pub site: &'a Site,
    pub period: Period,
    /// `flat=1`: hierarchical reports as one level with full labels.
    pub flat: bool,
    /// `expanded=1`: subtables inline.
    pub expanded: bool,
    /// `idSubtable=N`: only that subtable.
    pub id_subtable: Option<i64>,
    /// `idGoal=N` where a method takes it.
    pub id_goal: Option<i64>,
}

/// What a report method returns for one site and period.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportOutput {
    /// A table of rows (most reports).
    Table(DataTable),
    /// One row of metrics without a label (`VisitsSummary.get`, `Actions.get`, `Goals.get`).
    Metrics(Map<String, Value>),
    /// A single value (`VisitsSummary.getVisits`...).
    Value(Value),
}

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("The method '{0}' does not exist or is not available in the module.")]
    UnknownMethod(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// Whether `method` is a report this module produces.
pub fn is_report_method(method: &str) -> bool {
    let _ = method;
    false
}

/// Produces one report, archiving on demand when the period has no valid archive.
pub async fn produce(
    store: &Store,
    request: &ReportRequest<'_>,
) -> Result<ReportOutput, ReportError> {
    let _ = store;
    Err(ReportError::UnknownMethod(request.method.to_owned()))
}
