//! The old project's `cameras_config.json`, loaded unchanged and validated.
//!
//! ```json
//! {"camera": [{"url": {"jpg": "http://…/capture", "rtsp": "rtsp://…"},
//!              "rotate": 180,
//!              "perspective": {"src": [[7,45],[8,438],[612,454],[632,61]], "width": 620, "hight": 400},
//!              "concat_x": {"front": 75, "back": 567}}]}
//! ```
//! `src` lists the quad's corners in the order top-left, bottom-left, bottom-right, top-right, in
//! pixels of the *rotated* camera image; they map onto `(0,0), (0,h), (w,h), (w,0)` of a `w x h`
//! warped image, whose columns `front..back` go into the panorama. The height key is spelt `hight`
//! (as in the old project); `height` is accepted too.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::camera_url::{CameraUrl, SourcePreference, SourceUrl};
use crate::error::{Result, StitchError};

/// Size limits applied to everything that comes from outside (config and image sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest accepted width or height, in pixels, of a warped view or a camera image.
    pub max_side: u32,
    /// Largest accepted panorama, in pixels.
    pub max_output_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_side: 16_384,
            max_output_pixels: 64 * 1024 * 1024,
        }
    }
}

/// Rotation applied to a camera image before its perspective warp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "i64")]
pub enum Rotation {
    /// No rotation (`"rotate": 0`).
    #[default]
    None,
    /// 90 degrees clockwise, like `cv2.ROTATE_90_CLOCKWISE` (`"rotate": 90`).
    Clockwise90,
    /// Upside down (`"rotate": 180`), like `cv2.ROTATE_180`.
    Half,
    /// 270 degrees clockwise, like `cv2.ROTATE_90_COUNTERCLOCKWISE` (`"rotate": 270`).
    Clockwise270,
}

impl Rotation {
    /// The rotation for a number of degrees (0, 90, 180 or 270), `None` for any other value.
    ///
    /// ```
    /// use cam_stitch::Rotation;
    /// assert_eq!(Rotation::from_degrees(180), Some(Rotation::Half));
    /// assert_eq!(Rotation::from_degrees(45), None);
    /// ```
    pub fn from_degrees(degrees: i64) -> Option<Rotation> {
        match degrees {
            0 => Some(Rotation::None),
            90 => Some(Rotation::Clockwise90),
            180 => Some(Rotation::Half),
            270 => Some(Rotation::Clockwise270),
            _ => None,
        }
    }

    /// Degrees clockwise.
    pub fn degrees(self) -> u16 {
        match self {
            Rotation::None => 0,
            Rotation::Clockwise90 => 90,
            Rotation::Half => 180,
            Rotation::Clockwise270 => 270,
        }
    }

    /// Size `(width, height)` of a `width x height` image after this rotation.
    pub fn rotated_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Rotation::None | Rotation::Half => (width, height),
            Rotation::Clockwise90 | Rotation::Clockwise270 => (height, width),
        }
    }

    /// This rotation followed by `other`.
    pub fn then(self, other: Rotation) -> Rotation {
        let deg = (self.degrees() + other.degrees()) % 360;
        Rotation::from_degrees(i64::from(deg)).unwrap_or_default()
    }
}

impl From<Rotation> for u16 {
    fn from(r: Rotation) -> u16 {
        r.degrees()
    }
}

impl TryFrom<i64> for Rotation {
    type Error = String;
    fn try_from(v: i64) -> std::result::Result<Self, String> {
        Rotation::from_degrees(v)
            .ok_or_else(|| format!("rotate must be 0, 90, 180 or 270, got {v}"))
    }
}

/// The perspective step of one camera: quad corners and warped size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Perspective {
    /// Quad corners in the rotated camera image: top-left, bottom-left, bottom-right, top-right.
    pub src: [[f64; 2]; 4],
    /// Width of the warped view.
    pub width: u32,
    /// Height of the warped view (JSON key `hight`, or `height`).
    #[serde(rename = "hight")]
    pub height: u32,
}

impl Default for Perspective {
    /// An identity quad for a 640x480 camera.
    fn default() -> Self {
        Perspective {
            src: [[0.0, 0.0], [0.0, 480.0], [640.0, 480.0], [640.0, 0.0]],
            width: 640,
            height: 480,
        }
    }
}

/// The columns `front..back` of the warped view that go into the panorama.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcatX {
    /// First column (inclusive).
    pub front: u32,
    /// Last column (exclusive).
    pub back: u32,
}

/// One camera of the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CameraConfig {
    /// Where its frames come from (unused by the stitcher; see [`Config::sources`]).
    pub url: CameraUrl,
    /// Rotation before the warp.
    pub rotate: Rotation,
    /// Quad and warped size.
    pub perspective: Perspective,
    /// Crop of the warped view.
    pub concat_x: ConcatX,
}

/// The whole `cameras_config.json`: cameras left to right.
///
/// ```
/// let json = r#"{"camera":[{"rotate":0,
///   "perspective":{"src":[[0,0],[0,100],[200,100],[200,0]],"width":200,"hight":100},
///   "concat_x":{"front":0,"back":200}}]}"#;
/// let config = cam_stitch::Config::from_json_str(json)?;
/// assert_eq!(config.camera[0].perspective.height, 100);
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    /// The cameras, in panorama order (left to right).
    pub camera: Vec<CameraConfig>,
}

impl Config {
    /// Parses and validates a config with the default [`Limits`].
    pub fn from_json_str(json: &str) -> Result<Config> {
        Config::from_json_str_with_limits(json, &Limits::default())
    }

    /// Parses and validates a config with the given limits.
    ///
    /// ```
    /// use cam_stitch::{Config, Limits};
    /// let json = r#"{"camera":[{"rotate":0,
    ///   "perspective":{"src":[[0,0],[0,100],[200,100],[200,0]],"width":200,"hight":100},
    ///   "concat_x":{"front":0,"back":200}}]}"#;
    /// let small = Limits { max_side: 150, ..Limits::default() };
    /// let err = Config::from_json_str_with_limits(json, &small).unwrap_err();
    /// assert!(err.to_string().contains("perspective.width"));
    /// ```
    pub fn from_json_str_with_limits(json: &str, limits: &Limits) -> Result<Config> {
        let raw: RawConfig = serde_json::from_str(json)?;
        raw.into_config(limits)
    }

    /// Reads, parses and validates a config file with the default [`Limits`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config> {
        Config::from_path_with_limits(path, &Limits::default())
    }

    /// Reads, parses and validates a config file with the given limits.
    pub fn from_path_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| StitchError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_json_str_with_limits(&text, limits)
    }

    /// The config as JSON in the old format (key `hight`).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every camera: quad convex and non-degenerate, sizes within `limits`,
    /// `front <= back <= width`, equal heights (the panorama is one strip).
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        if self.camera.is_empty() {
            return Err(StitchError::NoCameras);
        }
        let mut total_width: u64 = 0;
        for (n, cam) in self.camera.iter().enumerate() {
            let p = &cam.perspective;
            let invalid = |field: &'static str, reason: String| StitchError::InvalidCamera {
                camera: n,
                field,
                reason,
            };
            check_quad(&p.src).map_err(|r| invalid("perspective.src", r))?;
            check_side(p.width, limits).map_err(|r| invalid("perspective.width", r))?;
            check_side(p.height, limits).map_err(|r| invalid("perspective.hight", r))?;
            let c = &cam.concat_x;
            if c.front > c.back {
                return Err(invalid(
                    "concat_x.front",
                    format!("front {} is greater than back {}", c.front, c.back),
                ));
            }
            if c.back > p.width {
                return Err(invalid(
                    "concat_x.back",
                    format!("back {} is beyond the warped width {}", c.back, p.width),
                ));
            }
            let h0 = self.camera[0].perspective.height;
            if p.height != h0 {
                return Err(invalid(
                    "perspective.hight",
                    format!(
                        "{} differs from camera 0's {h0} (the panorama is one strip of equal heights)",
                        p.height
                    ),
                ));
            }
            total_width += u64::from(c.back - c.front);
        }
        let height = u64::from(self.camera[0].perspective.height);
        if total_width == 0 {
            return Err(StitchError::InvalidCamera {
                camera: 0,
                field: "concat_x",
                reason: "every camera's crop is empty, the panorama has no columns".into(),
            });
        }
        if total_width * height > limits.max_output_pixels {
            return Err(StitchError::OutputTooLarge {
                width: total_width,
                height,
                limit: limits.max_output_pixels,
            });
        }
        Ok(())
    }

    /// The URL to read each camera from, in camera order: by `preference` when a camera lists
    /// both an HTTP and an RTSP URL. A camera without any URL is an error naming it.
    ///
    /// ```
    /// use cam_stitch::{Config, SourcePreference, SourceUrl};
    /// let geometry = r#""perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":64}"#;
    /// let json = format!(r#"{{"camera":[
    ///   {{"url":"http://10.0.0.5/capture",{geometry}}},
    ///   {{"url":{{"jpg":"http://10.0.0.6/capture","rtsp":"rtsp://10.0.0.6:554/s"}},{geometry}}}]}}"#);
    /// let config = Config::from_json_str(&json)?;
    /// let urls = config.sources(SourcePreference::Rtsp)?;
    /// assert_eq!(urls[0], SourceUrl::Http("http://10.0.0.5/capture".into()));
    /// assert_eq!(urls[1], SourceUrl::Rtsp("rtsp://10.0.0.6:554/s".into()));
    ///
    /// let bad = Config::from_json_str(&json.replace(r#""jpg":"http://10.0.0.6/capture""#, r#""jpg":5"#));
    /// assert_eq!(bad.unwrap_err().to_string(), "camera 1: `url.jpg`: expected a URL string, found 5");
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn sources(&self, preference: SourcePreference) -> Result<Vec<SourceUrl>> {
        self.camera
            .iter()
            .enumerate()
            .map(|(n, cam)| {
                cam.url
                    .source(preference)
                    .ok_or_else(|| StitchError::InvalidCamera {
                        camera: n,
                        field: "url",
                        reason: "missing (expected a URL string or an object with `jpg`, \
                                 `mjpeg`, `stream` or `rtsp`)"
                            .into(),
                    })
            })
            .collect()
    }

    /// Panorama size `(width, height)`: the crops side by side.
    pub fn output_size(&self) -> (u32, u32) {
        let w = self
            .camera
            .iter()
            .map(|c| c.concat_x.back.saturating_sub(c.concat_x.front))
            .sum();
        let h = self.camera.first().map_or(0, |c| c.perspective.height);
        (w, h)
    }
}

fn check_side(v: u32, limits: &Limits) -> std::result::Result<(), String> {
    if v == 0 {
        Err("must not be zero".into())
    } else if v > limits.max_side {
        Err(format!(
            "{v} exceeds the limit of {} pixels",
            limits.max_side
        ))
    } else {
        Ok(())
    }
}

/// Checks that the quad is finite, strictly convex and not degenerate (no three corners collinear,
/// edges do not cross). Either winding is accepted.
pub(crate) fn check_quad(q: &[[f64; 2]; 4]) -> std::result::Result<(), String> {
    if q.iter().flatten().any(|v| !v.is_finite()) {
        return Err("corners must be finite numbers".into());
    }
    let mut span = 0.0f64;
    for a in q {
        for b in q {
            span = span.max((a[0] - b[0]).abs()).max((a[1] - b[1]).abs());
        }
    }
    if span < 1e-6 {
        return Err("all corners coincide (degenerate quad)".into());
    }
    let mut sign = 0.0f64;
    for i in 0..4 {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        // Relative to the quad's size: collinear up to rounding means degenerate.
        if cross.abs() <= 1e-9 * span * span {
            return Err(format!(
                "corners {i}, {}, {} are collinear (degenerate quad)",
                (i + 1) % 4,
                (i + 2) % 4
            ));
        }
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign {
            return Err(
                "quad is self-crossing or not convex (corners must be TL, BL, BR, TR)".into(),
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Raw JSON shape: lenient number types so that validation can name the camera and the field.

#[derive(Deserialize)]
struct RawConfig {
    camera: Vec<RawCamera>,
}

#[derive(Deserialize)]
struct RawCamera {
    #[serde(default)]
    url: serde_json::Value,
    #[serde(default)]
    rotate: Option<f64>,
    perspective: RawPerspective,
    concat_x: RawConcat,
}

#[derive(Deserialize)]
struct RawPerspective {
    src: Vec<Vec<f64>>,
    width: f64,
    #[serde(alias = "height")]
    hight: f64,
}

#[derive(Deserialize)]
struct RawConcat {
    front: f64,
    back: f64,
}

fn whole(v: f64, camera: usize, field: &'static str) -> Result<u32> {
    if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
        return Err(StitchError::InvalidCamera {
            camera,
            field,
            reason: format!("must be a non-negative whole number, got {v}"),
        });
    }
    Ok(v as u32)
}

impl RawConfig {
    fn into_config(self, limits: &Limits) -> Result<Config> {
        let mut camera = Vec::with_capacity(self.camera.len());
        for (n, raw) in self.camera.into_iter().enumerate() {
            let deg = raw.rotate.unwrap_or(0.0);
            let rotate = (deg.fract() == 0.0)
                .then(|| Rotation::from_degrees(deg as i64))
                .flatten()
                .ok_or_else(|| StitchError::InvalidCamera {
                    camera: n,
                    field: "rotate",
                    reason: format!("must be 0, 90, 180 or 270, got {deg}"),
                })?;
            if raw.perspective.src.len() != 4 || raw.perspective.src.iter().any(|p| p.len() != 2) {
                return Err(StitchError::InvalidCamera {
                    camera: n,
                    field: "perspective.src",
                    reason: format!(
                        "must be 4 points [x, y] (TL, BL, BR, TR), got {} entries",
                        raw.perspective.src.len()
                    ),
                });
            }
            let mut src = [[0.0; 2]; 4];
            for (dst, p) in src.iter_mut().zip(&raw.perspective.src) {
                *dst = [p[0], p[1]];
            }
            let url = CameraUrl::from_json(&raw.url).map_err(|(field, reason)| {
                StitchError::InvalidCamera {
                    camera: n,
                    field,
                    reason,
                }
            })?;
            camera.push(CameraConfig {
                url,
                rotate,
                perspective: Perspective {
                    src,
                    width: whole(raw.perspective.width, n, "perspective.width")?,
                    height: whole(raw.perspective.hight, n, "perspective.hight")?,
                },
                concat_x: ConcatX {
                    front: whole(raw.concat_x.front, n, "concat_x.front")?,
                    back: whole(raw.concat_x.back, n, "concat_x.back")?,
                },
            });
        }
        let config = Config { camera };
        config.validate(limits)?;
        Ok(config)
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = StitchError;
    fn try_from(raw: RawConfig) -> Result<Config> {
        raw.into_config(&Limits::default())
    }
}
