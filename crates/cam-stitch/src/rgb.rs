//! Plain packed RGB8 pixel buffers at the API edge.

use crate::error::{Result, StitchError};

fn byte_len(width: u32, height: u32) -> Option<usize> {
    (width as usize)
        .checked_mul(height as usize)?
        .checked_mul(3)
}

/// An owned, tightly packed 8-bit, 3-channel image (RGB, or BGR: the stitcher treats the
/// channels alike), row-major with `width * 3` bytes per row.
///
/// ```
/// let mut img = cam_stitch::RgbImage::new(4, 2);
/// img.as_mut_bytes()[0] = 255;
/// assert_eq!(img.as_bytes().len(), 4 * 2 * 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl RgbImage {
    /// A black image. Panics only if `width * height * 3` overflows `usize`.
    pub fn new(width: u32, height: u32) -> RgbImage {
        let len = byte_len(width, height).unwrap_or(usize::MAX);
        RgbImage {
            width,
            height,
            data: vec![0; len],
        }
    }

    /// Wraps packed RGB bytes; errors if `data.len() != width * height * 3`.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> Result<RgbImage> {
        check_len(data.len(), width, height)?;
        Ok(RgbImage {
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

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The packed pixels.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The packed pixels, mutable.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The pixel buffer.
    pub fn into_raw(self) -> Vec<u8> {
        self.data
    }

    /// A borrowed view.
    pub fn view(&self) -> RgbView<'_> {
        RgbView {
            width: self.width,
            height: self.height,
            data: &self.data,
        }
    }

    /// Changes the size, reusing the allocation when it is large enough (contents unspecified).
    pub fn resize(&mut self, width: u32, height: u32) {
        let len = byte_len(width, height).unwrap_or(usize::MAX);
        self.data.resize(len, 0);
        self.width = width;
        self.height = height;
    }

    /// The pixel at `(x, y)`, `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        self.view().pixel(x, y)
    }
}

/// Image file formats [`RgbView::save`] writes, chosen by the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// PNG (`.png`): lossless.
    Png,
    /// Baseline JPEG, 4:2:0 (`.jpg`, `.jpeg`).
    Jpeg,
}

impl ImageFormat {
    /// The format for a path's extension (case-insensitive), `None` if it is neither.
    ///
    /// ```
    /// use cam_stitch::ImageFormat;
    /// assert_eq!(ImageFormat::from_path("out/pano.JPG"), Some(ImageFormat::Jpeg));
    /// assert_eq!(ImageFormat::from_path("pano.png"), Some(ImageFormat::Png));
    /// assert_eq!(ImageFormat::from_path("pano.bmp"), None);
    /// ```
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Option<ImageFormat> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(ImageFormat::Png),
            "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
            _ => None,
        }
    }
}

impl RgbImage {
    /// Writes the image to `path` as PNG or JPEG (quality 90), by the path's extension.
    /// See [`RgbView::save_with_quality`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        self.view().save(path)
    }
}

impl RgbView<'_> {
    /// Writes the image to `path` as PNG or JPEG (quality 90), by the path's extension.
    /// See [`RgbView::save_with_quality`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        self.save_with_quality(path, 90)
    }

    /// Writes the image to `path`: PNG for `.png`, JPEG at `quality` (1..=100, 4:2:0, the
    /// fastest backend compiled in) for `.jpg`/`.jpeg`; any other extension is an error.
    ///
    /// ```
    /// let mut pano = cam_stitch::RgbImage::new(64, 32);
    /// pano.as_mut_bytes().fill(128);
    /// let dir = std::env::temp_dir().join(format!("cam-stitch-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// pano.save(dir.join("pano.png"))?;
    /// pano.view().save_with_quality(dir.join("pano.jpg"), 95)?;
    /// assert_eq!(cam_stitch::decode_image(&std::fs::read(dir.join("pano.png")).unwrap())?, pano);
    /// assert!(pano.save(dir.join("pano.bmp")).is_err());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn save_with_quality(&self, path: impl AsRef<std::path::Path>, quality: u8) -> Result<()> {
        let path = path.as_ref();
        let bytes = match ImageFormat::from_path(path) {
            Some(ImageFormat::Jpeg) => crate::jpeg::encode_jpeg(*self, quality)?,
            Some(ImageFormat::Png) => self.encode_png()?,
            None => {
                return Err(StitchError::Encode(format!(
                    "{}: unknown image format (use .png, .jpg or .jpeg)",
                    path.display()
                )));
            }
        };
        std::fs::write(path, bytes).map_err(|source| StitchError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The image as a PNG file's bytes.
    pub fn encode_png(&self) -> Result<Vec<u8>> {
        use image::ImageEncoder as _;
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(
                self.as_bytes(),
                self.width(),
                self.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| StitchError::Encode(e.to_string()))?;
        Ok(png)
    }
}

/// A borrowed, tightly packed 8-bit, 3-channel image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgbView<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl<'a> RgbView<'a> {
    /// Wraps packed bytes; errors if `data.len() != width * height * 3`.
    ///
    /// ```
    /// let bytes = vec![0u8; 6 * 4 * 3];
    /// let view = cam_stitch::RgbView::new(6, 4, &bytes)?;
    /// assert_eq!(view.size(), (6, 4));
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<RgbView<'a>> {
        check_len(data.len(), width, height)?;
        Ok(RgbView {
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

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The packed pixels.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The pixel at `(x, y)`, `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.data[i], self.data[i + 1], self.data[i + 2]])
    }

    /// A copy rotated by `rotation` (what the old code did with `cv2.rotate`).
    pub fn rotated(&self, rotation: crate::Rotation) -> RgbImage {
        use crate::Rotation;
        let (w, h) = (self.width as usize, self.height as usize);
        let (rw, rh) = rotation.rotated_size(self.width, self.height);
        let mut out = RgbImage::new(rw, rh);
        let rw = rw as usize;
        for y in 0..h {
            for x in 0..w {
                let (ox, oy) = match rotation {
                    Rotation::None => (x, y),
                    Rotation::Half => (w - 1 - x, h - 1 - y),
                    Rotation::Clockwise90 => (h - 1 - y, x),
                    Rotation::Clockwise270 => (y, w - 1 - x),
                };
                let s = (y * w + x) * 3;
                let d = (oy * rw + ox) * 3;
                out.data[d..d + 3].copy_from_slice(&self.data[s..s + 3]);
            }
        }
        out
    }
}

impl<'a> From<&'a RgbImage> for RgbView<'a> {
    fn from(img: &'a RgbImage) -> RgbView<'a> {
        img.view()
    }
}

fn check_len(len: usize, width: u32, height: u32) -> Result<()> {
    let expected = byte_len(width, height).unwrap_or(usize::MAX);
    if len != expected {
        return Err(StitchError::BufferSize {
            len,
            width,
            height,
            expected,
        });
    }
    Ok(())
}

impl From<image::RgbImage> for RgbImage {
    fn from(img: image::RgbImage) -> RgbImage {
        let (width, height) = img.dimensions();
        RgbImage {
            width,
            height,
            data: img.into_raw(),
        }
    }
}

impl From<RgbImage> for image::RgbImage {
    fn from(img: RgbImage) -> image::RgbImage {
        let (w, h) = (img.width, img.height);
        image::RgbImage::from_raw(w, h, img.data).unwrap_or_else(|| image::RgbImage::new(w, h))
    }
}
