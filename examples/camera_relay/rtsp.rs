//! RTSP cameras through OpenCV's `VideoCapture` (Debian's OpenCV reads RTSP with its FFmpeg
//! backend). The capture runs on its own thread (it blocks); frames come back over a small
//! channel, and dropping the session (idle, relay shutdown) stops the thread, which closes the
//! RTSP connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgproc, videoio};
use tokio::sync::mpsc;

use crate::frames::Rgb;
use crate::sources::{Camera, SourceTiming};
use crate::upstream::SessionError;

/// Time allowed to open the stream (RTSP handshake, first keyframe).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Reads `url` until it fails; decoded frames are delivered to `cam`.
pub async fn session(
    cam: &Arc<Camera>,
    url: &str,
    timing: &SourceTiming,
) -> Result<(), SessionError> {
    let (tx, mut rx) = mpsc::channel::<Result<Rgb, String>>(2);
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(stop.clone());
    let url_owned = url.to_owned();
    let read_ms = timing.read_timeout.as_millis().min(i32::MAX as u128) as i32;
    std::thread::Builder::new()
        .name(format!("rtsp-cam{}", cam.index))
        .spawn(move || capture(&url_owned, read_ms, &tx, &stop))
        .map_err(|e| SessionError(format!("cannot start the capture thread: {e}")))?;
    let mut timeout = OPEN_TIMEOUT.max(timing.read_timeout);
    loop {
        match tokio::time::timeout(timeout, rx.recv()).await {
            Err(_) => {
                return Err(SessionError(format!(
                    "{url}: no frame for {:.1} s",
                    timeout.as_secs_f64()
                )));
            }
            Ok(None) => return Err(SessionError(format!("{url}: capture ended"))),
            Ok(Some(Err(e))) => return Err(SessionError(format!("{url}: {e}"))),
            Ok(Some(Ok(img))) => {
                cam.deliver(img, None);
                timeout = timing.read_timeout;
            }
        }
    }
}

fn capture(url: &str, read_ms: i32, tx: &mpsc::Sender<Result<Rgb, String>>, stop: &AtomicBool) {
    if let Err(e) = capture_loop(url, read_ms, tx, stop) {
        let _ = tx.blocking_send(Err(e));
    }
}

fn capture_loop(
    url: &str,
    read_ms: i32,
    tx: &mpsc::Sender<Result<Rgb, String>>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let params = Vector::<i32>::from_slice(&[
        videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
        OPEN_TIMEOUT.as_millis() as i32,
        videoio::CAP_PROP_READ_TIMEOUT_MSEC,
        read_ms,
    ]);
    let mut cap = videoio::VideoCapture::from_file_with_params(url, videoio::CAP_FFMPEG, &params)
        .map_err(|e| format!("VideoCapture: {e}"))?;
    if !cap.is_opened().map_err(|e| e.to_string())? {
        return Err("VideoCapture could not open the stream".into());
    }
    let mut bgr = Mat::default();
    let mut rgb = Mat::default();
    while !stop.load(Ordering::SeqCst) {
        if !cap.read(&mut bgr).map_err(|e| e.to_string())? || bgr.empty() {
            return Err("the stream ended".into());
        }
        imgproc::cvt_color_def(&bgr, &mut rgb, imgproc::COLOR_BGR2RGB)
            .map_err(|e| e.to_string())?;
        let (w, h) = (rgb.cols() as u32, rgb.rows() as u32);
        let data = rgb.data_bytes().map_err(|e| e.to_string())?.to_vec();
        let img = Rgb::from_raw(w, h, data).map_err(|e| e.to_string())?;
        match tx.try_send(Ok(img)) {
            // The relay is behind: drop this frame, the next one is newer anyway.
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return Ok(()),
        }
    }
    Ok(())
}
