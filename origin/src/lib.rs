//! The Edgemeter origin.
pub mod enrich;
