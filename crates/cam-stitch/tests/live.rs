//! The live stitcher on the relay's real camera frames (`testdata/relay/f040`, `f160`): what it
//! renders (frames, placeholders, labels), plan rebuilds, bad frames, stale frames, counters.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cam_stitch::{
    CameraFrame, Config, JpegCodec, LABEL_RGB, LiveOptions, LiveStitcher, PLACEHOLDER_RGB, Plan,
    RgbImage, Tile,
};

fn frame(set: &str, cam: usize) -> Bytes {
    posecam_test_support::read(&posecam_test_support::testdata(&format!(
        "relay/{set}/cam{cam}.jpg"
    )))
    .into()
}

fn config() -> Config {
    Config::from_path(posecam_test_support::testdata("relay/cameras_config.json")).unwrap()
}

fn decode(jpeg: &[u8]) -> RgbImage {
    let mut img = RgbImage::default();
    JpegCodec::new().unwrap().decode(jpeg, &mut img).unwrap();
    img
}

/// The panorama that the plan renders from these inputs (`None`: placeholder tile), no labels.
fn expected(inputs: &[Option<&RgbImage>]) -> RgbImage {
    let sizes: Vec<(u32, u32)> = inputs
        .iter()
        .map(|i| i.map_or((640, 480), RgbImage::size))
        .collect();
    let plan = Plan::with_options(&config(), &sizes, &LiveOptions::default().plan).unwrap();
    let mut out = plan.new_output();
    let views: Vec<_> = inputs.iter().map(|i| i.map(RgbImage::view)).collect();
    plan.render(&views, &mut out).unwrap();
    out
}

/// Columns of each camera's tile in the panorama.
fn columns(live: &LiveStitcher, cam: usize) -> std::ops::Range<u32> {
    live.plan().unwrap().camera_columns(cam).unwrap()
}

/// Whether camera `cam`'s tile is a placeholder: only the tile and label colours.
fn is_placeholder(live: &LiveStitcher, cam: usize) -> bool {
    let pano = live.panorama();
    let mut label = 0;
    for y in 0..pano.height() {
        for x in columns(live, cam) {
            match pano.pixel(x, y) {
                Some(PLACEHOLDER_RGB) => {}
                Some(LABEL_RGB) => label += 1,
                _ => return false,
            }
        }
    }
    label > 0
}

#[test]
fn renders_the_newest_frames_like_the_plan() {
    let now = Instant::now();
    let mut live = LiveStitcher::new(config(), LiveOptions::default()).unwrap();
    for cam in 0..3 {
        live.push_jpeg(cam, frame("f040", cam), now).unwrap();
        // A newer frame replaces it before any render: only the newest is decoded.
        live.push(cam, CameraFrame::Jpeg(frame("f160", cam)), now)
            .unwrap();
    }
    let pano = live.render(now).unwrap();
    assert_eq!(
        pano.tiles,
        (0..3).map(|_| Tile::Live { seq: 2 }).collect::<Vec<_>>()
    );
    let imgs: Vec<RgbImage> = (0..3).map(|c| decode(&frame("f160", c))).collect();
    let want = expected(&[Some(&imgs[0]), Some(&imgs[1]), Some(&imgs[2])]);
    assert!(live.panorama().as_bytes() == want.as_bytes());
    // One JPEG, of the panorama.
    let back = decode(&pano.jpeg);
    assert_eq!(back.size(), (1604, 400));
    let mean_diff = back
        .as_bytes()
        .iter()
        .zip(want.as_bytes())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum::<u64>() as f64
        / want.as_bytes().len() as f64;
    assert!(mean_diff < 3.0, "{mean_diff}");
    for cam in 0..3 {
        let s = live.stats(cam).unwrap();
        assert_eq!(
            (
                s.frames_pushed,
                s.frames_decoded,
                s.frames_skipped,
                s.bad_frames
            ),
            (2, 1, 1, 0)
        );
    }
    // Rendering again without new frames shows the same frames.
    let again = live.render(now).unwrap();
    assert_eq!(again.tiles, pano.tiles);
    assert!(live.panorama().as_bytes() == want.as_bytes());
    assert_eq!(live.stats(0).unwrap().frames_decoded, 1);
}

#[test]
fn missing_stale_and_offline_cameras_are_labelled_placeholders() {
    let t0 = Instant::now();
    let mut live = LiveStitcher::new(config(), LiveOptions::default()).unwrap();
    live.push_jpeg(0, frame("f040", 0), t0).unwrap();
    live.push_jpeg(2, frame("f040", 2), t0).unwrap();
    live.set_offline(2, Some("camera 2 offline".into()))
        .unwrap();
    let pano = live.render(t0).unwrap();
    assert_eq!(pano.tiles[0], Tile::Live { seq: 1 });
    assert_eq!(
        pano.tiles[1],
        Tile::Placeholder {
            label: "camera 1 no picture".into()
        }
    );
    assert_eq!(
        pano.tiles[2],
        Tile::Placeholder {
            label: "camera 2 offline".into()
        }
    );
    assert!(!is_placeholder(&live, 0));
    assert!(is_placeholder(&live, 1));
    assert!(is_placeholder(&live, 2));
    // The live tile is exactly the plan's rendering of the frame.
    let img0 = decode(&frame("f040", 0));
    let img2 = decode(&frame("f040", 2));
    let want = expected(&[Some(&img0), None, None]);
    let pano_rgb = live.panorama();
    for y in [0, 200, 399] {
        for x in columns(&live, 0) {
            assert_eq!(pano_rgb.pixel(x, y), want.pixel(x, y));
        }
    }

    // 999 ms later camera 0 is still fresh; at 1 s it is stale.
    assert_eq!(
        live.tile(0, t0 + Duration::from_millis(999)),
        Some(Tile::Live { seq: 1 })
    );
    let later = t0 + Duration::from_secs(1);
    let pano = live.render(later).unwrap();
    assert_eq!(
        pano.tiles[0],
        Tile::Placeholder {
            label: "camera 0 stale".into()
        }
    );
    assert!(is_placeholder(&live, 0));

    // Camera 2 back online: its (old) frame is stale too; a fresh one shows.
    live.set_offline(2, None).unwrap();
    assert_eq!(
        live.tile(2, later),
        Some(Tile::Placeholder {
            label: "camera 2 stale".into()
        })
    );
    live.push_rgb(2, Arc::new(img2.clone()), later).unwrap();
    live.push_rgb(0, Arc::new(img0.clone()), later).unwrap();
    let pano = live.render(later).unwrap();
    assert_eq!(pano.tiles[2], Tile::Live { seq: 2 });
    let want = expected(&[Some(&img0), None, Some(&img2)]);
    for x in columns(&live, 2) {
        assert_eq!(live.panorama().pixel(x, 100), want.pixel(x, 100));
    }
    assert_eq!(live.tiles(later).len(), 3);
    assert!(live.push_rgb(3, Arc::new(img2), later).is_err());
    assert!(live.set_offline(7, None).is_err());
}

/// A copy of `jpeg` whose SOF declares `width x height`.
fn with_size(jpeg: &[u8], width: u16, height: u16) -> Bytes {
    let mut out = jpeg.to_vec();
    let mut i = 2;
    while i + 9 < out.len() {
        let len = usize::from(u16::from_be_bytes([out[i + 2], out[i + 3]]));
        if matches!(out[i + 1], 0xC0..=0xC2) {
            out[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            out[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            return out.into();
        }
        i += 2 + len;
    }
    panic!("no SOF");
}

#[test]
fn a_bad_frame_costs_its_camera_one_frame_and_nothing_more() {
    for parallel in [false, true] {
        let mut options = LiveOptions::default();
        options.plan.parallel = parallel;
        let mut live = LiveStitcher::new(config(), options).unwrap();
        let t0 = Instant::now();
        for cam in 0..3 {
            live.push_jpeg(cam, frame("f040", cam), t0).unwrap();
        }
        live.render(t0).unwrap();
        let good0 = frame("f160", 0);
        for (k, bad) in [
            with_size(&good0, 65535, 65535),
            with_size(&good0, 0, 0),
            Bytes::from_static(b"not a jpeg"),
        ]
        .into_iter()
        .enumerate()
        {
            let t = t0 + Duration::from_millis(100 * (k as u64 + 1));
            live.push_jpeg(0, bad, t).unwrap();
            for cam in 1..3 {
                live.push_jpeg(cam, frame(["f040", "f160"][k % 2], cam), t)
                    .unwrap();
            }
            let pano = live.render(t).unwrap();
            // Camera 0 keeps its last good frame; the others show their new one.
            assert_eq!(pano.tiles[0], Tile::Live { seq: 1 }, "parallel {parallel}");
            assert_eq!(pano.tiles[1], Tile::Live { seq: k as u64 + 2 });
            let s = live.stats(0).unwrap();
            assert_eq!(s.bad_frames, k as u64 + 1);
            assert!(s.last_bad_reason.is_some());
            assert_eq!(live.stats(1).unwrap().bad_frames, 0);
        }
        let reason = live.stats(0).unwrap().last_bad_reason.clone().unwrap();
        assert!(reason.contains("JPEG decode"), "{reason}");
        // The next good frame from camera 0 decodes, and the panorama is what a fresh stitcher
        // renders from the same frames.
        let t = t0 + Duration::from_millis(500);
        let latest: Vec<Bytes> = vec![good0.clone(), frame("f160", 1), frame("f160", 2)];
        for (cam, j) in latest.iter().enumerate() {
            live.push_jpeg(cam, j.clone(), t).unwrap();
        }
        let pano = live.render(t).unwrap();
        assert!(matches!(pano.tiles[0], Tile::Live { seq: 5 }));
        let mut fresh = LiveStitcher::new(config(), LiveOptions::default()).unwrap();
        for (cam, j) in latest.iter().enumerate() {
            fresh.push_jpeg(cam, j.clone(), t).unwrap();
        }
        let want = fresh.render(t).unwrap();
        assert!(pano.jpeg == want.jpeg, "parallel {parallel}");
        assert!(live.panorama().as_bytes() == fresh.panorama().as_bytes());
    }
}

#[test]
fn plan_follows_a_camera_size_change_and_limits_hold() {
    let t = Instant::now();
    let options = LiveOptions {
        max_jpeg_bytes: 50_000,
        ..Default::default()
    };
    let mut live = LiveStitcher::new(config(), options).unwrap();
    // Before any frame: every camera at the default size, all placeholders.
    let pano = live.render(t).unwrap();
    assert_eq!(live.plan().unwrap().input_sizes(), vec![(640, 480); 3]);
    assert!((0..3).all(|c| is_placeholder(&live, c)));
    assert_eq!(decode(&pano.jpeg).size(), (1604, 400));

    // Camera 1 at half size: the plan is rebuilt for it.
    let img = decode(&frame("f040", 1));
    let mut half = RgbImage::new(320, 240);
    for y in 0..240 {
        for x in 0..320 {
            let p = img.pixel(x * 2, y * 2).unwrap();
            let o = (y as usize * 320 + x as usize) * 3;
            half.as_mut_bytes()[o..o + 3].copy_from_slice(&p);
        }
    }
    let jpeg = cam_stitch::encode_jpeg(half.view(), 90).unwrap();
    live.push_jpeg(1, jpeg.clone().into(), t).unwrap();
    let pano = live.render(t).unwrap();
    assert_eq!(pano.tiles[1], Tile::Live { seq: 1 });
    assert_eq!(
        live.plan().unwrap().input_sizes(),
        vec![(640, 480), (320, 240), (640, 480)]
    );
    assert_eq!(decode(&pano.jpeg).size(), (1604, 400));
    let decoded = decode(&jpeg);
    let want = expected(&[None, Some(&decoded), None]);
    for x in columns(&live, 1) {
        assert_eq!(live.panorama().pixel(x, 200), want.pixel(x, 200));
    }

    // Over max_jpeg_bytes (camera 2's frame is 74 KB): a bad frame, nothing else changes.
    live.push_jpeg(2, frame("f040", 2), t).unwrap();
    let s = live.stats(2).unwrap();
    assert_eq!((s.frames_pushed, s.bad_frames), (1, 1));
    assert!(
        s.last_bad_reason
            .as_deref()
            .unwrap()
            .contains("exceeds 50000")
    );
    assert!(matches!(
        live.render(t).unwrap().tiles[2],
        Tile::Placeholder { .. }
    ));
    // An empty image is a bad frame too.
    live.push_rgb(0, Arc::new(RgbImage::default()), t).unwrap();
    assert_eq!(live.stats(0).unwrap().bad_frames, 1);
}
