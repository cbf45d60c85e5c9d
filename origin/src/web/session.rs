//! Login sessions: a random id in the `MATOMO_SESSID` cookie (Matomo's session cookie name), its
//! SHA-256 digest and a per-session CSRF token stored server-side (`store::sessions`).
//!
//! A session ends `web.session_lifetime_secs` after login (Matomo's `login_cookie_expire`) or
//! `web.session_idle_secs` after its last request; ended sessions are deleted when met.
//!
//! CSRF: every POST of a logged-in page carries the session's token in `form_nonce` (Matomo's
//! field name) and must come from this origin ([`same_origin`]). The login form has no session
//! yet, so it relies on [`same_origin`] alone (browsers send `Origin` on every POST).

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, HeaderValue};

use crate::{
    auth,
    config::WebConfig,
    http::AppState,
    store::{now_unix, LoginSession, StoreError},
};

/// The session cookie's name.
pub const COOKIE: &str = "MATOMO_SESSID";

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct Session {
    id_hash: String,
    pub login: String,
    pub superuser_access: i64,
    pub csrf_token: String,
}

/// The session of the request's cookie, if it exists and has not ended.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
    let Some(id) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let id_hash = auth::token_digest(id);
    let Some(row) = state.store.session(&id_hash).await? else {
        return Ok(None);
    };
    let now = now_unix();
    if ended(&state.config.web, &row, now) {
        state.store.delete_session(&id_hash).await?;
        return Ok(None);
    }
    state.store.touch_session(&id_hash, now).await?;
    Ok(Some(Session {
        id_hash,
        login: row.login,
        superuser_access: row.superuser_access,
        csrf_token: row.csrf_token,
    }))
}

fn ended(config: &WebConfig, row: &LoginSession, now: i64) -> bool {
    now - row.created_at >= config.session_lifetime_secs
        || now - row.last_seen >= config.session_idle_secs
}

/// Starts a session for `login`; returns it and the `Set-Cookie` value. Ended sessions of every
/// user are removed on the way, so the table holds only live ones.
pub async fn start(
    state: &AppState,
    login: &str,
    superuser_access: i64,
    secure: bool,
) -> Result<(Session, HeaderValue), StoreError> {
    let (id, csrf_token) = (random_token(), random_token());
    let id_hash = auth::token_digest(&id);
    let now = now_unix();
    let web = &state.config.web;
    state
        .store
        .delete_expired_sessions(now - web.session_lifetime_secs, now - web.session_idle_secs)
        .await?;
    state
        .store
        .add_session(&id_hash, login, &csrf_token, now)
        .await?;
    let cookie = set_cookie(&id, web.session_lifetime_secs, secure);
    Ok((
        Session {
            id_hash,
            login: login.to_owned(),
            superuser_access,
            csrf_token,
        },
        cookie,
    ))
}

/// Ends `session`; returns the `Set-Cookie` value that removes the cookie.
pub async fn end(
    state: &AppState,
    session: &Session,
    secure: bool,
) -> Result<HeaderValue, StoreError> {
    state.store.delete_session(&session.id_hash).await?;
    Ok(set_cookie("", 0, secure))
}

/// 64 hex characters from the OS's random source.
fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&cookie).expect("a cookie of hex characters is a valid header value")
}

/// The value of the cookie `name`, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// Whether the request reached the proxy in front of us over https: `web.secure_cookie`, or
/// `X-Forwarded-Proto: https` from a peer in `web.trusted_proxies`.
pub fn is_https(config: &WebConfig, headers: &HeaderMap, peer: SocketAddr) -> bool {
    config.secure_cookie
        || (config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()))
            && headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// Whether a POST comes from our own pages: `Sec-Fetch-Site` (when sent) is `same-origin` or
/// `none`, and `Origin` (when sent) names the request's `Host`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|site| site == "same-origin" || site == "none");
    let origin_ok = match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    };
    fetch_site_ok && origin_ok
}

/// Whether `nonce` is the session's CSRF token (compared in constant time).
pub fn csrf_ok(session: &Session, nonce: Option<&str>) -> bool {
    let Some(nonce) = nonce else {
        return false;
    };
    let (a, b) = (nonce.as_bytes(), session.csrf_token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; MATOMO_SESSID=abc; b=2")]);
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(
            cookie(&headers(&[("cookie", "MATOMO_SESSID=")]), COOKIE),
            None
        );
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "http://a.test")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "http://evil.test")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[])));
    }

    #[test]
    fn forwarded_https_counts_only_from_a_trusted_proxy() {
        let mut config = WebConfig::default();
        let h = headers(&[("x-forwarded-proto", "https")]);
        let peer: SocketAddr = "10.0.0.5:1234".parse().unwrap();
        assert!(!is_https(&config, &h, peer));
        config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(is_https(&config, &h, peer));
        assert!(!is_https(&config, &HeaderMap::new(), peer));
    }

    #[test]
    fn a_wrong_or_missing_nonce_is_refused() {
        let session = Session {
            id_hash: String::new(),
            login: "a".into(),
            superuser_access: 0,
            csrf_token: "abcd".into(),
        };
        assert!(csrf_ok(&session, Some("abcd")));
        assert!(!csrf_ok(&session, Some("abce")));
        assert!(!csrf_ok(&session, Some("abc")));
        assert!(!csrf_ok(&session, None));
    }
}
