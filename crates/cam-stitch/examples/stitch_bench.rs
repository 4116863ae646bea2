//! Times the plan against the old pipeline, in one run, and prints figures and ratios.
//!
//! ```text
//! cargo run --release -p cam-stitch --all-features --example stitch_bench -- [--iters N] [--no-python] [--python PATH] [--warp-only]
//! ```
//! Per set (3 x 640x480 `media/stitch/f040`, 3 x 1280x720 `media/stitch/hd/f040`):
//! * warp+concat: the plan (1 thread, all threads via rayon) vs the same seed pipeline through
//!   the `opencv` crate (`cv::setNumThreads(1)` and the default);
//! * JPEG-in -> JPEG-out (decode 3 JPEGs, stitch, encode at quality 95 as `cv2.imencode`'s
//!   default): the plan with libjpeg-turbo and with the `image` crate, vs
//!   `shared/tools/baselines/seed_stitch.py --decode --encode` (its own median).
//!
//! Variants are timed round-robin in small batches so that load from other processes spreads
//! evenly; medians of per-iteration wall time are reported, plus CPU time per iteration
//! (`/proc/thread-self/schedstat`) for the single-threaded variants.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use cam_stitch::opencv_baseline::Mat;
use cam_stitch::opencv_baseline::{self, SeedPipeline};
use cam_stitch::{Config, JpegBackend, JpegCodec, Plan, PlanOptions, RgbImage};

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
    let script = posecam_test_support::shared("tools/baselines/seed_stitch.py");
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
        let base: PathBuf = posecam_test_support::shared(dir);
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

        println!("JPEG-in -> JPEG-out (decode 3, stitch, encode q95):");
        let mut codec_t = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut codec_i = JpegCodec::with_backend(JpegBackend::Image)?;
        let mut bufs_t = vec![RgbImage::default(); 3];
        let mut bufs_i = vec![RgbImage::default(); 3];
        let mut pano_t = serial.new_output();
        let mut pano_i = serial.new_output();
        let (mut jpeg_t, mut jpeg_i) = (Vec::new(), Vec::new());
        // all threads: the 3 decodes in parallel (rayon), rows split, one encode
        let mut par_codecs: Vec<JpegCodec> = (0..jpegs.len())
            .map(|_| JpegCodec::with_backend(JpegBackend::TurboJpeg))
            .collect::<Result<_, _>>()?;
        let mut bufs_p = vec![RgbImage::default(); jpegs.len()];
        let mut pano_p = parallel.new_output();
        let mut enc_p = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut jpeg_p = Vec::new();
        let mut variants = vec![
            Variant::new("plan 1 thread + turbojpeg", true, || {
                for (j, b) in jpegs.iter().zip(bufs_t.iter_mut()) {
                    let _ = codec_t.decode(j, b);
                }
                let inputs: Vec<_> = bufs_t.iter().map(|c| Some(c.view())).collect();
                let _ = serial.render(&inputs, &mut pano_t);
                let _ = codec_t.encode(pano_t.view(), 95, &mut jpeg_t);
            }),
            Variant::new("plan 1 thread + image crate", true, || {
                for (j, b) in jpegs.iter().zip(bufs_i.iter_mut()) {
                    let _ = codec_i.decode(j, b);
                }
                let inputs: Vec<_> = bufs_i.iter().map(|c| Some(c.view())).collect();
                let _ = serial.render(&inputs, &mut pano_i);
                let _ = codec_i.encode(pano_i.view(), 95, &mut jpeg_i);
            }),
        ];
        variants.push(Variant::new("plan all threads + turbojpeg", false, || {
            use rayon::prelude::*;
            par_codecs
                .par_iter_mut()
                .zip(bufs_p.par_iter_mut())
                .zip(jpegs.par_iter())
                .for_each(|((c, b), j)| {
                    let _ = c.decode(j, b);
                });
            let inputs: Vec<_> = bufs_p.iter().map(|c| Some(c.view())).collect();
            let _ = parallel.render(&inputs, &mut pano_p);
            let _ = enc_p.encode(pano_p.view(), 95, &mut jpeg_p);
        }));
        time_all(&mut variants, iters);
        print(&variants, "plan 1 thread + turbojpeg");
        let ours_par = variants[2].median();
        let ours = variants[0].median();
        let ours_cpu = median(&variants[0].cpu);
        drop(variants);
        println!(
            "  jpeg sizes: turbojpeg {} bytes, image crate {} bytes",
            jpeg_t.len(),
            jpeg_i.len()
        );

        println!("JPEG codec alone (3 decodes / 1 encode q95 of the panorama):");
        let mut d_t = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut d_i = JpegCodec::with_backend(JpegBackend::Image)?;
        let mut e_t = JpegCodec::with_backend(JpegBackend::TurboJpeg)?;
        let mut e_i = JpegCodec::with_backend(JpegBackend::Image)?;
        let mut tmp_t = RgbImage::default();
        let mut tmp_i = RgbImage::default();
        let (mut o_t, mut o_i) = (Vec::new(), Vec::new());
        let pano = out1.clone();
        let mut variants = vec![
            Variant::new("decode x3 turbojpeg", true, || {
                for j in &jpegs {
                    let _ = d_t.decode(j, &mut tmp_t);
                }
            }),
            Variant::new("decode x3 image crate", true, || {
                for j in &jpegs {
                    let _ = d_i.decode(j, &mut tmp_i);
                }
            }),
            Variant::new("encode turbojpeg", true, || {
                let _ = e_t.encode(pano.view(), 95, &mut o_t);
            }),
            Variant::new("encode image crate", true, || {
                let _ = e_i.encode(pano.view(), 95, &mut o_i);
            }),
        ];
        time_all(&mut variants, iters.div_ceil(2));
        print(&variants, "decode x3 turbojpeg");
        drop(variants);

        if let Some(py) = &python {
            for threads in [1, -1] {
                if let Some((py_ms, py_cpu)) = python_seed(py, set, threads, iters) {
                    println!(
                        "  python seed_stitch.py --decode --encode --threads {threads}: wall median {py_ms:.3} ms, cpu {py_cpu:.3} ms per panorama"
                    );
                    println!(
                        "    plan+turbojpeg (1 thread) faster by: wall x{:.2}, cpu x{:.2}; all threads: wall x{:.2} (goal >= 2)",
                        py_ms / ours,
                        py_cpu / ours_cpu,
                        py_ms / ours_par,
                    );
                }
            }
        }
    }
    Ok(())
}
