//! Against Debian's OpenCV 4.6 through the `opencv` crate: the same decoded pixels through the
//! old pipeline (`opencv_baseline::SeedPipeline`) and through the plan, and
//! `getPerspectiveTransform` against [`Homography::for_perspective`].
#![cfg(feature = "opencv")]
#![allow(clippy::unwrap_used)]

mod support;

use cam_stitch::opencv_baseline::{self, SeedPipeline};
use cam_stitch::{Config, Homography, Plan, RgbImage};
use opencv::core::{Point2f, Vector};
use opencv::prelude::*;
use support::{read, shared};

const SETS: [(&str, &str); 3] = [
    ("media/stitch", "f040"),
    ("media/stitch", "f160"),
    ("media/stitch/hd", "f040"),
];

#[test]
fn plan_equals_opencv_46_on_same_pixels() {
    for (set, frame) in SETS {
        let config = Config::from_path(shared(&format!("{set}/cameras_config.json"))).unwrap();
        let cams: Vec<RgbImage> = (0..3)
            .map(|n| {
                let jpeg = read(&shared(&format!("{set}/{frame}/cam{n}.jpg")));
                opencv_baseline::decode_jpeg(&jpeg).unwrap()
            })
            .collect();
        let views: Vec<_> = cams.iter().map(RgbImage::view).collect();
        let expected = SeedPipeline::new(&config).stitch_rgb(&views).unwrap();
        let sizes: Vec<_> = cams.iter().map(RgbImage::size).collect();
        let plan = Plan::new(&config, &sizes).unwrap();
        let mut out = plan.new_output();
        let inputs: Vec<_> = views.iter().map(|&v| Some(v)).collect();
        plan.render(&inputs, &mut out).unwrap();
        assert_eq!(out.size(), expected.size());
        let (mut max, mut n_diff) = (0u8, 0usize);
        for (a, b) in out.as_bytes().iter().zip(expected.as_bytes()) {
            let d = a.abs_diff(*b);
            max = max.max(d);
            n_diff += usize::from(d > 0);
        }
        eprintln!("{set}/{frame} vs OpenCV 4.6: max {max}, {n_diff} differing channel values");
        assert_eq!(
            max, 0,
            "{set}/{frame}: plan differs from OpenCV 4.6 by up to {max}"
        );
    }
}

#[test]
fn homography_equals_get_perspective_transform() {
    for set in ["media/stitch", "media/stitch/hd"] {
        let config = Config::from_path(shared(&format!("{set}/cameras_config.json"))).unwrap();
        for cam in &config.camera {
            let p = &cam.perspective;
            let (w, h) = (p.width as f32, p.height as f32);
            let src = Vector::<Point2f>::from_iter(
                p.src.iter().map(|&[x, y]| Point2f::new(x as f32, y as f32)),
            );
            let dst = Vector::<Point2f>::from_iter([
                Point2f::new(0.0, 0.0),
                Point2f::new(0.0, h),
                Point2f::new(w, h),
                Point2f::new(w, 0.0),
            ]);
            let m = opencv::imgproc::get_perspective_transform(&src, &dst, opencv::core::DECOMP_LU)
                .unwrap();
            let ours = Homography::for_perspective(p).unwrap();
            for r in 0..3 {
                for c in 0..3 {
                    let cv = *m.at_2d::<f64>(r, c).unwrap();
                    let us = ours.m[r as usize * 3 + c as usize];
                    let tol = 1e-9 * cv.abs().max(1e-3);
                    assert!((cv - us).abs() <= tol, "{set} m[{r}][{c}]: {cv} vs {us}");
                }
            }
        }
    }
}
