//! The dance game's WebSocket protocol, version 1 (feature `protocol`): what a browser sends
//! (checked, with a stable error code for each refusal) and the JSON a server answers, so a
//! server, a load tool or a test speak it from one definition. `examples/dance_server/README.md`
//! documents it for humans.
//!
//! ```
//! use pose_score::protocol::{Incoming, Outgoing, parse_text};
//! let limit = 2 << 20;
//! assert_eq!(parse_text(r#"{"type":"start"}"#, limit), Ok(Incoming::Start));
//! let refused = parse_text("{oops", limit).unwrap_err();
//! assert_eq!(refused.code(), "bad_json");
//! let pong = serde_json::to_string(&Outgoing::Pong)?;
//! assert_eq!(pong, r#"{"type":"pong"}"#);
//! # Ok::<(), serde_json::Error>(())
//! ```

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::limb::Limb;
use crate::scorer::PoseScore;
use crate::session::SessionSummary;

/// Protocol version announced in [`Hello`].
pub const PROTOCOL_VERSION: u32 = 1;

/// One message from the browser, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// `{"type":"frame",...}`: describes the next JPEG (binary message or data URL).
    Header(FrameHeader),
    /// JPEG bytes of the old `data:image/jpeg;base64,...` text (a binary message is checked by
    /// [`check_binary`] and kept as it came).
    Jpeg(Vec<u8>),
    /// `{"type":"start"}`: a new dance begins (resets tracking, the clock and the history).
    Start,
    /// `{"type":"end"}`: the dance is over; the server answers with a [`Summary`].
    End,
    /// `{"type":"ping"}`: answered with `{"type":"pong"}`.
    Ping,
}

/// The header that goes before a JPEG.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FrameHeader {
    /// Client frame id, echoed in the reply.
    #[serde(default)]
    pub id: Option<u64>,
    /// Dancer playback time in seconds for this frame; absent: the server's session clock.
    #[serde(default)]
    pub t: Option<f64>,
    /// `false`: pose only, no score (warm-up before the dance starts). Default `true`.
    #[serde(default)]
    pub score: Option<bool>,
}

/// Why a message was refused. Each variant has a stable `code` for the JSON error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message (or the JPEG it carries) is larger than the limit.
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The bytes do not start with a JPEG signature, or a data URL is not `image/jpeg`.
    NotJpeg(String),
    /// A data URL whose base64 does not decode.
    BadBase64(String),
    /// Text that is neither JSON nor a data URL, or JSON without the expected fields.
    BadJson(String),
    /// JSON with an unknown `type`.
    UnknownType(String),
}

impl ProtocolError {
    /// The stable error code sent to the client.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::TooLarge { .. } => "too_large",
            ProtocolError::NotJpeg(_) => "not_jpeg",
            ProtocolError::BadBase64(_) => "bad_base64",
            ProtocolError::BadJson(_) => "bad_json",
            ProtocolError::UnknownType(_) => "unknown_type",
        }
    }
}

impl std::error::Error for ProtocolError {}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::TooLarge { size, limit } => {
                write!(
                    f,
                    "message of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            ProtocolError::NotJpeg(what) => write!(f, "not a JPEG: {what}"),
            ProtocolError::BadBase64(e) => write!(f, "invalid base64 in data URL: {e}"),
            ProtocolError::BadJson(e) => write!(f, "invalid JSON message: {e}"),
            ProtocolError::UnknownType(t) => write!(f, "unknown message type {t:?}"),
        }
    }
}

const JPEG_SOI: [u8; 3] = [0xFF, 0xD8, 0xFF];

/// Checks a binary message: a JPEG (by its signature) of at most `limit` bytes.
///
/// # Errors
/// [`ProtocolError::TooLarge`] or [`ProtocolError::NotJpeg`].
pub fn check_binary(data: &[u8], limit: usize) -> Result<(), ProtocolError> {
    if data.len() > limit {
        return Err(ProtocolError::TooLarge {
            size: data.len(),
            limit,
        });
    }
    check_jpeg(data)
}

fn check_jpeg(data: &[u8]) -> Result<(), ProtocolError> {
    if data.len() < 4 || data[..3] != JPEG_SOI {
        let head: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(ProtocolError::NotJpeg(format!(
            "{} bytes starting with [{}], expected ff d8 ff",
            data.len(),
            head.join(" ")
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Typed {
    #[serde(rename = "type")]
    kind: String,
}

/// Parses a text message: a JSON message or an old-style JPEG data URL (decoded size <= `limit`).
///
/// # Errors
/// A [`ProtocolError`] saying why the message is refused.
pub fn parse_text(text: &str, limit: usize) -> Result<Incoming, ProtocolError> {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("data:") {
        return parse_data_url(rest, limit);
    }
    if text.len() > limit {
        return Err(ProtocolError::TooLarge {
            size: text.len(),
            limit,
        });
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::BadJson(e.to_string()))?;
    let typed: Typed = serde_json::from_value(value.clone())
        .map_err(|_| ProtocolError::BadJson("expected an object with a \"type\" string".into()))?;
    match typed.kind.as_str() {
        "frame" => {
            let header: FrameHeader = serde_json::from_value(value)
                .map_err(|e| ProtocolError::BadJson(format!("frame header: {e}")))?;
            if let Some(t) = header.t
                && !t.is_finite()
            {
                return Err(ProtocolError::BadJson(
                    "frame header: t is not finite".into(),
                ));
            }
            Ok(Incoming::Header(header))
        }
        "start" => Ok(Incoming::Start),
        "end" => Ok(Incoming::End),
        "ping" => Ok(Incoming::Ping),
        other => Err(ProtocolError::UnknownType(truncate(other, 40))),
    }
}

fn parse_data_url(rest: &str, limit: usize) -> Result<Incoming, ProtocolError> {
    let Some((meta, payload)) = rest.split_once(',') else {
        return Err(ProtocolError::BadBase64("data URL without a comma".into()));
    };
    let mime = meta.split(';').next().unwrap_or("").to_ascii_lowercase();
    if mime != "image/jpeg" && mime != "image/jpg" {
        return Err(ProtocolError::NotJpeg(format!(
            "data URL of type {:?}",
            truncate(&mime, 40)
        )));
    }
    if !meta.to_ascii_lowercase().ends_with(";base64") {
        return Err(ProtocolError::BadBase64(
            "data URL is not base64-encoded".into(),
        ));
    }
    let payload = payload.trim_end();
    // Decoded size is at most 3/4 of the encoded one: refuse before allocating.
    let decoded_max = payload.len() / 4 * 3 + 3;
    if decoded_max > limit + 3 {
        return Err(ProtocolError::TooLarge {
            size: decoded_max,
            limit,
        });
    }
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| ProtocolError::BadBase64(e.to_string()))?;
    if jpeg.len() > limit {
        return Err(ProtocolError::TooLarge {
            size: jpeg.len(),
            limit,
        });
    }
    check_jpeg(&jpeg)?;
    Ok(Incoming::Jpeg(jpeg))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

// ------------------------------------------------------------------------------------------------
// Server -> client

/// Everything the server sends as text, tagged by `type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outgoing {
    /// First message on every connection.
    Hello(Hello),
    /// The answer to one processed frame.
    Result(Box<FrameResult>),
    /// A refused message; the connection stays open.
    Error(ErrorReply),
    /// The answer to `{"type":"end"}`.
    Summary(Summary),
    /// The answer to `{"type":"ping"}`.
    Pong,
}

/// `{"type":"hello"}`: what the client needs to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// Landmark model: `lite`, `full` or `heavy`.
    pub model: String,
    /// Whether an annotated JPEG follows each result (`?annotated=1`).
    pub annotated: bool,
    /// Largest accepted JPEG, in bytes.
    pub max_jpeg_bytes: usize,
    /// The dancer reference.
    pub dancer: DancerInfo,
    /// The limbs named in results, in order.
    pub limbs: Vec<String>,
    /// Score at or above which a frame counts as correct.
    pub threshold: f32,
}

/// The dancer clip, as announced in [`Hello`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DancerInfo {
    /// URL of the video.
    pub video_url: String,
    /// URL of the reference keypoints (JSON).
    pub keypoints_url: String,
    /// Reference frames per second.
    pub fps: f64,
    /// Number of reference frames.
    pub frames: usize,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Video width in pixels.
    pub width: u32,
    /// Video height in pixels.
    pub height: u32,
}

/// `{"type":"result"}`: one processed frame.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FrameResult {
    /// The frame id (from the header, else the server's count of frames received, from 1).
    pub id: u64,
    /// Dancer playback time the frame was scored at, seconds.
    pub t: f64,
    /// Frame width in pixels (keypoints are in this frame's pixels).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Whether a person was found.
    pub person: bool,
    /// The user's 33 BlazePose keypoints `[x, y, visibility]` in pixels; empty without a person.
    pub keypoints: Vec<[f32; 3]>,
    /// Score in `[0, 1]`; `null` when not scored (no person, not enough of the body, or
    /// `score: false` in the header).
    pub score: Option<f32>,
    /// `score >= threshold`.
    pub correct: bool,
    /// Per-limb feedback.
    pub limbs: Vec<LimbReply>,
    /// The most useful hint for the user, if any.
    pub hint: Option<String>,
    /// Index of the dancer reference frame the user was compared with.
    pub dancer_frame: Option<usize>,
    /// Time of that dancer frame, seconds.
    pub dancer_t: Option<f64>,
    /// With the view score, what the score compared: `world` (3D world landmarks) or `image`
    /// (the 2D fallback: a pose had no world landmarks); absent with the robust score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<crate::ScoreBasis>,
    /// Frames of this client dropped so far because newer ones arrived (newest wins).
    pub dropped: u64,
    /// Server-side timings of this frame.
    pub latency_ms: Latency,
}

/// Per-limb feedback in a [`FrameResult`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimbReply {
    /// Limb name, e.g. `left_forearm`.
    pub name: String,
    /// The BlazePose bones (landmark index pairs) of the limb, for drawing.
    pub bones: Vec<[usize; 2]>,
    /// Score in `[0, 1]`, `null` when the limb is not visible in either pose.
    pub score: Option<f32>,
    /// Whether the limb matches.
    pub ok: bool,
    /// What to change, e.g. "raise your left forearm".
    pub hint: Option<String>,
}

/// Server-side timings, milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// From receiving the frame to the start of inference (waiting for a worker).
    pub wait: f64,
    /// JPEG decode.
    pub decode: f64,
    /// Pose estimation.
    pub pose: f64,
    /// Scoring.
    pub score: f64,
    /// From receiving the frame to sending the reply.
    pub server: f64,
}

/// `{"type":"error"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    /// Stable code: `too_large`, `not_jpeg`, `bad_jpeg`, `bad_base64`, `bad_json`, `unknown_type`,
    /// `no_header_time`, `internal`.
    pub code: String,
    /// Human-readable detail.
    pub message: String,
    /// The frame id concerned, if any.
    pub id: Option<u64>,
}

/// `{"type":"summary"}`: the end of a dance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Frames received in this session.
    pub frames: u64,
    /// Frames scored.
    pub scored: u64,
    /// Frames dropped (newest wins).
    pub dropped: u64,
    /// Mean live score.
    pub mean_score: Option<f32>,
    /// Fraction of scored frames that were correct.
    pub correct_ratio: Option<f32>,
    /// Score of the whole performance after DTW alignment with the dancer, `[0, 1]`.
    pub dtw_score: Option<f32>,
    /// Lag of the user behind the dancer found by the alignment, seconds (negative: ahead).
    pub lag_s: Option<f64>,
    /// Letter grade from the DTW score: S, A, B, C or D.
    pub grade: Option<String>,
    /// A sentence for the user.
    pub message: String,
    /// Which score graded the dance: `robust` (2D image keypoints) or `view` (3D world
    /// landmarks, view-invariant).
    #[serde(default)]
    pub scoring: String,
}

/// WebSocket close codes the server uses (RFC 6455).
pub mod close_code {
    /// The server is shutting down or restarting (the page reconnects).
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent too many bad messages.
    pub const POLICY: u16 = 1008;
    /// A message above the hard size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server could not build the pose pipeline or hit an internal error.
    pub const INTERNAL: u16 = 1011;
    /// Too many clients: try again later.
    pub const TRY_AGAIN: u16 = 1013;
}

/// The name of a limb in the protocol, e.g. `left_forearm`.
pub fn limb_key(limb: Limb) -> String {
    limb.name().replace(' ', "_")
}

/// The limb as BlazePose bones (landmark index pairs), for drawing.
pub fn limb_bones(limb: Limb) -> Vec<[usize; 2]> {
    use crate::keypoints::Layout;
    match limb.joints() {
        Some((a, b)) => vec![[Layout::BlazePose33.index(a), Layout::BlazePose33.index(b)]],
        // The torso: the body's sides (shoulders and hips are limbs of their own).
        None => vec![[11, 23], [12, 24]],
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// `[x, y, visibility]` per landmark, rounded for a compact JSON (0.1 px, 0.01).
pub fn keypoints_xyv(pose: &pose_core::Pose) -> Vec<[f32; 3]> {
    pose.landmarks
        .iter()
        .map(|l| {
            [
                (l.x * 10.0).round() / 10.0,
                (l.y * 10.0).round() / 10.0,
                (l.visibility * 100.0).round() / 100.0,
            ]
        })
        .collect()
}

impl FrameResult {
    /// Fills the score, the matched dancer frame (`frame` of a dance at `dancer_fps`), the hint
    /// and one [`LimbReply`] per limb (`ok` from `hint_below`) from a live match's score.
    pub fn set_match(&mut self, frame: usize, s: &PoseScore, dancer_fps: f32, hint_below: f32) {
        let hint_text = |limb: Option<Limb>| {
            s.hint
                .filter(|h| limb.is_none_or(|l| h.limb == l))
                .map(|h| capitalised(&h.to_string()))
        };
        self.score = Some(s.overall);
        self.correct = s.correct;
        self.dancer_frame = Some(frame);
        self.dancer_t = Some(frame as f64 / f64::from(dancer_fps));
        self.hint = hint_text(None);
        self.limbs = Limb::ALL
            .iter()
            .map(|&limb| {
                let score = s.limb(limb);
                LimbReply {
                    name: limb_key(limb),
                    bones: limb_bones(limb),
                    score,
                    ok: score.is_some_and(|v| v >= hint_below),
                    hint: hint_text(Some(limb)),
                }
            })
            .collect();
    }
}

impl From<&SessionSummary> for Summary {
    /// The summary message (`dropped` is the server's to fill).
    fn from(s: &SessionSummary) -> Self {
        Summary {
            frames: s.frames,
            scored: s.scored,
            dropped: 0,
            mean_score: s.mean_score,
            correct_ratio: s.correct_ratio,
            dtw_score: s.alignment.as_ref().map(|a| a.grade),
            lag_s: s.alignment.as_ref().map(|a| f64::from(a.lag_s)),
            grade: s.grade.map(|g| g.letter().to_string()),
            message: s.message.clone(),
            scoring: "robust".into(),
        }
    }
}

/// The dancer's keypoints as the page draws them (`/game/dancer.json`):
/// `{"fps","width","height","duration_s","frames":[[[x,y,visibility] x33] or null]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DancerKeypoints {
    /// Reference frames per second.
    pub fps: f64,
    /// Video width in pixels.
    pub width: u32,
    /// Video height in pixels.
    pub height: u32,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Per reference frame, the 33 landmarks or `null`.
    pub frames: Vec<Option<Vec<[f32; 3]>>>,
}

impl From<&pose_core::extract::PoseTrack> for DancerKeypoints {
    fn from(track: &pose_core::extract::PoseTrack) -> Self {
        Self {
            fps: track.fps,
            width: track.width,
            height: track.height,
            duration_s: track.duration(),
            frames: track
                .samples
                .iter()
                .map(|s| s.pose.as_ref().map(keypoints_xyv))
                .collect(),
        }
    }
}

impl Hello {
    /// The hello for a dance of `reference` (video at `/game/dancer`, keypoints at
    /// `/game/dancer.json`) estimated with `model`, correct from `threshold`.
    pub fn new(
        reference: &pose_core::extract::PoseTrack,
        model: pose_core::ModelKind,
        max_jpeg_bytes: usize,
        threshold: f32,
    ) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            model: model.name().to_string(),
            annotated: false,
            max_jpeg_bytes,
            dancer: DancerInfo::new(reference, "/game/dancer", "/game/dancer.json"),
            limbs: Limb::ALL.iter().map(|&l| limb_key(l)).collect(),
            threshold,
        }
    }
}

impl DancerInfo {
    /// The dancer of `track`, served at `video_url` with its keypoints at `keypoints_url`.
    pub fn new(
        track: &pose_core::extract::PoseTrack,
        video_url: &str,
        keypoints_url: &str,
    ) -> Self {
        Self {
            video_url: video_url.into(),
            keypoints_url: keypoints_url.into(),
            fps: track.fps,
            frames: track.samples.len(),
            duration_s: track.duration(),
            width: track.width,
            height: track.height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let h = parse_text(r#"{"type":"frame","id":3,"t":1.5}"#, 100).expect("header");
        assert_eq!(
            h,
            Incoming::Header(FrameHeader {
                id: Some(3),
                t: Some(1.5),
                score: None
            })
        );
        assert_eq!(parse_text(r#"{"type":"end"}"#, 100), Ok(Incoming::End));
        let jpeg = [0xFFu8, 0xD8, 0xFF, 0xE0, 1, 2];
        let url = format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpeg)
        );
        assert_eq!(parse_text(&url, 100), Ok(Incoming::Jpeg(jpeg.to_vec())));
        assert_eq!(parse_text(&url, 3).map_err(|e| e.code()), Err("too_large"));
        assert_eq!(
            parse_text("data:image/jpeg;base64,@@@@", 100).map_err(|e| e.code()),
            Err("bad_base64")
        );
        assert_eq!(
            parse_text("data:image/png;base64,AAAA", 100).map_err(|e| e.code()),
            Err("not_jpeg")
        );
        assert_eq!(
            parse_text(r#"{"type":"dance"}"#, 100).map_err(|e| e.code()),
            Err("unknown_type")
        );
        assert_eq!(
            parse_text("hello", 100).map_err(|e| e.code()),
            Err("bad_json")
        );
        assert_eq!(
            check_binary(b"GIF89a", 100).map_err(|e| e.code()),
            Err("not_jpeg")
        );
    }

    #[test]
    fn summary_and_limbs_follow_the_score() {
        use crate::{Grade, SessionSummary};
        let s = SessionSummary {
            frames: 3,
            scored: 2,
            grade: Some(Grade::B),
            message: "hi".into(),
            ..SessionSummary::default()
        };
        let m = Summary::from(&s);
        assert_eq!((m.frames, m.scored, m.grade.as_deref()), (3, 2, Some("B")));
        assert_eq!(
            limb_key(Limb::ALL[0]),
            Limb::ALL[0].name().replace(' ', "_")
        );
        assert!(Limb::ALL.iter().all(|&l| !limb_bones(l).is_empty()));
        let json = serde_json::to_string(&Outgoing::Summary(m)).expect("serialises");
        assert!(
            json.starts_with(r#"{"type":"summary","frames":3"#),
            "{json}"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_message_parses_or_gets_a_documented_code(
            text in "(data:image/jpe?g;base64,|\\{\"type\":\"(frame|start|end|ping|x)\"|)[ -~]{0,80}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            limit in 0usize..100,
        ) {
            let codes = ["too_large", "not_jpeg", "bad_base64", "bad_json", "unknown_type"];
            if let Err(e) = parse_text(&text, limit) {
                proptest::prop_assert!(codes.contains(&e.code()) && !e.to_string().is_empty());
            }
            if let Ok(Incoming::Jpeg(jpeg)) = parse_text(&text, limit) {
                proptest::prop_assert!(jpeg.len() <= limit && jpeg.starts_with(&JPEG_SOI));
            }
            match check_binary(&bytes, limit) {
                Ok(()) => proptest::prop_assert!(bytes.len() <= limit && bytes.starts_with(&JPEG_SOI)),
                Err(e) => proptest::prop_assert!(codes.contains(&e.code())),
            }
        }
    }
}
