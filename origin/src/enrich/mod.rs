//! Request enrichment for the visit builder: pure functions that turn a tracking request's raw
//! strings (page URL, referrer, user agent, IP) into the values Matomo stores (`log_visit`,
//! `log_action`, `log_conversion`). No I/O, no async, no database: the caller passes the site's
//! settings in. Matomo sources are named in each module.

pub mod client_hints;
pub mod device;
pub mod exclusion;
pub mod goal;
pub mod referrer;
pub mod url;

/// Builds the embedded lists and the user-agent parser now (about 0.5 s in release, several
/// seconds in debug) so the first tracking request does not pay for it. Call once at start-up,
/// off the async runtime (e.g. in `spawn_blocking`).
pub fn warm_up() {
    let _ = device::detect_shared("");
    let _ = referrer::search_engine("https://www.google.com/search?q=warm");
}
