//! The relay's status page in headless Chromium (Debian's /usr/bin/chromium, no download), driven
//! over the Chrome DevTools Protocol: it picks WebRTC, plays the WHEP stream (H.264), decodes
//! >= 10 frames/s for 10 s (counted with `requestVideoFrameCallback`), and the decoded picture
//! matches the MJPEG snapshot (PSNR above a floor). Cameras: three simulated ESP32-CAMs that each
//! serve one fixture frame, so the panorama is still and any two frames of it compare.
//!
//! Not part of `cargo test` (it needs chromium): `scripts/test.d/45-relay-webrtc.sh` runs it.
//! Screenshots go to `$RELAY_WEBRTC_OUT` (default: a temp dir).
#![allow(clippy::unwrap_used)]

mod relay_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use relay_support::*;
use serde_json::{Value, json};
use stream_codec::sim_camera::SimCamera;
use tokio_tungstenite::tungstenite::Message;

/// Lowest PSNR (dB) accepted between the browser's decoded WebRTC frame and the MJPEG snapshot
/// (both 1604x400, no scaling; H.264 at 1.5 Mbit/s vs JPEG quality 80, each with its own colour
/// conversion).
const PSNR_FLOOR_DB: f64 = 30.0;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(profile: &Path) -> (Browser, String) {
    let exe = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        exe.exists(),
        "{} not found: scripts/setup.sh installs Debian's chromium",
        exe.display()
    );
    let child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1700,900",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let browser = Browser { child };
    let port_file = profile.join("DevToolsActivePort");
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return (browser, format!("ws://127.0.0.1:{port}{path}"));
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromium did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal CDP client: one page session, commands answered in order.
struct Cdp {
    ws: Ws,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools");
        Self {
            ws,
            next_id: 0,
            session: None,
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("send CDP");
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .expect("DevTools socket open")
                .expect("DevTools message");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).expect("CDP JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    async fn wait_for(&mut self, expr: &str, what: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            if self.eval(expr).await == json!(true) {
                return;
            }
            if start.elapsed() > timeout {
                let state = self.eval(STATE).await;
                panic!("timed out waiting for {what}; page state: {state}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

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
    let (_browser, url) = launch(&profile);
    let mut cdp = Cdp::connect(&url).await;
    let target = cdp
        .call(
            "Target.createTarget",
            json!({ "url": format!("http://{}/", relay.addr) }),
        )
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await;
    cdp.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
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
