//! Camera relay WebRTC output: the built `camera_relay --simulate` as a real process, WHEP
//! viewers (stream-codec's `WhepViewer`, str0m on a UDP socket of their own, one thread each)
//! next to MJPEG viewers, over loopback.
#![allow(clippy::unwrap_used)]

mod relay_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use relay_support::*;
use stream_codec::webrtc::{ViewerEvent, WhepViewer};

/// A WHEP viewer of the relay in its own thread.
struct Viewer {
    pictures: Arc<AtomicU64>,
    connected: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Stop reading the socket and sending anything.
    stall: Arc<AtomicBool>,
    location: String,
    thread: Option<thread::JoinHandle<()>>,
}

impl Viewer {
    fn pictures(&self) -> u64 {
        self.pictures.load(Ordering::Relaxed)
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const SDP: &str = "Content-Type: application/sdp\r\n";

async fn whep_viewer(relay: &RelayProc, headers: &str) -> Viewer {
    let (mut v, offer) = WhepViewer::new("127.0.0.1:0".parse().unwrap()).unwrap();
    let (head, body) = request(relay.addr, "POST", "/whep", headers, offer.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        head.status,
        201,
        "POST /whep: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(head.header("content-type"), Some("application/sdp"));
    let location = head.header("location").unwrap().to_owned();
    assert!(location.starts_with("/whep/"), "{location}");
    v.accept_answer(std::str::from_utf8(&body).unwrap())
        .unwrap();
    let pictures = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let stall = Arc::new(AtomicBool::new(false));
    let thread = {
        let (pictures, connected, stop, stall) = (
            pictures.clone(),
            connected.clone(),
            stop.clone(),
            stall.clone(),
        );
        thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(90);
            while !stop.load(Ordering::Relaxed) && Instant::now() < end && v.is_alive() {
                if stall.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
                for e in v.poll(Duration::from_millis(20)).unwrap() {
                    match e {
                        ViewerEvent::Connected => connected.store(true, Ordering::Relaxed),
                        ViewerEvent::Picture { .. } => {
                            pictures.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            }
        })
    };
    Viewer {
        pictures,
        connected,
        stop,
        stall,
        location,
        thread: Some(thread),
    }
}

async fn wait_for(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(j: &serde_json::Value, pointer: &str) -> u64 {
    j.pointer(pointer).and_then(|v| v.as_u64()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_webrtc_and_three_mjpeg_viewers_one_h264_encoder() {
    let relay = spawn_relay(&["--simulate", "--idle-s", "1"]);
    // MJPEG viewers, counting parts.
    let mjpeg: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut tasks = Vec::new();
    for n in &mjpeg {
        let (n, mut stream) = (n.clone(), viewer(relay.addr, None));
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(_)) = stream.next().await {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut viewers = Vec::new();
    for _ in 0..20 {
        viewers.push(whep_viewer(&relay, SDP).await);
    }
    let stalled = whep_viewer(&relay, SDP).await;
    let j = health(relay.addr).await;
    assert_eq!(j["webrtc_viewers"], 21, "{j}");
    assert_eq!(j["viewers"], 24, "{j}");
    wait_for("every viewer playing", Duration::from_secs(30), || {
        viewers.iter().all(|v| v.pictures() >= 3)
            && stalled.pictures() >= 3
            && mjpeg.iter().all(|n| n.load(Ordering::Relaxed) >= 3)
    })
    .await;
    assert!(viewers.iter().all(|v| v.connected.load(Ordering::Relaxed)));
    // One viewer stops reading its UDP socket; nobody else may notice.
    stalled.stall.store(true, Ordering::Relaxed);
    let h0 = health(relay.addr).await;
    let w0: Vec<u64> = viewers.iter().map(Viewer::pictures).collect();
    let m0: Vec<u64> = mjpeg.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let h1 = health(relay.addr).await;
    let w: Vec<u64> = viewers
        .iter()
        .zip(&w0)
        .map(|(v, s)| v.pictures() - s)
        .collect();
    let m: Vec<u64> = mjpeg
        .iter()
        .zip(&m0)
        .map(|(n, s)| n.load(Ordering::Relaxed) - s)
        .collect();
    let h264 = count(&h1, "/webrtc/h264_frames") - count(&h0, "/webrtc/h264_frames");
    let panoramas = count(&h1, "/frames_out") - count(&h0, "/frames_out");
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{secs:.1} s: {panoramas} panoramas, {h264} H.264 pictures; WebRTC viewers {w:?}; MJPEG viewers {m:?}; webrtc {}",
        h1["webrtc"]
    );
    assert!(
        panoramas as f64 >= 0.8 * 15.0 * secs,
        "{panoramas} panoramas in {secs:.1} s"
    );
    // One H.264 encode per panorama whatever the number of WebRTC viewers.
    assert!(
        h264 <= panoramas + 1 && h264 + 2 >= panoramas,
        "{h264} H.264 pictures for {panoramas} panoramas"
    );
    for (i, n) in w.iter().enumerate() {
        assert!(
            *n as f64 >= 0.9 * h264 as f64,
            "WebRTC viewer {i}: {n} of {h264}"
        );
    }
    for (i, n) in m.iter().enumerate() {
        assert!(
            *n as f64 >= 0.9 * panoramas as f64,
            "MJPEG viewer {i}: {n} of {panoramas}"
        );
    }
    // The stalled session goes (ICE consent fails or the silence timeout hits).
    wait_health(
        relay.addr,
        "stalled session closed",
        Duration::from_secs(20),
        |j| j["webrtc_viewers"] == 20,
    )
    .await;
    // DELETE ends sessions; without viewers of either kind the cameras close.
    for t in tasks {
        t.abort();
    }
    for v in &viewers {
        let (head, _) = request(relay.addr, "DELETE", &v.location, "", b"")
            .await
            .unwrap();
        assert_eq!(head.status, 200);
    }
    drop(viewers);
    drop(stalled);
    let j = wait_health(relay.addr, "cameras idle", Duration::from_secs(10), |j| {
        j["viewers"] == 0 && all_state(j, "idle")
    })
    .await;
    assert_eq!(j["webrtc_viewers"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_whep_requests_get_a_clear_4xx_and_the_relay_goes_on() {
    let relay = spawn_relay(&["--simulate", "--auth", "user:pass"]);
    let auth = "Authorization: Basic dXNlcjpwYXNz\r\n"; // user:pass
    let with = |h: &str| format!("{auth}{h}");
    let (_, offer) = WhepViewer::new("127.0.0.1:0".parse().unwrap()).unwrap();
    // --auth applies to WHEP.
    let (h, _) = request(relay.addr, "POST", "/whep", SDP, offer.as_bytes())
        .await
        .unwrap();
    assert_eq!(h.status, 401);
    let cases: [(&str, String, Vec<u8>, u16, &str); 5] = [
        (
            "POST",
            with(SDP),
            b"hello, not SDP".to_vec(),
            400,
            "malformed SDP",
        ),
        (
            "POST",
            with("Content-Type: text/plain\r\n"),
            offer.clone().into_bytes(),
            415,
            "application/sdp",
        ),
        (
            "POST",
            with(SDP),
            offer.replace("H264/90000", "VP9/90000").into_bytes(),
            422,
            "H.264",
        ),
        (
            "DELETE",
            auth.to_owned(),
            Vec::new(),
            404,
            "no WHEP session",
        ),
        ("POST", with(SDP), vec![b'v'; 100_000], 413, "larger than"),
    ];
    for (method, headers, body, status, reason) in cases {
        let path = if method == "DELETE" {
            "/whep/0123456789abcdef"
        } else {
            "/whep"
        };
        let (h, text) = request(relay.addr, method, path, &headers, &body)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&text);
        assert_eq!(h.status, status, "{method} {path}: {text}");
        assert!(text.contains(reason), "{method} {path}: {status} {text:?}");
    }
    // Still serving: health, and a WebRTC viewer that plays.
    let j = health(relay.addr).await;
    assert_eq!(j["webrtc_viewers"], 0, "{j}");
    let v = whep_viewer(&relay, &with(SDP)).await;
    wait_for(
        "pictures after the bad requests",
        Duration::from_secs(20),
        || v.pictures() >= 5,
    )
    .await;
    assert!(
        relay.log_text().contains("webrtc: session"),
        "{}",
        relay.log_text()
    );
}
