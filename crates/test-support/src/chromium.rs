//! Headless Chromium for the browser tests (the dance page, the relay's WebRTC page): Debian's
//! `/usr/bin/chromium` (or `$CHROMIUM`) with the flags this machine needs, driven over the DevTools
//! protocol by a minimal client.
//!
//! ```no_run
//! # async fn demo() {
//! use posecam_test_support::chromium::{Cdp, launch};
//! let profile = std::env::temp_dir().join("profile");
//! let (_browser, devtools) = launch(&profile, &["--window-size=1400,900".into()]);
//! let mut cdp = Cdp::connect(&devtools, "document.title").await;
//! cdp.open_page("http://127.0.0.1:8000/").await;
//! cdp.wait_for("document.readyState === 'complete'", "the page", std::time::Duration::from_secs(10))
//!     .await;
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The Chromium process, killed on drop.
pub struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
///
/// # Panics
/// When it does not exist (the set-up installs it).
pub fn chromium_binary() -> PathBuf {
    let p = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        p.exists(),
        "{} not found: scripts/setup.sh installs Debian's chromium",
        p.display()
    );
    p
}

/// Starts headless Chromium with a new profile in `profile` and the flags a closed network needs,
/// plus `extra` (window size, fake devices, ...); returns it with its DevTools WebSocket URL.
///
/// # Panics
/// When Chromium does not start or does not open DevTools within 30 s.
pub fn launch(profile: &Path, extra: &[String]) -> (Browser, String) {
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
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-port=0",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile.display()))
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

/// A minimal DevTools client: one page session, commands answered in order.
pub struct Cdp {
    ws: Ws,
    next_id: u64,
    session: Option<String>,
    /// A JavaScript expression describing the page's state, printed when a wait times out.
    state_expr: String,
}

impl Cdp {
    /// Connects to the browser target; `state_expr` is evaluated for the message of a failed wait.
    pub async fn connect(url: &str, state_expr: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to chromium's DevTools");
        Self {
            ws,
            next_id: 0,
            session: None,
            state_expr: state_expr.to_owned(),
        }
    }

    /// Opens `url` in a new page and sends every later command to it.
    pub async fn open_page(&mut self, url: &str) {
        let target = self
            .call("Target.createTarget", json!({ "url": url }))
            .await;
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        self.session = Some(
            attached["sessionId"]
                .as_str()
                .expect("session id")
                .to_owned(),
        );
    }

    /// Sends a command (to the page once one is open) and returns its result.
    ///
    /// # Panics
    /// On a protocol error or no answer within 30 s.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
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

    /// Evaluates `expr` in the page (promises awaited, as a user gesture) and returns its value.
    pub async fn eval(&mut self, expr: &str) -> Value {
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
    pub async fn wait_for(&mut self, expr: &str, what: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            if self.eval(expr).await == json!(true) {
                return;
            }
            if start.elapsed() > timeout {
                let state_expr = self.state_expr.clone();
                let state = self.eval(&state_expr).await;
                panic!("timed out waiting for {what}; page state: {state}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Writes a PNG screenshot of the page to `path`.
    pub async fn screenshot(&mut self, path: &Path) {
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
