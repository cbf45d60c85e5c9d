//! The visit-dimension records: archive tables that group the day's visits by one value of the
//! visit (an SQL expression over the day's visits, or ranges of one), computed by one generic
//! builder in the day's visit scan ([`super::day`]). A new visit-dimension record is one row of
//! [`VISIT_DIMENSIONS`]; its report is one row of `crate::reports::catalogue`.
//!
//! The expressions read the columns of the day's visits that the day archiver selects (the
//! materialized CTE `v` of `day::visits_sql`): `visit_first_action_time`, `visitor_localtime`,
//! `visit_total_time`, `visit_total_actions`, `visitor_count_visits`,
//! `visitor_seconds_since_last`, `visitor_returning`, `config_device_type`,
//! `config_browser_name`, `config_browser_engine`, `config_os`, `config_resolution`, `location_browser_lang`,
//! `location_country`. They are portable SQLite + PostgreSQL.

use super::records::RowLimits;

/// One visit-dimension record.
#[derive(Debug)]
pub struct VisitDimension {
    /// The archive table's name (Matomo's record name).
    pub record: &'static str,
    pub grouping: Grouping,
    pub limits: RowLimits,
}

/// How the day's visits are grouped into rows.
#[derive(Debug)]
pub enum Grouping {
    /// A row per value of `visits` (the visit metrics of `LogAggregator::queryVisitsByDimension`),
    /// with the goal conversions grouped by `conversions` when the report has goal metrics
    /// (`queryConversionsByDimension`: `nb_conversions`, `nb_visits_converted`, `revenue` per
    /// goal); `conversions` reads `log_conversion` as `c` joined to its visit's `log_visit` row
    /// as `lv`.
    Values {
        visits: &'static str,
        conversions: Option<&'static str>,
        hours: Hours,
    },
    /// One row per range of `sql` counting visits (`LogAggregator::getSelectsFromRangedColumn`:
    /// `BETWEEN min AND max`, bounds included, so ranges that share a bound both count a visit on
    /// it; an open range counts values above `min` and is labelled `min+1` `+`). With
    /// `returning_only`, only returning visits fall in a range and a first row, `new`, counts the
    /// new visits.
    Ranges {
        sql: &'static str,
        ranges: &'static [Range],
        returning_only: bool,
    },
}

/// Whether a [`Grouping::Values`] is an hour of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hours {
    /// Not an hour.
    No,
    /// An hour: every hour 0 to 23 has a row (`VisitTime`'s `ensureAllHoursAreSet`).
    Local,
    /// A UTC hour, labelled by that hour in the site's time zone on the archived day
    /// (`convertTimeToLocalTimezone`); every hour has a row.
    FromUtc,
}

/// A range of [`Grouping::Ranges`]: `min..=max`, or above `min` when `max` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: i64,
    pub max: Option<i64>,
}

impl Range {
    const fn between(min: i64, max: i64) -> Self {
        Self {
            min,
            max: Some(max),
        }
    }

    const fn above(min: i64) -> Self {
        Self { min, max: None }
    }

    /// The archived label: `min-max`, or `N+` for an open range (Matomo's select alias, `N` being
    /// `min + 1`).
    pub fn label(&self) -> String {
        match self.max {
            Some(max) => format!("{}-{max}", self.min),
            None => format!("{}+", self.min + 1),
        }
    }
}

/// The label of [`Grouping::Ranges`]' row of new visits (Matomo's `General_NewVisits`).
pub const NEW_VISITS_LABEL: &str = "new";

/// No row limit: these records have a fixed, small set of rows.
const UNLIMITED: RowLimits = RowLimits {
    rows: 0,
    subtable_rows: 0,
};

/// `VisitTime.getVisitInformationPerServerTime`.
pub const RECORD_SERVER_TIME: &str = "VisitTime_serverTime";
/// `VisitTime.getVisitInformationPerLocalTime`.
pub const RECORD_LOCAL_TIME: &str = "VisitTime_localTime";
/// `VisitorInterest.getNumberOfVisitsPerVisitDuration`.
pub const RECORD_TIME_GAP: &str = "VisitorInterest_timeGap";
/// `VisitorInterest.getNumberOfVisitsPerPage`.
pub const RECORD_PAGE_GAP: &str = "VisitorInterest_pageGap";
/// `VisitorInterest.getNumberOfVisitsByVisitCount`.
pub const RECORD_VISIT_COUNT: &str = "VisitorInterest_visitsByVisitCount";
/// `VisitorInterest.getNumberOfVisitsByDaysSinceLast`.
pub const RECORD_DAYS_SINCE_LAST: &str = "VisitorInterest_daysSinceLastVisit";

/// `DevicesDetection.getType`: visits by `config_device_type`.
pub const RECORD_DEVICE_TYPES: &str = "DevicesDetection_types";
/// `DevicesDetection.getBrowsers`: visits by browser code.
pub const RECORD_BROWSERS: &str = "DevicesDetection_browsers";
/// `DevicesDetection.getOsFamilies`: visits by OS code (the report groups codes by family).
pub const RECORD_OS: &str = "DevicesDetection_os";
/// `DevicesDetection.getBrowserEngines`: visits by `config_browser_engine`, no goal metrics.
pub const RECORD_BROWSER_ENGINES: &str = "DevicesDetection_browserEngines";
/// `Resolution.getResolution`.
pub const RECORD_RESOLUTION: &str = "Resolution_resolution";

/// `UserLanguage.getLanguage`: visits by their stored browser language, as stored (the report
/// reads the language code out of it, as Matomo's record builder does before it archives).
pub const RECORD_LANGUAGE: &str = "UserLanguage_language";

/// `UserCountry.getCountry`: visits and conversions by `location_country` (`UserCountry`'s
/// `Locations` record builder).
pub const RECORD_COUNTRY: &str = "UserCountry_country";

/// Matomo's `datatable_archiving_maximum_rows_standard` (`config/global.ini.php`).
const STANDARD: RowLimits = RowLimits {
    rows: 500,
    subtable_rows: 0,
};

/// Every visit-dimension record of a day archive.
pub static VISIT_DIMENSIONS: &[VisitDimension] = &[
    // `VisitTime`'s `ServerTime` record builder: `HOUR(log_visit.visit_first_action_time)` and
    // `HOUR(log_conversion.server_time)`, in UTC.
    VisitDimension {
        record: RECORD_SERVER_TIME,
        grouping: Grouping::Values {
            visits: "((visit_first_action_time % 86400) / 3600)",
            conversions: Some("((c.server_time % 86400) / 3600)"),
            hours: Hours::FromUtc,
        },
        limits: UNLIMITED,
    },
    // `HOUR(log_visit.visitor_localtime)`: the tracker stores `HH:MM:SS`.
    VisitDimension {
        record: RECORD_LOCAL_TIME,
        grouping: Grouping::Values {
            visits: "CAST(SUBSTR(visitor_localtime, 1, 2) AS INTEGER)",
            conversions: None,
            hours: Hours::Local,
        },
        limits: UNLIMITED,
    },
    // `VisitorInterest\Archiver::getSecondsGap()`: 0-10 s, 11-30 s, 31-60 s, then minutes.
    VisitDimension {
        record: RECORD_TIME_GAP,
        grouping: Grouping::Ranges {
            sql: "visit_total_time",
            ranges: &[
                Range::between(0, 10),
                Range::between(11, 30),
                Range::between(31, 60),
                Range::between(60, 120),
                Range::between(120, 240),
                Range::between(240, 420),
                Range::between(420, 600),
                Range::between(600, 900),
                Range::between(900, 1800),
                Range::above(1800),
            ],
            returning_only: false,
        },
        limits: UNLIMITED,
    },
    // `VisitorInterest\Archiver::$pageGap`.
    VisitDimension {
        record: RECORD_PAGE_GAP,
        grouping: Grouping::Ranges {
            sql: "visit_total_actions",
            ranges: &[
                Range::between(1, 1),
                Range::between(2, 2),
                Range::between(3, 3),
                Range::between(4, 4),
                Range::between(5, 5),
                Range::between(6, 7),
                Range::between(8, 10),
                Range::between(11, 14),
                Range::between(15, 20),
                Range::above(20),
            ],
            returning_only: false,
        },
        limits: UNLIMITED,
    },
    // `VisitorInterest\Archiver::$visitNumberGap`.
    VisitDimension {
        record: RECORD_VISIT_COUNT,
        grouping: Grouping::Ranges {
            sql: "visitor_count_visits",
            ranges: &[
                Range::between(1, 1),
                Range::between(2, 2),
                Range::between(3, 3),
                Range::between(4, 4),
                Range::between(5, 5),
                Range::between(6, 6),
                Range::between(7, 7),
                Range::between(8, 8),
                Range::between(9, 14),
                Range::between(15, 25),
                Range::between(26, 50),
                Range::between(51, 100),
                Range::between(101, 200),
                Range::above(200),
            ],
            returning_only: false,
        },
        limits: UNLIMITED,
    },
    // `VisitorInterest\Archiver::$daysSinceLastVisitGap` over
    // `FLOOR(visitor_seconds_since_last / 86400)`, returning visits only.
    VisitDimension {
        record: RECORD_DAYS_SINCE_LAST,
        grouping: Grouping::Ranges {
            sql: "(visitor_seconds_since_last / 86400)",
            ranges: &[
                Range::between(0, 0),
                Range::between(1, 1),
                Range::between(2, 2),
                Range::between(3, 3),
                Range::between(4, 4),
                Range::between(5, 5),
                Range::between(6, 6),
                Range::between(7, 7),
                Range::between(8, 14),
                Range::between(15, 30),
                Range::between(31, 60),
                Range::between(61, 120),
                Range::between(121, 364),
                Range::above(364),
            ],
            returning_only: true,
        },
        limits: UNLIMITED,
    },
    // DevicesDetection's record builders group visits and conversions by the `config_*` column
    // (Matomo reads its copies in `log_conversion`; the tracker leaves those empty, so the
    // conversions read them from their visit); the OS families show no goal metrics in Matomo
    // 5.3.1's answers.
    VisitDimension {
        record: RECORD_DEVICE_TYPES,
        grouping: Grouping::Values {
            visits: "config_device_type",
            conversions: Some("lv.config_device_type"),
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    VisitDimension {
        record: RECORD_BROWSERS,
        grouping: Grouping::Values {
            visits: "config_browser_name",
            conversions: Some("lv.config_browser_name"),
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    VisitDimension {
        record: RECORD_OS,
        grouping: Grouping::Values {
            visits: "config_os",
            conversions: None,
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    VisitDimension {
        record: RECORD_BROWSER_ENGINES,
        grouping: Grouping::Values {
            visits: "config_browser_engine",
            conversions: None,
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    // `Resolution`'s record builder: `config_resolution`, no goal metrics.
    VisitDimension {
        record: RECORD_RESOLUTION,
        grouping: Grouping::Values {
            visits: "config_resolution",
            conversions: None,
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    VisitDimension {
        record: RECORD_LANGUAGE,
        grouping: Grouping::Values {
            visits: "location_browser_lang",
            conversions: None,
            hours: Hours::No,
        },
        limits: STANDARD,
    },
    VisitDimension {
        record: RECORD_COUNTRY,
        grouping: Grouping::Values {
            visits: "location_country",
            conversions: Some("lv.location_country"),
            hours: Hours::No,
        },
        limits: STANDARD,
    },
];

impl Grouping {
    /// The packed per-range visit counts of a [`Grouping::Ranges`] (see `day::packed`), the new
    /// visits first when `returning_only`; `None` for the other groupings.
    pub fn range_counts_sql(&self) -> Option<Vec<String>> {
        let Grouping::Ranges {
            sql,
            ranges,
            returning_only,
        } = self
        else {
            return None;
        };
        let returning = if *returning_only {
            " AND visitor_returning = 1"
        } else {
            ""
        };
        let mut counts = Vec::new();
        if *returning_only {
            counts.push(
                "CAST(COALESCE(SUM(CASE WHEN visitor_returning = 0 THEN 1 ELSE 0 END), 0) \
                 AS BIGINT)"
                    .to_owned(),
            );
        }
        for range in *ranges {
            let test = match range.max {
                Some(max) => format!("{sql} BETWEEN {} AND {max}", range.min),
                None => format!("{sql} > {}", range.min),
            };
            counts.push(format!(
                "CAST(COALESCE(SUM(CASE WHEN {test}{returning} THEN 1 ELSE 0 END), 0) AS BIGINT)"
            ));
        }
        Some(counts)
    }

    /// The labels of the counts of [`Grouping::range_counts_sql`], in its order.
    pub fn range_labels(&self) -> Vec<String> {
        let Grouping::Ranges {
            ranges,
            returning_only,
            ..
        } = self
        else {
            return Vec::new();
        };
        let new = returning_only.then(|| NEW_VISITS_LABEL.to_owned());
        new.into_iter()
            .chain(ranges.iter().map(Range::label))
            .collect()
    }
}

/// The visit-dimension record named `record`.
pub fn find(record: &str) -> Option<&'static VisitDimension> {
    VISIT_DIMENSIONS.iter().find(|d| d.record == record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_labelled_and_counted_as_matomo_selects_them() {
        let pages = &find(RECORD_PAGE_GAP).unwrap().grouping;
        let labels = pages.range_labels();
        assert_eq!(labels.first().map(String::as_str), Some("1-1"));
        assert_eq!(labels.last().map(String::as_str), Some("21+"));
        let sql = pages.range_counts_sql().unwrap();
        assert_eq!(sql.len(), labels.len());
        assert!(sql[0].contains("visit_total_actions BETWEEN 1 AND 1"));
        assert!(sql[9].contains("visit_total_actions > 20"));
        let days = &find(RECORD_DAYS_SINCE_LAST).unwrap().grouping;
        assert_eq!(days.range_labels()[0], NEW_VISITS_LABEL);
        assert!(days.range_counts_sql().unwrap()[1].contains("AND visitor_returning = 1"));
        assert!(find(RECORD_SERVER_TIME)
            .unwrap()
            .grouping
            .range_counts_sql()
            .is_none());
    }
}
