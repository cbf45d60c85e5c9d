//! Every API method as each kind of caller, against Matomo's answer for each cell
//! (`core/Access.php`, `plugins/*/API.php`): no token, a user with view access to another site
//! only, view, write and admin on site 1, and the super user. Plus the UsersManager and
//! SitesManager flows those checks guard, and `/` as the entry point.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{both_backends, helpers::*};

/// The callers, in the columns' order.
const CALLERS: [&str; 6] = ["none", "other", "view", "write", "admin", "super"];

/// What Matomo answers for one cell.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// HTTP 200 and no error.
    Ok,
    /// HTTP 200 and a body that contains this text.
    Contains(&'static str),
    /// `NoAccessException`: HTTP 401 with exactly this message.
    Denied(&'static str),
    /// An ordinary error: HTTP 200 with exactly this message.
    Error(&'static str),
}
use Expect::*;

const VIEW_1: Expect =
    Denied("You can't access this resource as it requires 'view' access for the website id = 1.");
const WRITE_1: Expect =
    Denied("You can't access this resource as it requires 'write' access for the website id = 1.");
const ADMIN_1: Expect =
    Denied("You can't access this resource as it requires 'admin' access for the website id = 1.");
const SUPER: Expect = Denied("You can't access this resource as it requires a 'superuser' access.");
const SOME_VIEW: Expect =
    Denied("You can't access this resource as it requires view access for at least one website.");
const SOME_ADMIN: Expect =
    Denied("You can't access this resource as it requires admin access for at least one website.");
const LOGGED_IN: Expect = Denied("You must be logged in to access this functionality.");

const VIEWERS: [Expect; 6] = [VIEW_1, VIEW_1, Ok, Ok, Ok, Ok];
const WRITERS: [Expect; 6] = [WRITE_1, WRITE_1, WRITE_1, Ok, Ok, Ok];
const ADMINS: [Expect; 6] = [ADMIN_1, ADMIN_1, ADMIN_1, ADMIN_1, Ok, Ok];
const SOME_VIEWERS: [Expect; 6] = [SOME_VIEW, Ok, Ok, Ok, Ok, Ok];
const SOME_ADMINS: [Expect; 6] = [SOME_ADMIN, SOME_ADMIN, SOME_ADMIN, SOME_ADMIN, Ok, Ok];
const SUPERS: [Expect; 6] = [SUPER, SUPER, SUPER, SUPER, SUPER, Ok];
const ANYONE: [Expect; 6] = [Ok, Ok, Ok, Ok, Ok, Ok];
const NOT_ANONYMOUS: [Expect; 6] = [LOGGED_IN, Ok, Ok, Ok, Ok, Ok];

/// `(query, answer per caller)`; `{who}` is replaced by the caller's name. Calls that change
/// something succeed once per caller at most, and every later row still holds.
fn table() -> Vec<(&'static str, [Expect; 6])> {
    let not_viewer = Denied("The user has to be either a Super User or the user 'viewer' itself.");
    vec![
        ("method=API.getMatomoVersion", SOME_VIEWERS),
        ("method=API.getReportMetadata&idSite=1", VIEWERS),
        (
            "method=API.getBulkRequest&urls[0]=method%3DVisitsSummary.get%26idSite%3D1%26period%3Dday%26date%3Dtoday",
            [
                Contains("requires 'view' access for the website id = 1"),
                Contains("requires 'view' access for the website id = 1"),
                // VisitsSummary.get of a day without visits is an empty table.
                Contains("[[]]"),
                Contains("[[]]"),
                Contains("[[]]"),
                Contains("[[]]"),
            ],
        ),
        ("method=SitesManager.addSite&siteName=New&urls=https://new.example", SUPERS),
        ("method=SitesManager.getSiteFromId&idSite=1", VIEWERS),
        ("method=SitesManager.getSiteUrlsFromId&idSite=1", VIEWERS),
        ("method=SitesManager.getSitesWithAtLeastViewAccess", ANYONE),
        ("method=SitesManager.getSitesIdWithAtLeastViewAccess", ANYONE),
        ("method=SitesManager.getSitesWithAdminAccess", ANYONE),
        ("method=SitesManager.getSitesIdWithAdminAccess", ANYONE),
        ("method=SitesManager.getAllSites", SUPERS),
        ("method=SitesManager.getAllSitesId", SUPERS),
        ("method=SitesManager.getSitesIdFromSiteUrl&url=https://example.com", ANYONE),
        ("method=SitesManager.getJavascriptTag&idSite=1", VIEWERS),
        ("method=SitesManager.updateSite&idSite=1&siteName=Example", ADMINS),
        ("method=SitesManager.addSiteAliasUrls&idSite=1&urls=https://alias.example.com", ADMINS),
        ("method=SitesManager.setSiteAliasUrls&idSite=1&urls=https://alias.example.com", ADMINS),
        ("method=SitesManager.deleteSite&idSite=3", SUPERS),
        ("method=SitesManager.getExcludedIpsGlobal", SOME_ADMINS),
        ("method=SitesManager.getExcludedQueryParametersGlobal", SOME_VIEWERS),
        ("method=SitesManager.getExcludedUserAgentsGlobal", SOME_ADMINS),
        ("method=SitesManager.getExcludedReferrersGlobal", SOME_ADMINS),
        ("method=SitesManager.getSearchKeywordParametersGlobal", SOME_ADMINS),
        ("method=SitesManager.getSearchCategoryParametersGlobal", SOME_ADMINS),
        ("method=SitesManager.getKeepURLFragmentsGlobal", SOME_VIEWERS),
        ("method=SitesManager.getDefaultCurrency", SOME_ADMINS),
        ("method=SitesManager.getDefaultTimezone", ANYONE),
        ("method=SitesManager.setGlobalExcludedIps&excludedIps=", SUPERS),
        ("method=SitesManager.setGlobalExcludedQueryParameters&excludedQueryParameters=", SUPERS),
        ("method=SitesManager.setGlobalExcludedUserAgents&excludedUserAgents=", SUPERS),
        ("method=SitesManager.setGlobalExcludedReferrers&excludedReferrers=", SUPERS),
        (
            "method=SitesManager.setGlobalSearchParameters&searchKeywordParameters=q&searchCategoryParameters=",
            SUPERS,
        ),
        ("method=SitesManager.setKeepURLFragmentsGlobal&enabled=0", SUPERS),
        ("method=SitesManager.setDefaultCurrency&defaultCurrency=USD", SUPERS),
        ("method=SitesManager.setDefaultTimezone&defaultTimezone=UTC", SUPERS),
        ("method=Goals.addGoal&idSite=1&name=G&matchAttribute=url&pattern=x", WRITERS),
        ("method=Goals.getGoals&idSite=1", VIEWERS),
        (
            "method=UsersManager.addUser&userLogin=new_{who}&password=secret1&email=&initialIdSite=1",
            SOME_ADMINS,
        ),
        (
            "method=UsersManager.getUser&userLogin=viewer",
            [not_viewer, not_viewer, Ok, not_viewer, not_viewer, Ok],
        ),
        (
            "method=UsersManager.userExists&userLogin=viewer",
            [LOGGED_IN, Contains("true"), Contains("true"), Contains("true"), Contains("true"), Contains("true")],
        ),
        ("method=UsersManager.getUsers", SOME_ADMINS),
        ("method=UsersManager.getUsersLogin", SOME_ADMINS),
        ("method=UsersManager.getUsersAccessFromSite&idSite=1", ADMINS),
        ("method=UsersManager.getSitesAccessFromUser&userLogin=viewer", SUPERS),
        (
            "method=UsersManager.hasSuperUserAccess",
            [
                Contains("false"),
                Contains("false"),
                Contains("false"),
                Contains("false"),
                Contains("false"),
                Contains("true"),
            ],
        ),
        ("method=UsersManager.getUsersHavingSuperUserAccess", NOT_ANONYMOUS),
        ("method=UsersManager.setUserAccess&userLogin=target&access=view&idSites=1", ADMINS),
        (
            "method=UsersManager.setSuperUserAccess&userLogin=target&hasSuperUserAccess=0&passwordConfirmation=secret",
            SUPERS,
        ),
        (
            "method=UsersManager.updateUser&userLogin=viewer&email=viewer@example.com&passwordConfirmation=secret",
            [not_viewer, not_viewer, Ok, not_viewer, not_viewer, Ok],
        ),
        (
            "method=UsersManager.deleteUser&userLogin=victim",
            [
                SOME_ADMIN,
                SOME_ADMIN,
                SOME_ADMIN,
                SOME_ADMIN,
                Denied("User 'victim' doesn't exist."),
                Ok,
            ],
        ),
        (
            "method=UsersManager.createAppSpecificTokenAuth&userLogin=viewer&passwordConfirmation=secret&description=t",
            ANYONE,
        ),
        ("method=UsersManager.getAppSpecificTokens", NOT_ANONYMOUS),
        (
            "method=UsersManager.deleteAppSpecificToken&idTokenAuth=999999",
            [
                LOGGED_IN,
                Error("You have no token with the id '999999'."),
                Error("You have no token with the id '999999'."),
                Error("You have no token with the id '999999'."),
                Error("You have no token with the id '999999'."),
                Error("You have no token with the id '999999'."),
            ],
        ),
    ]
}

/// A user with a password `secret`, an optional role on a site, and a token.
async fn user_with_token(
    app: &TestApp,
    login: &str,
    role: Option<(i64, origin::store::Access)>,
) -> String {
    app.store
        .add_user(
            login,
            &origin::auth::hash_password("secret").unwrap(),
            false,
        )
        .await
        .unwrap();
    if let Some((idsite, access)) = role {
        app.store
            .set_access(login, &[idsite], access)
            .await
            .unwrap();
    }
    let token = origin::auth::new_token();
    app.store
        .add_token(login, &origin::auth::token_digest(&token), "tests")
        .await
        .unwrap();
    token
}

async fn add_site(app: &TestApp, name: &str) -> i64 {
    app.store
        .add_site(&origin::store::NewSite {
            name: name.to_owned(),
            urls: vec![format!("https://{name}.example")],
            ..Default::default()
        })
        .await
        .unwrap()
}

/// One call: status and the JSON answer.
async fn call(app: &TestApp, query: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut url = app.url(&format!("/index.php?module=API&format=json&{query}"));
    if let Some(token) = token {
        url.push_str(&format!("&token_auth={token}"));
    }
    let response = within(app.client.get(url).send()).await.expect("request");
    let status = response.status();
    let body = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{query}: not JSON: {}", String::from_utf8_lossy(&body)));
    (status, value)
}

fn is_error(value: &Value) -> bool {
    value.get("result").and_then(Value::as_str) == Some("error")
}

/// Checks one cell; a description of the mismatch otherwise.
fn check(
    query: &str,
    who: &str,
    expect: Expect,
    status: StatusCode,
    value: &Value,
) -> Option<String> {
    let message = value.get("message").and_then(Value::as_str).unwrap_or("");
    let ok = match expect {
        Ok => status == StatusCode::OK && !is_error(value),
        Contains(text) => status == StatusCode::OK && value.to_string().contains(text),
        Denied(text) => status == StatusCode::UNAUTHORIZED && is_error(value) && message == text,
        Error(text) => status == StatusCode::OK && is_error(value) && message == text,
    };
    (!ok).then(|| format!("{query} as {who}: expected {expect:?}, got {status} {value}"))
}

async fn every_method_checks_access_as_matomo_does(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.idsite, 1);
    assert_eq!(add_site(&app, "two").await, 2);
    assert_eq!(add_site(&app, "three").await, 3);
    use origin::store::Access;
    let tokens = [
        None,
        Some(user_with_token(&app, "other", Some((2, Access::View))).await),
        Some(user_with_token(&app, "viewer", Some((1, Access::View))).await),
        Some(user_with_token(&app, "writer", Some((1, Access::Write))).await),
        Some(user_with_token(&app, "administrator", Some((1, Access::Admin))).await),
        Some(app.token.clone()),
    ];
    app.store
        .update_user("admin", None, Some("admin@example.com"))
        .await
        .unwrap();
    user_with_token(&app, "target", Some((2, Access::View))).await;
    user_with_token(&app, "victim", None).await;

    // Every report method the server computes, as API.getReportMetadata lists them.
    let (_, metadata) = call(&app, "method=API.getReportMetadata", Some(&app.token)).await;
    let reports: Vec<String> = metadata
        .as_array()
        .expect("report metadata is a list")
        .iter()
        .map(|report| {
            format!(
                "method={}.{}&idSite=1&period=day&date=today",
                report["module"].as_str().unwrap(),
                report["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(reports.len() >= 10, "{metadata}");
    let mut rows: Vec<(String, [Expect; 6])> = reports.into_iter().map(|q| (q, VIEWERS)).collect();
    rows.extend(table().into_iter().map(|(q, e)| (q.to_owned(), e)));

    let mut failures = Vec::new();
    for (query, expects) in &rows {
        for ((who, token), expect) in CALLERS.iter().zip(&tokens).zip(expects) {
            let query = query.replace("{who}", who);
            let (status, value) = call(&app, &query, token.as_deref()).await;
            failures.extend(check(&query, who, *expect, status, &value));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}

async fn users_roles_and_tokens_follow_matomos_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let two = add_site(&app, "two").await;
    let superuser = Some(app.token.as_str());
    let (_, answer) = call(
        &app,
        "method=UsersManager.addUser&userLogin=x&password=12345&email=",
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        "The password length must be greater than 6 characters."
    );
    let (_, answer) = call(
        &app,
        "method=UsersManager.addUser&userLogin=b%20d&password=123456&email=",
        superuser,
    )
    .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("Username: The username must be between 2 and 100"),
        "{answer}"
    );
    let (_, answer) = call(
        &app,
        "method=UsersManager.addUser&userLogin=ann&password=123456&email=nope",
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        "Email: The value \"nope\" does not look like a valid email."
    );
    let (_, answer) = call(
        &app,
        "method=UsersManager.addUser&userLogin=ann&password=hunter22&email=ann@example.com",
        superuser,
    )
    .await;
    assert_eq!(answer, json!({"result": "success", "message": "ok"}));
    let (_, answer) = call(
        &app,
        "method=UsersManager.addUser&userLogin=ann&password=hunter22&email=",
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        "Username: Username 'ann' already exists."
    );

    // Several sites at once, then noaccess on one of them.
    let (_, answer) = call(
        &app,
        "method=UsersManager.setUserAccess&userLogin=ann&access=write&idSites=all",
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success", "{answer}");
    let (_, answer) = call(
        &app,
        "method=UsersManager.getSitesAccessFromUser&userLogin=ann",
        superuser,
    )
    .await;
    assert_eq!(
        answer,
        json!([{"site": 1, "access": "write"}, {"site": two, "access": "write"}])
    );
    let (_, answer) = call(
        &app,
        &format!("method=UsersManager.setUserAccess&userLogin=ann&access=noaccess&idSites={two}"),
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success");
    let (_, answer) = call(
        &app,
        "method=UsersManager.getUsersAccessFromSite&idSite=1",
        superuser,
    )
    .await;
    assert_eq!(answer, json!({"ann": "write"}));
    let (_, answer) = call(
        &app,
        &format!("method=UsersManager.getUsersAccessFromSite&idSite={two}"),
        superuser,
    )
    .await;
    assert_eq!(answer, json!([]));
    let (_, answer) = call(
        &app,
        "method=UsersManager.setUserAccess&userLogin=ann&access=superuser&idSites=1",
        superuser,
    )
    .await;
    assert_eq!(answer["message"], "The parameter access must have one of the following values: [ view, write, admin ], 'superuser' given.");
    let (_, answer) = call(&app, "method=UsersManager.setUserAccess&userLogin=ann&access[]=view&access[]=tagmanager_write&idSites=1", superuser).await;
    assert_eq!(answer["message"], "Capabilities are not supported: set one role (view, write or admin), not view, tagmanager_write.");
    let (_, answer) = call(&app, &format!("method=UsersManager.setUserAccess&userLogin=ann&access=view&idSites[]=1&idSites[]={two}"), superuser).await;
    assert_eq!(answer["result"], "success", "{answer}");
    let (_, answer) = call(
        &app,
        &format!("method=UsersManager.setUserAccess&userLogin=ann&access=noaccess&idSites={two}"),
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success");
    let (_, answer) = call(
        &app,
        "method=UsersManager.getUsersAccessFromSite&idSite=1",
        superuser,
    )
    .await;
    assert_eq!(answer, json!({"ann": "view"}));
    let (_, answer) = call(
        &app,
        "method=UsersManager.setUserAccess&userLogin=ann&access=write&idSites=1",
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success");
    let (_, answer) = call(
        &app,
        "method=UsersManager.setUserAccess&userLogin=anonymous&access=admin&idSites=1",
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        "You can only set access noaccess or view access to the 'anonymous' user."
    );

    // Her own token, from her password; it works, lists, and is deleted.
    let (_, answer) = call(&app, "method=UsersManager.createAppSpecificTokenAuth&userLogin=ann@example.com&passwordConfirmation=wrong&description=app", None).await;
    assert_eq!(
        answer["message"],
        "The current password you entered is not correct."
    );
    let (_, answer) = call(&app, "method=UsersManager.createAppSpecificTokenAuth&userLogin=ann@example.com&passwordConfirmation=hunter22&description=app", None).await;
    let ann = answer["value"].as_str().expect("a token").to_owned();
    let (_, answer) = call(&app, "method=UsersManager.createAppSpecificTokenAuth&userLogin=ann&passwordConfirmation=hunter22", None).await;
    assert_eq!(
        answer["message"],
        "Please specify a value for 'description'."
    );
    let long = "d".repeat(101);
    let (_, answer) = call(&app, &format!("method=UsersManager.createAppSpecificTokenAuth&userLogin=ann&passwordConfirmation=hunter22&description={long}"), None).await;
    assert_eq!(answer["message"], "Description: The value contains \"101\" characters but should contain at most 100 characters.");
    assert_eq!(ann.len(), 32);
    let (_, answer) = call(
        &app,
        "method=UsersManager.getUser&userLogin=ann",
        Some(&ann),
    )
    .await;
    assert_eq!(
        answer,
        json!({"login": "ann", "email": "ann@example.com", "superuser_access": 0, "invite_status": "active"})
    );
    let (_, answer) = call(&app, "method=UsersManager.getAppSpecificTokens", Some(&ann)).await;
    let tokens = answer.as_array().expect("a list");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["description"], "app");
    let id = tokens[0]["idusertokenauth"].as_i64().unwrap();
    let (_, answer) = call(
        &app,
        &format!("method=UsersManager.deleteAppSpecificToken&idTokenAuth={id}"),
        Some(&ann),
    )
    .await;
    assert_eq!(answer["result"], "success");
    let (status, _) = call(
        &app,
        "method=UsersManager.getUser&userLogin=ann",
        Some(&ann),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted token is refused at once"
    );

    // An expired token is refused.
    let (_, answer) = call(&app, "method=UsersManager.createAppSpecificTokenAuth&userLogin=ann&passwordConfirmation=hunter22&description=old&expireDate=2020-01-01", None).await;
    let old = answer["value"].as_str().expect("a token").to_owned();
    let (status, _) = call(
        &app,
        "method=UsersManager.getUser&userLogin=ann",
        Some(&old),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Super user access: needs the caller's password; the last super user keeps it.
    let (_, answer) = call(
        &app,
        "method=UsersManager.setSuperUserAccess&userLogin=ann&hasSuperUserAccess=1",
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        "Please enter your password to confirm this change."
    );
    let (_, answer) = call(&app, "method=UsersManager.setSuperUserAccess&userLogin=admin&hasSuperUserAccess=0&passwordConfirmation=secret", superuser).await;
    assert_eq!(answer["message"], "Removing the Super User access from user 'admin' is not possible. There has to be at least one user with Super User access. Please grant Super User access to another user first.");
    let (_, answer) = call(&app, "method=UsersManager.setSuperUserAccess&userLogin=ann&hasSuperUserAccess=1&passwordConfirmation=secret", superuser).await;
    assert_eq!(answer["result"], "success", "{answer}");
    let (_, answer) = call(
        &app,
        "method=UsersManager.getSitesAccessFromUser&userLogin=ann",
        superuser,
    )
    .await;
    assert_eq!(
        answer,
        json!([{"site": 1, "access": "admin"}, {"site": two, "access": "admin"}])
    );
    let (_, answer) = call(
        &app,
        "method=UsersManager.setUserAccess&userLogin=ann&access=view&idSites=1",
        superuser,
    )
    .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("The user 'ann' has Super User access"),
        "{answer}"
    );
    let (_, answer) = call(
        &app,
        "method=UsersManager.deleteUser&userLogin=admin",
        superuser,
    )
    .await;
    assert_eq!(
        answer["result"], "success",
        "another super user remains: {answer}"
    );
    let (_, answer) = call(&app, "method=UsersManager.getUsersLogin", superuser).await;
    assert_eq!(
        answer["message"],
        "Unable to authenticate with the provided token. It is either invalid or expired.",
        "a deleted user's token goes with them"
    );
    app.stop().await;
}

async fn sites_manager_edits_sites_and_global_settings_apply_to_tracking(backend: Backend) {
    let app = spawn_app(backend).await;
    let superuser = Some(app.token.as_str());
    let (_, answer) = call(&app, "method=SitesManager.updateSite&idSite=1&siteName=Renamed&urls[]=https://example.com&urls[]=https://www.example.com&excludedIps=10.1.1.1&currency=EUR", superuser).await;
    assert_eq!(answer["result"], "success", "{answer}");
    let (_, site) = call(
        &app,
        "method=SitesManager.getSiteFromId&idSite=1",
        superuser,
    )
    .await;
    assert_eq!(
        (
            site["name"].as_str(),
            site["currency"].as_str(),
            site["excluded_ips"].as_str()
        ),
        (Some("Renamed"), Some("EUR"), Some("10.1.1.1"))
    );
    let (_, answer) = call(&app, "method=SitesManager.addSiteAliasUrls&idSite=1&urls[]=https://shop.example.com&urls[]=https://www.example.com", superuser).await;
    assert_eq!(answer, json!({"value": 1}));
    let (_, answer) = call(
        &app,
        "method=SitesManager.getSiteUrlsFromId&idSite=1",
        superuser,
    )
    .await;
    assert_eq!(
        answer,
        json!([
            "https://example.com",
            "https://shop.example.com",
            "https://www.example.com"
        ])
    );
    let (_, answer) = call(
        &app,
        "method=SitesManager.getSitesIdFromSiteUrl&url=http://shop.example.com/",
        superuser,
    )
    .await;
    assert_eq!(answer, json!([{"idsite": 1}]));
    let (_, answer) = call(
        &app,
        "method=SitesManager.updateSite&idSite=1&excludedIps=1.2.3.x",
        superuser,
    )
    .await;
    assert_eq!(answer["message"], "The IP to exclude \"1.2.3.x\" does not have a valid IP format (eg. 1.2.3.4, 1.2.3.*, or 1.2.3.4/5).");
    let (_, answer) = call(
        &app,
        "method=SitesManager.updateSite&idSite=1&group=Shops&type=intranet",
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success", "{answer}");
    let (_, site) = call(
        &app,
        "method=SitesManager.getSiteFromId&idSite=1",
        superuser,
    )
    .await;
    assert_eq!(
        (
            site["group"].as_str(),
            site["type"].as_str(),
            site["name"].as_str()
        ),
        (Some("Shops"), Some("intranet"), Some("Renamed"))
    );
    let (_, answer) = call(
        &app,
        "method=SitesManager.updateSite&idSite=1&settingValues[x][0][name]=y",
        superuser,
    )
    .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("settingValues is not supported"),
        "{answer}"
    );
    let (_, sites) = call(
        &app,
        "method=SitesManager.getSitesWithAdminAccess&pattern=shop&fetchAliasUrls=1",
        superuser,
    )
    .await;
    assert_eq!(sites.as_array().map(Vec::len), Some(1), "{sites}");
    assert_eq!(
        sites[0]["alias_urls"],
        json!([
            "https://example.com",
            "https://shop.example.com",
            "https://www.example.com"
        ])
    );
    let (_, sites) = call(
        &app,
        "method=SitesManager.getSitesWithAdminAccess&pattern=nothing-like-it",
        superuser,
    )
    .await;
    assert_eq!(sites, json!([]));
    let (_, answer) = call(
        &app,
        "method=SitesManager.updateSite&idSite=9&siteName=X",
        superuser,
    )
    .await;
    assert_eq!(answer["message"], "website id = 9 not found");
    let (_, answer) = call(&app, "method=SitesManager.deleteSite&idSite=1", superuser).await;
    assert_eq!(answer["message"], "It is not possible to delete this website as it is the only registered website. Add a new website first, then delete this one.");

    // Global defaults: a new site takes them; the global excluded IPs stop tracking.
    let (_, answer) = call(&app, "method=SitesManager.getExcludedIpsGlobal", superuser).await;
    assert_eq!(answer, json!({"value": false}), "never set");
    let (_, answer) = call(
        &app,
        "method=SitesManager.setDefaultTimezone&defaultTimezone=Europe/Paris",
        superuser,
    )
    .await;
    assert_eq!(answer, json!({"value": true}));
    let (_, answer) = call(
        &app,
        "method=SitesManager.setDefaultCurrency&defaultCurrency=Mars",
        superuser,
    )
    .await;
    assert_eq!(answer["message"], "The currency \"MARS\" is not valid. Please enter a valid currency symbol (eg. USD, EUR, etc.)");
    let (_, answer) = call(
        &app,
        "method=SitesManager.addSite&siteName=Two&urls=https://two.example",
        superuser,
    )
    .await;
    let two = answer["value"].as_i64().expect("an idsite");
    let (_, site) = call(
        &app,
        &format!("method=SitesManager.getSiteFromId&idSite={two}"),
        superuser,
    )
    .await;
    assert_eq!(site["timezone"], "Europe/Paris");
    let (_, all) = call(&app, "method=SitesManager.getAllSitesId", superuser).await;
    assert_eq!(all, json!([1, two]));

    const TRACKED: &str = "SELECT COUNT(*) FROM log_link_visit_action";
    let response = app
        .track_get(&format!(
            "idsite={two}&rec=1&url=https%3A%2F%2Ftwo.example%2F&send_image=0"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count(TRACKED).await, 1);
    let (_, answer) = call(
        &app,
        "method=SitesManager.setGlobalExcludedIps&excludedIps=127.0.0.1",
        superuser,
    )
    .await;
    assert_eq!(answer, json!({"value": true}));
    let (_, answer) = call(&app, "method=SitesManager.getExcludedIpsGlobal", superuser).await;
    assert_eq!(answer, json!({"value": "127.0.0.1"}));
    let response = app
        .track_get(&format!(
            "idsite={two}&rec=1&url=https%3A%2F%2Ftwo.example%2Fb&send_image=0"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.count(TRACKED).await,
        1,
        "the global exclusion applies to the site"
    );

    let (_, answer) = call(
        &app,
        &format!("method=SitesManager.deleteSite&idSite={two}"),
        superuser,
    )
    .await;
    assert_eq!(answer["result"], "success");
    let (_, answer) = call(
        &app,
        &format!("method=SitesManager.getSiteFromId&idSite={two}"),
        superuser,
    )
    .await;
    assert_eq!(
        answer["message"],
        format!("An unexpected website was found in the request: website id was set to '{two}' .")
    );
    app.stop().await;
}

async fn the_root_is_the_same_entry_point_as_index_php(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = format!(
        "module=API&method=API.getMatomoVersion&format=json&token_auth={}",
        app.token
    );
    let get: Value = within(app.client.get(app.url(&format!("/?{query}"))).send())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get, json!({"value": "5.3.1"}));
    let posted = within(
        app.client
            .post(app.url("/"))
            .form(&[
                ("module", "API"),
                ("method", "API.getMatomoVersion"),
                ("format", "json"),
                ("token_auth", &app.token),
            ])
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    assert_eq!(
        posted.json::<Value>().await.unwrap(),
        json!({"value": "5.3.1"})
    );
    // Without a session the start page is the login form (see `web.rs`); pages not built yet
    // answer 404.
    for path in ["/", "/index.php?module=CoreHome&action=index"] {
        let page = within(app.client.get(app.url(path)).send()).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("name=\"form_password\""),
            "{path}"
        );
    }
    for path in [
        "/?module=Goals&action=manage",
        "/index.php?module=CoreAdminHome",
    ] {
        let page = within(app.client.get(app.url(path)).send()).await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            page.text().await.unwrap().contains("is not available yet"),
            "{path}"
        );
    }
    app.stop().await;
}

both_backends!(
    every_method_checks_access_as_matomo_does,
    users_roles_and_tokens_follow_matomos_rules,
    sites_manager_edits_sites_and_global_settings_apply_to_tracking,
    the_root_is_the_same_entry_point_as_index_php,
);
