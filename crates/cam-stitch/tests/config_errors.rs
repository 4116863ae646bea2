//! Bad configs give errors that name the camera and the field.
#![allow(clippy::unwrap_used)]

use cam_stitch::{Config, Limits, Plan, RgbImage, StitchError};
use posecam_test_support::shared;

fn camera(src: &str, width: i64, hight: i64, front: i64, back: i64, rotate: i64) -> String {
    format!(
        r#"{{"url":{{"jpg":"http://x/capture"}},"rotate":{rotate},
            "perspective":{{"src":{src},"width":{width},"hight":{hight}}},
            "concat_x":{{"front":{front},"back":{back}}}}}"#
    )
}

const GOOD: &str = "[[32,53],[49,407],[598,437],[599,40]]";

/// A two-camera config whose camera 1 is built from the arguments.
fn with_cam1(src: &str, width: i64, hight: i64, front: i64, back: i64, rotate: i64) -> String {
    format!(
        r#"{{"camera":[{},{}]}}"#,
        camera(GOOD, 620, 400, 0, 545, 0),
        camera(src, width, hight, front, back, rotate)
    )
}

fn invalid(json: &str) -> (usize, &'static str, String) {
    match Config::from_json_str(json) {
        Err(StitchError::InvalidCamera {
            camera,
            field,
            reason,
        }) => (camera, field, reason),
        other => panic!("expected InvalidCamera, got {other:?}"),
    }
}

#[test]
fn loads_the_seed_configs() {
    let vga = Config::from_path(shared("media/stitch/cameras_config.json")).unwrap();
    assert_eq!(vga.camera.len(), 3);
    assert_eq!(vga.camera[1].rotate, cam_stitch::Rotation::Half);
    assert_eq!(vga.camera[1].perspective.src[3], [632.0, 61.0]);
    assert_eq!(vga.output_size(), (1604, 400));
    assert_eq!(
        vga.camera[0].url.jpg.as_deref(),
        Some("http://192.168.4.101/capture")
    );
    let hd = Config::from_path(shared("media/stitch/hd/cameras_config.json")).unwrap();
    assert_eq!(hd.output_size(), (3216, 560));
    // round trip through the old format
    let again = Config::from_json_str(&vga.to_json_string()).unwrap();
    assert_eq!(again, vga);
    assert!(vga.to_json_string().contains("\"hight\""));
}

#[test]
fn accepts_height_spelling() {
    let json = with_cam1(GOOD, 620, 400, 75, 567, 180).replace("hight", "height");
    let c = Config::from_json_str(&json).unwrap();
    assert_eq!(c.camera[1].perspective.height, 400);
}

#[test]
fn degenerate_quad_names_camera_and_field() {
    let (cam, field, reason) = invalid(&with_cam1(
        "[[0,0],[10,10],[20,20],[600,40]]",
        620,
        400,
        0,
        600,
        0,
    ));
    assert_eq!((cam, field), (1, "perspective.src"));
    assert!(reason.contains("collinear"), "{reason}");
    let (cam, field, _) = invalid(&with_cam1("[[5,5],[5,5],[5,5],[5,5]]", 620, 400, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.src"));
}

#[test]
fn self_crossing_quad_is_rejected() {
    // BL and BR swapped: a bow tie
    let (cam, field, reason) = invalid(&with_cam1(
        "[[32,53],[598,437],[49,407],[599,40]]",
        620,
        400,
        0,
        600,
        0,
    ));
    assert_eq!((cam, field), (1, "perspective.src"));
    assert!(reason.contains("self-crossing"), "{reason}");
}

#[test]
fn wrong_point_count_is_rejected() {
    let (cam, field, _) = invalid(&with_cam1("[[0,0],[0,10],[10,10]]", 620, 400, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.src"));
}

#[test]
fn zero_and_oversized_sizes() {
    let (cam, field, reason) = invalid(&with_cam1(GOOD, 0, 400, 0, 0, 0));
    assert_eq!((cam, field), (1, "perspective.width"));
    assert!(reason.contains("zero"), "{reason}");
    let (cam, field, _) = invalid(&with_cam1(GOOD, 620, 0, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.hight"));
    let (cam, field, reason) = invalid(&with_cam1(GOOD, 100_000, 400, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.width"));
    assert!(reason.contains("limit"), "{reason}");
    // configurable limit
    let small = Limits {
        max_side: 500,
        ..Limits::default()
    };
    match Config::from_json_str_with_limits(&with_cam1(GOOD, 620, 400, 0, 600, 0), &small) {
        Err(StitchError::InvalidCamera { camera, field, .. }) => {
            assert_eq!((camera, field), (0, "perspective.width"))
        }
        other => panic!("{other:?}"),
    }
    let (cam, field, _) = invalid(&with_cam1(GOOD, -5, 400, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.width"));
}

#[test]
fn front_after_back_and_back_beyond_width() {
    let (cam, field, _) = invalid(&with_cam1(GOOD, 620, 400, 300, 200, 0));
    assert_eq!((cam, field), (1, "concat_x.front"));
    let (cam, field, reason) = invalid(&with_cam1(GOOD, 620, 400, 0, 621, 0));
    assert_eq!((cam, field), (1, "concat_x.back"));
    assert!(reason.contains("621"), "{reason}");
}

#[test]
fn rotate_must_be_a_right_angle() {
    for bad in [45, -90, 360, 1] {
        let (cam, field, reason) = invalid(&with_cam1(GOOD, 620, 400, 0, 600, bad));
        assert_eq!((cam, field), (1, "rotate"));
        assert!(reason.contains(&bad.to_string()), "{reason}");
    }
    for good in [0, 90, 180, 270] {
        Config::from_json_str(&with_cam1(GOOD, 620, 400, 0, 600, good)).unwrap();
    }
}

#[test]
fn unequal_heights_are_rejected() {
    let (cam, field, _) = invalid(&with_cam1(GOOD, 620, 300, 0, 600, 0));
    assert_eq!((cam, field), (1, "perspective.hight"));
}

#[test]
fn empty_and_malformed() {
    assert!(matches!(
        Config::from_json_str(r#"{"camera":[]}"#),
        Err(StitchError::NoCameras)
    ));
    assert!(matches!(
        Config::from_json_str("{not json"),
        Err(StitchError::Json(_))
    ));
    let err = Config::from_path("/nonexistent/cameras_config.json").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cameras_config.json"));
}

#[test]
fn wrong_image_size_names_the_camera() {
    let config = Config::from_path(shared("media/stitch/cameras_config.json")).unwrap();
    let plan = Plan::new(&config, &[(640, 480); 3]).unwrap();
    let ok = RgbImage::new(640, 480);
    let small = RgbImage::new(320, 240);
    let mut out = plan.new_output();
    let err = plan
        .render(
            &[Some(ok.view()), Some(ok.view()), Some(small.view())],
            &mut out,
        )
        .unwrap_err();
    match err {
        StitchError::ImageSize {
            camera,
            got_width,
            got_height,
            ..
        } => assert_eq!((camera, got_width, got_height), (2, 320, 240)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        plan.render(&[Some(ok.view())], &mut out),
        Err(StitchError::CameraCount {
            expected: 3,
            got: 1
        })
    ));
    assert!(matches!(
        Plan::new(&config, &[(640, 480); 2]),
        Err(StitchError::CameraCount { .. })
    ));
    assert!(matches!(
        Plan::new(&config, &[(640, 480), (0, 480), (640, 480)]),
        Err(StitchError::ImageSize { camera: 1, .. })
    ));
    let mut wrong_out = RgbImage::new(10, 10);
    assert!(matches!(
        plan.render(&[None, None, None], &mut wrong_out),
        Err(StitchError::OutputSize { .. })
    ));
}

/// A two-camera config whose `url` values are the given JSON texts (`None`: no `url` key).
fn with_urls(url0: Option<&str>, url1: Option<&str>) -> String {
    let cam = |url: Option<&str>| {
        let url = url.map(|u| format!(r#""url":{u},"#)).unwrap_or_default();
        format!(
            r#"{{{url}"perspective":{{"src":{GOOD},"width":620,"hight":400}},"concat_x":{{"front":0,"back":545}}}}"#
        )
    };
    format!(r#"{{"camera":[{},{}]}}"#, cam(url0), cam(url1))
}

#[test]
fn url_parses_whole_and_errors_name_camera_and_field() {
    use cam_stitch::{SourcePreference, SourceUrl};
    let e = Config::from_json_str(&with_urls(
        Some(r#"{"jpg":"http://a/capture"}"#),
        Some(r#"{"jpg":5}"#),
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "camera 1: `url.jpg`: expected a URL string, found 5"
    );
    let both = r#"{"rtsp":"rtsp://x/y","jpg":"http://x/capture"}"#;
    let c =
        Config::from_json_str(&with_urls(Some(r#""http://plain:81/stream""#), Some(both))).unwrap();
    assert_eq!(
        c.sources(SourcePreference::Rtsp).unwrap(),
        [
            SourceUrl::Http("http://plain:81/stream".into()),
            SourceUrl::Rtsp("rtsp://x/y".into())
        ]
    );
    assert_eq!(
        c.sources(SourcePreference::Http).unwrap()[1],
        SourceUrl::Http("http://x/capture".into())
    );
    // `mjpeg` and `stream` are HTTP URLs too; a plain rtsp string is the RTSP URL.
    let c = Config::from_json_str(&with_urls(
        Some(r#"{"mjpeg":"http://m/"}"#),
        Some(r#""rtsp://r/""#),
    ))
    .unwrap();
    assert_eq!(c.camera[0].url.jpg.as_deref(), Some("http://m/"));
    assert_eq!(c.camera[1].url.rtsp.as_deref(), Some("rtsp://r/"));
    assert_eq!(
        c.sources(SourcePreference::Http).unwrap()[1],
        SourceUrl::Rtsp("rtsp://r/".into())
    );
    // round trip
    assert_eq!(Config::from_json_str(&c.to_json_string()).unwrap(), c);

    for (url, field, needle) in [
        (r#""https://x/""#, "url", "https is not supported"),
        (r#""ftp://x/""#, "url", "is not an http:// or rtsp:// URL"),
        (r#""http://""#, "url", "has no host"),
        ("7", "url", "expected a string or an object, found 7"),
        (r#"{"rtsp":true}"#, "url.rtsp", "expected a URL string"),
        (r#"{"stream":"nope"}"#, "url.stream", "not an http://"),
    ] {
        let (cam, f, reason) = invalid(&with_urls(Some(r#""http://ok/""#), Some(url)));
        assert_eq!((cam, f), (1, field), "{url}");
        assert!(reason.contains(needle), "{url}: {reason}");
    }
    // Credentials never appear in errors.
    let (_, _, reason) = invalid(&with_urls(Some(r#""ftp://admin:s3cret@cam/""#), None));
    assert!(!reason.contains("s3cret"), "{reason}");
    // The stitcher does not need URLs; the source picker names the camera that has none.
    let c = Config::from_json_str(&with_urls(Some(r#""http://a/""#), Some("{}"))).unwrap();
    let e = c.sources(SourcePreference::Http).unwrap_err().to_string();
    assert!(e.starts_with("camera 1: `url`: missing"), "{e}");
    let c = Config::from_json_str(&with_urls(None, Some(r#""http://b/""#))).unwrap();
    let e = c.sources(SourcePreference::Http).unwrap_err().to_string();
    assert!(e.starts_with("camera 0: `url`: missing"), "{e}");
}
