//! Counters of what the origin received, served at `/metrics` in Prometheus' text format. Every
//! refused or dropped input is counted here, so bad input is visible without reading logs. Beside
//! the counters: the writer's commit latency ([`Histogram`]) and the archiver's last successes
//! ([`ArchiveStatus`]); the writer's queue gauges come from `tracker::WriterStatus`.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

macro_rules! counters {
    ($($name:ident: $help:literal),* $(,)?) => {
        /// Process-wide counters (all start at zero) and the writer's and archiver's figures.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $(#[doc = $help] pub $name: AtomicU64,)*
            /// How long the tracker writer's group transactions take, commit included.
            pub commit_seconds: Histogram,
            /// When each site was last archived without error.
            pub archives: ArchiveStatus,
        }

        impl Metrics {
            /// The counters in Prometheus' text exposition format.
            fn render_counters(&self) -> String {
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

    /// Everything, in Prometheus' text exposition format: the counters, the writer's gauges
    /// (`writer`, read by the caller) and histogram, and the archive gauges as of `now` (UNIX s).
    pub fn render(&self, writer: &crate::tracker::WriterStatus, now: i64) -> String {
        let mut out = self.render_counters();
        gauge(
            &mut out,
            "writer_queue_items",
            "Tracking requests submitted to the writer and not yet answered.",
            writer.queued_items,
        );
        gauge(
            &mut out,
            "ingest_lag_seconds",
            "Age of the oldest tracking request waiting for the writer (0 when none waits).",
            writer.oldest_waiting.map_or(0.0, |age| age.as_secs_f64()),
        );
        self.commit_seconds.render(
            &mut out,
            "writer_commit_seconds",
            "Duration of the tracker writer's group transactions, commit included.",
        );
        self.archives.render(&mut out, now);
        out
    }
}

/// Writes one gauge with its help and type lines.
fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    let _ = write!(
        out,
        "# HELP edgemeter_{name} {help}\n# TYPE edgemeter_{name} gauge\nedgemeter_{name} {value}\n"
    );
}

/// Upper bounds (seconds) of the commit latency buckets: a SQLite commit with `synchronous=FULL`
/// takes a few milliseconds, a group of 2,000 requests up to about a second.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A Prometheus histogram over [`BUCKETS`]; lock-free, so the writer never waits to record.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative), the last one for above the largest bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP edgemeter_{name} {help}");
        let _ = writeln!(out, "# TYPE edgemeter_{name} histogram");
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = BUCKETS.get(i).map_or("+Inf".to_owned(), f64::to_string);
            let _ = writeln!(
                out,
                "edgemeter_{name}_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "edgemeter_{name}_sum {sum}");
        let _ = writeln!(out, "edgemeter_{name}_count {cumulative}");
    }
}

/// When the archiving scheduler last archived each site without error (UNIX seconds), recorded
/// through the scheduler's hook (`archive::spawn_scheduler`).
#[derive(Debug, Default)]
pub struct ArchiveStatus {
    last_success: Mutex<BTreeMap<i64, i64>>,
}

impl ArchiveStatus {
    /// Records that `idsite` was archived without error by the pass that started at `at`.
    pub fn succeeded(&self, idsite: i64, at: i64) {
        self.last_success
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(idsite, at);
    }

    /// Per site: the last success and the archive lag (`now` minus it); then the latest success
    /// over all sites. Sites never archived by this process have no line.
    fn render(&self, out: &mut String, now: i64) {
        let last = self
            .last_success
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let _ = write!(
            out,
            "# HELP edgemeter_archive_last_success_timestamp_seconds When the site was last archived without error.\n\
             # TYPE edgemeter_archive_last_success_timestamp_seconds gauge\n"
        );
        for (idsite, at) in &last {
            let _ = writeln!(
                out,
                "edgemeter_archive_last_success_timestamp_seconds{{idsite=\"{idsite}\"}} {at}"
            );
        }
        let _ = write!(
            out,
            "# HELP edgemeter_archive_lag_seconds Seconds since the site was last archived without error.\n\
             # TYPE edgemeter_archive_lag_seconds gauge\n"
        );
        for (idsite, at) in &last {
            let lag = (now - at).max(0);
            let _ = writeln!(
                out,
                "edgemeter_archive_lag_seconds{{idsite=\"{idsite}\"}} {lag}"
            );
        }
        if let Some(latest) = last.values().max() {
            gauge(
                out,
                "archive_last_pass_timestamp_seconds",
                "When any site was last archived without error.",
                latest,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_format() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.requests_tracked_total, 3);
        let text = metrics.render_counters();
        assert!(text.contains("# TYPE edgemeter_requests_tracked_total counter\n"));
        assert!(text.contains("edgemeter_requests_tracked_total 3\n"));
        assert!(text.contains("edgemeter_ingest_rejected_total 0\n"));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(500));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(60));
        let mut text = String::new();
        histogram.render(&mut text, "t", "help");
        assert!(text.contains("# TYPE edgemeter_t histogram\n"), "{text}");
        assert!(
            text.contains("edgemeter_t_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("edgemeter_t_bucket{le=\"0.0025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("edgemeter_t_bucket{le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("edgemeter_t_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(
            text.contains("edgemeter_t_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("edgemeter_t_sum 60.0035\n"), "{text}");
        assert!(text.contains("edgemeter_t_count 3\n"), "{text}");
    }

    #[test]
    fn archive_lag_is_per_site() {
        let status = ArchiveStatus::default();
        status.succeeded(2, 1_000);
        status.succeeded(1, 1_090);
        let mut text = String::new();
        status.render(&mut text, 1_100);
        assert!(
            text.contains("edgemeter_archive_lag_seconds{idsite=\"1\"} 10\n"),
            "{text}"
        );
        assert!(
            text.contains("edgemeter_archive_lag_seconds{idsite=\"2\"} 100\n"),
            "{text}"
        );
        assert!(
            text.contains("edgemeter_archive_last_success_timestamp_seconds{idsite=\"2\"} 1000\n")
        );
        assert!(text.contains("edgemeter_archive_last_pass_timestamp_seconds 1090\n"));
    }
}
