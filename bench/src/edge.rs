//! Edge and tracker rows. The edge figures come from `tests/edge/e2e.mjs` (Miniflare + workerd +
//! a real origin), which already measures CPU per beacon, beacons per second, the wasm size and
//! the bytes per request on the wire and prints them as one JSON line; this runs it and reads it.

use std::{io::Write as _, path::PathBuf};

use flate2::{write::GzEncoder, Compression};

use crate::report::{thousands, Row};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Gzip size at level 9 (what a CDN serves).
pub fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    if encoder.write_all(bytes).is_err() {
        return 0;
    }
    encoder.finish().map_or(0, |out| out.len())
}

/// `tracker-js/dist/matomo.js` gzipped, beside its raw size.
pub fn tracker_rows() -> Vec<Row> {
    let path = root().join("tracker-js/dist/matomo.js");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let gz = gzip_len(&bytes);
            vec![Row::new(
                "tracker",
                "tracker-js/dist/matomo.js gzipped (level 9)",
                format!("{} bytes", thousands(gz as f64)),
            )
            .baseline(
                format!("raw {} bytes", thousands(bytes.len() as f64)),
                format!("{:.1}%", gz as f64 * 100.0 / bytes.len() as f64),
            )]
        }
        Err(err) => vec![Row::new(
            "tracker",
            "tracker-js/dist/matomo.js",
            format!("skipped: {} ({err})", path.display()),
        )],
    }
}

/// The origin binary the edge script starts: `EDGEMETER_BIN`, else `edgemeter` next to this
/// binary (cargo puts both in the same profile folder).
fn edgemeter_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("EDGEMETER_BIN") {
        return Some(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.join("edgemeter");
    bin.is_file().then_some(bin)
}

/// Runs the edge script with `3000 * scale` beacons (at least 500) and turns its JSON into rows.
pub async fn edge_rows(scale: f64) -> Vec<Row> {
    let root = root();
    let skip = |why: String| {
        vec![Row::new(
            "edge",
            "workerd figures",
            format!("skipped: {why}"),
        )]
    };
    let wasm_built = std::fs::read_dir(root.join("edge/build"))
        .map(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .unwrap_or(false);
    if !wasm_built {
        return skip(
            "edge/build has no wasm: run scripts/build-edge (scripts/bench does)".to_owned(),
        );
    }
    if !root.join("node_modules/miniflare").is_dir() {
        return skip(
            "node_modules/miniflare missing: run npm ci (scripts/build-edge does)".to_owned(),
        );
    }
    let Some(bin) = edgemeter_bin() else {
        return skip(
            "no edgemeter binary: cargo build --release -p origin (scripts/bench does)".to_owned(),
        );
    };
    let beacons = ((3_000.0 * scale) as usize).max(500);
    let output = tokio::process::Command::new("node")
        .arg(root.join("tests/edge/e2e.mjs"))
        .current_dir(&root)
        .env("EDGEMETER_BIN", &bin)
        .env("E2E_BENCH_BEACONS", beacons.to_string())
        .stderr(std::process::Stdio::null())
        .output()
        .await;
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => return skip(format!("tests/edge/e2e.mjs failed ({})", output.status)),
        Err(err) => return skip(format!("node could not start: {err}")),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(json) = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    else {
        return skip("tests/edge/e2e.mjs printed no JSON line".to_owned());
    };
    rows_from_json(&json)
}

fn rows_from_json(json: &serde_json::Value) -> Vec<Row> {
    let num = |key: &str| json[key].as_f64().unwrap_or(f64::NAN);
    let raw = num("wasm_raw_bytes");
    let gz = num("wasm_gzip_bytes");
    vec![
        Row::new(
            "edge",
            format!(
                "workerd CPU per beacon (median of 5 rounds, {} beacons)",
                thousands(num("bench_beacons"))
            ),
            format!("{:.3} ms", num("workerd_cpu_ms_per_beacon_median")),
        ),
        Row::new(
            "edge",
            "beacons/s through one local workerd (16 concurrent)",
            format!("{}/s", thousands(num("beacons_per_second_median"))),
        ),
        Row::new(
            "edge",
            "Worker wasm gzipped (level 9)",
            format!("{} bytes", thousands(gz)),
        )
        .baseline(
            format!("raw {} bytes", thousands(raw)),
            format!("{:.1}%", gz * 100.0 / raw),
        ),
        Row::new(
            "edge",
            "edge to origin bytes per request on the wire (body + headers)",
            format!("{} bytes", thousands(num("wire_bytes_per_request"))),
        )
        .baseline(
            format!(
                "body only {} bytes",
                thousands(num("wire_body_bytes_per_request"))
            ),
            "",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_shrinks_repetitive_text() {
        let text = "matomo ".repeat(1000);
        let gz = gzip_len(text.as_bytes());
        assert!(gz > 0 && gz < 200, "{gz}");
    }

    #[test]
    fn the_edge_json_line_becomes_four_rows() {
        let json = serde_json::json!({
            "wasm_raw_bytes": 400000, "wasm_gzip_bytes": 150000,
            "wire_bytes_per_request": 900, "wire_body_bytes_per_request": 870,
            "bench_beacons": 3000, "workerd_cpu_ms_per_beacon_median": 0.25,
            "beacons_per_second_median": 1200
        });
        let rows = rows_from_json(&json);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].value, "0.250 ms");
        assert_eq!(rows[1].value, "1,200/s");
        assert_eq!(rows[2].ratio, "37.5%");
    }

    #[test]
    fn the_tracker_row_reports_a_gzip_size_smaller_than_the_file() {
        let rows = tracker_rows();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].value.ends_with("bytes"), "{}", rows[0].value);
    }
}
