//! The newest-wins fan-out: publish never waits (even with a subscriber that never reads), every
//! subscriber gets the newest item and the skips are counted, demand is observable, the
//! per-subscriber rate cap and the subscriber limit hold.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use stream_codec::fanout::{Fanout, FanoutConfig, FanoutError, SubscribeOptions};

fn hub() -> Fanout<Bytes> {
    Fanout::with_measure(FanoutConfig::default(), |b: &Bytes| b.len())
}

#[tokio::test]
async fn publish_never_waits_for_a_subscriber_that_never_reads() {
    let hub = hub();
    let _stalled = hub.subscribe(SubscribeOptions::default()).unwrap();
    let part = Bytes::from(vec![0u8; 100 << 10]);
    let start = Instant::now();
    for _ in 0..100_000 {
        hub.publish(part.clone());
    }
    // 100 000 publishes of a 100 KiB part: no copy, no queue, no wait.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hub.published(), 100_000);
    assert_eq!(hub.stats().sent, 0);
}

#[tokio::test]
async fn newest_wins_and_skips_are_counted() {
    let hub = hub();
    let mut fast = hub.subscribe(SubscribeOptions::default()).unwrap();
    let mut slow = hub.subscribe(SubscribeOptions::default()).unwrap();
    hub.publish(Bytes::from_static(b"1"));
    assert_eq!(fast.next().await.unwrap().seq, 1);
    assert_eq!(slow.next().await.unwrap().seq, 1);
    for i in 2..=10u8 {
        hub.publish(Bytes::from(vec![i]));
        let got = fast.next().await.unwrap();
        assert_eq!((got.seq, got.item[0]), (u64::from(i), i));
    }
    let newest = slow.next().await.unwrap();
    assert_eq!((newest.seq, &newest.item[..]), (10, &[10u8][..]));
    assert_eq!(slow.skipped(), 8);
    assert_eq!(fast.skipped(), 0);
    let st = hub.stats();
    assert_eq!(
        (st.skipped, st.sent, st.sent_bytes, st.published),
        (8, 12, 12, 10)
    );
    assert_eq!((st.subscribers, st.subscribers_total), (2, 2));
    // Nothing newer: next() waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), slow.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn demand_is_observable() {
    let hub = hub();
    let mut demand = hub.demand();
    assert_eq!(*demand.borrow_and_update(), 0);
    let a = hub.subscribe(SubscribeOptions::default()).unwrap();
    let b = hub.subscribe(SubscribeOptions::default()).unwrap();
    assert!(demand.has_changed().unwrap());
    assert_eq!(*demand.borrow_and_update(), 2);
    drop(a);
    assert_eq!(*demand.borrow(), 1);
    drop(b);
    // A camera task waiting for "nobody watches" wakes up.
    tokio::time::timeout(Duration::from_secs(1), demand.wait_for(|n| *n == 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hub.subscribers(), 0);
}

#[tokio::test]
async fn subscriber_limit() {
    let hub: Fanout<Bytes> = Fanout::new(FanoutConfig {
        max_subscribers: Some(2),
    });
    let a = hub.subscribe(SubscribeOptions::default()).unwrap();
    let _b = hub.subscribe(SubscribeOptions::default()).unwrap();
    let e = hub.subscribe(SubscribeOptions::default()).unwrap_err();
    assert_eq!(e, FanoutError::Full { limit: 2 });
    assert_eq!(e.to_string(), "subscriber limit of 2 reached");
    drop(a);
    let _c = hub.subscribe(SubscribeOptions::default()).unwrap();
    let st = hub.stats();
    assert_eq!(
        (st.subscribers, st.subscribers_total, st.refused_total),
        (2, 3, 1)
    );
}

#[tokio::test]
async fn rate_cap_per_subscriber() {
    let hub = hub();
    let capped = hub
        .subscribe(SubscribeOptions {
            max_fps: Some(10.0),
            ..SubscribeOptions::default()
        })
        .unwrap();
    let free = hub.subscribe(SubscribeOptions::default()).unwrap();
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            for i in 0..200u32 {
                tick.tick().await;
                hub.publish(Bytes::from(i.to_le_bytes().to_vec()));
            }
        })
    };
    let count = |s: stream_codec::fanout::Subscriber<Bytes>| async move {
        let stream = s.into_stream();
        tokio::pin!(stream);
        let mut n = 0u32;
        let _ = tokio::time::timeout(Duration::from_millis(1000), async {
            while stream.next().await.is_some() {
                n += 1;
            }
        })
        .await;
        n
    };
    let (capped_n, free_n) = tokio::join!(count(capped), count(free));
    publisher.await.unwrap();
    assert!(
        (5..=11).contains(&capped_n),
        "capped subscriber got {capped_n} in 1 s at 10/s"
    );
    assert!(free_n > 30, "uncapped subscriber got only {free_n}");
}

#[tokio::test]
async fn fresh_and_hub_gone() {
    let hub = hub();
    hub.publish(Bytes::from_static(b"old"));
    tokio::time::sleep(Duration::from_millis(30)).await;
    // The current item is older than `fresh`: wait for the next one.
    let mut waiting = hub
        .subscribe(SubscribeOptions {
            fresh: Some(Duration::from_millis(10)),
            ..SubscribeOptions::default()
        })
        .unwrap();
    // Default: the current item at once.
    let mut now = hub.subscribe(SubscribeOptions::default()).unwrap();
    assert_eq!(&now.next().await.unwrap().item[..], b"old");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), waiting.next())
            .await
            .is_err()
    );
    hub.publish(Bytes::from_static(b"new"));
    assert_eq!(&waiting.next().await.unwrap().item[..], b"new");
    assert_eq!(hub.latest().unwrap().seq, 2);
    drop(hub);
    assert!(waiting.next().await.is_none(), "every hub handle dropped");
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Fanout<Bytes>>();
    send::<stream_codec::fanout::Subscriber<Bytes>>();
    send_sync::<stream_codec::fanout::Subscriber<Bytes>>();
}
