//! 3x3 homographies, computed exactly like OpenCV's `getPerspectiveTransform` and `invert`.

use crate::config::Perspective;

/// A 3x3 projective transform, row-major, `m[8] == 1` after [`Homography::from_quads`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    /// Row-major coefficients `[m00, m01, m02, m10, m11, m12, m20, m21, m22]`.
    pub m: [f64; 9],
}

impl Homography {
    /// The identity transform.
    pub const IDENTITY: Homography = Homography {
        m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    };

    /// The transform mapping each `src[i]` onto `dst[i]`, like `cv::getPerspectiveTransform`
    /// (8x8 system, LU with partial pivoting, same operation order; products of the `f32`
    /// coordinates are taken in `f32` as OpenCV does). `None` if the system is singular.
    ///
    /// ```
    /// use cam_stitch::Homography;
    /// let src = [[10.0, 5.0], [12.0, 90.0], [95.0, 99.0], [101.0, 3.0]];
    /// let dst = [[0.0, 0.0], [0.0, 100.0], [100.0, 100.0], [100.0, 0.0]];
    /// let h = Homography::from_quads(&src, &dst).expect("non-degenerate quad");
    /// let (x, y) = h.apply(12.0, 90.0);
    /// assert!((x - 0.0).abs() < 1e-9 && (y - 100.0).abs() < 1e-9);
    /// ```
    pub fn from_quads(src: &[[f32; 2]; 4], dst: &[[f32; 2]; 4]) -> Option<Homography> {
        let mut a = [[0.0f64; 8]; 8];
        let mut b = [0.0f64; 8];
        for i in 0..4 {
            let (sx, sy, dx, dy) = (src[i][0], src[i][1], dst[i][0], dst[i][1]);
            a[i][0] = f64::from(sx);
            a[i + 4][3] = f64::from(sx);
            a[i][1] = f64::from(sy);
            a[i + 4][4] = f64::from(sy);
            a[i][2] = 1.0;
            a[i + 4][5] = 1.0;
            a[i][6] = f64::from(-sx * dx);
            a[i][7] = f64::from(-sy * dx);
            a[i + 4][6] = f64::from(-sx * dy);
            a[i + 4][7] = f64::from(-sy * dy);
            b[i] = f64::from(dx);
            b[i + 4] = f64::from(dy);
        }
        let x = lu_solve(a, b)?;
        Some(Homography {
            m: [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1.0],
        })
    }

    /// The old code's matrix for one camera: `getPerspectiveTransform(np.float32(src),
    /// np.float32([(0,0),(0,h),(w,h),(w,0)]))`, mapping rotated-camera pixels to warped pixels.
    pub fn for_perspective(p: &Perspective) -> Option<Homography> {
        let src = p.src.map(|[x, y]| [x as f32, y as f32]);
        let (w, h) = (p.width as f32, p.height as f32);
        Homography::from_quads(&src, &[[0.0, 0.0], [0.0, h], [w, h], [w, 0.0]])
    }

    /// The inverse, like `cv::invert(M, DECOMP_LU)` for a 3x3 `CV_64F` matrix (cofactors
    /// over the determinant). `None` if the determinant is zero.
    pub fn inverse(&self) -> Option<Homography> {
        let s = |r: usize, c: usize| self.m[r * 3 + c];
        let det = s(0, 0) * (s(1, 1) * s(2, 2) - s(1, 2) * s(2, 1))
            - s(0, 1) * (s(1, 0) * s(2, 2) - s(1, 2) * s(2, 0))
            + s(0, 2) * (s(1, 0) * s(2, 1) - s(1, 1) * s(2, 0));
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let d = 1.0 / det;
        Some(Homography {
            m: [
                (s(1, 1) * s(2, 2) - s(1, 2) * s(2, 1)) * d,
                (s(0, 2) * s(2, 1) - s(0, 1) * s(2, 2)) * d,
                (s(0, 1) * s(1, 2) - s(0, 2) * s(1, 1)) * d,
                (s(1, 2) * s(2, 0) - s(1, 0) * s(2, 2)) * d,
                (s(0, 0) * s(2, 2) - s(0, 2) * s(2, 0)) * d,
                (s(0, 2) * s(1, 0) - s(0, 0) * s(1, 2)) * d,
                (s(1, 0) * s(2, 1) - s(1, 1) * s(2, 0)) * d,
                (s(0, 1) * s(2, 0) - s(0, 0) * s(2, 1)) * d,
                (s(0, 0) * s(1, 1) - s(0, 1) * s(1, 0)) * d,
            ],
        })
    }

    /// Maps a point: `((m0 x + m1 y + m2) / w, (m3 x + m4 y + m5) / w)` with `w = m6 x + m7 y + m8`.
    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.m;
        let w = m[6] * x + m[7] * y + m[8];
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    }

    /// The matrix as rows.
    pub fn rows(&self) -> [[f64; 3]; 3] {
        let m = &self.m;
        [[m[0], m[1], m[2]], [m[3], m[4], m[5]], [m[6], m[7], m[8]]]
    }
}

/// OpenCV's `LUImpl<double>` (modules/core/src/matrix_decomp.cpp) on an 8x8 system.
fn lu_solve(mut a: [[f64; 8]; 8], mut b: [f64; 8]) -> Option<[f64; 8]> {
    const M: usize = 8;
    let eps = f64::EPSILON * 100.0;
    for i in 0..M {
        let mut k = i;
        for j in i + 1..M {
            if a[j][i].abs() > a[k][i].abs() {
                k = j;
            }
        }
        if a[k][i].abs() < eps {
            return None;
        }
        if k != i {
            a.swap(i, k);
            b.swap(i, k);
        }
        let d = -1.0 / a[i][i];
        for j in i + 1..M {
            let alpha = a[j][i] * d;
            let pivot_row = a[i];
            for (ajc, aic) in a[j][i + 1..].iter_mut().zip(&pivot_row[i + 1..]) {
                *ajc += alpha * aic;
            }
            b[j] += alpha * b[i];
        }
        a[i][i] = -d;
    }
    for i in (0..M).rev() {
        let mut s = b[i];
        for (ac, bc) in a[i][i + 1..].iter().zip(&b[i + 1..]) {
            s -= ac * bc;
        }
        b[i] = s * a[i][i];
    }
    Some(b)
}
