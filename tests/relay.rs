//! Camera relay behaviour, against a relay and simulated ESP32-CAMs started in-process (the
//! example's modules are compiled in here through `#[path]`). Tests that need external programs
//! (ffmpeg, curl, Python, Chromium) or the built binary are in `tests/relay_external.rs`.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/camera_relay/compose.rs"]
mod compose;
#[allow(dead_code)]
#[path = "../examples/camera_relay/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "../examples/camera_relay/frames.rs"]
mod frames;
#[allow(dead_code)]
#[path = "../examples/camera_relay/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../examples/camera_relay/hub.rs"]
mod hub;
#[path = "../examples/common/mjpeg_client.rs"]
mod mjpeg_client;
#[allow(dead_code)]
#[path = "../examples/camera_relay/placeholder.rs"]
mod placeholder;
#[allow(dead_code)]
#[path = "../examples/camera_relay/relay.rs"]
mod relay;
#[cfg(feature = "opencv")]
#[allow(dead_code)]
#[path = "../examples/camera_relay/rtsp.rs"]
mod rtsp;
#[path = "../examples/common/sim_camera.rs"]
mod sim_camera;
#[allow(dead_code)]
#[path = "../examples/camera_relay/simulate.rs"]
mod simulate;
#[allow(dead_code)]
#[path = "../examples/camera_relay/sources.rs"]
mod sources;
#[allow(dead_code)]
#[path = "../examples/camera_relay/upstream.rs"]
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mjpeg_client::{MjpegClient, get};
use sim_camera::{Fault, SimCamera};
use sources::CamState;

const T: Duration = Duration::from_secs(10);

struct Setup {
    relay: relay::Relay,
    cams: Vec<SimCamera>,
}

impl Setup {
    fn addr(&self) -> SocketAddr {
        self.relay.addr
    }
    fn cam(&self, i: usize) -> &sources::Camera {
        &self.relay.app.cameras[i]
    }
}

/// Three simulated cameras (the fixture panorama) at `fps`, read via `path` (`/stream` or
/// `/capture`), and a relay over them.
async fn setup(fps: f64, path: &str, idle: Duration, auth: Option<&str>) -> Setup {
    let cams = simulate::start_cameras(3, fps)
        .await
        .expect("simulated cameras");
    let mut config: serde_json::Value =
        serde_json::from_str(simulate::CONFIG_JSON).expect("fixture config");
    for (i, c) in cams.iter().enumerate() {
        config::set_url(&mut config, i, &format!("http://{}{path}", c.addr()));
    }
    let opts = relay::RelayOptions {
        config,
        listen: ([127, 0, 0, 1], 0).into(),
        timing: sources::SourceTiming {
            idle,
            ..Default::default()
        },
        compose: compose::ComposeOptions::default(),
        auth: auth.map(str::to_owned),
        prefer: config::Prefer::Http,
        serve: stream_codec::serve::ServeLimits::default(),
        max_viewers: 1000,
    };
    let relay = relay::start(opts).await.expect("relay starts");
    Setup { relay, cams }
}

async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn decode(jpeg: &[u8]) -> frames::Rgb {
    frames::decode_jpeg(jpeg).expect("a decodable JPEG")
}

/// Fraction of the pixels of camera `n`'s tile (rows 10..60) that have the placeholder colour.
fn placeholder_fraction(img: &frames::Rgb, tiles: &[(u32, u32)], n: usize) -> f64 {
    let (x0, w) = tiles[n];
    let mut hit = 0;
    let mut all = 0;
    for y in 10..60 {
        for x in (x0 + 5..x0 + w - 5).step_by(3) {
            let p = img.pixel(x, y).expect("inside");
            all += 1;
            if p.iter()
                .zip(placeholder::TILE_RGB)
                .all(|(a, b)| a.abs_diff(b) <= 12)
            {
                hit += 1;
            }
        }
    }
    hit as f64 / all as f64
}

fn tiles() -> Vec<(u32, u32)> {
    let config: serde_json::Value =
        serde_json::from_str(simulate::CONFIG_JSON).expect("fixture config");
    let (_, c) = relay::parse_config(&config, config::Prefer::Http).expect("valid");
    let plan = cam_stitch::Plan::new(&c, &[(640, 480); 3]).expect("plan");
    (0..3)
        .map(|i| {
            let r = plan.camera_columns(i).expect("columns");
            (r.start, r.end - r.start)
        })
        .collect()
}

fn all_live(s: &Setup) -> bool {
    (0..3).all(|i| s.cam(i).status().state == CamState::Live)
}

fn states(s: &Setup) -> String {
    (0..3)
        .map(|i| format!("{:?} ", s.cam(i).status()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_one_upstream_connection_per_camera_and_idle_close() {
    let s = setup(15.0, "/stream", Duration::from_millis(800), None).await;
    // Before any viewer: no camera connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        s.cams.iter().all(|c| c.stats().connections == 0),
        "cameras opened without viewers"
    );
    let mut viewers = Vec::new();
    for _ in 0..5 {
        viewers.push(
            MjpegClient::connect(s.addr(), "/stream", None)
                .await
                .expect("connect"),
        );
    }
    let mut last = None;
    for v in &mut viewers {
        for _ in 0..5 {
            let f = tokio::time::timeout(T, v.next_frame())
                .await
                .expect("frame in time")
                .expect("io")
                .expect("frame");
            // Content-Length on every part, and it is the JPEG's length.
            assert_eq!(f.headers.content_length(), Some(f.data.len() as u64));
            last = Some(f.data);
        }
        let ct = v
            .head()
            .expect("head")
            .content_type()
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with("multipart/x-mixed-replace"), "{ct}");
    }
    let img = decode(&last.expect("a frame"));
    assert_eq!(img.size(), (1604, 400));
    wait_until("all cameras live", T, || all_live(&s)).await;
    // 5 viewers, one upstream connection per camera.
    for (i, c) in s.cams.iter().enumerate() {
        assert_eq!(c.stats().connections, 1, "camera {i} connections");
        assert_eq!(c.stats().refused, 0);
    }
    assert_eq!(s.relay.app.hub.viewers(), 5);
    drop(viewers);
    // Closed after the idle time (0.8 s) without viewers.
    wait_until("viewers gone", T, || s.relay.app.hub.viewers() == 0).await;
    let gone = Instant::now();
    wait_until("cameras idle", T, || {
        (0..3).all(|i| s.cam(i).status().state == CamState::Idle)
    })
    .await;
    let idle_after = gone.elapsed();
    assert!(
        idle_after >= Duration::from_millis(700),
        "closed too early: {idle_after:?}"
    );
    wait_until("camera connections closed", T, || {
        s.cams.iter().all(|c| c.stats().active == 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_health_metrics_index_and_auth() {
    let s = setup(15.0, "/stream", Duration::from_secs(5), Some("user:secret")).await;
    let good = http::App::basic_auth("user:secret");
    let bad = http::App::basic_auth("user:wrong");
    // /health is open.
    let (h, body) = get(s.addr(), "/health", None, T).await.expect("health");
    assert_eq!(h.status, 200);
    let j: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(j["cameras"].as_array().expect("cameras").len(), 3);
    assert_eq!(j["cameras"][1]["state"], "idle");
    // Everything else needs the password.
    for path in ["/", "/stream", "/snapshot.jpg", "/metrics", "/camera/0"] {
        let (h, _) = get(s.addr(), path, None, T).await.expect("request");
        assert_eq!(h.status, 401, "{path} without auth");
        assert!(
            h.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Basic"))
        );
        let (h, _) = get(s.addr(), path, Some(&bad), T).await.expect("request");
        assert_eq!(h.status, 401, "{path} with a wrong password");
    }
    // A snapshot wakes the cameras and returns a panorama.
    let (h, jpeg) = get(s.addr(), "/snapshot.jpg", Some(&good), T)
        .await
        .expect("snapshot");
    assert_eq!(h.status, 200);
    assert_eq!(h.content_type(), Some("image/jpeg"));
    assert_eq!(decode(&jpeg).size(), (1604, 400));
    wait_until("all cameras live", T, || all_live(&s)).await;
    let (h, body) = get(s.addr(), "/health", None, T).await.expect("health");
    assert_eq!(h.status, 200);
    let j: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    for c in j["cameras"].as_array().expect("cameras") {
        assert_eq!(c["state"], "live", "{c}");
        assert!(c["last_frame_age_s"].as_f64().expect("age") < 1.0, "{c}");
    }
    assert!(
        j["viewers"].is_number() && j["output_fps"].is_number(),
        "{j}"
    );
    let (_, cam) = get(s.addr(), "/camera/2", Some(&good), T)
        .await
        .expect("camera jpeg");
    assert_eq!(decode(&cam).size(), (640, 480));
    let (h, text) = get(s.addr(), "/metrics", Some(&good), T)
        .await
        .expect("metrics");
    assert_eq!(h.status, 200);
    let text = String::from_utf8(text.to_vec()).expect("utf-8");
    for needle in [
        "# TYPE relay_viewers gauge",
        "relay_camera_up{camera=\"0\"} 1",
        "relay_output_frames_total ",
        "relay_camera_fps{camera=\"2\"}",
    ] {
        assert!(text.contains(needle), "metrics lack {needle:?}:\n{text}");
    }
    let (h, page) = get(s.addr(), "/", Some(&good), T).await.expect("index");
    assert_eq!(h.status, 200);
    let page = String::from_utf8(page.to_vec()).expect("utf-8");
    assert!(
        page.contains("src=\"/stream\"") && page.contains("id=cam2"),
        "{page}"
    );
}

/// Reads frames for `d`, returns how many.
async fn count_frames(v: &mut MjpegClient, d: Duration) -> u64 {
    let end = tokio::time::Instant::now() + d;
    let mut n = 0;
    while let Ok(f) = tokio::time::timeout_at(end, v.next_frame()).await {
        f.expect("io").expect("stream open");
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_never_reads_does_not_delay_the_others() {
    let s = setup(15.0, "/stream", Duration::from_secs(5), None).await;
    let mut a = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    let mut b = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    count_frames(&mut a, Duration::from_millis(500)).await;
    count_frames(&mut b, Duration::from_millis(500)).await;
    // The stuck viewer: sends its request and never reads a byte.
    let stuck = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    let before = s.relay.app.hub.published();
    let (na, nb) = tokio::join!(
        count_frames(&mut a, Duration::from_secs(3)),
        count_frames(&mut b, Duration::from_secs(3))
    );
    let produced = s.relay.app.hub.published() - before;
    assert!(
        produced >= 30,
        "the relay produced only {produced} panoramas in 3 s"
    );
    for n in [na, nb] {
        assert!(
            n as f64 >= 0.95 * produced as f64 - 1.0,
            "a reading viewer got {n} of {produced} frames"
        );
    }
    assert_eq!(s.relay.app.hub.viewers(), 3);
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_camera_shows_a_placeholder_and_comes_back() {
    let s = setup(15.0, "/stream", Duration::from_secs(5), None).await;
    let tiles = tiles();
    let mut v = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    wait_until("all cameras live", T, || all_live(&s)).await;
    count_frames(&mut v, Duration::from_millis(300)).await;
    let f = v.next_frame().await.expect("io").expect("frame");
    assert!(
        placeholder_fraction(&decode(&f.data), &tiles, 1) < 0.2,
        "camera 1 should be live"
    );
    // Power cut on camera 1.
    s.cams[1].stop();
    let killed = Instant::now();
    let placeholder_at = loop {
        let f = tokio::time::timeout(T, v.next_frame())
            .await
            .expect("frame in time")
            .expect("io")
            .expect("frame");
        let img = decode(&f.data);
        if placeholder_fraction(&img, &tiles, 1) > 0.8 {
            // The other cameras keep streaming.
            assert!(
                placeholder_fraction(&img, &tiles, 0) < 0.2
                    && placeholder_fraction(&img, &tiles, 2) < 0.2
            );
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(3),
            "no placeholder 3 s after the camera died"
        );
    };
    assert!(
        placeholder_at < Duration::from_secs(1),
        "placeholder after {placeholder_at:?}"
    );
    assert_ne!(s.cam(1).status().state, CamState::Live);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Power back on: live within 2 s, no relay restart.
    s.cams[1].restart().await.expect("restart");
    let back = Instant::now();
    let live_at = loop {
        let f = tokio::time::timeout(T, v.next_frame())
            .await
            .expect("frame in time")
            .expect("io")
            .expect("frame");
        if placeholder_fraction(&decode(&f.data), &tiles, 1) < 0.2 {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "camera 1 not back 5 s after its return"
        );
    };
    assert!(
        live_at < Duration::from_secs(2),
        "live again after {live_at:?}"
    );
    eprintln!("placeholder after {placeholder_at:?}, live again after {live_at:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_connect_disconnect_cycles() {
    let s = setup(15.0, "/stream", Duration::from_millis(500), None).await;
    let mut with_frame = 0;
    for i in 0..1000 {
        let mut v = MjpegClient::connect(s.addr(), "/stream", None)
            .await
            .expect("connect");
        // Every 50th viewer waits for a frame; the others hang up once the response head came.
        tokio::time::timeout(T, v.wait_head())
            .await
            .expect("head in time")
            .expect("head");
        if i % 50 == 0 {
            tokio::time::timeout(T, v.next_frame())
                .await
                .expect("frame in time")
                .expect("io")
                .expect("frame");
            with_frame += 1;
        }
    }
    assert_eq!(with_frame, 20);
    wait_until("viewers gone", T, || s.relay.app.hub.viewers() == 0).await;
    assert_eq!(s.relay.app.hub.viewers_total.load(Ordering::Relaxed), 1000);
    wait_until("cameras idle", T, || {
        (0..3).all(|i| s.cam(i).status().state == CamState::Idle)
    })
    .await;
    wait_until("camera connections closed", T, || {
        s.cams.iter().all(|c| c.stats().active == 0)
    })
    .await;
    for (i, c) in s.cams.iter().enumerate() {
        // A handful of connections (reopened after idle periods between waits), never 1000.
        assert!(
            c.stats().connections <= 25,
            "camera {i}: {} connections",
            c.stats().connections
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_cameras_are_placeholders_and_recover() {
    let s = setup(15.0, "/stream", Duration::from_secs(5), None).await;
    let tiles = tiles();
    s.cams[0].set_fault(Fault::Garbage);
    s.cams[1].set_fault(Fault::Truncated);
    s.cams[2].set_fault(Fault::EndlessPart);
    let mut v = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    // Let the faults play for a while: the relay keeps serving panoramas.
    let n = count_frames(&mut v, Duration::from_millis(2500)).await;
    assert!(n >= 2, "only {n} panoramas while cameras misbehave");
    let f = v.next_frame().await.expect("io").expect("frame");
    let img = decode(&f.data);
    for cam in 0..3 {
        assert!(
            placeholder_fraction(&img, &tiles, cam) > 0.8,
            "camera {cam} should be a placeholder"
        );
    }
    assert!(
        s.cam(1).bad_frames_total.load(Ordering::Relaxed) > 0,
        "truncated JPEGs counted"
    );
    for c in &s.cams {
        c.set_fault(Fault::None);
    }
    // Garbage and endless streams end in a reconnect (read limit / no boundary); all recover.
    let t0 = Instant::now();
    while !all_live(&s) {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "not all live again: {}",
            states(&s)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the panorama shows all three again.
    let t0 = Instant::now();
    loop {
        let f = tokio::time::timeout(T, v.next_frame())
            .await
            .expect("frame in time")
            .expect("io")
            .expect("frame");
        let img = decode(&f.data);
        if (0..3).all(|cam| placeholder_fraction(&img, &tiles, cam) < 0.2) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "live cameras still shown as placeholders"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_capture_urls_on_one_keep_alive_connection() {
    let s = setup(15.0, "/capture", Duration::from_secs(5), None).await;
    let mut v = MjpegClient::connect(s.addr(), "/stream", None)
        .await
        .expect("connect");
    wait_until("all cameras live", T, || all_live(&s)).await;
    let before = s.cam(0).frames_total.load(Ordering::Relaxed);
    count_frames(&mut v, Duration::from_secs(1)).await;
    let polled = s.cam(0).frames_total.load(Ordering::Relaxed) - before;
    assert!(polled >= 5, "only {polled} JPEGs polled in 1 s");
    for (i, c) in s.cams.iter().enumerate() {
        assert_eq!(
            c.stats().connections,
            1,
            "camera {i}: one keep-alive connection"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_camera_speaks_like_an_esp32_cam() {
    let frames = simulate::frames(0);
    let cam = SimCamera::start(([127, 0, 0, 1], 0).into(), frames.clone(), 30.0)
        .await
        .expect("start");
    // /capture: the fixture JPEG itself.
    let (h, body) = get(cam.addr(), "/capture", None, T).await.expect("capture");
    assert_eq!(h.status, 200);
    assert_eq!(h.content_type(), Some("image/jpeg"));
    assert!(frames.contains(&body));
    // /stream: the same response head and chunk layout as the recorded device
    // (esp32cam.wire.bin): headers, then per frame a 0x24-byte boundary chunk, a header chunk
    // with Content-Length and X-Timestamp, and the JPEG chunk.
    let wire = posecam_test_support::read(&posecam_test_support::shared(
        "media/mjpeg/esp32cam.wire.bin",
    ));
    let mut sock = tokio::net::TcpStream::connect(cam.addr())
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sock.write_all(b"GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    while got.len() < 200_000 {
        let mut buf = [0u8; 65536];
        let n = tokio::time::timeout(T, sock.read(&mut buf))
            .await
            .expect("data")
            .expect("read");
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let head_len = |b: &[u8]| b.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let (gh, wh) = (head_len(&got), head_len(&wire));
    let lines = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with("X-Framerate"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(lines(&got[..gh]), lines(&wire[..wh]));
    assert_eq!(
        &got[gh..gh + 4],
        &wire[wh..wh + 4],
        "first chunk: 24 hex = CRLF--boundary CRLF"
    );
    assert_eq!(&got[gh..gh + 40], &wire[wh..wh + 40]);
    let part = String::from_utf8_lossy(&got[gh + 41..gh + 160]).into_owned();
    assert!(
        part.contains("Content-Type: image/jpeg\r\nContent-Length: ")
            && part.contains("X-Timestamp: "),
        "{part:?}"
    );
    // And stream-codec reads the frames back byte-exact.
    let mut d = stream_codec::HttpDecoder::default();
    d.push(&got);
    let f = d.next_frame().expect("a frame").expect("valid");
    assert!(frames.iter().any(|j| j[..] == f.data[..]));
    // One client at a time: a second one is refused while the stream is open.
    let (h, _) = get(cam.addr(), "/capture", None, T)
        .await
        .expect("second client");
    assert_eq!(h.status, 503);
    assert_eq!(cam.stats().refused, 1);
    drop(sock);
    wait_until("camera free", T, || cam.stats().active == 0).await;
    let (h, _) = get(cam.addr(), "/capture", None, T).await.expect("capture");
    assert_eq!(h.status, 200);
}

#[test]
fn bad_config_errors_name_camera_and_field() {
    let good: serde_json::Value =
        serde_json::from_str(simulate::CONFIG_JSON).expect("fixture config");
    assert!(relay::parse_config(&good, config::Prefer::Http).is_ok());
    let cases: [(&str, serde_json::Value, &[&str]); 4] = [
        ("url type", serde_json::json!(5), &["camera 1", "url"]),
        (
            "ftp url",
            serde_json::json!({"jpg": "ftp://x/capture"}),
            &["camera 1", "url.jpg"],
        ),
        (
            "no url kinds",
            serde_json::json!({"foo": "http://x"}),
            &["camera 1", "url"],
        ),
        (
            "https",
            serde_json::json!({"jpg": "https://cam/capture"}),
            &["camera 1", "url.jpg", "https"],
        ),
    ];
    for (what, url, needles) in cases {
        let mut c = good.clone();
        c["camera"][1]["url"] = url;
        let e = relay::parse_config(&c, config::Prefer::Http)
            .expect_err(what)
            .to_string();
        for n in needles {
            assert!(e.contains(n), "{what}: {e:?} lacks {n:?}");
        }
    }
    // Geometry errors come from cam-stitch and name the camera and field too.
    let mut c = good.clone();
    c["camera"][2]["concat_x"]["back"] = serde_json::json!(9999);
    let e = relay::parse_config(&c, config::Prefer::Http)
        .expect_err("back > width")
        .to_string();
    assert!(e.contains("camera 2") && e.contains("concat_x"), "{e}");
    let mut c = good.clone();
    c["camera"][0]["perspective"]
        .as_object_mut()
        .expect("object")
        .remove("hight");
    let e = relay::parse_config(&c, config::Prefer::Http)
        .expect_err("no hight")
        .to_string();
    assert!(e.contains("hight"), "{e}");
}

#[test]
fn fixtures_are_the_stitch_set() {
    // The embedded fixtures are the shared stitch set's camera images (BSD-3 Sports2D).
    for (set, k) in [("f040", 0), ("f160", 1)] {
        for cam in 0..3 {
            let shared = posecam_test_support::read(&posecam_test_support::shared(&format!(
                "media/stitch/{set}/cam{cam}.jpg"
            )));
            assert_eq!(
                simulate::frames(cam)[k],
                Bytes::from(shared),
                "{set} cam{cam}"
            );
        }
    }
    let _ = Arc::new(());
}
