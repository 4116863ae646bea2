//! The `url` of a camera in the old `cameras_config.json`, parsed whole and validated, and the
//! choice of the one URL to read a camera from.
//!
//! `url` is either a string or an object `{"jpg": "http://…/capture", "rtsp": "rtsp://…"}`
//! (keys `mjpeg` and `stream` are accepted for the HTTP URL too, as the old relay did). Every
//! URL must be `http://` or `rtsp://` (ESP32-CAMs serve plain HTTP); errors name the camera and
//! the field, e.g. ``camera 1: `url.jpg`: expected a URL string, found 5``.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A camera's URLs: its HTTP URL (a still JPEG per request or an MJPEG stream) and its RTSP URL.
///
/// Parsed from a plain string (`"http://…"` goes to `jpg`, `"rtsp://…"` to `rtsp`) or from an
/// object; serialized as the object.
///
/// ```
/// use cam_stitch::{CameraUrl, SourcePreference, SourceUrl};
/// let url: CameraUrl = serde_json::from_str(r#"{"jpg":"http://cam1/capture","rtsp":"rtsp://cam1/s"}"#)?;
/// assert_eq!(url.source(SourcePreference::Http), Some(SourceUrl::Http("http://cam1/capture".into())));
/// assert_eq!(url.source(SourcePreference::Rtsp), Some(SourceUrl::Rtsp("rtsp://cam1/s".into())));
/// let plain: CameraUrl = serde_json::from_str(r#""http://cam2:81/stream""#)?;
/// assert_eq!(plain.jpg.as_deref(), Some("http://cam2:81/stream"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct CameraUrl {
    /// HTTP URL (`http://…/capture` polled one JPEG at a time, or an MJPEG stream); JSON keys
    /// `jpg`, `mjpeg` or `stream`, or a plain `http://` string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jpg: Option<String>,
    /// RTSP stream URL; JSON key `rtsp`, or a plain `rtsp://` string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtsp: Option<String>,
}

impl fmt::Debug for CameraUrl {
    /// Credentials in the URLs are shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CameraUrl")
            .field("jpg", &self.jpg.as_deref().map(redact_url))
            .field("rtsp", &self.rtsp.as_deref().map(redact_url))
            .finish()
    }
}

/// Which of a camera's URLs to read when it lists both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SourcePreference {
    /// The HTTP URL (`jpg`, `mjpeg` or `stream`), else the RTSP one.
    #[default]
    Http,
    /// The RTSP URL, else the HTTP one.
    Rtsp,
}

/// The one URL a camera is read from, told apart by its scheme.
///
/// `Display` and `Debug` redact the password of a URL's user-info (`http://admin:***@host/`);
/// [`SourceUrl::as_str`] gives the URL itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SourceUrl {
    /// `http://`: a single JPEG per request (polled) or an MJPEG stream, by `Content-Type`.
    Http(String),
    /// `rtsp://`: an RTSP stream.
    Rtsp(String),
}

impl SourceUrl {
    /// The URL, credentials included: never log or show it (use `Display`).
    pub fn as_str(&self) -> &str {
        match self {
            SourceUrl::Http(u) | SourceUrl::Rtsp(u) => u,
        }
    }

    /// The URL with the password of its user-info replaced by `***`.
    ///
    /// ```
    /// use cam_stitch::SourceUrl;
    /// let url = SourceUrl::Http("http://admin:s3cret@host:81/stream".into());
    /// assert_eq!(url.redacted(), "http://admin:***@host:81/stream");
    /// assert_eq!(url.to_string(), "http://admin:***@host:81/stream");
    /// ```
    pub fn redacted(&self) -> String {
        redact_url(self.as_str())
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceUrl::Http(_) => write!(f, "Http({:?})", self.redacted()),
            SourceUrl::Rtsp(_) => write!(f, "Rtsp({:?})", self.redacted()),
        }
    }
}

/// `url` with the password of its user-info (`scheme://user:password@host…`) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = match rest[..at].find(':') {
        Some(colon) => &rest[..colon],
        None => return url.to_owned(),
    };
    format!("{}{user}:***{}", &url[..start], &rest[at..])
}

impl CameraUrl {
    /// The URL to read the camera from: by `preference`, the other one if only that is set;
    /// `None` if the camera has neither.
    pub fn source(&self, preference: SourcePreference) -> Option<SourceUrl> {
        let http = self.jpg.as_deref().map(classify);
        let rtsp = self.rtsp.as_deref().map(classify);
        match preference {
            SourcePreference::Http => http.or(rtsp),
            SourcePreference::Rtsp => rtsp.or(http),
        }
    }

    /// Parses the JSON value of a camera's `url`. On error: the field (`url`, `url.jpg`, …) and
    /// what is wrong with it.
    pub(crate) fn from_json(v: &Value) -> Result<CameraUrl, (&'static str, String)> {
        match v {
            Value::String(_) => {
                let url = check_url("url", v)?;
                Ok(match url {
                    SourceUrl::Http(u) => CameraUrl {
                        jpg: Some(u),
                        rtsp: None,
                    },
                    SourceUrl::Rtsp(u) => CameraUrl {
                        jpg: None,
                        rtsp: Some(u),
                    },
                })
            }
            Value::Object(map) => {
                let mut jpg = None;
                for (key, field) in [
                    ("jpg", "url.jpg"),
                    ("mjpeg", "url.mjpeg"),
                    ("stream", "url.stream"),
                ] {
                    if let Some(v) = map.get(key) {
                        jpg = Some(check_url(field, v)?.as_str().to_owned());
                        break;
                    }
                }
                let rtsp = match map.get("rtsp") {
                    Some(v) => Some(check_url("url.rtsp", v)?.as_str().to_owned()),
                    None => None,
                };
                Ok(CameraUrl { jpg, rtsp })
            }
            Value::Null => Ok(CameraUrl::default()),
            other => Err((
                "url",
                format!(
                    "expected a string or an object, found {}",
                    shown_value(other)
                ),
            )),
        }
    }
}

impl TryFrom<Value> for CameraUrl {
    type Error = String;
    fn try_from(v: Value) -> Result<CameraUrl, String> {
        CameraUrl::from_json(&v).map_err(|(field, reason)| format!("`{field}`: {reason}"))
    }
}

fn classify(url: &str) -> SourceUrl {
    if url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("rtsp://"))
    {
        SourceUrl::Rtsp(url.to_owned())
    } else {
        SourceUrl::Http(url.to_owned())
    }
}

/// A JSON value for an error message: strings redacted, long values cut.
fn shown_value(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{:?}", redact_url(s)),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn check_url(field: &'static str, v: &Value) -> Result<SourceUrl, (&'static str, String)> {
    let Some(s) = v.as_str() else {
        return Err((
            field,
            format!("expected a URL string, found {}", shown_value(v)),
        ));
    };
    let shown = format!("{:?}", redact_url(s));
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if lower.starts_with("http://") {
        if s.len() <= "http://".len() {
            return Err((field, format!("URL {shown} has no host")));
        }
        Ok(SourceUrl::Http(s.to_owned()))
    } else if lower.starts_with("rtsp://") {
        if s.len() <= "rtsp://".len() {
            return Err((field, format!("URL {shown} has no host")));
        }
        Ok(SourceUrl::Rtsp(s.to_owned()))
    } else if lower.starts_with("https://") {
        Err((
            field,
            format!("{shown}: https is not supported (ESP32-CAMs serve plain http)"),
        ))
    } else {
        Err((field, format!("{shown} is not an http:// or rtsp:// URL")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(redact_url("http://a:b@h/x"), "http://a:***@h/x");
        assert_eq!(redact_url("http://a@h/x"), "http://a@h/x");
        assert_eq!(redact_url("http://h/x?u=a:b@c"), "http://h/x?u=a:b@c");
        assert_eq!(redact_url("rtsp://u:p:q@h:554"), "rtsp://u:***@h:554");
        assert_eq!(redact_url("no scheme"), "no scheme");
    }

    #[test]
    fn errors_name_the_field() {
        let bad =
            |json: &str| CameraUrl::from_json(&serde_json::from_str(json).unwrap_or_default());
        assert_eq!(
            bad(r#"{"jpg": 5}"#),
            Err(("url.jpg", "expected a URL string, found 5".into()))
        );
        assert_eq!(
            bad(r#"{"rtsp": "ftp://x"}"#).map_err(|e| e.0),
            Err("url.rtsp")
        );
        assert_eq!(bad(r#""https://x""#).map_err(|e| e.0), Err("url"));
        assert_eq!(bad("[1]").map_err(|e| e.0), Err("url"));
        let e = bad(r#"{"jpg": "ftp://admin:pw@x/"}"#).expect_err("ftp");
        assert!(!e.1.contains("pw"), "{}", e.1);
    }
}
