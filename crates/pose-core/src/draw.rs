//! Skeleton overlay onto an RGB image, in pure Rust (no OpenCV).
//!
//! The look follows `tools/pose_ref.py`'s `draw`: edges of [`POSE_CONNECTIONS`] between two
//! landmarks of the person's left side are orange, of the right side cyan, others (face, shoulders,
//! hips) green; an edge with a landmark below the visibility threshold is grey; landmarks are red
//! dots (grey when not visible). Line thickness defaults to `max(2, round(max(w, h) / 500))` and the
//! dot radius to twice that, as in the reference.
//!
//! The image is a packed RGB8 buffer (`width * height * 3` bytes, rows top to bottom, no padding),
//! e.g. `image::RgbImage`'s raw buffer.
//!
//! ```
//! use pose_core::draw::{draw_pose, DrawStyle};
//! use pose_core::pose::{Landmark, LandmarkName, Pose};
//!
//! let (w, h) = (64u32, 48u32);
//! let mut rgb = vec![0u8; (w * h * 3) as usize];
//! let mut pose = Pose::default();
//! pose.landmarks[LandmarkName::LeftShoulder.index()] = Landmark::new(10.0, 10.0, 0.0, 0.9, 0.9);
//! pose.landmarks[LandmarkName::LeftElbow.index()] = Landmark::new(50.0, 10.0, 0.0, 0.9, 0.9);
//! draw_pose(&mut rgb, w, h, &pose, &DrawStyle::default())?;
//! let px = |x: u32, y: u32| &rgb[((y * w + x) * 3) as usize..][..3];
//! assert_eq!(px(30, 10), &[255, 140, 0]); // the left upper arm, orange
//! assert_eq!(px(30, 30), &[0, 0, 0]); // untouched
//! # Ok::<(), pose_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::pose::{POSE_CONNECTIONS, Pose};

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Colours and sizes of the overlay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrawStyle {
    /// Line width in pixels; `None` = `max(2, round(max(width, height) / 500))`.
    pub thickness: Option<u32>,
    /// Dot radius in pixels; `None` = twice the line width.
    pub point_radius: Option<u32>,
    /// Landmarks with a visibility below this are drawn grey.
    pub min_visibility: f32,
    /// Edges between two left-side landmarks (arms, legs).
    pub left: Rgb,
    /// Edges between two right-side landmarks.
    pub right: Rgb,
    /// Other edges (face, shoulders, hips).
    pub centre: Rgb,
    /// Edges touching a landmark that is not visible.
    pub hidden_edge: Rgb,
    /// Visible landmarks.
    pub point: Rgb,
    /// Landmarks that are not visible.
    pub hidden_point: Rgb,
    /// Draw landmarks that are not visible (grey) at all.
    pub draw_hidden: bool,
}

impl Default for DrawStyle {
    fn default() -> Self {
        Self {
            thickness: None,
            point_radius: None,
            min_visibility: 0.5,
            left: [255, 140, 0],
            right: [0, 255, 255],
            centre: [0, 255, 0],
            hidden_edge: [160, 160, 160],
            point: [255, 0, 0],
            hidden_point: [128, 128, 128],
            draw_hidden: true,
        }
    }
}

impl DrawStyle {
    /// The line width used on a `width` x `height` image.
    pub fn thickness_for(&self, width: u32, height: u32) -> u32 {
        self.thickness
            .unwrap_or_else(|| ((f64::from(width.max(height)) / 500.0).round() as u32).max(2))
            .max(1)
    }
}

/// A packed RGB8 image borrowed mutably, checked once.
struct Canvas<'a> {
    rgb: &'a mut [u8],
    width: usize,
    height: usize,
}

impl<'a> Canvas<'a> {
    fn new(rgb: &'a mut [u8], width: u32, height: u32) -> Result<Self, Error> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(3));
        if expected != Some(rgb.len()) {
            return Err(Error::ImageSize {
                what: "RGB buffer to draw on",
                width,
                height,
                channels: 3,
                len: rgb.len(),
            });
        }
        Ok(Self {
            rgb,
            width: width as usize,
            height: height as usize,
        })
    }

    /// Pixel index range `[lo, hi]` of a span `[a - r, b + r]` clipped to `0..n`, or `None`.
    fn span(a: f32, b: f32, r: f32, n: usize) -> Option<(usize, usize)> {
        let lo = (a.min(b) - r).floor().max(0.0);
        let hi = (a.max(b) + r).ceil().min(n as f32 - 1.0);
        (lo <= hi).then_some((lo as usize, hi as usize))
    }

    fn put(&mut self, x: usize, y: usize, c: Rgb) {
        let i = (y * self.width + x) * 3;
        if let Some(p) = self.rgb.get_mut(i..i + 3) {
            p.copy_from_slice(&c);
        }
    }

    /// Pixels whose centre lies within `half` of the segment `p`-`q` (round caps).
    fn segment(&mut self, p: (f32, f32), q: (f32, f32), half: f32, c: Rgb) {
        let Some((x0, x1)) = Self::span(p.0, q.0, half, self.width) else {
            return;
        };
        let Some((y0, y1)) = Self::span(p.1, q.1, half, self.height) else {
            return;
        };
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len2 = dx * dx + dy * dy;
        let r2 = half * half;
        for y in y0..=y1 {
            let py = y as f32 + 0.5;
            for x in x0..=x1 {
                let px = x as f32 + 0.5;
                let t = if len2 > 0.0 {
                    (((px - p.0) * dx + (py - p.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (p.0 + t * dx - px, p.1 + t * dy - py);
                if ex * ex + ey * ey <= r2 {
                    self.put(x, y, c);
                }
            }
        }
    }
}

/// Whether both ends of edge (a, b) are on the person's left (odd index > 10), right (even
/// index > 10), or neither: pose_ref.py's colour rule.
fn edge_colour(a: usize, b: usize, style: &DrawStyle) -> Rgb {
    if a > 10 && !a.is_multiple_of(2) && !b.is_multiple_of(2) {
        style.left
    } else if a > 10 && a.is_multiple_of(2) && b.is_multiple_of(2) {
        style.right
    } else {
        style.centre
    }
}

/// Draws one pose onto a packed RGB8 image of `width` x `height` pixels.
///
/// Landmarks outside the image are clipped; non-finite coordinates are skipped.
///
/// # Errors
/// [`Error::ImageSize`] when `rgb.len() != width * height * 3`.
pub fn draw_pose(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    pose: &Pose,
    style: &DrawStyle,
) -> Result<(), Error> {
    draw_poses(rgb, width, height, std::slice::from_ref(pose), style)
}

/// Draws several poses (see [`draw_pose`]).
///
/// # Errors
/// [`Error::ImageSize`] when `rgb.len() != width * height * 3`.
pub fn draw_poses(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    poses: &[Pose],
    style: &DrawStyle,
) -> Result<(), Error> {
    let mut canvas = Canvas::new(rgb, width, height)?;
    let th = style.thickness_for(width, height);
    let half = th as f32 / 2.0;
    let radius = style.point_radius.unwrap_or(2 * th) as f32;
    for pose in poses {
        let lm = &pose.landmarks;
        let finite = |i: usize| lm[i].x.is_finite() && lm[i].y.is_finite();
        for (a, b) in POSE_CONNECTIONS {
            if !finite(a) || !finite(b) {
                continue;
            }
            let visible = lm[a].visibility >= style.min_visibility
                && lm[b].visibility >= style.min_visibility;
            if !visible && !style.draw_hidden {
                continue;
            }
            let colour = if visible {
                edge_colour(a, b, style)
            } else {
                style.hidden_edge
            };
            canvas.segment((lm[a].x, lm[a].y), (lm[b].x, lm[b].y), half, colour);
        }
        for (i, l) in lm.iter().enumerate() {
            if !finite(i) {
                continue;
            }
            let visible = l.visibility >= style.min_visibility;
            if !visible && !style.draw_hidden {
                continue;
            }
            let colour = if visible {
                style.point
            } else {
                style.hidden_point
            };
            canvas.segment((l.x, l.y), (l.x, l.y), radius, colour);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::pose::{Landmark, LandmarkName};

    fn px(rgb: &[u8], w: u32, x: u32, y: u32) -> Rgb {
        let i = ((y * w + x) * 3) as usize;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    #[test]
    fn draws_along_a_known_segment_with_side_colours() {
        let (w, h) = (200u32, 100u32);
        let mut rgb = vec![10u8; (w * h * 3) as usize];
        let mut pose = Pose::default();
        // Right forearm: right elbow (14) -> right wrist (16), diagonal.
        pose.landmarks[LandmarkName::RightElbow.index()] = Landmark::new(20.0, 20.0, 0.0, 0.9, 1.0);
        pose.landmarks[LandmarkName::RightWrist.index()] =
            Landmark::new(120.0, 70.0, 0.0, 0.9, 1.0);
        let style = DrawStyle {
            thickness: Some(3),
            point_radius: Some(4),
            draw_hidden: false,
            ..DrawStyle::default()
        };
        draw_pose(&mut rgb, w, h, &pose, &style).unwrap();
        // Every pixel on the segment's interior is cyan (x = 20 + 2t, y = 20 + t).
        for t in (10..90).step_by(7) {
            let fx = 20.0 + t as f32;
            let fy = 20.0 + t as f32 / 2.0;
            assert_eq!(px(&rgb, w, fx as u32, fy as u32), style.right, "at t={t}");
        }
        // The ends carry red dots; far from the segment nothing changed.
        assert_eq!(px(&rgb, w, 20, 20), style.point);
        assert_eq!(px(&rgb, w, 120, 70), style.point);
        assert_eq!(px(&rgb, w, 100, 20), [10, 10, 10]);
        assert_eq!(px(&rgb, w, 20, 80), [10, 10, 10]);
        // Only pixels near the segment changed: at most ~ (length + 2r) * 2r plus two dots.
        let changed = rgb.chunks(3).filter(|p| *p != [10, 10, 10]).count();
        assert!(changed > 300 && changed < 700, "{changed}");
    }

    #[test]
    fn hidden_and_centre_colours_and_clipping() {
        let (w, h) = (100u32, 100u32);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let mut pose = Pose::default();
        for l in pose.landmarks.iter_mut() {
            *l = Landmark::new(f32::NAN, f32::NAN, 0.0, 0.0, 0.0);
        }
        pose.landmarks[11] = Landmark::new(10.0, 50.0, 0.0, 0.9, 1.0);
        pose.landmarks[12] = Landmark::new(90.0, 50.0, 0.0, 0.9, 1.0); // shoulders: centre green
        pose.landmarks[23] = Landmark::new(10.0, 500.0, 0.0, 0.2, 1.0); // hidden, off-image
        let style = DrawStyle {
            thickness: Some(2),
            point_radius: Some(2),
            ..DrawStyle::default()
        };
        draw_pose(&mut rgb, w, h, &pose, &style).unwrap();
        assert_eq!(px(&rgb, w, 50, 50), style.centre);
        assert_eq!(
            px(&rgb, w, 10, 80),
            style.hidden_edge,
            "11 -> 23 is grey and clipped"
        );
        assert_eq!(px(&rgb, w, 10, 50), style.point);
    }

    #[test]
    fn wrong_buffer_size_is_an_error_and_default_thickness_follows_the_reference() {
        let mut rgb = vec![0u8; 10];
        let err = draw_pose(&mut rgb, 4, 4, &Pose::default(), &DrawStyle::default()).unwrap_err();
        assert!(err.to_string().contains("4x4"), "{err}");
        let s = DrawStyle::default();
        assert_eq!(s.thickness_for(640, 480), 2);
        assert_eq!(s.thickness_for(1080, 1920), 4);
    }
}
