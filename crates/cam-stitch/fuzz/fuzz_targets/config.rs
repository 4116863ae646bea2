//! Fuzz target over the camera config: arbitrary bytes as `cameras_config.json` (the first two
//! bytes choose small camera image sizes), with small limits. Checks: no panic; the source
//! picker returns URLs the config holds; a config that
//! validates round-trips through `to_json_string`; a plan built from it renders into a buffer of
//! its output size, with each camera present or missing, and never panics on wrong inputs.
#![no_main]

use cam_stitch::{Config, Limits, Plan, PlanOptions, RgbImage, SourcePreference};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_side: 256,
    max_output_pixels: 256 * 256,
};

fuzz_target!(|data: &[u8]| {
    let (head, json) = data.split_at(data.len().min(2));
    let Ok(json) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(config) = Config::from_json_str_with_limits(json, &LIMITS) else {
        return;
    };
    let again = Config::from_json_str_with_limits(&config.to_json_string(), &LIMITS)
        .expect("a valid config round-trips");
    assert_eq!(again, config);
    // The source picker never panics, and a URL it picks is one the config holds.
    for preference in [SourcePreference::Http, SourcePreference::Rtsp] {
        if let Ok(urls) = config.sources(preference) {
            assert_eq!(urls.len(), config.camera.len());
            for (url, cam) in urls.iter().zip(&config.camera) {
                let held = [cam.url.jpg.as_deref(), cam.url.rtsp.as_deref()];
                assert!(held.contains(&Some(url.as_str())));
                let _ = url.to_string();
            }
        }
    }

    let w = 1 + u32::from(head.first().copied().unwrap_or(0) % 64);
    let h = 1 + u32::from(head.get(1).copied().unwrap_or(0) % 64);
    let sizes = vec![(w, h); config.camera.len()];
    let options = PlanOptions {
        feather: u32::from(head.first().copied().unwrap_or(0) % 5),
        limits: LIMITS,
        ..PlanOptions::default()
    };
    let Ok(plan) = Plan::with_options(&config, &sizes, &options) else {
        return;
    };
    let (ow, oh) = plan.output_size();
    assert!(u64::from(ow) * u64::from(oh) <= LIMITS.max_output_pixels);
    let images: Vec<RgbImage> = sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| {
            let mut img = RgbImage::new(w, h);
            for (k, b) in img.as_mut_bytes().iter_mut().enumerate() {
                *b = (k * 31 + i * 7) as u8;
            }
            img
        })
        .collect();
    let mut out = plan.new_output();
    let all: Vec<_> = images.iter().map(|i| Some(i.view())).collect();
    plan.render(&all, &mut out).expect("inputs of the planned sizes render");
    let some_missing: Vec<_> = images
        .iter()
        .enumerate()
        .map(|(i, img)| (i % 2 == 0).then(|| img.view()))
        .collect();
    plan.render(&some_missing, &mut out)
        .expect("missing cameras render as placeholders");
    // Wrong inputs are errors, not panics.
    let _ = plan.render(&all[..all.len().saturating_sub(1)], &mut out);
    let small = RgbImage::new(1, 1);
    let wrong: Vec<_> = images.iter().map(|_| Some(small.view())).collect();
    let _ = plan.render(&wrong, &mut out);
});
