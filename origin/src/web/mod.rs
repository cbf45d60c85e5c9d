//! The web pages: every `module` of `/` and `/index.php` other than `API` (which `crate::api`
//! answers before handing the rest here), and the stylesheet at [`STYLESHEET_PATH`].
//!
//! - `session`: the session cookie, its server-side row, CSRF checks;
//! - `pages`: one handler per page (login, logout, password change, All websites);
//! - `dashboard`: the All websites numbers, read through the Reporting API's own functions.
//!
//! Pages are minijinja templates under `origin/templates/`, embedded at build time and
//! auto-escaped. Every response carries [`CONTENT_SECURITY_POLICY`] and the other headers of
//! [`secure_headers`]; the pages have no script and no inline style.

mod dashboard;
mod pages;
pub mod session;

use std::{net::SocketAddr, sync::LazyLock};

use axum::{
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use minijinja::Environment;
use serde::Serialize;

use crate::{api::ApiParams, http::AppState};

/// The policy of every page: nothing but the origin's own stylesheet and images, forms posting
/// only to the origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where the one stylesheet is served.
pub const STYLESHEET_PATH: &str = "/static/edgemeter.css";

/// The stylesheet's route.
pub fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET_PATH, get(stylesheet))
}

async fn stylesheet() -> Response {
    let mut response = include_str!("../../templates/edgemeter.css").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    secure_headers(response)
}

/// A request for a page, as `crate::api::router`'s entry point received it.
pub struct PageRequest<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub peer: SocketAddr,
    pub params: &'a ApiParams,
}

/// Answers a page: `module` and `action` choose the handler (Matomo's controller names).
pub async fn handle(state: &AppState, request: PageRequest<'_>) -> Response {
    let module = request.params.non_empty("module").unwrap_or("CoreHome");
    let action = request.params.non_empty("action").unwrap_or("index");
    let post = request.method == Method::POST;
    match (module, action) {
        ("Login", "logout") if post => pages::logout(state, &request).await,
        ("Login", "logout") => pages::logout_form(state, &request).await,
        ("Login", _) if post => pages::login(state, &request).await,
        ("Login", _) => pages::login_form(state, &request).await,
        ("UsersManager", "userSecurity") if post => pages::change_password(state, &request).await,
        ("UsersManager", "userSecurity") => pages::password_form(state, &request).await,
        // The per-site pages (`CoreHome` with an `idSite`) are not built yet.
        ("CoreHome", "index") if request.params.non_empty("idSite").is_some() => {
            not_available("CoreHome (the per-site reports)")
        }
        ("CoreHome" | "MultiSites", "index") if !post => pages::all_websites(state, &request).await,
        _ => not_available(module),
    }
}

/// The templates, parsed once.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../../templates/base.html")),
        ("login.html", include_str!("../../templates/login.html")),
        ("logout.html", include_str!("../../templates/logout.html")),
        (
            "password.html",
            include_str!("../../templates/password.html"),
        ),
        (
            "all_websites.html",
            include_str!("../../templates/all_websites.html"),
        ),
        ("message.html", include_str!("../../templates/message.html")),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|err| panic!("the embedded template {name} does not parse: {err}"));
    }
    env
});

/// Renders `template` with `context` as an HTML page with the security headers.
fn page(status: StatusCode, template: &str, context: impl Serialize) -> Response {
    let rendered = TEMPLATES
        .get_template(template)
        .and_then(|template| template.render(context));
    let response = match rendered {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, template, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered; see the server log.",
            )
                .into_response()
        }
    };
    secure_headers(response)
}

/// A page with a title and one paragraph.
fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(
        status,
        "message.html",
        minijinja::context! { title, text, stylesheet => STYLESHEET_PATH },
    )
}

/// Matomo's pages not built yet: 404 with a page that says so.
fn not_available(module: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not available yet",
        &format!(
            "The module '{module}' (Matomo's web pages) is not available yet. This server answers \
             Matomo's Reporting API here (?module=API&method=Module.action, GET or POST), tracking \
             at /matomo.php, and the All websites page at /."
        ),
    )
}

/// Adds the Content Security Policy, `nosniff`, the referrer policy and `no-store` (pages show
/// a user's data).
fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes_what_it_shows() {
        let html = TEMPLATES
            .get_template("message.html")
            .and_then(|t| t.render(minijinja::context! { title => "<b>", text => "a&b" }))
            .expect("renders");
        assert!(
            html.contains("<h1>&lt;b&gt;</h1>") && html.contains("a&amp;b"),
            "{html}"
        );
        assert!(!html.contains("<script") && !html.contains("style="));
        assert_eq!(TEMPLATES.templates().count(), 6);
    }
}
