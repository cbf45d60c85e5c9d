//! The Reporting API at `/index.php` (spec/MATOMO.md 4): formats, error shapes, authentication,
//! dates and periods, multi-site and multi-period keys, generic filters, sites, goals and bulk
//! requests, end to end on both backends.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{both_backends, helpers::*};

/// 2026-10-05 10:00:00 UTC, a Monday: the tracked traffic's time (set through `cdt`).
const MONDAY: i64 = 1_791_194_400;

const VISITOR: &str = "ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)%20Firefox%2F125.0";

impl TestApp {
    /// GET /index.php?module=API&QUERY: status and body bytes.
    async fn api_get(&self, query: &str) -> (StatusCode, Vec<u8>) {
        let response = within(
            self.client
                .get(self.url(&format!("/index.php?module=API&{query}")))
                .send(),
        )
        .await
        .expect("request");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }

    /// POST /index.php with a form body (the conformance harness's way).
    async fn api_post(&self, form: &[(&str, &str)]) -> (StatusCode, Vec<u8>) {
        let response = within(self.client.post(self.url("/index.php")).form(form).send())
            .await
            .expect("request");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }

    /// A JSON call with the super user token.
    async fn api_json(&self, query: &str) -> Value {
        let (status, body) = self
            .api_get(&format!("{query}&format=json&token_auth={}", self.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("JSON answer")
    }

    /// Four visits: direct, a search, and two from one website (blog.example.org).
    async fn track_referrer_mix(&self) {
        self.track_visits(&[
            (0, "00000000000000a1", ""),
            (
                60,
                "00000000000000b2",
                "urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dshoes",
            ),
            (
                120,
                "00000000000000c3",
                "urlref=https%3A%2F%2Fblog.example.org%2Fpost",
            ),
            (
                180,
                "00000000000000d4",
                "urlref=https%3A%2F%2Fblog.example.org%2Fother",
            ),
        ])
        .await;
    }

    /// Tracks `(seconds after MONDAY, visitor id, extra)` pageviews in one bulk request.
    async fn track_visits(&self, requests: &[(i64, &str, &str)]) {
        let requests: Vec<String> = requests
            .iter()
            .map(|(offset, visitor, extra)| {
                // One IP per visitor: the same IP and user agent would be one fingerprint.
                let ip = u8::from_str_radix(&visitor[14..], 16).unwrap_or(1);
                format!(
                    "?idsite={}&rec=1&cdt={}&_id={visitor}&cip=10.0.{ip}.1&{VISITOR}&url=https%3A%2F%2Fexample.com%2F{offset}&action_name=P&{extra}",
                    self.idsite,
                    MONDAY + offset
                )
            })
            .collect();
        let body = json!({"requests": requests, "token_auth": self.token});
        let answer: Value = within(self.track_post(body.to_string()))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(answer["invalid"], 0, "{answer}");
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

async fn xml_is_the_default_format_and_json_wraps_scalars(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .api_get(&format!(
            "method=API.getMatomoVersion&token_auth={}",
            app.token
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text(&body),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>5.3.1</result>"
    );
    assert_eq!(
        app.api_json("method=API.getPiwikVersion").await,
        json!({"value": "5.3.1"})
    );
    let (_, csv) = app
        .api_get(&format!(
            "method=API.getMatomoVersion&format=csv&token_auth={}",
            app.token
        ))
        .await;
    let expected: Vec<u8> = std::iter::once([0xFF, 0xFE])
        .flatten()
        .chain("value\n5.3.1".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(csv, expected, "CSV is UTF-16LE with a BOM by default");
    let (_, tsv) = app
        .api_get(&format!(
            "method=API.getMatomoVersion&format=tsv&convertToUnicode=0&token_auth={}",
            app.token
        ))
        .await;
    assert_eq!(text(&tsv), "value\n5.3.1");
    app.stop().await;
}

async fn errors_keep_each_formats_shape_with_status_200(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.token.clone();
    let (status, body) = app
        .api_get(&format!(
            "method=VisitsSummary&format=json&token_auth={token}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"result": "error", "message": "The method name is invalid. Expected 'module.methodName'"})
    );
    let (_, body) = app
        .api_get(&format!("method=Nope.nothing&token_auth={token}"))
        .await;
    let xml = text(&body);
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"The method 'nothing' does not exist"),
        "{xml}"
    );
    assert!(xml.ends_with("\" />\n</result>"), "{xml}");
    let (_, body) = app
        .api_get(&format!(
            "method=VisitsSummary.get&idSite={}&period=day&date=2026-13-45&format=csv&token_auth={token}",
            app.idsite
        ))
        .await;
    assert!(
        text(&body).starts_with("Error: Date format must be"),
        "{}",
        text(&body)
    );
    let (_, body) = app
        .api_get(&format!(
            "method=VisitsSummary.get&idSite={}&period=hour&date=today&format=json&token_auth={token}",
            app.idsite
        ))
        .await;
    assert!(
        text(&body).contains("The period 'hour' is not supported"),
        "{}",
        text(&body)
    );
    app.stop().await;
}

async fn access_needs_a_token_or_anonymous_view_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.api_get("method=API.getMatomoVersion&format=json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["result"],
        "error"
    );
    let (status, _) = app
        .api_get(
            "method=API.getMatomoVersion&format=json&token_auth=0123456789abcdef0123456789abcdef",
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an unknown token is refused"
    );

    // A second site and a user who may view only the first one.
    let other = app
        .store
        .add_site(&origin::store::NewSite {
            name: "Other".to_owned(),
            urls: vec!["https://other.example".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    app.store.add_user("viewer", "x", false).await.unwrap();
    app.store
        .set_access("viewer", &[app.idsite], origin::store::Access::View)
        .await
        .unwrap();
    let viewer_token = origin::auth::new_token();
    app.store
        .add_token("viewer", &origin::auth::token_digest(&viewer_token), "t")
        .await
        .unwrap();
    let (status, body) = app
        .api_get(&format!(
            "method=SitesManager.getSitesIdWithAtLeastViewAccess&format=json&token_auth={viewer_token}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!([app.idsite])
    );
    let (status, body) = app
        .api_get(&format!(
            "method=VisitsSummary.get&idSite={other}&period=day&date=2026-10-05&format=json&token_auth={viewer_token}"
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", text(&body));
    assert!(text(&body).contains("'view' access for the website id = "));
    let (status, _) = app
        .api_post(&[
            ("module", "API"),
            ("method", "SitesManager.addSite"),
            ("siteName", "Nope"),
            ("urls[]", "https://nope.example"),
            ("format", "json"),
            ("token_auth", &viewer_token),
        ])
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "addSite is for super users"
    );

    // Public statistics: view access for the anonymous user.
    app.store.grant_anonymous_view(other).await.unwrap();
    let (status, body) = app
        .api_get("method=SitesManager.getSitesIdWithAtLeastViewAccess&format=json")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!([other])
    );
    let (status, _) = app
        .api_get(&format!(
            "method=SitesManager.getSiteFromId&idSite={}&format=json",
            app.idsite
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn add_site_then_get_site_from_id_round_trips(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .api_post(&[
            ("module", "API"),
            ("method", "SitesManager.addSite"),
            ("siteName", "Shop"),
            ("urls[]", "https://shop.example.com/"),
            ("urls[]", "https://www.shop.example.com"),
            ("ecommerce", "1"),
            ("siteSearch", "0"),
            ("excludedIps", "10.0.0.1, 192.168.0.0/16"),
            ("timezone", "America/New_York"),
            ("currency", "EUR"),
            ("startDate", "2026-09-01"),
            ("format", "json"),
            ("token_auth", &app.token),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let idsite = serde_json::from_slice::<Value>(&body).unwrap()["value"]
        .as_i64()
        .expect("{\"value\": idsite}");
    let site = app
        .api_json(&format!(
            "method=SitesManager.getSiteFromId&idSite={idsite}"
        ))
        .await;
    assert_eq!(site["idsite"], idsite);
    assert_eq!(site["name"], "Shop");
    assert_eq!(site["main_url"], "https://shop.example.com");
    assert_eq!(site["ts_created"], "2026-09-01 00:00:00");
    assert_eq!(site["ecommerce"], 1);
    assert_eq!(site["sitesearch"], 0);
    assert_eq!(site["timezone"], "America/New_York");
    assert_eq!(site["currency"], "EUR");
    assert_eq!(site["excluded_ips"], "10.0.0.1,192.168.0.0/16");
    assert_eq!(site["creator_login"], "admin");
    let all = app
        .api_json("method=SitesManager.getSitesWithAtLeastViewAccess")
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let bad = app
        .api_json("method=SitesManager.addSite&siteName=X&urls[]=https%3A%2F%2Fx.example&timezone=Mars%2FOlympus")
        .await;
    assert_eq!(bad["result"], "error");
    assert!(bad["message"].as_str().unwrap().contains("timezone"));
    let tag = app
        .api_json(&format!(
            "method=SitesManager.getJavascriptTag&idSite={idsite}&piwikUrl=https%3A%2F%2Fstats.example.com"
        ))
        .await;
    let tag = tag["value"].as_str().unwrap();
    assert!(tag.starts_with("&lt;!-- Matomo --&gt;"), "{tag}");
    assert!(
        tag.contains("var u=&quot;//stats.example.com/&quot;;"),
        "{tag}"
    );
    assert!(tag.contains(&format!(
        "_paq.push([&#039;setSiteId&#039;, &#039;{idsite}&#039;]);"
    )));
    app.stop().await;
}

async fn goals_are_added_and_listed_by_idgoal(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.idsite;
    let first = app
        .api_json(&format!(
            "method=Goals.addGoal&idSite={site}&name=Thanks&matchAttribute=url&pattern=%2Fthanks&patternType=contains&revenue=10"
        ))
        .await;
    assert_eq!(first, json!({"value": 1}));
    let second = app
        .api_json(&format!(
            "method=Goals.addGoal&idSite={site}&name=Manual&matchAttribute=manually&revenue=2.5&allowMultipleConversionsPerVisit=1"
        ))
        .await;
    assert_eq!(second, json!({"value": 2}));
    let goals = app
        .api_json(&format!("method=Goals.getGoals&idSite={site}"))
        .await;
    assert_eq!(goals["1"]["name"], "Thanks");
    assert_eq!(goals["1"]["pattern"], "/thanks");
    assert_eq!(goals["1"]["revenue"], 10);
    assert_eq!(goals["2"]["match_attribute"], "manually");
    assert_eq!(goals["2"]["allow_multiple"], 1);
    assert_eq!(goals["2"]["revenue"], 2.5);
    let (_, xml) = app
        .api_get(&format!(
            "method=Goals.getGoals&idSite={site}&token_auth={}",
            app.token
        ))
        .await;
    assert!(
        text(&xml).contains("<result>\n\t<row key=\"1\">\n\t\t<idsite>"),
        "{}",
        text(&xml)
    );
    let invalid = app
        .api_json(&format!(
            "method=Goals.addGoal&idSite={site}&name=X&matchAttribute=nope&pattern=a"
        ))
        .await;
    assert_eq!(invalid["result"], "error");
    app.stop().await;
}

async fn bulk_requests_answer_every_url_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.idsite.to_string();
    let (status, body) = app
        .api_post(&[
            ("module", "API"),
            ("method", "API.getBulkRequest"),
            ("urls[0]", "method=API.getMatomoVersion"),
            (
                "urls[1]",
                &format!("method=SitesManager.getSiteFromId&idSite={site}"),
            ),
            ("urls[2]", "method=Nope"),
            ("format", "json"),
            ("token_auth", &app.token),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let answers: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answers[0], json!({"value": "5.3.1"}));
    assert_eq!(answers[1]["idsite"], app.idsite);
    assert_eq!(answers[2]["result"], "error");
    assert_eq!(answers.as_array().map(Vec::len), Some(3));
    app.stop().await;
}

async fn reports_are_keyed_by_period_and_site(backend: Backend) {
    let app = spawn_app(backend).await;
    // Two visits on Monday 2026-10-05 (one bounce), one on Tuesday.
    app.track_visits(&[
        (0, "00000000000000a1", ""),
        (60, "00000000000000a1", ""),
        (120, "00000000000000b2", ""),
        (86_400, "00000000000000c3", ""),
    ])
    .await;
    let site = app.idsite;
    let day = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=day&date=2026-10-05"
        ))
        .await;
    assert_eq!(day["nb_visits"], 2, "{day}");
    assert_eq!(day["nb_actions"], 3, "{day}");
    assert_eq!(
        day["bounce_rate"], "50%",
        "rates are formatted by default: {day}"
    );
    let raw = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=day&date=2026-10-05&format_metrics=0"
        ))
        .await;
    assert_eq!(raw["bounce_rate"], 0.5, "{raw}");
    let shown = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=day&date=2026-10-05&showColumns=nb_visits"
        ))
        .await;
    assert_eq!(shown, json!({"nb_visits": 2}));

    let days = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=day&date=2026-10-04,2026-10-06"
        ))
        .await;
    let keys: Vec<&String> = days.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["2026-10-04", "2026-10-05", "2026-10-06"]);
    assert_eq!(days["2026-10-06"]["nb_visits"], 1);
    let week = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=week&date=2026-10-01,2026-10-07"
        ))
        .await;
    let keys: Vec<&String> = week.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["2026-09-28,2026-10-04", "2026-10-05,2026-10-11"]);
    assert_eq!(week["2026-10-05,2026-10-11"]["nb_visits"], 3);
    let months = app
        .api_json(&format!(
            "method=VisitsSummary.getVisits&idSite={site}&period=month&date=2026-09-01,2026-10-31"
        ))
        .await;
    assert_eq!(months, json!({"2026-09": 0, "2026-10": 3}));
    let range = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=range&date=2026-10-05,2026-10-06"
        ))
        .await;
    assert_eq!(range["nb_visits"], 3, "one aggregated range: {range}");
    let last = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site}&period=year&date=last2"
        ))
        .await;
    assert_eq!(last.as_object().map(|m| m.len()), Some(2));
    let all = app
        .api_json("method=VisitsSummary.get&idSite=all&period=day&date=2026-10-05")
        .await;
    assert_eq!(all[site.to_string()]["nb_visits"], 2, "{all}");
    let nested = app
        .api_json(&format!(
            "method=VisitsSummary.get&idSite={site},{site}&period=day&date=2026-10-05,2026-10-06"
        ))
        .await;
    assert_eq!(
        nested[site.to_string()]["2026-10-06"]["nb_visits"],
        1,
        "{nested}"
    );

    let (_, xml) = app
        .api_get(&format!(
            "method=VisitsSummary.get&idSite={site}&period=day&date=2026-10-04,2026-10-05&token_auth={}",
            app.token
        ))
        .await;
    let xml = text(&xml);
    assert!(
        xml.contains("<results>\n\t<result date=\"2026-10-04\""),
        "{xml}"
    );
    assert!(
        xml.contains("\t<result date=\"2026-10-05\">\n\t\t<nb_uniq_visitors>"),
        "{xml}"
    );
    app.stop().await;
}

async fn generic_filters_shape_report_tables(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_referrer_mix().await;
    let base = format!(
        "method=Referrers.getReferrerType&idSite={}&period=day&date=2026-10-05",
        app.idsite
    );
    let table = app.api_json(&base).await;
    let labels = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["label"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(labels(&table).len(), 3, "{table}");
    let limited = app.api_json(&format!("{base}&filter_limit=1")).await;
    assert_eq!(labels(&limited).len(), 1);
    let offset = app
        .api_json(&format!("{base}&filter_limit=1&filter_offset=1"))
        .await;
    assert_eq!(labels(&offset)[0], labels(&table)[1]);
    let asc = app
        .api_json(&format!(
            "{base}&filter_sort_column=nb_visits&filter_sort_order=asc&filter_limit=-1"
        ))
        .await;
    let visits: Vec<i64> = asc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["nb_visits"].as_i64().unwrap())
        .collect();
    assert!(visits.windows(2).all(|w| w[0] <= w[1]), "{visits:?}");
    let pattern = app.api_json(&format!("{base}&filter_pattern=^web")).await;
    assert_eq!(labels(&pattern), ["Websites"]);
    let truncated = app.api_json(&format!("{base}&filter_truncate=1")).await;
    assert_eq!(labels(&truncated).len(), 2);
    assert_eq!(labels(&truncated)[1], "Others");
    let hidden = app
        .api_json(&format!("{base}&hideColumns=nb_visits,segment"))
        .await;
    assert!(hidden[0].get("nb_visits").is_none() && hidden[0].get("segment").is_none());
    assert!(hidden[0].get("label").is_some());
    app.stop().await;
}

async fn label_keeps_only_the_matching_rows_and_walks_into_subtables(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_referrer_mix().await;
    let base = format!(
        "method=Referrers.getReferrerType&idSite={}&period=day&date=2026-10-05",
        app.idsite
    );
    let labels = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a table: {v}"))
            .iter()
            .map(|r| r["label"].as_str().unwrap().to_owned())
            .collect()
    };
    let websites = app.api_json(&format!("{base}&label=Websites")).await;
    assert_eq!(labels(&websites), ["Websites"], "{websites}");
    assert_eq!(websites[0]["nb_visits"], 2);
    assert!(websites[0].get("idsubdatatable").is_some(), "{websites}");
    // `filter_limit` is off while a label is set; `expanded` is ignored.
    let found = app
        .api_json(&format!(
            "{base}&label=Websites&filter_limit=1&filter_offset=2&expanded=1"
        ))
        .await;
    assert_eq!(labels(&found), ["Websites"]);
    assert!(found[0].get("subtable").is_none(), "{found}");
    let nested = app
        .api_json(&format!("{base}&label=Websites%3Eblog.example.org"))
        .await;
    assert_eq!(labels(&nested), ["blog.example.org"], "{nested}");
    assert_eq!(nested[0]["nb_visits"], 2);
    let several = app
        .api_json(&format!(
            "{base}&label[]=Websites&label[]=Nope&label[]=Direct%20Entry"
        ))
        .await;
    assert_eq!(labels(&several), ["Websites", "Direct Entry"]);
    let none = app.api_json(&format!("{base}&label=Nope")).await;
    assert_eq!(none, serde_json::json!([]));
    app.stop().await;
}

async fn segments_are_parsed_and_never_answered_with_all_visits(backend: Backend) {
    let app = spawn_app(backend).await;
    app.track_visits(&[(0, "00000000000000a1", "")]).await;
    let base = format!(
        "method=VisitsSummary.get&idSite={}&period=day&date=2026-10-05",
        app.idsite
    );
    let error = |v: Value| -> String {
        assert_eq!(v["result"], "error", "{v}");
        v["message"].as_str().unwrap().to_owned()
    };
    let cases = [
        ("visitCount", "The segment condition 'visitCount' is not valid."),
        ("nope%3D%3D1", "Segment 'nope' is not a supported segment."),
        (
            "visitCount%3E%3D",
            "The segment 'visitCount>=' has no value specified. You can leave this value empty only when you use the operators: != (is not) or == (is)",
        ),
    ];
    for (segment, message) in cases {
        let answer = app.api_json(&format!("{base}&segment={segment}")).await;
        assert_eq!(error(answer), message, "{segment}");
    }
    // A valid segment is refused explicitly, on every report, never answered unsegmented.
    for method in [
        "VisitsSummary.get",
        "Actions.getPageUrls",
        "Referrers.getReferrerType",
    ] {
        let answer = app
            .api_json(&format!(
                "method={method}&idSite={}&period=day&date=2026-10-05&segment=referrerType%3D%3Dsearch,visitCount%3E%3D2",
                app.idsite
            ))
            .await;
        assert!(
            error(answer).starts_with("Segmented reports are not supported"),
            "{method}"
        );
    }
    // An empty segment is all visits.
    let all = app.api_json(&format!("{base}&segment=")).await;
    assert_eq!(all["nb_visits"], 1, "{all}");
    // The anonymous user may not segment by user id, even on a public site.
    app.store.grant_anonymous_view(app.idsite).await.unwrap();
    let (status, body) = app
        .api_get(&format!("{base}&format=json&segment=userId%3D%3Dx"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error(serde_json::from_slice(&body).unwrap()),
        "You do not have enough permission to access the segment userId"
    );

    let metadata = app
        .api_json("method=API.getSegmentsMetadata&idSites=1")
        .await;
    let rows = metadata.as_array().expect("a list");
    assert_eq!(rows[0]["segment"], "actions", "{metadata}");
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["type", "category", "name", "segment"]);
    let user = rows.iter().find(|r| r["segment"] == "userId").unwrap();
    assert_eq!(user["permission"], true);
    assert_eq!(user["category"], "Visitors");
    assert_eq!(user["type"], "dimension");
    let (_, body) = app
        .api_get("method=API.getSegmentsMetadata&idSites=1&format=json")
        .await;
    let anonymous: Value = serde_json::from_slice(&body).unwrap();
    let user = anonymous
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["segment"] == "userId")
        .unwrap();
    assert_eq!(user["permission"], false);
    app.stop().await;
}

both_backends!(
    segments_are_parsed_and_never_answered_with_all_visits,
    label_keeps_only_the_matching_rows_and_walks_into_subtables,
    xml_is_the_default_format_and_json_wraps_scalars,
    errors_keep_each_formats_shape_with_status_200,
    access_needs_a_token_or_anonymous_view_access,
    add_site_then_get_site_from_id_round_trips,
    goals_are_added_and_listed_by_idgoal,
    bulk_requests_answer_every_url_in_order,
    reports_are_keyed_by_period_and_site,
    generic_filters_shape_report_tables,
);
