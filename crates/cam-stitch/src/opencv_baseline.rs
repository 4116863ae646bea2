//! The old relay's stitching through OpenCV (feature `opencv`): the baseline for benchmarks and
//! a second reference for the golden tests (Debian's OpenCV 4.6).

pub use opencv::core::Mat;
use opencv::core::{self, Point2f, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

use crate::config::{Config, Rotation};
use crate::error::{Result, StitchError};
use crate::rgb::{RgbImage, RgbView};

/// Sets OpenCV's worker thread count (`cv::setNumThreads`; 1 = single-threaded, -1 = default).
pub fn set_num_threads(n: i32) -> Result<()> {
    core::set_num_threads(n)?;
    Ok(())
}

/// OpenCV's worker thread count (`cv::getNumThreads`).
pub fn num_threads() -> Result<i32> {
    Ok(core::get_num_threads()?)
}

/// Decodes a JPEG with OpenCV's `imdecode(IMREAD_COLOR)` into a BGR Mat, as the old code did.
pub fn decode_mat(jpeg: &[u8]) -> Result<Mat> {
    let buf = Vector::<u8>::from_slice(jpeg);
    let bgr = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if bgr.empty() {
        return Err(StitchError::Decode(
            "OpenCV imdecode returned an empty image".into(),
        ));
    }
    Ok(bgr)
}

/// Encodes a Mat as JPEG with OpenCV's `imencode(".jpg", quality)`.
pub fn encode_mat(mat: &Mat, quality: i32, out: &mut Vec<u8>) -> Result<()> {
    let mut buf = Vector::<u8>::new();
    let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
    imgcodecs::imencode(".jpg", mat, &mut buf, &params)?;
    out.clear();
    out.extend_from_slice(buf.as_slice());
    Ok(())
}

/// Decodes a JPEG with OpenCV's `imdecode(IMREAD_COLOR)`, returned as RGB.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<RgbImage> {
    let buf = Vector::<u8>::from_slice(jpeg);
    let bgr = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if bgr.empty() {
        return Err(StitchError::Decode(
            "OpenCV imdecode returned an empty image".into(),
        ));
    }
    let mut rgb = Mat::default();
    imgproc::cvt_color_def(&bgr, &mut rgb, imgproc::COLOR_BGR2RGB)?;
    mat_to_rgb(&rgb)
}

/// Copies a `CV_8UC3` Mat into a packed [`RgbImage`] (channel order unchanged).
pub fn mat_to_rgb(mat: &Mat) -> Result<RgbImage> {
    let (w, h) = (mat.cols() as u32, mat.rows() as u32);
    let mat = if mat.is_continuous() {
        mat.clone()
    } else {
        mat.try_clone()?
    };
    RgbImage::from_raw(w, h, mat.data_bytes()?.to_vec())
}

/// Copies a packed 3-channel image into a new `CV_8UC3` Mat (channel order unchanged).
pub fn rgb_to_mat(img: RgbView<'_>) -> Result<Mat> {
    let flat = Mat::from_slice(img.as_bytes())?;
    let m = flat.reshape(3, img.height() as i32)?;
    Ok(m.try_clone()?)
}

/// The old pipeline: per camera `cv::rotate` (when configured), `getPerspectiveTransform` +
/// `warpPerspective` (INTER_LINEAR, BORDER_CONSTANT 0), crop `concat_x`, then `hconcat`.
#[derive(Debug, Clone)]
pub struct SeedPipeline {
    cameras: Vec<SeedCamera>,
}

#[derive(Debug, Clone)]
struct SeedCamera {
    rotate: Rotation,
    src: [Point2f; 4],
    dst: [Point2f; 4],
    size: Size,
    front: i32,
    back: i32,
}

impl SeedPipeline {
    /// Prepares the pipeline for a config (no OpenCV call yet).
    pub fn new(config: &Config) -> SeedPipeline {
        let cameras = config
            .camera
            .iter()
            .map(|c| {
                let p = &c.perspective;
                let (w, h) = (p.width as f32, p.height as f32);
                SeedCamera {
                    rotate: c.rotate,
                    src: p.src.map(|[x, y]| Point2f::new(x as f32, y as f32)),
                    dst: [
                        Point2f::new(0.0, 0.0),
                        Point2f::new(0.0, h),
                        Point2f::new(w, h),
                        Point2f::new(w, 0.0),
                    ],
                    size: Size::new(p.width as i32, p.height as i32),
                    front: c.concat_x.front as i32,
                    back: c.concat_x.back as i32,
                }
            })
            .collect();
        SeedPipeline { cameras }
    }

    /// Runs the old pipeline on one frame (Mats in config order), like `seed_stitch.py`
    /// (the matrix is recomputed every frame, as the old code did).
    pub fn stitch(&self, images: &[Mat]) -> Result<Mat> {
        if images.len() != self.cameras.len() {
            return Err(StitchError::CameraCount {
                expected: self.cameras.len(),
                got: images.len(),
            });
        }
        let mut parts = Vector::<Mat>::new();
        for (cam, img) in self.cameras.iter().zip(images) {
            let rotated;
            let img = match cam.rotate {
                Rotation::None => img,
                r => {
                    let code = match r {
                        Rotation::Clockwise90 => core::ROTATE_90_CLOCKWISE,
                        Rotation::Clockwise270 => core::ROTATE_90_COUNTERCLOCKWISE,
                        _ => core::ROTATE_180,
                    };
                    let mut out = Mat::default();
                    core::rotate(img, &mut out, code)?;
                    rotated = out;
                    &rotated
                }
            };
            let src = Vector::<Point2f>::from_slice(&cam.src);
            let dst = Vector::<Point2f>::from_slice(&cam.dst);
            let m = imgproc::get_perspective_transform(&src, &dst, core::DECOMP_LU)?;
            let mut warped = Mat::default();
            imgproc::warp_perspective(
                img,
                &mut warped,
                &m,
                cam.size,
                imgproc::INTER_LINEAR,
                core::BORDER_CONSTANT,
                Scalar::all(0.0),
            )?;
            let roi = warped.col_range(&core::Range::new(cam.front, cam.back)?)?;
            parts.push(roi.try_clone()?);
        }
        let mut pano = Mat::default();
        core::hconcat(&parts, &mut pano)?;
        Ok(pano)
    }

    /// [`SeedPipeline::stitch`] on packed images, returned as a packed image.
    pub fn stitch_rgb(&self, images: &[RgbView<'_>]) -> Result<RgbImage> {
        let mats = images
            .iter()
            .map(|&i| rgb_to_mat(i))
            .collect::<Result<Vec<_>>>()?;
        mat_to_rgb(&self.stitch(&mats)?)
    }
}
