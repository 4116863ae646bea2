//! MJPEG `multipart/x-mixed-replace` parser (sans-IO, any chunking, real-camera quirks) and writer.
//!
//! * [`Decoder`]: push byte chunks of any size ([`Decoder::push`] copies,
//!   [`Decoder::push_bytes`] is zero-copy), pull [`Frame`]s with [`Decoder::next_frame`]; the
//!   same frames under any chunking. Content-Length parts are skipped without scanning, others are
//!   delimited by a SIMD search for the boundary; a second [`Mode::RawJpeg`] walks JPEG marker
//!   segments for streams without multipart framing. Corrupt parts give a typed [`Error`] with a
//!   byte offset and the decoder resynchronises at the next boundary; memory is bounded by
//!   [`Limits`].
//! * [`Writer`]: the response head and each part, encoded once as a `Bytes` that every viewer
//!   clones (no per-viewer copy).
//! * [`http`]: a sans-IO HTTP/1.x client layer (response head, chunked transfer coding) and
//!   [`HttpDecoder`], which turns raw socket bytes from an ESP32-CAM or mjpg-streamer into frames.
//! * [`CameraUrl`] and [`redact_url`]: camera URLs with user-info, and the password hidden
//!   (`http://admin:***@host:81/stream`) wherever a URL is shown.
//! * feature `auth` (implied by `tokio`): `auth`, HTTP Basic and Digest for cameras
//!   (`WWW-Authenticate` parsing, MD5 / SHA-256 responses), sans-IO.
//! * feature `tokio`:
//!   * `client`: a camera URL in, a `Stream` of frames out: per-phase deadlines, reconnect with
//!     jittered backoff, Basic / Digest credentials, an observable status for `/health`.
//!   * `fanout`: the newest-wins hub: publish never waits, every subscriber gets the newest item,
//!     subscriber count observable, per-subscriber rate cap, subscriber limit.
//!   * `MjpegCodec`, a `tokio_util::codec` `Decoder` / `Encoder` over a response *body*.
//! * feature `serve`: [`serve::Server`], an HTTP/1.1 serve loop with a request-head deadline and a
//!   connection cap fitted to the open-file limit (for the servers that send the streams), and
//!   [`serve::PrometheusText`] for their `/metrics`.
//! * feature `sim-camera`: [`sim_camera::SimCamera`], a simulated ESP32-CAM on a TCP port (one
//!   client at a time, `/capture` and chunked `/stream`, faults on demand) for tests and demos.
//! * feature `webrtc`: `webrtc`, the second wire format: H.264 encoded once, WHEP sessions over
//!   one UDP socket.
//!
//! ```
//! use stream_codec::{Decoder, Writer};
//!
//! // server side: encode once, send the same Bytes to every viewer
//! let writer = Writer::new("frame").expect("valid boundary");
//! let mut wire = writer.response_head().to_vec();
//! for i in 0..3u8 {
//!     let jpeg = [0xFF, 0xD8, i, 0xFF, 0xD9];
//!     wire.extend_from_slice(&writer.encode_part(&jpeg, None));
//! }
//!
//! // client side: HTTP layer + decoder, fed in arbitrary chunks
//! let mut client = stream_codec::HttpDecoder::default();
//! let mut frames = Vec::new();
//! for chunk in wire.chunks(7) {
//!     client.push(chunk);
//!     frames.extend(client.frames());
//! }
//! client.finish();
//! frames.extend(client.frames());
//! assert_eq!(frames.len(), 3);
//! assert_eq!(frames[2].as_ref().expect("frame").data[2], 2);
//! ```
#![forbid(unsafe_code)]
// docs.rs: mark feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "auth")]
pub mod auth;
mod boundary;
mod camera_url;
#[cfg(feature = "tokio")]
pub mod client;
#[cfg(feature = "tokio")]
mod codec;
mod config;
mod decoder;
mod error;
#[cfg(feature = "tokio")]
pub mod fanout;
mod headers;
pub mod http;
mod input;
pub mod jpeg;
#[cfg(feature = "serve")]
mod prometheus;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "sim-camera")]
pub mod sim_camera;
#[cfg(feature = "webrtc")]
pub mod webrtc;
mod writer;

pub use boundary::{MAX_BOUNDARY_LEN, boundary_from_content_type};
pub use camera_url::{CameraUrl, UrlError, redact_url};
#[cfg(feature = "tokio")]
pub use codec::MjpegCodec;
pub use config::{DecoderConfig, Limits, Mode};
pub use decoder::{Decoder, Frame, Stats};
pub use error::Error;
pub use headers::PartHeaders;
pub use http::{ChunkedDecoder, HttpDecoder, HttpLimits, ResponseDecoder, ResponseHead};
pub use writer::{DEFAULT_BOUNDARY, Writer};
