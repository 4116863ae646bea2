//! The encode-once track: frames in, one encode per frame for every WebRTC viewer.

use std::time::Instant;

use super::encoder::{AccessUnit, H264Encoder, H264Settings, Yuv420};
use super::error::WebrtcError;
use super::server::WhepServer;

/// What one pushed frame did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pushed {
    /// Nobody watches: nothing was encoded.
    NoViewers,
    /// The encoder produced no picture for this frame.
    Skipped,
    /// A picture went to every session.
    Sent {
        /// Its size in bytes.
        bytes: usize,
        /// Whether it is a key frame.
        keyframe: bool,
        /// Colour conversion and encode time.
        encode_time: std::time::Duration,
    },
}

/// One H.264 encoder feeding a [`WhepServer`]: encodes only while a WebRTC viewer is connected,
/// makes a key frame when a viewer joins or asks, publishes each picture once for every session.
///
/// Call it from the thread that produces frames (encoding is CPU work: keep it off an async
/// executor thread, e.g. in `spawn_blocking` next to the JPEG encode).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Instant;
/// use stream_codec::webrtc::{H264Settings, H264Track, WhepConfig, WhepServer};
///
/// let server = WhepServer::bind(WhepConfig::new("127.0.0.1:0".parse()?)).await?;
/// let mut track = H264Track::new(server.clone(), H264Settings::default())?;
/// let rgb = vec![0u8; 640 * 480 * 3];
/// track.push_rgb(&rgb, 640, 480, Instant::now())?; // does nothing until someone watches
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct H264Track {
    encoder: H264Encoder,
    server: WhepServer,
}

impl H264Track {
    /// A track feeding `server`.
    pub fn new(server: WhepServer, settings: H264Settings) -> Result<Self, WebrtcError> {
        Ok(Self {
            encoder: H264Encoder::new(settings)?,
            server,
        })
    }

    /// Whether a frame pushed now would be encoded (someone watches).
    pub fn wanted(&self) -> bool {
        self.server.viewers() > 0
    }

    /// The server this track feeds.
    pub fn server(&self) -> &WhepServer {
        &self.server
    }

    /// Encode a packed RGB frame for every viewer (nothing when nobody watches).
    pub fn push_rgb(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        capture: Instant,
    ) -> Result<Pushed, WebrtcError> {
        if !self.prepare() {
            return Ok(Pushed::NoViewers);
        }
        let picture = self.encoder.encode_rgb(rgb, width, height, capture)?;
        Ok(self.publish(picture))
    }

    /// Encode YUV 4:2:0 planes for every viewer (nothing when nobody watches).
    pub fn push_yuv420(
        &mut self,
        frame: Yuv420<'_>,
        capture: Instant,
    ) -> Result<Pushed, WebrtcError> {
        if !self.prepare() {
            return Ok(Pushed::NoViewers);
        }
        let picture = self.encoder.encode_yuv420(frame, capture)?;
        Ok(self.publish(picture))
    }

    fn prepare(&mut self) -> bool {
        if !self.wanted() {
            return false;
        }
        if self.server.take_keyframe_request() {
            self.encoder.request_keyframe();
        }
        true
    }

    fn publish(&mut self, picture: Option<AccessUnit>) -> Pushed {
        match picture {
            None => Pushed::Skipped,
            Some(picture) => {
                let pushed = Pushed::Sent {
                    bytes: picture.data.len(),
                    keyframe: picture.keyframe,
                    encode_time: picture.encode_time,
                };
                self.server.publish(picture);
                pushed
            }
        }
    }
}
