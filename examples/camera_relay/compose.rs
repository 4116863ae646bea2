//! The compositor: stitches the cameras' latest frames into one panorama, encodes it once and
//! publishes the multipart part to the hub.
//!
//! It renders when every live camera has a new frame since the last panorama, or `max_wait`
//! after the first new frame (so one slow camera never stalls the others), at most `max_fps`
//! times a second, immediately when a camera's tile changes between live and placeholder, and
//! every `heartbeat` while viewers are connected (so placeholders show even with every camera
//! down). Nothing is rendered without viewers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, watch};

use crate::frames::Rgb;
use crate::hub::Hub;
use crate::sources::{CamState, Camera, FpsMeter};

/// Compositor settings.
#[derive(Clone, Debug)]
pub struct ComposeOptions {
    /// JPEG quality of the panorama.
    pub quality: u8,
    /// Upper bound on output frames per second.
    pub max_fps: f64,
    /// Render at most this long after the first new camera frame.
    pub max_wait: Duration,
    /// A camera frame older than this is shown as a placeholder.
    pub stale: Duration,
    /// Re-render at least this often while viewers are connected.
    pub heartbeat: Duration,
}

impl Default for ComposeOptions {
    fn default() -> Self {
        Self {
            quality: 80,
            max_fps: 30.0,
            max_wait: Duration::from_millis(50),
            stale: Duration::from_millis(1000),
            heartbeat: Duration::from_millis(500),
        }
    }
}

/// Counters of the compositor.
#[derive(Default)]
pub struct ComposeStats {
    /// Panoramas published.
    pub frames_total: AtomicU64,
    /// Time spent stitching (ns).
    pub render_ns_total: AtomicU64,
    /// Time spent encoding (ns).
    pub encode_ns_total: AtomicU64,
    /// Size of the last JPEG.
    pub last_jpeg_bytes: AtomicU64,
    /// Render or encode failures.
    pub errors_total: AtomicU64,
    fps: Mutex<FpsMeter>,
}

impl ComposeStats {
    /// Output frames per second (last two seconds).
    pub fn fps(&self) -> f64 {
        self.fps.lock().expect("fps lock").fps()
    }
}

/// What a camera's tile shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tile {
    Live(u64),
    Placeholder(String),
}

/// The per-panorama work: plan, output buffer, encoder buffer. Moved to the blocking pool for
/// each render and back.
pub struct Stitcher {
    config: cam_stitch::Config,
    plan: Option<cam_stitch::Plan>,
    out: Rgb,
    jpeg: Vec<u8>,
    writer: stream_codec::Writer,
    quality: u8,
    started: Instant,
}

/// Default camera size assumed before a camera's first frame (ESP32-CAM VGA).
pub const DEFAULT_CAMERA_SIZE: (u32, u32) = (640, 480);

/// The encoded panorama and the time it took.
struct Rendered {
    part: Bytes,
    jpeg: Bytes,
    render_ns: u64,
    encode_ns: u64,
}

impl Stitcher {
    /// A stitcher for `config`, writing parts with `boundary`.
    pub fn new(config: cam_stitch::Config, quality: u8, boundary: &str) -> anyhow::Result<Self> {
        let (w, h) = config.output_size();
        Ok(Self {
            config,
            plan: None,
            out: Rgb::new(w, h),
            jpeg: Vec::new(),
            writer: stream_codec::Writer::new(boundary)?,
            quality,
            started: Instant::now(),
        })
    }

    /// The `Content-Type` of the stream.
    pub fn content_type(&self) -> String {
        self.writer.content_type()
    }

    /// Stitches `inputs` (None = placeholder with the label), encodes once, returns the part
    /// (shared by every viewer) and the JPEG slice of it.
    fn render(
        &mut self,
        inputs: &[Option<Arc<Rgb>>],
        labels: &[Option<String>],
    ) -> Result<Rendered, String> {
        let t0 = Instant::now();
        let old = self.plan.as_ref().map(|p| p.input_sizes());
        let sizes: Vec<(u32, u32)> = inputs
            .iter()
            .enumerate()
            .map(|(i, img)| match img {
                Some(img) => img.size(),
                None => old
                    .as_ref()
                    .and_then(|s| s.get(i).copied())
                    .unwrap_or(DEFAULT_CAMERA_SIZE),
            })
            .collect();
        if old.as_ref() != Some(&sizes) {
            let opts = cam_stitch::PlanOptions {
                placeholder: crate::placeholder::TILE_RGB,
                ..Default::default()
            };
            let plan = cam_stitch::Plan::with_options(&self.config, &sizes, &opts)
                .map_err(|e| e.to_string())?;
            tracing::info!(
                ?sizes,
                plan_bytes = plan.memory_bytes(),
                "stitch plan built"
            );
            self.out = plan.new_output();
            self.plan = Some(plan);
        }
        let Some(plan) = self.plan.as_ref() else {
            return Err("no plan".into());
        };
        let views: Vec<Option<cam_stitch::RgbView<'_>>> = inputs
            .iter()
            .map(|i| i.as_deref().map(|i| i.view()))
            .collect();
        plan.render(&views, &mut self.out)
            .map_err(|e| e.to_string())?;
        for (i, label) in labels.iter().enumerate() {
            if let (Some(label), Some(cols)) = (label, plan.camera_columns(i)) {
                crate::placeholder::draw_label(
                    &mut self.out,
                    cols.start,
                    cols.end - cols.start,
                    label,
                );
            }
        }
        let t1 = Instant::now();
        crate::frames::encode_jpeg(&self.out, self.quality, &mut self.jpeg)?;
        let part = self
            .writer
            .encode_part(&self.jpeg, Some(self.started.elapsed()));
        // The JPEG is the part's body: it ends 2 bytes (CRLF) before the end of the part.
        let end = part.len() - 2;
        let jpeg = part.slice(end - self.jpeg.len()..end);
        let t2 = Instant::now();
        Ok(Rendered {
            part,
            jpeg,
            render_ns: (t1 - t0).as_nanos() as u64,
            encode_ns: (t2 - t1).as_nanos() as u64,
        })
    }
}

fn tile_of(cam: &Camera, stale: Duration) -> Tile {
    let status = cam.status();
    let n = cam.index;
    match status.state {
        CamState::Live => match cam.latest() {
            Some(f) if f.at.elapsed() < stale => Tile::Live(f.seq),
            _ => Tile::Placeholder(format!("camera {n} no picture")),
        },
        CamState::Connecting => Tile::Placeholder(format!("camera {n} connecting")),
        CamState::Down => Tile::Placeholder(format!("camera {n} offline")),
        CamState::Idle => Tile::Placeholder(format!("camera {n} idle")),
    }
}

/// Runs the compositor forever.
pub async fn run(
    mut stitcher: Stitcher,
    opts: ComposeOptions,
    cams: Vec<Arc<Camera>>,
    hub: Arc<Hub>,
    wake: Arc<Notify>,
    stats: Arc<ComposeStats>,
) {
    let mut demand: watch::Receiver<usize> = hub.demand();
    let min_interval = Duration::from_secs_f64(1.0 / opts.max_fps.max(0.1));
    let mut last_render: Option<Instant> = None;
    let mut shown: Vec<Option<Tile>> = vec![None; cams.len()];
    let mut pending_since: Option<Instant> = None;
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if *demand.borrow_and_update() == 0 {
            last_render = None;
            shown.iter_mut().for_each(|s| *s = None);
            pending_since = None;
            tokio::select! {
                _ = demand.changed() => {}
                _ = &mut notified => {}
            }
            continue;
        }
        let now = Instant::now();
        let tiles: Vec<Tile> = cams.iter().map(|c| tile_of(c, opts.stale)).collect();
        let mut changed_kind = false;
        let mut new_frames = 0;
        let mut live = 0;
        for (t, s) in tiles.iter().zip(&shown) {
            match (t, s) {
                (Tile::Live(seq), Some(Tile::Live(old))) => {
                    live += 1;
                    if seq != old {
                        new_frames += 1;
                    }
                }
                (Tile::Live(_), _) => {
                    live += 1;
                    changed_kind = true;
                }
                (t, Some(s)) if t == s => {}
                _ => changed_kind = true,
            }
        }
        if new_frames > 0 && pending_since.is_none() {
            pending_since = Some(now);
        }
        let due_heartbeat = last_render.is_none_or(|t| now - t >= opts.heartbeat);
        let due_all_new = new_frames > 0 && new_frames == live;
        let due_wait = pending_since.is_some_and(|t| now - t >= opts.max_wait);
        let want = changed_kind || due_all_new || due_wait || due_heartbeat;
        let allowed_at = last_render.map(|t| t + min_interval).unwrap_or(now);
        if want && now >= allowed_at {
            let inputs: Vec<Option<Arc<Rgb>>> = cams
                .iter()
                .zip(&tiles)
                .map(|(c, t)| match t {
                    Tile::Live(_) => c.latest().map(|f| f.image),
                    Tile::Placeholder(_) => None,
                })
                .collect();
            let labels: Vec<Option<String>> = tiles
                .iter()
                .map(|t| match t {
                    Tile::Live(_) => None,
                    Tile::Placeholder(s) => Some(s.clone()),
                })
                .collect();
            let job = tokio::task::spawn_blocking(move || {
                let r = stitcher.render(&inputs, &labels);
                (stitcher, r)
            });
            let Ok((back, result)) = job.await else {
                tracing::error!("compositor task panicked");
                return;
            };
            stitcher = back;
            match result {
                Ok(r) => {
                    stats
                        .render_ns_total
                        .fetch_add(r.render_ns, Ordering::Relaxed);
                    stats
                        .encode_ns_total
                        .fetch_add(r.encode_ns, Ordering::Relaxed);
                    stats
                        .last_jpeg_bytes
                        .store(r.jpeg.len() as u64, Ordering::Relaxed);
                    stats.frames_total.fetch_add(1, Ordering::Relaxed);
                    stats.fps.lock().expect("fps lock").tick();
                    hub.publish(r.part, r.jpeg);
                }
                Err(e) => {
                    let n = stats.errors_total.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::error!(error = %e, errors = n, "panorama render failed");
                    }
                }
            }
            last_render = Some(now);
            shown = tiles.into_iter().map(Some).collect();
            pending_since = None;
            continue;
        }
        // Sleep until the earliest reason to render (or a wake-up).
        let mut deadline = last_render.map(|t| t + opts.heartbeat).unwrap_or(now);
        if let Some(p) = pending_since {
            deadline = deadline.min(p + opts.max_wait);
        }
        for c in &cams {
            if let Some(f) = c.latest()
                && f.at.elapsed() < opts.stale
            {
                deadline = deadline.min(f.at + opts.stale);
            }
        }
        if want {
            deadline = deadline.max(allowed_at);
        } else {
            deadline = deadline.max(now + Duration::from_millis(1));
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = demand.changed() => {}
        }
    }
}
