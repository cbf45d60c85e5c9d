//! Every table an archive holds and its row limits: one list, so a table that is not in it is an
//! error rather than a table truncated by another report's limits.

use super::{actions, day, dimensions};

/// Matomo's `datatable_archiving_maximum_rows_*` (defaults of `config/global.ini.php`) for one table: the rows kept (the last one an
/// "Others" row summing the rest) and the rows of each subtable; 0 keeps every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLimits {
    pub rows: usize,
    pub subtable_rows: usize,
}

impl RowLimits {
    /// `datatable_archiving_maximum_rows_referrers` and `..._subtable_referrers`.
    pub const REFERRERS: Self = Self {
        rows: 1000,
        subtable_rows: 50,
    };
    /// `datatable_archiving_maximum_rows_actions` and `..._subtable_actions`.
    pub const ACTIONS: Self = Self {
        rows: 500,
        subtable_rows: 100,
    };
}

/// The Referrers tables (`day::referrer_tables`).
const REFERRER_RECORDS: [&str; 6] = [
    day::RECORD_TYPE,
    day::RECORD_SEARCH_ENGINES,
    day::RECORD_KEYWORDS,
    day::RECORD_CAMPAIGNS,
    day::RECORD_WEBSITES,
    day::RECORD_SOCIALS,
];

/// The Actions tables (`actions::archive`).
const ACTION_RECORDS: [&str; 5] = [
    actions::RECORD_PAGE_URLS,
    actions::RECORD_PAGE_TITLES,
    actions::RECORD_OUTLINKS,
    actions::RECORD_DOWNLOADS,
    actions::RECORD_SITE_SEARCH,
];

/// The row limits of the archive table `record`; `None` for a table no builder writes.
pub fn limits(record: &str) -> Option<RowLimits> {
    if REFERRER_RECORDS.contains(&record) {
        Some(RowLimits::REFERRERS)
    } else if ACTION_RECORDS.contains(&record) {
        Some(RowLimits::ACTIONS)
    } else {
        dimensions::find(record).map(|dimension| dimension.limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_has_its_own_limits_and_an_unknown_one_has_none() {
        assert_eq!(limits(day::RECORD_KEYWORDS), Some(RowLimits::REFERRERS));
        assert_eq!(limits(actions::RECORD_PAGE_URLS), Some(RowLimits::ACTIONS));
        assert_eq!(
            limits(dimensions::RECORD_SERVER_TIME).map(|l| l.rows),
            Some(0)
        );
        assert_eq!(limits("Referrers_new"), None);
    }
}
