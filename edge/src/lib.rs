//! The Cloudflare Worker (built with worker-build for wasm32-unknown-unknown): takes Matomo
//! beacons near the visitor, answers at once, and queues signed batches to the origin.
//!
//! The pure modules (`beacon`, `config`, `delivery`, `log`) have no `worker` calls and
//! are tested on the host with `cargo test -p edge`; `glue` binds them to the Workers runtime and
//! only exists on wasm32.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod beacon;
pub mod config;
pub mod delivery;
pub mod log;
mod validate;

#[cfg(target_arch = "wasm32")]
mod glue;
