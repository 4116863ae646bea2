//! The dance server over a real WebSocket: real frames in, scored replies out; every kind of bad
//! input; newest-wins dropping; a client that never reads. The server is the built
//! `dance_server` example, run as a process.
#![allow(dead_code, clippy::unwrap_used)]

mod dance_harness;

use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use dance_harness::{Limits, Server, cam02_jpegs, start_server};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(60);

async fn connect(server: &Server, query: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url(query))
        .await
        .expect("connect to /client");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "first message: {hello}");
    (ws, hello)
}

/// The next text message as JSON (binary messages are returned as {"binary": len}).
async fn next_msg(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a reply within the timeout")
            .expect("the socket is open")
            .expect("a valid message");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("reply is JSON"),
            Message::Binary(b) => {
                return json!({ "binary": b.len(), "jpeg": b.starts_with(&[0xFF, 0xD8]) });
            }
            Message::Close(c) => return json!({ "close": c.map(|c| u16::from(c.code)) }),
            _ => continue,
        }
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    let v = next_msg(ws).await;
    assert!(v.get("type").is_some(), "expected a JSON message, got {v}");
    v
}

async fn send_frame(ws: &mut Ws, id: u64, t: f64, jpeg: &[u8]) {
    let header = json!({ "type": "frame", "id": id, "t": t }).to_string();
    ws.send(Message::text(header)).await.expect("send header");
    ws.send(Message::binary(jpeg.to_vec()))
        .await
        .expect("send JPEG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_real_frames_and_scores_them() {
    let frames = cam02_jpegs(15, "ws-stream");
    let server = start_server(Limits::default(), 0).await;
    let (mut ws, hello) = connect(&server, "").await;
    assert_eq!(hello["protocol"], 1);
    assert_eq!(hello["model"], "lite");
    assert_eq!(hello["dancer"]["width"], 540);
    assert_eq!(hello["dancer"]["height"], 960);
    let duration = hello["dancer"]["duration_s"].as_f64().unwrap();
    assert!((duration - 3.33).abs() < 0.1, "dancer duration {duration}");
    assert!(!hello["limbs"].as_array().unwrap().is_empty());

    ws.send(Message::text(r#"{"type":"start"}"#)).await.unwrap();
    let mut persons = 0;
    let mut scored = 0;
    let mut pose_ms = Vec::new();
    for (i, jpeg) in frames.iter().enumerate() {
        let id = i as u64 + 1;
        let t = i as f64 / 15.0;
        send_frame(&mut ws, id, t, jpeg).await;
        let r = next_json(&mut ws).await;
        assert_eq!(r["type"], "result", "{r}");
        assert_eq!(r["id"], id);
        assert_eq!(
            (r["width"].as_u64(), r["height"].as_u64()),
            (Some(640), Some(480))
        );
        assert!((r["t"].as_f64().unwrap() - t).abs() < 1e-9);
        assert!(r["latency_ms"]["server"].as_f64().unwrap() > 0.0);
        assert!(r["latency_ms"]["pose"].as_f64().unwrap() > 0.0);
        pose_ms.push(r["latency_ms"]["pose"].as_f64().unwrap());
        if r["person"] == true {
            persons += 1;
            let kps = r["keypoints"].as_array().unwrap();
            assert_eq!(kps.len(), 33);
            // The person stands in the middle 270 px of the padded frame.
            let hip_x = kps[23][0].as_f64().unwrap();
            assert!((185.0..455.0).contains(&hip_x), "left hip x {hip_x}");
        }
        if let Some(s) = r["score"].as_f64() {
            scored += 1;
            assert!((0.0..=1.0).contains(&s), "score {s}");
            assert_eq!(
                r["correct"].as_bool().unwrap(),
                s >= hello["threshold"].as_f64().unwrap()
            );
            assert_eq!(
                r["basis"], "world",
                "the view score on world landmarks: {r}"
            );
            let df = r["dancer_frame"].as_u64().expect("dancer frame compared");
            let dt = r["dancer_t"].as_f64().unwrap();
            assert!((dt - t).abs() <= 1.0, "dancer frame {df} at {dt} for t {t}");
            let limbs = r["limbs"].as_array().unwrap();
            assert!(!limbs.is_empty());
            for l in limbs {
                assert!(l["name"].is_string() && !l["bones"].as_array().unwrap().is_empty());
            }
        }
    }
    pose_ms.sort_by(f64::total_cmp);
    println!(
        "{} frames, pose estimation median {:.1} ms (this build's profile)",
        frames.len(),
        pose_ms[pose_ms.len() / 2]
    );
    assert!(
        persons * 10 >= frames.len() * 9,
        "a person in {persons} of {} frames",
        frames.len()
    );
    assert!(
        scored * 10 >= frames.len() * 8,
        "scored {scored} of {}",
        frames.len()
    );

    // The old client's data URL, no header: the server counts the frame and uses its clock.
    let url = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&frames[5])
    );
    ws.send(Message::text(url)).await.unwrap();
    let r = next_json(&mut ws).await;
    assert_eq!(r["type"], "result", "{r}");
    assert_eq!(r["id"], frames.len() as u64 + 1);
    assert_eq!(r["person"], true);

    ws.send(Message::text(r#"{"type":"end"}"#)).await.unwrap();
    let s = next_json(&mut ws).await;
    assert_eq!(s["type"], "summary", "{s}");
    assert!(s["scored"].as_u64().unwrap() >= scored as u64);
    assert!(
        ["S", "A", "B", "C", "D"].contains(&s["grade"].as_str().unwrap_or("none")),
        "{s}"
    );
    let dtw = s["dtw_score"].as_f64().expect("a DTW score");
    assert!((0.0..=1.0).contains(&dtw));
    assert_eq!(s["scoring"], "view", "view mode by default: {s}");
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_replies_carry_a_jpeg() {
    let frames = cam02_jpegs(5, "ws-annotated");
    let robust = Limits {
        score: "robust",
        ..Limits::default()
    };
    let server = start_server(robust, 0).await;
    let (mut ws, hello) = connect(&server, "?annotated=1").await;
    assert_eq!(hello["annotated"], true);
    send_frame(&mut ws, 7, 0.5, &frames[3]).await;
    let r = next_json(&mut ws).await;
    assert_eq!(r["type"], "result");
    let img = next_msg(&mut ws).await;
    assert_eq!(img["jpeg"], true, "{img}");
    assert!(img["binary"].as_u64().unwrap() > 5_000);
    // `--score robust`: the 2D score, said in the summary; replies carry no basis.
    assert!(r.get("basis").is_none(), "{r}");
    ws.send(Message::text(r#"{"type":"end"}"#)).await.unwrap();
    let s = next_json(&mut ws).await;
    assert_eq!(
        (s["type"].as_str(), s["scoring"].as_str()),
        (Some("summary"), Some("robust"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_frame_wins_when_frames_arrive_faster_than_inference() {
    let frames = cam02_jpegs(15, "ws-burst");
    let server = start_server(Limits::default(), 0).await;
    let (mut ws, _) = connect(&server, "").await;
    let n = 40u64;
    for id in 1..=n {
        send_frame(&mut ws, id, 0.0, &frames[id as usize % frames.len()]).await;
    }
    let mut ids = Vec::new();
    let mut dropped = 0;
    while ids.last() != Some(&n) {
        let r = next_json(&mut ws).await;
        assert_eq!(r["type"], "result", "{r}");
        ids.push(r["id"].as_u64().unwrap());
        dropped = r["dropped"].as_u64().unwrap();
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "replies in order: {ids:?}"
    );
    assert!((ids.len() as u64) < n, "some frames dropped: {ids:?}");
    assert_eq!(
        ids.len() as u64 + dropped,
        n,
        "every frame answered or counted as dropped"
    );
    // Nothing else is queued: the next message only comes for a new frame.
    let quiet = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
    assert!(quiet.is_err(), "no reply for a frame that was not sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_json_errors_and_close_codes() {
    let frames = cam02_jpegs(5, "ws-bad");
    let config = Limits {
        max_jpeg_bytes: 200_000,
        max_bad_messages: 10,
        ..Limits::default()
    };
    let server = start_server(config, 0).await;
    let (mut ok_client, _) = connect(&server, "").await;
    let (mut ws, _) = connect(&server, "").await;

    let mut garbage_jpeg = frames[0][..200].to_vec();
    garbage_jpeg.extend(std::iter::repeat_n(0x55u8, 5000));
    let mut big = frames[0].clone();
    big.resize(250_000, 0);
    let cases: Vec<(Message, &str)> = vec![
        (Message::binary(b"GIF89a not a jpeg".to_vec()), "not_jpeg"),
        (
            Message::text("data:image/jpeg;base64,!!!notbase64!!!"),
            "bad_base64",
        ),
        (
            Message::text("data:image/png;base64,iVBORw0KGgo="),
            "not_jpeg",
        ),
        (Message::text(r#"{"type":"moonwalk"}"#), "unknown_type"),
        (Message::text("{not json"), "bad_json"),
        (Message::text(r#"{"type":"frame","t":"soon"}"#), "bad_json"),
        (Message::binary(big), "too_large"),
        (Message::binary(garbage_jpeg), "bad_jpeg"),
    ];
    for (msg, code) in cases {
        ws.send(msg).await.unwrap();
        let r = next_json(&mut ws).await;
        assert_eq!(r["type"], "error", "{r}");
        assert_eq!(r["code"], code, "{r}");
        assert!(!r["message"].as_str().unwrap().is_empty());
    }
    // Still served after all that.
    send_frame(&mut ws, 99, 1.0, &frames[2]).await;
    let r = next_json(&mut ws).await;
    assert_eq!(
        (r["type"].as_str(), r["id"].as_u64()),
        (Some("result"), Some(99))
    );

    // Above the hard limit: close 1009.
    ws.send(Message::binary(vec![0xFF; 500_000])).await.unwrap();
    let closed = next_msg(&mut ws).await;
    assert_eq!(closed["close"], 1009, "{closed}");

    // Too many bad messages: close 1008.
    let (mut ws, _) = connect(&server, "").await;
    let mut close = None;
    for _ in 0..30 {
        if ws.send(Message::text("nope")).await.is_err() {
            break;
        }
    }
    while close.is_none() {
        let m = next_msg(&mut ws).await;
        if m.get("close").is_some() {
            close = Some(m["close"].clone());
        }
    }
    assert_eq!(close, Some(json!(1008)));

    // The other client never noticed.
    send_frame(&mut ok_client, 1, 0.2, &frames[1]).await;
    let r = next_json(&mut ok_client).await;
    assert_eq!(r["type"], "result", "{r}");
    assert_eq!(server.stats()["internal_errors"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_others_are_served() {
    let frames = cam02_jpegs(5, "ws-slow");
    let config = Limits {
        send_timeout_ms: 500,
        max_jpeg_bytes: 16 << 20,
        ..Limits::default()
    };
    let server = start_server(config, 0).await;
    // A client with a tiny receive buffer that asks for annotated JPEGs and never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(
        server.ws_url("?annotated=1"),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("handshake");
    let (mut fast, _) = connect(&server, "").await;
    // Noise does not compress: each annotated reply is megabytes, so the socket buffers fill
    // after a few replies whatever the machine's speed.
    let big = noise_jpeg(2048, 2048);

    // The slow client sends a frame at a time, whole (its writes fail once it is dropped).
    let slow_task = tokio::spawn(async move {
        for id in 1..=30u64 {
            let header = json!({ "type": "frame", "id": id, "t": 0.1 }).to_string();
            if slow.send(Message::text(header)).await.is_err()
                || slow.send(Message::binary(big.clone())).await.is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        slow
    });
    let started = tokio::time::Instant::now();
    let mut fast_replies = 0;
    let mut id = 0;
    while server.stats()["slow_readers"] == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "slow client not dropped within 90 s"
        );
        id += 1;
        send_frame(&mut fast, id, 0.1, &frames[id as usize % frames.len()]).await;
        let r = next_json(&mut fast).await;
        assert_eq!(r["type"], "result", "{r}");
        fast_replies += 1;
    }
    println!(
        "slow client dropped after {:.1} s; the other client got {fast_replies} replies meanwhile",
        started.elapsed().as_secs_f64()
    );
    slow_task.abort();
    assert!(fast_replies > 0);
    send_frame(&mut fast, 1000, 0.1, &frames[0]).await;
    assert_eq!(next_json(&mut fast).await["id"], 1000);
}

/// An incompressible JPEG (RGB noise), `w` x `h`.
fn noise_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&pixels, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode noise");
    out
}

/// Issue 13 defect 5: a burst of bad messages far above the limit still gets close code 1008
/// (the close frame goes out as soon as the limit is reached, whatever is still queued).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_bad_messages_gets_close_1008() {
    let server = start_server(Limits::default(), 0).await;
    for burst in [300usize, 1000] {
        let (ws, _) = connect(&server, "").await;
        let (mut sink, mut stream) = ws.split();
        // The whole burst is written before anything is read.
        let writer = tokio::spawn(async move {
            // Each message a few KB, as a browser's garbage would be: the burst overflows the
            // socket buffers, so the server has unread bytes when it closes.
            let bad = format!("nope{}", " ".repeat(4000));
            for _ in 0..burst {
                if sink.feed(Message::text(bad.clone())).await.is_err() {
                    break;
                }
            }
            let _ = sink.flush().await;
            sink
        });
        let mut close = None;
        let mut errors = 0;
        let started = tokio::time::Instant::now();
        while close.is_none() {
            assert!(
                started.elapsed() < WAIT,
                "no close frame after a burst of {burst}"
            );
            match tokio::time::timeout(WAIT, stream.next()).await {
                Ok(Some(Ok(Message::Close(c)))) => close = Some(c.map(|c| u16::from(c.code))),
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] == "error" {
                        errors += 1;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => panic!(
                    "burst of {burst}: connection ended without a close frame ({other:?}) after {errors} error replies"
                ),
            }
        }
        assert_eq!(close, Some(Some(1008)), "burst of {burst}");
        println!("burst of {burst}: close 1008 after {errors} error replies");
        drop(writer.await);
    }
}
