//! One upstream session of a camera: connect, read frames, deliver them, until an error.
//!
//! HTTP cameras are read over a plain tokio `TcpStream` (HTTP/1.1, keep-alive): the response's
//! `Content-Type` decides between a single JPEG (`image/jpeg`: polled again and again on the same
//! connection) and an MJPEG stream (`multipart/x-mixed-replace`: parsed with stream-codec's
//! decoder). Chunked transfer coding (what ESP32-CAM firmware sends) is removed first. RTSP goes
//! to OpenCV (`rtsp.rs`, feature `opencv`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use stream_codec::Decoder;
use stream_codec::http::{BodyKind, ResponseDecoder};

use crate::config::SourceUrl;
use crate::frames::MAX_JPEG_BYTES;
use crate::sources::{Camera, SourceTiming};

/// Why a session ended.
#[derive(Debug)]
pub struct SessionError(pub String);

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SessionError {}

fn fail<T>(msg: impl Into<String>) -> Result<T, SessionError> {
    Err(SessionError(msg.into()))
}

/// Runs one session for `cam`; returns when the connection ends (never `Ok` for a healthy
/// stream: the caller reconnects).
pub async fn session(cam: &Arc<Camera>, timing: &SourceTiming) -> Result<(), SessionError> {
    match &cam.url {
        SourceUrl::Http(url) => http_session(cam, url, timing).await,
        SourceUrl::Rtsp(url) => rtsp_session(cam, url, timing).await,
    }
}

#[cfg(feature = "opencv")]
async fn rtsp_session(
    cam: &Arc<Camera>,
    url: &str,
    timing: &SourceTiming,
) -> Result<(), SessionError> {
    crate::rtsp::session(cam, url, timing).await
}

#[cfg(not(feature = "opencv"))]
async fn rtsp_session(
    _cam: &Arc<Camera>,
    url: &str,
    _timing: &SourceTiming,
) -> Result<(), SessionError> {
    fail(format!(
        "{url}: RTSP needs the `opencv` feature (built without it)"
    ))
}

/// `http://host[:port]/path` split into the address to connect to, the Host header and the path.
pub fn split_url(url: &str) -> Result<(String, String, String), SessionError> {
    let rest = url
        .get(7..)
        .filter(|_| url[..7].eq_ignore_ascii_case("http://"));
    let Some(rest) = rest else {
        return fail(format!("{url}: not an http:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return fail(format!("{url}: no host"));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let addr = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_owned(), path.to_owned()))
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    sock: TcpStream,
    read_timeout: Duration,
    cam: Arc<Camera>,
}

impl Conn {
    /// Reads what the socket has (zero-copy hand-off as `Bytes`); empty at EOF.
    async fn read(&mut self) -> Result<Bytes, SessionError> {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let n = match tokio::time::timeout(self.read_timeout, self.sock.read_buf(&mut buf)).await {
            Err(_) => {
                return fail(format!(
                    "no data for {:.1} s",
                    self.read_timeout.as_secs_f64()
                ));
            }
            Ok(Err(e)) => return fail(format!("read: {e}")),
            Ok(Ok(n)) => n,
        };
        self.cam.bytes_total.fetch_add(n as u64, Ordering::Relaxed);
        Ok(buf.freeze())
    }
}

/// Limits on what a camera may send: parts and polled JPEGs up to [`MAX_JPEG_BYTES`].
fn part_limits() -> stream_codec::Limits {
    stream_codec::Limits {
        max_part_size: MAX_JPEG_BYTES,
        ..stream_codec::Limits::default()
    }
}

async fn http_session(
    cam: &Arc<Camera>,
    url: &str,
    timing: &SourceTiming,
) -> Result<(), SessionError> {
    let (addr, host, path) = split_url(url)?;
    let sock = match tokio::time::timeout(timing.read_timeout, TcpStream::connect(&addr)).await {
        Err(_) => return fail(format!("connect to {addr}: timed out")),
        Ok(Err(e)) => return fail(format!("connect to {addr}: {e}")),
        Ok(Ok(s)) => s,
    };
    let _ = sock.set_nodelay(true);
    let mut conn = Conn {
        sock,
        read_timeout: timing.read_timeout,
        cam: cam.clone(),
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: posecam-camera-relay\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"
    );
    let mut last_good = Instant::now();
    loop {
        let asked = Instant::now();
        if let Err(e) = conn.sock.write_all(request.as_bytes()).await {
            return fail(format!("write request: {e}"));
        }
        let mut resp = ResponseDecoder::default();
        let mut body = BytesMut::new();
        let mut eof = false;
        // Read until the head is complete.
        let head = loop {
            match resp.next_body() {
                Some(Ok(piece)) => body.extend_from_slice(&piece),
                Some(Err(e)) => return fail(format!("HTTP: {e}")),
                None => {}
            }
            if let Some(h) = resp.head() {
                break h.clone();
            }
            let data = conn.read().await?;
            if data.is_empty() {
                resp.finish();
                eof = true;
            }
            resp.push_bytes(data);
        };
        if !head.is_success() {
            return fail(format!("HTTP {} {} from {url}", head.status, head.reason));
        }
        let ctype = head.content_type().unwrap_or("").to_owned();
        let lower = ctype.to_ascii_lowercase();
        if lower.starts_with("multipart/") {
            return mjpeg_stream(conn, resp, body, &ctype, timing.read_timeout).await;
        }
        if !(lower.starts_with("image/") || lower.is_empty()) {
            return fail(format!(
                "unexpected Content-Type {ctype:?} (want image/jpeg or multipart/x-mixed-replace)"
            ));
        }
        // One JPEG per response: read the whole body (bounded).
        while !resp.is_done() {
            while let Some(piece) = resp.next_body() {
                match piece {
                    Ok(p) => body.extend_from_slice(&p),
                    Err(e) => return fail(format!("HTTP: {e}")),
                }
            }
            if body.len() > MAX_JPEG_BYTES {
                return fail(format!("JPEG body exceeds {MAX_JPEG_BYTES} bytes"));
            }
            if resp.is_done() {
                break;
            }
            if eof {
                return fail(format!("connection closed after {} body bytes", body.len()));
            }
            let data = conn.read().await?;
            if data.is_empty() {
                resp.finish();
                eof = true;
            }
            resp.push_bytes(data);
        }
        if cam.deliver_jpeg(body.freeze()).await {
            last_good = Instant::now();
        } else if last_good.elapsed() > timing.read_timeout {
            return fail(format!(
                "no decodable JPEG for {:.1} s",
                timing.read_timeout.as_secs_f64()
            ));
        }
        let close = head
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || head.version == 0
            || eof
            || matches!(head.body_kind(), BodyKind::UntilClose);
        if close {
            return Ok(());
        }
        // Poll again on the same connection, at most every `poll_interval`.
        tokio::time::sleep_until((asked + timing.poll_interval).into()).await;
    }
}

/// Reads an MJPEG stream until it fails; every complete part's JPEG is delivered, broken parts
/// are counted and skipped (the decoder resynchronises at the next boundary).
///
/// A stream that yields no decodable frame for `frame_timeout` (garbage, a part that never ends,
/// only broken JPEGs) is dropped, so the camera is retried on a fresh connection.
async fn mjpeg_stream(
    mut conn: Conn,
    mut resp: ResponseDecoder,
    first: BytesMut,
    ctype: &str,
    frame_timeout: Duration,
) -> Result<(), SessionError> {
    let mut last_good = Instant::now();
    let mut decoder = Decoder::from_content_type_with(ctype, part_limits())
        .map_err(|e| SessionError(format!("MJPEG: {e}")))?;
    if !first.is_empty() {
        decoder.push_bytes(first.freeze());
    }
    loop {
        loop {
            match resp.next_body() {
                Some(Ok(piece)) => decoder.push_bytes(piece),
                Some(Err(e)) => return fail(format!("HTTP: {e}")),
                None => break,
            }
        }
        while let Some(item) = decoder.next_frame() {
            match item {
                Ok(frame) => {
                    if conn.cam.deliver_jpeg(frame.data).await {
                        last_good = Instant::now();
                    }
                }
                Err(e) if e.is_recoverable() => conn.cam.bad_frame(&e),
                Err(e) => return fail(format!("MJPEG: {e}")),
            }
        }
        if last_good.elapsed() > frame_timeout {
            return fail(format!(
                "no decodable frame for {:.1} s",
                frame_timeout.as_secs_f64()
            ));
        }
        if resp.is_done() {
            return fail("the camera ended the stream");
        }
        let data = conn.read().await?;
        if data.is_empty() {
            return fail("connection closed by the camera");
        }
        resp.push_bytes(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (a, h, p) = split_url("http://192.168.4.101/capture").expect("url");
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("192.168.4.101:80", "192.168.4.101", "/capture")
        );
        let (a, _, p) = split_url("http://127.0.0.1:8081").expect("url");
        assert_eq!((a.as_str(), p.as_str()), ("127.0.0.1:8081", "/"));
    }
}
