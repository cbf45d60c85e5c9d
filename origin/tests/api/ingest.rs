//! `POST /ingest`: signed edge batches, deduplicated by request id.

use shared::batch::{self, Batch, EdgeFacts, EdgeRequest, HintHeaders};

use crate::{both_backends, helpers::*};

fn edge_request(id: u8, idsite: i64, path: &str) -> EdgeRequest {
    EdgeRequest {
        id: [id; 16],
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        query: format!(
            "idsite={idsite}&rec=1&url=https%3A%2F%2Fexample.com%2F{path}&_id=0123456789abcdef"
        ),
        facts: EdgeFacts {
            ip: Some("198.51.0.0".parse().unwrap()),
            fingerprint: [7; 8],
            country: Some("nl".to_owned()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0".to_owned()),
            ..EdgeFacts::default()
        },
    }
}

impl TestApp {
    async fn post_batch(
        &self,
        body: Vec<u8>,
        timestamp: i64,
        signature: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/ingest"))
            .header(batch::TIMESTAMP_HEADER, timestamp.to_string())
            .header(batch::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn send_batch(&self, batch: &Batch) -> reqwest::Response {
        let body = batch::encode(batch);
        let now = chrono::Utc::now().timestamp();
        let signature = batch::sign(self.ingest_secret.as_bytes(), now, &body);
        self.post_batch(body, now, &signature).await
    }
}

async fn a_signed_batch_is_stored_once_even_when_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch = Batch {
        items: vec![
            edge_request(1, app.idsite, "a"),
            edge_request(2, app.idsite, "b"),
        ],
    };
    let first = app.send_batch(&batch).await;
    assert_eq!(first.status(), 200);
    let answer: serde_json::Value = first.json().await.unwrap();
    assert_eq!(answer["tracked"], 2);
    let retry: serde_json::Value = app.send_batch(&batch).await.json().await.unwrap();
    assert_eq!(retry["duplicates"], 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    // The edge's facts are trusted: its country is stored.
    assert_eq!(
        app.text("SELECT location_country FROM log_visit").await,
        "nl"
    );
    app.stop().await;
}

async fn a_tampered_or_expired_batch_is_refused_with_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = batch::encode(&Batch {
        items: vec![edge_request(1, app.idsite, "a")],
    });
    let now = chrono::Utc::now().timestamp();
    let signature = batch::sign(app.ingest_secret.as_bytes(), now, &body);
    let mut tampered = body.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        app.post_batch(tampered, now, &signature).await.status(),
        401
    );
    let old = now - 3600;
    let old_signature = batch::sign(app.ingest_secret.as_bytes(), old, &body);
    let expired = app.post_batch(body.clone(), old, &old_signature).await;
    assert_eq!(expired.status(), 401);
    assert!(!expired.text().await.unwrap().is_empty());
    let unsigned = app
        .client
        .post(app.url("/ingest"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 0);
    app.stop().await;
}

async fn a_malformed_batch_with_a_valid_signature_is_a_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = b"not a batch".to_vec();
    let now = chrono::Utc::now().timestamp();
    let signature = batch::sign(app.ingest_secret.as_bytes(), now, &body);
    assert_eq!(app.post_batch(body, now, &signature).await.status(), 400);
    app.stop().await;
}

async fn without_a_secret_ingest_says_how_to_enable_it(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.ingest_secret = None).await;
    let response = app
        .client
        .post(app.url("/ingest"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("EDGEMETER_INGEST_SECRET"));
    app.stop().await;
}

/// The client hints the edge forwards refine the stored device as on the direct endpoint.
async fn the_edges_client_hints_refine_the_stored_device(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut request = edge_request(1, app.idsite, "a");
    request.facts.user_agent = Some(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.0.0 Safari/537.36"
            .to_owned(),
    );
    request.facts.client_hints = HintHeaders {
        full_version_list: Some(
            r#""Chromium";v="124.0.6367.91", "Google Chrome";v="124.1.6367.91""#.to_owned(),
        ),
        platform: Some(r#""Windows""#.to_owned()),
        platform_version: Some(r#""15.0.0""#.to_owned()),
        ..HintHeaders::default()
    };
    let answer = app
        .send_batch(&Batch {
            items: vec![request],
        })
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        app.text("SELECT config_os || ' ' || config_os_version || ' ' || config_browser_version FROM log_visit")
            .await,
        "WIN 11 124.1"
    );
    app.stop().await;
}

both_backends!(
    the_edges_client_hints_refine_the_stored_device,
    a_signed_batch_is_stored_once_even_when_retried,
    a_tampered_or_expired_batch_is_refused_with_401,
    a_malformed_batch_with_a_valid_signature_is_a_400,
    without_a_secret_ingest_says_how_to_enable_it,
);
