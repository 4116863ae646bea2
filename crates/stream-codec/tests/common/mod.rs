//! A loopback HTTP camera for the client tests, built on tokio and stream-codec's public API:
//! recorded MJPEG streams (plain or chunked, from `shared/media/mjpeg`), `image/jpeg` answers on a
//! keep-alive connection, a camera that drips one byte a second, Basic and Digest auth, and
//! stop / restart on the same port. Every request head it receives is recorded.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use posecam_test_support::{read, shared};
use stream_codec::Writer;
use stream_codec::auth::{Credentials, DigestChallenge};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// What the camera serves.
#[derive(Clone)]
pub enum Serve {
    /// A recorded stream: the whole response as on the wire (head + body), written in 16 KiB
    /// pieces, then the connection is closed.
    Wire(Bytes),
    /// `multipart/x-mixed-replace` made of this JPEG, `fps` parts a second, forever.
    Live { jpeg: Bytes, fps: f64 },
    /// `multipart/x-mixed-replace`: `frames` parts at once, then silence on an open socket.
    ThenSilent { jpeg: Bytes, frames: usize },
    /// `multipart/x-mixed-replace` of parts that are not JPEGs, as fast as the socket takes them.
    CorruptParts,
    /// `image/jpeg` with Content-Length on a keep-alive connection, one per request.
    Jpeg(Bytes),
    /// The response head, one byte a second.
    DripHead,
    /// A good head at once, then the body one byte a second.
    DripBody,
}

/// Credentials the camera demands.
#[derive(Clone)]
pub enum Auth {
    None,
    Basic {
        user: &'static str,
        password: &'static str,
    },
    Digest {
        user: &'static str,
        password: &'static str,
        algorithm: &'static str,
    },
}

pub struct Camera {
    pub addr: SocketAddr,
    /// Every request head received (text).
    pub requests: Arc<Mutex<Vec<String>>>,
    /// TCP connections accepted.
    pub connections: Arc<AtomicU64>,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
    serve: Serve,
    auth: Auth,
}

/// A recorded stream as a complete response: `NAME.headers.txt` + `NAME.mjpeg`, or for
/// `esp32cam.wire.bin` the chunked bytes exactly as the camera sent them.
pub fn recorded_wire(name: &str, chunked: bool) -> Bytes {
    if chunked {
        return Bytes::from(read(&shared(&format!("media/mjpeg/{name}.wire.bin"))));
    }
    let mut wire = read(&shared(&format!("media/mjpeg/{name}.headers.txt")));
    // The sidecar holds the head with its blank line (LF or CRLF): normalise to CRLF.
    let text = String::from_utf8(wire.clone()).unwrap();
    let mut head = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        // The body file has the transfer coding removed.
        if line.to_ascii_lowercase().starts_with("transfer-encoding") {
            continue;
        }
        head.push_str(line.trim_end());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    wire = head.into_bytes();
    wire.extend_from_slice(&read(&shared(&format!("media/mjpeg/{name}.mjpeg"))));
    Bytes::from(wire)
}

/// The first frame of a recorded stream, as a JPEG.
pub fn sample_jpeg() -> Bytes {
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&shared("media/mjpeg/esp32cam.json"))).unwrap();
    let body = read(&shared("media/mjpeg/esp32cam.mjpeg"));
    let f = &meta["frames"][0];
    let (o, l) = (
        f["offset"].as_u64().unwrap() as usize,
        f["length"].as_u64().unwrap() as usize,
    );
    Bytes::copy_from_slice(&body[o..o + l])
}

impl Camera {
    /// Starts a camera on a free loopback port.
    pub async fn start(serve: Serve, auth: Auth) -> Camera {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cam = Camera {
            addr,
            requests: Arc::default(),
            connections: Arc::default(),
            tasks: Arc::default(),
            serve,
            auth,
        };
        cam.run(listener);
        cam
    }

    /// A port with nothing listening (yet).
    pub async fn free_port() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    }

    /// Starts a camera on `addr` (e.g. after [`Camera::stop`]).
    pub async fn start_at(addr: SocketAddr, serve: Serve, auth: Auth) -> Camera {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        let cam = Camera {
            addr,
            requests: Arc::default(),
            connections: Arc::default(),
            tasks: Arc::default(),
            serve,
            auth,
        };
        cam.run(listener);
        cam
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn url_with(&self, userinfo: &str, path: &str) -> String {
        format!("http://{userinfo}@{}{path}", self.addr)
    }

    /// Closes the listener and every connection.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn run(&self, listener: TcpListener) {
        let serve = self.serve.clone();
        let auth = self.auth.clone();
        let requests = self.requests.clone();
        let connections = self.connections.clone();
        let tasks = self.tasks.clone();
        let tasks2 = self.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::Relaxed);
                let (serve, auth, requests) = (serve.clone(), auth.clone(), requests.clone());
                let conn = tokio::spawn(async move {
                    let _ = handle(sock, serve, auth, requests).await;
                });
                tasks2.lock().unwrap().push(conn.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one request head (up to the blank line); `None` at EOF.
async fn read_head(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i + 4]).into_owned();
            buf.drain(..i + 4);
            return Some(head);
        }
        let mut tmp = [0u8; 4096];
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 || buf.len() > 64 << 10 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// `name="value"` / `name=value` pairs of an `Authorization: Digest ...` value.
fn digest_params(v: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_owned(), &q[(end + 1).min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((name, value));
        rest = next;
    }
    out
}

const NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

fn authorized(auth: &Auth, head: &str) -> bool {
    let got = header(head, "authorization");
    match auth {
        Auth::None => true,
        Auth::Basic { user, password } => {
            got == Some(Credentials::new(*user, *password).basic().as_str())
        }
        Auth::Digest {
            user,
            password,
            algorithm,
        } => {
            let Some(v) = got.and_then(|v| v.strip_prefix("Digest ")) else {
                return false;
            };
            let p = digest_params(v);
            let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
            let (Some(uri), Some(nc), Some(cnonce), Some(resp)) =
                (get("uri"), get("nc"), get("cnonce"), get("response"))
            else {
                return false;
            };
            if get("username") != Some(user) || get("nonce") != Some(NONCE) {
                return false;
            }
            let challenge = DigestChallenge::parse(&challenge(algorithm)).unwrap();
            let nc = u32::from_str_radix(nc, 16).unwrap_or(0);
            let expected =
                Credentials::new(*user, *password).digest(&challenge, "GET", uri, nc, cnonce);
            expected.contains(&format!("response=\"{resp}\""))
        }
    }
}

fn challenge(algorithm: &str) -> String {
    format!(
        r#"Digest realm="posecam-test", qop="auth", nonce="{NONCE}", opaque="5ccc069c", algorithm={algorithm}"#
    )
}

async fn handle(
    mut sock: TcpStream,
    serve: Serve,
    auth: Auth,
    requests: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(head) = read_head(&mut sock, &mut buf).await else {
            return Ok(());
        };
        requests.lock().unwrap().push(head.clone());
        if !authorized(&auth, &head) {
            let www = match &auth {
                Auth::Digest { algorithm, .. } => challenge(algorithm),
                _ => r#"Basic realm="posecam-test""#.to_owned(),
            };
            let body = "unauthorized";
            sock.write_all(
                format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {www}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await?;
            continue;
        }
        match &serve {
            Serve::Wire(wire) => {
                for piece in wire.chunks(16 << 10) {
                    sock.write_all(piece).await?;
                }
                return sock.shutdown().await;
            }
            Serve::Live { jpeg, fps } => {
                let w = Writer::new("livecam").unwrap();
                sock.write_all(&w.response_head()).await?;
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
                loop {
                    tick.tick().await;
                    sock.write_all(&w.encode_part(jpeg, None)).await?;
                }
            }
            Serve::ThenSilent { jpeg, frames } => {
                let w = Writer::new("livecam").unwrap();
                sock.write_all(&w.response_head()).await?;
                for _ in 0..*frames {
                    sock.write_all(&w.encode_part(jpeg, None)).await?;
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Serve::CorruptParts => {
                sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=bad\r\n\r\n")
                    .await?;
                let part =
                    b"--bad\r\nContent-Type: image/jpeg\r\n\r\nnot a jpeg at all\r\n".repeat(64);
                loop {
                    sock.write_all(&part).await?;
                    tokio::task::yield_now().await;
                }
            }
            Serve::Jpeg(jpeg) => {
                sock.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        jpeg.len()
                    )
                    .as_bytes(),
                )
                .await?;
                sock.write_all(jpeg).await?;
            }
            Serve::DripHead | Serve::DripBody => {
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=drip\r\n\r\n";
                let body =
                    b"--drip\r\nContent-Type: image/jpeg\r\nContent-Length: 100\r\n\r\n\xff\xd8";
                let (fast, slow): (&[u8], &[u8]) = match serve {
                    Serve::DripHead => (b"", head),
                    _ => (head, body),
                };
                sock.write_all(fast).await?;
                for b in slow.iter().cycle() {
                    sock.write_all(&[*b]).await?;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
