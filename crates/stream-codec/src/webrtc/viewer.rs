//! A receiving WHEP endpoint: a blocking str0m client on its own UDP socket (tests, load
//! generators, tools). It leaves the HTTP exchange to the caller.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::error::WebrtcError;

/// What [`WhepViewer::poll`] saw.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ViewerEvent {
    /// ICE and DTLS are up.
    Connected,
    /// One H.264 access unit (Annex B), reassembled from its RTP packets.
    Picture {
        /// The access unit.
        data: Arc<[u8]>,
        /// It holds an IDR slice.
        keyframe: bool,
        /// RTP time (90 kHz).
        rtp_time: u64,
    },
    /// The session is over (ICE disconnected or closed).
    Disconnected,
}

/// A WHEP viewer that receives one H.264 video track.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use stream_codec::webrtc::{ViewerEvent, WhepConfig, WhepServer, WhepViewer};
///
/// let server = WhepServer::bind(WhepConfig::new("127.0.0.1:0".parse()?)).await?;
/// let (mut viewer, offer) = WhepViewer::new("127.0.0.1:0".parse()?)?;
/// let answer = server.offer(Some("application/sdp"), offer.as_bytes()).await?; // or POST /whep
/// viewer.accept_answer(&answer.sdp)?;
/// for event in viewer.poll(Duration::from_millis(20))? {
///     if let ViewerEvent::Picture { data, .. } = event {
///         println!("{} bytes of H.264", data.len());
///     }
/// }
/// # Ok(()) }
/// ```
pub struct WhepViewer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    buf: Vec<u8>,
    alive: bool,
}

impl std::fmt::Debug for WhepViewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhepViewer")
            .field("local", &self.local)
            .field("alive", &self.alive)
            .finish_non_exhaustive()
    }
}

impl WhepViewer {
    /// A viewer on a UDP socket bound to `bind` (a specific IP, e.g. `127.0.0.1:0`), and its SDP
    /// offer (receive-only H.264 video) to POST to the WHEP endpoint.
    pub fn new(bind: SocketAddr) -> Result<(Self, String), WebrtcError> {
        let socket =
            UdpSocket::bind(bind).map_err(|source| WebrtcError::Socket { addr: bind, source })?;
        let local = socket
            .local_addr()
            .map_err(|source| WebrtcError::Socket { addr: bind, source })?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_h264(true)
            .build(Instant::now());
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| WebrtcError::Config(format!("candidate {local}: {e}")))?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| WebrtcError::Config("no offer".into()))?;
        Ok((
            Self {
                rtc,
                socket,
                local,
                pending: Some(pending),
                buf: vec![0; 2048],
                alive: true,
            },
            offer.to_sdp_string(),
        ))
    }

    /// Apply the WHEP server's SDP answer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), WebrtcError> {
        let answer = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| WebrtcError::Config(format!("SDP answer: {e}")))?;
        let pending = self
            .pending
            .take()
            .ok_or_else(|| WebrtcError::Config("answer already applied".into()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| WebrtcError::Config(format!("SDP answer: {e}")))
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether the session is still up.
    pub fn is_alive(&self) -> bool {
        self.alive
    }

    /// One step: send what is due, wait up to `max_wait` for one datagram, handle it; returns the
    /// events of this step.
    pub fn poll(&mut self, max_wait: Duration) -> Result<Vec<ViewerEvent>, WebrtcError> {
        let mut events = Vec::new();
        if !self.alive {
            events.push(ViewerEvent::Disconnected);
            return Ok(events);
        }
        let timeout = self.drain(&mut events);
        let wait = timeout.saturating_duration_since(Instant::now()).clamp(
            Duration::from_millis(1),
            max_wait.max(Duration::from_millis(1)),
        );
        self.socket
            .set_read_timeout(Some(wait))
            .map_err(|source| WebrtcError::Socket {
                addr: self.local,
                source,
            })?;
        let mut first = true;
        // The first datagram within `wait`, then whatever else is already queued (bounded).
        for _ in 0..64 {
            let input = match self.socket.recv_from(&mut self.buf) {
                Ok((n, source)) => {
                    match Receive::new(Protocol::Udp, source, self.local, &self.buf[..n]) {
                        Ok(r) => Input::Receive(Instant::now(), r),
                        Err(_) => continue,
                    }
                }
                Err(_) if first => Input::Timeout(Instant::now()),
                Err(_) => break,
            };
            let timed_out = matches!(input, Input::Timeout(_));
            if self.rtc.handle_input(input).is_err() {
                self.alive = false;
                events.push(ViewerEvent::Disconnected);
                let _ = self.socket.set_nonblocking(false);
                return Ok(events);
            }
            self.drain(&mut events);
            if timed_out || !self.alive {
                break;
            }
            if first {
                first = false;
                let _ = self.socket.set_nonblocking(true);
            }
        }
        let _ = self.socket.set_nonblocking(false);
        self.drain(&mut events);
        Ok(events)
    }

    fn drain(&mut self, events: &mut Vec<ViewerEvent>) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => events.push(ViewerEvent::Connected),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        self.alive = false;
                        events.push(ViewerEvent::Disconnected);
                        return Instant::now();
                    }
                    Event::MediaData(data) => {
                        let keyframe = has_idr(&data.data);
                        events.push(ViewerEvent::Picture {
                            data: data.data,
                            keyframe,
                            rtp_time: data.time.numer(),
                        });
                    }
                    _ => {}
                },
                Err(_) => {
                    self.alive = false;
                    events.push(ViewerEvent::Disconnected);
                    return Instant::now();
                }
            }
        }
    }
}

/// Whether an Annex B access unit holds an IDR slice (NAL type 5).
fn has_idr(data: &[u8]) -> bool {
    data.windows(4)
        .any(|w| w[..3] == [0, 0, 1] && (w[3] & 0x1f) == 5)
}
