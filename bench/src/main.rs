//! `bench`: Edgemeter's benchmark harness. Generates realistic traffic deterministically, measures
//! ingest, archiving, the Reporting API, the edge and the tracker, each beside a baseline measured
//! in the same run, and prints one Markdown table. Never part of the test command.
//!
//! Run: `scripts/bench [SECTION] [--scale F]` (starts PostgreSQL and builds what the edge row
//! needs) or `cargo run --release -p bench -- [SECTION] [--scale F]`.

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use bench::{
    api, archive, attack, db,
    db::Backend,
    edge, ingest,
    ingest::Transport,
    report,
    report::{median, quantile, thousands, Goal, Row},
    traffic,
};

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Edgemeter benchmarks with same-run baselines")]
struct Cli {
    #[command(subcommand)]
    section: Option<Section>,
    /// Multiplies every data size: 1 is the scale (1M actions a day, 100k requests per
    /// ingest run); 0.02 runs in about a minute.
    #[arg(long, global = true, default_value_t = 1.0)]
    scale: f64,
    /// Runs per ingest figure (the median is shown).
    #[arg(long, global = true, default_value_t = 3)]
    runs: usize,
    /// Concurrent senders for ingest.
    #[arg(long, global = true, default_value_t = 4)]
    clients: usize,
    /// A PostgreSQL server where the bench may create databases (default:
    /// $EDGEMETER_TEST_POSTGRES_URL, which scripts/bench sets).
    #[arg(long, global = true, env = "EDGEMETER_TEST_POSTGRES_URL")]
    postgres_url: Option<String>,
}

#[derive(Debug, Subcommand, Clone)]
enum Section {
    /// Every section.
    All,
    /// Ingest rates into SQLite and PostgreSQL beside the raw insert ceiling.
    Ingest,
    /// Archiving a day and a month, peak memory.
    Archive,
    /// Reporting API latency with 1 and 32 clients.
    Api,
    /// The Worker under workerd (needs scripts/build-edge and Node).
    Edge,
    /// The browser tracker's size.
    Tracker,
    /// /healthz and a legitimate tracker while the origin is attacked (SECURITY.md).
    Attack,
    /// Internal: archives in a child process so its peak memory is its own.
    #[command(hide = true)]
    ArchiveWorker {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long, value_enum)]
        job: archive::Job,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let section = cli.section.clone().unwrap_or(Section::All);
    if let Section::ArchiveWorker {
        database_url,
        from,
        to,
        job,
    } = &section
    {
        return archive::worker(database_url, *from, *to, *job).await;
    }
    let all = matches!(section, Section::All);
    let mut rows = Vec::new();
    if all || matches!(section, Section::Tracker) {
        eprintln!("== tracker");
        rows.extend(edge::tracker_rows());
    }
    if all || matches!(section, Section::Ingest) {
        eprintln!("== ingest");
        rows.extend(ingest_rows(&cli).await?);
    }
    let mut dataset = None;
    if all || matches!(section, Section::Archive) {
        eprintln!("== archive");
        let (new_rows, data) = archive_rows(&cli).await?;
        rows.extend(new_rows);
        dataset = Some(data);
    }
    if all || matches!(section, Section::Api) {
        eprintln!("== api");
        let data = match dataset.take() {
            Some(data) => data,
            None => {
                let data = archive::dataset(day_requests(&cli), cli.clients).await?;
                archive::in_child(
                    &data.db.url,
                    data.first_day,
                    data.last_day,
                    archive::Job::Archive,
                )
                .await?;
                data
            }
        };
        rows.extend(api_rows(&data).await?);
        data.db.drop_db().await?;
    } else if let Some(data) = dataset {
        data.db.drop_db().await?;
    }
    if all || matches!(section, Section::Attack) {
        eprintln!("== attack");
        rows.extend(attack::rows().await?);
    }
    if all || matches!(section, Section::Edge) {
        eprintln!("== edge");
        rows.extend(edge::edge_rows(cli.scale).await);
    }
    if all {
        rows.push(Row::new(
            "peer",
            "real Matomo ingest and API (optional, never in CI)",
            "not run here: see README, Benchmarks, Peer",
        ));
    }
    println!("{}", machine());
    println!(
        "command: bench {} --scale {} --runs {} --clients {}\n",
        std::env::args()
            .nth(1)
            .filter(|a| !a.starts_with('-'))
            .unwrap_or_else(|| "all".to_owned()),
        cli.scale,
        cli.runs,
        cli.clients
    );
    print!("{}", report::markdown(&rows));
    Ok(())
}

/// Requests in one archived day: 1M at scale 1.
fn day_requests(cli: &Cli) -> usize {
    ((1_000_000.0 * cli.scale) as usize).max(1_000)
}

/// The machine, for the README.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!(
        "machine: {model}, {cores} cores, {mem_gb:.0} GB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

async fn ingest_rows(cli: &Cli) -> anyhow::Result<Vec<Row>> {
    let requests = ((100_000.0 * cli.scale) as usize).max(1_000);
    let day = chrono::Utc::now().date_naive() - chrono::Days::new(2);
    let hits = traffic::generate(traffic::Spec {
        requests,
        day_start: day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp()),
    });
    let mut rows = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && cli.postgres_url.is_none() {
            rows.push(Row::new(
                "ingest",
                "PostgreSQL",
                "skipped: no server (pass --postgres-url or use scripts/bench)",
            ));
            continue;
        }
        let pg = cli.postgres_url.as_deref();
        let (mut ceilings, mut rates) = (Vec::new(), [Vec::new(), Vec::new()]);
        let mut ratios = [Vec::new(), Vec::new()];
        for run in 0..cli.runs.max(1) {
            let ceiling = ingest::ceiling(backend, pg, &hits).await?;
            ceilings.push(ceiling);
            for (i, transport) in [Transport::Ingest, Transport::Bulk].into_iter().enumerate() {
                let rate = ingest::run(backend, pg, &hits, transport, cli.clients)
                    .await
                    .with_context(|| {
                        format!("ingest into {} via {}", backend.name(), transport.name())
                    })?;
                rates[i].push(rate);
                ratios[i].push(rate / ceiling);
                eprintln!(
                    "  {} run {}: {} {:.0}/s (ceiling {:.0}/s)",
                    backend.name(),
                    run + 1,
                    transport.name(),
                    rate,
                    ceiling
                );
            }
        }
        let ceiling = median(&ceilings);
        for (i, transport) in [Transport::Ingest, Transport::Bulk].into_iter().enumerate() {
            let rate = median(&rates[i]);
            let ratio = median(&ratios[i]);
            let figure = format!(
                "{} req/s into {} with visit building ({} requests, {} clients)",
                transport.name(),
                backend.name(),
                thousands(hits.len() as f64),
                cli.clients
            );
            let mut row = Row::new("ingest", figure, format!("{}/s", thousands(rate))).baseline(
                format!("raw INSERT ceiling {}/s", thousands(ceiling)),
                format!("{:.1}%", ratio * 100.0),
            );
            row = match backend {
                Backend::Sqlite => {
                    let rate_goal = Row::default().goal(Goal::AtLeast(20_000.0), rate, "");
                    let ratio_goal = Row::default().goal(Goal::AtLeast(0.25), ratio, "");
                    Row {
                        goal: ">= 20,000/s and >= 25% of ceiling".to_owned(),
                        verdict: format!(
                            "rate {}; ratio {}",
                            rate_goal.verdict, ratio_goal.verdict
                        ),
                        ..row
                    }
                }
                Backend::Postgres => row.goal(Goal::AtLeast(10_000.0), rate, ">= 10,000/s"),
            };
            rows.push(row);
        }
    }
    Ok(rows)
}

async fn archive_rows(cli: &Cli) -> anyhow::Result<(Vec<Row>, archive::Dataset)> {
    let data = archive::dataset(day_requests(cli), cli.clients).await?;
    let url = data.db.url.clone();
    let day = data.middle_day();
    let month =
        archive::in_child(&url, data.first_day, data.last_day, archive::Job::Archive).await?;
    let one_day = archive::in_child(&url, day, day, archive::Job::Days).await?;
    let scan_day = archive::in_child(&url, day, day, archive::Job::Scan).await?;
    let scan_month =
        archive::in_child(&url, data.first_day, data.last_day, archive::Job::Scan).await?;
    let per_million = one_day.seconds * 1_000_000.0 / data.requests_per_day as f64;
    let size = format!(
        "{} requests, {} visits, 20 sites",
        thousands(data.requests_per_day as f64),
        thousands(data.visits_per_day as f64)
    );
    let rows = vec![
        Row::new(
            "archive",
            format!("one day ({size})"),
            format!(
                "{:.2} s (= {per_million:.1} s per 1M, linear)",
                one_day.seconds
            ),
        )
        .baseline(
            format!("grouped SQL scan {:.2} s", scan_day.seconds),
            format!("{:.1}x", one_day.seconds / scan_day.seconds),
        )
        .goal(Goal::AtMost(10.0), per_million, "<= 10 s per 1M-action day"),
        Row::new(
            "archive",
            format!(
                "a month: {} days of such days + {} month archives",
                archive::DAYS,
                archive::months_of(data.first_day, data.last_day)
            ),
            format!("{:.1} s", month.seconds),
        )
        .baseline(
            format!("grouped SQL scan {:.1} s", scan_month.seconds),
            format!("{:.1}x", month.seconds / scan_month.seconds),
        ),
        Row::new(
            "archive",
            "peak memory (VmHWM of the archiving process): day / month",
            format!(
                "{:.0} MB / {:.0} MB",
                one_day.peak_rss_mb, month.peak_rss_mb
            ),
        )
        .baseline(
            format!("scan process {:.0} MB", scan_day.peak_rss_mb),
            format!("{:.1}x", one_day.peak_rss_mb / scan_day.peak_rss_mb),
        ),
    ];
    Ok((rows, data))
}

async fn api_rows(data: &archive::Dataset) -> anyhow::Result<Vec<Row>> {
    let store = origin::store::Store::connect(&data.db.url).await?;
    let origin = db::Running::start(store, &data.db.url).await?;
    let day = data.middle_day().to_string();
    let mut rows = Vec::new();
    for clients in [1usize, 32] {
        let total = if clients == 1 { 200 } else { 32 * 25 };
        let health = api::latencies(&format!("{}/readyz", origin.base), clients, total).await?;
        let (h50, h99) = (median(&health), quantile(&health, 0.99));
        for method in ["VisitsSummary.get", "Actions.getPageUrls"] {
            for (period, date, label) in [
                ("day", day.as_str(), "day"),
                ("month", day.as_str(), "month"),
                ("day", "last30", "date=last30"),
            ] {
                let url = api::report_url(&origin.base, method, period, date);
                let times = api::latencies(&url, clients, total).await?;
                let (p50, p99) = (median(&times), quantile(&times, 0.99));
                eprintln!(
                    "  {method} {label} {clients} clients: median {p50:.2} ms, p99 {p99:.2} ms"
                );
                let mut row = Row::new(
                    "api",
                    format!(
                        "{method} {label}, {clients} client{}",
                        if clients == 1 { "" } else { "s" }
                    ),
                    format!("median {p50:.2} ms, p99 {p99:.2} ms (n={})", times.len()),
                )
                .baseline(
                    format!("/readyz {h50:.2} / {h99:.2} ms"),
                    format!("{:.1}x", p50 / h50),
                );
                if clients == 32 {
                    let m = Goal::AtMost(5.0).verdict(p50);
                    let p = Goal::AtMost(25.0).verdict(p99);
                    row.goal = "median <= 5 ms, p99 <= 25 ms".to_owned();
                    row.verdict = if m == "met" && p == "met" {
                        "met".to_owned()
                    } else {
                        format!("median {m}; p99 {p}")
                    };
                }
                rows.push(row);
            }
        }
    }
    origin.stop().await?;
    Ok(rows)
}
