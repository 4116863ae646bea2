//! The WHEP server: every session's `str0m::Rtc` driven by one task over one UDP socket, each
//! encoded picture written to every session.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use super::candidates::{arrival_address, default_candidate_ips};
use super::encoder::AccessUnit;
use super::error::{WebrtcError, WhepError};
use super::sdp::{answer_sends_h264, check_content_type, check_offer};

/// Settings of the WHEP server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WhepConfig {
    /// The UDP address every session shares (port 0 picks a free one).
    pub udp_bind: SocketAddr,
    /// ICE host candidate IPs offered to browsers; empty = [`default_candidate_ips`] of
    /// `udp_bind`. With exactly one IP and an unspecified `udp_bind`, the socket binds that IP.
    pub candidate_ips: Vec<IpAddr>,
    /// Most sessions at once (an offer beyond gets 503).
    pub max_sessions: usize,
    /// A session that has not connected (ICE + DTLS) this long after its offer is closed.
    pub connect_timeout: Duration,
    /// A connected session from which nothing arrived (STUN consent, RTCP) this long is closed.
    pub silence_timeout: Duration,
    /// Largest SDP offer accepted (bytes).
    pub max_offer_bytes: usize,
    /// Path of the WHEP endpoint; sessions live at `<prefix>/<id>` (the `Location` header).
    pub resource_prefix: String,
}

impl WhepConfig {
    /// Settings for a server on `udp_bind`, with the defaults for everything else.
    pub fn new(udp_bind: SocketAddr) -> Self {
        Self {
            udp_bind,
            candidate_ips: Vec::new(),
            max_sessions: 256,
            connect_timeout: Duration::from_secs(15),
            silence_timeout: Duration::from_secs(10),
            max_offer_bytes: 64 * 1024,
            resource_prefix: "/whep".into(),
        }
    }

    /// These ICE host candidate IPs instead of the defaults.
    pub fn with_candidate_ips(mut self, ips: Vec<IpAddr>) -> Self {
        self.candidate_ips = ips;
        self
    }

    /// This silence timeout.
    pub fn with_silence_timeout(mut self, timeout: Duration) -> Self {
        self.silence_timeout = timeout;
        self
    }

    /// This session limit.
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }
}

/// The answer to an accepted WHEP offer: `201 Created`, `Location`, `application/sdp` body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WhepAnswer {
    /// The session id (the last path segment of `location`).
    pub id: String,
    /// The session resource: `DELETE` it to end the session.
    pub location: String,
    /// The SDP answer.
    pub sdp: String,
}

/// Counters of the server (monotonic unless noted).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct WhepStats {
    /// Sessions open now (connecting or connected).
    pub sessions: usize,
    /// Sessions connected now (ICE and DTLS done).
    pub connected: usize,
    /// Sessions created since start.
    pub sessions_total: u64,
    /// Pictures received from the encoder.
    pub pictures_in: u64,
    /// Pictures written to sessions (summed over sessions).
    pub pictures_out: u64,
    /// Pictures a session skipped while waiting for a key frame (summed over sessions).
    pub pictures_skipped: u64,
    /// Pictures dropped because the session task was more than a few pictures behind.
    pub pictures_dropped: u64,
    /// UDP datagrams sent.
    pub packets_out: u64,
    /// UDP bytes sent.
    pub bytes_out: u64,
    /// Datagrams the socket refused (full send buffer); RTP retransmission covers them.
    pub send_drops: u64,
    /// Key frames asked of the encoder (joins, PLI/FIR, gaps).
    pub keyframe_requests: u64,
    /// Time from the picture's capture to its first RTP packet on the socket: median and 95th
    /// percentile over the last 512 pictures.
    pub latency_p50: Option<Duration>,
    /// See `latency_p50`.
    pub latency_p95: Option<Duration>,
}

#[derive(Default)]
struct Counters {
    sessions: AtomicUsize,
    connected: AtomicUsize,
    sessions_total: AtomicU64,
    pictures_in: AtomicU64,
    pictures_out: AtomicU64,
    pictures_skipped: AtomicU64,
    pictures_dropped: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    send_drops: AtomicU64,
    keyframe_requests: AtomicU64,
}

struct Shared {
    local_addr: SocketAddr,
    candidate_ips: Vec<IpAddr>,
    config: WhepConfig,
    counters: Counters,
    keyframe_wanted: AtomicBool,
    latency: Mutex<VecDeque<Duration>>,
    viewers_tx: watch::Sender<usize>,
}

enum Command {
    Offer {
        sdp: String,
        reply: oneshot::Sender<Result<WhepAnswer, WhepError>>,
    },
    Delete {
        id: String,
        reply: oneshot::Sender<Result<(), WhepError>>,
    },
}

/// The WHEP server: a cheap handle (clone it freely) on the task that owns the UDP socket and
/// every session. The task stops when the last handle is dropped.
///
/// Feed it with [`WhepServer::publish`] (or through [`H264Track`](super::H264Track), which
/// encodes only while someone watches); answer HTTP with [`WhepServer::offer`] and
/// [`WhepServer::delete`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use stream_codec::webrtc::{WhepConfig, WhepServer};
///
/// let server = WhepServer::bind(WhepConfig::new("127.0.0.1:0".parse()?)).await?;
/// // POST /whep with Content-Type: application/sdp
/// # let offer = String::new();
/// match server.offer(Some("application/sdp"), offer.as_bytes()).await {
///     Ok(answer) => println!("201 Created, Location: {}\n{}", answer.location, answer.sdp),
///     Err(e) => println!("{} {e}", e.status()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WhepServer {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    pictures: mpsc::Sender<Arc<AccessUnit>>,
}

impl std::fmt::Debug for WhepServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhepServer")
            .field("local_addr", &self.shared.local_addr)
            .field("sessions", &self.viewers())
            .finish_non_exhaustive()
    }
}

impl WhepServer {
    /// Bind the UDP socket and start the session task (on the current tokio runtime).
    pub async fn bind(config: WhepConfig) -> Result<Self, WebrtcError> {
        if config.max_sessions == 0 {
            return Err(WebrtcError::Config(
                "max_sessions must be at least 1".into(),
            ));
        }
        if config.connect_timeout.is_zero() || config.silence_timeout.is_zero() {
            return Err(WebrtcError::Config("timeouts must be positive".into()));
        }
        let candidate_ips = if config.candidate_ips.is_empty() {
            default_candidate_ips(config.udp_bind.ip())
        } else {
            config.candidate_ips.clone()
        };
        let mut bind = config.udp_bind;
        if let [only] = candidate_ips.as_slice()
            && bind.ip().is_unspecified()
            && only.is_ipv4() == bind.is_ipv4()
        {
            bind.set_ip(*only);
        }
        let socket = UdpSocket::bind(bind)
            .await
            .map_err(|source| WebrtcError::Socket { addr: bind, source })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| WebrtcError::Socket { addr: bind, source })?;
        let provider = str0m::crypto::from_feature_flags();
        let cert = provider
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| WebrtcError::Certificate("no certificate generated".into()))?;
        let (viewers_tx, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            local_addr,
            candidate_ips,
            config,
            counters: Counters::default(),
            keyframe_wanted: AtomicBool::new(false),
            latency: Mutex::new(VecDeque::with_capacity(512)),
            viewers_tx,
        });
        let (commands, command_rx) = mpsc::channel(64);
        let (pictures, picture_rx) = mpsc::channel(PICTURE_QUEUE);
        let task = SessionLoop {
            shared: Arc::clone(&shared),
            socket,
            cert,
            sessions: HashMap::new(),
            by_source: HashMap::new(),
            next_key: 0,
            last_seq: None,
            epoch: Instant::now(),
            last_rtp: None,
            ids: RandomState::new(),
        };
        tokio::spawn(task.run(command_rx, picture_rx));
        Ok(Self {
            shared,
            commands,
            pictures,
        })
    }

    /// The UDP address the sessions share.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The ICE host candidate IPs offered in answers.
    pub fn candidate_ips(&self) -> &[IpAddr] {
        &self.shared.candidate_ips
    }

    /// Sessions open now (connecting or connected): the WebRTC viewers.
    pub fn viewers(&self) -> usize {
        self.shared.counters.sessions.load(Ordering::Relaxed)
    }

    /// A watch of [`WhepServer::viewers`] (changes when a session opens or closes).
    pub fn watch_viewers(&self) -> watch::Receiver<usize> {
        self.shared.viewers_tx.subscribe()
    }

    /// Whether a session asked for a key frame since the last call (joins, PLI, FIR, missed
    /// pictures). The encoder side calls this before each encode.
    pub fn take_keyframe_request(&self) -> bool {
        self.shared.keyframe_wanted.swap(false, Ordering::AcqRel)
    }

    /// Hand an encoded picture to every session. Never blocks: up to a few pictures wait for
    /// the session task (a key frame burst to many sessions may take longer than one frame
    /// interval); beyond that the picture is dropped, and the sessions skip to the next key
    /// frame, which is requested (no backlog).
    pub fn publish(&self, picture: AccessUnit) {
        let c = &self.shared.counters;
        c.pictures_in.fetch_add(1, Ordering::Relaxed);
        if self.pictures.try_send(Arc::new(picture)).is_err() {
            c.pictures_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counters and latency figures.
    pub fn stats(&self) -> WhepStats {
        let c = &self.shared.counters;
        let (p50, p95) = {
            let mut v: Vec<Duration> = match self.shared.latency.lock() {
                Ok(l) => l.iter().copied().collect(),
                Err(poisoned) => poisoned.into_inner().iter().copied().collect(),
            };
            v.sort();
            let pick = |q: f64| -> Option<Duration> {
                if v.is_empty() {
                    None
                } else {
                    let i = ((v.len() - 1) as f64 * q).round() as usize;
                    v.get(i).copied()
                }
            };
            (pick(0.5), pick(0.95))
        };
        WhepStats {
            sessions: c.sessions.load(Ordering::Relaxed),
            connected: c.connected.load(Ordering::Relaxed),
            sessions_total: c.sessions_total.load(Ordering::Relaxed),
            pictures_in: c.pictures_in.load(Ordering::Relaxed),
            pictures_out: c.pictures_out.load(Ordering::Relaxed),
            pictures_skipped: c.pictures_skipped.load(Ordering::Relaxed),
            pictures_dropped: c.pictures_dropped.load(Ordering::Relaxed),
            packets_out: c.packets_out.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            send_drops: c.send_drops.load(Ordering::Relaxed),
            keyframe_requests: c.keyframe_requests.load(Ordering::Relaxed),
            latency_p50: p50,
            latency_p95: p95,
        }
    }

    /// `POST <prefix>`: check the request, create a session, answer.
    ///
    /// `content_type` is the request's `Content-Type`; errors carry the 4xx/5xx status
    /// ([`WhepError::status`]) and a reason for the body.
    pub async fn offer(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<WhepAnswer, WhepError> {
        check_content_type(content_type)?;
        let sdp = check_offer(body, self.shared.config.max_offer_bytes)?.to_owned();
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Offer { sdp, reply })
            .await
            .map_err(|_| WhepError::Stopped)?;
        answer.await.map_err(|_| WhepError::Stopped)?
    }

    /// `DELETE <prefix>/<id>`: end the session (`id` is the last path segment).
    pub async fn delete(&self, id: &str) -> Result<(), WhepError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Delete {
                id: id.chars().take(64).collect(),
                reply,
            })
            .await
            .map_err(|_| WhepError::Stopped)?;
        done.await.map_err(|_| WhepError::Stopped)?
    }
}

/// One viewer.
struct Session {
    id: String,
    rtc: Rtc,
    created: Instant,
    last_rx: Instant,
    next_timeout: Instant,
    video: Option<(Mid, Pt)>,
    connected: bool,
    need_keyframe: bool,
    sources: Vec<SocketAddr>,
    closed: Option<&'static str>,
}

struct SessionLoop {
    shared: Arc<Shared>,
    socket: UdpSocket,
    cert: DtlsCert,
    sessions: HashMap<u64, Session>,
    by_source: HashMap<SocketAddr, u64>,
    next_key: u64,
    last_seq: Option<u64>,
    epoch: Instant,
    last_rtp: Option<u64>,
    ids: RandomState,
}

/// Pictures waiting for the session task at most (then new ones are dropped).
const PICTURE_QUEUE: usize = 4;

/// Datagrams read per wake-up before other work gets a turn.
const RECV_BATCH: usize = 64;

impl SessionLoop {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut pictures: mpsc::Receiver<Arc<AccessUnit>>,
    ) {
        let mut buf = vec![0u8; 2048];
        let mut pictures_open = true;
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                received = self.socket.recv_from(&mut buf) => {
                    match received {
                        Ok((n, source)) => {
                            self.receive(&buf[..n], source);
                            for _ in 1..RECV_BATCH {
                                match self.socket.try_recv_from(&mut buf) {
                                    Ok((n, source)) => self.receive(&buf[..n], source),
                                    Err(_) => break,
                                }
                            }
                        }
                        // ICMP port unreachable from a vanished viewer and the like.
                        Err(e) => tracing::debug!("webrtc socket: {e}"),
                    }
                    self.reap();
                }
                picture = pictures.recv(), if pictures_open => {
                    match picture {
                        Some(picture) => self.fan_out(&picture),
                        None => pictures_open = false,
                    }
                    self.reap();
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.timeouts();
                    self.reap();
                }
            }
        }
        for (_, mut session) in self.sessions.drain() {
            session.rtc.disconnect();
        }
        self.shared.counters.sessions.store(0, Ordering::Relaxed);
        self.shared.counters.connected.store(0, Ordering::Relaxed);
        self.shared.viewers_tx.send_replace(0);
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let far = now + Duration::from_secs(1);
        let cfg = &self.shared.config;
        self.sessions
            .values()
            .map(|s| {
                let guard = if s.connected {
                    s.last_rx + cfg.silence_timeout
                } else {
                    s.created + cfg.connect_timeout
                };
                s.next_timeout.min(guard)
            })
            .min()
            .unwrap_or(far)
            .min(far)
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Offer { sdp, reply } => {
                // str0m parses the offer; a panic on a hostile offer must not stop every session.
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.create(&sdp)))
                        .unwrap_or_else(|_| {
                            Err(WhepError::MalformedSdp(
                                "the WebRTC stack could not process this offer".into(),
                            ))
                        });
                if let Ok(answer) = &result {
                    tracing::info!(
                        "webrtc: session {} created ({} open)",
                        answer.id,
                        self.sessions.len()
                    );
                }
                let _ = reply.send(result);
            }
            Command::Delete { id, reply } => {
                let key = self
                    .sessions
                    .iter()
                    .find(|(_, s)| s.id == id)
                    .map(|(k, _)| *k);
                let result = match key.and_then(|k| self.sessions.get_mut(&k)) {
                    Some(session) => {
                        session.closed = Some("DELETE");
                        Ok(())
                    }
                    None => Err(WhepError::UnknownSession(id)),
                };
                self.reap();
                let _ = reply.send(result);
            }
        }
    }

    fn new_id(&mut self) -> String {
        let mut a = self.ids.build_hasher();
        a.write_u64(self.next_key);
        let mut b = self.ids.build_hasher();
        b.write_u64(!self.next_key);
        b.write_u64(self.epoch.elapsed().as_nanos() as u64);
        format!("{:016x}{:016x}", a.finish(), b.finish())
    }

    fn create(&mut self, sdp: &str) -> Result<WhepAnswer, WhepError> {
        let limit = self.shared.config.max_sessions;
        if self.sessions.len() >= limit {
            return Err(WhepError::TooManySessions(limit));
        }
        let offer =
            SdpOffer::from_sdp_string(sdp).map_err(|e| WhepError::MalformedSdp(e.to_string()))?;
        let now = Instant::now();
        let mut config = RtcConfig::new()
            .set_dtls_cert(self.cert.clone())
            .clear_codecs();
        // Constrained baseline first (what OpenH264 writes), plain baseline as a fallback;
        // packetization-mode 1 (FU-A) for pictures larger than one datagram.
        config
            .codec_config()
            .add_h264(108.into(), Some(109.into()), true, 0x42e01f);
        config
            .codec_config()
            .add_h264(127.into(), Some(121.into()), true, 0x42001f);
        let mut rtc = config.build(now);
        for ip in &self.shared.candidate_ips {
            let addr = SocketAddr::new(*ip, self.shared.local_addr.port());
            match str0m::Candidate::host(addr, "udp") {
                Ok(candidate) => {
                    rtc.add_local_candidate(candidate);
                }
                Err(e) => tracing::warn!("webrtc: candidate {addr}: {e}"),
            }
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| WhepError::NotAcceptable(e.to_string()))?
            .to_sdp_string();
        if !answer_sends_h264(&answer) {
            return Err(WhepError::NotAcceptable(
                "no H.264 profile in common (this server sends constrained baseline, \
                 profile-level-id 42e01f or 42001f, packetization-mode=1)"
                    .into(),
            ));
        }
        let key = self.next_key;
        self.next_key += 1;
        let id = self.new_id();
        let mut session = Session {
            id: id.clone(),
            rtc,
            created: now,
            last_rx: now,
            next_timeout: now,
            video: None,
            connected: false,
            need_keyframe: true,
            sources: Vec::new(),
            closed: None,
        };
        drain(&mut session, &self.socket, &self.shared);
        self.sessions.insert(key, session);
        self.update_counts();
        self.shared
            .counters
            .sessions_total
            .fetch_add(1, Ordering::Relaxed);
        Ok(WhepAnswer {
            location: format!("{}/{id}", self.shared.config.resource_prefix),
            id,
            sdp: answer,
        })
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr) {
        let now = Instant::now();
        let destination =
            arrival_address(self.shared.local_addr, source, &self.shared.candidate_ips);
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let key = match self.by_source.get(&source) {
            Some(key) if self.sessions.contains_key(key) => Some(*key),
            _ => self
                .sessions
                .iter()
                .find(|(_, s)| s.closed.is_none() && s.rtc.accepts(&input))
                .map(|(k, _)| *k),
        };
        let Some(key) = key else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        if !session.sources.contains(&source) {
            session.sources.push(source);
            self.by_source.insert(source, key);
        }
        session.last_rx = now;
        if let Err(e) = session.rtc.handle_input(input) {
            tracing::debug!("webrtc: session {}: input: {e}", session.id);
            session.closed = Some("input error");
            return;
        }
        drain(session, &self.socket, &self.shared);
    }

    fn timeouts(&mut self) {
        let now = Instant::now();
        let cfg = &self.shared.config;
        for session in self.sessions.values_mut() {
            if session.closed.is_some() {
                continue;
            }
            if !session.connected && now >= session.created + cfg.connect_timeout {
                session.closed = Some("not connected in time");
                continue;
            }
            if session.connected && now >= session.last_rx + cfg.silence_timeout {
                session.closed = Some("silence timeout");
                continue;
            }
            if now >= session.next_timeout {
                if let Err(e) = session.rtc.handle_input(Input::Timeout(now)) {
                    tracing::debug!("webrtc: session {}: timeout: {e}", session.id);
                    session.closed = Some("timeout error");
                    continue;
                }
                drain(session, &self.socket, &self.shared);
            }
        }
    }

    fn fan_out(&mut self, picture: &Arc<AccessUnit>) {
        let gap = self.last_seq.is_some_and(|s| picture.seq != s + 1);
        self.last_seq = Some(picture.seq);
        if gap && !picture.keyframe {
            // This task missed pictures: every session's reference chain is broken.
            for session in self.sessions.values_mut() {
                session.need_keyframe = true;
            }
        }
        // 90 kHz media time from the capture instant, strictly increasing.
        let since = picture.capture.saturating_duration_since(self.epoch);
        let mut rtp = (since.as_micros() as u64).saturating_mul(9) / 100;
        if let Some(last) = self.last_rtp {
            rtp = rtp.max(last + 1);
        }
        self.last_rtp = Some(rtp);
        let media_time = MediaTime::from_90khz(rtp);
        let mut first_packet_at: Option<Instant> = None;
        let mut want_keyframe = false;
        let counters = &self.shared.counters;
        for session in self.sessions.values_mut() {
            if session.closed.is_some() || !session.connected {
                continue;
            }
            let Some((mid, pt)) = session.video else {
                continue;
            };
            if session.need_keyframe && !picture.keyframe {
                want_keyframe = true;
                counters.pictures_skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(writer) = session.rtc.writer(mid) else {
                session.closed = Some("video section gone");
                continue;
            };
            if let Err(e) = writer.write(pt, picture.capture, media_time, picture.data.clone()) {
                tracing::debug!("webrtc: session {}: write: {e}", session.id);
                session.closed = Some("write error");
                continue;
            }
            session.need_keyframe = false;
            counters.pictures_out.fetch_add(1, Ordering::Relaxed);
            drain(session, &self.socket, &self.shared);
            if first_packet_at.is_none() {
                first_packet_at = Some(Instant::now());
            }
        }
        if want_keyframe {
            self.request_keyframe();
        }
        if let Some(at) = first_packet_at {
            let latency = at.saturating_duration_since(picture.capture);
            let mut samples = match self.shared.latency.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if samples.len() >= 512 {
                samples.pop_front();
            }
            samples.push_back(latency);
        }
    }

    fn request_keyframe(&self) {
        request_keyframe(&self.shared);
    }

    /// Remove closed and dead sessions; update the viewer counts.
    fn reap(&mut self) {
        let dead: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.closed.is_some() || !s.rtc.is_alive())
            .map(|(k, _)| *k)
            .collect();
        if dead.is_empty() {
            return;
        }
        for key in dead {
            if let Some(mut session) = self.sessions.remove(&key) {
                for source in &session.sources {
                    self.by_source.remove(source);
                }
                session.rtc.disconnect();
                tracing::info!(
                    "webrtc: session {} closed ({}), {} open",
                    session.id,
                    session.closed.unwrap_or("disconnected"),
                    self.sessions.len()
                );
            }
        }
        self.update_counts();
    }

    fn update_counts(&self) {
        let open = self.sessions.len();
        let connected = self.sessions.values().filter(|s| s.connected).count();
        self.shared.counters.sessions.store(open, Ordering::Relaxed);
        self.shared
            .counters
            .connected
            .store(connected, Ordering::Relaxed);
        self.shared.viewers_tx.send_if_modified(|v| {
            let changed = *v != open;
            *v = open;
            changed
        });
    }
}

fn request_keyframe(shared: &Shared) {
    if !shared.keyframe_wanted.swap(true, Ordering::AcqRel) {
        shared
            .counters
            .keyframe_requests
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// Poll a session until it has nothing more to do: send its datagrams, handle its events.
fn drain(session: &mut Session, socket: &UdpSocket, shared: &Shared) {
    let counters = &shared.counters;
    loop {
        match session.rtc.poll_output() {
            Ok(Output::Timeout(t)) => {
                session.next_timeout = t;
                return;
            }
            Ok(Output::Transmit(t)) => match socket.try_send_to(&t.contents, t.destination) {
                Ok(n) => {
                    counters.packets_out.fetch_add(1, Ordering::Relaxed);
                    counters.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(_) => {
                    counters.send_drops.fetch_add(1, Ordering::Relaxed);
                }
            },
            Ok(Output::Event(event)) => match event {
                Event::Connected if !session.connected => {
                    session.connected = true;
                    session.need_keyframe = true;
                    counters.connected.fetch_add(1, Ordering::Relaxed);
                    request_keyframe(shared);
                    tracing::debug!("webrtc: session {} connected", session.id);
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    session.closed = Some("ICE disconnected");
                }
                Event::MediaAdded(added)
                    if added.kind == MediaKind::Video && session.video.is_none() =>
                {
                    session.video = video_pt(&mut session.rtc, added.mid);
                }
                Event::KeyframeRequest(_) => request_keyframe(shared),
                _ => {}
            },
            Err(e) => {
                tracing::debug!("webrtc: session {}: {e}", session.id);
                session.closed = Some("WebRTC error");
                return;
            }
        }
    }
}

/// The payload type of the negotiated H.264 codec of a video section we can send on.
fn video_pt(rtc: &mut Rtc, mid: Mid) -> Option<(Mid, Pt)> {
    let sends = rtc.media(mid).is_some_and(|m| m.direction().is_sending());
    if !sends {
        return None;
    }
    let writer = rtc.writer(mid)?;
    let pt = writer
        .payload_params()
        .find(|p| p.spec().codec == Codec::H264)
        .map(|p| p.pt())?;
    Some((mid, pt))
}
