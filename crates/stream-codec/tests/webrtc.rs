//! WebRTC output end to end on loopback: the crate's WHEP server and H.264 track, viewed by
//! WebRTC clients built on str0m (one thread and one UDP socket each) that decode the H.264 they
//! receive with OpenH264.

mod support;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use openh264::formats::YUVSource;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use stream_codec::webrtc::{
    H264Settings, H264Track, Pushed, SDP_CONTENT_TYPE, WhepConfig, WhepServer,
};

/// A 640x480 camera frame from the relay fixtures, as packed RGB.
fn camera_frame() -> (Vec<u8>, u32, u32) {
    let path = crate::support::testdata("relay/f040/cam0.jpg");
    let jpeg = crate::support::read(&path);
    let img = image::load_from_memory(&jpeg)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w, h)
}

/// Frame `i` of a moving picture: the camera frame shifted right by `i` pixels (wrapping).
fn shifted(src: &[u8], w: u32, h: u32, i: u32) -> Vec<u8> {
    let (w, h) = (w as usize, h as usize);
    let shift = (i as usize * 4) % w;
    let mut out = vec![0u8; src.len()];
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        let dst = &mut out[y * w * 3..(y + 1) * w * 3];
        dst[shift * 3..].copy_from_slice(&row[..(w - shift) * 3]);
        dst[..shift * 3].copy_from_slice(&row[(w - shift) * 3..]);
    }
    out
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What a viewer saw.
#[derive(Default)]
struct Seen {
    connected: AtomicBool,
    frames: AtomicU64,
    keyframes: AtomicU64,
    decoded: AtomicU64,
    decode_errors: AtomicU64,
    last_rgb: Mutex<Option<(Vec<u8>, usize, usize)>>,
}

/// A WHEP viewer: str0m on its own UDP socket, in its own thread.
struct Viewer {
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    /// Stop reading the socket (and sending anything) from now on.
    stall: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    id: String,
}

impl Viewer {
    fn start(rt: &tokio::runtime::Runtime, server: &WhepServer, decode: bool) -> Viewer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind viewer");
        let local = socket.local_addr().expect("addr");
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_h264(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending): (_, SdpPendingOffer) = api.apply().expect("offer");
        let answer = rt
            .block_on(server.offer(Some(SDP_CONTENT_TYPE), offer.to_sdp_string().as_bytes()))
            .expect("WHEP offer accepted");
        assert!(answer.location.starts_with("/whep/"), "{}", answer.location);
        let sdp = SdpAnswer::from_sdp_string(&answer.sdp).expect("answer parses");
        rtc.sdp_api()
            .accept_answer(pending, sdp)
            .expect("answer accepted");
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let stall = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop, stall) = (seen.clone(), stop.clone(), stall.clone());
            thread::spawn(move || run_viewer(rtc, socket, &seen, &stop, &stall, decode))
        };
        Viewer {
            seen,
            stop,
            stall,
            thread: Some(thread),
            id: answer.id,
        }
    }

    fn frames(&self) -> u64 {
        self.seen.frames.load(Ordering::Relaxed)
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run_viewer(
    mut rtc: Rtc,
    socket: UdpSocket,
    seen: &Seen,
    stop: &AtomicBool,
    stall: &AtomicBool,
    decode: bool,
) {
    let local = socket.local_addr().expect("addr");
    let mut decoder = decode.then(|| openh264::decoder::Decoder::new().expect("decoder"));
    let mut buf = vec![0u8; 2048];
    let end = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        if stall.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => seen.connected.store(true, Ordering::Relaxed),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => return,
                    Event::MediaData(data) => {
                        seen.frames.fetch_add(1, Ordering::Relaxed);
                        let key = data.data.windows(5).any(|w| {
                            w[..4] == [0, 0, 0, 1] && (w[4] & 0x1f) == 5
                                || w[..3] == [0, 0, 1] && (w[3] & 0x1f) == 5
                        });
                        if key {
                            seen.keyframes.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some(decoder) = decoder.as_mut() {
                            match decoder.decode(&data.data) {
                                Ok(Some(yuv)) => {
                                    let (w, h) = yuv.dimensions();
                                    let mut rgb = vec![0u8; w * h * 3];
                                    yuv.write_rgb8(&mut rgb);
                                    seen.decoded.fetch_add(1, Ordering::Relaxed);
                                    if let Ok(mut last) = seen.last_rgb.lock() {
                                        *last = Some((rgb, w, h));
                                    }
                                }
                                Ok(None) => {}
                                Err(_) => {
                                    seen.decode_errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                    _ => {}
                },
                Err(_) => return,
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket.set_read_timeout(Some(wait)).expect("timeout");
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => match Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                Ok(r) => Input::Receive(Instant::now(), r),
                Err(_) => continue,
            },
            Err(_) => Input::Timeout(Instant::now()),
        };
        if rtc.handle_input(input).is_err() {
            return;
        }
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Pushes frames at `fps` from its own thread until stopped; counts encodes.
struct Producer {
    stop: Arc<AtomicBool>,
    encoded: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Producer {
    fn start(server: &WhepServer, fps: f64, moving: bool) -> Producer {
        let (rgb, w, h) = camera_frame();
        let stop = Arc::new(AtomicBool::new(false));
        let encoded = Arc::new(AtomicU64::new(0));
        let mut track = H264Track::new(
            server.clone(),
            H264Settings::default().with_bitrate(1_000_000),
        )
        .expect("track");
        let thread = {
            let (stop, encoded) = (stop.clone(), encoded.clone());
            thread::spawn(move || {
                let period = Duration::from_secs_f64(1.0 / fps);
                let mut next = Instant::now();
                let mut i = 0u32;
                let end = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    let frame = if moving {
                        shifted(&rgb, w, h, i)
                    } else {
                        rgb.clone()
                    };
                    i += 1;
                    match track
                        .push_rgb(&frame, w, h, Instant::now())
                        .expect("encode")
                    {
                        Pushed::Sent { .. } => {
                            encoded.fetch_add(1, Ordering::Relaxed);
                        }
                        Pushed::NoViewers | Pushed::Skipped => {}
                        other => panic!("unexpected {other:?}"),
                    }
                    next += period;
                    thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
        };
        Producer {
            stop,
            encoded,
            thread: Some(thread),
        }
    }

    fn encoded(&self) -> u64 {
        self.encoded.load(Ordering::Relaxed)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(rt: &tokio::runtime::Runtime, config: WhepConfig) -> WhepServer {
    rt.block_on(WhepServer::bind(config))
        .expect("bind WHEP server")
}

fn loopback_config() -> WhepConfig {
    WhepConfig::new("127.0.0.1:0".parse::<SocketAddr>().expect("addr"))
}

#[test]
fn one_viewer_decodes_the_picture() {
    let rt = runtime();
    let server = bind(&rt, loopback_config());
    let producer = Producer::start(&server, 15.0, false);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(producer.encoded(), 0, "nothing is encoded without viewers");
    let viewer = Viewer::start(&rt, &server, true);
    assert_eq!(server.viewers(), 1);
    wait_until("connected", Duration::from_secs(10), || {
        viewer.seen.connected.load(Ordering::Relaxed)
    });
    wait_until("30 decoded pictures", Duration::from_secs(15), || {
        viewer.seen.decoded.load(Ordering::Relaxed) >= 30
    });
    assert!(viewer.seen.keyframes.load(Ordering::Relaxed) >= 1);
    assert_eq!(viewer.seen.decode_errors.load(Ordering::Relaxed), 0);
    let (src, w, h) = camera_frame();
    let (rgb, dw, dh) = viewer
        .seen
        .last_rgb
        .lock()
        .expect("lock")
        .clone()
        .expect("a decoded picture");
    assert_eq!((dw, dh), (w as usize, h as usize));
    let db = psnr(&src, &rgb);
    // 1 Mbit/s at 15 fps for a still 640x480 camera picture; colour conversion both ways.
    assert!(db > 30.0, "PSNR of the decoded picture {db:.1} dB <= 30 dB");
    println!("decoded picture PSNR {db:.1} dB");
    let stats = server.stats();
    assert!(stats.latency_p50.is_some());
    // DELETE ends the session.
    rt.block_on(server.delete(&viewer.id)).expect("DELETE");
    wait_until("no viewers", Duration::from_secs(2), || {
        server.viewers() == 0
    });
    let before = producer.encoded();
    thread::sleep(Duration::from_millis(500));
    assert!(
        producer.encoded() <= before + 1,
        "encoding stops without viewers"
    );
}

#[test]
fn twenty_viewers_one_encoder_and_a_stalled_viewer() {
    let rt = runtime();
    let server = bind(
        &rt,
        loopback_config().with_silence_timeout(Duration::from_secs(3)),
    );
    let producer = Producer::start(&server, 15.0, true);
    let viewers: Vec<Viewer> = (0..20)
        .map(|_| Viewer::start(&rt, &server, false))
        .collect();
    let stalled = Viewer::start(&rt, &server, false);
    assert_eq!(server.viewers(), 21);
    wait_until("all connected", Duration::from_secs(20), || {
        viewers.iter().all(|v| v.frames() >= 3) && stalled.frames() >= 3
    });
    // The stalled viewer stops reading its socket: packets for it pile up in its buffer and
    // then get dropped by the kernel; its session is closed when it goes silent.
    stalled.stall.store(true, Ordering::Relaxed);
    let start_frames: Vec<u64> = viewers.iter().map(Viewer::frames).collect();
    let start_encoded = producer.encoded();
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(6));
    let encoded = producer.encoded() - start_encoded;
    let got: Vec<u64> = viewers
        .iter()
        .zip(&start_frames)
        .map(|(v, s)| v.frames() - s)
        .collect();
    let elapsed = t0.elapsed();
    println!(
        "{:.1} s: {encoded} pictures encoded, per viewer {got:?}, stats {:?}",
        elapsed.as_secs_f64(),
        server.stats()
    );
    assert!(
        encoded as f64 >= 0.8 * 15.0 * elapsed.as_secs_f64(),
        "the encoder ran at {encoded} pictures in {elapsed:?}"
    );
    for (i, n) in got.iter().enumerate() {
        assert!(
            *n as f64 >= 0.9 * encoded as f64,
            "viewer {i} got {n} of {encoded} pictures"
        );
    }
    // One encode per picture whatever the number of viewers.
    let stats = server.stats();
    assert!(
        stats.pictures_in <= producer.encoded(),
        "{} pictures published for {} encodes",
        stats.pictures_in,
        producer.encoded()
    );
    wait_until("stalled session closed", Duration::from_secs(6), || {
        server.viewers() == 20
    });
    drop(viewers);
    drop(stalled);
}

#[test]
fn bad_requests_get_clear_4xx() {
    let rt = runtime();
    let server = bind(&rt, loopback_config());
    let err = rt
        .block_on(server.offer(Some(SDP_CONTENT_TYPE), b"this is not SDP"))
        .expect_err("malformed");
    assert_eq!(err.status(), 400, "{err}");
    let err = rt
        .block_on(server.offer(Some("application/json"), b"{}"))
        .expect_err("content type");
    assert_eq!(err.status(), 415, "{err}");
    // A real offer from a client that only does VP8.
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_vp8(true)
        .build(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, _) = api.apply().expect("offer");
    let err = rt
        .block_on(server.offer(Some(SDP_CONTENT_TYPE), offer.to_sdp_string().as_bytes()))
        .expect_err("no H.264");
    assert_eq!(err.status(), 422, "{err}");
    assert!(err.to_string().contains("H.264"), "{err}");
    // Mangled SDP that passes the text check but not the parser.
    let bad = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n";
    let err = rt
        .block_on(server.offer(Some(SDP_CONTENT_TYPE), bad.as_bytes()))
        .expect_err("incomplete SDP");
    assert!(matches!(err.status(), 400 | 422), "{err}");
    let err = rt
        .block_on(server.delete("0123456789abcdef"))
        .expect_err("unknown");
    assert_eq!(err.status(), 404, "{err}");
    assert_eq!(server.viewers(), 0);
    // Still serving.
    let viewer = Viewer::start(&rt, &server, false);
    let _producer = Producer::start(&server, 15.0, false);
    wait_until(
        "pictures after bad requests",
        Duration::from_secs(10),
        || viewer.frames() >= 5,
    );
}

mod mangled_offers {
    use super::*;
    use proptest::prelude::*;

    /// A real receive-only H.264 offer (from the crate's WHEP viewer).
    fn real_offer() -> String {
        let addr = "127.0.0.1:0".parse().expect("addr");
        stream_codec::webrtc::WhepViewer::new(addr)
            .expect("viewer")
            .1
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        /// A real offer with lines dropped, duplicated or cut: the server answers 201 or a 4xx,
        /// never panics, and keeps no session for a refused offer.
        #[test]
        fn never_panic_and_answer_201_or_4xx(
            edits in proptest::collection::vec((0usize..64, 0u8..3, 0usize..40), 1..6)
        ) {
            let rt = runtime();
            let server = bind(&rt, loopback_config());
            let offer = real_offer();
            let mut lines: Vec<String> = offer.lines().map(str::to_owned).collect();
            for (at, op, cut) in edits {
                if lines.is_empty() { break; }
                let i = at % lines.len();
                match op {
                    0 => { lines.remove(i); }
                    1 => { let l = lines[i].clone(); lines.insert(i, l); }
                    _ => { let l = &mut lines[i]; let c = cut.min(l.len()); l.truncate(c); }
                }
            }
            let mangled = lines.join("\r\n") + "\r\n";
            let before = server.viewers();
            match rt.block_on(server.offer(Some(SDP_CONTENT_TYPE), mangled.as_bytes())) {
                Ok(answer) => prop_assert!(answer.sdp.starts_with("v=0")),
                Err(e) => {
                    prop_assert!((400..500).contains(&e.status()), "{e}");
                    prop_assert_eq!(server.viewers(), before);
                }
            }
            // The server task is still alive.
            let err = rt.block_on(server.delete("nope")).expect_err("unknown");
            prop_assert_eq!(err.status(), 404);
        }
    }
}
