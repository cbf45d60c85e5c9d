//! The Edgemeter origin.
