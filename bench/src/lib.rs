//! The pieces of the `bench` binary (see `main.rs`): the traffic generator, fresh databases and
//! in-process origins, and one module per section of the table.

pub mod api;
pub mod archive;
pub mod attack;
pub mod db;
pub mod edge;
pub mod ingest;
pub mod report;
pub mod traffic;
