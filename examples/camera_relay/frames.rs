//! Pixel buffers and JPEG coding for the relay (cam-stitch's codec: libjpeg-turbo when its
//! `turbojpeg` feature is on, which the umbrella's dev-dependencies enable).

use std::cell::RefCell;

use cam_stitch::JpegCodec;

/// A decoded camera frame or a panorama (packed RGB8).
pub type Rgb = cam_stitch::RgbImage;

/// Largest JPEG (or MJPEG part) accepted from a camera; a 1600x1200 ESP32 frame is ~300 KB.
pub const MAX_JPEG_BYTES: usize = 4 << 20;

thread_local! {
    /// One codec per blocking-pool thread (keeps the library handle and buffers).
    static CODEC: RefCell<Option<JpegCodec>> = const { RefCell::new(None) };
}

fn with_codec<T>(f: impl FnOnce(&mut JpegCodec) -> Result<T, String>) -> Result<T, String> {
    CODEC.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(JpegCodec::new().map_err(|e| e.to_string())?);
        }
        match c.as_mut() {
            Some(codec) => f(codec),
            None => Err("no JPEG codec".into()),
        }
    })
}

/// Decodes a camera JPEG to RGB (sizes bounded by cam-stitch's default limits).
pub fn decode_jpeg(jpeg: &[u8]) -> Result<Rgb, String> {
    if jpeg.len() > MAX_JPEG_BYTES {
        return Err(format!(
            "JPEG of {} bytes exceeds {MAX_JPEG_BYTES}",
            jpeg.len()
        ));
    }
    with_codec(|c| {
        let mut out = Rgb::default();
        c.decode(jpeg, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    })
}

/// Encodes a panorama as JPEG at `quality` (1..=100) into `out` (cleared first).
pub fn encode_jpeg(img: &Rgb, quality: u8, out: &mut Vec<u8>) -> Result<(), String> {
    with_codec(|c| {
        c.encode(img.view(), quality.clamp(1, 100), out)
            .map_err(|e| e.to_string())
    })
}
