//! A simulated ESP32-CAM (arduino-esp32 `CameraWebServer`): a real HTTP server on a TCP port.
//!
//! * `GET /capture` answers one JPEG (`Content-Length`, keep-alive like `esp_http_server`).
//! * `GET /stream` answers `multipart/x-mixed-replace` with `Transfer-Encoding: chunked`, three
//!   chunks per frame exactly like the device (`\r\n--BOUNDARY\r\n`, the part headers with
//!   `Content-Length` and `X-Timestamp`, the JPEG), at a set frame rate.
//! * The device serves one client at a time: a second simultaneous connection gets
//!   `503 Service Unavailable` and is closed.
//!
//! Faults for tests ([`Fault`]): garbage bytes, truncated JPEGs, a part that never ends, a camera
//! that drips one byte a second, a password (Basic auth) it insists on. The camera can be stopped
//! (listener and every connection dropped, like a power cut) and started again on the same port.
//!
//! Feature `sim-camera`. Used by posecam's `fake_camera` example, the camera relay's `--simulate`
//! mode and the relay tests; handy to test any MJPEG client without hardware.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use stream_codec::sim_camera::SimCamera;
//! let jpeg = bytes::Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]);
//! let cam = SimCamera::start(([127, 0, 0, 1], 0).into(), vec![jpeg], 15.0).await?;
//! assert!(cam.stream_url().ends_with("/stream"));
//! assert_eq!(cam.stats().connections, 0);
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The boundary of arduino-esp32's `CameraWebServer` (`_STREAM_BOUNDARY`).
pub const ESP32_BOUNDARY: &str = "123456789000000000000987654321";

/// What the simulated camera sends instead of good frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Well-formed frames.
    None = 0,
    /// Random bytes instead of the multipart body (and instead of the `/capture` JPEG).
    Garbage = 1,
    /// Well-formed parts whose JPEG is cut at 60 % (`Content-Length` matches the cut).
    Truncated = 2,
    /// One part without `Content-Length` whose body never ends.
    EndlessPart = 3,
    /// One byte a second (a response head that never completes).
    Drip = 4,
}

impl Fault {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Garbage,
            2 => Self::Truncated,
            3 => Self::EndlessPart,
            4 => Self::Drip,
            _ => Self::None,
        }
    }
}

/// Counters of one simulated camera.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Connections accepted (including refused ones).
    pub connections: u64,
    /// Connections refused because another client was being served.
    pub refused: u64,
    /// Connections open right now (the served one).
    pub active: usize,
    /// Frames sent (stream parts and `/capture` answers).
    pub frames_sent: u64,
}

struct Inner {
    frames: Vec<Bytes>,
    fps: f64,
    /// Each fixture frame is shown this many times in a row.
    hold: u64,
    fault: AtomicU8,
    busy: AtomicBool,
    connections: AtomicU64,
    refused: AtomicU64,
    active: AtomicUsize,
    frames_sent: AtomicU64,
    started: Instant,
    /// `Authorization` value required (`Basic ...`), if any.
    auth: Mutex<Option<String>>,
    /// The `Authorization` header of the last request (for tests).
    last_authorization: Mutex<Option<String>>,
    /// Frames replaced by [`SimCamera::set_frames`] (else `frames`).
    override_frames: Mutex<Option<Vec<Bytes>>>,
}

/// One simulated ESP32-CAM. Dropping it stops it.
pub struct SimCamera {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SimCamera {
    /// Binds `addr` (port 0 picks a free port) and starts serving `frames` (JPEG files, cycled,
    /// each shown for about half a second) at `fps` frames per second.
    pub async fn start(addr: SocketAddr, frames: Vec<Bytes>, fps: f64) -> io::Result<Self> {
        if frames.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no frames to serve",
            ));
        }
        let fps = fps.clamp(0.1, 1000.0);
        let inner = Arc::new(Inner {
            frames,
            fps,
            hold: ((fps / 2.0).round() as u64).max(1),
            fault: AtomicU8::new(Fault::None as u8),
            busy: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            frames_sent: AtomicU64::new(0),
            started: Instant::now(),
            auth: Mutex::new(None),
            last_authorization: Mutex::new(None),
            override_frames: Mutex::new(None),
        });
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, inner.clone()));
        Ok(Self {
            inner,
            addr,
            task: Mutex::new(Some(task)),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/stream`.
    pub fn stream_url(&self) -> String {
        format!("http://{}/stream", self.addr)
    }

    /// `http://ADDR/capture`.
    pub fn capture_url(&self) -> String {
        format!("http://{}/capture", self.addr)
    }

    /// Power cut: closes the listener and every open connection at once.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        self.inner.busy.store(false, Ordering::SeqCst);
    }

    /// Whether the camera is serving.
    pub fn is_running(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Power back on, on the same port (retries a little while the old socket is released).
    pub async fn restart(&self) -> io::Result<()> {
        self.stop();
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    let task = tokio::spawn(serve(listener, self.inner.clone()));
                    *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("bind failed")))
    }

    /// Switches what the camera sends from now on (open streams switch at the next frame).
    pub fn set_fault(&self, fault: Fault) {
        self.inner.fault.store(fault as u8, Ordering::SeqCst);
    }

    /// Requires HTTP Basic credentials `user:pass` from now on (`None`: open again); requests
    /// without them get `401` with `WWW-Authenticate: Basic`.
    pub fn require_basic_auth(&self, user_pass: Option<&str>) {
        *lock(&self.inner.auth) =
            user_pass.map(|up| format!("Basic {}", base64_encode(up.as_bytes())));
    }

    /// The `Authorization` header of the last request, if it had one.
    pub fn last_authorization(&self) -> Option<String> {
        lock(&self.inner.last_authorization).clone()
    }

    /// Serves `frames` from the next frame on instead of the ones given at start (`None`: back to
    /// those).
    pub fn set_frames(&self, frames: Option<Vec<Bytes>>) {
        *lock(&self.inner.override_frames) = frames.filter(|f| !f.is_empty());
    }

    /// Counters.
    pub fn stats(&self) -> SimStats {
        SimStats {
            connections: self.inner.connections.load(Ordering::SeqCst),
            refused: self.inner.refused.load(Ordering::SeqCst),
            active: self.inner.active.load(Ordering::SeqCst),
            frames_sent: self.inner.frames_sent.load(Ordering::SeqCst),
        }
    }
}

impl Drop for SimCamera {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Standard base64 (for the Basic credentials the camera expects).
fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Accept loop. Connection tasks live in a `JoinSet` owned by this task, so aborting it (power
/// cut) drops every connection too.
async fn serve(listener: TcpListener, inner: Arc<Inner>) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let Ok((sock, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = sock.set_nodelay(true);
        inner.connections.fetch_add(1, Ordering::SeqCst);
        if inner.busy.swap(true, Ordering::SeqCst) {
            inner.refused.fetch_add(1, Ordering::SeqCst);
            conns.spawn(refuse(sock));
            continue;
        }
        let inner = inner.clone();
        conns.spawn(async move {
            let _guard = BusyGuard::new(&inner);
            let _ = handle(sock, &inner).await;
        });
    }
}

/// Marks the camera busy while one client is served.
struct BusyGuard<'a>(&'a Inner);

impl<'a> BusyGuard<'a> {
    fn new(inner: &'a Inner) -> Self {
        inner.active.fetch_add(1, Ordering::SeqCst);
        Self(inner)
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

async fn refuse(mut sock: TcpStream) {
    let body = "camera busy: one client at a time\n";
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// One request head as the camera reads it.
struct RequestHead {
    path: String,
    close: bool,
    authorization: Option<String>,
}

/// Reads one request head (up to 8 KiB), or `None` at EOF.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<RequestHead>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let mut words = head.lines().next().unwrap_or("").split_whitespace();
            let _method = words.next();
            let path = words.next().unwrap_or("/").to_owned();
            let close = head.to_ascii_lowercase().contains("connection: close");
            let authorization = head.lines().find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.trim().to_owned())
            });
            return Ok(Some(RequestHead {
                path,
                close,
                authorization,
            }));
        }
        if buf.len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let mut chunk = [0u8; 2048];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn handle(mut sock: TcpStream, inner: &Inner) -> io::Result<()> {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut sock, &mut buf).await? {
        *lock(&inner.last_authorization) = req.authorization.clone();
        let required = lock(&inner.auth).clone();
        if required.is_some() && req.authorization != required {
            let body = "401 Unauthorized\n";
            let head = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"camera\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(head.as_bytes()).await?;
            continue;
        }
        if Fault::from_u8(inner.fault.load(Ordering::SeqCst)) == Fault::Drip {
            return drip(&mut sock).await;
        }
        let close = req.close;
        let path = req.path.split('?').next().unwrap_or("/");
        match path {
            "/capture" | "/capture.jpg" | "/jpg" => capture(&mut sock, inner).await?,
            "/stream" | "/mjpeg/1" => return stream(&mut sock, inner).await,
            _ => {
                let body = "not found\n";
                let head = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(head.as_bytes()).await?;
            }
        }
        if close {
            break;
        }
    }
    Ok(())
}

/// The fixture frame for frame number `k`.
fn frame(inner: &Inner, k: u64) -> Bytes {
    if let Some(frames) = lock(&inner.override_frames).as_ref() {
        return frames[(k / inner.hold) as usize % frames.len()].clone();
    }
    let i = (k / inner.hold) as usize % inner.frames.len();
    inner.frames[i].clone()
}

/// A response head sent one byte a second, forever.
async fn drip(sock: &mut TcpStream) -> io::Result<()> {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=x\r\n";
    for b in head.iter().cycle() {
        sock.write_all(&[*b]).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

/// Deterministic junk (xorshift) that contains no JPEG markers' structure worth decoding.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn timestamp(inner: &Inner) -> String {
    let t = inner.started.elapsed();
    format!("{}.{:06}", t.as_secs(), t.subsec_micros())
}

async fn capture(sock: &mut TcpStream, inner: &Inner) -> io::Result<()> {
    let k = (inner.started.elapsed().as_secs_f64() * inner.fps) as u64;
    let fault = Fault::from_u8(inner.fault.load(Ordering::SeqCst));
    let jpeg = frame(inner, k);
    let body: Bytes = match fault {
        Fault::None | Fault::Drip => jpeg,
        Fault::Garbage => garbage(jpeg.len(), k).into(),
        Fault::Truncated => jpeg.slice(..jpeg.len() * 6 / 10),
        Fault::EndlessPart => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n";
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&jpeg[..jpeg.len() / 2]).await?;
            return endless(sock, inner, false).await;
        }
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nContent-Disposition: inline; filename=capture.jpg\r\nAccess-Control-Allow-Origin: *\r\nX-Timestamp: {}\r\n\r\n",
        body.len(),
        timestamp(inner)
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(&body).await?;
    inner.frames_sent.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Writes one chunk of the chunked transfer coding (lower-case hex, like `httpd_resp_send_chunk`).
async fn chunk(sock: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    sock.write_all(&out).await
}

/// Sends junk forever at about 64 KB per frame interval (bounded only by the reader).
async fn endless(sock: &mut TcpStream, inner: &Inner, chunked: bool) -> io::Result<()> {
    let period = Duration::from_secs_f64(1.0 / inner.fps);
    let mut k = 0u64;
    loop {
        let junk = garbage(64 * 1024, k + 7);
        if chunked {
            chunk(sock, &junk).await?;
        } else {
            sock.write_all(&junk).await?;
        }
        k += 1;
        tokio::time::sleep(period).await;
    }
}

async fn stream(sock: &mut TcpStream, inner: &Inner) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary={ESP32_BOUNDARY}\r\nTransfer-Encoding: chunked\r\nAccess-Control-Allow-Origin: *\r\nX-Framerate: {}\r\n\r\n",
        inner.fps.round()
    );
    sock.write_all(head.as_bytes()).await?;
    let boundary = format!("\r\n--{ESP32_BOUNDARY}\r\n");
    let period = Duration::from_secs_f64(1.0 / inner.fps);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut k = (inner.started.elapsed().as_secs_f64() * inner.fps) as u64;
    loop {
        ticker.tick().await;
        let fault = Fault::from_u8(inner.fault.load(Ordering::SeqCst));
        let jpeg = frame(inner, k);
        k += 1;
        match fault {
            Fault::Garbage => {
                chunk(sock, &garbage(jpeg.len(), k)).await?;
                continue;
            }
            Fault::EndlessPart => {
                chunk(sock, boundary.as_bytes()).await?;
                chunk(sock, b"Content-Type: image/jpeg\r\n\r\n").await?;
                chunk(sock, &jpeg[..jpeg.len() / 2]).await?;
                return endless(sock, inner, true).await;
            }
            Fault::None | Fault::Truncated | Fault::Drip => {}
        }
        let body = if fault == Fault::Truncated {
            jpeg.slice(..jpeg.len() * 6 / 10)
        } else {
            jpeg
        };
        let part = format!(
            "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\n\r\n",
            body.len(),
            timestamp(inner)
        );
        chunk(sock, boundary.as_bytes()).await?;
        chunk(sock, part.as_bytes()).await?;
        chunk(sock, &body).await?;
        inner.frames_sent.fetch_add(1, Ordering::SeqCst);
    }
}
