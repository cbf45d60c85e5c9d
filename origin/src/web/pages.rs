//! One handler per page. Pages that need a user show the login form in their place when there
//! is no session, as Matomo does; POSTs of logged-in pages check the CSRF token first.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use minijinja::context;

use super::{
    dashboard, message, page,
    session::{self, Session},
    PageRequest, STYLESHEET_PATH,
};
use crate::{
    api::{ApiError, Caller},
    auth,
    http::AppState,
    store::{StoreError, TokenOwner},
};

/// Where a login lands: the All websites page for Matomo's default report date.
const HOME: &str = "index.php?module=MultiSites&action=index&period=day&date=yesterday";

/// The sentence of a refused cross-site or token-less POST (Matomo's `Login_InvalidNonceOrHeadersOrReferrer`).
const CSRF_REFUSED: &str = "Form security failed. Please reload the form and check that your cookies are enabled. If you use a proxy server, you must configure Matomo to accept the proxy header that forwards the Host header. Also, check that your Referrer header is sent correctly.";

pub(super) async fn login_form(state: &AppState, request: &PageRequest<'_>) -> Response {
    match session::current(state, request.headers).await {
        Ok(Some(_)) => redirect(HOME, None),
        Ok(None) => login_page(StatusCode::OK, None, ""),
        Err(err) => store_failed(err),
    }
}

fn login_page(status: StatusCode, error: Option<&str>, login: &str) -> Response {
    page(
        status,
        "login.html",
        context! { title => "Sign in", stylesheet => STYLESHEET_PATH, error, login },
    )
}

pub(super) async fn login(state: &AppState, request: &PageRequest<'_>) -> Response {
    if !session::same_origin(request.headers) {
        return message(StatusCode::FORBIDDEN, "Sign in refused", CSRF_REFUSED);
    }
    let login = request.params.get("form_login").unwrap_or("").trim();
    let password = request.params.get("form_password").unwrap_or("");
    // Matomo's brute-force detection covers the login form as it covers tokens: a blocked IP
    // is refused before its password is checked.
    let client = request.peer.ip();
    if state.brute_force.is_blocked(client) {
        crate::metrics::Metrics::add(&state.metrics.brute_force_blocked_total, 1);
        return login_page(
            StatusCode::FORBIDDEN,
            Some(crate::brute_force::BLOCKED_MESSAGE),
            login,
        );
    }
    let user = match verify(state, login, password).await {
        Ok(user) => user,
        Err(err) => return store_failed(err),
    };
    let Some(user) = user else {
        crate::metrics::Metrics::add(&state.metrics.auth_failures_total, 1);
        state.brute_force.record_failure(client);
        // Matomo's `Login_LoginPasswordNotCorrect`.
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some("Wrong Username and password combination."),
            login,
        );
    };
    let secure = session::is_https(&state.config.web, request.headers, request.peer);
    match session::start(state, &user.login, user.superuser_access, secure).await {
        Ok((_, cookie)) => redirect(HOME, Some(cookie)),
        Err(err) => store_failed(err),
    }
}

/// The user whose password this is, or `None`.
async fn verify(
    state: &AppState,
    login: &str,
    password: &str,
) -> Result<Option<crate::store::User>, StoreError> {
    if login.is_empty() || password.is_empty() {
        return Ok(None);
    }
    let Some(hash) = state.store.password_hash(login).await? else {
        return Ok(None);
    };
    if !auth::verify_password(password, &hash) {
        return Ok(None);
    }
    state.store.user(login).await
}

pub(super) async fn logout_form(state: &AppState, request: &PageRequest<'_>) -> Response {
    with_session(state, request, |session| {
        page(
            StatusCode::OK,
            "logout.html",
            context! { title => "Sign out", stylesheet => STYLESHEET_PATH, login => session.login, nonce => session.csrf_token },
        )
    })
    .await
}

pub(super) async fn logout(state: &AppState, request: &PageRequest<'_>) -> Response {
    let session = match checked_post(state, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let secure = session::is_https(&state.config.web, request.headers, request.peer);
    match session::end(state, &session, secure).await {
        Ok(cookie) => redirect("index.php?module=Login", Some(cookie)),
        Err(err) => store_failed(err),
    }
}

pub(super) async fn password_form(state: &AppState, request: &PageRequest<'_>) -> Response {
    with_session(state, request, |session| {
        password_page(StatusCode::OK, &session, None, None)
    })
    .await
}

fn password_page(
    status: StatusCode,
    session: &Session,
    error: Option<&str>,
    done: Option<&str>,
) -> Response {
    page(
        status,
        "password.html",
        context! {
            title => "Change password", stylesheet => STYLESHEET_PATH,
            login => session.login, nonce => session.csrf_token, error, done,
        },
    )
}

/// Changes the password of the logged-in user: the current password is required, the new one
/// twice (`UsersManager.updateUser` with `passwordConfirmation`). The store ends every session
/// of the user, so a new one is started for this browser.
pub(super) async fn change_password(state: &AppState, request: &PageRequest<'_>) -> Response {
    let session = match checked_post(state, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let params = request.params;
    let current = params.get("current_password").unwrap_or("");
    let new = params.get("new_password").unwrap_or("");
    let error = match verify(state, &session.login, current).await {
        Err(err) => return store_failed(err),
        Ok(None) => Some("The current password you entered is not correct."),
        Ok(Some(_)) if new != params.get("new_password_confirm").unwrap_or("") => {
            Some("The passwords you entered do not match.")
        }
        // Matomo's `UsersManager_ExceptionInvalidPassword` (`UsersManager::checkValidPassword`).
        Ok(Some(_)) if !(6..=200).contains(&new.chars().count()) => {
            Some("The password length must be between 6 and 200 characters.")
        }
        Ok(Some(_)) => None,
    };
    if let Some(error) = error {
        return password_page(StatusCode::BAD_REQUEST, &session, Some(error), None);
    }
    let hash = match auth::hash_password(new) {
        Ok(hash) => hash,
        Err(err) => {
            tracing::error!(error = %err, "hashing a new password");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "The password could not be hashed; see the server log.",
            );
        }
    };
    if let Err(err) = state
        .store
        .update_user(&session.login, Some(&hash), None)
        .await
    {
        return store_failed(err);
    }
    let secure = session::is_https(&state.config.web, request.headers, request.peer);
    match session::start(state, &session.login, session.superuser_access, secure).await {
        Ok((fresh, cookie)) => {
            let mut response = password_page(
                StatusCode::OK,
                &fresh,
                None,
                Some("Your password has been changed. Your other sessions have been signed out."),
            );
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(err) => store_failed(err),
    }
}

/// The All websites page for `period` (default `day`) and `date` (default `yesterday`).
pub(super) async fn all_websites(state: &AppState, request: &PageRequest<'_>) -> Response {
    let session = match session::current(state, request.headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_page(StatusCode::OK, None, ""),
        Err(err) => return store_failed(err),
    };
    let period = request.params.non_empty("period").unwrap_or("day");
    let date = request.params.non_empty("date").unwrap_or("yesterday");
    let caller = Caller {
        owner: TokenOwner::user(session.login.clone(), session.superuser_access),
        host: None,
    };
    let (status, sites, error) = match dashboard::all_websites(state, &caller, period, date).await {
        Ok(sites) => (StatusCode::OK, sites, None),
        Err(ApiError::Message(m)) => (StatusCode::BAD_REQUEST, Vec::new(), Some(m)),
        Err(ApiError::NoAccess(m)) => (StatusCode::FORBIDDEN, Vec::new(), Some(m)),
        Err(ApiError::Internal(m)) => (StatusCode::INTERNAL_SERVER_ERROR, Vec::new(), Some(m)),
    };
    let (visits, actions) = sites
        .iter()
        .fold((0, 0), |(v, a), site| (v + site.visits, a + site.actions));
    page(
        status,
        "all_websites.html",
        context! {
            title => "All websites", stylesheet => STYLESHEET_PATH, login => session.login,
            period, date, sites, error, total_visits => visits, total_actions => actions,
            periods => ["day", "week", "month", "year"],
        },
    )
}

/// Runs `render` with the request's session, or shows the login form.
async fn with_session(
    state: &AppState,
    request: &PageRequest<'_>,
    render: impl FnOnce(Session) -> Response,
) -> Response {
    match session::current(state, request.headers).await {
        Ok(Some(session)) => render(session),
        Ok(None) => login_page(StatusCode::OK, None, ""),
        Err(err) => store_failed(err),
    }
}

/// The session of a state-changing POST, once its origin and `form_nonce` are checked.
async fn checked_post(state: &AppState, request: &PageRequest<'_>) -> Result<Session, Response> {
    let session = match session::current(state, request.headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(login_page(StatusCode::UNAUTHORIZED, None, "")),
        Err(err) => return Err(store_failed(err)),
    };
    if !session::same_origin(request.headers)
        || !session::csrf_ok(&session, request.params.get("form_nonce"))
    {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Request refused",
            CSRF_REFUSED,
        ));
    }
    Ok(session)
}

/// 303 See Other to `location`, setting `cookie` if given.
fn redirect(location: &'static str, cookie: Option<HeaderValue>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    super::secure_headers(response)
}

fn store_failed(err: StoreError) -> Response {
    tracing::error!(error = %err, "database error on a web page");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "A database error occurred; see the server log.",
    )
}
