//! The tracking endpoint's answers (spec/MATOMO.md 1.2) and its handling of bad input.

use crate::{both_backends, helpers::*};

const GIF_LEN: usize = 43;

async fn a_get_pageview_is_stored_and_answered_with_the_gif(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .track_get(&format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2Fa&action_name=A&_id=0123456789abcdef",
            app.idsite
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/gif");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.bytes().await.unwrap().len(), GIF_LEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        1
    );
    app.stop().await;
}

async fn send_image_0_is_answered_with_an_empty_204(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .track_get(&format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F&send_image=0",
            app.idsite
        ))
        .await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    app.stop().await;
}

async fn a_beacon_post_with_parameters_in_the_url_and_an_empty_body_is_tracked(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url(&format!(
            "/matomo.php?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2Fb&send_image=0",
            app.idsite
        )))
        .header("origin", "https://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://example.com"
    );
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        1
    );
    app.stop().await;
}

async fn a_form_post_is_tracked_and_the_query_string_wins_on_a_clash(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url(&format!("/matomo.php?idsite={}", app.idsite)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("idsite=999&rec=1&url=https%3A%2F%2Fexample.com%2Fform")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_visit WHERE idsite = 1")
            .await,
        1
    );
    app.stop().await;
}

async fn an_unknown_site_is_a_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .track_get("idsite=999&rec=1&url=https%3A%2F%2Fexample.com%2F")
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.bytes().await.unwrap().len(), GIF_LEN);
    let invalid = app.track_get("idsite=abc&rec=1").await;
    assert_eq!(invalid.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 0);
    app.stop().await;
}

async fn overrides_need_a_token_with_write_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let base = format!(
        "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
        app.idsite
    );
    for extra in [
        "cip=1.2.3.4",
        "country=fr",
        "region=75",
        "city=Paris",
        "lat=1.5",
        "long=2.5",
        "cdt=2020-01-01%2000%3A00%3A00",
    ] {
        let response = app.track_get(&format!("{base}&{extra}")).await;
        assert_eq!(
            response.status(),
            400,
            "{extra} without a token must be refused"
        );
    }
    let wrong = app
        .track_get(&format!(
            "{base}&cip=1.2.3.4&token_auth=0123456789abcdef0123456789abcdef"
        ))
        .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 0);
    let ok = app
        .track_get(&format!(
            "{base}&cip=203.0.113.77&country=fr&token_auth={}",
            app.token
        ))
        .await;
    assert_eq!(ok.status(), 200);
    // The IP is stored anonymised (2 bytes by default) and the country override is kept.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_visit WHERE location_country = 'fr'")
            .await,
        1
    );
    let ip = match backend {
        Backend::Sqlite => "SELECT lower(hex(location_ip)) FROM log_visit",
        Backend::Postgres => "SELECT encode(location_ip, 'hex') FROM log_visit",
    };
    assert_eq!(app.text(ip).await, "cb000000");
    app.stop().await;
}

async fn a_recent_custom_time_needs_no_token_but_an_old_one_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = chrono::Utc::now().timestamp();
    let base = format!(
        "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
        app.idsite
    );
    assert_eq!(
        app.track_get(&format!("{base}&cdt={}", now - 3600))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.track_get(&format!("{base}&cdt={}", now - 3 * 86400))
            .await
            .status(),
        400
    );
    assert_eq!(
        app.track_get(&format!(
            "{base}&cdt={}&token_auth={}",
            now - 3 * 86400,
            app.token
        ))
        .await
        .status(),
        200
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        2
    );
    app.stop().await;
}

async fn bulk_requests_count_tracked_and_invalid_and_keep_the_good_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = serde_json::json!({
        "requests": [
            format!("?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F1&_id=0123456789abcdef", app.idsite),
            "?idsite=999&rec=1",
            {"idsite": app.idsite, "rec": 1, "url": "https://example.com/2", "_id": "0123456789abcdef"},
            "?idsite=1&cid=not-hex",
            42,
        ],
        "token_auth": app.token,
    });
    let response = app.track_post(body.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["tracked"], 2);
    assert_eq!(answer["invalid"], 3);
    assert_eq!(answer["invalid_indices"], serde_json::json!([1, 3, 4]));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        2
    );
    app.stop().await;
}

async fn bulk_answers_hide_invalid_indices_from_non_super_users_and_honour_send_image_0(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let request = format!(
        "?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
        app.idsite
    );
    let body = serde_json::json!({"requests": [request, "?idsite=999&rec=1"]});
    let answer: serde_json::Value = app.track_post(body.to_string()).await.json().await.unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"status": "success", "tracked": 1, "invalid": 1})
    );
    let silent = serde_json::json!({"requests": [request], "send_image": 0});
    assert_eq!(app.track_post(silent.to_string()).await.status(), 204);
    app.stop().await;
}

async fn a_bulk_body_that_is_not_json_is_a_400_with_a_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.track_post("{\"requests\": [oops").await;
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "error");
    assert!(answer["message"].as_str().unwrap().len() > 10);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("edgemeter_bulk_invalid_json_total 1\n"),
        "{metrics}"
    );
    app.stop().await;
}

async fn an_oversized_body_is_a_413_with_a_message(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.max_body_bytes = 1000).await;
    let response = app.track_post(vec![b'a'; 5000]).await;
    assert_eq!(response.status(), 413);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("larger than 1000 bytes"));
    app.stop().await;
}

async fn invalid_utf8_never_breaks_the_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .track_get(&format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F%FF%FE&action_name=%C3%28",
            app.idsite
        ))
        .await;
    assert_eq!(response.status(), 200);
    let bulk = app.track_post(b"{\"requests\": [\"\xff\"]}".to_vec()).await;
    assert_eq!(bulk.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    app.stop().await;
}

async fn requests_without_parameters_get_matomos_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let get = app.client.get(app.url("/matomo.php")).send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert!(get
        .text()
        .await
        .unwrap()
        .starts_with("This resource is part of Matomo."));
    let post = app.client.post(app.url("/piwik.php")).send().await.unwrap();
    assert_eq!(post.status(), 400);
    app.stop().await;
}

async fn the_preflight_is_answered_without_tracking(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/matomo.php"))
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-methods"],
        "GET, POST"
    );
    assert_eq!(response.headers()["access-control-allow-headers"], "*");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    app.stop().await;
}

async fn excluded_requests_are_answered_like_tracked_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let bot = app
        .client
        .get(app.url(&format!(
            "/matomo.php?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
            app.idsite
        )))
        .header(
            "user-agent",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bot.status(), 200);
    assert_eq!(bot.bytes().await.unwrap().len(), GIF_LEN);
    let no_rec = app
        .track_get(&format!(
            "idsite={}&url=https%3A%2F%2Fexample.com%2F",
            app.idsite
        ))
        .await;
    assert_eq!(no_rec.status(), 200);
    // ca=1 promises a custom action; without one Matomo ignores the request.
    let custom_action = app
        .track_get(&format!(
            "idsite={}&rec=1&ca=1&url=https%3A%2F%2Fexample.com%2F",
            app.idsite
        ))
        .await;
    assert_eq!(custom_action.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 0);
    app.stop().await;
}

async fn switching_recording_off_answers_503_and_stores_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.tracker.record_statistics = false).await;
    let response = app
        .track_get(&format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
            app.idsite
        ))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.bytes().await.unwrap().len(), GIF_LEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 0);
    app.stop().await;
}

async fn do_not_track_is_honoured_only_when_configured(backend: Backend) {
    for honour in [false, true] {
        let app = spawn_app_with(backend, |config| {
            config.tracker.honour_do_not_track = honour
        })
        .await;
        let response = app
            .client
            .get(app.url(&format!(
                "/matomo.php?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F",
                app.idsite
            )))
            .header("dnt", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM log_visit").await,
            i64::from(!honour)
        );
        app.stop().await;
    }
}

/// Client hints refine the stored OS version and model: from the `Sec-CH-UA-*` headers of a
/// direct request, and from `uadata`, which wins over the headers.
async fn client_hints_refine_the_stored_device(backend: Backend) {
    let app = spawn_app(backend).await;
    // A different Chrome version each time, so that each request starts its own visit.
    let frozen = |n: u8| {
        format!("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12{n}.0.0.0 Mobile Safari/537.36")
    };
    let uadata = "%7B%22platform%22%3A%22Windows%22%2C%22platformVersion%22%3A%2215.0.0%22%7D";
    for (n, query) in [(1, String::new()), (2, format!("&uadata={uadata}"))] {
        let response = app
            .client
            .get(app.url(&format!(
                "/matomo.php?idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F&_id=000000000000000{n}{query}",
                app.idsite
            )))
            .header("user-agent", frozen(n))
            .header("sec-ch-ua-platform", "\"Android\"")
            .header("sec-ch-ua-platform-version", "\"14.0.0\"")
            .header("sec-ch-ua-model", "\"Pixel 8\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let stored = |n: u8| {
        format!(
            "SELECT config_os || ' ' || config_os_version || ' ' || config_device_model \
             FROM log_visit ORDER BY idvisit LIMIT 1 OFFSET {}",
            n - 1
        )
    };
    assert_eq!(app.text(&stored(1)).await, "AND 14.0 Pixel 8");
    // uadata's platform wins; its missing model leaves the headers' out, as in Matomo.
    assert_eq!(app.text(&stored(2)).await, "WIN 11 ");
    app.stop().await;
}

both_backends!(
    client_hints_refine_the_stored_device,
    do_not_track_is_honoured_only_when_configured,
    a_get_pageview_is_stored_and_answered_with_the_gif,
    send_image_0_is_answered_with_an_empty_204,
    a_beacon_post_with_parameters_in_the_url_and_an_empty_body_is_tracked,
    a_form_post_is_tracked_and_the_query_string_wins_on_a_clash,
    an_unknown_site_is_a_400,
    overrides_need_a_token_with_write_access,
    a_recent_custom_time_needs_no_token_but_an_old_one_does,
    bulk_requests_count_tracked_and_invalid_and_keep_the_good_ones,
    bulk_answers_hide_invalid_indices_from_non_super_users_and_honour_send_image_0,
    a_bulk_body_that_is_not_json_is_a_400_with_a_message,
    an_oversized_body_is_a_413_with_a_message,
    invalid_utf8_never_breaks_the_endpoint,
    requests_without_parameters_get_matomos_page,
    the_preflight_is_answered_without_tracking,
    excluded_requests_are_answered_like_tracked_ones,
    switching_recording_off_answers_503_and_stores_nothing,
);

mod script {
    use crate::helpers::*;

    #[tokio::test]
    async fn the_tracker_script_is_served_with_an_etag_and_revalidates() {
        let app = spawn_app(Backend::Sqlite).await;
        for (path, source) in [
            ("/matomo.js", shared::tracker_script::SOURCE),
            ("/piwik.js", shared::tracker_script::SOURCE),
            ("/matomo.full.js", shared::tracker_script::FULL_SOURCE),
        ] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.headers()["content-type"],
                "application/javascript; charset=utf-8"
            );
            assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
            let etag = response.headers()["etag"].to_str().unwrap().to_owned();
            assert_eq!(response.text().await.unwrap(), source);
            let again = app
                .client
                .get(app.url(path))
                .header("if-none-match", &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304);
            assert!(again.bytes().await.unwrap().is_empty());
        }
        app.stop().await;
    }
}
