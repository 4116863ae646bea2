//! The cameras' sources from the old `cameras_config.json` (the stitching geometry of the same
//! file is cam-stitch's business).
//!
//! Each entry of `camera` has `url`, either a string or an object:
//! `{"jpg": "http://.../capture", "rtsp": "rtsp://..."}`. An `http(s)` URL is fetched and its
//! `Content-Type` decides: `image/jpeg` is polled one JPEG at a time, `multipart/x-mixed-replace`
//! is read as an MJPEG stream. Keys `mjpeg` / `stream` are accepted as HTTP URLs too.

use std::fmt;

use serde_json::Value;

/// Where one camera's frames come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceUrl {
    /// HTTP: a single JPEG per request (polled) or an MJPEG stream, told apart by Content-Type.
    Http(String),
    /// RTSP, read with OpenCV's `VideoCapture` (crate feature `opencv`).
    Rtsp(String),
}

impl SourceUrl {
    /// The URL text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Http(u) | Self::Rtsp(u) => u,
        }
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which URL to use when a camera lists several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefer {
    /// `url.jpg` (or `mjpeg` / `stream`), then `url.rtsp`.
    #[default]
    Http,
    /// `url.rtsp` first.
    Rtsp,
}

/// A configuration error naming the camera and the field.
#[derive(Debug)]
pub struct ConfigError {
    /// Index in the `camera` array, if the error is about one camera.
    pub camera: Option<usize>,
    /// The field, e.g. `url.jpg`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.camera {
            Some(c) => write!(f, "camera {c}: `{}`: {}", self.field, self.reason),
            None => write!(f, "`{}`: {}", self.field, self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(camera: Option<usize>, field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        camera,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn check_url(camera: usize, field: &str, v: &Value) -> Result<SourceUrl, ConfigError> {
    let Some(s) = v.as_str() else {
        return Err(err(
            Some(camera),
            field,
            format!("expected a URL string, found {v}"),
        ));
    };
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") {
        if s.len() <= "http://".len() {
            return Err(err(Some(camera), field, format!("URL {s:?} has no host")));
        }
        Ok(SourceUrl::Http(s.to_owned()))
    } else if lower.starts_with("rtsp://") {
        Ok(SourceUrl::Rtsp(s.to_owned()))
    } else if lower.starts_with("https://") {
        Err(err(
            Some(camera),
            field,
            format!("{s:?}: https is not supported (ESP32-CAMs serve plain http)"),
        ))
    } else {
        Err(err(
            Some(camera),
            field,
            format!("{s:?} is not an http:// or rtsp:// URL"),
        ))
    }
}

/// Reads the `url` of every camera from the parsed config JSON.
pub fn sources(config: &Value, prefer: Prefer) -> Result<Vec<SourceUrl>, ConfigError> {
    let cams = config
        .get("camera")
        .ok_or_else(|| err(None, "camera", "missing (expected an array of cameras)"))?
        .as_array()
        .ok_or_else(|| err(None, "camera", "expected an array of cameras"))?;
    if cams.is_empty() {
        return Err(err(None, "camera", "the array is empty"));
    }
    let mut out = Vec::with_capacity(cams.len());
    for (i, cam) in cams.iter().enumerate() {
        let url = cam
            .get("url")
            .ok_or_else(|| err(Some(i), "url", "missing"))?;
        let chosen = match url {
            Value::String(_) => check_url(i, "url", url)?,
            Value::Object(map) => {
                let mut http = None;
                for key in ["jpg", "mjpeg", "stream"] {
                    if let Some(v) = map.get(key) {
                        http = Some(check_url(i, &format!("url.{key}"), v)?);
                        break;
                    }
                }
                let rtsp = match map.get("rtsp") {
                    Some(v) => Some(check_url(i, "url.rtsp", v)?),
                    None => None,
                };
                let pick = match prefer {
                    Prefer::Http => http.or(rtsp),
                    Prefer::Rtsp => rtsp.or(http),
                };
                pick.ok_or_else(|| {
                    err(
                        Some(i),
                        "url",
                        "has none of `jpg`, `mjpeg`, `stream`, `rtsp`",
                    )
                })?
            }
            other => {
                return Err(err(
                    Some(i),
                    "url",
                    format!("expected a string or an object, found {other}"),
                ));
            }
        };
        out.push(chosen);
    }
    Ok(out)
}

/// Replaces camera `i`'s URL in the config JSON by `url` (as `url.jpg`), for `--simulate`.
pub fn set_url(config: &mut Value, i: usize, url: &str) {
    if let Some(cam) = config.get_mut("camera").and_then(|c| c.get_mut(i)) {
        cam["url"] = serde_json::json!({ "jpg": url });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_camera_and_field() {
        let v: Value = serde_json::json!({"camera": [{"url": {"jpg": "http://a/capture"}}, {"url": {"jpg": 5}}]});
        let e = sources(&v, Prefer::Http).expect_err("bad url");
        assert_eq!(
            e.to_string(),
            "camera 1: `url.jpg`: expected a URL string, found 5"
        );
        let v: Value = serde_json::json!({"camera": [{"url": {"rtsp": "rtsp://x/y", "jpg": "http://x/capture"}}]});
        assert_eq!(
            sources(&v, Prefer::Rtsp).expect("ok")[0],
            SourceUrl::Rtsp("rtsp://x/y".into())
        );
        assert_eq!(
            sources(&v, Prefer::Http).expect("ok")[0],
            SourceUrl::Http("http://x/capture".into())
        );
    }
}
