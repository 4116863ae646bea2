//! One TCP connection to a camera: request, response head (with the 401 / Digest dance), then
//! frames from a `multipart/x-mixed-replace` body or from `image/jpeg` answers polled on the same
//! keep-alive connection. Every read waits until a phase deadline, never longer.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::auth::{Credentials, DigestChallenge};
use crate::camera_url::CameraUrl;
use crate::client::{ClientConfig, ClientError, ClientStatus, Phase};
use crate::http::BodyKind;
use crate::{Frame, HttpDecoder};

/// `t + d`, or about 30 years after `t` when that overflows (any configured duration is fine).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(t)
}

/// Credentials and the Digest state (challenge, nonce count) shared by the client's connections.
#[derive(Debug)]
pub(crate) struct Auth {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) digest: Option<DigestChallenge>,
    nc: u32,
    rng: u64,
}

impl Auth {
    pub(crate) fn new(url: &CameraUrl, seed: u64) -> Self {
        Auth {
            credentials: url
                .user()
                .map(|u| Credentials::new(u, url.password().unwrap_or(""))),
            digest: None,
            nc: 0,
            rng: seed | 1,
        }
    }

    fn cnonce(&mut self) -> String {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        format!("{x:016x}")
    }

    /// The `Authorization` header line for the next request (empty without credentials).
    fn header(&mut self, uri: &str) -> String {
        if self.credentials.is_none() {
            return String::new();
        }
        let cnonce = self.cnonce();
        let Some(c) = &self.credentials else {
            return String::new();
        };
        let value = match &self.digest {
            Some(ch) => {
                self.nc = self.nc.wrapping_add(1);
                c.digest(ch, "GET", uri, self.nc, &cnonce)
            }
            None => c.basic(),
        };
        format!("Authorization: {value}\r\n")
    }

    fn set_digest(&mut self, challenge: DigestChallenge) {
        self.digest = Some(challenge);
        self.nc = 0;
    }
}

/// What a connection gave.
pub(crate) enum Event {
    Frame(Frame),
    /// A corrupt part was skipped (the connection goes on).
    Skipped(ClientError),
    /// Close this connection and open another at once (polled camera that closes after each
    /// JPEG, or a new Digest challenge).
    Reopen,
    /// The connection failed.
    Failed(ClientError),
}

/// How the head of a response was taken.
pub(crate) enum HeadOutcome {
    Ok,
    /// 401 with a (new) Digest challenge: retry on a new connection.
    RetryAuth,
}

enum Pumped {
    Frame(Frame),
    Error(crate::Error),
    Head,
    Done,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    /// Not known until the first head.
    Unknown,
    /// `multipart/x-mixed-replace` (or no Content-Type: boundary detected from the body).
    Stream,
    /// `image/*`: one JPEG per request.
    Poll,
}

pub(crate) struct Connection {
    sock: TcpStream,
    addr: String,
    dec: HttpDecoder,
    kind: Kind,
    eof: bool,
    /// Deadline of the current response's head.
    head_deadline: Instant,
    /// End of the first response head.
    head_done: Option<Instant>,
    last_frame: Option<Instant>,
    /// Frames of the current response (poll mode).
    response_frames: u64,
    keep_alive: bool,
    next_poll: Instant,
    stash: Option<Frame>,
}

impl Connection {
    /// Connects (connect deadline) and sends the first request.
    pub(crate) async fn open(
        url: &CameraUrl,
        config: &ClientConfig,
        auth: &mut Auth,
    ) -> Result<Connection, ClientError> {
        let addr = url.address();
        let sock =
            match tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr.as_str()))
                .await
            {
                Err(_) => {
                    return Err(ClientError::Timeout {
                        phase: Phase::Connect,
                        after: config.connect_timeout,
                        addr,
                    });
                }
                Ok(Err(source)) => {
                    return Err(ClientError::Io {
                        phase: Phase::Connect,
                        addr,
                        source,
                    });
                }
                Ok(Ok(s)) => s,
            };
        let _ = sock.set_nodelay(true);
        let now = Instant::now();
        let mut conn = Connection {
            sock,
            addr,
            dec: HttpDecoder::new(config.http_limits, config.limits),
            kind: Kind::Unknown,
            eof: false,
            head_deadline: later(now, config.head_timeout),
            head_done: None,
            last_frame: None,
            response_frames: 0,
            keep_alive: false,
            next_poll: now,
            stash: None,
        };
        conn.send_request(url, config, auth).await?;
        Ok(conn)
    }

    async fn send_request(
        &mut self,
        url: &CameraUrl,
        config: &ClientConfig,
        auth: &mut Auth,
    ) -> Result<(), ClientError> {
        let now = Instant::now();
        self.head_deadline = later(now, config.head_timeout);
        self.next_poll = later(now, config.poll_interval);
        self.dec = HttpDecoder::new(config.http_limits, config.limits);
        self.response_frames = 0;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: keep-alive\r\n{}\r\n",
            url.path(),
            url.host_header(),
            config.user_agent,
            auth.header(url.path()),
        );
        match tokio::time::timeout_at(self.head_deadline, self.sock.write_all(request.as_bytes()))
            .await
        {
            Err(_) => Err(self.timeout(Phase::Head, config.head_timeout)),
            Ok(Err(source)) => Err(ClientError::Io {
                phase: Phase::Head,
                addr: self.addr.clone(),
                source,
            }),
            Ok(Ok(())) => Ok(()),
        }
    }

    fn timeout(&self, phase: Phase, after: Duration) -> ClientError {
        ClientError::Timeout {
            phase,
            after,
            addr: self.addr.clone(),
        }
    }

    /// The deadline that expires first now, with its phase and length.
    fn deadline(&self, config: &ClientConfig) -> (Instant, Phase, Duration) {
        let frame = match (self.head_done, self.last_frame) {
            (_, Some(t)) => {
                let extra = if self.kind == Kind::Poll {
                    config.poll_interval
                } else {
                    Duration::ZERO
                };
                Some((
                    later(t, config.silence_timeout.saturating_add(extra)),
                    Phase::Silence,
                    config.silence_timeout,
                ))
            }
            (Some(h), None) => Some((
                later(h, config.first_frame_timeout),
                Phase::FirstFrame,
                config.first_frame_timeout,
            )),
            (None, None) => None,
        };
        let head = (self.head_deadline, Phase::Head, config.head_timeout);
        match frame {
            Some(f) if self.dec.head().is_some() || f.0 < head.0 => f,
            _ => head,
        }
    }

    /// Reads until the decoder gives something (a frame, an error, the head if `stop_at_head`,
    /// or the end of the response).
    async fn pump(
        &mut self,
        config: &ClientConfig,
        stop_at_head: bool,
        status: &watch::Sender<ClientStatus>,
    ) -> Result<Pumped, ClientError> {
        loop {
            if stop_at_head && self.dec.head().is_some() {
                return Ok(Pumped::Head);
            }
            if let Some(item) = self.dec.next_frame() {
                return Ok(match item {
                    Ok(f) => Pumped::Frame(f),
                    Err(e) => Pumped::Error(e),
                });
            }
            if stop_at_head && self.dec.head().is_some() {
                return Ok(Pumped::Head);
            }
            if self.dec.is_done() || self.eof {
                return Ok(Pumped::Done);
            }
            let (deadline, phase, after) = self.deadline(config);
            // Checked here too: a camera that sends bytes without a frame (garbage, corrupt parts)
            // keeps every read ready, and `timeout_at` polls the read before its deadline.
            if Instant::now() >= deadline {
                return Err(self.timeout(phase, after));
            }
            let mut buf = BytesMut::with_capacity(64 << 10);
            let n = match tokio::time::timeout_at(deadline, self.sock.read_buf(&mut buf)).await {
                Err(_) => return Err(self.timeout(phase, after)),
                Ok(Err(source)) => {
                    return Err(ClientError::Io {
                        phase,
                        addr: self.addr.clone(),
                        source,
                    });
                }
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                self.eof = true;
                self.dec.finish();
            } else {
                status.send_if_modified(|s| {
                    s.bytes += n as u64;
                    false
                });
                self.dec.push_bytes(buf.freeze());
            }
        }
    }

    /// Reads the current response's head and judges it (status, auth, Content-Type).
    pub(crate) async fn read_head(
        &mut self,
        config: &ClientConfig,
        auth: &mut Auth,
        status: &watch::Sender<ClientStatus>,
    ) -> Result<HeadOutcome, ClientError> {
        let pumped = self.pump(config, true, status).await?;
        let Some(head) = self.dec.head() else {
            return Err(match pumped {
                Pumped::Error(e) if !self.eof => ClientError::Http(e),
                _ => ClientError::Closed {
                    phase: Phase::Head,
                    addr: self.addr.clone(),
                },
            });
        };
        if head.status == 401 {
            if auth.credentials.is_none() {
                return Err(ClientError::Unauthorized {
                    why: "the camera wants credentials and the URL has none",
                    addr: self.addr.clone(),
                });
            }
            let challenge = DigestChallenge::pick(
                head.headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
                    .map(|(_, v)| v.as_str()),
            );
            return match challenge {
                Some(c) if auth.digest.is_none() || c.stale => {
                    auth.set_digest(c);
                    Ok(HeadOutcome::RetryAuth)
                }
                _ => Err(ClientError::Unauthorized {
                    why: "the camera refused the credentials",
                    addr: self.addr.clone(),
                }),
            };
        }
        if !head.is_success() {
            return Err(ClientError::Status {
                status: head.status,
                reason: head.reason.clone(),
                addr: self.addr.clone(),
            });
        }
        let ctype = head.content_type().unwrap_or("").to_ascii_lowercase();
        let kind = if ctype.starts_with("multipart/") || ctype.is_empty() {
            Kind::Stream
        } else if ctype.starts_with("image/") {
            Kind::Poll
        } else {
            return Err(ClientError::ContentType {
                content_type: head.content_type().unwrap_or("").to_owned(),
            });
        };
        if self.kind == Kind::Unknown {
            self.kind = kind;
        } else if self.kind != kind {
            return Err(ClientError::ContentType {
                content_type: head.content_type().unwrap_or("").to_owned(),
            });
        }
        self.keep_alive = head.version >= 1
            && !head
                .header("connection")
                .is_some_and(|v| v.to_ascii_lowercase().contains("close"))
            && !matches!(head.body_kind(), BodyKind::UntilClose);
        if self.head_done.is_none() {
            self.head_done = Some(Instant::now());
        }
        if let Pumped::Frame(f) = pumped {
            self.stash = Some(f);
        }
        Ok(HeadOutcome::Ok)
    }

    /// The next event of this connection.
    pub(crate) async fn next(
        &mut self,
        url: &CameraUrl,
        config: &ClientConfig,
        auth: &mut Auth,
        status: &watch::Sender<ClientStatus>,
    ) -> Event {
        match self.next_inner(url, config, auth, status).await {
            Ok(e) => e,
            Err(e) => Event::Failed(e),
        }
    }

    async fn next_inner(
        &mut self,
        url: &CameraUrl,
        config: &ClientConfig,
        auth: &mut Auth,
        status: &watch::Sender<ClientStatus>,
    ) -> Result<Event, ClientError> {
        loop {
            if let Some(f) = self.stash.take() {
                return Ok(self.got_frame(f));
            }
            match self.pump(config, false, status).await? {
                Pumped::Frame(f) => return Ok(self.got_frame(f)),
                Pumped::Error(e) if e.is_recoverable() => {
                    return Ok(Event::Skipped(ClientError::Decode(e)));
                }
                Pumped::Error(e) => return Err(ClientError::Http(e)),
                Pumped::Head => {}
                Pumped::Done => {
                    let (_, phase, after) = self.deadline(config);
                    if self.kind != Kind::Poll {
                        return Err(ClientError::Closed {
                            phase,
                            addr: self.addr.clone(),
                        });
                    }
                    // Poll mode: this answer is complete.
                    if self.deadline(config).0 <= Instant::now() {
                        return Err(self.timeout(phase, after));
                    }
                    if !self.keep_alive || self.eof {
                        return if self.response_frames > 0 {
                            Ok(Event::Reopen)
                        } else {
                            Err(ClientError::Closed {
                                phase,
                                addr: self.addr.clone(),
                            })
                        };
                    }
                    tokio::time::sleep_until(self.next_poll).await;
                    self.send_request(url, config, auth).await?;
                    if let HeadOutcome::RetryAuth = self.read_head(config, auth, status).await? {
                        return Ok(Event::Reopen);
                    }
                }
            }
        }
    }

    fn got_frame(&mut self, f: Frame) -> Event {
        self.last_frame = Some(Instant::now());
        self.response_frames += 1;
        Event::Frame(f)
    }
}
