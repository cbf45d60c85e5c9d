//! API: median and p99 latency of Reporting API calls on archived data with 1 and 32 concurrent
//! clients; the baseline is `/readyz` (one HTTP round trip and one trivial query) under the same
//! concurrency, measured in the same run.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::bail;

/// A measurement stops after this long even when fewer than `total` requests were made (slow
/// reports would otherwise take minutes); the row then rests on fewer samples.
const BUDGET: Duration = Duration::from_secs(10);

/// Latencies in milliseconds of `total` GETs of `url`, `clients` at a time (after a warm-up),
/// or of those made within [`BUDGET`].
pub async fn latencies(url: &str, clients: usize, total: usize) -> anyhow::Result<Vec<f64>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    for _ in 0..clients.min(5) {
        let response = client.get(url).send().await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() || body.contains("\"result\":\"error\"") {
            bail!("GET {url} answered {status}: {body}");
        }
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (client, url, next) = (client.clone(), url.to_owned(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total && started.elapsed() < BUDGET {
                let start = Instant::now();
                let response = client.get(&url).send().await?;
                let status = response.status();
                response.bytes().await?;
                times.push(start.elapsed().as_secs_f64() * 1000.0);
                if !status.is_success() {
                    bail!("GET {url} answered {status}");
                }
            }
            anyhow::Ok(times)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// A Reporting API URL for site 1 (the busiest) with the bench token.
pub fn report_url(base: &str, method: &str, period: &str, date: &str) -> String {
    format!(
        "{base}/index.php?module=API&method={method}&idSite=1&period={period}&date={date}&format=json&token_auth={}",
        crate::db::TOKEN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_urls_name_the_method_period_date_and_token() {
        let url = report_url("http://h", "VisitsSummary.get", "day", "last30");
        assert!(url.starts_with("http://h/index.php?module=API&method=VisitsSummary.get"));
        assert!(url.contains("&period=day&date=last30&format=json&token_auth="));
    }
}
