//! The Edgemeter origin: stores visits, archives reports and answers Matomo's Reporting API.
//!
//! Reading order: `cli` (commands) -> `startup` (the app) -> `http` (routes) -> `tracker` (from a
//! tracking request to a visit) -> `store` (the database); `web` (the pages).

pub mod api;
pub mod archive;
pub mod auth;
pub mod brute_force;
pub mod cli;
pub mod config;
pub mod enrich;
pub mod http;
mod lru;
pub mod metrics;
pub mod period;
pub mod reports;
pub mod segment;
pub mod startup;
pub mod store;
pub mod switches;
pub mod telemetry;
pub mod tracker;
pub mod web;
