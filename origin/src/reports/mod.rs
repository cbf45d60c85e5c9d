//! Report definitions: which Reporting API methods exist, how each report is computed from the
//! archives, with Matomo's column names, order and row labels (spec/MATOMO.md 4.6).
//!
//! The API (`crate::api`) parses requests into [`ReportRequest`]s, calls [`produce`] per site and
//! period, then applies the generic filters and renders the format.

mod actions;
pub mod datatable;
pub mod format;
pub mod period;
mod referrers;
mod visits;

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
    visits::METHODS.contains(&method)
        || referrers::METHODS.contains(&method)
        || actions::METHODS.contains(&method)
}

/// Produces one report, archiving on demand when the period has no valid archive (unless
/// `archiving.browser_trigger` is off: then only existing archives are read, except ranges).
pub async fn produce(
    store: &Store,
    request: &ReportRequest<'_>,
) -> Result<ReportOutput, ReportError> {
    check(request)?;
    let data = crate::archive::for_report(store, request.site, request.period).await?;
    render(request, &data)
}

/// The checks [`produce`] makes before reading any archive: a known method, a period whose start
/// is not after its end.
pub fn check(request: &ReportRequest<'_>) -> Result<(), ReportError> {
    if !is_report_method(request.method) {
        return Err(ReportError::UnknownMethod(request.method.to_owned()));
    }
    if request.period.start > request.period.end {
        return Err(ReportError::Invalid(
            "The date range is invalid: its start is after its end.".to_owned(),
        ));
    }
    Ok(())
}

/// Renders one report from its period's archive (what [`produce`] does once it has the archive;
/// the API calls it with archives it looked up itself, several periods in one query).
pub fn render(
    request: &ReportRequest<'_>,
    data: &crate::archive::ArchiveData,
) -> Result<ReportOutput, ReportError> {
    check(request)?;
    let non_day = request.period.kind != PeriodKind::Day;
    if visits::METHODS.contains(&request.method) {
        visits::render(request.method, data)
    } else if referrers::METHODS.contains(&request.method) {
        Ok(referrers::render(request, data))
    } else {
        actions::render(request, data, non_day)
    }
}

/// Numbers subtables in the order they appear (`idsubdatatable`) and, with `expanded`, keeps
/// them inline; an `idSubtable` request returns only that subtable.
pub(crate) fn finish_table(
    mut table: DataTable,
    request: &ReportRequest<'_>,
) -> Result<DataTable, ReportError> {
    let mut next = 1;
    number_subtables(&mut table, &mut next);
    if let Some(id) = request.id_subtable {
        return find_subtable(&table, id)
            .cloned()
            .map(|mut sub| {
                strip_subtables(&mut sub, request.expanded);
                sub
            })
            .ok_or_else(|| {
                ReportError::Invalid(format!("The subtable with id {id} does not exist."))
            });
    }
    strip_subtables(&mut table, request.expanded);
    Ok(table)
}

fn number_subtables(table: &mut DataTable, next: &mut i64) {
    for row in &mut table.rows {
        if row
            .subtable
            .as_ref()
            .is_some_and(|sub| !sub.rows.is_empty())
        {
            row.idsubdatatable = Some(*next);
            *next += 1;
        } else {
            row.subtable = None;
        }
    }
    for row in &mut table.rows {
        if let Some(sub) = &mut row.subtable {
            number_subtables(sub, next);
        }
    }
}

fn find_subtable(table: &DataTable, id: i64) -> Option<&DataTable> {
    table.rows.iter().find_map(|row| {
        let sub = row.subtable.as_ref()?;
        if row.idsubdatatable == Some(id) {
            Some(sub)
        } else {
            find_subtable(sub, id)
        }
    })
}

/// Without `expanded=1` a row keeps only its subtable id.
fn strip_subtables(table: &mut DataTable, expanded: bool) {
    for row in &mut table.rows {
        if expanded {
            if let Some(sub) = &mut row.subtable {
                strip_subtables(sub, expanded);
            }
        } else {
            row.subtable = None;
        }
    }
}

/// Fixtures for the report tests that render archives without a database.
#[cfg(test)]
pub(crate) mod fixture {
    use super::ReportRequest;
    use crate::store::Site;

    /// A site as the tests' archives belong to.
    pub(crate) fn site() -> Site {
        Site {
            idsite: 1,
            name: "Shop".into(),
            main_url: "https://shop.example.com".into(),
            ts_created: "2026-01-01 00:00:00".into(),
            ecommerce: 0,
            sitesearch: 1,
            sitesearch_keyword_parameters: String::new(),
            sitesearch_category_parameters: String::new(),
            timezone: "UTC".into(),
            currency: "USD".into(),
            exclude_unknown_urls: 0,
            excluded_ips: String::new(),
            excluded_parameters: String::new(),
            excluded_user_agents: String::new(),
            excluded_referrers: String::new(),
            group: String::new(),
            kind: "website".into(),
            keep_url_fragment: 0,
            creator_login: "admin".into(),
            urls: vec!["https://shop.example.com".into()],
        }
    }

    /// A request for `method` over one day of `site`.
    pub(crate) fn request<'a>(method: &'a str, site: &'a Site) -> ReportRequest<'a> {
        ReportRequest {
            method,
            site,
            period: crate::archive::periods::day(
                chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("a date"),
            ),
            flat: false,
            expanded: false,
            id_subtable: None,
            id_goal: None,
        }
    }
}
