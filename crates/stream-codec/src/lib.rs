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
//! * feature `tokio`: `MjpegCodec`, a `tokio_util::codec` `Decoder` / `Encoder`.
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

mod boundary;
#[cfg(feature = "tokio")]
mod codec;
mod config;
mod decoder;
mod error;
mod headers;
pub mod http;
mod input;
pub mod jpeg;
#[cfg(feature = "webrtc")]
pub mod webrtc;
mod writer;

pub use boundary::{MAX_BOUNDARY_LEN, boundary_from_content_type};
#[cfg(feature = "tokio")]
pub use codec::MjpegCodec;
pub use config::{DecoderConfig, Limits, Mode};
pub use decoder::{Decoder, Frame, Stats};
pub use error::Error;
pub use headers::PartHeaders;
pub use http::{ChunkedDecoder, HttpDecoder, HttpLimits, ResponseDecoder, ResponseHead};
pub use writer::{DEFAULT_BOUNDARY, Writer};
