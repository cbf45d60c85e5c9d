//! The browser tracker as both the edge and the origin serve it: the default build
//! (`tracker-js/dist/matomo.js`) at `/matomo.js` and `/piwik.js`, the full build
//! (`tracker-js/dist/matomo.full.js`: ecommerce, custom variables, cross-domain linking, content
//! tracking, client hints, the getters) at `/matomo.full.js`. The same bytes, the same validator,
//! the same caching headers from either, so a CDN or browser cache cannot tell the two apart.

use sha2::{Digest, Sha256};

/// The minified default build, embedded at build time (the build never needs Node).
pub const SOURCE: &str = include_str!("../../tracker-js/dist/matomo.js");

/// The minified full build.
pub const FULL_SOURCE: &str = include_str!("../../tracker-js/dist/matomo.full.js");

/// Which build of the tracker a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `matomo.js`: the commands nearly every site uses.
    Default,
    /// `matomo.full.js`: the whole supported matomo.js API.
    Full,
}

impl Build {
    /// The build's minified script.
    pub fn source(self) -> &'static str {
        match self {
            Build::Default => SOURCE,
            Build::Full => FULL_SOURCE,
        }
    }
}

/// `Content-Type` of the script.
pub const CONTENT_TYPE: &str = "application/javascript; charset=utf-8";

/// Browsers may reuse the script for an hour and must then revalidate with the ETag; an hour keeps
/// an update's reach short while sparing most downloads (matomo.js is usually served the same way).
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// A strong ETag: the first 16 bytes of the build's SHA-256, quoted.
pub fn etag(build: Build) -> String {
    let digest = Sha256::digest(build.source().as_bytes());
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
    fn both_builds_are_embedded_and_define_the_paq_api() {
        for build in [Build::Default, Build::Full] {
            assert!(build.source().len() > 1000);
            assert!(build.source().contains("_paq"));
        }
        // Only the full build has the ecommerce commands.
        assert!(!SOURCE.contains("trackEcommerceOrder("));
        assert!(FULL_SOURCE.contains("trackEcommerceOrder("));
    }

    #[test]
    fn the_etag_is_a_quoted_hash_of_the_build() {
        let tag = etag(Build::Default);
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_ne!(tag, etag(Build::Full));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag(Build::Default);
        assert!(is_fresh(&tag, &tag));
        assert!(is_fresh(&format!("\"x\", W/{tag}"), &tag));
        assert!(is_fresh("*", &tag));
        assert!(!is_fresh("\"other\"", &tag));
    }
}
