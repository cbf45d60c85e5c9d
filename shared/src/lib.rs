//! Wasm-safe code shared by the edge and the origin.
//!
//! No tokio, no sqlx, no clock reads: every timestamp comes in as a parameter, so this crate builds
//! for `wasm32-unknown-unknown` and behaves the same on both sides.
