//! The rotated square region of interest fed to the landmark model (MediaPipe's
//! `AlignmentPointsRectsCalculator` + `RectTransformationCalculator`: target angle 90 degrees,
//! `square_long`, scale 1.25).

use std::f64::consts::PI;

use crate::detector::Detection;

/// `RectTransformationCalculator` scale.
pub const ROI_SCALE: f64 = 1.25;

/// A rotated square in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Roi {
    /// Centre x (pixels).
    pub cx: f64,
    /// Centre y (pixels).
    pub cy: f64,
    /// Side (pixels).
    pub size: f64,
    /// Rotation in radians in [-pi, pi), clockwise on screen.
    pub rotation: f64,
}

/// MediaPipe's `NormalizeRadians`: wraps to [-pi, pi).
pub fn normalize_radians(a: f64) -> f64 {
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

impl Roi {
    /// The ROI from a centre point and a size/rotation point (pixels): side
    /// `2 * |p1 - p0| * 1.25`, rotation so that `p0 -> p1` points up.
    ///
    /// ```
    /// let roi = pose_core::Roi::from_points([100.0, 200.0], [100.0, 100.0]);
    /// assert_eq!((roi.size, roi.rotation), (250.0, 0.0));
    /// ```
    pub fn from_points(center: [f64; 2], scale_point: [f64; 2]) -> Self {
        let [x0, y0] = center;
        let [x1, y1] = scale_point;
        let side = 2.0 * (x1 - x0).hypot(y1 - y0);
        let rotation = normalize_radians(PI / 2.0 - (-(y1 - y0)).atan2(x1 - x0));
        Self {
            cx: x0,
            cy: y0,
            size: side * ROI_SCALE,
            rotation,
        }
    }

    /// The ROI of a detection (keypoints 0 and 1).
    pub fn from_detection(det: &Detection) -> Self {
        Self::from_points(det.keypoints[0], det.keypoints[1])
    }

    /// Whether the ROI can be sampled (finite, positive size).
    pub fn is_valid(&self) -> bool {
        self.cx.is_finite()
            && self.cy.is_finite()
            && self.rotation.is_finite()
            && self.size.is_finite()
            && self.size > 1.0
    }

    /// The four corners (pixels), clockwise from the top-left of the crop.
    pub fn corners(&self) -> [[f64; 2]; 4] {
        let (s, c) = self.rotation.sin_cos();
        let h = self.size / 2.0;
        [(-h, -h), (h, -h), (h, h), (-h, h)]
            .map(|(dx, dy)| [self.cx + c * dx - s * dy, self.cy + s * dx + c * dy])
    }

    /// Maps a point normalised to the crop (`[0, 1]^2`) back to image pixels.
    pub fn project(&self, x: f64, y: f64) -> [f64; 2] {
        let (s, c) = self.rotation.sin_cos();
        let (dx, dy) = ((x - 0.5) * self.size, (y - 0.5) * self.size);
        [self.cx + c * dx - s * dy, self.cy + s * dx + c * dy]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_wraps() {
        assert!((normalize_radians(PI) + PI).abs() < 1e-12);
        assert!((normalize_radians(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-12);
        let r = Roi::from_points([0.0, 0.0], [10.0, 0.0]);
        assert!((r.rotation - PI / 2.0).abs() < 1e-12);
        let c = r.project(0.5, 0.0);
        assert!((c[0] - 12.5).abs() < 1e-9 && c[1].abs() < 1e-9, "{c:?}");
    }
}
