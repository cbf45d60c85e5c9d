//! Attack: the origin under the attacks of SECURITY.md, all from this one client at once, while a
//! legitimate tracker and a health check keep measuring their latency. The baseline is the same
//! two measurements on the same origin just before the attack.
//!
//! The attacks, each in its own task until the measurement ends:
//! - slow-loris: [`LORIS`] connections that send half a request head, reopened when closed;
//! - parameter floods: 100,000-name form bodies to `/matomo.php` and `/index.php`, two at a time;
//! - a 1,100-year `period=range` on `/index.php`;
//! - wrong tokens on `/index.php` (the attacker's IP is blocked after 20, as a real one would be;
//!   the legitimate tracker shares that IP here but needs no token, so it is not affected).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::io::AsyncWriteExt;

use crate::{
    api,
    db::{self, Backend, FreshDb},
    report::{median, quantile, Goal, Row},
};

/// Half-open connections held during the attack (below the default cap of 900).
pub const LORIS: usize = 500;

/// Requests per latency measurement (capped by `api::latencies`'s time budget).
const SAMPLES: usize = 400;

/// The p99 a tracker request and `/healthz` must keep under attack.
const P99_GOAL_MS: f64 = 25.0;

/// Runs the section on a fresh SQLite database.
pub async fn rows() -> anyhow::Result<Vec<Row>> {
    let fresh = FreshDb::create(Backend::Sqlite, None, "attack").await?;
    let store = db::prepare(&fresh.url).await?;
    let origin = db::Running::start(store, &fresh.url).await?;
    let health_url = format!("{}/healthz", origin.base);
    let track_url = format!(
        "{}/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fsite1.example%2Fattack&action_name=Attack",
        origin.base
    );
    let calm_health = api::latencies(&health_url, 1, SAMPLES).await?;
    let calm_track = api::latencies(&track_url, 1, SAMPLES).await?;
    let flood = flood_body();
    let mut one_flood = Vec::new();
    for path in ["/matomo.php", "/index.php"] {
        let client = reqwest::Client::new();
        let start = std::time::Instant::now();
        let response = client
            .post(format!("{}{path}", origin.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(flood.as_ref().clone())
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        one_flood.push(format!(
            "{path} {:.0} ms ({status})",
            start.elapsed().as_secs_f64() * 1000.0
        ));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut attackers = Vec::new();
    let addr = origin
        .base
        .strip_prefix("http://")
        .unwrap_or(&origin.base)
        .to_owned();
    attackers.push(tokio::spawn(slow_loris(addr, Arc::clone(&stop))));
    for path in ["/matomo.php", "/index.php", "/matomo.php", "/index.php"] {
        let url = format!("{}{path}", origin.base);
        attackers.push(tokio::spawn(repeat_post(
            url,
            flood.clone(),
            Arc::clone(&stop),
            Arc::clone(&sent),
        )));
    }
    let range = format!(
        "{}/index.php?module=API&method=VisitsSummary.get&idSite=1&period=range&date=1000-01-01,2100-01-01&format=json&token_auth={}",
        origin.base,
        db::TOKEN
    );
    let guess = format!(
        "{}/index.php?module=API&method=API.getMatomoVersion&format=json&token_auth=ffffffffffffffffffffffffffffffff",
        origin.base
    );
    for url in [range, guess] {
        attackers.push(tokio::spawn(repeat_get(
            url,
            Arc::clone(&stop),
            Arc::clone(&sent),
        )));
    }
    // Let the slow-loris connections open before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attacked_health = api::latencies(&health_url, 1, SAMPLES).await?;
    let attacked_track = api::latencies(&track_url, 1, SAMPLES).await?;
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.abort();
    }
    let metrics = reqwest::get(format!("{}/metrics", origin.base))
        .await?
        .text()
        .await?;
    let counter = |name: &str| -> String {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&format!("edgemeter_{name} ")))
            .unwrap_or("?")
            .to_owned()
    };
    eprintln!(
        "  attack requests sent: {}; params_over_limit_total {}; brute_force_blocked_total {}",
        sent.load(Ordering::Relaxed),
        counter("params_over_limit_total"),
        counter("brute_force_blocked_total")
    );
    let mut rows = vec![Row::new(
        "attack",
        "one 100,000-name form body (about 1 MB), alone, answered in",
        one_flood.join(", "),
    )
    .baseline("before linear parsing: about 55 s", "")];
    for (what, calm, attacked) in [
        ("/healthz", &calm_health, &attacked_health),
        (
            "legitimate tracker GET (pageview)",
            &calm_track,
            &attacked_track,
        ),
    ] {
        let (p50, p99) = (median(attacked), quantile(attacked, 0.99));
        let (c50, c99) = (median(calm), quantile(calm, 0.99));
        rows.push(
            Row::new(
                "attack",
                format!(
                    "{what} under attack ({LORIS} slow-loris, 4 flooders, huge ranges, token guessing), 1 client"
                ),
                format!("median {p50:.2} ms, p99 {p99:.2} ms (n={})", attacked.len()),
            )
            .baseline(
                format!("no attack {c50:.2} / {c99:.2} ms"),
                format!("{:.1}x", p99 / c99),
            )
            .goal(Goal::AtMost(P99_GOAL_MS), p99, "p99 <= 25 ms"),
        );
    }
    rows.push(Row::new(
        "attack",
        "attack requests answered during the measurement; parameter floods refused or capped; IP blocked for guessing",
        format!(
            "{}; {}; {}",
            sent.load(Ordering::Relaxed),
            counter("params_over_limit_total"),
            counter("brute_force_blocked_total")
        ),
    ));
    origin.stop().await?;
    fresh.drop_db().await?;
    Ok(rows)
}

/// `module=API&...&n0=v&n1=v...`: 100,000 names, about 1 MB, shared by the flooders.
fn flood_body() -> Arc<Vec<u8>> {
    let mut body = String::from("module=API&method=API.getMatomoVersion&idsite=1&rec=1");
    for i in 0..100_000 {
        body.push_str(&format!("&n{i}=v"));
    }
    Arc::new(body.into_bytes())
}

async fn slow_loris(addr: String, stop: Arc<AtomicBool>) {
    let mut held = Vec::with_capacity(LORIS);
    while !stop.load(Ordering::Relaxed) {
        held.retain(|stream: &tokio::net::TcpStream| stream.peer_addr().is_ok());
        while held.len() < LORIS {
            let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
                break;
            };
            let _ = stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await;
            held.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn repeat_post(url: String, body: Arc<Vec<u8>>, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let client = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        let request = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.as_ref().clone());
        if let Ok(response) = request.send().await {
            let _ = response.bytes().await;
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn repeat_get(url: String, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let client = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(response) = client.get(&url).send().await {
            let _ = response.bytes().await;
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}
