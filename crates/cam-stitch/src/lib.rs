//! One-pass panorama from fixed cameras: rotate, 4-point perspective warp, crop and concat,
//! planned once.
//!
//! The old relay rotated, perspective-warped (`cv2.getPerspectiveTransform` +
//! `cv2.warpPerspective`), cropped and `hconcat`-ed every camera image on every frame. Fixed
//! cameras never move, so [`Plan::new`] computes that geometry once from the old
//! `cameras_config.json` ([`Config`]) and [`Plan::render`] then builds each panorama in one
//! pass over the output pixels, into a buffer the caller owns, equal to the old OpenCV output
//! (same fixed-point bilinear sampling).
//!
//! ```
//! use cam_stitch::{Config, JpegCodec, Plan, RgbImage};
//!
//! let config = Config::from_json_str(r#"{"camera":[
//!   {"rotate":0,  "perspective":{"src":[[2,3],[1,44],[62,46],[60,1]],"width":64,"hight":48},
//!    "concat_x":{"front":0,"back":40}},
//!   {"rotate":180,"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},
//!    "concat_x":{"front":8,"back":64}}]}"#)?;
//! let plan = Plan::new(&config, &[(64, 48), (64, 48)])?;   // once
//!
//! let mut codec = JpegCodec::new()?;
//! let cams = [RgbImage::new(64, 48), RgbImage::new(64, 48)]; // decoded camera frames
//! let mut pano = plan.new_output();                          // reused every frame
//! let mut jpeg = Vec::new();
//! // per frame:
//! plan.render(&[Some(cams[0].view()), Some(cams[1].view())], &mut pano)?;
//! codec.encode(pano.view(), 85, &mut jpeg)?;
//! assert_eq!(pano.size(), (96, 48));
//! # Ok::<(), cam_stitch::StitchError>(())
//! ```
//!
//! For the relay's whole step, camera JPEGs in and panorama JPEG out, use [`JpegStitcher`]: it
//! takes the YCbCr path ([`YuvPlan`]: JPEG's own planes decoded, warped and encoded without
//! colour conversion or chroma resampling, visually equal to the RGB path) when every frame
//! allows it, and the RGB path ([`Plan`], OpenCV-equal pixels) otherwise.
//!
//! For a live relay (N cameras fed their newest frames, placeholder tiles for cameras that are
//! missing, stale or offline, one JPEG per panorama, bad frames counted and contained) use
//! [`LiveStitcher`], rendered when [`RenderSchedule`] says so; [`Config::sources`] picks each
//! camera's URL from the same config file.
//!
//! Features: `rayon` (split rows across threads, [`PlanOptions::parallel`]), `turbojpeg`
//! (libjpeg-turbo for [`JpegCodec`]), `opencv` (the old pipeline through OpenCV, in
//! [`opencv_baseline`], for comparisons and benchmarks; RTSP cameras through `VideoCapture` in
//! [`rtsp`]).
// `unsafe` only in `turbo_yuv` (libjpeg-turbo's encode from planes; invariants documented there)
// and at the two calls of the AVX2 run loops (`plan::sample_run`, `plane::sample_run`), each right
// after `is_x86_feature_detected!("avx2")`.
#![deny(unsafe_code)]

mod bilinear;
mod camera_url;
mod config;
mod error;
mod homography;
mod jpeg;
mod kernel;
mod label;
mod live;
#[cfg(feature = "opencv")]
pub mod opencv_baseline;
mod plan;
mod plane;
mod rgb;
#[cfg(feature = "opencv")]
pub mod rtsp;
mod schedule;
mod stitcher;
#[cfg(feature = "turbojpeg")]
mod turbo_yuv;
mod yuv;

pub use camera_url::{CameraUrl, SourcePreference, SourceUrl};
pub use config::{CameraConfig, ConcatX, Config, Limits, Perspective, Rotation};
pub use error::{Result, StitchError};
pub use homography::Homography;
pub use jpeg::{JpegBackend, JpegCodec, JpegHeader, decode_image, decode_jpeg, encode_jpeg};
pub use label::{LABEL_RGB, PLACEHOLDER_RGB, draw_label};
pub use live::{CameraFrame, CameraStats, LiveOptions, LivePanorama, LiveStitcher, Tile};
pub use plan::{Plan, PlanOptions};
pub use rgb::{ImageFormat, RgbImage, RgbView};
pub use schedule::RenderSchedule;
pub use stitcher::{JpegStitcher, StitchPath};
pub use yuv::{Subsampling, YuvFrame, YuvInput, YuvPlan};
