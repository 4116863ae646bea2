//! A writer of the Prometheus text exposition format (0.0.4) for a server's `/metrics`.

use std::fmt::Write as _;

/// Builds a `/metrics` body: metric families (`# HELP`, `# TYPE`) and their samples, label values
/// escaped. Serve it with [`PrometheusText::CONTENT_TYPE`].
///
/// ```
/// use stream_codec::serve::PrometheusText;
/// let mut m = PrometheusText::new();
/// m.family("relay_viewers", "gauge", "Open /stream viewers.");
/// m.sample("relay_viewers", &[], 3.0);
/// m.family("relay_camera_last_bad_frame", "gauge", "Why the last bad frame was bad.");
/// m.sample("relay_camera_last_bad_frame", &[("camera", "0"), ("reason", "bad \"SOF\"\n")], 1.0);
/// let text = m.finish();
/// let head = "# HELP relay_viewers Open /stream viewers.\n# TYPE relay_viewers gauge\n";
/// assert!(text.starts_with(&format!("{head}relay_viewers 3\n")));
/// let sample = r#"relay_camera_last_bad_frame{camera="0",reason="bad \"SOF\"\n"} 1"#;
/// assert!(text.ends_with(&format!("{sample}\n")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PrometheusText {
    text: String,
}

impl PrometheusText {
    /// The `Content-Type` of the text format.
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4";

    /// An empty body.
    pub fn new() -> Self {
        PrometheusText::default()
    }

    /// Starts a metric family: `kind` is `counter`, `gauge`, `untyped`, ...
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of `name` with `labels` (values escaped: `\`, `"`, newline).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        for (k, (label, v)) in labels.iter().enumerate() {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let sep = if k == 0 { '{' } else { ',' };
            let _ = write!(self.text, "{sep}{label}=\"{v}\"");
        }
        if !labels.is_empty() {
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// The body.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_labels() {
        let mut m = PrometheusText::new();
        m.sample("a", &[("camera", "1")], -1.0);
        m.sample("b", &[], 0.25);
        m.sample("c", &[("x", "back\\slash")], f64::NAN);
        assert_eq!(
            m.finish(),
            "a{camera=\"1\"} -1\nb 0.25\nc{x=\"back\\\\slash\"} NaN\n"
        );
    }
}
