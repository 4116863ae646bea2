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
use crate::yuv::{Subsampling, YuvFrame};

/// What a JPEG's header says: size and, for YCbCr JPEGs, the chroma subsampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Chroma subsampling of a YCbCr JPEG; `None` for grayscale, RGB, CMYK or YCCK JPEGs
    /// (which the YCbCr path cannot take as they are).
    pub subsampling: Option<Subsampling>,
}

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

/// libjpeg-turbo's handles. A handle whose last call failed is dropped and a fresh one is made
/// for the next call: libjpeg-turbo 2.1 leaves a decompressor whose header read failed (e.g. a
/// SOF declaring 65535x65535, or 0x0) in the middle of a read, and every later JPEG then fails
/// with "two SOI markers" (issue 13). So one bad frame costs one frame, never the codec.
#[cfg(feature = "turbojpeg")]
struct Turbo {
    dec: Option<turbojpeg::Decompressor>,
    enc: Option<turbojpeg::Compressor>,
    buf: Vec<u8>,
    /// Created on the first [`JpegCodec::encode_yuv`].
    planes: Option<crate::turbo_yuv::PlaneEncoder>,
}

#[cfg(feature = "turbojpeg")]
fn turbo_decode_error(e: turbojpeg::Error) -> StitchError {
    StitchError::Decode(e.to_string())
}

#[cfg(feature = "turbojpeg")]
impl Turbo {
    fn new() -> Result<Turbo> {
        Ok(Turbo {
            dec: Some(turbojpeg::Decompressor::new().map_err(turbo_decode_error)?),
            enc: Some(
                turbojpeg::Compressor::new().map_err(|e| StitchError::Encode(e.to_string()))?,
            ),
            buf: Vec::new(),
            planes: None,
        })
    }

    /// The decompressor, a fresh one if the last call failed.
    fn dec(&mut self) -> Result<&mut turbojpeg::Decompressor> {
        if self.dec.is_none() {
            self.dec = Some(turbojpeg::Decompressor::new().map_err(turbo_decode_error)?);
        }
        self.dec
            .as_mut()
            .ok_or_else(|| StitchError::Decode("no decompressor".into()))
    }

    /// The compressor, a fresh one if the last call failed.
    fn enc(&mut self) -> Result<&mut turbojpeg::Compressor> {
        if self.enc.is_none() {
            self.enc =
                Some(turbojpeg::Compressor::new().map_err(|e| StitchError::Encode(e.to_string()))?);
        }
        self.enc
            .as_mut()
            .ok_or_else(|| StitchError::Encode("no compressor".into()))
    }

    /// Runs `f` with the decompressor; drops the handle if `f` fails.
    fn decoding<T>(
        &mut self,
        f: impl FnOnce(&mut turbojpeg::Decompressor) -> Result<T>,
    ) -> Result<T> {
        let result = f(self.dec()?);
        if result.is_err() {
            self.dec = None;
        }
        result
    }
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
            Some(Turbo::new()?)
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
            let limits = self.limits;
            return t.decoding(|dec| {
                let header = dec.read_header(jpeg).map_err(turbo_decode_error)?;
                Self::check_size(&limits, header.width as u64, header.height as u64)?;
                out.resize(header.width as u32, header.height as u32);
                let image = turbojpeg::Image {
                    pixels: out.as_mut_bytes(),
                    width: header.width,
                    pitch: header.width * 3,
                    height: header.height,
                    format: turbojpeg::PixelFormat::RGB,
                };
                dec.decompress(jpeg, image).map_err(turbo_decode_error)
            });
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

    /// Reads a JPEG's header (size, subsampling) without decoding it.
    ///
    /// With the `image` backend the subsampling is not reported (`None`).
    pub fn read_header(&mut self, jpeg: &[u8]) -> Result<JpegHeader> {
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            let limits = self.limits;
            let h = t.decoding(|dec| {
                let h = dec.read_header(jpeg).map_err(turbo_decode_error)?;
                Self::check_size(&limits, h.width as u64, h.height as u64)?;
                Ok(h)
            })?;
            let subsampling = match (h.colorspace, h.subsamp) {
                (turbojpeg::Colorspace::YCbCr, turbojpeg::Subsamp::None) => Some(Subsampling::S444),
                (turbojpeg::Colorspace::YCbCr, turbojpeg::Subsamp::Sub2x1) => {
                    Some(Subsampling::S422)
                }
                (turbojpeg::Colorspace::YCbCr, turbojpeg::Subsamp::Sub2x2) => {
                    Some(Subsampling::S420)
                }
                (turbojpeg::Colorspace::YCbCr, turbojpeg::Subsamp::Sub1x2) => {
                    Some(Subsampling::S440)
                }
                (turbojpeg::Colorspace::YCbCr, turbojpeg::Subsamp::Sub4x1) => {
                    Some(Subsampling::S411)
                }
                _ => None,
            };
            return Ok(JpegHeader {
                width: h.width as u32,
                height: h.height as u32,
                subsampling,
            });
        }
        let err = |e: image::ImageError| StitchError::Decode(e.to_string());
        let decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(jpeg)).map_err(err)?;
        let (width, height) = decoder.dimensions();
        Self::check_size(&self.limits, u64::from(width), u64::from(height))?;
        Ok(JpegHeader {
            width,
            height,
            subsampling: None,
        })
    }

    /// Decodes a YCbCr JPEG into its planes, without colour conversion or chroma upsampling
    /// (`out` is re-shaped as needed, its allocation reused). Needs the `turbojpeg` backend;
    /// grayscale, RGB and CMYK JPEGs are an error (decode those with [`JpegCodec::decode`]).
    ///
    /// ```
    /// # #[cfg(feature = "turbojpeg")] {
    /// use cam_stitch::{JpegCodec, Subsampling, YuvFrame};
    /// let mut codec = JpegCodec::new()?;
    /// let mut frame = YuvFrame::new(48, 32, Subsampling::S420);
    /// frame.planes_mut().0.fill(100);
    /// let mut jpeg = Vec::new();
    /// codec.encode_yuv(&frame, 90, &mut jpeg)?;
    /// let mut back = YuvFrame::default();
    /// codec.decode_yuv(&jpeg, &mut back)?;
    /// assert_eq!((back.size(), back.subsampling()), ((48, 32), Subsampling::S420));
    /// assert!(back.planes().0.iter().all(|&v| v.abs_diff(100) <= 1));
    /// # }
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn decode_yuv(&mut self, jpeg: &[u8], out: &mut YuvFrame) -> Result<()> {
        let header = self.read_header(jpeg)?;
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            let Some(sub) = header.subsampling else {
                return Err(StitchError::Decode(
                    "the JPEG is not YCbCr with chroma planes (grayscale, RGB or CMYK)".into(),
                ));
            };
            out.reshape(header.width, header.height, sub);
            let subsamp = match sub {
                Subsampling::S444 => turbojpeg::Subsamp::None,
                Subsampling::S422 => turbojpeg::Subsamp::Sub2x1,
                Subsampling::S420 => turbojpeg::Subsamp::Sub2x2,
                Subsampling::S440 => turbojpeg::Subsamp::Sub1x2,
                Subsampling::S411 => turbojpeg::Subsamp::Sub4x1,
            };
            let image = turbojpeg::YuvImage {
                pixels: out.as_mut_bytes(),
                width: header.width as usize,
                align: 1,
                height: header.height as usize,
                subsamp,
            };
            return t.decoding(|dec| {
                dec.decompress_to_yuv(jpeg, image)
                    .map_err(turbo_decode_error)
            });
        }
        let _ = (header, out);
        Err(StitchError::BackendUnavailable("turbojpeg"))
    }

    /// Encodes YCbCr planes (with their own subsampling, 4:2:0 for a [`crate::YuvPlan`]
    /// panorama) as a baseline JPEG at `quality` (1..=100) into `out` (cleared first), without
    /// colour conversion or chroma downsampling. Needs the `turbojpeg` backend.
    pub fn encode_yuv(&mut self, frame: &YuvFrame, quality: u8, out: &mut Vec<u8>) -> Result<()> {
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            if t.planes.is_none() {
                t.planes = Some(crate::turbo_yuv::PlaneEncoder::new()?);
            }
            if let Some(enc) = t.planes.as_mut() {
                let result = enc.encode(frame, quality, out);
                if result.is_err() {
                    t.planes = None; // a fresh handle for the next call
                }
                return result;
            }
        }
        let _ = (frame, quality, out);
        Err(StitchError::BackendUnavailable("turbojpeg"))
    }

    /// Encodes `img` as a baseline JPEG (quality 1..=100, 4:2:0) into `out` (cleared first).
    pub fn encode(&mut self, img: RgbView<'_>, quality: u8, out: &mut Vec<u8>) -> Result<()> {
        let quality = quality.clamp(1, 100);
        out.clear();
        #[cfg(feature = "turbojpeg")]
        if let Some(t) = self.turbo.as_mut() {
            let err = |e: turbojpeg::Error| StitchError::Encode(e.to_string());
            let image = turbojpeg::Image {
                pixels: img.as_bytes(),
                width: img.width() as usize,
                pitch: img.width() as usize * 3,
                height: img.height() as usize,
                format: turbojpeg::PixelFormat::RGB,
            };
            let mut buf = std::mem::take(&mut t.buf);
            let result = (|| {
                let enc = t.enc()?;
                enc.set_quality(i32::from(quality));
                enc.set_subsamp(turbojpeg::Subsamp::Sub2x2);
                // A scratch buffer of libjpeg-turbo's worst-case size, kept between frames.
                let need = enc.buf_len(image.width, image.height).map_err(err)?;
                if buf.len() < need {
                    buf.resize(need, 0);
                }
                let n = enc.compress_to_slice(image, &mut buf).map_err(err)?;
                out.extend_from_slice(buf.get(..n).unwrap_or_default());
                Ok(())
            })();
            t.buf = buf;
            if result.is_err() {
                t.enc = None; // a fresh handle for the next call
            }
            return result;
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
