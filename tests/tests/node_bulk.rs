//! The official Node client (npm `matomo-tracker` 2.2.4) in bulk mode, run by
//! `tests/clients/node-bulk.mjs` against a real `edgemeter serve`: back-dated (`cdt`), placed
//! (`cip`) and authenticated requests of four visitors must be stored as Matomo builds the visits
//! (30-minute rule, returning visitor, User ID as visitor id, goal), and an unauthenticated old
//! `cdt` must be refused without stopping the batch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tests::{run_node, GoalSpec, Origin};

#[derive(Debug, sqlx::FromRow)]
struct Visit {
    idvisit: i64,
    idvisitor: String,
    user_id: Option<String>,
    visit_first_action_time: i64,
    visit_last_action_time: i64,
    visit_total_actions: i64,
    visit_total_events: i64,
    visit_goal_converted: i64,
    visitor_count_visits: i64,
    visitor_returning: i64,
    visitor_seconds_since_last: Option<i64>,
    referer_type: Option<i64>,
    referer_name: Option<String>,
    location_ip: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matomo_tracker_bulk_requests_build_visits_by_the_30_minute_rule() {
    let origin = Origin::start("https://shop.example", &[GoalSpec::manual()]).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    // 10:00 UTC two days ago: older than 24 h (so cdt needs the token) and the whole timeline
    // (about 35 minutes) stays within one UTC day (the site's time zone).
    let t = now - now % 86_400 - 2 * 86_400 + 10 * 3600;
    let did = run_node(
        "node-bulk.mjs",
        &[
            "--origin",
            &origin.base_url,
            "--idsite",
            &origin.idsite.to_string(),
            "--token",
            &origin.token,
            "--base-time",
            &t.to_string(),
        ],
        Duration::from_secs(60),
    )
    .await;
    let log = origin.log();

    // Matomo's bulk answer (plugins/BulkTracking/Tracker/Response.php): 11 tracked, the
    // unauthenticated back-dated one invalid, and the batch as a whole succeeds.
    assert_eq!(did["error_status"], serde_json::Value::Null, "{did}\n{log}");
    assert_eq!(did["response"]["status"], "success", "{did}");
    assert_eq!(did["response"]["tracked"], 11, "{did}\n{log}");
    assert_eq!(did["response"]["invalid"], 1, "{did}");

    let db = origin.db().await;
    let visits: Vec<Visit> = sqlx::query_as(
        "SELECT idvisit, lower(hex(idvisitor)) AS idvisitor, user_id, visit_first_action_time,
                visit_last_action_time, visit_total_actions, visit_total_events,
                visit_goal_converted, visitor_count_visits, visitor_returning,
                visitor_seconds_since_last, referer_type, referer_name,
                lower(hex(location_ip)) AS location_ip
         FROM log_visit ORDER BY idvisit",
    )
    .fetch_all(&db)
    .await
    .expect("read log_visit");
    let of = |who: &str| -> Vec<&Visit> {
        let id = did["visitors"][who].as_str().unwrap_or_default();
        visits.iter().filter(|v| v.idvisitor == id).collect()
    };
    assert_eq!(visits.len(), 5, "{visits:#?}\n{log}");
    assert!(
        of("rejected").is_empty(),
        "the refused request stored a visit"
    );

    // A: pageview, event, pageview, goal; then 1820 s of silence and a second visit.
    let a = of("a");
    assert_eq!(a.len(), 2, "{a:#?}");
    assert_eq!(a[0].visit_first_action_time, t, "cdt is the request time");
    assert_eq!(a[0].visit_last_action_time, t + 180);
    assert_eq!(
        a[0].visit_total_actions, 3,
        "the manual goal is not an action"
    );
    assert_eq!(a[0].visit_total_events, 1);
    assert_eq!(a[0].visit_goal_converted, 1);
    assert_eq!(a[0].visitor_count_visits, 1);
    assert_eq!(a[0].visitor_returning, 0);
    assert_eq!(a[0].referer_type, Some(3), "news.example.net is a website");
    assert_eq!(a[0].referer_name.as_deref(), Some("news.example.net"));
    // cip 203.0.113.10 with Matomo's default 2-byte anonymisation.
    assert_eq!(a[0].location_ip.as_deref(), Some("cb000000"));
    assert_eq!(a[1].visit_first_action_time, t + 2000);
    assert_eq!(a[1].visit_total_actions, 1);
    assert_eq!(
        a[1].visitor_count_visits, 2,
        "a returning visitor's second visit"
    );
    assert_eq!(a[1].visitor_returning, 1);
    assert_eq!(a[1].visitor_seconds_since_last, Some(1820));
    assert_eq!(a[1].visit_goal_converted, 0);

    // B: three actions over 1700 s, never 30 minutes apart: one visit.
    let b = of("b");
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(b[0].visit_total_actions, 3);
    assert_eq!(b[0].visit_total_events, 1);
    assert_eq!(
        (b[0].visit_first_action_time, b[0].visit_last_action_time),
        (t + 10, t + 1700)
    );
    assert_eq!(b[0].location_ip.as_deref(), Some("c6330000"));
    assert_eq!(b[0].referer_type, Some(1), "no referrer: direct entry");

    // C: a User ID makes the visitor id sha1(uid)'s first 16 hex chars (spec 2.1).
    let c = of("c");
    assert_eq!(c.len(), 1, "{visits:#?}");
    assert_eq!(c[0].user_id.as_deref(), Some("user-42"));
    assert_eq!(c[0].visit_total_actions, 2);

    // D: no cdt, so stored at the time it arrived.
    let d = of("d");
    assert_eq!(d.len(), 1, "{visits:#?}");
    assert!(
        d[0].visit_first_action_time >= now,
        "{} < {now}",
        d[0].visit_first_action_time
    );

    let actions: Vec<(i64, i64)> =
        sqlx::query_as("SELECT idvisit, server_time FROM log_link_visit_action ORDER BY idlink_va")
            .fetch_all(&db)
            .await
            .expect("read log_link_visit_action");
    assert_eq!(actions.len(), 10, "{actions:?}");
    let times_of = |idvisit: i64| -> Vec<i64> {
        actions
            .iter()
            .filter(|(v, _)| *v == idvisit)
            .map(|(_, time)| time - t)
            .collect()
    };
    assert_eq!(times_of(a[0].idvisit), [0, 60, 120]);
    assert_eq!(times_of(b[0].idvisit), [10, 1000, 1700]);
    assert_eq!(times_of(c[0].idvisit), [30, 90]);

    let conversions: Vec<(i64, i64, Option<f64>, i64, String)> =
        sqlx::query_as("SELECT idvisit, idgoal, revenue, server_time, url FROM log_conversion")
            .fetch_all(&db)
            .await
            .expect("read log_conversion");
    assert_eq!(
        conversions,
        [(
            a[0].idvisit,
            1,
            Some(20.0),
            t + 180,
            "https://shop.example/product".to_owned()
        )]
    );
}
