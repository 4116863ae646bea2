//! WebRTC output, the second wire format of a camera stream: H.264 encoded once for every viewer,
//! WHEP signalling, every session over one UDP socket (feature `webrtc`).
//!
//! * [`H264Encoder`]: OpenH264 (built from its bundled source), constrained baseline profile so
//!   every browser decodes it; RGB or YUV 4:2:0 in, Annex B [`AccessUnit`]s out; key frames on
//!   request and at least every [`H264Settings::keyframe_interval`] (2 s by default).
//! * [`WhepServer`]: WHEP signalling (the WHIP rules of RFC 9725 applied to egress):
//!   [`WhepServer::offer`] answers an `application/sdp` offer with the SDP answer and the
//!   session's `Location` (`/whep/<id>`), [`WhepServer::delete`] ends it; bad requests get a
//!   [`WhepError`] with its 4xx status and a reason. One task drives every session's
//!   [`str0m`](https://docs.rs/str0m) `Rtc` over one UDP socket, demultiplexed by remote address
//!   and ICE username. Each picture is written to every session from one shared buffer; the
//!   socket is never waited on (a viewer that stops reading loses only its own datagrams), a
//!   session that joins or misses pictures waits for a fresh key frame instead of a backlog.
//!   Sessions close on `DELETE`, ICE disconnect, or silence; [`WhepServer::viewers`] /
//!   [`WhepServer::watch_viewers`] count them.
//! * [`H264Track`]: encoder + server: encodes only while a viewer is connected.
//! * [`WHEP_PLAYER_JS`]: the browser side, a small WHEP player for a `<video>` element.
//! * [`WhepViewer`]: a receiving WHEP client on its own UDP socket (tests, load generators).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Instant;
//! use stream_codec::webrtc::{H264Settings, H264Track, WhepConfig, WhepServer};
//!
//! let server = WhepServer::bind(WhepConfig::new("0.0.0.0:5000".parse()?)).await?;
//! let mut track = H264Track::new(server.clone(), H264Settings::default())?;
//! // HTTP layer: POST /whep -> server.offer(content_type, body), DELETE /whep/{id} -> server.delete(id)
//! // frame source: for each frame
//! # let (rgb, width, height) = (vec![0u8; 64 * 48 * 3], 64, 48);
//! track.push_rgb(&rgb, width, height, Instant::now())?;
//! # Ok(()) }
//! ```

mod candidates;
mod encoder;
mod error;
mod sdp;
mod server;
mod track;
mod viewer;

pub use candidates::default_candidate_ips;
pub use encoder::{AccessUnit, H264Encoder, H264Settings, Yuv420};
pub use error::{WebrtcError, WhepError};
pub use sdp::SDP_CONTENT_TYPE;
pub use server::{WhepAnswer, WhepConfig, WhepServer, WhepStats};
pub use track::{H264Track, Pushed};
pub use viewer::{ViewerEvent, WhepViewer};

/// A browser-side WHEP player (JavaScript, no dependencies): `new WhepPlayer(video, '/whep')`,
/// `await player.start()`, `player.stats` (frames, fps, kbit/s, jitter buffer delay, display
/// latency), `await player.stop()` (sends the `DELETE`). Serve it as `text/javascript`.
pub const WHEP_PLAYER_JS: &str = include_str!("whep_player.js");
