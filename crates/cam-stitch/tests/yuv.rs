//! The YCbCr path: plane geometry (proptest), the JPEG-in -> JPEG-out stitcher against the RGB
//! path on the shared sets, fallbacks and placeholders.
#![allow(clippy::unwrap_used)]

mod support;

use cam_stitch::{
    CameraConfig, ConcatX, Config, Perspective, PlanOptions, Rotation, Subsampling, YuvFrame,
    YuvPlan,
};
use proptest::prelude::*;

fn xorshift(s: &mut u64) -> u8 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    (*s >> 24) as u8
}

fn random_frame(w: u32, h: u32, sub: Subsampling, seed: u64) -> YuvFrame {
    let mut f = YuvFrame::new(w, h, sub);
    let mut s = seed | 1;
    f.as_mut_bytes()
        .iter_mut()
        .for_each(|v| *v = xorshift(&mut s));
    f
}

/// Sample `(x, y)` of the `w x h` plane `p` (row stride `stride`) rotated by `rotation`.
fn rotated_at(p: &[u8], stride: usize, w: u32, h: u32, rotation: Rotation, x: u32, y: u32) -> u8 {
    let (xo, yo) = match rotation {
        Rotation::None => (x, y),
        Rotation::Half => (w - 1 - x, h - 1 - y),
        Rotation::Clockwise90 => (y, h - 1 - x),
        Rotation::Clockwise270 => (w - 1 - y, x),
    };
    p[yo as usize * stride + xo as usize]
}

fn one_camera(rw: u32, rh: u32, rotate: Rotation, front: u32, back: u32) -> Config {
    let (fw, fh) = (f64::from(rw), f64::from(rh));
    Config {
        camera: vec![CameraConfig {
            rotate,
            perspective: Perspective {
                src: [[0.0, 0.0], [0.0, fh], [fw, fh], [fw, 0.0]],
                width: rw,
                height: rh,
            },
            concat_x: ConcatX { front, back },
            ..CameraConfig::default()
        }],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With the whole (rotated) frame as the quad, the Y plane is the exact crop and, for an even
    /// crop start, so are the 4:2:0 chroma planes (each chroma sample lands on a source sample).
    #[test]
    fn identity_quad_reproduces_planes(
        hw in 1u32..24, hh in 1u32..24, seed in any::<u64>(), rot in 0usize..4,
        a in 0u32..48, b in 0u32..48,
    ) {
        let rotation = [Rotation::None, Rotation::Clockwise90, Rotation::Half, Rotation::Clockwise270][rot];
        let (w, h) = (2 * hw, 2 * hh);
        let (rw, rh) = rotation.rotated_size(w, h);
        let back = a.max(b) % rw + 1;
        let front = (a.min(b) % rw).min(back - 1) & !1;
        let frame = random_frame(w, h, Subsampling::S420, seed);
        let plan = YuvPlan::new(&one_camera(rw, rh, rotation, front, back), &[((w, h), Subsampling::S420)]).unwrap();
        let mut out = plan.new_output();
        plan.render(&[Some(&frame)], &mut out).unwrap();
        prop_assert_eq!(out.size(), (back - front, rh));
        let (fy, fu, fv) = frame.planes();
        let (oy, ou, ov) = out.planes();
        for y in 0..rh {
            for x in front..back {
                let want = rotated_at(fy, frame.y_stride(), w, h, rotation, x, y);
                prop_assert_eq!(oy[y as usize * out.y_stride() + (x - front) as usize], want, "Y at {},{}", x, y);
            }
        }
        let (cw, ch) = frame.chroma_size();
        let (ocw, och) = out.chroma_size();
        for v in 0..och {
            for u in 0..ocw {
                let (x, y) = (front / 2 + u, v);
                let i = v as usize * out.chroma_stride() + u as usize;
                let (rcw, _) = rotation.rotated_size(cw, ch);
                prop_assume!(x < rcw);
                prop_assert_eq!(ou[i], rotated_at(fu, frame.chroma_stride(), cw, ch, rotation, x, y), "Cb at {},{}", u, v);
                prop_assert_eq!(ov[i], rotated_at(fv, frame.chroma_stride(), cw, ch, rotation, x, y), "Cr at {},{}", u, v);
            }
        }
    }

    /// Splitting rows across threads gives the same planes as one thread, for any subsampling.
    #[test]
    fn parallel_equals_serial(seed in any::<u64>(), jitter in prop::array::uniform8(-30i32..30), sub in 0usize..5) {
        let sub = [Subsampling::S420, Subsampling::S422, Subsampling::S444, Subsampling::S440, Subsampling::S411][sub];
        let j = jitter.map(f64::from);
        let mut config = one_camera(200, 90, Rotation::Half, 11, 190);
        config.camera[0].perspective.src = [
            [20.0 + j[0], 10.0 + j[1]], [20.0 + j[2], 220.0 + j[3]],
            [300.0 + j[4], 230.0 + j[5]], [290.0 + j[6], 15.0 + j[7]],
        ];
        let opts = PlanOptions { parallel: true, feather: 0, ..PlanOptions::default() };
        let mut plan = YuvPlan::with_options(&config, &[((321, 241), sub)], &opts).unwrap();
        let frame = random_frame(321, 241, sub, seed);
        let mut a = plan.new_output();
        let mut b = plan.new_output();
        plan.render(&[Some(&frame)], &mut a).unwrap();
        plan.set_parallel(false);
        plan.render(&[Some(&frame)], &mut b).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn missing_camera_placeholder_and_feathered_seam() {
    let json = r#"{"camera":[
      {"perspective":{"src":[[0,0],[0,30],[64,30],[64,0]],"width":64,"hight":30},"concat_x":{"front":0,"back":41}},
      {"perspective":{"src":[[0,0],[0,30],[64,30],[64,0]],"width":64,"hight":30},"concat_x":{"front":24,"back":64}}]}"#;
    let config = Config::from_json_str(json).unwrap();
    let mut white = YuvFrame::new(64, 30, Subsampling::S420);
    white.planes_mut().0.fill(255);
    let black = YuvFrame::new(64, 30, Subsampling::S420);
    let inputs = [((64, 30), Subsampling::S420); 2];
    let opts = PlanOptions {
        feather: 16,
        placeholder: [10, 20, 30],
        ..PlanOptions::default()
    };
    let plan = YuvPlan::with_options(&config, &inputs, &opts).unwrap();
    let mut out = plan.new_output();
    plan.render(&[Some(&white), Some(&black)], &mut out)
        .unwrap();
    let row: Vec<u8> = out.planes().0[15 * out.y_stride()..][..81].to_vec();
    assert_eq!(row[20], 255);
    assert_eq!(row[70], 0);
    let ramp = &row[33..49];
    assert!(ramp.windows(2).all(|p| p[0] > p[1]), "{ramp:?}");
    assert!(out.planes().1.iter().all(|&v| v == 128), "grey stays grey");
    // camera 0 missing: its tile is the placeholder colour in YCbCr (JFIF)
    plan.render(&[None, Some(&black)], &mut out).unwrap();
    let (y, u, v) = out.planes();
    assert_eq!(
        (y[5 * out.y_stride() + 5], u[2 * out.chroma_stride() + 2]),
        (18, 135)
    );
    assert_eq!(v[2 * out.chroma_stride() + 2], 122);
    assert_eq!(y[5 * out.y_stride() + 70], 0);
    // the chroma sample straddling the hard seam would mix both cameras; here it's feathered
    plan.render(&[None, None], &mut out).unwrap();
    assert!(out.planes().0[..81].iter().all(|&v| v == 18));
}

/// JPEG in, JPEG out (needs libjpeg-turbo).
#[cfg(feature = "turbojpeg")]
mod jpeg_path {
    use crate::support::{read, shared};
    use cam_stitch::{Config, JpegCodec, JpegStitcher, PlanOptions, RgbImage, StitchPath};

    fn psnr(a: &RgbImage, b: &RgbImage) -> (f64, u8, f64) {
        assert_eq!(a.size(), b.size());
        let (mut se, mut max, mut over) = (0f64, 0u8, 0usize);
        for (&x, &y) in a.as_bytes().iter().zip(b.as_bytes()) {
            let d = x.abs_diff(y);
            se += f64::from(d) * f64::from(d);
            max = max.max(d);
            over += usize::from(d > 8);
        }
        let n = a.as_bytes().len() as f64;
        (
            10.0 * (255.0f64 * 255.0 / (se / n)).log10(),
            max,
            over as f64 / n,
        )
    }

    /// JPEG-in -> JPEG-out on every shared set: the YCbCr path's panorama is within 42 dB PSNR of
    /// the RGB path's (measured 48-51 dB) and within 38 dB of the OpenCV panorama (q95 JPEG loss
    /// included); fewer than 0.1 % of samples differ from the RGB path by more than 8 levels.
    #[test]
    fn yuv_path_matches_rgb_path_on_shared_sets() {
        for (set, frame) in [
            ("media/stitch", "f040"),
            ("media/stitch", "f160"),
            ("media/stitch/hd", "f040"),
        ] {
            let config = Config::from_path(shared(&format!("{set}/cameras_config.json"))).unwrap();
            let jpegs: Vec<Vec<u8>> = (0..config.camera.len())
                .map(|n| read(&shared(&format!("{set}/{frame}/cam{n}.jpg"))))
                .collect();
            let refs: Vec<Option<&[u8]>> = jpegs.iter().map(|j| Some(j.as_slice())).collect();
            let mut yuv = JpegStitcher::new(config.clone(), PlanOptions::default()).unwrap();
            let mut rgb = JpegStitcher::new(config, PlanOptions::default()).unwrap();
            rgb.set_rgb_only(true);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            assert_eq!(yuv.stitch(&refs, &mut a).unwrap(), StitchPath::Yuv);
            assert_eq!(rgb.stitch(&refs, &mut b).unwrap(), StitchPath::Rgb);
            let (pa, pb) = (
                cam_stitch::decode_jpeg(&a).unwrap(),
                cam_stitch::decode_jpeg(&b).unwrap(),
            );
            let (db, max, over) = psnr(&pa, &pb);
            eprintln!("{set}/{frame}: yuv vs rgb path PSNR {db:.2} dB, max {max}, {over:.5} > 8");
            assert!(db > 42.0 && over < 0.001, "{set}/{frame}: {db} dB, {over}");
            let expected =
                cam_stitch::decode_image(&read(&shared(&format!("{set}/{frame}/panorama.png"))))
                    .unwrap();
            let (db, _, _) = psnr(&pa, &expected);
            let (db_rgb, _, _) = psnr(&pb, &expected);
            eprintln!(
                "{set}/{frame}: vs panorama.png PSNR: yuv path {db:.2} dB, rgb path {db_rgb:.2} dB"
            );
            assert!(db > 38.0, "{set}/{frame}: {db} dB against panorama.png");
        }
    }

    /// Frames of every subsampling take the YCbCr path; grayscale frames fall back to RGB; a
    /// missing camera keeps its tile as the placeholder; a size change rebuilds the plan.
    #[test]
    fn stitcher_paths_and_fallbacks() {
        let config = Config::from_path(shared("media/stitch/cameras_config.json")).unwrap();
        let jpegs: Vec<Vec<u8>> = (0..3)
            .map(|n| read(&shared(&format!("media/stitch/f040/cam{n}.jpg"))))
            .collect();
        let mut codec = JpegCodec::new().unwrap();
        let cams: Vec<RgbImage> = jpegs
            .iter()
            .map(|j| {
                let mut img = RgbImage::default();
                codec.decode(j, &mut img).unwrap();
                img
            })
            .collect();
        let encode = |img: &RgbImage, sub: turbojpeg::Subsamp| -> Vec<u8> {
            let image = turbojpeg::Image {
                pixels: img.as_bytes(),
                width: img.width() as usize,
                pitch: img.width() as usize * 3,
                height: img.height() as usize,
                format: turbojpeg::PixelFormat::RGB,
            };
            turbojpeg::compress(image, 95, sub).unwrap().to_vec()
        };
        let mut reference = JpegStitcher::new(config.clone(), PlanOptions::default()).unwrap();
        reference.set_rgb_only(true);
        let mut stitcher = JpegStitcher::new(config.clone(), PlanOptions::default()).unwrap();
        for sub in [
            turbojpeg::Subsamp::None,
            turbojpeg::Subsamp::Sub2x1,
            turbojpeg::Subsamp::Sub1x2,
            turbojpeg::Subsamp::Sub4x1,
        ] {
            let js: Vec<Vec<u8>> = cams.iter().map(|c| encode(c, sub)).collect();
            let refs: Vec<Option<&[u8]>> = js.iter().map(|j| Some(j.as_slice())).collect();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            assert_eq!(stitcher.stitch(&refs, &mut a).unwrap(), StitchPath::Yuv);
            reference.stitch(&refs, &mut b).unwrap();
            let (db, _, _) = psnr(
                &cam_stitch::decode_jpeg(&a).unwrap(),
                &cam_stitch::decode_jpeg(&b).unwrap(),
            );
            assert!(db > 40.0, "{sub:?}: {db} dB");
        }
        // grayscale camera: the whole frame goes the RGB path
        let gray = encode(&cams[1], turbojpeg::Subsamp::Gray);
        let mut out = Vec::new();
        let path = stitcher
            .stitch(&[Some(&jpegs[0]), Some(&gray), Some(&jpegs[2])], &mut out)
            .unwrap();
        assert_eq!(path, StitchPath::Rgb);
        // camera 1 missing: placeholder tile (default [40, 40, 40]) in the middle of the panorama
        let path = stitcher
            .stitch(&[Some(&jpegs[0]), None, Some(&jpegs[2])], &mut out)
            .unwrap();
        assert_eq!(path, StitchPath::Yuv);
        let pano = cam_stitch::decode_jpeg(&out).unwrap();
        let mid = stitcher.yuv_plan().unwrap().camera_columns(1).unwrap();
        let px = pano.pixel((mid.start + mid.end) / 2, 200).unwrap();
        assert!(px.iter().all(|&v| v.abs_diff(40) <= 2), "{px:?}");
        // a smaller camera 2 frame: the plan is rebuilt for it
        let mut small = RgbImage::new(320, 240);
        small.as_mut_bytes().fill(128);
        let small = encode(&small, turbojpeg::Subsamp::Sub2x2);
        stitcher
            .stitch(&[Some(&jpegs[0]), Some(&jpegs[1]), Some(&small)], &mut out)
            .unwrap();
        assert_eq!(stitcher.yuv_plan().unwrap().inputs()[2].0, (320, 240));
        // wrong count and garbage are errors naming what is wrong
        let err = stitcher.stitch(&[None], &mut out).unwrap_err().to_string();
        assert!(err.contains("expected 3"), "{err}");
        let err = stitcher
            .stitch(&[Some(b"not a jpeg"), None, None], &mut out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("camera 0"), "{err}");
    }
}
