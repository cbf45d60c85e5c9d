//! The `edgemeter` binary: a thin CLI over the `origin` library.
fn main() {}
