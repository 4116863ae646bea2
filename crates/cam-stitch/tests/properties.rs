//! Property tests of the geometry and the plan.
#![allow(clippy::unwrap_used)]

use cam_stitch::{
    CameraConfig, ConcatX, Config, Homography, Perspective, Plan, PlanOptions, RgbImage, Rotation,
};
use proptest::prelude::*;

/// A random convex quad: a rectangle with each corner jittered inward/outward a little.
fn quad() -> impl Strategy<Value = [[f32; 2]; 4]> {
    (
        0i32..200,
        0i32..200,
        100i32..1200,
        100i32..800,
        prop::array::uniform8(-30i32..30),
    )
        .prop_map(|(x, y, w, h, j)| {
            let (x, y, w, h) = (x as f32, y as f32, w as f32, h as f32);
            [
                [x + j[0] as f32, y + j[1] as f32],
                [x + j[2] as f32, y + h + j[3] as f32],
                [x + w + j[4] as f32, y + h + j[5] as f32],
                [x + w + j[6] as f32, y + j[7] as f32],
            ]
        })
}

fn one_camera(
    src: [[f64; 2]; 4],
    w: u32,
    h: u32,
    rotate: Rotation,
    front: u32,
    back: u32,
) -> Config {
    Config {
        camera: vec![CameraConfig {
            rotate,
            perspective: Perspective {
                src,
                width: w,
                height: h,
            },
            concat_x: ConcatX { front, back },
            ..CameraConfig::default()
        }],
    }
}

fn random_image(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut s = seed | 1;
    let data = (0..w as usize * h as usize * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    RgbImage::from_raw(w, h, data).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn homography_maps_quad_onto_rectangle(src in quad(), w in 16u32..2000, h in 16u32..2000) {
        let (wf, hf) = (w as f32, h as f32);
        let dst = [[0.0, 0.0], [0.0, hf], [wf, hf], [wf, 0.0]];
        let m = Homography::from_quads(&src, &dst).unwrap();
        let inv = m.inverse().unwrap();
        for (s, d) in src.iter().zip(&dst) {
            let (x, y) = m.apply(f64::from(s[0]), f64::from(s[1]));
            prop_assert!((x - f64::from(d[0])).abs() < 1e-6 * f64::from(w.max(h)), "{x} vs {}", d[0]);
            prop_assert!((y - f64::from(d[1])).abs() < 1e-6 * f64::from(w.max(h)), "{y} vs {}", d[1]);
            let (u, v) = inv.apply(f64::from(d[0]), f64::from(d[1]));
            prop_assert!((u - f64::from(s[0])).abs() < 1e-6 * 2000.0);
            prop_assert!((v - f64::from(s[1])).abs() < 1e-6 * 2000.0);
        }
    }

    #[test]
    fn rotate_180_twice_is_identity(w in 1u32..40, h in 1u32..40, seed in any::<u64>()) {
        let img = random_image(w, h, seed);
        let twice = img.view().rotated(Rotation::Half).view().rotated(Rotation::Half);
        prop_assert_eq!(&twice, &img);
        let four = img.view().rotated(Rotation::Clockwise90).view().rotated(Rotation::Clockwise90)
            .view().rotated(Rotation::Clockwise270).view().rotated(Rotation::Clockwise270);
        prop_assert_eq!(&four, &img);
        prop_assert_eq!(Rotation::Half.then(Rotation::Half), Rotation::None);
    }

    /// A plan whose quad is the whole (rotated) image reproduces the crop of that image exactly,
    /// with the rotation folded in.
    #[test]
    fn identity_quad_reproduces_crop(
        w in 2u32..48, h in 2u32..48, seed in any::<u64>(), rot in 0usize..4,
        a in 0u32..48, b in 0u32..48,
    ) {
        let rotation = [Rotation::None, Rotation::Clockwise90, Rotation::Half, Rotation::Clockwise270][rot];
        let img = random_image(w, h, seed);
        let (rw, rh) = rotation.rotated_size(w, h);
        let (front, back) = (a.min(b) % rw, a.max(b) % rw + 1);
        let (front, back) = (front.min(back - 1), back);
        let (fw, fh) = (f64::from(rw), f64::from(rh));
        let config = one_camera([[0.0, 0.0], [0.0, fh], [fw, fh], [fw, 0.0]], rw, rh, rotation, front, back);
        let plan = Plan::new(&config, &[(w, h)]).unwrap();
        let mut out = plan.new_output();
        plan.render(&[Some(img.view())], &mut out).unwrap();
        let rotated = img.view().rotated(rotation);
        prop_assert_eq!(out.size(), (back - front, rh));
        for y in 0..rh {
            for x in front..back {
                prop_assert_eq!(out.pixel(x - front, y), rotated.pixel(x, y), "at {},{}", x, y);
            }
        }
    }

    /// Splitting rows across threads gives the same pixels as one thread.
    #[test]
    fn parallel_equals_serial(src in quad(), seed in any::<u64>()) {
        let src64 = src.map(|[x, y]| [f64::from(x), f64::from(y)]);
        let config = one_camera(src64, 200, 90, Rotation::Half, 10, 190);
        let opts = PlanOptions { parallel: true, feather: 0, ..PlanOptions::default() };
        let mut plan = Plan::with_options(&config, &[(320, 240)], &opts).unwrap();
        let img = random_image(320, 240, seed);
        let mut a = plan.new_output();
        let mut b = plan.new_output();
        plan.render(&[Some(img.view())], &mut a).unwrap();
        plan.set_parallel(false);
        plan.render(&[Some(img.view())], &mut b).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn missing_camera_renders_placeholder_and_feather_blends() {
    let json = r#"{"camera":[
      {"perspective":{"src":[[0,0],[0,30],[64,30],[64,0]],"width":64,"hight":30},"concat_x":{"front":0,"back":40}},
      {"perspective":{"src":[[0,0],[0,30],[64,30],[64,0]],"width":64,"hight":30},"concat_x":{"front":24,"back":64}}]}"#;
    let config = Config::from_json_str(json).unwrap();
    let mut white = RgbImage::new(64, 30);
    white.as_mut_bytes().fill(255);
    let black = RgbImage::new(64, 30);
    let opts = PlanOptions {
        feather: 16,
        placeholder: [10, 20, 30],
        ..PlanOptions::default()
    };
    let plan = Plan::with_options(&config, &[(64, 30), (64, 30)], &opts).unwrap();
    let mut out = plan.new_output();
    plan.render(&[Some(white.view()), Some(black.view())], &mut out)
        .unwrap();
    // far from the seam: pure views; across the seam (column 40, +-8): a monotone ramp
    assert_eq!(out.pixel(20, 15), Some([255; 3]));
    assert_eq!(out.pixel(70, 15), Some([0; 3]));
    let ramp: Vec<u8> = (32..48).map(|x| out.pixel(x, 15).unwrap()[0]).collect();
    assert!(ramp.windows(2).all(|p| p[0] > p[1]), "{ramp:?}");
    assert!(ramp[0] > 240 && ramp[15] < 15, "{ramp:?}");
    // camera 0 missing: its tile is the placeholder colour
    plan.render(&[None, Some(black.view())], &mut out).unwrap();
    assert_eq!(out.pixel(5, 5), Some([10, 20, 30]));
    assert_eq!(out.pixel(70, 5), Some([0; 3]));
    plan.render(&[None, None], &mut out).unwrap();
    assert!(out.as_bytes().chunks_exact(3).all(|p| p == [10, 20, 30]));
}
