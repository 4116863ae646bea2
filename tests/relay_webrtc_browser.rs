//! The relay's status page in headless Chromium (Debian's /usr/bin/chromium, no download), driven
//! over the Chrome DevTools Protocol: it picks WebRTC, plays the WHEP stream (H.264), decodes at
//! least 10 frames/s for 10 s (counted with `requestVideoFrameCallback`), and the decoded picture
//! matches the MJPEG snapshot (PSNR above a floor). Cameras: three simulated ESP32-CAMs that each
//! serve one fixture frame, so the panorama is still and any two frames of it compare.
//!
//! Not part of `cargo test` (it needs chromium): `scripts/test.d/45-relay-webrtc.sh` runs it.
//! Screenshots go to `$RELAY_WEBRTC_OUT` (default: a temp dir).
#![allow(clippy::unwrap_used)]

mod relay_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use posecam_test_support::chromium::{Cdp, launch};
use relay_support::*;
use serde_json::json;
use stream_codec::sim_camera::SimCamera;

/// Lowest PSNR (dB) accepted between the browser's decoded WebRTC frame and the MJPEG snapshot
/// (both 1604x400, no scaling; H.264 at 1.5 Mbit/s vs JPEG quality 80, each with its own colour
/// conversion).
const PSNR_FLOOR_DB: f64 = 30.0;

const STATE: &str = "JSON.stringify({mode: __relay.mode, stats: __relay.player && __relay.player.stats, \
    health: __relay.health && {viewers: __relay.health.viewers, webrtc: __relay.health.webrtc}})";

/// The current video frame at its intrinsic size, as PNG bytes (base64 from a canvas).
const GRAB: &str = "(() => { const v = document.getElementById('video'); const c = document.createElement('canvas'); \
    c.width = v.videoWidth; c.height = v.videoHeight; c.getContext('2d').drawImage(v, 0, 0); \
    return c.toDataURL('image/png').split(',')[1]; })()";

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_plays_webrtc_in_chromium() {
    // Still cameras: one fixture frame each.
    let mut cams = Vec::new();
    for i in 0..3 {
        let frame: Vec<Bytes> = fixture_frames(i).into_iter().take(1).collect();
        cams.push(
            SimCamera::start(([127, 0, 0, 1], 0).into(), frame, 15.0)
                .await
                .unwrap(),
        );
    }
    let urls: Vec<String> = cams
        .iter()
        .map(|c| format!("http://{}/stream", c.addr()))
        .collect();
    let config = config_with_urls(&urls);
    let relay = spawn_relay(&[
        "--config",
        config.to_str().unwrap(),
        "--webrtc-ip",
        "127.0.0.1",
    ]);
    let out = std::env::var_os("RELAY_WEBRTC_OUT")
        .map_or_else(|| tmpdir("webrtc-browser"), PathBuf::from);
    std::fs::create_dir_all(&out).unwrap();
    let profile = tmpdir("chromium-profile");
    let (_browser, url) = launch(&profile, &["--window-size=1700,900".into()]);
    let mut cdp = Cdp::connect(&url, STATE).await;
    cdp.open_page(&format!("http://{}/", relay.addr)).await;
    cdp.wait_for(
        "window.__relay !== undefined && __relay.mode === 'webrtc'",
        "the page to choose WebRTC",
        Duration::from_secs(15),
    )
    .await;
    cdp.wait_for(
        "!!__relay.player && __relay.player.stats.state === 'playing' && __relay.player.stats.frames > 15",
        "WebRTC playing",
        Duration::from_secs(30),
    )
    .await;
    // The MJPEG <img> is not streaming while WebRTC plays: one viewer, a WebRTC one.
    let j = wait_health(
        relay.addr,
        "one WebRTC viewer only",
        Duration::from_secs(5),
        |j| j["webrtc_viewers"] == 1 && j["mjpeg_viewers"] == 0,
    )
    .await;
    println!("health: {}", j["webrtc"]);
    let f0 = cdp
        .eval("__relay.player.stats.frames")
        .await
        .as_f64()
        .unwrap();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let f1 = cdp
        .eval("__relay.player.stats.frames")
        .await
        .as_f64()
        .unwrap();
    let fps = (f1 - f0) / t0.elapsed().as_secs_f64();
    let stats = cdp.eval("JSON.stringify(__relay.player.stats)").await;
    println!("browser: {fps:.1} frames/s decoded over 10 s; stats {stats}");
    assert!(fps >= 10.0, "{fps:.1} frames/s < 10 (stats {stats})");
    // The decoded picture against the MJPEG snapshot of the same still panorama.
    let png = base64::engine::general_purpose::STANDARD
        .decode(cdp.eval(GRAB).await.as_str().unwrap())
        .unwrap();
    std::fs::write(out.join("webrtc_frame.png"), &png).unwrap();
    let frame = image::load_from_memory(&png).unwrap().to_rgb8();
    let (h, jpeg) = get(relay.addr, "/snapshot.jpg", None).await.unwrap();
    assert_eq!(h.status, 200);
    std::fs::write(out.join("snapshot.jpg"), &jpeg).unwrap();
    let snap = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    let snap = if snap.dimensions() == frame.dimensions() {
        snap
    } else {
        image::imageops::resize(
            &snap,
            frame.width(),
            frame.height(),
            image::imageops::FilterType::Triangle,
        )
    };
    let db = psnr(frame.as_raw(), snap.as_raw());
    println!(
        "decoded WebRTC frame {}x{} vs MJPEG snapshot: PSNR {db:.1} dB (floor {PSNR_FLOOR_DB} dB); images in {}",
        frame.width(),
        frame.height(),
        out.display()
    );
    assert!(db >= PSNR_FLOOR_DB, "PSNR {db:.1} dB < {PSNR_FLOOR_DB} dB");
    let shot = cdp
        .call("Page.captureScreenshot", json!({ "format": "png" }))
        .await;
    let shot = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    std::fs::write(out.join("page.png"), shot).unwrap();
    // The switch: MJPEG takes over, the WebRTC session is deleted.
    cdp.eval("document.getElementById('b-mjpeg').click(), true")
        .await;
    wait_health(
        relay.addr,
        "MJPEG after the switch",
        Duration::from_secs(10),
        |j| j["webrtc_viewers"] == 0 && j["mjpeg_viewers"] == 1,
    )
    .await;
    let _ = std::fs::remove_dir_all(&profile);
}
