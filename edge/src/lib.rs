//! The Cloudflare Worker (built with worker-build for wasm32-unknown-unknown).
