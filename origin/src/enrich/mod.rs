//! Request enrichment for the visit builder: pure functions that turn a tracking request's raw
//! strings (page URL, referrer, user agent, IP) into the values Matomo stores (`log_visit`,
//! `log_action`, `log_conversion`). No I/O, no async, no database: the caller passes the site's
//! settings in. Matomo sources are named in each module.

pub mod device;
pub mod exclusion;
pub mod goal;
pub mod referrer;
pub mod url;
