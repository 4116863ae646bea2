//! The tokio_util codec over the same state machine: FramedRead over a recorded stream (read in
//! small pieces), FramedWrite of parts read back.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod support;

use futures_util::{SinkExt, StreamExt};
use stream_codec::{Decoder, Error, MjpegCodec, Writer};
use support::{read, shared};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{FramedRead, FramedWrite};

#[tokio::test]
async fn framed_read_of_a_recorded_stream() {
    let body = read(&shared("media/mjpeg/quirky.mjpeg"));
    let (mut tx, rx) = tokio::io::duplex(4096);
    let writer = tokio::spawn(async move {
        for c in body.chunks(3000) {
            tx.write_all(c).await.unwrap();
        }
    });
    let mut frames = FramedRead::new(rx, MjpegCodec::default());
    let mut n = 0;
    let mut truncated = 0;
    while let Some(item) = frames.next().await {
        match item {
            Ok(_) => n += 1,
            Err(Error::Truncated { .. }) => truncated += 1,
            Err(e) => panic!("{e}"),
        }
    }
    writer.await.unwrap();
    assert_eq!((n, truncated), (109, 1));
    assert_eq!(
        frames.decoder().decoder().boundary(),
        Some("quirky-b0undary")
    );
}

#[tokio::test]
async fn framed_write_then_read() {
    let mut out = Vec::new();
    {
        let mut sink = FramedWrite::new(
            &mut out,
            MjpegCodec::new(Decoder::default(), Writer::default()),
        );
        for i in 0..5u8 {
            sink.send(bytes::Bytes::from(vec![0xFF, 0xD8, i, 0xFF, 0xD9]))
                .await
                .unwrap();
        }
    }
    let frames: Vec<_> = FramedRead::new(&out[..], MjpegCodec::default())
        .collect()
        .await;
    assert_eq!(frames.len(), 5);
    for (i, f) in frames.into_iter().enumerate() {
        assert_eq!(f.unwrap().data[2], i as u8);
    }
}
