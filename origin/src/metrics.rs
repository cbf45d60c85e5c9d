//! Counters of what the origin received, served at `/metrics` in Prometheus' text format. Every
//! refused or dropped input is counted here, so bad input is visible without reading logs.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident: $help:literal),* $(,)?) => {
        /// Process-wide counters; all start at zero.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $(#[doc = $help] pub $name: AtomicU64,)*
        }

        impl Metrics {
            /// The counters in Prometheus' text exposition format.
            pub fn render(&self) -> String {
                let mut out = String::new();
                $(
                    out.push_str(concat!("# HELP edgemeter_", stringify!($name), " ", $help, "\n"));
                    out.push_str(concat!("# TYPE edgemeter_", stringify!($name), " counter\n"));
                    out.push_str(&format!(
                        concat!("edgemeter_", stringify!($name), " {}\n"),
                        self.$name.load(Ordering::Relaxed)
                    ));
                )*
                out
            }
        }
    };
}

counters! {
    requests_tracked_total: "Tracking requests stored.",
    requests_excluded_total: "Tracking requests answered but not stored (bots, exclusions, rec=0).",
    requests_rejected_total: "Tracking requests refused with an error (unknown site, missing token...).",
    requests_invalid_total: "Tracking requests whose parameters were malformed.",
    requests_duplicate_total: "Edge requests already stored (retried batches).",
    invalid_utf8_total: "Tracking requests with invalid UTF-8 in a parameter (decoded lossily).",
    params_over_limit_total: "Requests with more than 1000 parameters in one source (PHP's max_input_vars): the rest were dropped (tracking) or the request refused (API).",
    bulk_invalid_json_total: "Bulk tracking bodies that were not valid JSON.",
    body_too_large_total: "Requests refused because their body exceeded the limit.",
    ingest_batches_total: "Edge batches stored.",
    ingest_rejected_total: "Edge batches refused (bad signature, expired, malformed).",
    connections_over_limit_total: "Connections closed at accept because http.max_connections were open.",
    header_read_timeouts_total: "Connections closed because a request's headers were not complete within http.header_read_timeout_secs.",
    idle_timeouts_total: "Connections closed after http.idle_timeout_secs without a byte in or out.",
    auth_failures_total: "Requests with a wrong token_auth (or a secure_only token in a URL), each a failed attempt of its IP.",
    brute_force_blocked_total: "Requests refused or left unauthenticated because their IP had too many failed attempts.",
    storage_errors_total: "Requests that failed because the database failed.",
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_format() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.requests_tracked_total, 3);
        let text = metrics.render();
        assert!(text.contains("# TYPE edgemeter_requests_tracked_total counter\n"));
        assert!(text.contains("edgemeter_requests_tracked_total 3\n"));
        assert!(text.contains("edgemeter_ingest_rejected_total 0\n"));
    }
}
