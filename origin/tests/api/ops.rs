//! Operations endpoints: `/healthz`, `/readyz` and the writer's and archiver's `/metrics`.

use crate::helpers::{spawn_app, within, Backend, TestApp};

crate::both_backends!(
    readiness_checks_the_database_migrations_and_writer,
    metrics_report_the_writer_and_the_archiver,
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
    // The scheduler's first pass runs at start-up; wait for it to record the site.
    let site_lag = format!("edgemeter_archive_lag_seconds{{idsite=\"{}\"}}", app.idsite);
    let metrics = within(async {
        loop {
            let (_, metrics) = get(&app, "/metrics").await;
            if sample(&metrics, &site_lag).is_some() {
                break metrics;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
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
