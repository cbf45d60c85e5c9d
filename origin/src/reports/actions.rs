//! `Actions.*`: the action metrics of a period, page URLs and titles (hierarchical, `flat=1`,
//! `expanded=1`), entry and exit pages, outlinks, downloads and site-search keywords.

use serde_json::{Map, Value};

use super::{
    catalogue::ActionReport,
    finish_table,
    format::{num, php_urlencode, put_metrics, quotient, rounded},
    DataTable, ReportError, ReportOutput, ReportRequest, Row,
};
use crate::{
    archive::{
        actions::{
            RECORD_DOWNLOADS, RECORD_OUTLINKS, RECORD_PAGE_TITLES, RECORD_PAGE_URLS,
            RECORD_SITE_SEARCH,
        },
        data::OTHERS_LABEL,
        ArchiveData, Rec, Table,
    },
    enrich::url,
};

/// Page metrics in Matomo's order (day names; other periods carry `sum_daily_*`).
const PAGE_METRICS: &[&str] = &[
    "nb_visits",
    "nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "entry_nb_uniq_visitors",
    "entry_nb_visits",
    "entry_nb_actions",
    "entry_sum_visit_length",
    "entry_bounce_count",
    "exit_nb_uniq_visitors",
    "exit_nb_visits",
    "sum_daily_nb_uniq_visitors",
    "sum_daily_entry_nb_uniq_visitors",
    "sum_daily_exit_nb_uniq_visitors",
    "nb_hits_following_search",
];

/// Matomo's default order: most visits first, ties by label.
fn sorted(table: &Table) -> Vec<&Rec> {
    let mut rows: Vec<&Rec> = table.rows.iter().collect();
    rows.sort_by(|a, b| {
        b.get("nb_visits")
            .total_cmp(&a.get("nb_visits"))
            .then_with(|| a.label.cmp(&b.label))
    });
    rows
}

/// `Actions.get`: `nb_keywords` is the number of distinct keywords of the period's table.
fn get(data: &ArchiveData) -> Map<String, Value> {
    let mut columns = Map::new();
    let value = |name: &str| data.numeric.get(name).copied().unwrap_or(0.0);
    if value("hits") == 0.0 {
        return columns;
    }
    for name in [
        "nb_pageviews",
        "nb_uniq_pageviews",
        "nb_downloads",
        "nb_uniq_downloads",
        "nb_outlinks",
        "nb_uniq_outlinks",
        "nb_searches",
    ] {
        columns.insert(name.to_owned(), num(value(name)));
    }
    let keywords = data.blobs.get(RECORD_SITE_SEARCH).map_or(0, |table| {
        table
            .rows
            .iter()
            .filter(|row| row.label != OTHERS_LABEL)
            .count()
    });
    columns.insert("nb_keywords".into(), num(keywords as f64));
    columns.insert("hits".into(), num(value("hits")));
    columns
}

/// Processed page metrics: `avg_time_on_page` (whole seconds), `bounce_rate`
/// (entry bounces / entries) and `exit_rate` (exits / visits), rates as fractions.
fn page_processed(columns: &mut Map<String, Value>, rec: &Rec) {
    columns.insert(
        "avg_time_on_page".into(),
        rounded(quotient(rec.get("sum_time_spent"), rec.get("nb_hits")), 0),
    );
    columns.insert(
        "bounce_rate".into(),
        rounded(
            quotient(rec.get("entry_bounce_count"), rec.get("entry_nb_visits")),
            2,
        ),
    );
    columns.insert(
        "exit_rate".into(),
        rounded(quotient(rec.get("exit_nb_visits"), rec.get("nb_visits")), 2),
    );
}

/// The `pageUrl` segment of a page (`==`) or folder (`=^`).
fn url_segment(operator: &str, dimension: &str, full_url: &str) -> String {
    format!(
        "{dimension}{operator}{}",
        php_urlencode(&php_urlencode(full_url))
    )
}

/// Goal metrics of page rows in Matomo's order (`ArchivingHelper::updateActionsTableRowWithGoals`:
/// the pageview metrics, then the entry metrics).
const PAGE_GOAL_METRICS: &[&str] = &[
    "nb_conversions",
    "revenue",
    "nb_conv_pages_before",
    "nb_conversions_attrib",
    "nb_conversions_page_rate",
    "nb_conversions_page_uniq",
    "revenue_attrib",
    "revenue_entry",
    "nb_conversions_entry_rate",
    "revenue_per_entry",
    "nb_conversions_entry",
];

/// Which page report is rendered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PageReport {
    Urls,
    Titles,
    Entry,
    Exit,
}

/// What rendering a page report needs besides the table.
struct PageContext<'a> {
    report: PageReport,
    flat: bool,
    /// The site's main URL without its trailing `/`: folders' `pageUrl=^` segments start with it
    /// (`ArchivingHelper::setFolderPathMetadata`, `folder_url_start`).
    main_url: &'a str,
    data: &'a ArchiveData,
}

/// The `goals` object of a page row. `nb_conversions_page_rate` is computed for the rows of the
/// top-level table only (`CalculateConversionPageRate`, applied by `API::filterActionsDataTable`
/// before subtables are expanded or flattened): `nb_conversions_page_uniq` over the goal's
/// conversions in the period (the `Goal_N_nb_conversions` record), 3 decimals, at most 1. Rows
/// of subtables keep the archived 0.
fn page_goals(rec: &Rec, top_level: bool, data: &ArchiveData) -> Option<Value> {
    if rec.goals.is_empty() {
        return None;
    }
    let mut goals = Map::new();
    for (idgoal, metrics) in &rec.goals {
        let mut columns = Map::new();
        for name in PAGE_GOAL_METRICS {
            let Some(value) = metrics.get(*name) else {
                continue;
            };
            let mut value = *value;
            if *name == "nb_conversions_page_rate" && top_level {
                if let Some(total) = data
                    .numeric
                    .get(&crate::archive::actions::goal_conversions_record(*idgoal))
                {
                    let uniq = metrics
                        .get("nb_conversions_page_uniq")
                        .copied()
                        .unwrap_or(0.0);
                    value = (quotient(uniq, *total) * 1000.0).round() / 1000.0;
                    value = value.min(1.0);
                }
            }
            columns.insert((*name).to_owned(), num(value));
        }
        goals.insert(format!("idgoal={idgoal}"), Value::Object(columns));
    }
    Some(Value::Object(goals))
}

fn page_rows(table: &Table, ctx: &PageContext<'_>, path: &[&str], depth: usize) -> DataTable {
    let report = ctx.report;
    let flat = ctx.flat;
    let mut rows = Vec::new();
    for rec in sorted(table) {
        let keep = match report {
            PageReport::Entry => rec.get("entry_nb_visits") > 0.0,
            PageReport::Exit => rec.get("exit_nb_visits") > 0.0,
            _ => true,
        };
        if !keep {
            continue;
        }
        let mut here = path.to_vec();
        here.push(rec.label.trim_start_matches('/'));
        if flat {
            if let Some(sub) = &rec.sub {
                rows.extend(page_rows(sub, ctx, &here, depth + 1).rows);
                continue;
            }
        }
        let mut columns = Map::new();
        let label = if flat && report != PageReport::Titles {
            // A row without a URL (the "Others" row of a truncated folder) is labelled by its
            // folder path, as Matomo's `Flattener` prefixes a summary row with its parents'
            // labels (`core/API/DataTableManipulator/Flattener.php`), rooted at `/` like the
            // other flat page labels: `/good/Others`; the top level's stays `Others`.
            rec.meta.get("url").map_or_else(
                || {
                    if depth == 0 {
                        rec.label.clone()
                    } else {
                        format!("/{}", here.join("/"))
                    }
                },
                |u| url::flat_page_label(u.split_once("://").map_or(u, |(_, r)| r)).to_owned(),
            )
        } else {
            rec.label.clone()
        };
        columns.insert("label".into(), Value::from(label.clone()));
        let folder = rec.sub.is_some();
        let names: Vec<&str> = PAGE_METRICS
            .iter()
            .copied()
            .filter(|name| !(folder && name.ends_with("nb_uniq_visitors")))
            .collect();
        let (before_goals, after_goals) = names.split_at(
            names
                .iter()
                .position(|n| *n == "exit_nb_visits")
                .map_or(names.len(), |i| i + 1),
        );
        put_metrics(&mut columns, rec, before_goals);
        if let Some(goals) = page_goals(rec, depth == 0, ctx.data) {
            columns.insert("goals".into(), goals);
        }
        put_metrics(&mut columns, rec, after_goals);
        // Matomo adds the page load time to the table it was asked for, not to subtables.
        if flat || depth == 0 {
            columns.insert("avg_page_load_time".into(), num(0.0));
        }
        page_processed(&mut columns, rec);
        let dimension = match report {
            PageReport::Titles => "pageTitle",
            PageReport::Entry if !folder => "entryPageUrl",
            PageReport::Exit if !folder => "exitPageUrl",
            _ => "pageUrl",
        };
        if report == PageReport::Titles {
            columns.insert(
                "segment".into(),
                Value::from(format!(
                    "pageTitle=={}",
                    php_urlencode(&php_urlencode(rec.label.trim()))
                )),
            );
        } else if folder {
            let prefix = format!("{}/{}", ctx.main_url, here.join("/"));
            columns.insert(
                "segment".into(),
                Value::from(url_segment("=^", dimension, &prefix)),
            );
        } else if let Some(full) = rec.meta.get("url") {
            columns.insert("url".into(), Value::from(full.clone()));
            if flat {
                columns.insert("Actions_PageUrl".into(), Value::from(label));
            }
            columns.insert(
                "segment".into(),
                Value::from(url_segment("==", dimension, full)),
            );
        }
        let subtable = if flat {
            None
        } else {
            rec.sub
                .as_ref()
                .map(|sub| page_rows(sub, ctx, &here, depth + 1))
        };
        rows.push(Row {
            columns,
            subtable,
            idsubdatatable: None,
        });
    }
    DataTable { rows }
}

fn link_rows(table: &Table, flat: bool) -> DataTable {
    let mut rows = Vec::new();
    for rec in sorted(table) {
        if flat {
            if let Some(sub) = &rec.sub {
                rows.extend(link_rows(sub, false).rows);
                continue;
            }
        }
        let mut columns = Map::new();
        columns.insert("label".into(), Value::from(rec.label.clone()));
        put_metrics(
            &mut columns,
            rec,
            &[
                "nb_visits",
                "nb_hits",
                "sum_time_spent",
                "nb_hits_following_search",
            ],
        );
        if rec.sub.is_none() {
            let url = rec.meta.get("url").unwrap_or(&rec.label);
            columns.insert("url".into(), Value::from(url.clone()));
        }
        rows.push(Row {
            columns,
            subtable: rec.sub.as_ref().map(|sub| link_rows(sub, false)),
            idsubdatatable: None,
        });
    }
    DataTable { rows }
}

fn search_rows(table: &Table) -> DataTable {
    let rows = sorted(table)
        .into_iter()
        .map(|rec| {
            let mut columns = Map::new();
            columns.insert("label".into(), Value::from(rec.label.clone()));
            put_metrics(
                &mut columns,
                rec,
                &["nb_visits", "nb_hits", "sum_time_spent", "exit_nb_visits"],
            );
            columns.insert(
                "nb_pages_per_search".into(),
                rounded(quotient(rec.get("nb_hits"), rec.get("nb_visits")), 1),
            );
            columns.insert(
                "avg_time_on_page".into(),
                rounded(quotient(rec.get("sum_time_spent"), rec.get("nb_hits")), 0),
            );
            columns.insert("bounce_rate".into(), num(0.0));
            columns.insert(
                "exit_rate".into(),
                rounded(quotient(rec.get("exit_nb_visits"), rec.get("nb_visits")), 2),
            );
            columns.insert(
                "segment".into(),
                Value::from(format!("siteSearchKeyword=={}", php_urlencode(&rec.label))),
            );
            Row {
                columns,
                ..Row::default()
            }
        })
        .collect();
    DataTable { rows }
}

pub(super) fn render(
    which: ActionReport,
    request: &ReportRequest<'_>,
    data: &ArchiveData,
) -> Result<ReportOutput, ReportError> {
    let empty = Table::default();
    let blob = |name: &str| data.blobs.get(name).unwrap_or(&empty);
    let main_url = request.site.main_url.trim_end_matches('/');
    let pages = |report: PageReport, record: &str| {
        let ctx = PageContext {
            report,
            flat: request.flat,
            main_url,
            data,
        };
        page_rows(blob(record), &ctx, &[], 0)
    };
    let table = match which {
        ActionReport::Get => return Ok(ReportOutput::Metrics(get(data))),
        ActionReport::PageUrls => pages(PageReport::Urls, RECORD_PAGE_URLS),
        ActionReport::EntryPageUrls => pages(PageReport::Entry, RECORD_PAGE_URLS),
        ActionReport::ExitPageUrls => pages(PageReport::Exit, RECORD_PAGE_URLS),
        ActionReport::PageTitles => pages(PageReport::Titles, RECORD_PAGE_TITLES),
        ActionReport::Outlinks => link_rows(blob(RECORD_OUTLINKS), request.flat),
        ActionReport::Downloads => link_rows(blob(RECORD_DOWNLOADS), request.flat),
        ActionReport::SiteSearchKeywords => search_rows(blob(RECORD_SITE_SEARCH)),
    };
    finish_table(table, request).map(ReportOutput::Table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::fixture;

    /// 122 pages under `/good/`, truncated to the archive's 100-row subtable limit.
    fn truncated_folder() -> ArchiveData {
        let mut folder = Rec::new("good");
        folder.sub = Some(Table {
            rows: (0..122)
                .map(|i| {
                    let mut page = Rec::new(format!("/{i}"));
                    page.m.insert("nb_visits".into(), 1.0);
                    page.m.insert("nb_hits".into(), 1.0);
                    page.meta
                        .insert("url".into(), format!("https://shop.example.com/good/{i}"));
                    page
                })
                .collect(),
        });
        let mut table = Table { rows: vec![folder] };
        table.truncate(500, 100, "nb_visits");
        let mut data = ArchiveData::default();
        data.blobs.insert(RECORD_PAGE_URLS.into(), table);
        data
    }

    #[test]
    fn a_flat_truncated_folder_shows_its_others_row_without_a_page_url() {
        let site = fixture::site();
        let mut request = fixture::request("Actions.getPageUrls", &site);
        request.flat = true;
        let ReportOutput::Table(table) =
            render(ActionReport::PageUrls, &request, &truncated_folder()).unwrap()
        else {
            panic!("a table");
        };
        assert_eq!(table.rows.len(), 100);
        let others = table
            .rows
            .iter()
            .find(|row| row.label() == Some("/good/Others"))
            .expect("the Others row");
        assert_eq!(others.columns["nb_hits"], 23);
        assert!(others.columns.get("url").is_none(), "{:?}", others.columns);
        assert!(others.columns.get("segment").is_none());
        // Every other row is one real page with its own URL and one hit.
        for row in table
            .rows
            .iter()
            .filter(|row| row.label() != Some("/good/Others"))
        {
            assert_eq!(row.columns["nb_hits"], 1, "{:?}", row.columns);
            assert!(row.columns["url"]
                .as_str()
                .unwrap()
                .ends_with(row.label().unwrap()));
        }
    }
}
