//! From a tracking request to a visit: Matomo's visit rules (spec/MATOMO.md section 2).
//!
//! Requests reach the tracker from two doors, the direct endpoint (`http::tracking`) and edge
//! batches (`http::ingest`). Both hand [`Item`]s to the [`WriterHandle`]: one task that owns all
//! tracking writes, groups the items of many HTTP requests into one transaction (group commit)
//! and answers each caller only after the commit. One writer also means requests of one visitor
//! never race to create two visits.

mod group;
mod site;
mod visit;
mod writer;

use std::net::IpAddr;

use shared::request::TrackingRequest;

use crate::enrich::client_hints::ClientHints;

pub use site::{SiteCache, SiteInfo, SiteTz};
pub use writer::{WriterError, WriterHandle, WriterStatus};

/// What the transport knows about a request besides its parameters.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// When the request reached Edgemeter (the edge or the origin), UNIX seconds.
    pub received_at: i64,
    /// The visitor's IP: the full address on the direct endpoint (anonymised before storage), the
    /// already anonymised one from the edge.
    pub ip: Option<IpAddr>,
    /// The edge's fingerprint (computed over the full IP, which never leaves the edge).
    pub fingerprint: Option<[u8; 8]>,
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    /// The `Sec-CH-UA-*` headers (of a direct request, or as the edge forwarded them).
    pub client_hints: ClientHints,
    /// Location from the edge (trusted: it comes from a signed batch).
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub dnt: bool,
}

/// One request for the writer.
#[derive(Debug, Clone)]
pub struct Item {
    pub request: TrackingRequest,
    pub facts: Facts,
    /// The request may override IP, time and location: it came with a `token_auth` that has
    /// write access to its site, or in a signed edge batch.
    pub trusted: bool,
    /// The edge's request id: an id already stored makes the item a [`Outcome::Duplicate`].
    pub request_id: Option<[u8; 16]>,
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored (a visit started or went on).
    Tracked,
    /// Answered like a tracked request but not stored, as Matomo does (spec 1.4).
    Excluded(Exclusion),
    /// Refused: the client gets an error (400).
    Rejected(Rejection),
    /// An edge request id seen before: already stored once.
    Duplicate,
}

/// Why a request was excluded (spec/MATOMO.md 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    Bot,
    NoRec,
    ExcludedIp,
    ExcludedUserAgent,
    UnknownUrl,
    /// A heartbeat for a visit that has ended (or never started).
    PingWithoutVisit,
    /// The browser asked not to be tracked (`DNT: 1`) and the origin honours it.
    DoNotTrack,
    /// `ca=1` without an action a plugin handles.
    CustomActionWithoutHandler,
}

/// Why a request was refused, with a message that tells the client what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("idsite {0} does not exist")]
    UnknownSite(u32),
    #[error("the parameter {0} requires a token_auth with write access to the site")]
    NeedsToken(&'static str),
    #[error(
        "a custom timestamp (cdt) older than {0} seconds requires a token_auth with write access"
    )]
    CdtTooOld(i64),
    #[error("idgoal {0} does not exist for this site")]
    UnknownGoal(i64),
}
