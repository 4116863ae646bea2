//! A minimal async HTTP/MJPEG client over tokio `TcpStream` and stream-codec's sans-IO decoders,
//! for the relay's tests and its load bench: one-shot `GET`s and an MJPEG viewer.

// Shared by several programs through `#[path]`; each uses a different part.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use stream_codec::http::{ResponseDecoder, ResponseHead};
use stream_codec::{Frame, HttpDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn request(path: &str, auth: Option<&str>, close: bool) -> String {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: relay\r\nUser-Agent: posecam-test\r\n");
    if let Some(a) = auth {
        r.push_str(&format!("Authorization: {a}\r\n"));
    }
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r
}

/// `GET path` with `Connection: close`; returns the head and the whole body (transfer coding
/// removed). Fails after `timeout`.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
    timeout: Duration,
) -> io::Result<(ResponseHead, Bytes)> {
    tokio::time::timeout(timeout, async {
        let mut sock = TcpStream::connect(addr).await?;
        sock.write_all(request(path, auth, true).as_bytes()).await?;
        let mut resp = ResponseDecoder::default();
        let mut body = BytesMut::new();
        loop {
            while let Some(piece) = resp.next_body() {
                body.extend_from_slice(&piece.map_err(other)?);
            }
            if resp.is_done() {
                break;
            }
            let mut buf = BytesMut::with_capacity(64 * 1024);
            if sock.read_buf(&mut buf).await? == 0 {
                resp.finish();
            } else {
                resp.push_bytes(buf.freeze());
            }
            if body.len() > 64 << 20 {
                return Err(other("body over 64 MiB"));
            }
        }
        let head = resp
            .head()
            .cloned()
            .ok_or_else(|| other("no response head"))?;
        Ok((head, body.freeze()))
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("GET {path} timed out")))?
}

/// An MJPEG viewer: `GET path`, then one [`Frame`] per part.
pub struct MjpegClient {
    sock: TcpStream,
    dec: HttpDecoder,
    /// Bytes received.
    pub bytes: u64,
}

impl MjpegClient {
    /// Connects and sends the request (the response is read by [`MjpegClient::next_frame`]).
    pub async fn connect(addr: SocketAddr, path: &str, auth: Option<&str>) -> io::Result<Self> {
        let mut sock = TcpStream::connect(addr).await?;
        sock.write_all(request(path, auth, false).as_bytes())
            .await?;
        Ok(Self {
            sock,
            dec: HttpDecoder::default(),
            bytes: 0,
        })
    }

    /// The response head, once read.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.dec.head()
    }

    /// Reads until the response head is complete.
    pub async fn wait_head(&mut self) -> io::Result<()> {
        while self.dec.head().is_none() {
            // Parse what is buffered (frames stay queued in the decoder only if the head is
            // complete, so nothing is lost here).
            if let Some(item) = self.dec.next_frame() {
                item.map_err(other)?;
                continue;
            }
            if self.dec.head().is_some() {
                break;
            }
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let n = self.sock.read_buf(&mut buf).await?;
            self.bytes += n as u64;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before the response head",
                ));
            }
            self.dec.push_bytes(buf.freeze());
        }
        Ok(())
    }

    /// The next part; `None` at the end of the stream.
    pub async fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(item) = self.dec.next_frame() {
                return item.map(Some).map_err(other);
            }
            let mut buf = BytesMut::with_capacity(256 * 1024);
            let n = self.sock.read_buf(&mut buf).await?;
            self.bytes += n as u64;
            if n == 0 {
                self.dec.finish();
                if let Some(item) = self.dec.next_frame() {
                    return item.map(Some).map_err(other);
                }
                return Ok(None);
            }
            self.dec.push_bytes(buf.freeze());
        }
    }
}
