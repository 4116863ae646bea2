//! RTSP cameras (any URL FFmpeg reads) through OpenCV's `VideoCapture`, as RGB frames for the
//! live stitcher (feature `opencv`).
//!
//! [`RtspReader::spawn`] reads on a thread of its own (`VideoCapture` blocks) and hands each frame,
//! or the error that ended the capture, to a callback; dropping the reader stops the thread, which
//! closes the stream. This is the posecam camera relay's RTSP source.
//!
//! ```no_run
//! use std::time::Duration;
//! let (tx, rx) = std::sync::mpsc::sync_channel(2);
//! let reader = cam_stitch::rtsp::RtspReader::spawn("rtsp://10.0.0.6:554/s", Duration::from_secs(3), move |frame| {
//!     tx.try_send(frame).is_ok() // false: stop reading
//! });
//! if let Ok(Ok(image)) = rx.recv_timeout(cam_stitch::rtsp::OPEN_TIMEOUT) {
//!     println!("{}x{}", image.width(), image.height());
//! }
//! drop(reader); // stops the capture thread
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgproc, videoio};

use crate::{Result, RgbImage, StitchError};

/// Time allowed to open a stream (RTSP handshake, first key frame).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running capture; dropping it stops the capture thread (after its current read).
#[derive(Debug)]
pub struct RtspReader {
    stop: Arc<AtomicBool>,
}

impl Drop for RtspReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl RtspReader {
    /// Opens `url` on a new thread (within [`OPEN_TIMEOUT`]) and calls `on_frame` with each
    /// frame, then once with the error that ended the capture. Reads block at most
    /// `read_timeout`. The thread ends when `on_frame` returns `false`, on that error, or when
    /// the reader is dropped.
    pub fn spawn(
        url: &str,
        read_timeout: Duration,
        mut on_frame: impl FnMut(Result<RgbImage>) -> bool + Send + 'static,
    ) -> RtspReader {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, flag) = (url.to_owned(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("rtsp-capture".into())
            .spawn(move || {
                if let Err(e) = capture(&url, read_timeout, &mut on_frame, &flag) {
                    on_frame(Err(e));
                }
            });
        if thread.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        RtspReader { stop }
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn capture(
    url: &str,
    read_timeout: Duration,
    on_frame: &mut impl FnMut(Result<RgbImage>) -> bool,
    stop: &AtomicBool,
) -> Result<()> {
    let params = Vector::<i32>::from_slice(&[
        videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
        millis(OPEN_TIMEOUT),
        videoio::CAP_PROP_READ_TIMEOUT_MSEC,
        millis(read_timeout),
    ]);
    let mut cap = videoio::VideoCapture::from_file_with_params(url, videoio::CAP_FFMPEG, &params)?;
    if !cap.is_opened()? {
        return Err(StitchError::Decode(
            "VideoCapture could not open the stream".into(),
        ));
    }
    let (mut bgr, mut rgb) = (Mat::default(), Mat::default());
    while !stop.load(Ordering::SeqCst) {
        if !cap.read(&mut bgr)? || bgr.empty() {
            return Err(StitchError::Decode("the stream ended".into()));
        }
        imgproc::cvt_color_def(&bgr, &mut rgb, imgproc::COLOR_BGR2RGB)?;
        let (w, h) = (rgb.cols().max(0) as u32, rgb.rows().max(0) as u32);
        let image = RgbImage::from_raw(w, h, rgb.data_bytes()?.to_vec())?;
        if !on_frame(Ok(image)) {
            return Ok(());
        }
    }
    Ok(())
}
