//! Origin integration tests: the real app on a random port, against a fresh SQLite database and a
//! fresh PostgreSQL database. Every scenario runs on both backends (`both_backends!`), which makes
//! this the store conformance suite. PostgreSQL comes from `EDGEMETER_TEST_POSTGRES_URL`
//! (`scripts/test-rust` starts one); without it the PostgreSQL half fails with a message saying so.

mod helpers;

mod access;
mod archive;
mod cli;
mod hardening;
mod ingest;
mod ops;
mod reporting;
mod tracking;
mod visits;
mod web;
