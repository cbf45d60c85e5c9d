//! Matomo's visit rules (spec/MATOMO.md section 2), observed in the stored log tables.

use crate::{both_backends, helpers::*};

/// 2026-09-01 10:00:00 UTC: a fixed past time, so `cdt` (with the token) sets every request time.
const T0: i64 = 1_788_256_800;

impl TestApp {
    /// Sends `(seconds after T0, extra parameters)` as one bulk request with the super user token.
    async fn track_at(&self, requests: &[(i64, &str)]) {
        let requests: Vec<String> = requests
            .iter()
            .map(|(offset, extra)| {
                format!("?idsite={}&rec=1&cdt={}&{extra}", self.idsite, T0 + offset)
            })
            .collect();
        let body = serde_json::json!({"requests": requests, "token_auth": self.token});
        let answer: serde_json::Value = within(self.track_post(body.to_string()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["invalid"], 0, "{answer}");
    }
}

const VISITOR: &str =
    "_id=0123456789abcdef&ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)%20Firefox%2F125.0";

async fn pageviews_within_30_minutes_make_one_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (
            0,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa&action_name=A"),
        ),
        (
            600,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb&action_name=B"),
        ),
        (
            1200,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fc&action_name=C"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.scalar("SELECT visit_total_actions FROM log_visit")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT visit_total_time FROM log_visit").await,
        1201
    );
    assert_eq!(
        app.scalar("SELECT visit_last_action_time FROM log_visit")
            .await,
        T0 + 1200
    );
    // Entry is the first page, exit the last; time spent is recorded on the previous action.
    assert_eq!(app.text("SELECT a.name FROM log_visit v JOIN log_action a ON a.idaction = v.visit_entry_idaction_url").await, "example.com/a");
    assert_eq!(app.text("SELECT a.name FROM log_visit v JOIN log_action a ON a.idaction = v.visit_exit_idaction_url").await, "example.com/c");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action WHERE time_spent_ref_action = 600")
            .await,
        2
    );
    assert_eq!(
        app.scalar("SELECT MAX(pageview_position) FROM log_link_visit_action")
            .await,
        3
    );
    app.stop().await;
}

async fn thirty_minutes_of_inactivity_start_a_returning_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            1801 + 60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    assert_eq!(
        app.scalar("SELECT MAX(visitor_count_visits) FROM log_visit")
            .await,
        2
    );
    assert_eq!(
        app.scalar("SELECT MAX(visitor_returning) FROM log_visit")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT MAX(visitor_seconds_since_last) FROM log_visit")
            .await,
        1861
    );
    app.stop().await;
}

async fn midnight_in_the_site_time_zone_starts_a_new_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    // T0 is 10:00 UTC; 13:50 and 14:10 later straddle midnight UTC, 20 minutes apart.
    app.track_at(&[
        (
            13 * 3600 + 50 * 60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa"),
        ),
        (
            14 * 3600 + 10 * 60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    app.stop().await;
}

async fn new_visit_1_forces_a_new_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb&new_visit=1"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    app.stop().await;
}

async fn a_new_campaign_starts_a_new_visit_but_updates_a_direct_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb%3Fpk_campaign%3Dautumn"),
        ),
        (
            120,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fc%3Fpk_campaign%3Dwinter"),
        ),
    ])
    .await;
    // The direct visit took the first campaign; the second campaign started a new visit.
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_visit WHERE referer_type = 6")
            .await,
        2
    );
    app.stop().await;
}

async fn a_ping_only_extends_the_visit_length(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            300,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa&ping=1"),
        ),
    ])
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT visit_total_time FROM log_visit").await,
        301
    );
    assert_eq!(
        app.scalar("SELECT visit_last_action_time FROM log_visit")
            .await,
        T0
    );
    // A ping long after the visit ended creates nothing.
    app.track_at(&[(
        7200,
        &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa&ping=1"),
    )])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    app.stop().await;
}

async fn a_late_request_never_moves_the_last_action_time_backwards(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (600, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb")),
        (300, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.scalar("SELECT visit_last_action_time FROM log_visit")
            .await,
        T0 + 600
    );
    app.stop().await;
}

async fn a_user_id_login_keeps_the_visit_and_becomes_the_visitor_id(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb&uid=user%40example.com"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.text("SELECT user_id FROM log_visit").await,
        "user@example.com"
    );
    let id = match backend {
        Backend::Sqlite => "SELECT lower(hex(idvisitor)) FROM log_visit",
        Backend::Postgres => "SELECT encode(idvisitor, 'hex') FROM log_visit",
    };
    // The first 16 hex digits of sha1("user@example.com").
    assert_eq!(app.text(id).await, "63a710569261a24b");
    app.stop().await;
}

async fn action_types_are_recorded_as_matomo_does(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&action_name=Home")),
        (10, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&link=https%3A%2F%2Fother.org%2Fx")),
        (20, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&download=https%3A%2F%2Fexample.com%2Ff.pdf")),
        (30, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&search=shoes&search_cat=c&search_count=3")),
        (40, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&e_c=Video&e_a=Play&e_n=Intro&e_v=1.5")),
        (50, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&c_n=Banner&c_p=img")),
        (60, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fsearch%3Fq%3Dboots")),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    // Content impressions are stored but are not actions of the visit.
    assert_eq!(
        app.scalar("SELECT visit_total_actions FROM log_visit")
            .await,
        6
    );
    assert_eq!(
        app.scalar("SELECT visit_total_searches FROM log_visit")
            .await,
        2
    );
    assert_eq!(
        app.scalar("SELECT visit_total_events FROM log_visit").await,
        1
    );
    for (kind, name) in [
        (1, "example.com/"),
        (2, "https://other.org/x"),
        (3, "https://example.com/f.pdf"),
        (8, "shoes"),
        (8, "boots"),
        (10, "Video"),
        (11, "Play"),
        (12, "Intro"),
        (13, "Banner"),
        (14, "img"),
    ] {
        let sql =
            format!("SELECT COUNT(*) FROM log_action WHERE type = {kind} AND name = '{name}'");
        assert_eq!(app.count(&sql).await, 1, "{sql}");
    }
    // The previous action of each is the visit's exit page, which only pageviews and site
    // searches move: the download follows the outlink but points back at the home page, and the
    // event after the search points at its keyword.
    let previous_url = |kind: i64| {
        format!(
            "SELECT u.name FROM log_link_visit_action a JOIN log_action t ON t.idaction = a.idaction_url \
             JOIN log_action u ON u.idaction = a.idaction_url_ref WHERE t.type = {kind}"
        )
    };
    assert_eq!(app.text(&previous_url(3)).await, "example.com/");
    assert_eq!(
        app.text(
            "SELECT n.name FROM log_link_visit_action a JOIN log_action n ON n.idaction = a.idaction_name_ref \
             WHERE a.custom_float = 1.5 AND a.idaction_url_ref IS NULL"
        )
        .await,
        "shoes"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action WHERE custom_float = 1.5")
            .await,
        1
    );
    app.stop().await;
}

async fn url_goals_convert_once_and_manual_goals_carry_revenue(backend: Backend) {
    let app = spawn_app(backend).await;
    let goal = |name: &str, attribute: &str, allow_multiple: bool| origin::store::NewGoal {
        idsite: app.idsite,
        name: name.to_owned(),
        match_attribute: attribute.to_owned(),
        pattern: "/thanks".to_owned(),
        pattern_type: "contains".to_owned(),
        revenue: 10.0,
        allow_multiple,
        ..Default::default()
    };
    assert_eq!(
        app.store
            .add_goal(&goal("Thanks", "url", false))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store
            .add_goal(&goal("Manual", "manually", true))
            .await
            .unwrap(),
        2
    );
    app.track_at(&[
        (
            0,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fthanks"),
        ),
        (
            10,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fthanks%3Fagain"),
        ),
        (
            20,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&idgoal=2&revenue=4.5"),
        ),
        (
            30,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&idgoal=2"),
        ),
    ])
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_conversion WHERE idgoal = 1")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_conversion WHERE idgoal = 2")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_conversion WHERE idgoal = 2 AND revenue = 4.5")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT visit_goal_converted FROM log_visit")
            .await,
        1
    );
    // Each converting request of a recognised visitor adds its idgoal parameter (-1 when absent)
    // + 2 seconds to the visit length, as Matomo does: the last request at +30 s gives 31 + 4.
    assert_eq!(
        app.scalar("SELECT visit_total_time FROM log_visit").await,
        35
    );
    // Manual goal requests record no action.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action")
            .await,
        2
    );
    let unknown = app
        .track_get(&format!(
            "idsite={}&rec=1&url=https%3A%2F%2Fexample.com%2F&idgoal=9",
            app.idsite
        ))
        .await;
    assert_eq!(unknown.status(), 400);
    app.stop().await;
}

async fn a_request_for_a_past_day_invalidates_its_archive(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[(0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F"))])
        .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM archive_invalidation WHERE date = '2026-09-01'")
            .await,
        1
    );
    app.stop().await;
}

async fn visitors_without_an_id_are_recognised_by_their_fingerprint(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous =
        "ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)%20Firefox%2F125.0&cip=198.51.100.7&lang=fr";
    app.track_at(&[
        (0, &format!("{anonymous}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!("{anonymous}&url=https%3A%2F%2Fexample.com%2Fb"),
        ),
        (
            120,
            "ua=Other&cip=198.51.100.8&url=https%3A%2F%2Fexample.com%2Fc",
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_visit WHERE profilable = 0")
            .await,
        2
    );
    app.stop().await;
}

async fn custom_dimensions_fill_the_column_of_their_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let plan = app
        .store
        .add_custom_dimension(app.idsite, "Plan", "visit")
        .await
        .unwrap();
    let section = app
        .store
        .add_custom_dimension(app.idsite, "Section", "action")
        .await
        .unwrap();
    assert_eq!((plan, section), (1, 2));
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa&dimension1=pro&dimension2=docs&dimension9=unknown")),
        (60, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb&dimension2=blog")),
    ])
    .await;
    assert_eq!(
        app.text("SELECT custom_dimension_1 FROM log_visit").await,
        "pro"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action WHERE custom_dimension_1 = 'docs'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action WHERE custom_dimension_1 = 'blog'")
            .await,
        1
    );
    app.stop().await;
}

async fn referrers_are_classified_as_matomo_does(backend: Backend) {
    let app = spawn_app(backend).await;
    // Distinct ids and IPs: with the same device, Matomo would merge them by fingerprint.
    let visitor = |n: u8| {
        format!("_id=00000000000000{n:02x}&cip=198.51.100.{n}&url=https%3A%2F%2Fexample.com%2F")
    };
    app.track_at(&[
        (
            0,
            &format!(
                "{}&urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Drust%2Banalytics",
                visitor(1)
            ),
        ),
        (
            0,
            &format!("{}&urlref=https%3A%2F%2Ftwitter.com%2Fsomeone", visitor(2)),
        ),
        (
            0,
            &format!(
                "{}&urlref=https%3A%2F%2Fnews.example.org%2Fpost",
                visitor(3)
            ),
        ),
        (
            0,
            &format!("{}&urlref=https%3A%2F%2Fexample.com%2Fother", visitor(4)),
        ),
        (
            0,
            &format!("{}%3Futm_campaign%3DSpring%26utm_term%3DShoes", visitor(5)),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit WHERE referer_type = 2 AND referer_name = 'Google' AND referer_keyword = 'rust analytics'").await, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM log_visit WHERE referer_type = 7 AND referer_name = 'Twitter'"
        )
        .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit WHERE referer_type = 3 AND referer_name = 'news.example.org'").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_visit WHERE referer_type = 1")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit WHERE referer_type = 6 AND referer_name = 'spring' AND referer_keyword = 'shoes'").await, 1);
    // Campaign parameters are stripped from the stored page URL.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_action WHERE type = 1 AND name LIKE '%utm_%'")
            .await,
        0
    );
    app.stop().await;
}

async fn site_exclusions_drop_requests_and_strip_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    let idsite = app
        .store
        .add_site(&origin::store::NewSite {
            name: "Strict".to_owned(),
            urls: vec!["https://strict.example".to_owned()],
            excluded_ips: "10.1.*.*,192.0.2.0/24".to_owned(),
            excluded_user_agents: "InternalMonitor".to_owned(),
            excluded_parameters: "session".to_owned(),
            exclude_unknown_urls: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let body = serde_json::json!({"requests": [
        format!("?idsite={idsite}&rec=1&url=https%3A%2F%2Fstrict.example%2Fa&cip=10.1.2.3"),
        format!("?idsite={idsite}&rec=1&url=https%3A%2F%2Fstrict.example%2Fa&cip=192.0.2.99"),
        format!("?idsite={idsite}&rec=1&url=https%3A%2F%2Fstrict.example%2Fa&cip=203.0.113.1&ua=InternalMonitor%2F1.0"),
        format!("?idsite={idsite}&rec=1&url=https%3A%2F%2Fevil.example%2Fa&cip=203.0.113.2"),
        format!("?idsite={idsite}&rec=1&url=https%3A%2F%2Fstrict.example%2Fkept%3Fsession%3Dabc%26page%3D2&cip=203.0.113.3"),
    ], "token_auth": app.token});
    let answer: serde_json::Value = app.track_post(body.to_string()).await.json().await.unwrap();
    assert_eq!(
        answer["tracked"], 5,
        "excluded requests are answered as tracked"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM log_visit WHERE idsite = {idsite}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.text("SELECT name FROM log_action WHERE type = 1").await,
        "strict.example/kept?page=2"
    );
    app.stop().await;
}

async fn a_direct_entry_takes_the_first_referrer_a_later_request_brings(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!(
                "{VISITOR}&url=https%3A%2F%2Fexample.com%2Fb\
                 &urlref=https%3A%2F%2Fwww.bing.com%2Fsearch%3Fq%3Dred%2Bsneakers"
            ),
        ),
        (
            120,
            &format!(
                "{VISITOR}&url=https%3A%2F%2Fexample.com%2Fc\
                 &urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dboots"
            ),
        ),
    ])
    .await;
    // One visit: the search engine replaced the direct entry, the next referrer changed nothing.
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(app.scalar("SELECT referer_type FROM log_visit").await, 2);
    assert_eq!(app.text("SELECT referer_name FROM log_visit").await, "Bing");
    assert_eq!(
        app.text("SELECT referer_keyword FROM log_visit").await,
        "red sneakers"
    );
    assert_eq!(
        app.text("SELECT referer_url FROM log_visit").await,
        "https://www.bing.com/search?q=red+sneakers"
    );
    app.stop().await;
}

async fn a_campaign_request_without_keyword_keeps_the_campaign_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    let landing = "url=https%3A%2F%2Fexample.com%2Fa%3Futm_campaign%3DDigest";
    app.track_at(&[
        (
            0,
            &format!("{VISITOR}&{landing}&urlref=https%3A%2F%2Fwww.linkedin.com%2Ffeed%2F"),
        ),
        // An event on the same campaign URL, without referrer: Matomo takes the visit's keyword
        // (the LinkedIn host) instead of an empty one, so the campaign has not changed.
        (60, &format!("{VISITOR}&{landing}&e_c=Share&e_a=Click")),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.scalar("SELECT visit_total_actions FROM log_visit")
            .await,
        2
    );
    assert_eq!(
        app.text("SELECT referer_keyword FROM log_visit").await,
        "www.linkedin.com"
    );
    app.stop().await;
}

async fn a_ping_updates_the_visit_like_any_request_of_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_at(&[
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa")),
        (
            60,
            &format!(
                "{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa%3Fpk_campaign%3DSpring\
                 &uid=user%40example.com&ping=1"
            ),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.text("SELECT user_id FROM log_visit").await,
        "user@example.com"
    );
    let id = match backend {
        Backend::Sqlite => "SELECT lower(hex(idvisitor)) FROM log_visit",
        Backend::Postgres => "SELECT encode(idvisitor, 'hex') FROM log_visit",
    };
    assert_eq!(app.text(id).await, "63a710569261a24b");
    assert_eq!(app.scalar("SELECT referer_type FROM log_visit").await, 6);
    assert_eq!(
        app.text("SELECT referer_name FROM log_visit").await,
        "spring"
    );
    assert_eq!(
        app.scalar("SELECT visit_total_actions FROM log_visit")
            .await,
        1
    );
    app.stop().await;
}

async fn a_ping_after_midnight_is_dropped(backend: Backend) {
    let app = spawn_app(backend).await;
    // T0 is 10:00 UTC: 13:59:30 later is 23:59:30, the ping comes a minute later, the next day.
    let before_midnight = 14 * 3600 - 30;
    app.track_at(&[
        (
            before_midnight,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa"),
        ),
        (
            before_midnight + 60,
            &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fa&ping=1"),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.scalar("SELECT visit_total_time FROM log_visit").await,
        0
    );
    app.stop().await;
}

async fn a_new_visit_keeps_the_visitor_id_of_the_visit_its_fingerprint_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let ua = "ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)%20Firefox%2F125.0";
    app.track_at(&[
        (
            0,
            &format!(
                "_id=0123456789abcdef&{ua}&url=https%3A%2F%2Fexample.com%2F%3Fpk_campaign%3Da"
            ),
        ),
        // Another visitor id, same device: found by fingerprint, a new campaign starts a visit.
        (
            60,
            &format!(
                "_id=fedcba9876543210&{ua}&url=https%3A%2F%2Fexample.com%2F%3Fpk_campaign%3Db"
            ),
        ),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT idvisitor) FROM log_visit")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT MAX(visitor_count_visits) FROM log_visit")
            .await,
        2
    );
    app.stop().await;
}

async fn the_entry_title_is_set_when_the_visit_starts_and_the_entry_url_by_the_first_pageview(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let other = "_id=fedcba9876543210&cip=198.51.100.9&ua=Other";
    app.track_at(&[
        // Starts with a download: the next pageview gives the entry URL, never the entry title.
        (0, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F&download=https%3A%2F%2Fexample.com%2Ff.pdf")),
        (10, &format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2Fhome&action_name=Home")),
        // Starts with a site search: no entry URL ever, the keyword as entry title.
        (0, &format!("{other}&url=https%3A%2F%2Fexample.com%2F&search=shoes")),
        (10, &format!("{other}&url=https%3A%2F%2Fexample.com%2Fhome&action_name=Home")),
    ])
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 2);
    assert_eq!(
        app.text(
            "SELECT a.name FROM log_visit v JOIN log_action a ON a.idaction = v.visit_entry_idaction_url \
             WHERE v.visit_entry_idaction_name IS NULL"
        )
        .await,
        "example.com/home"
    );
    assert_eq!(
        app.text(
            "SELECT a.name FROM log_visit v JOIN log_action a ON a.idaction = v.visit_entry_idaction_name \
             WHERE v.visit_entry_idaction_url = 0"
        )
        .await,
        "shoes"
    );
    app.stop().await;
}

/// Several origin processes share one database (PostgreSQL scale-out), each with a writer that
/// remembers open visits: each must see the other's changes to a visit instead of writing back
/// what it remembers (which would lose the other's action and time).
async fn two_origins_on_one_database_continue_the_same_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = app.second_origin().await;
    let page = |p: &str| format!("{VISITOR}&url=https%3A%2F%2Fexample.com%2F{p}&action_name={p}");
    app.track_at(&[(0, &page("a"))]).await;
    other.track_at(&[(60, &page("b"))]).await;
    app.track_at(&[(120, &page("c"))]).await;
    other.track_at(&[(180, &page("d"))]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM log_visit").await, 1);
    assert_eq!(
        app.scalar("SELECT visit_total_actions FROM log_visit")
            .await,
        4
    );
    assert_eq!(
        app.scalar("SELECT visit_total_time FROM log_visit").await,
        181
    );
    assert_eq!(
        app.text("SELECT a.name FROM log_visit v JOIN log_action a ON a.idaction = v.visit_exit_idaction_url").await,
        "example.com/d"
    );
    // Every action but the last got its time spent, whichever origin recorded the next one.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM log_link_visit_action WHERE time_spent = 60")
            .await,
        3
    );
    other.stop().await;
    app.stop().await;
}

both_backends!(
    two_origins_on_one_database_continue_the_same_visit,
    the_entry_title_is_set_when_the_visit_starts_and_the_entry_url_by_the_first_pageview,
    custom_dimensions_fill_the_column_of_their_scope,
    referrers_are_classified_as_matomo_does,
    site_exclusions_drop_requests_and_strip_parameters,
    pageviews_within_30_minutes_make_one_visit,
    thirty_minutes_of_inactivity_start_a_returning_visit,
    midnight_in_the_site_time_zone_starts_a_new_visit,
    new_visit_1_forces_a_new_visit,
    a_new_campaign_starts_a_new_visit_but_updates_a_direct_entry,
    a_ping_only_extends_the_visit_length,
    a_direct_entry_takes_the_first_referrer_a_later_request_brings,
    a_campaign_request_without_keyword_keeps_the_campaign_visit,
    a_ping_updates_the_visit_like_any_request_of_it,
    a_ping_after_midnight_is_dropped,
    a_new_visit_keeps_the_visitor_id_of_the_visit_its_fingerprint_found,
    a_late_request_never_moves_the_last_action_time_backwards,
    a_user_id_login_keeps_the_visit_and_becomes_the_visitor_id,
    action_types_are_recorded_as_matomo_does,
    url_goals_convert_once_and_manual_goals_carry_revenue,
    a_request_for_a_past_day_invalidates_its_archive,
    visitors_without_an_id_are_recognised_by_their_fingerprint,
);
