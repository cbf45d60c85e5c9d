//! The web pages (`origin::web`): password login, the session cookie, CSRF refusals, logout,
//! expiry, password change, the security headers of every page, and the All websites numbers
//! against `VisitsSummary.get`.

use std::time::Duration;

use reqwest::{header, Response, StatusCode};
use serde_json::Value;

use crate::{both_backends, helpers::*};

/// 2026-10-05 10:00:00 UTC, a Monday.
const MONDAY: i64 = 1_791_194_400;

const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// A client that shows redirects instead of following them, so `Set-Cookie` can be read.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `MATOMO_SESSID=...` pair of a response's `Set-Cookie`, and the whole header.
fn session_cookie(response: &Response) -> (String, String) {
    let set = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    let pair = set.split(';').next().expect("a pair").to_owned();
    (pair, set)
}

fn assert_secure_headers(response: &Response, what: &str) {
    let headers = response.headers();
    assert_eq!(headers["content-security-policy"], POLICY, "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
}

impl TestApp {
    async fn post_form(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Response {
        let mut request = browser().post(self.url(path)).form(form);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        within(request.send()).await.expect("request")
    }

    async fn get_page(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = browser().get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        within(request.send()).await.expect("request")
    }

    /// Logs in as `admin`; the session cookie pair.
    async fn log_in(&self, password: &str) -> String {
        let response = self
            .post_form(
                "/index.php?module=Login",
                None,
                &[("form_login", "admin"), ("form_password", password)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        session_cookie(&response).0
    }

    /// The `form_nonce` of a logged-in page.
    async fn nonce(&self, path: &str, cookie: &str) -> String {
        let html = self
            .get_page(path, Some(cookie))
            .await
            .text()
            .await
            .unwrap();
        let start = html
            .find("name=\"form_nonce\" value=\"")
            .expect("a nonce field")
            + 25;
        html[start..start + 64].to_owned()
    }

    /// Whether `cookie` is a live session: the All websites page, not the login form.
    async fn logged_in(&self, cookie: &str) -> bool {
        let html = self.get_page("/", Some(cookie)).await.text().await.unwrap();
        html.contains("<h1>All websites</h1>")
    }
}

async fn login_sets_a_strict_cookie_and_refuses_a_wrong_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = app.get_page("/", None).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert_secure_headers(&form, "login form");
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("name=\"form_password\""));

    let wrong = app
        .post_form(
            "/index.php?module=Login",
            None,
            &[("form_login", "admin"), ("form_password", "Secret")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Wrong Username and password combination."));
    let unknown = app
        .post_form(
            "/",
            None,
            &[
                ("module", "Login"),
                ("form_login", "nobody"),
                ("form_password", "secret"),
            ],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    let ok = app
        .post_form(
            "/index.php?module=Login",
            None,
            &[("form_login", "admin"), ("form_password", "secret")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_secure_headers(&ok, "login redirect");
    assert!(ok.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("module=MultiSites"));
    let (pair, set) = session_cookie(&ok);
    assert!(
        pair.starts_with("MATOMO_SESSID=") && pair.len() == 14 + 64,
        "{set}"
    );
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=1209600"] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert!(app.logged_in(&pair).await);
    // Only the digest of the id is stored.
    let id = pair.trim_start_matches("MATOMO_SESSID=");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM login_session WHERE id_hash = '{id}'"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM login_session").await, 1);
    app.stop().await;
}

async fn too_many_wrong_passwords_block_the_login_of_that_ip(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.brute_force.max_failed_logins = 2;
    })
    .await;
    for _ in 0..2 {
        let wrong = app
            .post_form(
                "/index.php?module=Login",
                None,
                &[("form_login", "admin"), ("form_password", "wrong")],
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused, with Matomo's message and no session.
    let blocked = app
        .post_form(
            "/index.php?module=Login",
            None,
            &[("form_login", "admin"), ("form_password", "secret")],
        )
        .await;
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
    assert!(blocked.headers().get(header::SET_COOKIE).is_none());
    assert!(blocked
        .text()
        .await
        .unwrap()
        .contains("too many failed logins, try again later."));
    app.stop().await;
}

async fn the_cookie_is_secure_behind_a_trusted_https_proxy(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.web.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let login = |proto: Option<&'static str>| {
        let mut request = browser()
            .post(app.url("/index.php?module=Login"))
            .form(&[("form_login", "admin"), ("form_password", "secret")]);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.send()
    };
    let https = within(login(Some("https"))).await.unwrap();
    assert!(session_cookie(&https).1.ends_with("; Secure"));
    let http = within(login(None)).await.unwrap();
    assert!(!session_cookie(&http).1.contains("Secure"));
    app.stop().await;
}

async fn cross_site_and_token_less_posts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let evil_login = within(
        browser()
            .post(app.url("/index.php?module=Login"))
            .header(header::ORIGIN, "https://evil.example")
            .form(&[("form_login", "admin"), ("form_password", "secret")])
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(evil_login.status(), StatusCode::FORBIDDEN);
    assert!(evil_login.headers().get(header::SET_COOKIE).is_none());

    let cookie = app.log_in("secret").await;
    let logout = "/index.php?module=Login&action=logout";
    let nonce = app.nonce(logout, &cookie).await;
    let without_nonce = app.post_form(logout, Some(&cookie), &[]).await;
    assert_eq!(without_nonce.status(), StatusCode::FORBIDDEN);
    assert_secure_headers(&without_nonce, "refusal");
    let wrong_nonce = app
        .post_form(logout, Some(&cookie), &[("form_nonce", &"0".repeat(64))])
        .await;
    assert_eq!(wrong_nonce.status(), StatusCode::FORBIDDEN);
    let cross_site = within(
        browser()
            .post(app.url(logout))
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "cross-site")
            .form(&[("form_nonce", nonce.as_str())])
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let password = app
        .post_form(
            "/index.php?module=UsersManager&action=userSecurity",
            Some(&cookie),
            &[
                ("current_password", "secret"),
                ("new_password", "changed-1"),
                ("new_password_confirm", "changed-1"),
            ],
        )
        .await;
    assert_eq!(password.status(), StatusCode::FORBIDDEN);
    assert!(app.logged_in(&cookie).await, "the refusals changed nothing");
    app.stop().await;
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.log_in("secret").await;
    let logout = "/index.php?module=Login&action=logout";
    let nonce = app.nonce(logout, &cookie).await;
    let response = app
        .post_form(logout, Some(&cookie), &[("form_nonce", &nonce)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (pair, set) = session_cookie(&response);
    assert_eq!(pair, "MATOMO_SESSID=");
    assert!(set.contains("Max-Age=0"));
    assert!(!app.logged_in(&cookie).await);
    assert_eq!(app.count("SELECT COUNT(*) FROM login_session").await, 0);
    app.stop().await;
}

async fn sessions_end_after_their_lifetime_and_when_idle(backend: Backend) {
    for (lifetime, idle) in [(1, 3600), (3600, 1)] {
        let app = spawn_app_with(backend, |config| {
            config.web.session_lifetime_secs = lifetime;
            config.web.session_idle_secs = idle;
        })
        .await;
        let cookie = app.log_in("secret").await;
        assert!(app.logged_in(&cookie).await);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            !app.logged_in(&cookie).await,
            "lifetime {lifetime}, idle {idle}"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM login_session").await, 0);
        app.stop().await;
    }
}

async fn the_password_changes_with_the_current_one_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.log_in("secret").await;
    let other_browser = app.log_in("secret").await;
    let path = "/index.php?module=UsersManager&action=userSecurity";
    let nonce = app.nonce(path, &cookie).await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let (cookie, nonce) = (cookie.clone(), nonce.clone());
        let app = &app;
        async move {
            app.post_form(
                path,
                Some(&cookie),
                &[
                    ("form_nonce", nonce.as_str()),
                    ("current_password", current),
                    ("new_password", new),
                    ("new_password_confirm", again),
                ],
            )
            .await
        }
    };
    let wrong = change("wrong", "changed-1", "changed-1").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("current password you entered is not correct"));
    let mismatch = change("secret", "changed-1", "changed-2").await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let short = change("secret", "abc", "abc").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);

    let done = change("secret", "changed-1", "changed-1").await;
    assert_eq!(done.status(), StatusCode::OK);
    let (fresh, _) = session_cookie(&done);
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("Your password has been changed."));
    assert!(
        app.logged_in(&fresh).await,
        "this browser gets a new session"
    );
    assert!(!app.logged_in(&cookie).await, "the old session ended");
    assert!(!app.logged_in(&other_browser).await, "other sessions ended");
    let old = app
        .post_form(
            "/index.php?module=Login",
            None,
            &[("form_login", "admin"), ("form_password", "secret")],
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.log_in("changed-1").await;
    app.stop().await;
}

async fn every_page_has_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.log_in("secret").await;
    for path in [
        "/",
        "/index.php?module=MultiSites&action=index&period=month&date=today",
        "/index.php?module=MultiSites&action=index&period=range&date=last7",
        "/index.php?module=Login&action=logout",
        "/index.php?module=UsersManager&action=userSecurity",
        "/index.php?module=CoreHome&action=index&idSite=1",
        "/static/edgemeter.css",
    ] {
        let page = app.get_page(path, Some(&cookie)).await;
        assert_secure_headers(&page, path);
        assert!(page.status() != StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let body = page.text().await.unwrap();
        assert!(
            !body.contains("<script") && !body.contains("style="),
            "{path}"
        );
    }
    for (path, status, text) in [
        (
            "/index.php?module=CoreHome&action=index&idSite=1",
            StatusCode::NOT_FOUND,
            "not available yet",
        ),
        (
            "/?module=MultiSites&action=index&period=range&date=last7",
            StatusCode::BAD_REQUEST,
            "period=range is not supported here",
        ),
    ] {
        let page = app.get_page(path, Some(&cookie)).await;
        assert_eq!(page.status(), status, "{path}");
        assert!(page.text().await.unwrap().contains(text), "{path}");
    }
    let css = app.get_page("/static/edgemeter.css", None).await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    app.stop().await;
}

/// The `visits` and `actions` cells of the site's row.
fn row_numbers(html: &str, idsite: i64) -> (i64, i64, String) {
    let row = &html[html
        .find(&format!("data-idsite=\"{idsite}\""))
        .expect("the site's row")..];
    let cell = |class: &str| -> String {
        let marker = format!("class=\"num {class}\">");
        let start = row.find(&marker).expect(class) + marker.len();
        row[start..start + row[start..].find('<').unwrap()].to_owned()
    };
    let change_start = row.find("</td><td class=\"num\">").unwrap() + 21;
    let change =
        row[change_start..change_start + row[change_start..].find('<').unwrap()].to_owned();
    (
        cell("visits").parse().unwrap(),
        cell("actions").parse().unwrap(),
        change,
    )
}

async fn all_websites_shows_visits_summary_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    // Monday: 1 visit; Tuesday: 3 visits, one of them with 2 pageviews.
    for (offset, visitor, ip) in [
        (0, "00000000000000a1", 1),
        (86_400, "00000000000000b2", 2),
        (86_460, "00000000000000b2", 2),
        (86_500, "00000000000000c3", 3),
        (86_600, "00000000000000d4", 4),
    ] {
        let response = app
            .track_get(&format!(
                "idsite={}&rec=1&cdt={}&_id={visitor}&cip=10.0.{ip}.1&token_auth={}&url=https%3A%2F%2Fexample.com%2F{offset}&action_name=P",
                app.idsite,
                MONDAY + offset,
                app.token
            ))
            .await;
        assert!(response.status().is_success());
    }
    let cookie = app.log_in("secret").await;
    for (period, date, change) in [
        ("day", "2026-10-06", "+200%"),
        ("day", "2026-10-05", "+100%"),
        ("week", "2026-10-07", "+100%"),
        ("month", "2026-10-01", "+100%"),
    ] {
        let api: Value = within(
            app.client
                .get(app.url(&format!(
                    "/?module=API&method=VisitsSummary.get&idSite={}&period={period}&date={date}&format=json&token_auth={}",
                    app.idsite, app.token
                )))
                .send(),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let page = app
            .get_page(
                &format!("/index.php?module=MultiSites&action=index&period={period}&date={date}"),
                Some(&cookie),
            )
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        let (visits, actions, visits_change) = row_numbers(&page.text().await.unwrap(), app.idsite);
        assert_eq!(
            visits,
            api["nb_visits"].as_i64().unwrap(),
            "{period} {date}"
        );
        assert_eq!(
            actions,
            api["nb_actions"].as_i64().unwrap(),
            "{period} {date}"
        );
        assert_eq!(visits_change, change, "{period} {date}");
    }
    app.stop().await;
}

both_backends!(
    login_sets_a_strict_cookie_and_refuses_a_wrong_password,
    too_many_wrong_passwords_block_the_login_of_that_ip,
    the_cookie_is_secure_behind_a_trusted_https_proxy,
    cross_site_and_token_less_posts_are_refused,
    logout_ends_the_session,
    sessions_end_after_their_lifetime_and_when_idle,
    the_password_changes_with_the_current_one_only,
    every_page_has_the_security_headers,
    all_websites_shows_visits_summary_numbers,
);
