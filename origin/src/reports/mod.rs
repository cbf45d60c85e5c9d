//! Report definitions: which Reporting API methods exist, how each report is computed from the
//! archives, with Matomo's column names, order and row labels (spec/MATOMO.md 4.6).
//!
//! The API (`crate::api`) parses requests into [`ReportRequest`]s, calls [`produce`] per site and
//! period, then applies the generic filters and renders the format.

mod actions;
pub mod catalogue;
pub mod datatable;
mod dimension;
pub mod format;
mod labels;
mod names;
mod referrers;
mod visits;

use serde_json::{Map, Value};

pub use crate::period::{Period, PeriodKind};
pub use catalogue::Render;
pub use datatable::{DataTable, Row};

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

/// Whether `method` is a report of the catalogue.
pub fn is_report_method(method: &str) -> bool {
    catalogue::find(method).is_some()
}

/// Produces one report, archiving on demand when the period has no valid archive (unless
/// `archiving.browser_trigger` is off: then only existing archives are read, except ranges).
pub async fn produce(
    store: &Store,
    request: &ReportRequest<'_>,
    settings: crate::archive::Settings,
) -> Result<ReportOutput, ReportError> {
    check(request)?;
    let data = crate::archive::for_report(store, request.site, request.period, settings).await?;
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
    let report = catalogue::find(request.method)
        .ok_or_else(|| ReportError::UnknownMethod(request.method.to_owned()))?;
    match report.render {
        Render::VisitsSummary => Ok(visits::summary(data)),
        Render::VisitsValue(metric) => Ok(visits::value(data, metric)),
        Render::Referrers(which) => Ok(referrers::render(which, request, data)),
        Render::Actions(which) => actions::render(which, request, data),
        Render::Dimension(dimension) => {
            finish_table(dimension::render(&dimension, request, data), request)
                .map(ReportOutput::Table)
        }
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{catalogue::CATALOGUE, fixture, render, Render, ReportOutput};
    use crate::archive::{
        day::{self, DimensionConversion, DimensionRows, ServerHours, VisitGroup},
        dimensions::{Grouping, VISIT_DIMENSIONS},
        ArchiveData,
    };
    use crate::tracker::SiteTz;

    /// A day of 3 visits: every visit-dimension record built by the day archiver's own builder
    /// (two visits at 06 UTC, one converting for goal 2; ranges counting 1, 2, 0...).
    fn fixture_archive() -> ArchiveData {
        let mut data = ArchiveData::default();
        for (name, value) in [
            ("nb_visits", 3.0),
            ("nb_actions", 5.0),
            ("bounce_count", 1.0),
        ] {
            data.numeric.insert(name.into(), value);
        }
        let group = VisitGroup {
            visits: 2,
            uniq_visitors: 2,
            actions: 4,
            max_actions: 3,
            visit_length: 100,
            bounces: 1,
            converted: 1,
            ..VisitGroup::default()
        };
        let conversion = DimensionConversion {
            label: Some("6".into()),
            idgoal: 2,
            conversions: 2,
            converted_visits: 1,
            revenue: 5.0,
            ..DimensionConversion::default()
        };
        let hours = ServerHours::new(&SiteTz::parse("UTC"), 0);
        for dimension in VISIT_DIMENSIONS {
            let counts = dimension
                .grouping
                .range_labels()
                .iter()
                .enumerate()
                .map(|(i, _)| i as i64 % 3)
                .collect();
            let rows = DimensionRows {
                groups: vec![("6".into(), group.clone())],
                counts,
                // As `load_dimension_conversions` reads them: only where the record has goals.
                conversions: match dimension.grouping {
                    Grouping::Values {
                        conversions: Some(_),
                        ..
                    } => vec![conversion.clone()],
                    _ => Vec::new(),
                },
            };
            let table = day::dimension_table(dimension, rows, &hours);
            data.blobs.insert(dimension.record.to_owned(), table);
        }
        data
    }

    fn keys(row: &serde_json::Map<String, Value>) -> Vec<&str> {
        row.keys().map(String::as_str).collect()
    }

    #[test]
    fn every_catalogue_row_renders_the_fixture_archive_to_matomos_columns() {
        let site = fixture::site();
        let data = fixture_archive();
        for report in CATALOGUE {
            let method = format!("{}.{}", report.module, report.action);
            let request = fixture::request(&method, &site);
            let output = render(&request, &data).unwrap_or_else(|e| panic!("{method}: {e}"));
            match (report.render, output) {
                (Render::VisitsSummary, ReportOutput::Metrics(columns)) => {
                    assert_eq!(columns["nb_visits"], 3, "{method}");
                    assert_eq!(columns["bounce_rate"], 0.33, "{method}");
                }
                (Render::VisitsValue(metric), ReportOutput::Value(value)) => {
                    let expected = data.numeric.get(metric).copied().unwrap_or(0.0);
                    assert_eq!(value.as_f64(), Some(expected), "{method}");
                }
                (Render::Actions(_) | Render::Referrers(_), _) => {}
                (Render::Dimension(d), ReportOutput::Table(table)) => {
                    let rows: Vec<_> = table.rows.iter().map(|r| &r.columns).collect();
                    match d.labels {
                        super::catalogue::DimensionLabels::Hours { .. } => {
                            assert_eq!(rows.len(), 24, "{method}");
                            assert_eq!(rows[0]["label"], "00");
                            assert_eq!(
                                keys(rows[0]),
                                [
                                    "label",
                                    "nb_uniq_visitors",
                                    "nb_visits",
                                    "nb_actions",
                                    "nb_users",
                                    "max_actions",
                                    "sum_visit_length",
                                    "bounce_count",
                                    "nb_visits_converted",
                                    "segment"
                                ],
                                "{method}"
                            );
                            let six = rows[6];
                            assert_eq!(six["label"], "06");
                            assert_eq!(six["nb_visits"], 2);
                            assert_eq!(six["max_actions"], 3);
                            if d.record == crate::archive::dimensions::RECORD_SERVER_TIME {
                                assert_eq!(six["segment"], "visitStartServerHour==6");
                                assert_eq!(
                                    six["goals"]["idgoal=2"]["nb_visits_converted"], 1,
                                    "{six:?}"
                                );
                                assert_eq!(six["revenue"], 5);
                            } else {
                                assert_eq!(six["segment"], "visitLocalHour==6");
                                assert!(six.get("goals").is_none());
                            }
                        }
                        super::catalogue::DimensionLabels::Mapped { fill, .. } => {
                            // The archived value 6 in one row, every `fill` value in others.
                            assert_eq!(rows.len(), fill.len().max(1), "{method}");
                            assert_eq!(rows[0]["nb_visits"], 2, "{method}");
                            assert_eq!(rows[0]["max_actions"], 3, "{method}");
                            for row in &rows[1..] {
                                assert_eq!(keys(row)[..2], ["label", "nb_visits"], "{method}");
                                assert_eq!(row["nb_visits"], 0, "{method}");
                            }
                        }
                        super::catalogue::DimensionLabels::Ranges { .. } => {
                            assert!(rows.len() >= 10, "{method}");
                            for row in &rows {
                                assert_eq!(keys(row), ["label", "nb_visits", "segment"]);
                            }
                            assert_eq!(rows[1]["nb_visits"], 1, "{method}");
                        }
                    }
                }
                (render, output) => panic!("{method}: {render:?} gave {output:?}"),
            }
        }
    }

    #[test]
    fn an_unknown_method_is_an_error_not_another_report() {
        let site = fixture::site();
        let request = fixture::request("Actions.getPageUrlz", &site);
        assert!(render(&request, &fixture_archive()).is_err());
    }
}
