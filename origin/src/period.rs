//! Matomo's periods: a day, a week (Monday to Sunday), a month, a year or a custom range, always
//! in the site's time zone.

use chrono::NaiveDate;

/// The kind of a period, as the API's `period=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    Day,
    Week,
    Month,
    Year,
    Range,
}

/// One period: its kind and its first and last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
}
