//! `stitch --config CFG.json --out OUT.png IMG0 IMG1 ...`
//!
//! Stitches one panorama from camera images in config order (JPEG or PNG). Writes PNG, or JPEG
//! when OUT ends in `.jpg`/`.jpeg`; prints `WIDTHxHEIGHT` and the per-frame render time.
//! A bad config or a wrong number of images exits with status 1 and a one-line reason.
//!
//! Options: `--feather N` (blend width at seams), `--quality Q` (JPEG output, default 90),
//! `--iters N` (render N times and report the median).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cam_stitch::{Config, ImageFormat, Plan, PlanOptions, RgbImage, StitchError, decode_image};

struct Args {
    config: PathBuf,
    out: PathBuf,
    images: Vec<PathBuf>,
    feather: u32,
    quality: u8,
    iters: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut out = None;
    let mut images = Vec::new();
    let mut feather = 0;
    let mut quality = 90;
    let mut iters = 1;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--feather" => {
                feather = value("--feather")?
                    .parse()
                    .map_err(|e| format!("--feather: {e}"))?
            }
            "--quality" => {
                quality = value("--quality")?
                    .parse()
                    .map_err(|e| format!("--quality: {e}"))?
            }
            "--iters" => {
                iters = value("--iters")?
                    .parse::<usize>()
                    .map_err(|e| format!("--iters: {e}"))?
                    .max(1)
            }
            "-h" | "--help" => {
                return Err(
                    "usage: stitch --config CFG.json --out OUT.png IMG0 IMG1 ... [--feather N] [--quality Q] [--iters N]"
                        .into(),
                );
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => images.push(PathBuf::from(a)),
        }
    }
    Ok(Args {
        config: config.ok_or("missing --config CFG.json")?,
        out: out.ok_or("missing --out OUT.png")?,
        images,
        feather,
        quality,
        iters,
    })
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let config = Config::from_path(&args.config).map_err(|e| e.to_string())?;
    if args.images.len() != config.camera.len() {
        return Err(format!(
            "config has {} cameras but {} images were given",
            config.camera.len(),
            args.images.len()
        ));
    }
    let cams = args
        .images
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            decode_image(&bytes).map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect::<Result<Vec<RgbImage>, String>>()?;
    let sizes: Vec<_> = cams.iter().map(RgbImage::size).collect();
    let options = PlanOptions {
        feather: args.feather,
        ..PlanOptions::default()
    };
    let plan = Plan::with_options(&config, &sizes, &options).map_err(|e| e.to_string())?;
    let inputs: Vec<_> = cams.iter().map(|c| Some(c.view())).collect();
    let mut pano = plan.new_output();
    let mut times = Vec::with_capacity(args.iters);
    for _ in 0..args.iters {
        let t0 = Instant::now();
        plan.render(&inputs, &mut pano).map_err(|e| e.to_string())?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];

    // PNG for any name not ending in .jpg/.jpeg (the CLI's contract).
    let saved = match ImageFormat::from_path(&args.out) {
        Some(ImageFormat::Jpeg) => pano.view().save_with_quality(&args.out, args.quality),
        _ => pano.view().encode_png().and_then(|png| {
            std::fs::write(&args.out, png).map_err(|source| StitchError::Write {
                path: args.out.clone(),
                source,
            })
        }),
    };
    saved.map_err(|e| e.to_string())?;
    let (w, h) = plan.output_size();
    println!("{w}x{h}");
    println!(
        "render: {median:.3} ms per frame (median of {})",
        args.iters
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stitch: {e}");
            ExitCode::FAILURE
        }
    }
}
