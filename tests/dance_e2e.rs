//! End to end in headless Chromium (Debian's /usr/bin/chromium, no download): a fake webcam fed
//! from a real video, the page loaded from the built `dance_server` example (a process), Start pressed, live scores
//! received, the skeleton drawn, screenshots taken, the summary with its grade shown, and the
//! page reconnecting after a server restart. Driven over the Chrome DevTools Protocol.
//!
//! Not part of `cargo test` (it needs chromium): `scripts/test.d/50-dance-e2e.sh` runs it with
//! `cargo test --test dance_e2e`. Screenshots go to `$DANCE_E2E_OUT` (default: the target tmpdir).
#![allow(dead_code, clippy::unwrap_used)]

mod dance_harness;

use std::path::PathBuf;
use std::time::Duration;

use posecam_test_support::chromium::{Cdp, launch};
use serde_json::json;

const STATE: &str = "JSON.stringify({connected: __dance.connected, camReady: __dance.camReady, playing: __dance.playing, \
    sent: __dance.sent, results: __dance.results, errors: __dance.errors, skeleton: __dance.skeletonDrawn, \
    reconnects: __dance.reconnects, last: __dance.lastResult && {person: __dance.lastResult.person, score: __dance.lastResult.score}, \
    summary: __dance.summary, score: document.getElementById('score').textContent, lastError: __dance.lastError})";

/// Non-transparent pixels on the user's overlay canvas (the skeleton).
const SKELETON_PIXELS: &str = "(() => { const c = document.getElementById('cam-overlay'); \
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_scores_a_fake_webcam_in_headless_chromium() {
    let out = std::env::var_os("DANCE_E2E_OUT")
        .map_or_else(|| dance_harness::scratch("e2e-out"), PathBuf::from);
    std::fs::create_dir_all(&out).unwrap();
    let fake_cam = dance_harness::cam02_mjpeg("e2e-cam");
    let server = dance_harness::start_server(dance_harness::Limits::default(), 0).await;
    let port = server.addr.port();
    let profile = dance_harness::scratch("e2e-profile");
    let (_browser, devtools) = launch(
        &profile,
        &[
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            "--window-size=1400,900".into(),
            format!("--use-file-for-fake-video-capture={}", fake_cam.display()),
        ],
    );

    let mut cdp = Cdp::connect(&devtools, STATE).await;
    cdp.open_page("about:blank").await;
    cdp.call("Page.enable", json!({})).await;
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    cdp.call(
        "Page.navigate",
        json!({ "url": format!("http://127.0.0.1:{port}/") }),
    )
    .await;

    cdp.wait_for(
        "typeof __dance === 'object' && __dance.connected && __dance.camReady",
        "connection and webcam",
        Duration::from_secs(30),
    )
    .await;
    // Warm-up frames (pose only) flow before Start: the skeleton shows up already.
    cdp.wait_for(
        "__dance.results >= 3",
        "warm-up replies",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        cdp.eval("document.getElementById('start').disabled").await,
        json!(false)
    );
    // Half speed: the debug build on a loaded 2-core machine answers a few frames per second,
    // and the bundled dance lasts 3.3 s.
    cdp.eval("const d = document.getElementById('dancer'); d.defaultPlaybackRate = 0.5; d.playbackRate = 0.5").await;
    cdp.eval("document.getElementById('start').click()").await;
    cdp.wait_for(
        "__dance.playing && __dance.timeline.length >= 2 && __dance.lastResult && __dance.lastResult.person && __dance.lastResult.score !== null",
        "live scores",
        Duration::from_secs(30),
    )
    .await;
    let pixels = cdp.eval(SKELETON_PIXELS).await.as_u64().unwrap();
    let score_text = cdp
        .eval("document.getElementById('score').textContent")
        .await;
    let hint = cdp
        .eval("document.getElementById('hint').textContent")
        .await;
    cdp.screenshot(&out.join("dance-live.png")).await;
    println!("live: skeleton pixels {pixels}, score {score_text}, hint {hint}");
    assert!(
        pixels > 500,
        "skeleton drawn over the webcam ({pixels} pixels)"
    );
    let score: u32 = score_text
        .as_str()
        .unwrap()
        .parse()
        .expect("a numeric score on the page");
    assert!(score <= 100);
    let dancer_t = cdp
        .eval("document.getElementById('dancer').currentTime")
        .await
        .as_f64()
        .unwrap();
    assert!(dancer_t > 0.0, "the dancer video plays");

    // The dance is 3.3 s: the summary comes with the server's DTW grade, without any alert.
    cdp.wait_for(
        "__dance.summary !== null && !document.getElementById('summary').hidden",
        "the summary",
        Duration::from_secs(30),
    )
    .await;
    let summary = cdp.eval("__dance.summary").await;
    println!("summary: {summary}");
    assert!(
        summary.get("offline").is_none(),
        "summary from the server: {summary}"
    );
    let grade = cdp
        .eval("document.getElementById('grade').textContent")
        .await;
    assert!(
        ["S", "A", "B", "C", "D"].contains(&grade.as_str().unwrap()),
        "grade {grade}"
    );
    assert_eq!(grade, summary["grade"]);
    cdp.screenshot(&out.join("dance-summary.png")).await;

    // Server restart: the page notices, then reconnects by itself.
    // Ctrl-C: every client is closed with 1001 "going away", then the process exits.
    tokio::task::spawn_blocking(move || server.interrupt())
        .await
        .unwrap();
    cdp.wait_for(
        "!__dance.connected",
        "the disconnection",
        Duration::from_secs(15),
    )
    .await;
    let restarted = dance_harness::start_server(dance_harness::Limits::default(), port).await;
    cdp.wait_for(
        "__dance.connected && __dance.reconnects > 0",
        "the reconnection",
        Duration::from_secs(20),
    )
    .await;
    let before = cdp.eval("__dance.results").await.as_u64().unwrap();
    cdp.wait_for(
        &format!("__dance.results > {before}"),
        "replies after reconnecting",
        Duration::from_secs(20),
    )
    .await;

    // `?annotated=1`: the server's annotated JPEGs are shown over the webcam.
    cdp.call(
        "Page.navigate",
        json!({ "url": format!("http://127.0.0.1:{port}/?annotated=1") }),
    )
    .await;
    cdp.wait_for(
        "typeof __dance === 'object' && __dance.annotatedShown >= 2 \
         && document.getElementById('cam-annotated').naturalWidth > 0 \
         && !document.getElementById('cam-annotated').hidden",
        "annotated frames shown",
        Duration::from_secs(30),
    )
    .await;
    cdp.screenshot(&out.join("dance-annotated.png")).await;
    drop(restarted);
}
