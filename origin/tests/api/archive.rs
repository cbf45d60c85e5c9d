//! Archiving and the report methods built on it: every period on a small fixed scenario,
//! invalidation by late data, gap healing, idempotence and site time zones.

use chrono::NaiveDate;
use origin::{
    archive,
    reports::{produce, Period, PeriodKind, ReportOutput, ReportRequest},
};
use serde_json::{json, Value};

use crate::{both_backends, helpers::*};

/// 2026-09-01 10:00:00 UTC, a Tuesday in the past.
const T0: i64 = 1_788_256_800;

const UA: &str = "ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)%20Firefox%2F125.0";

async fn track(app: &TestApp, idsite: i64, requests: &[(i64, &str)]) {
    let requests: Vec<String> = requests
        .iter()
        .map(|(offset, extra)| format!("?idsite={idsite}&rec=1&cdt={}&{UA}&{extra}", T0 + offset))
        .collect();
    let body = json!({"requests": requests, "token_auth": app.token});
    let answer: Value = app.track_post(body.to_string()).await.json().await.unwrap();
    assert_eq!(answer["invalid"], 0, "{answer}");
}

/// Three visits on 2026-09-01: a direct bounce, three pages from Google with a keyword, and a
/// campaign visit with two pages and a download.
async fn scenario(app: &TestApp) {
    track(
        app,
        app.idsite,
        &[
            (0, "_id=1111111111111111&cip=11.1.1.1&url=https%3A%2F%2Fexample.com%2F&action_name=Home"),
            (
                100,
                "_id=2222222222222222&cip=12.1.1.1&url=https%3A%2F%2Fexample.com%2Fa&urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dred%2Bshoes",
            ),
            (160, "_id=2222222222222222&cip=12.1.1.1&url=https%3A%2F%2Fexample.com%2Fb"),
            (220, "_id=2222222222222222&cip=12.1.1.1&url=https%3A%2F%2Fexample.com%2Fb"),
            (
                300,
                "_id=3333333333333333&cip=13.1.1.1&url=https%3A%2F%2Fexample.com%2Fa%3Fmtm_campaign%3DAutumn",
            ),
            (
                330,
                "_id=3333333333333333&cip=13.1.1.1&download=https%3A%2F%2Fcdn.example.org%2Ff.pdf&url=https%3A%2F%2Fexample.com%2Fa",
            ),
            (400, "_id=3333333333333333&cip=13.1.1.1&url=https%3A%2F%2Fexample.com%2Fc"),
        ],
    )
    .await;
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn period(kind: PeriodKind, start: &str, end: &str) -> Period {
    Period {
        kind,
        start: date(start),
        end: date(end),
    }
}

async fn report(app: &TestApp, method: &str, period: Period) -> ReportOutput {
    let site = app.store.site(app.idsite).await.unwrap().unwrap();
    let request = ReportRequest {
        method,
        site: &site,
        period,
        flat: false,
        expanded: false,
        id_subtable: None,
        id_goal: None,
    };
    produce(&app.store, &request, archive::Settings::default())
        .await
        .unwrap()
}

async fn summary(app: &TestApp, period: Period) -> Value {
    match report(app, "VisitsSummary.get", period).await {
        ReportOutput::Metrics(columns) => Value::Object(columns),
        other => panic!("not metrics: {other:?}"),
    }
}

async fn no_scheduler(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| config.archiving.scheduler = false).await
}

async fn visits_summary_is_archived_for_every_period(backend: Backend) {
    let app = no_scheduler(backend).await;
    scenario(&app).await;
    let day = summary(&app, period(PeriodKind::Day, "2026-09-01", "2026-09-01")).await;
    assert_eq!(
        day,
        json!({"nb_uniq_visitors": 3, "nb_users": 0, "nb_visits": 3, "nb_actions": 7,
               "nb_visits_converted": 0, "bounce_count": 1, "sum_visit_length": 222,
               "max_actions": 3, "bounce_rate": 0.33, "nb_actions_per_visit": 2.3,
               "avg_time_on_site": 74})
    );
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for (kind, start, end) in [
        (PeriodKind::Week, "2026-08-31", "2026-09-06"),
        (PeriodKind::Month, "2026-09-01", "2026-09-30"),
    ] {
        let sum = summary(&app, period(kind, start, end)).await;
        assert_eq!(sum, day, "{kind:?}");
    }
    for (kind, start, end) in [
        (PeriodKind::Year, "2026-01-01", "2026-12-31"),
        (PeriodKind::Range, "2026-08-30", "2026-09-02"),
    ] {
        let sum = summary(&app, period(kind, start, end)).await;
        assert_eq!(sum["nb_visits"], 3, "{kind:?}");
        assert!(
            !keys(&sum).contains(&"nb_uniq_visitors".to_owned()),
            "{kind:?} has no unique visitors"
        );
    }
    let empty = summary(&app, period(PeriodKind::Day, "2026-09-02", "2026-09-02")).await;
    assert_eq!(empty, json!({}));
    match report(
        &app,
        "VisitsSummary.getVisits",
        period(PeriodKind::Day, "2026-09-01", "2026-09-01"),
    )
    .await
    {
        ReportOutput::Value(v) => assert_eq!(v, 3),
        other => panic!("{other:?}"),
    }
}

async fn referrer_and_action_reports_follow_matomo(backend: Backend) {
    let app = no_scheduler(backend).await;
    scenario(&app).await;
    let week = period(PeriodKind::Week, "2026-08-31", "2026-09-06");
    let ReportOutput::Table(types) = report(&app, "Referrers.getReferrerType", week).await else {
        panic!("not a table")
    };
    let labels: Vec<&str> = types.rows.iter().filter_map(|r| r.label()).collect();
    // Ties on visits keep the referrer type order (1 direct, 2 search, 6 campaign).
    assert_eq!(labels, ["Direct Entry", "Search Engines", "Campaigns"]);
    let search = &types.rows[1].columns;
    assert_eq!(search["segment"], "referrerType==search");
    assert_eq!(search["referrer_type"], 2);
    assert_eq!(search["sum_daily_nb_uniq_visitors"], 1);
    assert!(search.get("nb_uniq_visitors").is_none());
    assert!(types.rows[1].idsubdatatable.is_some());
    assert!(types.rows[0].idsubdatatable.is_none());
    let ReportOutput::Table(keywords) = report(&app, "Referrers.getKeywords", week).await else {
        panic!("not a table")
    };
    assert_eq!(keywords.rows[0].label(), Some("red shoes"));
    assert_eq!(
        keywords.rows[0].columns["segment"],
        "referrerType==search;referrerKeyword==red+shoes"
    );
    let day = period(PeriodKind::Day, "2026-09-01", "2026-09-01");
    let ReportOutput::Metrics(actions) = report(&app, "Actions.get", day).await else {
        panic!("not metrics")
    };
    assert_eq!(actions["nb_pageviews"], 6);
    assert_eq!(actions["nb_uniq_pageviews"], 5);
    assert_eq!(actions["nb_downloads"], 1);
    let ReportOutput::Table(downloads) = report(&app, "Actions.getDownloads", day).await else {
        panic!("not a table")
    };
    assert_eq!(downloads.rows[0].label(), Some("cdn.example.org"));
}

async fn late_data_invalidates_the_day_and_the_periods_above(backend: Backend) {
    let app = no_scheduler(backend).await;
    scenario(&app).await;
    let now = origin::store::now_unix();
    let first = archive::run_once(&app.store, now, archive::Settings::default())
        .await
        .unwrap();
    assert!(first.archived >= 4, "{first:?}");
    assert!(first.invalidations >= 1);
    // A second pass has nothing to do: archives are stored and valid.
    let again = archive::run_once(&app.store, now, archive::Settings::default())
        .await
        .unwrap();
    assert_eq!(again.archived, 0, "{again:?}");
    let month = period(PeriodKind::Month, "2026-09-01", "2026-09-30");
    assert_eq!(summary(&app, month).await["nb_visits"], 3);
    track(
        &app,
        app.idsite,
        &[(
            3600,
            "_id=4444444444444444&cip=14.1.1.1&url=https%3A%2F%2Fexample.com%2Fz",
        )],
    )
    .await;
    let late = archive::run_once(&app.store, now, archive::Settings::default())
        .await
        .unwrap();
    assert_eq!(late.invalidations, 1);
    assert!(
        late.archived >= 4,
        "day, week, month and year rebuilt: {late:?}"
    );
    assert_eq!(summary(&app, month).await["nb_visits"], 4);
}

async fn missing_days_are_healed_and_new_york_days_are_local(backend: Backend) {
    let app = no_scheduler(backend).await;
    let ny = app
        .store
        .add_site(&origin::store::NewSite {
            name: "NY".to_owned(),
            urls: vec!["https://ny.example.com".to_owned()],
            timezone: Some("America/New_York".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    // 2026-09-02 02:00 UTC is 2026-09-01 22:00 in New York.
    track(
        &app,
        ny,
        &[(
            16 * 3600,
            "_id=5555555555555555&cip=15.1.1.1&url=https%3A%2F%2Fny.example.com%2F",
        )],
    )
    .await;
    archive::run_once(
        &app.store,
        origin::store::now_unix(),
        archive::Settings::default(),
    )
    .await
    .unwrap();
    let site = app.store.site(ny).await.unwrap().unwrap();
    let archiver = archive::SiteArchiver::new(
        &app.store,
        &site,
        origin::store::now_unix(),
        archive::Settings::default(),
    );
    let day = archiver
        .get(
            period(PeriodKind::Day, "2026-09-01", "2026-09-01"),
            archive::Mode::ReadOnly,
        )
        .await
        .unwrap();
    assert_eq!(day.numeric.get("nb_visits"), Some(&1.0), "healed and local");
    let next = archiver
        .get(
            period(PeriodKind::Day, "2026-09-02", "2026-09-02"),
            archive::Mode::ReadOnly,
        )
        .await
        .unwrap();
    assert_eq!(next.numeric.get("nb_visits").copied().unwrap_or(0.0), 0.0);
}

/// One visit: two pages, a manual goal (2), an outlink, then a page converting the URL goal (1).
async fn page_reports_attribute_time_and_goals_as_matomo(backend: Backend) {
    let app = no_scheduler(backend).await;
    let goal = |name: &str, attribute: &str, revenue: f64| origin::store::NewGoal {
        idsite: app.idsite,
        name: name.to_owned(),
        match_attribute: attribute.to_owned(),
        pattern: "/thanks".to_owned(),
        pattern_type: "contains".to_owned(),
        revenue,
        allow_multiple: true,
        ..Default::default()
    };
    assert_eq!(
        app.store
            .add_goal(&goal("Thanks", "url", 10.0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store
            .add_goal(&goal("Manual", "manually", 5.0))
            .await
            .unwrap(),
        2
    );
    let v = "_id=4444444444444444&cip=14.1.1.1";
    track(
        &app,
        app.idsite,
        &[
            (0, &format!("{v}&url=https%3A%2F%2Fexample.com%2Fp%2Fone&action_name=One")),
            (60, &format!("{v}&url=https%3A%2F%2Fexample.com%2Fp%2Ftwo&action_name=Two")),
            (100, &format!("{v}&idgoal=2&url=https%3A%2F%2Fexample.com%2Fp%2Ftwo")),
            (
                130,
                &format!("{v}&link=https%3A%2F%2Fwww.partner.example%2Fx&url=https%3A%2F%2Fexample.com%2Fp%2Ftwo"),
            ),
            (200, &format!("{v}&url=https%3A%2F%2Fexample.com%2Fthanks&action_name=Thanks")),
        ],
    )
    .await;
    let site = app.store.site(app.idsite).await.unwrap().unwrap();
    let day = period(PeriodKind::Day, "2026-09-01", "2026-09-01");
    let table = |method: &'static str, flat: bool| {
        let site = &site;
        let store = &app.store;
        async move {
            let request = ReportRequest {
                method,
                site,
                period: day,
                flat,
                expanded: !flat,
                id_subtable: None,
                id_goal: None,
            };
            match produce(store, &request, archive::Settings::default())
                .await
                .unwrap()
            {
                ReportOutput::Table(table) => table,
                other => panic!("not a table: {other:?}"),
            }
        }
    };
    let flat = table("Actions.getPageUrls", true).await;
    let page = |label: &str| {
        flat.rows
            .iter()
            .find(|r| r.label() == Some(label))
            .unwrap_or_else(|| panic!("no row {label}"))
            .columns
            .clone()
    };
    // Time runs from the previous request (the conversion at 100 s), to the last page viewed.
    assert_eq!(page("/p/one")["sum_time_spent"], 60);
    assert_eq!(page("/p/two")["sum_time_spent"], 100);
    let one = page("/p/one");
    let manual = &one["goals"]["idgoal=2"];
    assert_eq!(manual["nb_conversions"], 1);
    assert_eq!(manual["nb_conv_pages_before"], 2);
    assert_eq!(manual["nb_conversions_attrib"], 0.5);
    assert_eq!(manual["revenue_attrib"], 2.5);
    assert_eq!(manual["revenue_entry"], 5);
    assert_eq!(manual["nb_conversions_entry_rate"], 1);
    let url_goal = &one["goals"]["idgoal=1"];
    assert_eq!(url_goal["nb_conversions_attrib"], 0.3333);
    assert_eq!(url_goal["revenue_attrib"], 3.33);
    assert!(page("/thanks").get("goals").is_some());

    let expanded = table("Actions.getPageUrls", false).await;
    let folder = expanded
        .rows
        .iter()
        .find(|r| r.label() == Some("p"))
        .expect("folder p");
    // A folder sums its pages: the one visit counts twice.
    assert_eq!(folder.columns["nb_visits"], 2);
    assert_eq!(
        folder.columns["segment"],
        "pageUrl=^https%253A%252F%252Fexample.com%252Fp"
    );
    // Top-level rows get the page conversion rate (2 pages / 1 conversion, capped at 1),
    // subtable rows keep 0.
    assert_eq!(
        folder.columns["goals"]["idgoal=2"]["nb_conversions_page_rate"],
        1
    );
    let sub = folder.subtable.as_ref().expect("subtable");
    assert_eq!(
        sub.rows[0].columns["goals"]["idgoal=2"]["nb_conversions_page_rate"],
        0
    );
    assert!(sub.rows[0].columns.get("avg_page_load_time").is_none());

    let outlinks = table("Actions.getOutlinks", true).await;
    assert_eq!(outlinks.rows[0].label(), Some("/x"));
    assert_eq!(outlinks.rows[0].columns["sum_time_spent"], 0);
    assert_eq!(
        outlinks.rows[0].columns["url"],
        "https://www.partner.example/x"
    );
}

/// `VisitsSummary.get` through the HTTP API, as JSON.
async fn api_summary(app: &TestApp, period: &str, date: &str) -> Value {
    let url = app.url(&format!(
        "/index.php?module=API&method=VisitsSummary.get&idSite={}&period={period}&date={date}\
         &format=json&token_auth={}",
        app.idsite, app.token
    ));
    let response = within(app.client.get(url).send()).await.unwrap();
    response.json().await.unwrap()
}

async fn api_answers_follow_rebuilt_archives(backend: Backend) {
    let app = no_scheduler(backend).await;
    scenario(&app).await;
    let now = origin::store::now_unix();
    archive::run_once(&app.store, now, archive::Settings::default())
        .await
        .unwrap();
    // Asked twice: the second answer may come from the answer cache and must be the same.
    for _ in 0..2 {
        assert_eq!(
            api_summary(&app, "month", "2026-09-01").await["nb_visits"],
            3
        );
        let days = api_summary(&app, "day", "2026-08-31,2026-09-02").await;
        assert_eq!(days["2026-08-31"], json!([]), "{days}");
        assert_eq!(days["2026-09-01"]["nb_visits"], 3, "{days}");
    }
    track(
        &app,
        app.idsite,
        &[(
            3600,
            "_id=4444444444444444&cip=14.1.1.1&url=https%3A%2F%2Fexample.com%2Fz",
        )],
    )
    .await;
    archive::run_once(&app.store, now, archive::Settings::default())
        .await
        .unwrap();
    // The archives were rebuilt (in the same second, even): the cached answers are not served.
    assert_eq!(
        api_summary(&app, "month", "2026-09-01").await["nb_visits"],
        4
    );
    let days = api_summary(&app, "day", "2026-08-31,2026-09-02").await;
    assert_eq!(days["2026-09-01"]["nb_visits"], 4, "{days}");
    // Archives invalidated by another process (here: only their status changes in the
    // database, as `invalidate-report-data` does) are no longer served as they were: with
    // browser archiving on, they are rebuilt on demand, with the visit tracked meanwhile.
    track(
        &app,
        app.idsite,
        &[(
            7200,
            "_id=5555555555555555&cip=15.1.1.1&url=https%3A%2F%2Fexample.com%2Fy",
        )],
    )
    .await;
    assert_eq!(
        api_summary(&app, "month", "2026-09-01").await["nb_visits"],
        4
    );
    let month = period(PeriodKind::Month, "2026-09-01", "2026-09-30");
    archive::invalidate_period(&app.store, app.idsite, &month, true)
        .await
        .unwrap();
    assert_eq!(
        api_summary(&app, "month", "2026-09-01").await["nb_visits"],
        5
    );
}

both_backends!(
    api_answers_follow_rebuilt_archives,
    page_reports_attribute_time_and_goals_as_matomo,
    visits_summary_is_archived_for_every_period,
    referrer_and_action_reports_follow_matomo,
    late_data_invalidates_the_day_and_the_periods_above,
    missing_days_are_healed_and_new_york_days_are_local
);
