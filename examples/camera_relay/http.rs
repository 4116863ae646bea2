//! Endpoints: `/stream`, `/snapshot.jpg`, `/health` (no auth), `/metrics`, `/` (status page,
//! `index.html`), `/camera/{n}`; `--auth` is stream-codec's Basic check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State as S};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Router, body::Body};
use cam_stitch::CameraFrame;
use stream_codec::fanout::{SubscribeOptions, Subscriber};
use stream_codec::serve::PrometheusText;

use stream_codec::client::ClientState;

use crate::relay::{Part, State, lock};

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
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        .route("/stream", get(stream))
        .route("/snapshot.jpg", get(snapshot))
        .route("/metrics", get(metrics))
        .route("/camera/{n}", get(camera_jpeg))
        .route("/whep", post(whep_offer))
        .route("/whep/{id}", delete(whep_delete))
        .route("/whep.js", get(whep_js))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth));
    let health = get(|S(app): S<Arc<App>>| async move { axum::Json(health_json(&app)) });
    let no_cache = |mut r: Response| async {
        let v = HeaderValue::from_static("no-cache, no-store, must-revalidate");
        r.headers_mut().insert(header::CACHE_CONTROL, v);
        r
    };
    let routes = Router::new().merge(protected).route("/health", health);
    routes
        .layer(middleware::map_response(no_cache))
        .with_state(app)
}

fn reply(code: StatusCode, header: Option<(header::HeaderName, &str)>, body: String) -> Response {
    let mut r = (code, body).into_response();
    if let Some((name, value)) = header.and_then(|(n, v)| Some((n, HeaderValue::from_str(v).ok()?)))
    {
        r.headers_mut().insert(name, value);
    }
    r
}

async fn auth(S(app): S<Arc<App>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match &app.auth {
        Some(up) if !stream_codec::serve::basic_auth_matches(given.unwrap_or_default(), up) => {
            let challenge = "Basic realm=\"camera relay\", charset=\"UTF-8\"";
            let www = Some((header::WWW_AUTHENTICATE, challenge));
            reply(
                StatusCode::UNAUTHORIZED,
                www,
                "authentication required\n".into(),
            )
        }
        _ => next.run(req).await,
    }
}

/// A viewer of the hub, or `503` + `Retry-After` at `--max-viewers`.
fn subscribe(app: &App) -> Result<Subscriber<Part>, Box<Response>> {
    let opts = SubscribeOptions {
        fresh: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let retry = Some((header::RETRY_AFTER, "1"));
    let busy = |e| {
        Box::new(reply(
            StatusCode::SERVICE_UNAVAILABLE,
            retry,
            format!("{e}\n"),
        ))
    };
    app.st.hub.subscribe(opts).map_err(busy)
}

async fn stream(S(app): S<Arc<App>>) -> Result<Response, Response> {
    let parts = subscribe(&app).map_err(|r| *r)?.into_stream();
    let body = Body::from_stream(futures_util::StreamExt::map(parts, |p| {
        Ok::<_, std::io::Error>(p.item.part)
    }));
    Ok(([(header::CONTENT_TYPE, app.content_type.clone())], body).into_response())
}

/// `POST /whep` (WHEP, RFC 9725 rules): an SDP offer in, `201 Created` + `Location` + the SDP
/// answer out; a clear 4xx with the reason otherwise.
async fn whep_offer(
    S(app): S<Arc<App>>,
    headers: header::HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match app.st.whep.offer(content_type, &body).await {
        Ok(answer) => {
            let mut r = (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, stream_codec::webrtc::SDP_CONTENT_TYPE)],
                answer.sdp,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&answer.location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(e) => whep_error(&e),
    }
}

/// `DELETE /whep/{id}`: ends the session.
async fn whep_delete(S(app): S<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.st.whep.delete(&id).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => whep_error(&e),
    }
}

fn whep_error(e: &stream_codec::webrtc::WhepError) -> Response {
    let code = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    reply(code, None, format!("{e}\n"))
}

async fn whep_js() -> Response {
    let js = stream_codec::webrtc::WHEP_PLAYER_JS;
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        js,
    )
        .into_response()
}

fn jpeg(jpeg: bytes::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response()
}

async fn snapshot(S(app): S<Arc<App>>) -> Result<Response, Response> {
    if let Some(p) = app
        .st
        .hub
        .latest()
        .filter(|p| p.at.elapsed() < Duration::from_millis(500))
    {
        return Ok(jpeg(p.item.jpeg));
    }
    // No recent panorama: be a viewer (which wakes the cameras) until a panorama shows every
    // camera live, or for at most 3 s (then the newest one, placeholders and all).
    let (mut viewer, mut newest) = (subscribe(&app).map_err(|r| *r)?, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(p)) = tokio::time::timeout_at(deadline, viewer.next()).await {
        let all_live = p.item.all_live;
        newest = Some(p.item.jpeg);
        if all_live {
            break;
        }
    }
    newest.map(jpeg).ok_or_else(|| {
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "no panorama within 3 s\n".into(),
        )
    })
}

async fn camera_jpeg(S(app): S<Arc<App>>, Path(n): Path<String>) -> Response {
    let n = n
        .trim_end_matches(".jpg")
        .parse::<usize>()
        .ok()
        .filter(|n| *n < app.st.cams.len());
    match n
        .and_then(|n| app.st.cams[n].feed.latest())
        .map(|l| l.frame)
    {
        Some(CameraFrame::Jpeg(j)) => jpeg(j),
        _ => reply(
            StatusCode::NOT_FOUND,
            None,
            "no such camera or no JPEG from it yet\n".into(),
        ),
    }
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// `fps` rounded, or 0 when the last event is over 2 s old.
fn rate(fps: f64, last: Option<Instant>) -> f64 {
    let fresh = last.is_some_and(|t| t.elapsed() < Duration::from_secs(2));
    f64::from(u8::from(fresh)) * (fps * 100.0).round() / 100.0
}

/// The `/health` document (URLs and reasons redacted); `/metrics` is made from it.
fn health_json(app: &App) -> serde_json::Value {
    let (st, hub, conns) = (&app.st, app.st.hub.stats(), app.server.stats());
    let cams: Vec<_> = (0..st.cams.len())
        .map(|i| {
            let (cam, (stitch, size)) = (&st.cams[i], lock(&st.cams[i].stitch).clone());
            let (s, latest) = (cam.feed.status().borrow().clone(), cam.feed.latest());
            let (at, fps) = (
                latest.as_ref().map(|l| l.at),
                latest.as_ref().map_or(0.0, |l| l.fps),
            );
            serde_json::json!({
                "index": i, "url": st.urls[i].to_string(), "state": s.state.as_str(),
                "reason": s.reason, "state_age_s": secs(s.since),
                "up": u8::from(s.state == ClientState::Live), "fps": rate(fps, at),
                "last_frame_age_s": at.map(secs), "size": size,
                "frames": latest.map_or(0, |l| l.seq), "decoded_frames": stitch.frames_decoded,
                "bad_frames": stitch.bad_frames, "bad_frame_reason": stitch.last_bad_reason,
                "connects": s.connects, "failures": s.reconnects, "bytes": s.bytes,
            })
        })
        .collect();
    let live = cams.iter().filter(|c| c["up"] == 1).count();
    let out = lock(&st.out).clone();
    let w = st.whep.stats();
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    let webrtc = serde_json::json!({
        "udp": st.whep.local_addr().to_string(), "candidates": st.whep.candidate_ips(),
        "sessions": w.sessions, "connected": w.connected, "sessions_total": w.sessions_total,
        "pictures": w.pictures_in, "pictures_sent": w.pictures_out, "packets_sent": w.packets_out,
        "sent_bytes": w.bytes_out, "send_drops": w.send_drops, "keyframe_requests": w.keyframe_requests,
        "latency_p50_ms": ms(w.latency_p50), "latency_p95_ms": ms(w.latency_p95),
        "encode_s": out.h264_encode.as_secs_f64(), "h264_bytes": out.h264_bytes,
        "h264_frames": out.h264_frames,
    });
    serde_json::json!({
        "status": if live == cams.len() { "ok" } else { "degraded" }, "uptime_s": secs(st.started),
        "viewers": hub.subscribers + w.sessions, "mjpeg_viewers": hub.subscribers,
        "webrtc_viewers": w.sessions, "webrtc": webrtc, "output_fps": rate(out.fps, out.last), "frames_out": hub.published,
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

/// `/metrics`: name, type, where in `/health` (`cameras/*`: one sample per camera), help.
const METRICS: &str = "\
relay_viewers gauge /viewers Open viewers (/stream + WebRTC sessions).
relay_mjpeg_viewers gauge /mjpeg_viewers Open /stream viewers.
relay_webrtc_viewers gauge /webrtc_viewers Open WebRTC (WHEP) sessions.
relay_webrtc_sessions_total counter /webrtc/sessions_total WebRTC sessions ever opened.
relay_webrtc_frames_total counter /webrtc/h264_frames Panoramas encoded as H.264.
relay_webrtc_encode_seconds_total counter /webrtc/encode_s Time spent encoding H.264.
relay_webrtc_sent_bytes_total counter /webrtc/sent_bytes UDP bytes sent to WebRTC sessions.
relay_webrtc_latency_p50_ms gauge /webrtc/latency_p50_ms Newest camera frame to first RTP packet, median (ms).
relay_webrtc_latency_p95_ms gauge /webrtc/latency_p95_ms Newest camera frame to first RTP packet, 95th percentile (ms).
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
relay_camera_bytes_total counter cameras/bytes Bytes read from the camera.
relay_camera_last_bad_frame gauge cameras/bad_frame_reason Why the last bad frame was bad.";

/// The `/metrics` text (Prometheus exposition format 0.0.4).
async fn metrics(S(app): S<Arc<App>>) -> Response {
    let (health, mut m) = (health_json(&app), PrometheusText::new());
    let cams = health["cameras"].as_array().cloned().unwrap_or_default();
    for line in METRICS.lines() {
        let mut words = line.splitn(4, ' ').chain(std::iter::repeat(""));
        let mut word = || words.next().unwrap_or("");
        let (name, kind, at, help) = (word(), word(), word(), word());
        m.family(name, kind, help);
        let Some(key) = at.strip_prefix("cameras/") else {
            m.sample(
                name,
                &[],
                health.pointer(at).and_then(|v| v.as_f64()).unwrap_or(0.0),
            );
            continue;
        };
        for (i, c) in cams.iter().enumerate() {
            let i = i.to_string();
            match &c[key] {
                serde_json::Value::Null if key.ends_with("reason") => {}
                serde_json::Value::String(why) => {
                    m.sample(name, &[("camera", &i), ("reason", why)], 1.0)
                }
                v => m.sample(name, &[("camera", &i)], v.as_f64().unwrap_or(-1.0)),
            }
        }
    }
    let content_type = [(header::CONTENT_TYPE, PrometheusText::CONTENT_TYPE)];
    (content_type, m.finish()).into_response()
}
