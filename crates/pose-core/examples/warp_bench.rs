//! Micro-benchmark of the two input crops (the pipeline's main pre-processing cost) on the golden
//! frame `p2s_single_cam01_f060` (1080x1920), with a check of the detector tensor against the
//! reference's saved one (bit-exact with OpenCV 5's `warpAffine`).
//!
//! ```text
//! cargo run --release -p pose-core --example warp_bench -- [--reps 200]
//! ```
//!
//! Prints the median and minimum time of `detector_input` (letterbox warp to 224x224 + tensor)
//! and `landmark_input` (rotated ROI crop to 256x256 + tensor) on 1 and 2 threads, and of the
//! byte warps alone: first on the same (cache-warm) frame, then "cold", on a different copy of
//! the frame each call, as in a video pipeline.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Instant;

use pose_core::detector::{DetectorConfig, Letterbox, decode_detections, detector_input};
use pose_core::landmarks::landmark_input;
use pose_core::warp::{Border, roi_matrix, warp_affine};
use pose_core::{RgbFrame, RgbImage, Roi};

/// Minimal `.npy` reader (little-endian float32, C order, version 1 header).
fn read_npy(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("read golden npy");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Median and minimum of `reps` timed calls, in ms.
fn time(reps: usize, f: &mut dyn FnMut()) -> (f64, f64) {
    f();
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() {
    let mut reps = 200;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => {
                reps = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--reps N (a positive integer)")
            }
            _ => {
                eprintln!("usage: warp_bench [--reps N]");
                std::process::exit(2);
            }
        }
    }
    let reps = reps.max(1);
    let golden = crate::support::shared("models/golden");
    let name = "p2s_single_cam01_f060";
    let t = |n: &str| read_npy(&golden.join("tensors").join(format!("{name}_{n}.npy")));
    let img = RgbImage::open(golden.join(format!("frames/{name}.jpg"))).expect("decode frame");
    let frame = img.as_frame();
    let lb = Letterbox::new(img.width, img.height);
    let dets = decode_detections(
        &t("det_out_Identity"),
        &t("det_out_Identity_1"),
        &lb,
        img.width,
        img.height,
        &DetectorConfig::default(),
    );
    let roi = Roi::from_detection(dets.first().expect("a detection in the golden frame"));

    let mut det = vec![0f32; 224 * 224 * 3];
    let mut lm = vec![0f32; 256 * 256 * 3];
    detector_input(&frame, 1, &mut det);
    let gdet = t("det_input");
    let det_diff = det.iter().zip(&gdet).filter(|(a, b)| a != b).count();
    landmark_input(&frame, &roi, 1, &mut lm);
    let glm = t("lm_input");
    let lm_diff = lm
        .iter()
        .zip(&glm)
        .filter(|(a, b)| (*a - *b).abs() * 255.0 > 0.5)
        .count();

    let (a, a0) = time(reps, &mut || {
        std::hint::black_box(detector_input(&frame, 1, &mut det));
    });
    let (b, b0) = time(reps, &mut || landmark_input(&frame, &roi, 1, &mut lm));
    let (a2, a20) = time(reps, &mut || {
        std::hint::black_box(detector_input(&frame, 2, &mut det));
    });
    let (b2, b20) = time(reps, &mut || landmark_input(&frame, &roi, 2, &mut lm));
    // Cold: a different copy of the frame on every call (32 x 6 MB, more than the caches), as in
    // a video pipeline where each frame is new and the model calls evict the caches.
    let copies: Vec<Vec<u8>> = (0..32).map(|_| frame.data().to_vec()).collect();
    let cold = |i: &mut usize| {
        *i += 1;
        RgbFrame::new(img.width, img.height, &copies[*i % copies.len()]).expect("frame copy")
    };
    let mut i = 0;
    let mut cold_times = [(0.0, 0.0); 4];
    for (k, threads) in [1, 2].into_iter().enumerate() {
        cold_times[2 * k] = time(reps, &mut || {
            std::hint::black_box(detector_input(&cold(&mut i), threads, &mut det));
        });
        cold_times[2 * k + 1] = time(reps, &mut || {
            landmark_input(&cold(&mut i), &roi, threads, &mut lm)
        });
    }
    let mdet = roi_matrix(lb.cx, lb.cy, lb.side, lb.side, 0.0, 224, 224);
    let mut out224 = vec![0u8; 224 * 224 * 3];
    let (c, c0) = time(reps, &mut || {
        warp_affine(&frame, &mdet, 224, 224, Border::Constant, &mut out224)
    });
    let mlm = roi_matrix(roi.cx, roi.cy, roi.size, roi.size, roi.rotation, 256, 256);
    let mut out256 = vec![0u8; 256 * 256 * 3];
    let (d, d0) = time(reps, &mut || {
        warp_affine(&frame, &mlm, 256, 256, Border::Replicate, &mut out256)
    });
    println!(
        "warp_bench {}x{} {name}, {reps} reps, ms median (min):",
        img.width, img.height
    );
    println!(
        "  detector_input  {a:.3} ({a0:.3})   2 threads {a2:.3} ({a20:.3})   byte warp 224 alone {c:.3} ({c0:.3})"
    );
    println!(
        "  landmark_input  {b:.3} ({b0:.3})   2 threads {b2:.3} ({b20:.3})   byte warp 256 alone {d:.3} ({d0:.3})"
    );
    let [(ca, ca0), (cb, cb0), (ca2, ca20), (cb2, cb20)] = cold_times;
    println!("  cold frames: detector_input {ca:.3} ({ca0:.3})   2 threads {ca2:.3} ({ca20:.3})");
    println!("  cold frames: landmark_input {cb:.3} ({cb0:.3})   2 threads {cb2:.3} ({cb20:.3})");
    println!(
        "  vs reference tensors: detector input {det_diff} values differ (must be 0), \
         landmark input {lm_diff} differ by > 0.5 level (ROI rounded in the JSON; few expected)"
    );
}
