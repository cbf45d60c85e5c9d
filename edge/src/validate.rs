//! The two places where the edge leans on `shared`'s tracking rules: is a request valid (and for
//! which site), and the visitor's daily fingerprint. Kept apart so the beacon logic reads plainly.

use std::net::{IpAddr, Ipv4Addr};

use shared::params::Params;

use crate::beacon::Visitor;

/// The request's site id when `shared` accepts the request as a tracking request (Matomo's
/// validation: a positive existing-looking `idsite`, well-formed `cid`, ...); `None` is a 400.
pub(crate) fn site_id(params: &Params) -> Option<u32> {
    let request = shared::request::TrackingRequest::from_params(params).ok()?;
    Some(request.site_id.get())
}

/// The visitor's fingerprint over the full IP, user agent, `Accept-Language` and the plugin flags,
/// keyed with the fingerprint key and the UTC day, so it changes every day and cannot be
/// recomputed without the key. Without a client IP (only possible outside Cloudflare) the
/// unspecified address stands in, so the other traits still count.
pub(crate) fn fingerprint(key: &[u8], now_ms: i64, visitor: &Visitor, params: &Params) -> [u8; 8] {
    shared::fingerprint::fingerprint_request(
        key,
        now_ms.div_euclid(1000),
        visitor.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        visitor.user_agent.as_deref(),
        visitor.accept_language.as_deref(),
        params,
    )
}
