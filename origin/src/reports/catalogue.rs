//! The report catalogue: one row per Reporting API report method, with its category and name
//! (`API.getReportMetadata`) and how it is rendered from the archive. Method dispatch and the
//! metadata both read this table; a method that is not in it is an error, never a fallback.
//!
//! A new visit-dimension report is one row here (`Render::Dimension`, with a label and a segment
//! function where Matomo maps values to names) plus its record in
//! `crate::archive::dimensions::VISIT_DIMENSIONS`.

use serde_json::{Map, Value};

use super::labels;
use crate::archive::dimensions::{
    RECORD_BROWSERS, RECORD_BROWSER_ENGINES, RECORD_COUNTRY, RECORD_DAYS_SINCE_LAST,
    RECORD_DEVICE_TYPES, RECORD_LANGUAGE, RECORD_LOCAL_TIME, RECORD_OS, RECORD_PAGE_GAP,
    RECORD_RESOLUTION, RECORD_SERVER_TIME, RECORD_TIME_GAP,
};

/// One report method.
#[derive(Debug)]
pub struct Report {
    pub module: &'static str,
    pub action: &'static str,
    /// `API.getReportMetadata`'s `category` and `name`; `None` for the single-value methods
    /// Matomo lists under no report (`VisitsSummary.getVisits`...).
    pub metadata: Option<(&'static str, &'static str)>,
    pub render: Render,
}

/// How a report is rendered from its period's archive.
#[derive(Debug, Clone, Copy)]
pub enum Render {
    /// `VisitsSummary.get`.
    VisitsSummary,
    /// A single numeric metric of the archive (`VisitsSummary.getVisits`...).
    VisitsValue(&'static str),
    Actions(ActionReport),
    Referrers(ReferrerReport),
    /// A visit-dimension record (`crate::archive::dimensions`), rendered by
    /// `reports::dimension`.
    Dimension(DimensionReport),
}

/// The Actions reports (`reports::actions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionReport {
    Get,
    PageUrls,
    EntryPageUrls,
    ExitPageUrls,
    PageTitles,
    Outlinks,
    Downloads,
    SiteSearchKeywords,
}

/// The Referrers reports (`reports::referrers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrerReport {
    Type,
    All,
    Websites,
    SearchEngines,
    Keywords,
    Campaigns,
    Socials,
}

/// A report over one visit-dimension record.
#[derive(Debug, Clone, Copy)]
pub struct DimensionReport {
    /// The archive record it reads.
    pub record: &'static str,
    /// How its rows are labelled and segmented.
    pub labels: DimensionLabels,
}

/// The label and segment functions of a visit-dimension report.
#[derive(Debug, Clone, Copy)]
pub enum DimensionLabels {
    /// Hours as `00` to `23` (`VisitTime\getTimeLabel`), sorted by hour, segmented by the hour
    /// in UTC (`AddSegmentByLabelInUTC`, `visitStartServerHour==H`) when `utc_segment`, else by
    /// the label's hour (`AddSegmentValue`, `visitLocalHour==H`).
    Hours {
        segment: &'static str,
        utc_segment: bool,
    },
    /// Archived values mapped to names by `label` (rows of one name merged), sorted by visits,
    /// with the metadata `metadata` adds after the metrics and goals; every value of `fill` has
    /// a row, with only its label and `nb_visits` when no visit had it.
    Mapped {
        label: fn(&str) -> String,
        metadata: fn(&str, &mut Map<String, Value>),
        fill: &'static [&'static str],
    },
    /// Ranges in the record's order, labelled by `BeautifyRangeLabels` /
    /// `BeautifyTimeRangeLabels` and segmented by `AddSegmentByRangeLabel` over `segment`.
    Ranges {
        segment: &'static str,
        unit: RangeUnit,
    },
}

/// The unit a range label is written in (VisitorInterest's translations, English).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeUnit {
    /// Seconds, shown as seconds below a minute and as minutes above (`0–10s`, `1-2 min`).
    Duration,
    /// `1 page`, `2 pages`, `6-7 pages`, `21+ pages`.
    Pages,
    /// `0 days`, `1 day`, `8-14 days`, `365+ days`, after a `New visits` row.
    Days,
}

const fn report(
    module: &'static str,
    action: &'static str,
    category: &'static str,
    name: &'static str,
    render: Render,
) -> Report {
    Report {
        module,
        action,
        metadata: Some((category, name)),
        render,
    }
}

const fn value(action: &'static str, metric: &'static str) -> Report {
    Report {
        module: "VisitsSummary",
        action,
        metadata: None,
        render: Render::VisitsValue(metric),
    }
}

const fn actions(action: &'static str, name: &'static str, report_: ActionReport) -> Report {
    report("Actions", action, "Actions", name, Render::Actions(report_))
}

const fn referrers(action: &'static str, name: &'static str, report_: ReferrerReport) -> Report {
    report(
        "Referrers",
        action,
        "Referrers",
        name,
        Render::Referrers(report_),
    )
}

const fn dimension(
    module: &'static str,
    action: &'static str,
    name: &'static str,
    record: &'static str,
    labels: DimensionLabels,
) -> Report {
    report(
        module,
        action,
        "Visitors",
        name,
        Render::Dimension(DimensionReport { record, labels }),
    )
}

/// Every report method, in the order of `API.getReportMetadata`.
pub static CATALOGUE: &[Report] = &[
    report(
        "VisitsSummary",
        "get",
        "Visitors",
        "Visits Summary",
        Render::VisitsSummary,
    ),
    value("getVisits", "nb_visits"),
    value("getUniqueVisitors", "nb_uniq_visitors"),
    value("getUsers", "nb_users"),
    value("getActions", "nb_actions"),
    value("getMaxActions", "max_actions"),
    value("getBounceCount", "bounce_count"),
    value("getVisitsConverted", "nb_visits_converted"),
    value("getSumVisitsLength", "sum_visit_length"),
    actions("get", "Actions - Main metrics", ActionReport::Get),
    actions("getPageUrls", "Page URLs", ActionReport::PageUrls),
    actions(
        "getEntryPageUrls",
        "Entry pages",
        ActionReport::EntryPageUrls,
    ),
    actions("getExitPageUrls", "Exit pages", ActionReport::ExitPageUrls),
    actions("getPageTitles", "Page titles", ActionReport::PageTitles),
    actions("getOutlinks", "Outlinks", ActionReport::Outlinks),
    actions("getDownloads", "Downloads", ActionReport::Downloads),
    actions(
        "getSiteSearchKeywords",
        "Site Search Keywords",
        ActionReport::SiteSearchKeywords,
    ),
    referrers("getReferrerType", "Channel Type", ReferrerReport::Type),
    referrers("getAll", "Referrers", ReferrerReport::All),
    referrers("getKeywords", "Keywords", ReferrerReport::Keywords),
    referrers(
        "getSearchEngines",
        "Search Engines",
        ReferrerReport::SearchEngines,
    ),
    referrers("getWebsites", "Websites", ReferrerReport::Websites),
    referrers("getSocials", "Social Networks", ReferrerReport::Socials),
    referrers("getCampaigns", "Campaigns", ReferrerReport::Campaigns),
    dimension(
        "VisitTime",
        "getVisitInformationPerLocalTime",
        "Visits per local time",
        RECORD_LOCAL_TIME,
        DimensionLabels::Hours {
            segment: "visitLocalHour",
            utc_segment: false,
        },
    ),
    dimension(
        "VisitTime",
        "getVisitInformationPerServerTime",
        "Visits per server time",
        RECORD_SERVER_TIME,
        DimensionLabels::Hours {
            segment: "visitStartServerHour",
            utc_segment: true,
        },
    ),
    dimension(
        "VisitorInterest",
        "getNumberOfVisitsPerVisitDuration",
        "Visits per visit duration",
        RECORD_TIME_GAP,
        DimensionLabels::Ranges {
            segment: "visitDuration",
            unit: RangeUnit::Duration,
        },
    ),
    dimension(
        "VisitorInterest",
        "getNumberOfVisitsPerPage",
        "Visits per number of pages",
        RECORD_PAGE_GAP,
        DimensionLabels::Ranges {
            segment: "actions",
            unit: RangeUnit::Pages,
        },
    ),
    dimension(
        "VisitorInterest",
        "getNumberOfVisitsByDaysSinceLast",
        "Visits by days since last visit",
        RECORD_DAYS_SINCE_LAST,
        DimensionLabels::Ranges {
            segment: "daysSinceLastVisit",
            unit: RangeUnit::Days,
        },
    ),
    dimension(
        "DevicesDetection",
        "getType",
        "Device type",
        RECORD_DEVICE_TYPES,
        DimensionLabels::Mapped {
            label: labels::device_type,
            metadata: labels::device_type_metadata,
            fill: labels::DEVICE_TYPES,
        },
    ),
    dimension(
        "DevicesDetection",
        "getBrowsers",
        "Browsers",
        RECORD_BROWSERS,
        DimensionLabels::Mapped {
            label: labels::browser,
            metadata: labels::browser_metadata,
            fill: &[],
        },
    ),
    dimension(
        "DevicesDetection",
        "getOsFamilies",
        "Operating System families",
        RECORD_OS,
        DimensionLabels::Mapped {
            label: labels::os_family,
            metadata: labels::os_family_metadata,
            fill: &[],
        },
    ),
    dimension(
        "DevicesDetection",
        "getBrowserEngines",
        "Browser engines",
        RECORD_BROWSER_ENGINES,
        DimensionLabels::Mapped {
            label: labels::browser_engine,
            metadata: labels::browser_engine_metadata,
            fill: &[],
        },
    ),
    dimension(
        "Resolution",
        "getResolution",
        "Screen Resolution",
        RECORD_RESOLUTION,
        DimensionLabels::Mapped {
            label: labels::as_is,
            metadata: labels::resolution_metadata,
            fill: &[],
        },
    ),
    dimension(
        "UserLanguage",
        "getLanguage",
        "Browser language",
        RECORD_LANGUAGE,
        DimensionLabels::Mapped {
            label: labels::language,
            metadata: labels::language_metadata,
            fill: &[],
        },
    ),
    dimension(
        "UserCountry",
        "getCountry",
        "Country",
        RECORD_COUNTRY,
        DimensionLabels::Mapped {
            label: labels::country,
            metadata: labels::country_metadata,
            fill: &[],
        },
    ),
];

/// The catalogue row of `Module.action`.
pub fn find(method: &str) -> Option<&'static Report> {
    let (module, action) = method.split_once('.')?;
    CATALOGUE
        .iter()
        .find(|report| report.module == module && report.action == action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{dimensions, records};

    #[test]
    fn methods_are_unique_and_every_dimension_report_reads_a_known_record() {
        for report in CATALOGUE {
            let method = format!("{}.{}", report.module, report.action);
            assert!(
                std::ptr::eq(find(&method).unwrap(), report),
                "{method} is listed twice"
            );
            if let Render::Dimension(d) = report.render {
                assert!(dimensions::find(d.record).is_some(), "{method}");
                assert!(records::limits(d.record).is_some(), "{method}");
            }
            if let Some((category, name)) = report.metadata {
                assert!(!category.is_empty() && !name.is_empty(), "{method}");
            }
        }
        assert!(find("Actions.getNothing").is_none());
        assert!(find("VisitsSummary").is_none());
    }
}
