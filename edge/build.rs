//! Embeds the tracker script when `tracker-js/dist/matomo.js` exists, and computes its ETag.
//!
//! `scripts/build-edge` sets `EDGEMETER_TRACKER_JS` to the file's path (or `none`), so a build
//! reruns when the file appears or disappears, not only when it changes.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(edgemeter_tracker_js)");
    println!("cargo::rerun-if-env-changed=EDGEMETER_TRACKER_JS");
    println!("cargo::rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let script = manifest.join("../tracker-js/dist/matomo.js");
    if let Ok(bytes) = std::fs::read(&script) {
        println!("cargo::rerun-if-changed={}", script.display());
        println!("cargo::rustc-cfg=edgemeter_tracker_js");
        // FNV-1a 64: a stable content hash is all an ETag needs; no dependency for it.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        println!("cargo::rustc-env=EDGEMETER_TRACKER_JS_ETAG=\"{hash:016x}\"");
        println!(
            "cargo::rustc-env=EDGEMETER_TRACKER_JS_PATH={}",
            script.display()
        );
    }
}
