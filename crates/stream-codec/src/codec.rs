//! `tokio_util::codec` adapters over the same state machine (feature `tokio`).
//!
//! [`MjpegCodec`] decodes frames from an `AsyncRead` of a multipart response *body* (through
//! `FramedRead`) and encodes JPEGs as parts (through `FramedWrite`). The body, not raw socket
//! bytes: the HTTP response head and any chunked transfer coding must already be removed, as
//! reqwest's / hyper's body streams do (wrap them with `tokio_util::io::StreamReader`). For raw
//! socket bytes use [`HttpDecoder`](crate::HttpDecoder); for a camera URL use
//! [`client`](crate::client), which also reconnects. Recoverable part errors do not end the stream (tokio-util's
//! `FramedRead` would pause after an error): they are counted in the decoder's
//! [`Stats`](crate::Stats) and the last one is kept in [`MjpegCodec::last_error`]. A truncated
//! last part is returned as the error of `decode_eof`.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder as TokioDecoder, Encoder};

use crate::{Decoder, Error, Frame, Writer};

/// `Decoder<Item = Frame>` over a multipart response body + `Encoder<Bytes>` / `Encoder<Frame>`
/// for MJPEG parts.
///
/// ```
/// use bytes::BytesMut;
/// use stream_codec::{MjpegCodec, Writer};
/// use tokio_util::codec::{Decoder as _, Encoder as _};
/// let mut codec = MjpegCodec::new(stream_codec::Decoder::default(), Writer::default());
/// let mut wire = BytesMut::new();
/// codec.encode(bytes::Bytes::from_static(b"\xff\xd8\xff\xd9"), &mut wire).expect("encodes");
/// let frame = codec.decode(&mut wire).expect("no io error").expect("a frame");
/// assert_eq!(&frame.data[..], b"\xff\xd8\xff\xd9");
/// ```
#[derive(Debug)]
pub struct MjpegCodec {
    decoder: Decoder,
    writer: Writer,
    last_error: Option<Error>,
}

impl Default for MjpegCodec {
    fn default() -> Self {
        MjpegCodec::new(Decoder::default(), Writer::default())
    }
}

impl MjpegCodec {
    /// A codec from a configured decoder and writer.
    pub fn new(decoder: Decoder, writer: Writer) -> Self {
        MjpegCodec {
            decoder,
            writer,
            last_error: None,
        }
    }

    /// The decoder (stats, boundary).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The writer.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The last recoverable error skipped while decoding.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    fn pull(&mut self) -> Option<Frame> {
        while let Some(item) = self.decoder.next_frame() {
            match item {
                Ok(f) => return Some(f),
                Err(e) => self.last_error = Some(e),
            }
        }
        None
    }
}

impl TokioDecoder for MjpegCodec {
    type Item = Frame;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if !src.is_empty() {
            self.decoder.push_bytes(src.split().freeze());
        }
        Ok(self.pull())
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if !src.is_empty() {
            self.decoder.push_bytes(src.split().freeze());
        }
        self.decoder.finish();
        while let Some(item) = self.decoder.next_frame() {
            match item {
                Ok(f) => return Ok(Some(f)),
                Err(e @ Error::Truncated { .. }) => return Err(e),
                Err(e) => self.last_error = Some(e),
            }
        }
        Ok(None)
    }
}

impl Encoder<Bytes> for MjpegCodec {
    type Error = Error;

    /// Writes one part holding this JPEG (no timestamp).
    fn encode(&mut self, jpeg: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        self.writer.encode_part_into(&jpeg, None, dst);
        Ok(())
    }
}

impl Encoder<Frame> for MjpegCodec {
    type Error = Error;

    /// Writes one part holding the frame's data, with its timestamp (relaying a decoded stream).
    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), Error> {
        self.writer
            .encode_part_into(&frame.data, frame.timestamp, dst);
        Ok(())
    }
}
