//! Endpoints: `/stream`, `/snapshot.jpg`, `/health` (no auth), `/metrics`, `/`, `/camera/{n}`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State as S};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use cam_stitch::CameraFrame;
use stream_codec::fanout::{FanoutError, SubscribeOptions, Subscriber};

use crate::relay::{Part, State};

/// What the handlers read.
pub struct App {
    pub st: Arc<State>,
    /// `USER:PASS` of `--auth`.
    pub auth: Option<String>,
    pub server: stream_codec::serve::Server,
    pub content_type: String,
}

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

/// Whether an `Authorization` value carries Basic credentials `user_pass` (scheme name in any
/// case, RFC 9110 11.1).
fn basic_auth_matches(value: &[u8], user_pass: &str) -> bool {
    let text = std::str::from_utf8(value).unwrap_or("");
    text.trim().split_once(' ').is_some_and(|(scheme, token)| {
        scheme.eq_ignore_ascii_case("basic")
            && base64::engine::general_purpose::STANDARD
                .decode(token.trim())
                .is_ok_and(|d| d == user_pass.as_bytes())
    })
}

async fn auth(S(app): S<Arc<App>>, req: Request, next: Next) -> Response {
    let header = req.headers().get(header::AUTHORIZATION);
    if let Some(expected) = &app.auth
        && !header.is_some_and(|v| basic_auth_matches(v.as_bytes(), expected))
    {
        let challenge = "Basic realm=\"camera relay\", charset=\"UTF-8\"";
        let body = "authentication required\n";
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            body,
        )
            .into_response();
    }
    next.run(req).await
}

fn no_cache(mut r: Response) -> Response {
    let v = HeaderValue::from_static("no-cache, no-store, must-revalidate");
    r.headers_mut().insert(header::CACHE_CONTROL, v);
    r
}

/// A viewer of the hub, or `503` + `Retry-After` at `--max-viewers`.
fn subscribe(app: &App) -> Result<Subscriber<Part>, Response> {
    let fresh = Some(Duration::from_millis(500));
    app.st
        .hub
        .subscribe(SubscribeOptions {
            fresh,
            ..Default::default()
        })
        .map_err(|e: FanoutError| {
            let body = format!("{e}, retry later\n");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                body,
            )
                .into_response()
        })
}

async fn stream(S(app): S<Arc<App>>) -> Response {
    let viewer = match subscribe(&app) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let parts = futures_util::StreamExt::map(viewer.into_stream(), |p| {
        Ok::<_, std::convert::Infallible>(p.item.part)
    });
    let mut r = Response::new(Body::from_stream(parts));
    if let Ok(v) = HeaderValue::from_str(&app.content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    no_cache(r)
}

fn jpeg_response(jpeg: bytes::Bytes) -> Response {
    no_cache(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
}

async fn snapshot(S(app): S<Arc<App>>) -> Response {
    if let Some(p) = app
        .st
        .hub
        .latest()
        .filter(|p| p.at.elapsed() < Duration::from_millis(500))
    {
        return jpeg_response(p.item.jpeg);
    }
    // No recent panorama: be a viewer (which wakes the cameras) until every camera is live in a
    // panorama, or for at most 3 s (then the newest one, placeholders and all).
    let mut viewer = match subscribe(&app) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut newest = None;
    while let Ok(Some(p)) = tokio::time::timeout_at(deadline, viewer.next()).await {
        newest = Some(p.item.jpeg);
        if p.item.all_live {
            break;
        }
    }
    match newest {
        Some(j) => jpeg_response(j),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no panorama within 3 s\n").into_response(),
    }
}

async fn camera_jpeg(S(app): S<Arc<App>>, Path(n): Path<String>) -> Response {
    let cam = n
        .trim_end_matches(".jpg")
        .parse::<usize>()
        .ok()
        .filter(|n| *n < app.st.cams.len());
    let Some(n) = cam else {
        return (StatusCode::NOT_FOUND, "no such camera\n").into_response();
    };
    let latest = app.st.cam(n).latest.clone();
    match latest {
        Some((_, _, CameraFrame::Jpeg(j))) => jpeg_response(j),
        _ => (StatusCode::NOT_FOUND, "no JPEG from this camera yet\n").into_response(),
    }
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

fn rate(fps: f64, last: Option<Instant>) -> f64 {
    let fresh = last.is_some_and(|t| t.elapsed() < Duration::from_secs(2));
    if fresh {
        (fps * 100.0).round() / 100.0
    } else {
        0.0
    }
}

/// The `/health` document (URLs and reasons redacted); `/metrics` is made from it.
fn health_json(app: &App) -> serde_json::Value {
    let (st, hub, conns) = (&app.st, app.st.hub.stats(), app.server.stats());
    let cams: Vec<_> = st
        .cams
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = c.lock().unwrap_or_else(|p| p.into_inner());
            let at = c.latest.as_ref().map(|l| l.1);
            serde_json::json!({
                "index": i, "url": st.urls[i].to_string(), "state": c.state, "reason": c.reason,
                "state_age_s": c.since.map(secs), "up": u8::from(c.state == "live"),
                "fps": rate(c.fps, at), "last_frame_age_s": at.map(secs), "size": c.size,
                "frames": c.frames, "decoded_frames": c.stitch.frames_decoded,
                "bad_frames": c.stitch.bad_frames, "bad_frame_reason": c.stitch.last_bad_reason,
                "connects": c.connects, "failures": c.failures, "bytes": c.bytes,
            })
        })
        .collect();
    let live = cams.iter().filter(|c| c["up"] == 1).count();
    let out = st.out.lock().unwrap_or_else(|p| p.into_inner()).clone();
    serde_json::json!({
        "status": if live == cams.len() { "ok" } else { "degraded" }, "uptime_s": secs(st.started),
        "viewers": hub.subscribers, "output_fps": rate(out.fps, out.last), "frames_out": hub.published,
        "last_output_age_s": out.last.map(secs), "panorama": st.panorama, "cameras": cams,
        "output": {
            "viewers_total": hub.subscribers_total, "viewers_refused": hub.refused_total,
            "parts_sent": hub.sent, "sent_bytes": hub.sent_bytes, "skipped": hub.skipped,
            "render_s": out.render.as_secs_f64(), "encode_s": out.encode.as_secs_f64(),
            "jpeg_bytes": out.jpeg_bytes,
        },
        "connections": {
            "open": conns.open, "cap": conns.cap, "evicted": conns.evicted_total,
            "refused": conns.refused_total,
        },
    })
}

async fn health(S(app): S<Arc<App>>) -> Response {
    no_cache(axum::Json(health_json(&app)).into_response())
}

/// `/metrics`: name, type, where in `/health` (`cameras/*`: one sample per camera), help.
const METRICS: &str = "\
relay_viewers gauge /viewers Open /stream viewers.
relay_viewers_total counter /output/viewers_total Viewers ever opened.
relay_viewers_refused_total counter /output/viewers_refused Viewers refused at --max-viewers.
relay_output_frames_total counter /frames_out Panoramas encoded.
relay_output_fps gauge /output_fps Panoramas per second.
relay_render_seconds_total counter /output/render_s Time spent decoding and stitching.
relay_encode_seconds_total counter /output/encode_s Time spent encoding JPEG.
relay_output_jpeg_bytes gauge /output/jpeg_bytes Size of the last panorama JPEG.
relay_parts_sent_total counter /output/parts_sent Parts written to viewers (sum over viewers).
relay_sent_bytes_total counter /output/sent_bytes Bytes written to viewers.
relay_skipped_frames_total counter /output/skipped Frames skipped by slow viewers.
relay_connections gauge /connections/open Open HTTP connections.
relay_connections_cap gauge /connections/cap Most open HTTP connections.
relay_connections_evicted_total counter /connections/evicted Idle connections closed at the cap.
relay_connections_refused_total counter /connections/refused Connections refused (503) at the cap.
relay_camera_up gauge cameras/up 1 if the camera is live.
relay_camera_fps gauge cameras/fps Camera frames per second.
relay_camera_last_frame_age_seconds gauge cameras/last_frame_age_s Age of the newest frame (-1: none).
relay_camera_frames_total counter cameras/frames Camera frames received.
relay_camera_bad_frames_total counter cameras/bad_frames Camera frames that failed to decode.
relay_camera_connects_total counter cameras/connects Upstream connections opened.
relay_camera_failures_total counter cameras/failures Upstream connections failed or dropped.
relay_camera_bytes_total counter cameras/bytes Bytes read from the camera.";

/// The `/metrics` text (Prometheus exposition format 0.0.4).
fn metrics_text(app: &App) -> String {
    let health = health_json(app);
    let cams = health["cameras"].as_array().cloned().unwrap_or_default();
    let mut s = String::new();
    for line in METRICS.lines() {
        let mut words = line.splitn(4, ' ');
        let mut word = || words.next().unwrap_or("");
        let (name, kind, at, help) = (word(), word(), word(), word());
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        match at.strip_prefix("cameras/") {
            None => {
                let v = health.pointer(at).and_then(|v| v.as_f64()).unwrap_or(0.0);
                let _ = writeln!(s, "{name} {v}");
            }
            Some(key) => cams.iter().enumerate().for_each(|(i, c)| {
                let _ = writeln!(
                    s,
                    "{name}{{camera=\"{i}\"}} {}",
                    c[key].as_f64().unwrap_or(-1.0)
                );
            }),
        }
    }
    s.push_str("# HELP relay_camera_last_bad_frame Why the camera's last bad frame was bad.\n");
    s.push_str("# TYPE relay_camera_last_bad_frame gauge\n");
    for (i, c) in cams.iter().enumerate() {
        if let Some(why) = c["bad_frame_reason"].as_str() {
            let why = why
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = writeln!(
                s,
                "relay_camera_last_bad_frame{{camera=\"{i}\",reason=\"{why}\"}} 1"
            );
        }
    }
    s
}

async fn metrics(S(app): S<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&app),
    )
        .into_response()
}

async fn index(S(app): S<Arc<App>>) -> Response {
    let mut tiles = String::new();
    for i in 0..app.st.cams.len() {
        let _ = write!(
            tiles,
            "<div class=tile id=cam{i}><img src=\"/camera/{i}\" alt=\"camera {i}\"><div class=st>camera {i}: <b>?</b></div></div>"
        );
    }
    let (w, h) = app.st.panorama;
    let page = include_str!("index.html")
        .replace("{TILES}", &tiles)
        .replace("{W}", &w.to_string())
        .replace("{H}", &h.to_string());
    no_cache(Html(page).into_response())
}
