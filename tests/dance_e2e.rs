//! End to end in headless Chromium (Debian's /usr/bin/chromium, no download): a fake webcam fed
//! from a real video, the page loaded from the built `dance_server` example (a process), Start pressed, live scores
//! received, the skeleton drawn, screenshots taken, the summary with its grade shown, and the
//! page reconnecting after a server restart. Driven over the Chrome DevTools Protocol.
//!
//! Not part of `cargo test` (it needs chromium): `scripts/test.d/50-dance-e2e.sh` runs it with
//! `cargo test --test dance_e2e`. Screenshots go to `$DANCE_E2E_OUT` (default: the target tmpdir).
#![allow(dead_code, clippy::unwrap_used)]

mod dance_harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Chromium killed on drop.
struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> PathBuf {
    let p = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        p.exists(),
        "{} not found: scripts/setup.sh installs Debian's chromium",
        p.display()
    );
    p
}

fn launch(profile: &Path, fake_cam: &Path) -> (Browser, String) {
    let child = Command::new(chromium_binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1400,900",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!(
            "--use-file-for-fake-video-capture={}",
            fake_cam.display()
        ))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let browser = Browser { child };
    // Chromium writes the port and the browser target's path once it listens.
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
            "chromium did not start (no {})",
            port_file.display()
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
            .expect("connect to chromium's DevTools");
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
            .expect("send CDP command");
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
                json!({ "expression": expr, "returnByValue": true, "awaitPromise": true, "userGesture": true }),
            )
            .await;
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is true; panics with `what` and the page state after `timeout`.
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

    async fn screenshot(&mut self, path: &Path) {
        let r = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        std::fs::write(path, &png).expect("write screenshot");
        println!("screenshot: {}", path.display());
    }
}

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
    let (_browser, devtools) = launch(&profile, &fake_cam);

    let mut cdp = Cdp::connect(&devtools).await;
    let target = cdp
        .call("Target.createTarget", json!({ "url": "about:blank" }))
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await;
    cdp.session = Some(
        attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_string(),
    );
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
