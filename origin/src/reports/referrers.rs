//! `Referrers.*`: referrer types, websites, search engines, keywords, campaigns, social networks
//! and the mixed `getAll`, with the visit metric set, per-goal conversions and metadata.

use serde_json::{Map, Value};

use super::{
    catalogue::ReferrerReport,
    finish_table,
    format::{num, php_urlencode, put_goals, put_metrics, SUMMED_DAILY, VISIT_METRICS},
    DataTable, ReportOutput, ReportRequest, Row,
};
use crate::{
    archive::{
        day::{
            RECORD_CAMPAIGNS, RECORD_KEYWORDS, RECORD_SEARCH_ENGINES, RECORD_SOCIALS, RECORD_TYPE,
            RECORD_WEBSITES,
        },
        ArchiveData, Rec, Table,
    },
    enrich::referrer::{self, ReferrerType, KEYWORD_NOT_DEFINED},
};

fn kind_of(code: &str) -> ReferrerType {
    match code {
        "2" => ReferrerType::Search,
        "3" => ReferrerType::Website,
        "6" => ReferrerType::Campaign,
        "7" => ReferrerType::Social,
        _ => ReferrerType::Direct,
    }
}

/// A keyword's segment value: empty for "Keyword not defined".
fn keyword_value(label: &str) -> String {
    if label == KEYWORD_NOT_DEFINED {
        String::new()
    } else {
        php_urlencode(label)
    }
}

/// The metrics part of a row.
fn metric_columns(rec: &Rec) -> Map<String, Value> {
    let mut columns = Map::new();
    columns.insert("label".into(), Value::from(rec.label.clone()));
    put_metrics(&mut columns, rec, VISIT_METRICS);
    put_goals(&mut columns, rec);
    // Referrer rows carry the daily sums after their goal columns, as Matomo's answers do.
    put_metrics(&mut columns, rec, SUMMED_DAILY);
    columns
}

/// A plain sub-row (URLs of a website, keywords of an engine...).
fn plain_rows(table: &Table) -> DataTable {
    let mut rows: Vec<&Rec> = table.rows.iter().collect();
    sort(&mut rows);
    DataTable {
        rows: rows
            .into_iter()
            .map(|rec| Row {
                columns: metric_columns(rec),
                ..Row::default()
            })
            .collect(),
    }
}

/// Matomo's default order: most visits first; ties by label.
fn sort(rows: &mut [&Rec]) {
    rows.sort_by(|a, b| {
        b.get("nb_visits")
            .total_cmp(&a.get("nb_visits"))
            .then_with(|| a.label.cmp(&b.label))
    });
}

fn search_engine_meta(columns: &mut Map<String, Value>, name: &str) {
    if let Some(url) = referrer::search_engine_url(name) {
        let host = url.split("://").nth(1).unwrap_or(&url).to_owned();
        columns.insert("url".into(), Value::from(url));
        columns.insert(
            "logo".into(),
            Value::from(format!(
                "plugins/Morpheus/icons/dist/searchEngines/{host}.png"
            )),
        );
    }
}

fn social_meta(columns: &mut Map<String, Value>, name: &str) {
    if let Some(url) = referrer::social_network_url(name) {
        columns.insert("url".into(), Value::from(url));
        columns.insert(
            "logo".into(),
            Value::from(format!("plugins/Morpheus/icons/dist/socials/{url}.png")),
        );
    }
}

/// Builds one report's rows from an archived table, `meta` adding each row's metadata.
fn rows_of(
    table: Option<&Table>,
    mut meta: impl FnMut(&Rec, &mut Map<String, Value>),
) -> DataTable {
    let Some(table) = table else {
        return DataTable::default();
    };
    let mut recs: Vec<&Rec> = table.rows.iter().collect();
    sort(&mut recs);
    DataTable {
        rows: recs
            .into_iter()
            .map(|rec| {
                let mut columns = metric_columns(rec);
                meta(rec, &mut columns);
                Row {
                    columns,
                    subtable: rec.sub.as_ref().map(plain_rows),
                    idsubdatatable: None,
                }
            })
            .collect(),
    }
}

/// The rows of `getAll`: websites, search keywords, campaigns and social networks together,
/// each with its `referer_type` (direct entries are not listed).
fn all_rows(data: &ArchiveData) -> DataTable {
    let mut rows: Vec<(&Rec, ReferrerType)> = Vec::new();
    for (record, kind) in [
        (RECORD_WEBSITES, ReferrerType::Website),
        (RECORD_KEYWORDS, ReferrerType::Search),
        (RECORD_CAMPAIGNS, ReferrerType::Campaign),
        (RECORD_SOCIALS, ReferrerType::Social),
    ] {
        if let Some(table) = data.blobs.get(record) {
            rows.extend(table.rows.iter().map(|rec| (rec, kind)));
        }
    }
    rows.sort_by(|(a, _), (b, _)| {
        b.get("nb_visits")
            .total_cmp(&a.get("nb_visits"))
            .then_with(|| a.label.cmp(&b.label))
    });
    DataTable {
        rows: rows
            .into_iter()
            .map(|(rec, kind)| {
                let mut columns = metric_columns(rec);
                let name = php_urlencode(&rec.label);
                let segment = match kind {
                    ReferrerType::Website => format!("referrerName=={name}"),
                    ReferrerType::Search => {
                        format!(
                            "referrerType==search;referrerKeyword=={}",
                            keyword_value(&rec.label)
                        )
                    }
                    ReferrerType::Social => {
                        social_meta(&mut columns, &rec.label);
                        format!("referrerType==social;referrerName=={name}")
                    }
                    _ => format!("referrerType==campaign;referrerName=={name}"),
                };
                columns.insert("segment".into(), Value::from(segment));
                columns.insert("referer_type".into(), num(f64::from(kind as u8)));
                Row {
                    columns,
                    ..Row::default()
                }
            })
            .collect(),
    }
}

pub(super) fn render(
    which: ReferrerReport,
    request: &ReportRequest<'_>,
    data: &ArchiveData,
) -> ReportOutput {
    let segment = |columns: &mut Map<String, Value>, value: String| {
        columns.insert("segment".into(), Value::from(value));
    };
    let table = match which {
        ReferrerReport::Type => rows_of(data.blobs.get(RECORD_TYPE), |rec, columns| {
            let kind = kind_of(&rec.label);
            columns.insert("label".into(), Value::from(kind.label()));
            segment(columns, format!("referrerType=={}", kind.segment_value()));
            columns.insert("referrer_type".into(), num(f64::from(kind as u8)));
        }),
        ReferrerReport::All => all_rows(data),
        ReferrerReport::Websites => rows_of(data.blobs.get(RECORD_WEBSITES), |rec, columns| {
            segment(
                columns,
                format!("referrerName=={}", php_urlencode(&rec.label)),
            );
        }),
        ReferrerReport::SearchEngines => {
            rows_of(data.blobs.get(RECORD_SEARCH_ENGINES), |rec, columns| {
                segment(
                    columns,
                    format!(
                        "referrerType==search;referrerName=={}",
                        php_urlencode(&rec.label)
                    ),
                );
                search_engine_meta(columns, &rec.label);
            })
        }
        ReferrerReport::Keywords => rows_of(data.blobs.get(RECORD_KEYWORDS), |rec, columns| {
            segment(
                columns,
                format!(
                    "referrerType==search;referrerKeyword=={}",
                    keyword_value(&rec.label)
                ),
            );
        }),
        ReferrerReport::Campaigns => rows_of(data.blobs.get(RECORD_CAMPAIGNS), |rec, columns| {
            segment(
                columns,
                format!(
                    "referrerType==campaign;referrerName=={}",
                    php_urlencode(&rec.label)
                ),
            );
        }),
        ReferrerReport::Socials => rows_of(data.blobs.get(RECORD_SOCIALS), |rec, columns| {
            social_meta(columns, &rec.label);
            segment(
                columns,
                format!(
                    "referrerType==social;referrerName=={}",
                    php_urlencode(&rec.label)
                ),
            );
        }),
    };
    // Subtable requests and `expanded` follow the generic rules; an unknown id reads as empty.
    ReportOutput::Table(finish_table(table, request).unwrap_or_default())
}
