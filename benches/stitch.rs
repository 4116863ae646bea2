//! cam-stitch criterion bench: one group per set in `media/stitch/` (3 x 640x480 and
//! 3 x 1280x720, frame f040), decoded frames in, panorama out:
//! * `plan/1-thread`, `plan/all-threads`: this crate's precomputed plan (rayon row split);
//! * `yuv-plan/1-thread`: the YCbCr plan on the decoded JPEG planes (Y + 4:2:0 Cb/Cr);
//! * `jpeg-to-jpeg/rgb-1-thread`, `jpeg-to-jpeg/yuv-1-thread`: `JpegStitcher`, 3 camera JPEGs in,
//!   panorama JPEG (q95) out, on the RGB and the YCbCr path;
//! * `opencv-seed/1-thread`, `opencv-seed/default-threads` (feature `opencv`, on by default):
//!   the old pipeline through the `opencv` crate (rotate, getPerspectiveTransform +
//!   warpPerspective, crop, hconcat every frame) with `cv::setNumThreads(1)` and OpenCV's default.
//!
//! `cargo bench --bench stitch [-- CRITERION FLAGS]` (defaults: 30 samples, 1 s warm-up, 3 s
//! measurement; flags such as `--measurement-time 2` override them). Throughput: criterion's
//! `elem/s` are output panorama pixels per second.
//!
//! After each group, one line per case: its time, the OpenCV baseline's from the same run, the
//! ratio and the goal (issue 5: the plan on 1 thread >= 3x faster than OpenCV on 1 thread).
//! Without the `opencv` feature (`--no-default-features`) the OpenCV cases are skipped and the
//! bench says so.

use std::hint::black_box;
use std::time::Duration;

mod common;
use common::{Goal, Recorder};

use cam_stitch::{
    Config, JpegBackend, JpegCodec, JpegStitcher, Plan, PlanOptions, RgbImage, YuvFrame, YuvPlan,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use posecam_test_support::{read, shared};

/// Goal of the plan (1 thread) against OpenCV (1 thread), issue 5.
const PLAN_GOAL: f64 = 3.0;

struct Set {
    name: &'static str,
    config: Config,
    jpegs: Vec<Vec<u8>>,
    cams: Vec<RgbImage>,
}

fn load(name: &'static str, dir: &str) -> Set {
    let config = Config::from_path(shared(&format!("{dir}/cameras_config.json")))
        .expect("stitch set config");
    let jpegs: Vec<Vec<u8>> = (0..config.camera.len())
        .map(|n| read(&shared(&format!("{dir}/f040/cam{n}.jpg"))))
        .collect();
    let mut codec = JpegCodec::with_backend(JpegBackend::TurboJpeg).expect("turbojpeg");
    let cams = jpegs
        .iter()
        .map(|j| {
            let mut img = RgbImage::default();
            codec.decode(j, &mut img).expect("camera JPEG");
            img
        })
        .collect();
    Set {
        name,
        config,
        jpegs,
        cams,
    }
}

fn bench_stitch(c: &mut Criterion) {
    let rec = Recorder::default();
    for set in [load("vga", "media/stitch"), load("hd", "media/stitch/hd")] {
        let sizes: Vec<_> = set.cams.iter().map(RgbImage::size).collect();
        let serial = Plan::new(&set.config, &sizes).expect("plan");
        let parallel = Plan::with_options(
            &set.config,
            &sizes,
            &PlanOptions {
                parallel: true,
                ..PlanOptions::default()
            },
        )
        .expect("plan");
        let (w, h) = serial.output_size();
        let inputs: Vec<_> = set.cams.iter().map(|c| Some(c.view())).collect();
        let mut out = serial.new_output();

        let group = format!("stitch/{}", set.name);
        println!(
            "{group}: {} cameras {} in, {w}x{h} panorama out; throughput elem/s = output pixels/s",
            sizes.len(),
            sizes
                .first()
                .map(|(cw, ch)| format!("{cw}x{ch}"))
                .unwrap_or_default()
        );
        let mut g = c.benchmark_group(&group);
        g.throughput(Throughput::Elements(u64::from(w) * u64::from(h)));
        let id = |case: &str| format!("{group}/{case}");
        g.bench_function("plan/1-thread", |b| {
            rec.iter(b, &id("plan/1-thread"), || {
                serial.render(black_box(&inputs), &mut out).expect("render")
            })
        });
        g.bench_function("plan/all-threads", |b| {
            rec.iter(b, &id("plan/all-threads"), || {
                parallel
                    .render(black_box(&inputs), &mut out)
                    .expect("render")
            })
        });
        let mut codec = JpegCodec::with_backend(JpegBackend::TurboJpeg).expect("turbojpeg");
        let frames: Vec<YuvFrame> = set
            .jpegs
            .iter()
            .map(|j| {
                let mut f = YuvFrame::default();
                codec.decode_yuv(j, &mut f).expect("camera JPEG planes");
                f
            })
            .collect();
        let formats: Vec<_> = frames.iter().map(|f| (f.size(), f.subsampling())).collect();
        let yuv = YuvPlan::new(&set.config, &formats).expect("yuv plan");
        let frame_refs: Vec<_> = frames.iter().map(Some).collect();
        let mut pano = yuv.new_output();
        g.bench_function("yuv-plan/1-thread", |b| {
            rec.iter(b, &id("yuv-plan/1-thread"), || {
                yuv.render(black_box(&frame_refs), &mut pano)
                    .expect("render")
            })
        });
        let jpegs: Vec<Option<&[u8]>> = set.jpegs.iter().map(|j| Some(j.as_slice())).collect();
        for (name, rgb_only) in [
            ("jpeg-to-jpeg/rgb-1-thread", true),
            ("jpeg-to-jpeg/yuv-1-thread", false),
        ] {
            let mut stitcher =
                JpegStitcher::new(set.config.clone(), PlanOptions::default()).expect("stitcher");
            stitcher.set_rgb_only(rgb_only);
            let mut jpeg = Vec::new();
            g.bench_function(name, |b| {
                rec.iter(b, &id(name), || {
                    stitcher
                        .stitch(black_box(&jpegs), &mut jpeg)
                        .expect("stitch")
                })
            });
        }
        #[cfg(feature = "opencv")]
        {
            use cam_stitch::opencv_baseline::{self, SeedPipeline};
            let mats: Vec<_> = set
                .jpegs
                .iter()
                .map(|j| opencv_baseline::decode_mat(j).expect("imdecode"))
                .collect();
            let seed = SeedPipeline::new(&set.config);
            let default_threads = opencv_baseline::num_threads().expect("getNumThreads");
            opencv_baseline::set_num_threads(1).expect("setNumThreads");
            g.bench_function("opencv-seed/1-thread", |b| {
                rec.iter(b, &id("opencv-seed/1-thread"), || {
                    seed.stitch(black_box(&mats)).expect("opencv stitch")
                })
            });
            opencv_baseline::set_num_threads(default_threads).expect("setNumThreads");
            g.bench_function("opencv-seed/default-threads", |b| {
                rec.iter(b, &id("opencv-seed/default-threads"), || {
                    seed.stitch(black_box(&mats)).expect("opencv stitch")
                })
            });
        }
        g.finish();
        summarise(&rec, &group);
    }
}

/// The group's ratio lines (after criterion's own lines).
fn summarise(rec: &Recorder, group: &str) {
    if cfg!(feature = "opencv") {
        let vs_cv1 = "opencv-seed/1-thread";
        common::print_vs(rec, group, "plan/1-thread", vs_cv1, Goal::Ratio(PLAN_GOAL));
        common::print_vs(
            rec,
            group,
            "yuv-plan/1-thread",
            vs_cv1,
            Goal::Ratio(PLAN_GOAL),
        );
        let vs_cvn = "opencv-seed/default-threads";
        common::print_vs(rec, group, "plan/all-threads", vs_cvn, Goal::None);
    } else {
        println!(
            "{group}: OpenCV baseline skipped: this bench was built without the `opencv` feature \
             (it is on by default: run `cargo bench --bench stitch` without \
             --no-default-features, with libopencv-dev installed by scripts/setup.sh)"
        );
        common::print_vs(rec, group, "plan/all-threads", "plan/1-thread", Goal::None);
    }
    for case in ["jpeg-to-jpeg/rgb-1-thread", "jpeg-to-jpeg/yuv-1-thread"] {
        common::print_alone(
            rec,
            &format!("{group}/{case}"),
            "(3 camera JPEGs in, q95 JPEG out; its baseline, the Python seed, is timed by \
             `cargo run --release -p cam-stitch --example stitch_bench`, goal x2 there)",
            Goal::None,
        );
    }
}

criterion_group! {
    name = benches;
    // Defaults for this bench; command-line flags (--warm-up-time, --measurement-time,
    // --sample-size, ...) override them.
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_stitch
}
criterion_main!(benches);
