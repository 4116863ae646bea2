//! The camera client against a loopback camera (real sockets, bounded in time): recorded streams
//! plain and chunked, `image/jpeg` polling on one keep-alive connection, per-phase deadlines
//! against a camera that drips one byte a second, Basic and Digest auth, reconnects while the
//! camera is down, and no password in any message.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Auth, Camera, Serve, recorded_wire, sample_jpeg};
use futures_util::StreamExt;
use posecam_test_support::{read, shared};
use sha2::{Digest, Sha256};
use stream_codec::Frame;
use stream_codec::client::{self, CameraStream, ClientConfig, ClientError, ClientState, Phase};

const LIMIT: Duration = Duration::from_secs(20);

fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Items until the first connection-level error (the camera closed the recorded stream).
async fn until_failure(camera: &mut CameraStream) -> (Vec<Frame>, Vec<ClientError>, ClientError) {
    let mut frames = Vec::new();
    let mut skipped = Vec::new();
    let fatal = tokio::time::timeout(LIMIT, async {
        loop {
            match camera.next().await.expect("the stream goes on") {
                Ok(f) => frames.push(f),
                Err(e) if e.is_recoverable() => skipped.push(e),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("bounded");
    (frames, skipped, fatal)
}

#[tokio::test]
async fn recorded_streams_plain_and_chunked() {
    for (name, chunked) in [
        ("esp32cam", true),
        ("esp32cam", false),
        ("mjpg_streamer", false),
        ("flask_relay", false),
        ("quirky", false),
    ] {
        let meta: serde_json::Value =
            serde_json::from_slice(&read(&shared(&format!("media/mjpeg/{name}.json")))).unwrap();
        let want: Vec<String> = meta["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["sha256"].as_str().unwrap().to_owned())
            .collect();
        let cam = Camera::start(Serve::Wire(recorded_wire(name, chunked)), Auth::None).await;
        let config = ClientConfig {
            max_reconnects: Some(0),
            ..ClientConfig::default()
        };
        let mut camera = client::connect(&cam.url("/stream"), config).unwrap();
        let (frames, skipped, fatal) = until_failure(&mut camera).await;
        let got: Vec<String> = frames.iter().map(|f| hex(&f.data)).collect();
        assert_eq!(got, want, "{name} chunked={chunked}");
        let indexes: Vec<u64> = frames.iter().map(|f| f.index).collect();
        assert_eq!(indexes, (0..want.len() as u64).collect::<Vec<_>>());
        // quirky's last part is truncated: reported as a skipped part, never as a frame.
        let truncated = usize::from(meta.get("truncated_final_part").is_some());
        assert_eq!(skipped.len(), truncated, "{name}: {skipped:?}");
        assert!(
            matches!(fatal, ClientError::Closed { .. }),
            "{name}: {fatal}"
        );
        assert!(
            camera.next().await.is_none(),
            "max_reconnects = 0 ends the stream"
        );
        let st = camera.status().borrow().clone();
        assert_eq!(st.frames, want.len() as u64);
        assert_eq!(st.state, ClientState::Down);
        assert_eq!(
            st.bytes,
            recorded_wire(name, chunked).len() as u64,
            "{name}"
        );
        assert_eq!(
            cam.connections.load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }
}

#[tokio::test]
async fn jpeg_polled_on_one_keepalive_connection_at_the_chosen_rate() {
    let jpeg = sample_jpeg();
    let cam = Camera::start(Serve::Jpeg(jpeg.clone()), Auth::None).await;
    let config = ClientConfig {
        poll_interval: Duration::from_millis(20),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&cam.url("/capture"), config).unwrap();
    let start = Instant::now();
    for i in 0..25u64 {
        let f = tokio::time::timeout(LIMIT, camera.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(f.data, jpeg);
        assert_eq!(f.index, i);
    }
    let elapsed = start.elapsed();
    // 24 intervals of 20 ms at least between the first and the 25th request.
    assert!(
        elapsed >= Duration::from_millis(24 * 20),
        "{elapsed:?}: rate not capped"
    );
    assert_eq!(
        cam.connections.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let requests = cam.requests.lock().unwrap().clone();
    assert!(
        requests.len() >= 25 && requests.len() <= 26,
        "{}",
        requests.len()
    );
    assert!(
        requests[0].starts_with("GET /capture HTTP/1.1\r\n"),
        "{}",
        requests[0]
    );
    assert!(!requests[0].to_ascii_lowercase().contains("authorization"));
    assert_eq!(camera.status().borrow().state, ClientState::Live);
}

/// A camera dripping one byte a second fails at the phase deadline (3 s by default), with an
/// error naming the phase.
#[tokio::test]
async fn dripping_camera_fails_at_the_phase_deadline() {
    for (serve, phase, text) in [
        (Serve::DripHead, Phase::Head, "response head deadline"),
        (Serve::DripBody, Phase::FirstFrame, "first frame deadline"),
    ] {
        let cam = Camera::start(serve, Auth::None).await;
        let mut camera = client::connect(&cam.url("/stream"), ClientConfig::default()).unwrap();
        let start = Instant::now();
        let item = tokio::time::timeout(Duration::from_secs(6), camera.next())
            .await
            .expect("a deadline error within 6 s")
            .unwrap();
        let elapsed = start.elapsed();
        let e = item.expect_err("no frame from a dripping camera");
        assert_eq!(e.timed_out_phase(), Some(phase), "{e}");
        assert!(e.to_string().contains(text), "{e}");
        assert!(
            elapsed >= Duration::from_millis(2900) && elapsed < Duration::from_secs(4),
            "{elapsed:?}"
        );
        let st = camera.status().borrow().clone();
        assert_eq!(st.state, ClientState::Down);
        assert!(st.reason.as_deref().unwrap_or("").contains(text), "{st:?}");
    }
}

/// A camera that stops sending on an open connection: the silence deadline names its phase.
#[tokio::test]
async fn silence_deadline() {
    let serve = Serve::ThenSilent {
        jpeg: sample_jpeg(),
        frames: 3,
    };
    let cam = Camera::start(serve, Auth::None).await;
    let config = ClientConfig {
        silence_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&cam.url("/stream"), config).unwrap();
    for _ in 0..3 {
        camera.next().await.unwrap().unwrap();
    }
    let start = Instant::now();
    let e = tokio::time::timeout(LIMIT, camera.next())
        .await
        .unwrap()
        .unwrap()
        .expect_err("silence");
    assert_eq!(e.timed_out_phase(), Some(Phase::Silence), "{e}");
    assert!(
        e.to_string()
            .contains("frame silence deadline expired after 0.5 s"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// A camera that sends corrupt parts as fast as it can: each is a skipped-part item, and the
/// first-frame deadline still expires (reads are always ready, the deadline is checked anyway).
#[tokio::test]
async fn corrupt_parts_without_end_hit_the_frame_deadline() {
    let cam = Camera::start(Serve::CorruptParts, Auth::None).await;
    let config = ClientConfig {
        first_frame_timeout: Duration::from_secs(1),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&cam.url("/stream"), config).unwrap();
    let start = Instant::now();
    let (frames, skipped, fatal) = until_failure(&mut camera).await;
    assert!(frames.is_empty());
    assert!(skipped.len() > 10, "{}", skipped.len());
    assert!(
        matches!(skipped[0], ClientError::Decode(_)),
        "{}",
        skipped[0]
    );
    assert_eq!(fatal.timed_out_phase(), Some(Phase::FirstFrame), "{fatal}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(camera.status().borrow().errors, skipped.len() as u64 + 1);
}

/// A listener that never accepts, its backlog full: the SYN goes unanswered and the connect
/// deadline expires.
#[tokio::test]
async fn connect_deadline() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue (never accepted).
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let config = ClientConfig {
        connect_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&format!("http://{addr}/stream"), config).unwrap();
    let start = Instant::now();
    let e = tokio::time::timeout(LIMIT, camera.next())
        .await
        .unwrap()
        .unwrap()
        .expect_err("no accept");
    assert_eq!(e.timed_out_phase(), Some(Phase::Connect), "{e}");
    assert!(
        e.to_string()
            .starts_with("connect deadline expired after 0.5 s"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(listener);
}

#[tokio::test]
async fn basic_auth_from_the_url() {
    let auth = Auth::Basic {
        user: "admin",
        password: "s@cret",
    };
    let cam = Camera::start(Serve::Jpeg(sample_jpeg()), auth).await;
    // Percent-encoded user-info is decoded before use.
    let mut camera = client::connect(
        &cam.url_with("admin:s%40cret", "/capture"),
        ClientConfig::default(),
    )
    .unwrap();
    camera.next().await.unwrap().unwrap();
    let first = cam.requests.lock().unwrap()[0].clone();
    assert!(
        first.contains("\r\nAuthorization: Basic YWRtaW46c0BjcmV0\r\n"),
        "{first}"
    );
    // Without credentials: 401 as an error, and the stream goes on trying.
    let mut anonymous = client::connect(&cam.url("/capture"), ClientConfig::default()).unwrap();
    let e = anonymous.next().await.unwrap().expect_err("401");
    assert!(matches!(e, ClientError::Unauthorized { .. }), "{e}");
    assert!(e.to_string().contains("401"), "{e}");
    // Wrong password: refused, not retried in a loop.
    let mut wrong = client::connect(
        &cam.url_with("admin:nope", "/capture"),
        ClientConfig::default(),
    )
    .unwrap();
    let e = wrong.next().await.unwrap().expect_err("401");
    assert!(matches!(e, ClientError::Unauthorized { .. }), "{e}");
}

#[tokio::test]
async fn digest_auth_md5_and_sha256() {
    for algorithm in ["MD5", "SHA-256"] {
        let auth = Auth::Digest {
            user: "admin",
            password: "Circle Of Life",
            algorithm,
        };
        let cam = Camera::start(
            Serve::Live {
                jpeg: sample_jpeg(),
                fps: 30.0,
            },
            auth,
        )
        .await;
        let url = cam.url_with("admin:Circle%20Of%20Life", "/stream?res=vga");
        let mut camera = client::connect(&url, ClientConfig::default()).unwrap();
        for _ in 0..3 {
            let item = tokio::time::timeout(LIMIT, camera.next())
                .await
                .unwrap()
                .unwrap();
            item.unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        }
        let requests = cam.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 2, "{algorithm}: Basic first, then Digest");
        assert!(
            requests[0].contains("Authorization: Basic "),
            "{}",
            requests[0]
        );
        let digest = &requests[1];
        for want in [
            "Authorization: Digest username=\"admin\"",
            "realm=\"posecam-test\"",
            "uri=\"/stream?res=vga\"",
            "qop=auth",
            "nc=00000001",
            "opaque=\"5ccc069c\"",
        ] {
            assert!(digest.contains(want), "{algorithm}: {want} not in {digest}");
        }
        assert!(
            digest.contains(&format!("algorithm={algorithm}")),
            "{digest}"
        );
        assert_eq!(camera.status().borrow().errors, 0);
    }
}

#[tokio::test]
async fn reconnects_while_down_and_resumes() {
    let addr = Camera::free_port().await;
    let url = format!("http://{addr}/stream");
    let mut camera = client::connect(&url, ClientConfig::default()).unwrap();
    let status = camera.status();
    // Down: connection refused, again and again (backoff 100..500 ms).
    let start = Instant::now();
    let mut refused = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        let e = camera.next().await.unwrap().expect_err("nothing listens");
        assert!(
            matches!(
                e,
                ClientError::Io {
                    phase: Phase::Connect,
                    ..
                }
            ),
            "{e}"
        );
        refused += 1;
    }
    assert!((3..=20).contains(&refused), "{refused} attempts in 1.5 s");
    assert_eq!(status.borrow().state, ClientState::Down);
    // Up: frames resume.
    let cam = Camera::start_at(
        addr,
        Serve::Live {
            jpeg: sample_jpeg(),
            fps: 30.0,
        },
        Auth::None,
    )
    .await;
    let frame = tokio::time::timeout(LIMIT, async {
        loop {
            if let Ok(f) = camera.next().await.unwrap() {
                return f;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(frame.data, sample_jpeg());
    let st = status.borrow().clone();
    assert_eq!(st.state, ClientState::Live);
    assert!(st.reconnects >= refused as u64 - 1, "{st:?}");
    assert_eq!(st.reason, None);
    // Down again mid-stream, then up: the same stream goes on.
    cam.stop();
    drop(cam);
    let e = tokio::time::timeout(LIMIT, async {
        loop {
            if let Err(e) = camera.next().await.unwrap() {
                return e;
            }
        }
    })
    .await
    .unwrap();
    assert!(!e.is_recoverable(), "{e}");
    let _cam = Camera::start_at(
        addr,
        Serve::Live {
            jpeg: sample_jpeg(),
            fps: 30.0,
        },
        Auth::None,
    )
    .await;
    let before = status.borrow().frames;
    tokio::time::timeout(LIMIT, async {
        while status.borrow().frames < before + 5 {
            let _ = camera.next().await.unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn max_reconnects_ends_the_stream() {
    let addr = Camera::free_port().await;
    let config = ClientConfig {
        max_reconnects: Some(2),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&format!("http://{addr}/"), config).unwrap();
    let items: Vec<_> = tokio::time::timeout(LIMIT, camera.by_ref().collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(items.len(), 3, "first try + 2 reconnects");
    assert_eq!(camera.status().borrow().reconnects, 2);
    assert_eq!(camera.status().borrow().errors, 3);
}

/// No password in any error, status or Debug string, whatever fails.
#[tokio::test]
async fn passwords_never_shown() {
    const SECRET: &str = "Zq9sEcReT";
    let userinfo = format!("admin:{SECRET}");
    let drip = Camera::start(Serve::DripHead, Auth::None).await;
    let refusing = Camera::start(
        Serve::Jpeg(sample_jpeg()),
        Auth::Digest {
            user: "admin",
            password: "other",
            algorithm: "MD5",
        },
    )
    .await;
    let down = Camera::free_port().await;
    let wrong_type = Camera::start(
        Serve::Wire(bytes::Bytes::from_static(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi",
        )),
        Auth::None,
    )
    .await;
    let urls = [
        drip.url_with(&userinfo, "/stream"),
        refusing.url_with(&userinfo, "/stream"),
        format!("http://{userinfo}@{down}/stream"),
        wrong_type.url_with(&userinfo, "/"),
    ];
    for url in &urls {
        let mut camera = client::connect(url, ClientConfig::default()).unwrap();
        let mut shown = vec![
            format!("{camera:?}"),
            format!("{:?}", camera.url()),
            camera.url().to_string(),
        ];
        let e = tokio::time::timeout(LIMIT, camera.next())
            .await
            .unwrap()
            .unwrap()
            .expect_err("fails");
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
        let st = camera.status().borrow().clone();
        shown.push(format!("{st:?}"));
        shown.push(st.url.clone());
        shown.push(format!("{camera:?}"));
        assert!(st.reason.is_some());
        for s in &shown {
            assert!(!s.contains(SECRET), "password shown: {s}");
        }
        assert!(st.url.contains("admin:***@"), "{}", st.url);
    }
    let bad = client::connect(
        &format!("ftp://admin:{SECRET}@cam/"),
        ClientConfig::default(),
    )
    .expect_err("not http");
    assert!(
        !bad.to_string().contains(SECRET) && !format!("{bad:?}").contains(SECRET),
        "{bad}"
    );
}

#[test]
fn camera_stream_is_send_and_unpin() {
    fn send_unpin<T: Send + Unpin>() {}
    send_unpin::<CameraStream>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ClientError>();
    send_sync::<stream_codec::client::ClientStatus>();
}
