//! One visit tracked yesterday, then the web pages in headless Chromium (`tests/clients/dashboard.mjs`) against a real
//! `edgemeter serve`: a password login by keyboard, the All websites page with the numbers of
//! `VisitsSummary.get`, its stylesheet applied, no Content Security Policy violation, no
//! horizontal scrolling at a phone's width; screenshots under `CARGO_TARGET_TMPDIR/screenshots`.

use std::time::Duration;

use tests::{run_node, Origin};

#[tokio::test]
async fn a_person_signs_in_and_sees_all_websites_without_csp_violations() {
    let origin = Origin::start("http://127.0.0.1", &[]).await;
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let (out_arg, idsite) = (out.display().to_string(), origin.idsite.to_string());
    let did = run_node(
        "dashboard.mjs",
        &[
            "--origin",
            &origin.base_url,
            "--idsite",
            &idsite,
            "--token",
            &origin.token,
            "--login",
            "admin",
            "--password",
            "e2e-password",
            "--out",
            &out_arg,
        ],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(did["loginTitle"], "Sign in", "{did}");
    assert_eq!(did["title"], "All websites", "{did}");
    assert_eq!(did["violations"], serde_json::json!([]), "{did}");
    assert_eq!(did["styled"], true, "the stylesheet did not apply: {did}");
    assert_eq!(did["overflows"], false, "scrolls sideways at 390px: {did}");
    let api = origin.api(
        "VisitsSummary.get",
        &format!("idSite={}&period=day&date=yesterday", origin.idsite),
    );
    let site = &did["sites"][0];
    assert_eq!(site["idsite"], origin.idsite, "{did}");
    assert_eq!(site["name"], "E2E shop", "{did}");
    assert_eq!(api["nb_visits"], 1, "the visit tracked yesterday: {api}");
    assert_eq!(site["visits"], api["nb_visits"], "{did} vs {api}");
    assert_eq!(site["actions"], api["nb_actions"], "{did} vs {api}");
    for shot in ["all-websites.png", "all-websites-phone.png"] {
        let size = std::fs::metadata(out.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 1000, "{shot} was not saved under {}", out.display());
    }
}
