//! The browser tracker (`tracker-js/dist/matomo.js`) as both the edge and the origin serve it at
//! `/matomo.js` and `/piwik.js`: the same bytes, the same validator, the same caching headers, so
//! a CDN or browser cache cannot tell the two apart.

use sha2::{Digest, Sha256};

/// The minified tracker, embedded at build time (the build never needs Node).
pub const SOURCE: &str = include_str!("../../tracker-js/dist/matomo.js");

/// `Content-Type` of the script.
pub const CONTENT_TYPE: &str = "application/javascript; charset=utf-8";

/// Browsers may reuse the script for an hour and must then revalidate with the ETag; an hour keeps
/// an update's reach short while sparing most downloads (matomo.js is usually served the same way).
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// A strong ETag: the first 16 bytes of the script's SHA-256, quoted.
pub fn etag() -> String {
    let digest = Sha256::digest(SOURCE.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header value names the current script (`*`, or a list of tags).
pub fn is_fresh(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_embedded_and_defines_the_paq_api() {
        assert!(SOURCE.len() > 1000);
        assert!(SOURCE.contains("_paq"));
    }

    #[test]
    fn the_etag_is_a_quoted_hash_of_the_script() {
        let tag = etag();
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag();
        assert!(is_fresh(&tag, &tag));
        assert!(is_fresh(&format!("\"x\", W/{tag}"), &tag));
        assert!(is_fresh("*", &tag));
        assert!(!is_fresh("\"other\"", &tag));
    }
}
