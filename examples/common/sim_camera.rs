//! A simulated ESP32-CAM (arduino-esp32 `CameraWebServer`): a real HTTP server on a TCP port.
//!
//! * `GET /capture` answers one JPEG (`Content-Length`, keep-alive like `esp_http_server`).
//! * `GET /stream` answers `multipart/x-mixed-replace` with `Transfer-Encoding: chunked`, three
//!   chunks per frame exactly like the device (`\r\n--BOUNDARY\r\n`, the part headers with
//!   `Content-Length` and `X-Timestamp`, the JPEG), at a set frame rate.
//! * The device serves one client at a time: a second simultaneous connection gets
//!   `503 Service Unavailable` and is closed.
//!
//! Faults for tests ([`Fault`]): garbage bytes, truncated JPEGs, a part that never ends. The camera
//! can be stopped (listener and every connection dropped, like a power cut) and started again on
//! the same port.
//!
//! Shared by `examples/fake_camera.rs` and the camera relay's `--simulate` mode via `#[path]`.

// Shared by several programs through `#[path]`; each uses a different part.
#![allow(dead_code)]

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
pub enum Fault {
    /// Well-formed frames.
    None = 0,
    /// Random bytes instead of the multipart body (and instead of the `/capture` JPEG).
    Garbage = 1,
    /// Well-formed parts whose JPEG is cut at 60 % (`Content-Length` matches the cut).
    Truncated = 2,
    /// One part without `Content-Length` whose body never ends.
    EndlessPart = 3,
}

impl Fault {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Garbage,
            2 => Self::Truncated,
            3 => Self::EndlessPart,
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
        if let Some(task) = self.task.lock().expect("sim camera lock").take() {
            task.abort();
        }
        self.inner.busy.store(false, Ordering::SeqCst);
    }

    /// Whether the camera is serving.
    pub fn is_running(&self) -> bool {
        self.task.lock().expect("sim camera lock").is_some()
    }

    /// Power back on, on the same port (retries a little while the old socket is released).
    pub async fn restart(&self) -> io::Result<()> {
        self.stop();
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    let task = tokio::spawn(serve(listener, self.inner.clone()));
                    *self.task.lock().expect("sim camera lock") = Some(task);
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

/// Reads one request head (up to 8 KiB); returns the path and whether the client asked to close
/// the connection, or `None` at EOF.
async fn read_request(
    sock: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<Option<(String, bool)>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let mut words = head.lines().next().unwrap_or("").split_whitespace();
            let _method = words.next();
            let path = words.next().unwrap_or("/").to_owned();
            let close = head.to_ascii_lowercase().contains("connection: close");
            return Ok(Some((path, close)));
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
    while let Some((path, close)) = read_request(&mut sock, &mut buf).await? {
        let path = path.split('?').next().unwrap_or("/");
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
    let i = (k / inner.hold) as usize % inner.frames.len();
    inner.frames[i].clone()
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
        Fault::None => jpeg,
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
            Fault::None | Fault::Truncated => {}
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
