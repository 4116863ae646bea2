//! A camera relay in ~50 lines from the crates: HTTP cameras of the old `cameras_config.json` ->
//! one stitched MJPEG panorama for any number of viewers. (`camera_relay` adds cameras connected
//! only while someone watches, `/health`, `/metrics`, snapshots, auth, RTSP, `--simulate`.)
//!
//! ```text
//! cargo run --release --example mini_relay -- cameras_config.json 127.0.0.1:5000
//! ```

use std::time::{Duration, Instant};

use cam_stitch::{Config, LiveOptions, LiveStitcher, RenderSchedule, SourcePreference, SourceUrl};
use futures_util::StreamExt as _;
use stream_codec::fanout::{Fanout, SubscribeOptions};
use stream_codec::serve::{ServeLimits, Server};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let config = Config::from_path(args.next().unwrap_or("cameras_config.json".into()))?;
    let listen = args.next().unwrap_or("127.0.0.1:5000".into());
    let (tx, mut frames) = tokio::sync::mpsc::channel(16);
    for (i, url) in config
        .sources(SourcePreference::Http)?
        .into_iter()
        .enumerate()
    {
        let SourceUrl::Http(url) = url else { continue };
        let (tx, mut camera) = (
            tx.clone(),
            stream_codec::client::connect(&url, Default::default())?,
        );
        tokio::spawn(async move {
            while let Some(item) = camera.next().await {
                let _ = tx.send((i, item.map(|f| f.data))).await;
            }
        });
    }
    let mut live = LiveStitcher::new(config, LiveOptions::default())?;
    let (hub, writer) = (Fanout::default(), stream_codec::Writer::new("frame")?);
    let (out, content_type) = (hub.clone(), writer.content_type());
    tokio::spawn(async move {
        let ms = Duration::from_millis;
        let mut schedule = RenderSchedule::new(30.0, ms(50), ms(500));
        loop {
            let now = Instant::now();
            match schedule.next(&live.tiles(now), None, now) {
                Some(at) => tokio::select! {
                    Some((i, Ok(jpeg))) = frames.recv() => { let _ = live.push_jpeg(i, jpeg, Instant::now()); }
                    () = tokio::time::sleep_until(at.into()) => {}
                },
                None => match live.render(now) {
                    Ok(pano) => {
                        out.publish(writer.encode_part(&pano.jpeg, None));
                        schedule.rendered(pano.tiles, now);
                    }
                    Err(e) => eprintln!("render: {e}"),
                },
            }
        }
    });
    let stream = |hub: Fanout<bytes::Bytes>, ct: String| async move {
        let parts = hub
            .subscribe(SubscribeOptions::default())
            .ok()
            .map(|s| s.into_stream());
        let parts = futures_util::stream::iter(parts).flatten();
        let body = axum::body::Body::from_stream(parts.map(|p| Ok::<_, std::io::Error>(p.item)));
        ([(axum::http::header::CONTENT_TYPE, ct)], body)
    };
    let app = axum::Router::new().route(
        "/stream",
        axum::routing::get(move || stream(hub.clone(), content_type.clone())),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("relay on http://{listen}/stream");
    Server::new(ServeLimits::default())
        .run(listener, app)
        .await?;
    Ok(())
}
