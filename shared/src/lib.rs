//! Wasm-safe code shared by the edge and the origin.
//!
//! No tokio, no sqlx, no clock reads: every timestamp comes in as a parameter, so this crate builds
//! for `wasm32-unknown-unknown` and behaves the same on both sides.
//!
//! - [`answer`]: Matomo's answers to tracking requests, identical at the edge and the origin.
//! - [`params`]: raw tracking parameters and Matomo's rules for reading a request (single or bulk).
//! - [`request`]: the typed, validated view of one tracking request.
//! - [`batch`]: the signed, versioned edge-to-origin wire format.
//! - [`ip`]: Matomo's IP anonymisation masks.
//! - [`fingerprint`]: the daily-salted visit fingerprint computed identically by edge and origin.
//! - [`tracker_script`]: the browser tracker both serve, with its caching headers.

pub mod answer;
pub mod batch;
pub mod fingerprint;
pub mod ip;
pub mod params;
pub mod request;
pub mod tracker_script;

#[cfg(test)]
mod nasty_inputs;
