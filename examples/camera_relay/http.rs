//! The relay's HTTP endpoints (axum): `/stream`, `/snapshot.jpg`, `/health`, `/metrics`, `/`,
//! `/camera/{n}` (a camera's latest JPEG), with optional basic auth on all but `/health`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use bytes::Bytes;

use crate::compose::ComposeStats;
use crate::hub::Hub;
use crate::sources::Camera;

/// Everything the handlers read.
pub struct App {
    /// The fan-out hub.
    pub hub: Arc<Hub>,
    /// The cameras, in config order.
    pub cameras: Vec<Arc<Camera>>,
    /// Compositor counters.
    pub compose: Arc<ComposeStats>,
    /// `USER:PASS` of `--auth`, if auth is on.
    pub auth: Option<String>,
    /// The HTTP server (connection counters and cap).
    pub server: stream_codec::serve::Server,
    /// Most `/stream` viewers at once.
    pub max_viewers: usize,
    /// `Content-Type` of `/stream` (`multipart/x-mixed-replace;boundary=...`).
    pub content_type: String,
    /// Panorama size.
    pub panorama: (u32, u32),
    /// Process start.
    pub started: Instant,
}

impl App {
    /// The `Authorization` value for `user:pass` (tests).
    #[cfg(test)]
    pub fn basic_auth(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }
}

/// Whether an `Authorization` value carries Basic credentials `user_pass` (the scheme name is
/// case-insensitive, RFC 9110 11.1).
pub fn basic_auth_matches(header: &[u8], user_pass: &str) -> bool {
    let Ok(text) = std::str::from_utf8(header) else {
        return false;
    };
    let Some((scheme, token)) = text.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .is_ok_and(|d| d == user_pass.as_bytes())
}

/// The router.
pub fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
        .route("/", get(index))
        .route("/stream", get(stream))
        .route("/snapshot.jpg", get(snapshot))
        .route("/metrics", get(metrics))
        .route("/camera/{n}", get(camera_jpeg))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth));
    Router::new()
        .merge(protected)
        .route("/health", get(health))
        .with_state(app)
}

async fn auth(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(expected) = &app.auth {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .is_some_and(|v| basic_auth_matches(v.as_bytes(), expected));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"camera relay\", charset=\"UTF-8\"",
                )],
                "authentication required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

fn no_cache(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    r
}

async fn stream(State(app): State<Arc<App>>) -> Response {
    if app.hub.viewers() >= app.max_viewers {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many viewers, retry later\n",
        )
            .into_response();
    }
    let viewer = app.hub.subscribe(Duration::from_millis(500));
    let body = futures_util::stream::unfold(viewer, |mut v| async move {
        let frame = v.next().await?;
        Some((Ok::<Bytes, Infallible>(frame.part), v))
    });
    let mut r = Response::new(Body::from_stream(body));
    if let Ok(v) = HeaderValue::from_str(&app.content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    no_cache(r)
}

fn jpeg_response(jpeg: Bytes) -> Response {
    no_cache(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
}

async fn snapshot(State(app): State<Arc<App>>) -> Response {
    if let Some(f) = app.hub.latest()
        && f.at.elapsed() < Duration::from_millis(500)
    {
        return jpeg_response(f.jpeg);
    }
    // No recent panorama (no viewers): be a viewer (which wakes the cameras) until a panorama
    // with every camera live is rendered, or for at most 3 s (then the newest one, placeholders
    // and all).
    let mut viewer = app.hub.subscribe(Duration::from_millis(500));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut newest = None;
    while let Ok(Some(f)) = tokio::time::timeout_at(deadline, viewer.next()).await {
        let all_live = app
            .cameras
            .iter()
            .all(|c| c.status().state == crate::sources::CamState::Live);
        newest = Some(f);
        if all_live {
            break;
        }
    }
    match newest {
        Some(f) => jpeg_response(f.jpeg),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no panorama within 3 s\n").into_response(),
    }
}

async fn camera_jpeg(State(app): State<Arc<App>>, Path(n): Path<String>) -> Response {
    let n = n.trim_end_matches(".jpg");
    let Some(cam) = n.parse::<usize>().ok().and_then(|n| app.cameras.get(n)) else {
        return (StatusCode::NOT_FOUND, "no such camera\n").into_response();
    };
    match cam.latest().and_then(|f| f.jpeg) {
        Some(j) => jpeg_response(j),
        None => (StatusCode::NOT_FOUND, "no frame from this camera yet\n").into_response(),
    }
}

fn age_s(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The `/health` document.
pub fn health_json(app: &App) -> serde_json::Value {
    let cams: Vec<serde_json::Value> = app
        .cameras
        .iter()
        .map(|c| {
            let st = c.status();
            let latest = c.latest();
            serde_json::json!({
                "index": c.index,
                "url": c.url.as_str(),
                "state": st.state.as_str(),
                "state_age_s": age_s(st.since),
                "reason": st.reason,
                "fps": round2(c.fps()),
                "last_frame_age_s": latest.as_ref().map(|f| age_s(f.at)),
                "size": latest.as_ref().map(|f| [f.image.width(), f.image.height()]),
                "frames": c.frames_total.load(Ordering::Relaxed),
                "bad_frames": c.bad_frames_total.load(Ordering::Relaxed),
                "connects": c.connects_total.load(Ordering::Relaxed),
                "failures": c.failures_total.load(Ordering::Relaxed),
            })
        })
        .collect();
    let live = app
        .cameras
        .iter()
        .filter(|c| c.status().state == crate::sources::CamState::Live)
        .count();
    serde_json::json!({
        "status": if live == app.cameras.len() { "ok" } else { "degraded" },
        "uptime_s": age_s(app.started),
        "viewers": app.hub.viewers(),
        "output_fps": round2(app.compose.fps()),
        "frames_out": app.hub.published(),
        "last_output_age_s": app.hub.latest().map(|f| age_s(f.at)),
        "panorama": [app.panorama.0, app.panorama.1],
        "cameras": cams,
    })
}

async fn health(State(app): State<Arc<App>>) -> Response {
    no_cache(axum::Json(health_json(&app)).into_response())
}

/// The `/metrics` text (Prometheus exposition format 0.0.4).
pub fn metrics_text(app: &App) -> String {
    let mut s = String::new();
    let hub = &app.hub;
    let cs = &app.compose;
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(s, "{name}{labels} {v}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        "relay_viewers",
        "gauge",
        "Open /stream viewers.",
        &one(hub.viewers() as f64),
    );
    metric(
        "relay_viewers_total",
        "counter",
        "Viewer connections ever opened.",
        &one(hub.viewers_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_output_frames_total",
        "counter",
        "Panoramas encoded.",
        &one(cs.frames_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_output_fps",
        "gauge",
        "Panoramas per second (2 s window).",
        &one(cs.fps()),
    );
    metric(
        "relay_render_seconds_total",
        "counter",
        "Time spent stitching.",
        &one(cs.render_ns_total.load(Ordering::Relaxed) as f64 / 1e9),
    );
    metric(
        "relay_encode_seconds_total",
        "counter",
        "Time spent encoding JPEG.",
        &one(cs.encode_ns_total.load(Ordering::Relaxed) as f64 / 1e9),
    );
    metric(
        "relay_output_jpeg_bytes",
        "gauge",
        "Size of the last panorama JPEG.",
        &one(cs.last_jpeg_bytes.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_parts_sent_total",
        "counter",
        "Parts written to viewers (sum over viewers).",
        &one(hub.sent_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_sent_bytes_total",
        "counter",
        "Bytes written to viewers.",
        &one(hub.sent_bytes_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_skipped_frames_total",
        "counter",
        "Frames skipped by slow viewers (sum over viewers).",
        &one(hub.skipped_total.load(Ordering::Relaxed) as f64),
    );
    let per = |f: &dyn Fn(&Camera) -> f64| -> Vec<(String, f64)> {
        app.cameras
            .iter()
            .map(|c| (format!("{{camera=\"{}\"}}", c.index), f(c)))
            .collect()
    };
    metric(
        "relay_camera_up",
        "gauge",
        "1 if the camera is live.",
        &per(&|c| f64::from(u8::from(c.status().state == crate::sources::CamState::Live))),
    );
    metric(
        "relay_camera_fps",
        "gauge",
        "Camera frames per second (2 s window).",
        &per(&|c| c.fps()),
    );
    metric(
        "relay_camera_last_frame_age_seconds",
        "gauge",
        "Age of the camera's newest frame (-1: none yet).",
        &per(&|c| {
            c.latest()
                .map(|f| f.at.elapsed().as_secs_f64())
                .unwrap_or(-1.0)
        }),
    );
    metric(
        "relay_camera_frames_total",
        "counter",
        "Camera frames decoded.",
        &per(&|c| c.frames_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_camera_bad_frames_total",
        "counter",
        "Camera frames that failed to decode.",
        &per(&|c| c.bad_frames_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_camera_connects_total",
        "counter",
        "Upstream connections opened.",
        &per(&|c| c.connects_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_camera_failures_total",
        "counter",
        "Upstream connections failed or dropped.",
        &per(&|c| c.failures_total.load(Ordering::Relaxed) as f64),
    );
    metric(
        "relay_camera_bytes_total",
        "counter",
        "Bytes read from the camera.",
        &per(&|c| c.bytes_total.load(Ordering::Relaxed) as f64),
    );
    s
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&app),
    )
        .into_response()
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let mut tiles = String::new();
    for c in &app.cameras {
        let _ = write!(
            tiles,
            "<div class=tile id=cam{i}><img src=\"/camera/{i}\" alt=\"camera {i}\"><div class=st>camera {i}: <b>?</b></div></div>",
            i = c.index
        );
    }
    let page = INDEX
        .replace("{TILES}", &tiles)
        .replace("{W}", &app.panorama.0.to_string())
        .replace("{H}", &app.panorama.1.to_string());
    no_cache(Html(page).into_response())
}

const INDEX: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>camera relay</title>
<style>
body{background:#111;color:#ddd;font:14px sans-serif;margin:12px}
#pano{width:100%;max-width:{W}px;aspect-ratio:{W}/{H};background:#222;display:block}
.tiles{display:flex;gap:8px;margin-top:10px;flex-wrap:wrap}
.tile{background:#222;padding:6px;width:220px}
.tile img{width:100%;aspect-ratio:4/3;background:#333;display:block}
.live b{color:#6c6}.down b,.connecting b{color:#e85}.idle b{color:#999}
</style></head><body>
<h3>camera relay</h3>
<img id=pano src="/stream" alt="panorama">
<div id=sum></div>
<div class=tiles>{TILES}</div>
<script>
async function poll(){
  try{
    const h=await (await fetch('/health',{cache:'no-store'})).json();
    document.getElementById('sum').textContent=`viewers ${h.viewers} · output ${h.output_fps} fps · ${h.status}`;
    for(const c of h.cameras){
      const t=document.getElementById('cam'+c.index); if(!t) continue;
      t.className='tile '+c.state;
      t.querySelector('b').textContent=`${c.state} ${c.fps} fps`+(c.reason?` (${c.reason})`:'');
      if(c.state==='live') t.querySelector('img').src='/camera/'+c.index+'?t='+Date.now();
    }
  }catch(e){}
  setTimeout(poll,1000);
}
poll();
</script></body></html>
"#;
