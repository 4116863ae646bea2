//! Pose of every person in one image, as JSON.
//!
//! ```text
//! cargo run --release -p pose-core --example pose -- IMAGE [--model lite|full|heavy] [--json OUT.json] [--draw OUT.png]
//! ```
//!
//! Prints `{"width":W,"height":H,"poses":[{"score":S,"landmarks":[[x,y,z,visibility,presence], ...33]}]}`
//! (pixels, image coordinates; score = pose presence) to stdout, or writes it to OUT.json.
//! `--draw` writes the image with the skeletons drawn on it. Exit code 0 on success (also when
//! no person is found), 2 on a usage error, 1 when the image or the models cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use pose_core::draw::{DrawStyle, draw_poses};
use pose_core::{ModelKind, Pose, PoseConfig, PoseEstimator, RgbImage, RuntimeConfig};

/// Most persons reported per image.
const MAX_POSES: usize = 4;

const USAGE: &str =
    "usage: pose IMAGE [--model lite|full|heavy] [--json OUT.json] [--draw OUT.png]";

struct Args {
    image: PathBuf,
    model: ModelKind,
    json: Option<PathBuf>,
    draw: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut image = None;
    let mut model = ModelKind::Full;
    let mut json = None;
    let mut draw = None;
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.to_str() {
            Some("--model") => {
                let v = value("--model")?;
                model = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("--model: {v:?} is not lite, full or heavy"))?;
            }
            Some("--json") => json = Some(PathBuf::from(value("--json")?)),
            Some("--draw") => draw = Some(PathBuf::from(value("--draw")?)),
            Some("-h" | "--help") => return Err(String::new()),
            Some(s) if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if image.is_none() => image = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        image: image.ok_or("missing IMAGE")?,
        model,
        json,
        draw,
    })
}

/// The output document (fields in the order of the interface).
#[derive(serde::Serialize)]
struct Output {
    width: u32,
    height: u32,
    poses: Vec<OutputPose>,
}

#[derive(serde::Serialize)]
struct OutputPose {
    score: f32,
    landmarks: Vec<[f32; 5]>,
}

fn to_json(width: u32, height: u32, poses: &[Pose]) -> Result<String, String> {
    let out = Output {
        width,
        height,
        poses: poses
            .iter()
            .map(|p| OutputPose {
                score: p.score,
                landmarks: p
                    .landmarks
                    .iter()
                    .map(|l| [l.x, l.y, l.z, l.visibility, l.presence])
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string(&out).map_err(|e| e.to_string())
}

fn run(args: Args) -> Result<(), String> {
    let image = RgbImage::open(&args.image).map_err(|e| e.to_string())?;
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model: args.model,
            ..Default::default()
        },
        max_poses: MAX_POSES,
        ..Default::default()
    };
    let mut estimator = PoseEstimator::new(config).map_err(|e| e.to_string())?;
    let poses = estimator
        .estimate(&image.as_frame())
        .map_err(|e| e.to_string())?;
    let json = to_json(image.width, image.height, &poses)?;
    match &args.json {
        Some(path) => {
            std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => println!("{json}"),
    }
    if let Some(path) = &args.draw {
        let mut rgb = image.data.clone();
        draw_poses(
            &mut rgb,
            image.width,
            image.height,
            &poses,
            &DrawStyle::default(),
        )
        .map_err(|e| e.to_string())?;
        image::save_buffer(
            path,
            &rgb,
            image.width,
            image.height,
            image::ColorType::Rgb8,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("pose: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("pose: {msg}");
            ExitCode::FAILURE
        }
    }
}
