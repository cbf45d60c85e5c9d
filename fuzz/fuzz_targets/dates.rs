//! `period=` and `date=` of the Reporting API: `PERIOD\nDATE`. Never a panic, and every answer
//! stays within Matomo's limits.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use origin::api::{dates::MAX_RANGE_DAYS, parse_dates, parse_kind, Dates};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (period, date) = text.split_once('\n').unwrap_or(("range", &text));
    let Ok(kind) = parse_kind(period) else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2026, 10, 5).expect("a date");
    match parse_dates(kind, date, today) {
        Ok(Dates::Single(period)) => {
            assert!(period.start <= period.end);
            assert!((period.end - period.start).num_days() < i64::from(MAX_RANGE_DAYS));
        }
        Ok(Dates::Multi(periods)) => assert!(!periods.is_empty() && periods.len() <= 5 * 365),
        Err(_) => {}
    }
});
