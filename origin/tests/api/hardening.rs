//! Bad input and attackers: parameter floods, half-open connections, huge date ranges, guessed
//! tokens and passwords. Every test asserts the defence's effect (a cap, a count, a closed
//! connection, a refusal), never a timing, so none flakes on a loaded machine.

use crate::{both_backends, helpers::*};

/// A form body of `n` distinct names after `prefix`.
fn flood(prefix: &str, n: usize) -> String {
    let mut body = prefix.to_owned();
    for i in 0..n {
        body.push_str(&format!("&n{i}=v"));
    }
    body
}

/// The value of one counter at `/metrics`.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = within(app.client.get(app.url("/metrics")).send())
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("edgemeter_{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .parse()
        .expect("a number")
}

async fn a_hundred_thousand_name_tracking_body_is_tracked_with_the_first_thousand(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let body = flood(
        &format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
            app.idsite
        ),
        100_000,
    );
    let (first, second) =
        within(async { tokio::join!(app.track_post(body.clone()), app.track_post(body.clone())) })
            .await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let health = within(app.client.get(app.url("/healthz")).send())
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        2
    );
    assert_eq!(metric(&app, "params_over_limit_total").await, 2);
    app.stop().await;
}

async fn a_hundred_thousand_name_api_body_is_refused_with_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = flood(
        &format!(
            "module=API&method=API.getMatomoVersion&format=json&token_auth={}",
            app.token
        ),
        100_000,
    );
    let response = within(app.client.post(app.url("/index.php")).body(body).send())
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "Matomo's errors are HTTP 200");
    let answer: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(answer["result"], "error");
    let message = answer["message"].as_str().expect("message");
    assert!(message.contains("more than 1000 parameters"), "{message}");
    assert_eq!(metric(&app, "params_over_limit_total").await, 1);
    // An ordinary request still works.
    let response = within(
        app.client
            .get(app.url(&format!(
                "/index.php?module=API&method=API.getMatomoVersion&format=json&token_auth={}",
                app.token
            )))
            .send(),
    )
    .await
    .expect("request");
    assert_eq!(response.text().await.expect("body"), r#"{"value":"5.3.1"}"#);
    app.stop().await;
}

both_backends!(
    a_hundred_thousand_name_tracking_body_is_tracked_with_the_first_thousand,
    a_hundred_thousand_name_api_body_is_refused_with_a_clear_error,
);
