//! Golden tests: the plan against every `panorama.png` in `media/stitch/` (the old OpenCV
//! pipeline's output on OpenCV's decode of the camera JPEGs).
#![allow(clippy::unwrap_used)]

mod support;

use cam_stitch::{Config, JpegBackend, JpegCodec, Plan, PlanOptions, RgbImage};
use support::{read, shared};

/// (set dir relative to shared/, frame dir)
const SETS: [(&str, &str); 3] = [
    ("media/stitch", "f040"),
    ("media/stitch", "f160"),
    ("media/stitch/hd", "f040"),
];

struct Diff {
    max: u8,
    over1: usize,
    total: usize,
    mean: f64,
}

fn diff(a: &RgbImage, b: &RgbImage) -> Diff {
    assert_eq!(a.size(), b.size());
    let mut max = 0u8;
    let mut over1 = 0usize;
    let mut sum = 0u64;
    for (x, y) in a
        .as_bytes()
        .chunks_exact(3)
        .zip(b.as_bytes().chunks_exact(3))
    {
        let d = (0..3).map(|k| x[k].abs_diff(y[k])).max().unwrap();
        max = max.max(d);
        if d > 1 {
            over1 += 1;
        }
        sum += (0..3).map(|k| u64::from(x[k].abs_diff(y[k]))).sum::<u64>();
    }
    let total = a.as_bytes().len() / 3;
    Diff {
        max,
        over1,
        total,
        mean: sum as f64 / (total * 3) as f64,
    }
}

/// Renders one set with `backend`'s decoder; returns (plan output, expected panorama).
fn render_set(set: &str, frame: &str, backend: JpegBackend) -> (RgbImage, RgbImage) {
    let config = Config::from_path(shared(&format!("{set}/cameras_config.json"))).unwrap();
    let mut codec = JpegCodec::with_backend(backend).unwrap();
    let cams: Vec<RgbImage> = (0..config.camera.len())
        .map(|n| {
            let mut img = RgbImage::default();
            let jpeg = read(&shared(&format!("{set}/{frame}/cam{n}.jpg")));
            codec.decode(&jpeg, &mut img).unwrap();
            img
        })
        .collect();
    let sizes: Vec<_> = cams.iter().map(RgbImage::size).collect();
    let plan = Plan::with_options(&config, &sizes, &PlanOptions::default()).unwrap();
    let mut out = plan.new_output();
    let inputs: Vec<_> = cams.iter().map(|c| Some(c.view())).collect();
    plan.render(&inputs, &mut out).unwrap();
    // panorama.png: OpenCV wrote its BGR array as a standard (RGB) PNG.
    let png = image::open(shared(&format!("{set}/{frame}/panorama.png")))
        .unwrap()
        .to_rgb8();
    let expected = RgbImage::from(png);
    (out, expected)
}

/// With libjpeg-turbo's decode (the pixels OpenCV's imdecode sees) the plan must match the old
/// pipeline within 1 per channel on >= 99.9% of pixels and within 2 everywhere.
#[cfg(feature = "turbojpeg")]
#[test]
fn matches_opencv_panoramas_with_same_decode() {
    for (set, frame) in SETS {
        let (out, expected) = render_set(set, frame, JpegBackend::TurboJpeg);
        let d = diff(&out, &expected);
        eprintln!(
            "{set}/{frame} turbojpeg decode: max {} | >1 on {} of {} px | mean {:.4}",
            d.max, d.over1, d.total, d.mean
        );
        assert!(d.max <= 2, "{set}/{frame}: max diff {}", d.max);
        assert!(
            (d.over1 as f64) <= 0.001 * d.total as f64,
            "{set}/{frame}: {} pixels differ by more than 1",
            d.over1
        );
    }
}

/// The pure-Rust decoder (zune-jpeg) differs from libjpeg-turbo by a few levels; the panorama
/// stays close (reported figures in the README).
#[test]
fn close_to_opencv_panoramas_with_image_crate_decode() {
    for (set, frame) in SETS {
        let (out, expected) = render_set(set, frame, JpegBackend::Image);
        let d = diff(&out, &expected);
        eprintln!(
            "{set}/{frame} image-crate decode: max {} | >1 on {} of {} px ({:.3}%) | mean {:.4}",
            d.max,
            d.over1,
            d.total,
            100.0 * d.over1 as f64 / d.total as f64,
            d.mean
        );
        assert!(d.mean < 0.5, "{set}/{frame}: mean abs diff {}", d.mean);
        assert!(d.max <= 8, "{set}/{frame}: max diff {}", d.max);
    }
}
