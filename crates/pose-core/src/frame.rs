//! RGB image input: a borrowed frame ([`RgbFrame`]), an owned buffer ([`RgbImage`]) and image
//! file decoding ([`RgbImage::open`], [`RgbImage::decode`]).

use std::path::Path;

use crate::error::{Error, Result};

/// Largest accepted image side in pixels (limits memory on untrusted input).
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// A borrowed RGB image: `height` rows of `width` pixels, 3 bytes per pixel (R, G, B), no padding.
///
/// ```
/// let pixels = vec![0u8; 4 * 2 * 3];
/// let frame = pose_core::RgbFrame::new(4, 2, &pixels)?;
/// assert_eq!(frame.pixel(3, 1), [0, 0, 0]);
/// # Ok::<(), pose_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RgbFrame<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl<'a> RgbFrame<'a> {
    /// Wraps `data` (`width * height * 3` bytes, row-major RGB).
    ///
    /// # Errors
    /// [`Error::ImageSize`] when the length does not match, a side is 0 or larger than
    /// [`MAX_IMAGE_SIDE`].
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<Self> {
        let expected = width as u64 * height as u64 * 3;
        if width == 0
            || height == 0
            || width > MAX_IMAGE_SIDE
            || height > MAX_IMAGE_SIDE
            || data.len() as u64 != expected
        {
            return Err(Error::ImageSize {
                what: "RGB frame",
                width,
                height,
                channels: 3,
                len: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel bytes (row-major RGB).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The pixel at column `x`, row `y` (clamped to the image).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let x = x.min(self.width - 1) as usize;
        let y = y.min(self.height - 1) as usize;
        let i = (y * self.width as usize + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// An owned RGB image (row-major, 3 bytes per pixel).
///
/// ```no_run
/// let img = pose_core::RgbImage::open("testdata/images/dancer_f060.jpg")?;
/// println!("{}x{}", img.width, img.height);
/// # Ok::<(), pose_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// Wraps a pixel vector, checking its size like [`RgbFrame::new`].
    ///
    /// # Errors
    /// [`Error::ImageSize`] when the length does not match.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        RgbFrame::new(width, height, &data)?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Borrows the image as a frame for the pose pipeline.
    pub fn as_frame(&self) -> RgbFrame<'_> {
        RgbFrame {
            width: self.width,
            height: self.height,
            data: &self.data,
        }
    }

    /// Reads and decodes an image file (JPEG or PNG).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Decode`] when it is not a valid image.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::decode(&bytes).map_err(|e| match e {
            Error::Decode { message, .. } => Error::Decode {
                what: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Decodes an encoded image (JPEG or PNG) held in memory. JPEGs go through libjpeg-turbo
    /// when the `turbojpeg` feature is on (bit-identical to OpenCV's `imread`), else through the
    /// `image` crate (zune-jpeg: differs by +-1-2 grey levels); other formats through `image`.
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not a supported image or larger than
    /// [`MAX_IMAGE_SIDE`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let decode_err = |message: String| Error::Decode {
            what: "<memory>".to_string(),
            message,
        };
        #[cfg(feature = "turbojpeg")]
        if bytes.starts_with(&[0xFF, 0xD8]) {
            return Self::decode_turbojpeg(bytes).map_err(decode_err);
        }
        let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| decode_err(e.to_string()))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_IMAGE_SIDE);
        limits.max_image_height = Some(MAX_IMAGE_SIDE);
        reader.limits(limits);
        let img = reader.decode().map_err(|e| decode_err(e.to_string()))?;
        let rgb = img.into_rgb8();
        let (width, height) = rgb.dimensions();
        Self::new(width, height, rgb.into_raw())
    }

    #[cfg(feature = "turbojpeg")]
    fn decode_turbojpeg(bytes: &[u8]) -> std::result::Result<Self, String> {
        let mut dec = turbojpeg::Decompressor::new().map_err(|e| e.to_string())?;
        let header = dec.read_header(bytes).map_err(|e| e.to_string())?;
        let side = MAX_IMAGE_SIDE as usize;
        if header.width == 0 || header.height == 0 || header.width > side || header.height > side {
            return Err(format!(
                "{}x{} is empty or larger than {MAX_IMAGE_SIDE} px",
                header.width, header.height
            ));
        }
        let mut image = turbojpeg::Image {
            pixels: vec![0u8; header.width * header.height * 3],
            width: header.width,
            pitch: header.width * 3,
            height: header.height,
            format: turbojpeg::PixelFormat::RGB,
        };
        dec.decompress(bytes, image.as_deref_mut())
            .map_err(|e| e.to_string())?;
        // Sides are at most MAX_IMAGE_SIDE, so they fit in u32.
        Self::new(header.width as u32, header.height as u32, image.pixels)
            .map_err(|e| e.to_string())
    }
}
