//! Criterion bench of the pose pipeline's pre- and post-processing stages (the models are timed
//! by `examples/pose_bench.rs`), on the golden frame `p2s_single_cam01_f060` (1080x1920) and its
//! saved raw model outputs. `cargo bench --bench pose`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use pose_core::detector::{DetectorConfig, Letterbox, decode_detections, detector_input};
use pose_core::landmarks::{RawLandmarks, landmark_input, postprocess};
use pose_core::{RgbImage, Roi};

/// Minimal `.npy` reader (little-endian float32, C order).
fn read_npy(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("read npy");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn stages(c: &mut Criterion) {
    let golden = posecam_test_support::shared("models/golden");
    let t = |n: &str| {
        read_npy(
            &golden
                .join("tensors")
                .join(format!("p2s_single_cam01_f060_{n}.npy")),
        )
    };
    let img = RgbImage::open(golden.join("frames/p2s_single_cam01_f060.jpg")).expect("decode");
    let frame = img.as_frame();
    let (boxes, scores) = (t("det_out_Identity"), t("det_out_Identity_1"));
    let (lms, presence, heatmap, world) = (
        t("lite_out_Identity"),
        t("lite_out_Identity_1"),
        t("lite_out_Identity_3"),
        t("lite_out_Identity_4"),
    );
    let lb = Letterbox::new(img.width, img.height);
    let det = decode_detections(
        &boxes,
        &scores,
        &lb,
        img.width,
        img.height,
        &DetectorConfig::default(),
    );
    let roi = Roi::from_detection(&det[0]);

    let mut det_tensor = vec![0f32; 224 * 224 * 3];
    let mut lm_tensor = vec![0f32; 256 * 256 * 3];
    c.bench_function("pose/detector_input 1080x1920->224", |b| {
        b.iter(|| detector_input(black_box(&frame), 1, &mut det_tensor))
    });
    c.bench_function("pose/detector_decode_nms", |b| {
        b.iter(|| {
            decode_detections(
                black_box(&boxes),
                black_box(&scores),
                &lb,
                img.width,
                img.height,
                &DetectorConfig::default(),
            )
        })
    });
    c.bench_function("pose/landmark_input roi->256", |b| {
        b.iter(|| landmark_input(black_box(&frame), black_box(&roi), 1, &mut lm_tensor))
    });
    c.bench_function("pose/landmark_postprocess (refine+project)", |b| {
        b.iter(|| {
            postprocess(
                &RawLandmarks {
                    landmarks: black_box(&lms),
                    presence: presence[0],
                    heatmap: Some(&heatmap),
                    world: &world,
                },
                black_box(&roi),
            )
        })
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
