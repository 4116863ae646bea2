//! Camera JPEGs in, panorama JPEG out: decode into reusable [`RgbImage`]s, encode at a quality.
//!
//! Two backends: the pure-Rust `image` crate (zune-jpeg decoder, always available) and Debian's
//! libjpeg-turbo through the `turbojpeg` crate (feature `turbojpeg`, the default backend when
//! compiled in because it is faster, see the README). libjpeg-turbo also decodes to exactly the
//! pixels OpenCV's `imdecode` gives, which the golden tests rely on.

use std::io::Cursor;

use image::ImageDecoder as _;

use crate::config::Limits;
use crate::error::{Result, StitchError};
use crate::rgb::{RgbImage, RgbView};

/// Which JPEG implementation a [`JpegCodec`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JpegBackend {
    /// The `image` crate (zune-jpeg decoder, image's baseline encoder). Always available.
    Image,
    /// libjpeg-turbo via the `turbojpeg` crate (feature `turbojpeg`).
    TurboJpeg,
}

impl JpegBackend {
    /// The fastest backend compiled in: [`JpegBackend::TurboJpeg`] with the `turbojpeg`
    /// feature, else [`JpegBackend::Image`].
    pub fn fastest() -> JpegBackend {
        if cfg!(feature = "turbojpeg") {
            JpegBackend::TurboJpeg
        } else {
            JpegBackend::Image
        }
    }

    /// Whether this backend is compiled in.
    pub fn is_available(self) -> bool {
        match self {
            JpegBackend::Image => true,
            JpegBackend::TurboJpeg => cfg!(feature = "turbojpeg"),
        }
    }

    /// A short name (`image` or `turbojpeg`).
    pub fn name(self) -> &'static str {
        match self {
            JpegBackend::Image => "image",
            JpegBackend::TurboJpeg => "turbojpeg",
        }
    }
}

/// A reusable JPEG decoder/encoder (keeps the library handles and buffers between frames).
///
/// Encoding uses 4:2:0 chroma subsampling, like OpenCV's `imencode`.
///
/// ```
/// use cam_stitch::{JpegCodec, RgbImage};
/// let mut codec = JpegCodec::new()?;
/// let mut img = RgbImage::new(32, 16);
/// img.as_mut_bytes().fill(200);
/// let mut jpeg = Vec::new();
/// codec.encode(img.view(), 90, &mut jpeg)?;
/// let mut back = RgbImage::default();
/// codec.decode(&jpeg, &mut back)?;
/// assert_eq!(back.size(), (32, 16));
/// assert!(back.as_bytes().iter().all(|&v| v.abs_diff(200) <= 2));
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
pub struct JpegCodec {
    backend: JpegBackend,
    limits: Limits,
    #[cfg(feature = "turbojpeg")]
    turbo: Option<Turbo>,
}

impl std::fmt::Debug for JpegCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JpegCodec")
            .field("backend", &self.backend)
            .field("limits", &self.limits)
            .finish()
    }
}

#[cfg(feature = "turbojpeg")]
struct Turbo {
    dec: turbojpeg::Decompressor,
    enc: turbojpeg::Compressor,
    buf: Vec<u8>,
}

impl JpegCodec {
    /// A codec with the fastest backend compiled in and default [`Limits`].
    pub fn new() -> Result<JpegCodec> {
        JpegCodec::with_backend(JpegBackend::fastest())
    }

    /// A codec with the given backend; errors if it is not compiled in.
    pub fn with_backend(backend: JpegBackend) -> Result<JpegCodec> {
        if !backend.is_available() {
            return Err(StitchError::BackendUnavailable(backend.name()));
        }
        #[cfg(feature = "turbojpeg")]
        let turbo = if backend == JpegBackend::TurboJpeg {
            let err = |e: turbojpeg::Error| StitchError::Decode(e.to_string());
            Some(Turbo {
                dec: turbojpeg::Decompressor::new().map_err(err)?,
                enc: turbojpeg::Compressor::new().map_err(err)?,
                buf: Vec::new(),
            })
        } else {
            None
        };
        Ok(JpegCodec {
            backend,
            limits: Limits::default(),
            #[cfg(feature = "turbojpeg")]
            turbo,
        })
    }

    /// Sets the limits applied to decoded image sizes (`max_side`).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The backend in use.
    pub fn backend(&self) -> JpegBackend {
        self.backend
    }

    fn check_size(limits: &Limits, width: u64, height: u64) -> Result<()> {
        let max = u64::from(limits.max_side);
        if width == 0 || height == 0 || width > max || height > max {
            return Err(StitchError::Decode(format!(
                "image is {width}x{height}, sides must be 1..={max} pixels"
            )));
        }
        Ok(())
    }

    /// Decodes a JPEG into `out` (resized as needed, its allocation reused), as RGB.
    pub fn decode(&mut self, jpeg: &[u8], out: &mut RgbImage) -> Result<()> {
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            let err = |e: turbojpeg::Error| StitchError::Decode(e.to_string());
            let header = t.dec.read_header(jpeg).map_err(err)?;
            Self::check_size(&self.limits, header.width as u64, header.height as u64)?;
            out.resize(header.width as u32, header.height as u32);
            let image = turbojpeg::Image {
                pixels: out.as_mut_bytes(),
                width: header.width,
                pitch: header.width * 3,
                height: header.height,
                format: turbojpeg::PixelFormat::RGB,
            };
            return t.dec.decompress(jpeg, image).map_err(err);
        }
        let err = |e: image::ImageError| StitchError::Decode(e.to_string());
        let decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(jpeg)).map_err(err)?;
        let (w, h) = decoder.dimensions();
        Self::check_size(&self.limits, u64::from(w), u64::from(h))?;
        if decoder.color_type() == image::ColorType::Rgb8 {
            out.resize(w, h);
            decoder.read_image(out.as_mut_bytes()).map_err(err)?;
        } else {
            let img = image::DynamicImage::from_decoder(decoder).map_err(err)?;
            *out = RgbImage::from(img.to_rgb8());
        }
        Ok(())
    }

    /// Encodes `img` as a baseline JPEG (quality 1..=100, 4:2:0) into `out` (cleared first).
    pub fn encode(&mut self, img: RgbView<'_>, quality: u8, out: &mut Vec<u8>) -> Result<()> {
        let quality = quality.clamp(1, 100);
        out.clear();
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            let err = |e: turbojpeg::Error| StitchError::Encode(e.to_string());
            t.enc.set_quality(i32::from(quality));
            t.enc.set_subsamp(turbojpeg::Subsamp::Sub2x2);
            let image = turbojpeg::Image {
                pixels: img.as_bytes(),
                width: img.width() as usize,
                pitch: img.width() as usize * 3,
                height: img.height() as usize,
                format: turbojpeg::PixelFormat::RGB,
            };
            // A scratch buffer of libjpeg-turbo's worst-case size, kept between frames.
            let need = t.enc.buf_len(image.width, image.height).map_err(err)?;
            if t.buf.len() < need {
                t.buf.resize(need, 0);
            }
            let n = t.enc.compress_to_slice(image, &mut t.buf).map_err(err)?;
            out.extend_from_slice(&t.buf[..n]);
            return Ok(());
        }
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *out, quality);
        use image::ImageEncoder as _;
        enc.write_image(
            img.as_bytes(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| StitchError::Encode(e.to_string()))
    }
}

/// Decodes a JPEG to a new RGB image with the fastest backend compiled in.
///
/// ```
/// let img = cam_stitch::RgbImage::new(16, 8);
/// let jpeg = cam_stitch::encode_jpeg(img.view(), 85)?;
/// let back = cam_stitch::decode_jpeg(&jpeg)?;
/// assert_eq!(back.size(), (16, 8));
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
pub fn decode_jpeg(jpeg: &[u8]) -> Result<RgbImage> {
    let mut out = RgbImage::default();
    JpegCodec::new()?.decode(jpeg, &mut out)?;
    Ok(out)
}

/// Encodes an RGB image as JPEG (quality 1..=100, 4:2:0) with the fastest backend compiled in.
pub fn encode_jpeg(img: RgbView<'_>, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    JpegCodec::new()?.encode(img, quality, &mut out)?;
    Ok(out)
}

/// Decodes a JPEG or PNG file's bytes (by content) to RGB; JPEGs go through [`decode_jpeg`].
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return decode_jpeg(bytes);
    }
    let img = image::load_from_memory(bytes).map_err(|e| StitchError::Decode(e.to_string()))?;
    Ok(RgbImage::from(img.to_rgb8()))
}
