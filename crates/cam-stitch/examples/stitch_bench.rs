//! Times the plan against the old pipeline, in one run, and prints figures and ratios.
//!
//! ```text
//! cargo run --release -p cam-stitch --all-features --example stitch_bench -- [--iters N] [--no-python] [--python PATH] [--warp-only]
//! ```
//! Per set (3 x 640x480 `media/stitch/f040`, 3 x 1280x720 `media/stitch/hd/f040`):
//! * warp+concat: the plan (1 thread, all threads via rayon) vs the same seed pipeline through
//!   the `opencv` crate (`cv::setNumThreads(1)` and the default);
//! * JPEG-in -> JPEG-out (decode 3 JPEGs, stitch, encode at quality 95, 4:2:0 as
//!   `cv2.imencode`'s default) with `JpegStitcher`: the RGB path (OpenCV-equal pixels) and the
//!   YCbCr path, each on 1 thread and on all threads, vs
//!   `shared/tools/baselines/seed_stitch.py --decode --encode` (its own median) with
//!   `--threads 1` (against our 1 thread) and its default threads (against our all threads);
//!   the PSNR of the YCbCr path's panorama against the RGB path's;
//! * each stage alone (decodes, renders, encodes; also the `image` crate's codecs).
//!
//! Variants are timed round-robin in small batches so that load from other processes spreads
//! evenly; medians of per-iteration wall time are reported, plus CPU time per iteration
//! (`/proc/thread-self/schedstat`) for the single-threaded variants.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use cam_stitch::opencv_baseline::Mat;
use cam_stitch::opencv_baseline::{self, SeedPipeline};
use cam_stitch::{
    Config, JpegBackend, JpegCodec, JpegStitcher, Plan, PlanOptions, RgbImage, YuvFrame, YuvPlan,
};

/// PSNR (dB), max absolute difference and the share (%) of samples differing by more than 8.
fn compare(a: &RgbImage, b: &RgbImage) -> (f64, u8, f64) {
    let (mut se, mut max, mut over) = (0f64, 0u8, 0usize);
    for (&x, &y) in a.as_bytes().iter().zip(b.as_bytes()) {
        let d = x.abs_diff(y);
        se += f64::from(d) * f64::from(d);
        max = max.max(d);
        over += usize::from(d > 8);
    }
    let n = a.as_bytes().len().max(1) as f64;
    let mse = se / n;
    (
        10.0 * (255.0 * 255.0 / mse).log10(),
        max,
        over as f64 * 100.0 / n,
    )
}

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Variant<'a> {
    name: String,
    single_thread: bool,
    run: Box<dyn FnMut() + 'a>,
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl<'a> Variant<'a> {
    fn new(name: &str, single_thread: bool, run: impl FnMut() + 'a) -> Self {
        Variant {
            name: name.into(),
            single_thread,
            run: Box::new(run),
            wall: Vec::new(),
            cpu: Vec::new(),
        }
    }
    fn median(&self) -> f64 {
        median(&self.wall)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

/// Round-robin timing: `rounds` rounds of `batch` iterations of every variant.
fn time_all(variants: &mut [Variant<'_>], iters: usize) {
    let batch = 5;
    for v in variants.iter_mut() {
        for _ in 0..3 {
            (v.run)(); // warm-up
        }
    }
    for _ in 0..iters.div_ceil(batch) {
        for v in variants.iter_mut() {
            let (t0, c0) = (Instant::now(), thread_cpu_ns());
            for _ in 0..batch {
                (v.run)();
            }
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), thread_cpu_ns() - c0);
            v.wall.push(wall * 1e3 / batch as f64);
            v.cpu.push(cpu as f64 / 1e6 / batch as f64);
        }
    }
}

fn print(variants: &[Variant<'_>], baseline: &str) {
    let base = variants
        .iter()
        .find(|v| v.name == baseline)
        .map_or(f64::NAN, Variant::median);
    for v in variants {
        let cpu = if v.single_thread {
            format!("cpu {:7.3} ms", median(&v.cpu))
        } else {
            " ".repeat(14)
        };
        println!(
            "  {:<40} wall median {:7.3} ms  min {:7.3} ms  {cpu}  x{:.2} vs {baseline}",
            v.name,
            v.median(),
            v.wall.iter().copied().fold(f64::INFINITY, f64::min),
            base / v.median(),
        );
    }
}

/// CPU time (user + system, ms) of the waited-for children of this process.
fn children_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the parenthesised command name; cutime and cstime are fields 16 and 17
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3; clock ticks are 100 per second on Linux
    (ticks(16 - 3) + ticks(17 - 3)) * 10.0
}

/// Runs the Python seed; returns (its median wall ms, its CPU ms per panorama), the CPU figure
/// from two runs of different lengths (startup and imports cancel out).
fn python_seed(python: &str, set: &str, threads: i32, iters: usize) -> Option<(f64, f64)> {
    let script = crate::support::shared("tools/baselines/seed_stitch.py");
    let run = |n: usize| -> Option<(f64, f64)> {
        let c0 = children_cpu_ms();
        let out = Command::new(python)
            .arg(&script)
            .args(["--set", set, "--threads", &threads.to_string()])
            .args(["--iters", &n.to_string(), "--decode", "--encode"])
            .output()
            .ok()?;
        let cpu = children_cpu_ms() - c0;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("per panorama"))?;
        let med = line
            .split("median ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some((med, cpu))
    };
    let short = (iters / 4).max(10);
    let (_, cpu_short) = run(short)?;
    let (med, cpu_long) = run(iters)?;
    Some((med, (cpu_long - cpu_short) / (iters - short) as f64))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut iters = 200;
    let mut warp_only = false;
    let mut python = Some(
        std::env::var("POSECAM_PYTHON")
            .unwrap_or_else(|_| "/work/main/.cache/venv/bin/python".into()),
    );
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => iters = args.next().ok_or("--iters N")?.parse()?,
            "--no-python" => python = None,
            "--warp-only" => warp_only = true,
            "--python" => python = Some(args.next().ok_or("--python PATH")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    println!(
        "stitch_bench: {} cpus, rayon {} threads, OpenCV default {} threads",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        rayon::current_num_threads(),
        opencv_baseline::num_threads()?,
    );
    for (set, dir) in [("vga", "media/stitch"), ("hd", "media/stitch/hd")] {
        let base: PathBuf = crate::support::shared(dir);
        let config = Config::from_path(base.join("cameras_config.json"))?;
        let jpegs: Vec<Vec<u8>> = (0..config.camera.len())
            .map(|n| std::fs::read(base.join(format!("f040/cam{n}.jpg"))))
            .collect::<Result<_, _>>()?;
        let mut turbo = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let cams: Vec<RgbImage> = jpegs
            .iter()
            .map(|j| {
                let mut img = RgbImage::default();
                turbo.decode(j, &mut img).map(|_| img)
            })
            .collect::<Result<_, _>>()?;
        let sizes: Vec<_> = cams.iter().map(RgbImage::size).collect();
        let serial = Plan::new(&config, &sizes)?;
        let t0 = Instant::now();
        let parallel = Plan::with_options(
            &config,
            &sizes,
            &PlanOptions {
                parallel: true,
                ..PlanOptions::default()
            },
        )?;
        let plan_ms = t0.elapsed().as_secs_f64() * 1e3;
        let (w, h) = serial.output_size();
        println!(
            "\n== set {set}: {} x {}x{} -> {w}x{h}; plan built in {plan_ms:.1} ms, {:.1} MB",
            cams.len(),
            sizes[0].0,
            sizes[0].1,
            serial.memory_bytes() as f64 / 1e6
        );
        let inputs: Vec<_> = cams.iter().map(|c| Some(c.view())).collect();
        let mats: Vec<Mat> = jpegs
            .iter()
            .map(|j| opencv_baseline::decode_mat(j))
            .collect::<Result<_, _>>()?;
        let seed = SeedPipeline::new(&config);
        let default_threads = opencv_baseline::num_threads()?;

        println!("warp+concat (decoded frames in, panorama out):");
        let mut out1 = serial.new_output();
        let mut outn = parallel.new_output();
        let mut variants = vec![
            Variant::new("opencv seed, setNumThreads(1)", true, || {
                let _ = opencv_baseline::set_num_threads(1);
                let _ = seed.stitch(&mats);
            }),
            Variant::new("opencv seed, default threads", false, || {
                let _ = opencv_baseline::set_num_threads(default_threads);
                let _ = seed.stitch(&mats);
            }),
            Variant::new("cam-stitch plan, 1 thread", true, || {
                let _ = serial.render(&inputs, &mut out1);
            }),
            Variant::new("cam-stitch plan, rayon all threads", false, || {
                let _ = parallel.render(&inputs, &mut outn);
            }),
        ];
        time_all(&mut variants, iters);
        print(&variants, "opencv seed, setNumThreads(1)");
        let cv1 = median(&variants[0].cpu);
        let ours1 = median(&variants[2].cpu);
        println!(
            "  single-thread CPU time ratio opencv/plan: x{:.2} (goal >= 3)",
            cv1 / ours1
        );
        drop(variants);
        if warp_only {
            continue;
        }

        println!("JPEG-in -> JPEG-out (decode 3, stitch, encode q95 4:2:0), JpegStitcher:");
        let jpeg_refs: Vec<Option<&[u8]>> = jpegs.iter().map(|j| Some(j.as_slice())).collect();
        let stitcher =
            |rgb_only: bool, parallel: bool| -> Result<JpegStitcher, cam_stitch::StitchError> {
                let mut s = JpegStitcher::new(
                    config.clone(),
                    PlanOptions {
                        parallel,
                        ..PlanOptions::default()
                    },
                )?;
                s.set_rgb_only(rgb_only);
                s.set_quality(95);
                Ok(s)
            };
        let mut st = [
            stitcher(true, false)?,
            stitcher(false, false)?,
            stitcher(true, true)?,
            stitcher(false, true)?,
        ];
        let mut outs = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for (s, o) in st.iter_mut().zip(outs.iter_mut()) {
            s.stitch(&jpeg_refs, o)?; // builds the plans
        }
        let [s0, s1, s2, s3] = &mut st;
        let [o0, o1, o2, o3] = &mut outs;
        let mut variants = vec![
            Variant::new("rgb path, 1 thread", true, || {
                let _ = s0.stitch(&jpeg_refs, o0);
            }),
            Variant::new("yuv path, 1 thread", true, || {
                let _ = s1.stitch(&jpeg_refs, o1);
            }),
            Variant::new("rgb path, all threads", false, || {
                let _ = s2.stitch(&jpeg_refs, o2);
            }),
            Variant::new("yuv path, all threads", false, || {
                let _ = s3.stitch(&jpeg_refs, o3);
            }),
        ];
        time_all(&mut variants, iters);
        print(&variants, "rgb path, 1 thread");
        let full: Vec<(f64, f64)> = variants
            .iter()
            .map(|v| (v.median(), median(&v.cpu)))
            .collect();
        drop(variants);
        let rgb_pano = cam_stitch::decode_jpeg(&outs[0])?;
        let yuv_pano = cam_stitch::decode_jpeg(&outs[1])?;
        let (psnr, max, over) = compare(&rgb_pano, &yuv_pano);
        println!(
            "  jpeg sizes: rgb path {} bytes, yuv path {} bytes; yuv vs rgb path (decoded): PSNR {psnr:.2} dB, max diff {max}, {over:.3}% of samples > 8",
            outs[0].len(),
            outs[1].len()
        );

        println!("stages (CPU per call):");
        let mut d_t = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut d_i = JpegCodec::with_backend(JpegBackend::Image)?;
        let mut d_y = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut e_t = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut e_i = JpegCodec::with_backend(JpegBackend::Image)?;
        let mut e_y = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut tmp_t = RgbImage::default();
        let mut tmp_i = RgbImage::default();
        let mut yuv_frames = vec![YuvFrame::default(); jpegs.len()];
        for (j, f) in jpegs.iter().zip(yuv_frames.iter_mut()) {
            d_y.decode_yuv(j, f)?;
        }
        let yuv_inputs: Vec<_> = yuv_frames
            .iter()
            .map(|f| (f.size(), f.subsampling()))
            .collect();
        let yplan = YuvPlan::new(&config, &yuv_inputs)?;
        let mut ypano = yplan.new_output();
        let frame_refs: Vec<_> = yuv_frames.iter().map(Some).collect();
        yplan.render(&frame_refs, &mut ypano)?;
        let ypano_enc = ypano.clone();
        let mut yuv_dec = yuv_frames.clone();
        let (mut o_t, mut o_i, mut o_y) = (Vec::new(), Vec::new(), Vec::new());
        let pano = out1.clone();
        let mut variants = vec![
            Variant::new("decode x3 turbojpeg RGB", true, || {
                for j in &jpegs {
                    let _ = d_t.decode(j, &mut tmp_t);
                }
            }),
            Variant::new("decode x3 turbojpeg YCbCr planes", true, || {
                for (j, f) in jpegs.iter().zip(yuv_dec.iter_mut()) {
                    let _ = d_y.decode_yuv(j, f);
                }
            }),
            Variant::new("decode x3 image crate RGB", true, || {
                for j in &jpegs {
                    let _ = d_i.decode(j, &mut tmp_i);
                }
            }),
            Variant::new("render rgb plan", true, || {
                let _ = serial.render(&inputs, &mut out1);
            }),
            Variant::new("render yuv plan", true, || {
                let _ = yplan.render(&frame_refs, &mut ypano);
            }),
            Variant::new("encode turbojpeg from RGB", true, || {
                let _ = e_t.encode(pano.view(), 95, &mut o_t);
            }),
            Variant::new("encode turbojpeg from planes", true, || {
                let _ = e_y.encode_yuv(&ypano_enc, 95, &mut o_y);
            }),
            Variant::new("encode image crate from RGB", true, || {
                let _ = e_i.encode(pano.view(), 95, &mut o_i);
            }),
        ];
        time_all(&mut variants, iters.div_ceil(2));
        print(&variants, "decode x3 turbojpeg RGB");
        println!(
            "  plan memory: rgb {:.1} MB, yuv {:.1} MB",
            serial.memory_bytes() as f64 / 1e6,
            yplan.memory_bytes() as f64 / 1e6
        );
        drop(variants);

        if let Some(py) = &python {
            for threads in [1, -1] {
                if let Some((py_ms, py_cpu)) = python_seed(py, set, threads, iters) {
                    println!(
                        "  python seed_stitch.py --decode --encode --threads {threads}: wall median {py_ms:.3} ms, cpu {py_cpu:.3} ms per panorama"
                    );
                    // 1 thread vs the seed on 1 thread; all threads vs the seed's default
                    let (rgb, yuv) = if threads == 1 {
                        (full[0], full[1])
                    } else {
                        (full[2], full[3])
                    };
                    let ours = if threads == 1 {
                        "1 thread"
                    } else {
                        "all threads"
                    };
                    println!(
                        "    ours {ours}: rgb path wall x{:.2}, yuv path wall x{:.2} (goal >= 2){}",
                        py_ms / rgb.0,
                        py_ms / yuv.0,
                        if threads == 1 {
                            format!(
                                "; cpu rgb x{:.2}, yuv x{:.2}",
                                py_cpu / rgb.1,
                                py_cpu / yuv.1
                            )
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
    }
    Ok(())
}
