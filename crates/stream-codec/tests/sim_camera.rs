//! The simulated ESP32-CAM (`sim_camera`, feature `sim-camera`) against the recorded device.
#![cfg(feature = "sim-camera")]
#![allow(clippy::unwrap_used)]

mod support;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use stream_codec::http::{ResponseDecoder, ResponseHead};
use stream_codec::sim_camera::{Fault, SimCamera};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(10);

/// `GET path` with `Connection: close` (and `Authorization`): head and body.
async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    auth: Option<&str>,
) -> std::io::Result<(ResponseHead, Bytes)> {
    let mut sock = tokio::net::TcpStream::connect(addr).await?;
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    sock.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: cam\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let (mut resp, mut body) = (ResponseDecoder::default(), BytesMut::new());
    loop {
        while let Some(piece) = resp.next_body() {
            body.extend_from_slice(&piece.map_err(std::io::Error::other)?);
        }
        if resp.is_done() {
            break;
        }
        let mut buf = BytesMut::with_capacity(65536);
        if tokio::time::timeout(T, sock.read_buf(&mut buf)).await?? == 0 {
            resp.finish();
        } else {
            resp.push_bytes(buf.freeze());
        }
    }
    Ok((
        resp.head()
            .cloned()
            .ok_or_else(|| std::io::Error::other("no head"))?,
        body.freeze(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_camera_speaks_like_an_esp32_cam() {
    let frames: Vec<Bytes> = ["f040", "f160"]
        .iter()
        .map(|f| {
            Bytes::from(crate::support::read(&crate::support::shared(&format!(
                "media/stitch/{f}/cam0.jpg"
            ))))
        })
        .collect();
    let cam = SimCamera::start(([127, 0, 0, 1], 0).into(), frames.clone(), 30.0)
        .await
        .expect("start");
    // /capture: the fixture JPEG itself.
    let (h, body) = get(cam.addr(), "/capture", None).await.expect("capture");
    assert_eq!(h.status, 200);
    assert_eq!(h.content_type(), Some("image/jpeg"));
    assert!(frames.contains(&body));
    // /stream: the same response head and chunk layout as the recorded device
    // (esp32cam.wire.bin): headers, then per frame a 0x24-byte boundary chunk, a header chunk
    // with Content-Length and X-Timestamp, and the JPEG chunk.
    let wire = crate::support::read(&crate::support::shared("media/mjpeg/esp32cam.wire.bin"));
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
    let (h, _) = get(cam.addr(), "/capture", None)
        .await
        .expect("second client");
    assert_eq!(h.status, 503);
    assert_eq!(cam.stats().refused, 1);
    drop(sock);
    let t0 = std::time::Instant::now();
    while cam.stats().active > 0 {
        assert!(t0.elapsed() < T, "camera not free");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (h, _) = get(cam.addr(), "/capture", None).await.expect("capture");
    assert_eq!(h.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_drip_and_frame_override() {
    let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]);
    let cam = SimCamera::start(([127, 0, 0, 1], 0).into(), vec![jpeg], 30.0)
        .await
        .unwrap();
    cam.require_basic_auth(Some("admin:s3cret"));
    let (h, _) = get(cam.addr(), "/capture", None).await.unwrap();
    assert_eq!(h.status, 401);
    assert!(
        h.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );
    // One client at a time, as an ESP32-CAM: the camera frees its slot once it has seen the
    // previous connection close, which may be a moment after the client read the answer.
    wait_free(&cam).await;
    let (h, _) = get(cam.addr(), "/capture", Some("Basic YWRtaW46czNjcmV0"))
        .await
        .unwrap();
    assert_eq!(h.status, 200);
    assert_eq!(
        cam.last_authorization().as_deref(),
        Some("Basic YWRtaW46czNjcmV0")
    );
    cam.require_basic_auth(None);
    let other = Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]);
    cam.set_frames(Some(vec![other.clone()]));
    wait_free(&cam).await;
    let (_, body) = get(cam.addr(), "/capture", None).await.unwrap();
    assert_eq!(body, other);
    // Drip: one byte a second.
    cam.set_fault(Fault::Drip);
    wait_free(&cam).await;
    let mut sock = tokio::net::TcpStream::connect(cam.addr()).await.unwrap();
    sock.write_all(b"GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(2200) {
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(300), sock.read(&mut buf)).await
        {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!((2..=4).contains(&got.len()), "{} bytes in 2.2 s", got.len());
}

/// Waits (bounded) until the simulated camera serves no client.
async fn wait_free(cam: &SimCamera) {
    let t0 = std::time::Instant::now();
    while cam.stats().active > 0 {
        assert!(t0.elapsed() < T, "camera not free");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
