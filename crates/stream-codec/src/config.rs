//! Decoder configuration: framing mode, boundary hint and the limits on everything sized by input.

/// How the byte stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Mode {
    /// `multipart/x-mixed-replace` parts separated by `--BOUNDARY` lines.
    #[default]
    Multipart,
    /// Bare concatenated JPEGs (no multipart framing), delimited by walking the marker segments.
    RawJpeg,
}

/// Limits on every size that comes from the input. Memory held by a decoder stays below roughly
/// `max_part_size + max_header_bytes` plus the last pushed chunk, as long as the caller drains
/// [`crate::Decoder::next_frame`] after each push (pushed chunks are queued until then), plus the
/// frames the caller still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Limits {
    /// Largest part body (and raw JPEG) accepted, in bytes. Default 16 MiB.
    pub max_part_size: usize,
    /// Largest part header block, in bytes. Default 8 KiB.
    pub max_header_bytes: usize,
    /// Most header lines per part. Default 64.
    pub max_headers: usize,
    /// Most bytes searched for the first delimiter line while detecting the boundary before an
    /// error is reported (the search goes on, in bounded memory). Default 64 KiB.
    pub max_preamble: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_part_size: 16 << 20,
            max_header_bytes: 8 << 10,
            max_headers: 64,
            max_preamble: 64 << 10,
        }
    }
}

/// Everything a [`crate::Decoder`] can be told.
///
/// ```
/// use stream_codec::{Decoder, DecoderConfig, Limits, Mode};
/// let config = DecoderConfig {
///     boundary: Some("frame".into()),
///     limits: Limits { max_part_size: 1 << 20, ..Limits::default() },
///     ..DecoderConfig::default()
/// };
/// let d = Decoder::new(config).expect("valid boundary");
/// assert_eq!(d.boundary(), None); // confirmed only once the first delimiter line is seen
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct DecoderConfig {
    /// Framing mode.
    pub mode: Mode,
    /// Boundary hint (from the response's Content-Type or the user), with or without a leading
    /// `--`. The first delimiter line of the body decides: if it names another boundary (a lying
    /// header), the body wins. `None`: detect from the first line starting with `--`.
    pub boundary: Option<String>,
    /// Size limits.
    pub limits: Limits,
}
