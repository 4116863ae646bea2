//! `stream_codec::serve` on loopback: head deadline, eviction of idle connections at the cap,
//! `503` + `Retry-After` when every connection is busy.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use stream_codec::serve::{ServeLimits, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn router() -> axum::Router {
    axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route(
            "/forever",
            axum::routing::get(|| async {
                // A body that never ends (like an MJPEG viewer's).
                let s = futures_util::stream::unfold(0u64, |n| async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Ok::<_, std::convert::Infallible>(bytes::Bytes::from("x")),
                        n + 1,
                    ))
                });
                Body::from_stream(s)
            }),
        )
}

async fn start(limits: ServeLimits) -> (Server, SocketAddr, tokio::task::JoinHandle<()>) {
    let server = Server::new(limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    let task = tokio::spawn(async move {
        let _ = s.run(listener, router()).await;
    });
    (server, addr, task)
}

/// `GET path` with `Connection: close`; the whole answer as text.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until the peer closes `tcp` (read returns 0 or an error); returns how long it took.
async fn closed_after(tcp: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((t0 + limit).into(), tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(t0.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_and_silent_request_heads_are_closed_after_the_head_timeout() {
    let limits = ServeLimits::default().with_head_timeout(Duration::from_millis(600));
    let (_server, addr, _task) = start(limits).await;
    let t0 = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    for tcp in [&mut silent, &mut half] {
        closed_after(tcp, Duration::from_secs(5))
            .await
            .expect("closed by the server");
        let t = t0.elapsed();
        assert!(
            t >= Duration::from_millis(400) && t < Duration::from_secs(3),
            "closed after {t:?}"
        );
    }
    // An idle kept-alive connection gets the same deadline for its next head.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let t = closed_after(&mut kept, Duration::from_secs(5))
        .await
        .expect("idle keep-alive closed");
    assert!(t < Duration::from_secs(3), "closed after {t:?}");
    assert!(get(addr, "/health").await.ends_with("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_at_the_cap_are_evicted_so_health_still_answers() {
    let limits = ServeLimits::default().with_max_connections(8);
    let (server, addr, _task) = start(limits).await;
    assert_eq!(server.connection_cap(), 8);
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let t0 = Instant::now();
    let answer = get(addr, "/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    let stats = server.stats();
    assert!(stats.open <= 9, "{stats:?}");
    assert!(stats.evicted_total >= 12, "{stats:?}");
    assert_eq!(stats.refused_total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_newcomers_get_503_with_retry_after() {
    let limits = ServeLimits::default().with_max_connections(3);
    let (server, addr, _task) = start(limits).await;
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("streaming")
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        busy.push(tcp);
    }
    let answer = get(addr, "/health").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert_eq!(server.stats().refused_total, 1);
    // A viewer leaves: room again.
    drop(busy.pop());
    let t0 = Instant::now();
    loop {
        let answer = get(addr, "/health").await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(3), "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
