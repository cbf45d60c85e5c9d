//! Operations: `/healthz`, `/readyz`, the writer's and archiver's `/metrics`, and maintenance
//! mode and recording switched at run time from the command line.

use std::time::{Duration, Instant};

use crate::helpers::{fresh_database, on_connection, spawn_app, within, Backend, TestApp};

crate::both_backends!(
    readiness_checks_the_database_migrations_and_writer,
    metrics_report_the_writer_and_the_archiver,
    maintenance_and_recording_switch_without_a_restart,
    sigterm_stores_every_acknowledged_request_and_exits_promptly,
);

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn readiness_checks_the_database_migrations_and_writer(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(get(&app, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(
        get(&app, "/readyz").await,
        (200, "database: ok\nmigrations: ok\nwriter: ok\n".to_owned())
    );
    // As if this binary were newer than the database: its latest migration is missing.
    let version = app
        .scalar(
            "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations) \
             RETURNING version",
        )
        .await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        format!(
            "database: ok\nmigrations: not applied: [{version}]: run `edgemeter migrate`\nwriter: ok\n"
        )
    );
    // Liveness does not depend on the database.
    assert_eq!(get(&app, "/healthz").await.0, 200);
    app.stop().await;
}

/// The value of an unlabelled or labelled sample line `name value`.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        Some(value.parse().expect("a number"))
    })
}

async fn metrics_report_the_writer_and_the_archiver(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..3 {
        let query = format!(
            "idsite={}&rec=1&_id=000000000000000{n}&url=https%3A%2F%2Fexample.com%2F{n}",
            app.idsite
        );
        assert_eq!(app.track_get(&query).await.status(), 200);
    }
    let site_lag = format!("edgemeter_archive_lag_seconds{{idsite=\"{}\"}}", app.idsite);
    let (_, metrics) = until(&app, "/metrics", |_, m| sample(m, &site_lag).is_some()).await;
    assert!(
        metrics.contains("# TYPE edgemeter_writer_commit_seconds histogram\n"),
        "{metrics}"
    );
    // One group per request at least (they were sent one after the other).
    let commits = sample(&metrics, "edgemeter_writer_commit_seconds_count").unwrap();
    assert!(commits >= 3.0, "{metrics}");
    assert_eq!(
        sample(
            &metrics,
            "edgemeter_writer_commit_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(commits)
    );
    assert!(sample(&metrics, "edgemeter_writer_commit_seconds_sum").unwrap() > 0.0);
    // Every request was answered: nothing waits.
    assert_eq!(sample(&metrics, "edgemeter_writer_queue_items"), Some(0.0));
    assert_eq!(sample(&metrics, "edgemeter_ingest_lag_seconds"), Some(0.0));
    assert!(sample(&metrics, &site_lag).unwrap() < 60.0, "{metrics}");
    let last = sample(
        &metrics,
        &format!(
            "edgemeter_archive_last_success_timestamp_seconds{{idsite=\"{}\"}}",
            app.idsite
        ),
    )
    .unwrap();
    let now = origin::store::now_unix() as f64;
    assert!(last <= now && last > now - 60.0, "{metrics}");
    assert_eq!(
        sample(&metrics, "edgemeter_archive_last_pass_timestamp_seconds"),
        Some(last)
    );
    app.stop().await;
}

/// Runs `edgemeter ARGS` on the app's database and asserts it succeeded.
fn command(app: &TestApp, args: &[&str]) {
    let (ok, _, err) = crate::cli::edgemeter(&app.database_url, args, None);
    assert!(ok, "edgemeter {args:?}: {err}");
}

/// Polls `GET path` until `done(status, body)` (the switches are re-read every 2 s, the
/// scheduler's first pass runs at start-up).
async fn until(app: &TestApp, path: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    within(async {
        loop {
            let (status, body) = get(app, path).await;
            if done(status, &body) {
                break (status, body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
}

async fn maintenance_and_recording_switch_without_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = format!(
        "/index.php?module=API&method=API.getMatomoVersion&format=json&token_auth={}",
        app.token
    );
    let stored = "SELECT COUNT(*) FROM log_link_visit_action";
    let track = |n: u32| {
        format!(
            "idsite={}&rec=1&_id=00000000000000{n:02}&url=https%3A%2F%2Fexample.com%2F{n}",
            app.idsite
        )
    };
    let ingest = || async {
        let response = app
            .client
            .post(app.url("/ingest"))
            .body("not even a batch")
            .send()
            .await
            .expect("request");
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(
        get(&app, &api).await,
        (200, "{\"value\":\"5.3.1\"}".to_owned())
    );

    command(&app, &["maintenance", "on"]);
    let page = until(&app, &api, |status, _| status == 503).await.1;
    assert!(
        page.contains("<h1>Matomo is undergoing maintenance</h1>"),
        "{page}"
    );
    assert!(
        page.contains("Your analytics data will continue to be tracked as normal."),
        "{page}"
    );
    // The edge keeps its batch: refused before the signature is even read.
    assert_eq!(
        ingest().await,
        (
            503,
            "the origin is in maintenance mode: the edge keeps this batch and retries it later\n"
                .to_owned()
        )
    );
    // Direct tracking goes on.
    assert_eq!(app.track_get(&track(1)).await.status(), 200);
    assert_eq!(app.count(stored).await, 1);

    command(&app, &["recording", "off"]);
    let (_, page) = until(&app, &api, |_, page| {
        page.contains("data tracking is disabled")
    })
    .await;
    assert!(
        page.contains("While the maintenance mode is active, data tracking is disabled."),
        "{page}"
    );
    // Matomo's answer with `record_statistics = 0`: 503 and the GIF, nothing stored.
    let response = app.track_get(&track(2)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "image/gif"
    );
    assert_eq!(app.count(stored).await, 1);

    command(&app, &["maintenance", "off"]);
    assert_eq!(
        until(&app, &api, |status, _| status == 200).await.1,
        "{\"value\":\"5.3.1\"}"
    );
    // Maintenance is off, recording still off: the edge still keeps its batches.
    assert_eq!(
        ingest().await,
        (
            503,
            "recording is off on the origin: the edge keeps this batch and retries it later\n"
                .to_owned()
        )
    );
    assert_eq!(app.track_get(&track(3)).await.status(), 503);

    command(&app, &["recording", "on"]);
    within(async {
        while app.track_get(&track(4)).await.status() != 200 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(app.count(stored).await, 2);
    // Past the switches, /ingest reads the batch again: an unsigned body is refused as such.
    assert_eq!(ingest().await.0, 401);
    app.stop().await;
}

/// The real `edgemeter serve` binary under a stream of tracking requests gets SIGTERM: it stops
/// accepting, answers what it accepted, stores everything it acknowledged and exits quickly.
async fn sigterm_stores_every_acknowledged_request_and_exits_promptly(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let (ok, idsite, err) = crate::cli::edgemeter(
        &url,
        &[
            "site",
            "add",
            "--name",
            "Shop",
            "--url",
            "https://shop.example",
        ],
        None,
    );
    assert!(ok, "{err}");
    let idsite = idsite.trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgemeter"))
        .arg("serve")
        .env("EDGEMETER_DATABASE_URL", &url)
        .env("EDGEMETER_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start edgemeter serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    within(async {
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    // Eight clients send requests one after the other until the server stops answering.
    let senders: Vec<_> = (0..8)
        .map(|client_no| {
            let (client, base, idsite) = (client.clone(), base.clone(), idsite.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    let page = format!("page-{client_no}-{n}");
                    let query = format!(
                        "idsite={idsite}&rec=1&_id={:016x}&url=https%3A%2F%2Fshop.example%2F{page}",
                        client_no * 1000 + n
                    );
                    match client
                        .get(format!("{base}/matomo.php?{query}"))
                        .send()
                        .await
                    {
                        Ok(response) if response.status() == 200 => acknowledged.push(page),
                        Ok(response) => panic!("{page}: answered {}", response.status()),
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.id().expect("running").to_string();
    let sent_at = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("edgemeter serve did not exit within 10 s of SIGTERM")
        .unwrap();
    let took = sent_at.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(within(sender).await.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "only {} acknowledged",
        acknowledged.len()
    );
    // Matomo stores a page URL without its protocol (the prefix goes to `url_prefix`).
    let names: Vec<_> = acknowledged
        .iter()
        .map(|page| format!("'shop.example/{page}'"))
        .collect();
    let stored = on_connection(
        &url,
        &format!(
            "SELECT COUNT(*) FROM log_action WHERE type = 1 AND name IN ({})",
            names.join(",")
        ),
    )
    .await;
    assert_eq!(
        stored,
        acknowledged.len() as i64,
        "acknowledged but not stored"
    );
}
