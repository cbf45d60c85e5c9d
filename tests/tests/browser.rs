//! The stock Matomo 5.3.1 `matomo.js` and our own tracker (both builds, served by the origin at
//! `/matomo.js` and `/matomo.full.js`), each run in headless Chromium by `tests/clients/browser.mjs` against a real `edgemeter serve`:
//! the same visitor journey must be stored as the one visit Matomo would build, with the same
//! shape for both trackers.

use std::time::Duration;

use tests::{query_param, run_node, GoalSpec, Origin};

/// One Chromium at a time: the machines have 2 cores, and the journeys wait on real timers.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One row of `log_link_visit_action` with its `log_action` names, as the assertions need it.
#[derive(Debug, sqlx::FromRow)]
struct ActionRow {
    idvisit: i64,
    url: Option<String>,
    url_type: Option<i64>,
    url_prefix: Option<i64>,
    name: Option<String>,
    name_type: Option<i64>,
    event_category: Option<String>,
    event_action: Option<String>,
    custom_float: Option<f64>,
    search_cat: Option<String>,
    search_count: Option<i64>,
    pageview_position: Option<i64>,
}

impl ActionRow {
    /// The kind of action, from Matomo's `log_action.type` values (spec 2.7).
    fn kind(&self) -> &'static str {
        match (self.event_category.is_some(), self.url_type, self.name_type) {
            (true, _, _) => "event",
            (false, Some(2), _) => "outlink",
            (false, Some(3), _) => "download",
            (false, _, Some(8)) => "search",
            (false, Some(1), Some(4)) => "pageview",
            _ => "unknown",
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct VisitRow {
    idvisit: i64,
    idvisitor: String,
    visit_total_actions: i64,
    visit_total_searches: i64,
    visit_total_events: i64,
    visit_goal_converted: i64,
    referer_type: Option<i64>,
    referer_name: Option<String>,
    referer_url: Option<String>,
    entry_url: Option<String>,
    entry_title: Option<String>,
    exit_url: Option<String>,
    exit_title: Option<String>,
    config_resolution: Option<String>,
    visitor_count_visits: i64,
    visitor_returning: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct ConversionRow {
    idvisit: i64,
    idgoal: i64,
    revenue: Option<f64>,
    url: String,
    referer_type: Option<i64>,
    referer_name: Option<String>,
}

/// The visit shape both trackers must produce, so a difference shows as one assertion.
#[derive(Debug, PartialEq)]
struct Shape {
    kinds: Vec<&'static str>,
    totals: (i64, i64, i64, i64),
    referer: (Option<i64>, Option<String>),
    conversions: Vec<(i64, Option<f64>)>,
}

/// Runs the journey with `tracker` (`stock`, `ours` or `full`), asserts every stored row, returns
/// the shape.
async fn journey(tracker: &str) -> Shape {
    let _one_browser = BROWSER.lock().await;
    let origin = Origin::start(
        "http://127.0.0.1",
        &[GoalSpec {
            revenue: 1.0,
            ..GoalSpec::manual()
        }],
    )
    .await;
    let idsite = origin.idsite.to_string();
    let did = run_node(
        "browser.mjs",
        &[
            "--origin",
            &origin.base_url,
            "--idsite",
            &idsite,
            "--tracker",
            tracker,
        ],
        Duration::from_secs(120),
    )
    .await;
    let log = origin.log();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let requests = did["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        requests.len(),
        7,
        "{tracker}: tracking requests sent: {did}"
    );
    let visitor_id = query_param(&text(&requests[0]["url"]), "_id").expect("_id on the pageview");
    let shop = text(&did["pages"][0]["url"]);
    let cart = text(&did["pages"][1]["url"]);
    let strip = |u: &str| u.trim_start_matches("http://").to_owned();

    let db = origin.db().await;
    let visits: Vec<VisitRow> = sqlx::query_as(
        "SELECT v.idvisit, lower(hex(v.idvisitor)) AS idvisitor, v.visit_total_actions,
                v.visit_total_searches, v.visit_total_events, v.visit_goal_converted,
                v.referer_type, v.referer_name, v.referer_url,
                eu.name AS entry_url, en.name AS entry_title,
                xu.name AS exit_url, xn.name AS exit_title, v.config_resolution,
                v.visitor_count_visits, v.visitor_returning
         FROM log_visit v
         LEFT JOIN log_action eu ON eu.idaction = v.visit_entry_idaction_url
         LEFT JOIN log_action en ON en.idaction = v.visit_entry_idaction_name
         LEFT JOIN log_action xu ON xu.idaction = v.visit_exit_idaction_url
         LEFT JOIN log_action xn ON xn.idaction = v.visit_exit_idaction_name
         ORDER BY v.idvisit",
    )
    .fetch_all(&db)
    .await
    .expect("read log_visit");
    assert_eq!(
        visits.len(),
        1,
        "{tracker}: one visit, got {visits:#?}\n{log}"
    );
    let visit = &visits[0];
    assert_eq!(
        visit.idvisitor, visitor_id,
        "{tracker}: idvisitor is the _id cookie"
    );
    assert_eq!(visit.visitor_count_visits, 1, "{tracker}: first visit");
    assert_eq!(visit.visitor_returning, 0, "{tracker}: a new visitor");
    assert_eq!(visit.config_resolution.as_deref(), Some("1280x720"));
    // Referrer: the blog on another host is a website (type 3) named by its host.
    assert_eq!(visit.referer_type, Some(3), "{tracker}: website referrer");
    assert_eq!(visit.referer_name.as_deref(), Some("localhost"));
    assert_eq!(
        visit.referer_url.as_deref(),
        Some(text(&did["referrer"]).as_str())
    );
    assert_eq!(visit.entry_url.as_deref(), Some(strip(&shop).as_str()));
    assert_eq!(visit.entry_title.as_deref(), Some("Shop home"));
    assert_eq!(visit.exit_url.as_deref(), Some(strip(&cart).as_str()));
    assert_eq!(visit.exit_title.as_deref(), Some("Cart"));
    // Matomo counts pageviews, searches, events, outlinks and downloads as actions; a manual goal
    // conversion is not an action.
    assert_eq!(visit.visit_total_actions, 6, "{tracker}: {visit:#?}");
    assert_eq!(visit.visit_total_searches, 1);
    assert_eq!(visit.visit_total_events, 1);
    assert_eq!(visit.visit_goal_converted, 1);

    let actions: Vec<ActionRow> = sqlx::query_as(
        "SELECT a.idvisit, u.name AS url, u.type AS url_type, u.url_prefix,
                n.name AS name, n.type AS name_type,
                c.name AS event_category, e.name AS event_action,
                a.custom_float, a.search_cat, a.search_count, a.pageview_position
         FROM log_link_visit_action a
         LEFT JOIN log_action u ON u.idaction = a.idaction_url
         LEFT JOIN log_action n ON n.idaction = a.idaction_name
         LEFT JOIN log_action c ON c.idaction = a.idaction_event_category
         LEFT JOIN log_action e ON e.idaction = a.idaction_event_action
         ORDER BY a.idlink_va",
    )
    .fetch_all(&db)
    .await
    .expect("read log_link_visit_action");
    let kinds: Vec<&str> = actions.iter().map(ActionRow::kind).collect();
    assert_eq!(
        kinds,
        ["pageview", "search", "event", "outlink", "download", "pageview"],
        "{tracker}: {actions:#?}"
    );
    assert!(actions.iter().all(|a| a.idvisit == visit.idvisit));
    let [pv1, search, event, outlink, download, pv2] = &actions[..] else {
        unreachable!("six actions checked above");
    };
    // Page URLs are stored without their scheme (url_prefix 0 = http://), titles as type 4.
    assert_eq!(pv1.url.as_deref(), Some(strip(&shop).as_str()));
    assert_eq!(pv1.url_prefix, Some(0));
    assert_eq!(pv1.name.as_deref(), Some("Shop home"));
    assert_eq!(pv1.pageview_position, Some(1));
    assert_eq!(pv2.url.as_deref(), Some(strip(&cart).as_str()));
    assert_eq!(pv2.name.as_deref(), Some("Cart"));
    assert_eq!(pv2.pageview_position, Some(2));
    // Site search: keyword as the name (type 8), no URL (ActionSiteSearch::getIdActionUrl).
    assert_eq!(search.name.as_deref(), Some("blue shoes"));
    assert_eq!(search.url, None);
    assert_eq!(search.search_cat.as_deref(), Some("Shoes"));
    assert_eq!(search.search_count, Some(3));
    // Event: category (10), action (11), name (12) and the value in custom_float.
    assert_eq!(event.event_category.as_deref(), Some("Video"));
    assert_eq!(event.event_action.as_deref(), Some("Play"));
    assert_eq!(event.name.as_deref(), Some("Intro"));
    assert_eq!(event.name_type, Some(12));
    assert_eq!(event.custom_float, Some(12.5));
    // Outlinks and downloads keep their full URL (ActionClickUrl: "we do not normalize").
    assert_eq!(outlink.url.as_deref(), Some(text(&did["outlink"]).as_str()));
    assert_eq!(
        download.url.as_deref(),
        Some(text(&did["download"]).as_str())
    );

    let conversions: Vec<ConversionRow> = sqlx::query_as(
        "SELECT idvisit, idgoal, revenue, url, referer_type, referer_name FROM log_conversion",
    )
    .fetch_all(&db)
    .await
    .expect("read log_conversion");
    assert_eq!(conversions.len(), 1, "{tracker}: {conversions:#?}\n{log}");
    let conversion = &conversions[0];
    assert_eq!(conversion.idvisit, visit.idvisit);
    assert_eq!(conversion.idgoal, 1);
    assert_eq!(conversion.revenue, Some(9.99), "trackGoal's revenue wins");
    assert_eq!(conversion.url, cart, "converted on the cart page");
    assert_eq!(conversion.referer_type, Some(3));
    assert_eq!(conversion.referer_name.as_deref(), Some("localhost"));

    // The Reporting API counts the visit (today's archive is built on demand).
    let summary = origin.api(
        "VisitsSummary.get",
        &format!("idSite={}&period=day&date=today", origin.idsite),
    );
    assert_eq!(summary["nb_visits"], 1, "{tracker}: {summary}");
    assert_eq!(summary["nb_actions"], 6, "{tracker}: {summary}");
    assert_eq!(summary["nb_visits_converted"], 1, "{tracker}: {summary}");

    Shape {
        kinds,
        totals: (
            visit.visit_total_actions,
            visit.visit_total_searches,
            visit.visit_total_events,
            visit.visit_goal_converted,
        ),
        referer: (visit.referer_type, visit.referer_name.clone()),
        conversions: conversions.iter().map(|c| (c.idgoal, c.revenue)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_matomo_js_in_chromium_is_stored_as_the_visit_matomo_builds() {
    journey("stock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_tracker_from_the_origin_builds_the_same_visit_as_stock_matomo_js() {
    let ours = journey("ours").await;
    let stock = journey("stock").await;
    assert_eq!(ours, stock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_full_build_from_the_origin_builds_the_same_visit_as_stock_matomo_js() {
    let full = journey("full").await;
    let stock = journey("stock").await;
    assert_eq!(full, stock);
}
