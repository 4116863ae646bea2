//! `--simulate`: simulated ESP32-CAMs on loopback, fed from the fixtures embedded in the binary
//! (`testdata/relay/`: three 640x480 cameras of a real panorama, frames 40 and 160 of the Sports2D
//! demo), and the matching config.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::sim_camera::SimCamera;

/// The config matching the fixtures (the old format, `hight` included).
pub const CONFIG_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/relay/cameras_config.json"
));

const FIXTURES: [[&[u8]; 2]; 3] = [
    [
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f040/cam0.jpg"
        )),
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f160/cam0.jpg"
        )),
    ],
    [
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f040/cam1.jpg"
        )),
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f160/cam1.jpg"
        )),
    ],
    [
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f040/cam2.jpg"
        )),
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/relay/f160/cam2.jpg"
        )),
    ],
];

/// Number of fixture cameras.
pub const CAMERAS: usize = FIXTURES.len();

/// The fixture JPEGs of camera `cam` (modulo the number of fixture cameras).
pub fn frames(cam: usize) -> Vec<Bytes> {
    FIXTURES[cam % CAMERAS]
        .iter()
        .map(|b| Bytes::from_static(b))
        .collect()
}

/// Starts `n` simulated cameras on free loopback ports at `fps`.
pub async fn start_cameras(n: usize, fps: f64) -> std::io::Result<Vec<SimCamera>> {
    let mut cams = Vec::with_capacity(n);
    for i in 0..n {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        cams.push(SimCamera::start(addr, frames(i), fps).await?);
    }
    Ok(cams)
}
