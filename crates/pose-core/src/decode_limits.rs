//! Decoding JPEGs from untrusted clients: limits on the encoded size and on the width and height
//! the header declares, checked before any pixel is decoded (a 2 KB JPEG may declare 65535 x
//! 65535). Each call uses a decoder of its own, so a bad JPEG costs one frame and cannot leave
//! state behind for the next one.

use crate::error::{Error, Result};
use crate::frame::RgbImage;

/// Limits for [`RgbImage::decode_jpeg_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded size accepted, bytes.
    pub max_bytes: usize,
    /// Largest declared width, pixels.
    pub max_width: u32,
    /// Largest declared height, pixels.
    pub max_height: u32,
}

impl Default for DecodeLimits {
    /// 2 MiB, 4096 x 4096 pixels.
    fn default() -> Self {
        Self {
            max_bytes: 2 << 20,
            max_width: 4096,
            max_height: 4096,
        }
    }
}

/// The width and height a JPEG's frame header (SOF0..SOF15, not DHT/JPG/DAC) declares, read by
/// walking the marker segments; `None` when the bytes are not a JPEG or end before the header.
///
/// ```
/// // SOI, then a baseline SOF0 declaring 65535 x 65535: refused without decoding.
/// let jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0];
/// assert_eq!(pose_core::jpeg_dimensions(&jpeg), Some((65535, 65535)));
/// assert_eq!(pose_core::jpeg_dimensions(b"GIF89a"), None);
/// ```
pub fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    loop {
        // Fill bytes (0xFF runs) may precede a marker.
        while *bytes.get(i)? == 0xFF && *bytes.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        i += 2;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*bytes.get(i + 3)?, *bytes.get(i + 4)?]);
            let w = u16::from_be_bytes([*bytes.get(i + 5)?, *bytes.get(i + 6)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += len;
    }
}

impl RgbImage {
    /// Decodes a JPEG from an untrusted source within `limits`: the byte count and the declared
    /// width and height are checked first, then [`RgbImage::decode`] runs with a fresh decoder.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for bytes or declared sides above the limits (nothing decoded);
    /// [`Error::Decode`] when the bytes are not a JPEG (no frame header found, a zero side) or
    /// do not decode.
    ///
    /// ```
    /// use pose_core::{DecodeLimits, Error, RgbImage};
    /// let jpeg = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/images/dancer_f060.jpg"))?;
    /// let image = RgbImage::decode_jpeg_within(&jpeg, &DecodeLimits::default())?;
    /// assert!(image.width > 0);
    /// let small = DecodeLimits { max_width: 64, ..DecodeLimits::default() };
    /// assert!(matches!(RgbImage::decode_jpeg_within(&jpeg, &small), Err(Error::TooLarge { what: "width", .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_jpeg_within(bytes: &[u8], limits: &DecodeLimits) -> Result<Self> {
        let too_large = |what, size: u64, limit: u64| Error::TooLarge { what, size, limit };
        if bytes.len() > limits.max_bytes {
            return Err(too_large(
                "bytes",
                bytes.len() as u64,
                limits.max_bytes as u64,
            ));
        }
        let bad = |message: &str| Error::Decode {
            what: "<memory>".into(),
            message: message.into(),
        };
        let (w, h) = jpeg_dimensions(bytes).ok_or_else(|| bad("no JPEG frame header"))?;
        if w > limits.max_width {
            return Err(too_large("width", w.into(), limits.max_width.into()));
        }
        if h > limits.max_height {
            return Err(too_large("height", h.into(), limits.max_height.into()));
        }
        if w == 0 || h == 0 {
            return Err(bad(&format!("the header declares {w}x{h} pixels")));
        }
        Self::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sof(w: u16, h: u16) -> Vec<u8> {
        let mut v = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xFF, 0xC2, 0, 11, 8,
        ];
        v.extend(h.to_be_bytes());
        v.extend(w.to_be_bytes());
        v.extend([1, 1, 0x11, 0]);
        v
    }

    #[test]
    fn declared_sides_are_refused_before_decoding() {
        let limits = DecodeLimits::default();
        let huge = RgbImage::decode_jpeg_within(&sof(65535, 65535), &limits);
        assert!(matches!(
            huge,
            Err(Error::TooLarge {
                what: "width",
                size: 65535,
                ..
            })
        ));
        let zero = RgbImage::decode_jpeg_within(&sof(0, 0), &limits);
        assert!(matches!(zero, Err(Error::Decode { .. })), "{zero:?}");
        let bytes = vec![0xFFu8; limits.max_bytes + 1];
        let big = RgbImage::decode_jpeg_within(&bytes, &limits);
        assert!(matches!(big, Err(Error::TooLarge { what: "bytes", .. })));
    }

    #[test]
    fn a_bad_jpeg_does_not_spoil_the_next_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/images/dancer_f060.jpg"
        );
        let good = std::fs::read(path).expect("test image");
        let limits = DecodeLimits::default();
        let first = RgbImage::decode_jpeg_within(&good, &limits).expect("decodes");
        let mut broken = good[..good.len() / 3].to_vec();
        broken.extend(std::iter::repeat_n(0x55, 4000));
        for bad in [sof(65535, 65535), sof(0, 0), broken, sof(640, 480)] {
            let _ = RgbImage::decode_jpeg_within(&bad, &limits);
            let again = RgbImage::decode_jpeg_within(&good, &limits).expect("still decodes");
            assert_eq!(again, first);
        }
    }

    proptest::proptest! {
        #[test]
        fn header_reader_never_panics_and_finds_declared_sides(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            w in 0u16.., h in 0u16..,
        ) {
            let _ = jpeg_dimensions(&junk);
            let mut v = sof(w, h);
            v.extend(&junk);
            proptest::prop_assert_eq!(jpeg_dimensions(&v), Some((u32::from(w), u32::from(h))));
        }
    }
}
