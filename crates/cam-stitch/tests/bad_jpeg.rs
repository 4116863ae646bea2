//! Issue 13, defect 1: one malformed JPEG must never poison a codec. A real camera frame
//! (`testdata/relay/f040/cam0.jpg`) with its SOF patched to declare 65535x65535 (libjpeg-turbo
//! refuses it) or 0x0 is fed to a codec, then healthy frames must decode with the same codec,
//! equal to what a fresh codec gives, on every path: RGB, YCbCr planes, the whole
//! [`JpegStitcher`] step, and the `image` backend.
#![allow(clippy::unwrap_used)]

use cam_stitch::{Config, JpegBackend, JpegCodec, JpegStitcher, PlanOptions, RgbImage, StitchPath};

fn fixture(cam: usize) -> Vec<u8> {
    posecam_test_support::read(&posecam_test_support::testdata(&format!(
        "relay/f040/cam{cam}.jpg"
    )))
}

/// Offset of the SOF0/SOF1/SOF2 segment's height field (width follows it).
fn sof_size_offset(jpeg: &[u8]) -> usize {
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if matches!(marker, 0xC0..=0xC2) {
            // FF Cx, length (2), precision (1), height (2), width (2)
            return i + 5;
        }
        i += 2 + len;
    }
    panic!("no SOF segment in the fixture");
}

/// `jpeg` with its SOF declaring `width x height`.
fn with_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let at = sof_size_offset(&out);
    out[at..at + 2].copy_from_slice(&height.to_be_bytes());
    out[at + 2..at + 4].copy_from_slice(&width.to_be_bytes());
    out
}

fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let good = fixture(0);
    vec![
        ("65535x65535", with_size(&good, 65535, 65535)),
        ("0x0", with_size(&good, 0, 0)),
        // The 919-byte case of the issue: a short file that still declares 65535x65535.
        ("65535x65535 truncated", {
            let mut j = with_size(&good, 65535, 65535);
            j.truncate(919);
            j
        }),
    ]
}

fn backends() -> Vec<JpegBackend> {
    let mut b = vec![JpegBackend::Image];
    if JpegBackend::TurboJpeg.is_available() {
        b.push(JpegBackend::TurboJpeg);
    }
    b
}

#[test]
fn fixture_patch_is_where_the_decoder_reads_the_size() {
    let good = fixture(0);
    let mut codec = JpegCodec::new().unwrap();
    let h = codec.read_header(&good).unwrap();
    let patched = with_size(&good, 320, 200);
    let p = codec.read_header(&patched).unwrap();
    assert_eq!((h.width, h.height), (640, 480));
    assert_eq!((p.width, p.height), (320, 200));
}

#[test]
fn rgb_decode_recovers_after_a_malformed_jpeg() {
    for backend in backends() {
        let mut reference = Vec::new();
        for cam in 0..3 {
            let mut img = RgbImage::default();
            JpegCodec::with_backend(backend)
                .unwrap()
                .decode(&fixture(cam), &mut img)
                .unwrap();
            reference.push(img);
        }
        for (what, bad) in malformed() {
            let mut codec = JpegCodec::with_backend(backend).unwrap();
            let mut img = RgbImage::default();
            codec.decode(&fixture(1), &mut img).unwrap();
            // The bad frame fails, several times in a row (a camera serving it for seconds).
            for _ in 0..3 {
                assert!(
                    codec.decode(&bad, &mut img).is_err(),
                    "{backend:?}: {what} decoded"
                );
                assert!(codec.read_header(&bad).is_err() || what == "65535x65535 truncated");
            }
            for round in 0..2 {
                for (cam, want) in reference.iter().enumerate() {
                    let mut got = RgbImage::default();
                    codec.decode(&fixture(cam), &mut got).unwrap_or_else(|e| {
                        panic!("{backend:?}: after {what}, camera {cam} round {round}: {e}")
                    });
                    assert!(
                        got.as_bytes() == want.as_bytes(),
                        "{backend:?}: after {what}, camera {cam} decodes differently"
                    );
                }
            }
            // The codec still encodes too.
            let mut jpeg = Vec::new();
            codec.encode(reference[0].view(), 80, &mut jpeg).unwrap();
            assert!(jpeg.len() > 1000);
        }
    }
}

#[test]
fn yuv_decode_recovers_after_a_malformed_jpeg() {
    if !JpegBackend::TurboJpeg.is_available() {
        return; // the plane decode needs libjpeg-turbo (checked with --all-features)
    }
    let mut reference = cam_stitch::YuvFrame::default();
    JpegCodec::new()
        .unwrap()
        .decode_yuv(&fixture(2), &mut reference)
        .unwrap();
    for (what, bad) in malformed() {
        let mut codec = JpegCodec::new().unwrap();
        let mut frame = cam_stitch::YuvFrame::default();
        for _ in 0..3 {
            assert!(
                codec.decode_yuv(&bad, &mut frame).is_err(),
                "{what} decoded"
            );
        }
        let mut got = cam_stitch::YuvFrame::default();
        codec
            .decode_yuv(&fixture(2), &mut got)
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert!(got.as_bytes() == reference.as_bytes(), "after {what}");
    }
}

fn relay_config() -> Config {
    Config::from_path(posecam_test_support::testdata("relay/cameras_config.json")).unwrap()
}

#[test]
fn jpeg_stitcher_recovers_after_a_malformed_jpeg() {
    let cams: Vec<Vec<u8>> = (0..3).map(fixture).collect();
    for rgb_only in [false, true] {
        let stitch = |s: &mut JpegStitcher| {
            let mut out = Vec::new();
            s.stitch(&[Some(&cams[0]), Some(&cams[1]), Some(&cams[2])], &mut out)
                .map(|p| (p, out))
        };
        let mut fresh = JpegStitcher::new(relay_config(), PlanOptions::default()).unwrap();
        fresh.set_rgb_only(rgb_only);
        let (want_path, want) = stitch(&mut fresh).unwrap();
        if !rgb_only && JpegBackend::TurboJpeg.is_available() {
            assert_eq!(want_path, StitchPath::Yuv);
        }
        for (what, bad) in malformed() {
            let mut s = JpegStitcher::new(relay_config(), PlanOptions::default()).unwrap();
            s.set_rgb_only(rgb_only);
            stitch(&mut s).unwrap();
            for _ in 0..3 {
                let mut out = Vec::new();
                let e = s
                    .stitch(&[Some(&bad), Some(&cams[1]), Some(&cams[2])], &mut out)
                    .expect_err("a malformed frame is an error");
                assert!(e.to_string().contains("camera 0"), "{what}: {e}");
            }
            let (path, got) =
                stitch(&mut s).unwrap_or_else(|e| panic!("rgb_only {rgb_only}, after {what}: {e}"));
            assert_eq!(path, want_path);
            assert!(
                got == want,
                "rgb_only {rgb_only}: after {what} the panorama differs"
            );
        }
    }
}
