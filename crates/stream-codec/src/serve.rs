//! An HTTP/1.1 serve loop with the limits a server facing the open network needs (feature `serve`):
//! a deadline on each request head, a cap on open connections derived from the process's
//! open-file limit, and eviction of idle connections when at the cap, so that a flood of idle or
//! half-sent connections can neither exhaust file descriptors nor lock out `/health`.
//!
//! * Every request head (the first one and each one on a kept-alive connection) must arrive whole
//!   within [`ServeLimits::head_timeout`] (default 10 s), else the connection is closed (hyper's
//!   `header_read_timeout`).
//! * At most [`Server::connection_cap`] connections are open: [`ServeLimits::max_connections`],
//!   lowered to the soft `RLIMIT_NOFILE` minus [`ServeLimits::fd_reserve`] (descriptors kept for
//!   upstream cameras, files, the listener). A connection accepted at the cap evicts the oldest
//!   connection that has no request in progress (one that sent nothing, half a head, or idles
//!   between requests); if every connection is busy (e.g. streaming to a viewer), the newcomer gets
//!   `503 Service Unavailable` with `Retry-After` and is closed.
//! * [`raise_open_file_limit`] raises the soft open-file limit to the hard one (call it once at
//!   start-up, before [`Server::new`]).
//!
//! [`PrometheusText`] writes a `/metrics` body (the text exposition format).
//!
//! Any `tower` service works (an `axum::Router` is one); WebSocket/upgrade requests are supported.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use stream_codec::serve::{ServeLimits, Server, raise_open_file_limit};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let _ = raise_open_file_limit(); // once, at start-up
//! let server = Server::new(ServeLimits::default().with_max_connections(1000));
//! let router = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let s = server.clone();
//! tokio::spawn(async move { s.run(listener, router).await });
//!
//! let mut tcp = tokio::net::TcpStream::connect(addr).await?;
//! tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"));
//! assert!(server.stats().accepted_total == 1 && server.connection_cap() <= 1000);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

pub use crate::prometheus::PrometheusText;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Limits of a [`Server`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// Time allowed for each whole request head (default 10 s).
    pub head_timeout: Duration,
    /// Upper bound on open connections (default 10 000), lowered to fit the open-file limit.
    pub max_connections: usize,
    /// File descriptors kept free below the soft `RLIMIT_NOFILE` (default 64).
    pub fd_reserve: usize,
    /// `Retry-After` seconds of the `503` sent when every connection is busy (default 1).
    pub retry_after_s: u32,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            head_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            fd_reserve: 64,
            retry_after_s: 1,
        }
    }
}

impl ServeLimits {
    /// Sets [`ServeLimits::head_timeout`].
    pub fn with_head_timeout(mut self, d: Duration) -> Self {
        self.head_timeout = d;
        self
    }

    /// Sets [`ServeLimits::max_connections`].
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`ServeLimits::fd_reserve`].
    pub fn with_fd_reserve(mut self, n: usize) -> Self {
        self.fd_reserve = n;
        self
    }

    /// The connection cap these limits give under the current open-file limit (at least 1).
    pub fn connection_cap(&self) -> usize {
        let by_fds = open_file_limit()
            .map(|soft| usize::try_from(soft).unwrap_or(usize::MAX))
            .map_or(usize::MAX, |soft| soft.saturating_sub(self.fd_reserve));
        self.max_connections.min(by_fds).max(1)
    }
}

/// The soft open-file limit (`RLIMIT_NOFILE`) of this process, if the platform has one.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
///
/// ```
/// let soft = stream_codec::serve::raise_open_file_limit().expect("getrlimit");
/// assert_eq!(Some(soft), stream_codec::serve::open_file_limit());
/// ```
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Whether an `Authorization` header value carries HTTP Basic credentials `user_pass`
/// (`user:password`); the scheme name is matched in any case (RFC 9110 section 11.1).
///
/// ```
/// use stream_codec::serve::basic_auth_matches;
/// assert!(basic_auth_matches(b"Basic dXNlcjpwYXNz", "user:pass"));
/// assert!(basic_auth_matches(b"basic dXNlcjpwYXNz", "user:pass"));
/// assert!(!basic_auth_matches(b"Basic dXNlcjpwYXNz", "user:other"));
/// assert!(!basic_auth_matches(b"Bearer dXNlcjpwYXNz", "user:pass"));
/// ```
pub fn basic_auth_matches(value: &[u8], user_pass: &str) -> bool {
    use base64::Engine as _;
    let text = std::str::from_utf8(value).unwrap_or("");
    text.trim().split_once(' ').is_some_and(|(scheme, token)| {
        scheme.eq_ignore_ascii_case("basic")
            && base64::engine::general_purpose::STANDARD
                .decode(token.trim())
                .is_ok_and(|d| d == user_pass.as_bytes())
    })
}

/// Counters of a [`Server`] (a snapshot from [`Server::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeStats {
    /// Connections open now.
    pub open: usize,
    /// The connection cap in force.
    pub cap: usize,
    /// Connections accepted since start.
    pub accepted_total: u64,
    /// Idle connections closed to make room at the cap.
    pub evicted_total: u64,
    /// Connections answered `503` because every connection was busy.
    pub refused_total: u64,
    /// `accept()` failures (e.g. out of file descriptors).
    pub accept_errors_total: u64,
}

/// One open connection as the registry sees it.
struct Slot {
    /// Requests in progress (head received, response body not finished).
    in_flight: AtomicUsize,
    /// Set once the connection was asked to close.
    evicted: AtomicBool,
    close: Notify,
}

#[derive(Default)]
struct Shared {
    conns: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next_id: AtomicU64,
    accepted_total: AtomicU64,
    evicted_total: AtomicU64,
    refused_total: AtomicU64,
    accept_errors_total: AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is used as is.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An HTTP/1.1 server with a head deadline and a connection cap (see the [module docs](self)).
#[derive(Clone)]
pub struct Server {
    limits: ServeLimits,
    cap: usize,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Server {
    /// A server with `limits`; the connection cap is computed now from the open-file limit.
    pub fn new(limits: ServeLimits) -> Self {
        Self {
            cap: limits.connection_cap(),
            limits,
            shared: Arc::default(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> ServeLimits {
        self.limits
    }

    /// Maximum number of open connections.
    pub fn connection_cap(&self) -> usize {
        self.cap
    }

    /// Counters, cheap to read from any task.
    pub fn stats(&self) -> ServeStats {
        ServeStats {
            open: self.shared.lock().len(),
            cap: self.cap,
            accepted_total: self.shared.accepted_total.load(Ordering::Relaxed),
            evicted_total: self.shared.evicted_total.load(Ordering::Relaxed),
            refused_total: self.shared.refused_total.load(Ordering::Relaxed),
            accept_errors_total: self.shared.accept_errors_total.load(Ordering::Relaxed),
        }
    }

    /// Serves `service` on `listener` until the returned future is dropped (which closes every
    /// connection too). `TCP_NODELAY` is set on each connection.
    pub async fn run<S, B>(&self, listener: TcpListener, service: S) -> io::Result<()>
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.limits.head_timeout);
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let tcp = match listener.accept().await {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // EMFILE/ENFILE and friends: back off a little instead of spinning.
                    self.shared
                        .accept_errors_total
                        .fetch_add(1, Ordering::Relaxed);
                    if is_fatal_accept_error(&e) {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            self.shared.accepted_total.fetch_add(1, Ordering::Relaxed);
            if !self.make_room() {
                self.shared.refused_total.fetch_add(1, Ordering::Relaxed);
                tasks.spawn(refuse(tcp, self.limits.retry_after_s));
                continue;
            }
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let slot = Arc::new(Slot {
                in_flight: AtomicUsize::new(0),
                evicted: AtomicBool::new(false),
                close: Notify::new(),
            });
            self.shared.lock().insert(id, slot.clone());
            let registry = Registered {
                shared: self.shared.clone(),
                id,
            };
            let conn = http
                .serve_connection(
                    TokioIo::new(tcp),
                    Tracked {
                        inner: service.clone(),
                        slot: slot.clone(),
                    },
                )
                .with_upgrades();
            tasks.spawn(async move {
                let _registry = registry;
                tokio::select! {
                    _ = conn => {}
                    _ = slot.close.notified() => {}
                }
            });
        }
    }

    /// Below the cap: true. At the cap: evicts the oldest connection without a request in
    /// progress and returns true, or returns false if every connection is busy.
    fn make_room(&self) -> bool {
        let conns = self.shared.lock();
        let live = conns
            .values()
            .filter(|s| !s.evicted.load(Ordering::Relaxed))
            .count();
        if live < self.cap {
            return true;
        }
        let victim = conns.values().find(|s| {
            !s.evicted.load(Ordering::Relaxed) && s.in_flight.load(Ordering::Acquire) == 0
        });
        match victim {
            Some(s) => {
                s.evicted.store(true, Ordering::Relaxed);
                s.close.notify_one();
                self.shared.evicted_total.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

fn is_fatal_accept_error(e: &io::Error) -> bool {
    // EBADF / EINVAL / ENOTSOCK: the listener itself is broken.
    matches!(e.raw_os_error(), Some(9 | 22 | 88))
}

/// Removes a connection from the registry when its task ends (normally, evicted or aborted).
struct Registered {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.lock().remove(&self.id);
    }
}

async fn refuse(mut tcp: TcpStream, retry_after_s: u32) {
    let body = "server at its connection limit, retry later\n";
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {retry_after_s}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(head.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// The service wrapper that counts requests in progress on one connection.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    slot: Arc<Slot>,
}

/// Decrements the in-flight count when the response body is done (or dropped).
struct InFlight(Arc<Slot>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
{
    type Response = Response<TrackedBody<B>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.slot.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self.slot.clone());
        let mut svc = self.inner.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
            let resp = svc.call(req).await?;
            Ok(resp.map(|inner| TrackedBody {
                inner,
                _guard: guard,
            }))
        })
    }
}

/// A response body that keeps its connection marked busy until it is finished or dropped.
struct TrackedBody<B> {
    inner: B,
    _guard: InFlight,
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_a_reserve_below_the_open_file_limit() {
        let limits = ServeLimits::default().with_max_connections(usize::MAX);
        if let Some(soft) = open_file_limit() {
            assert_eq!(
                limits.connection_cap() as u64,
                soft.saturating_sub(64).max(1)
            );
        }
        assert_eq!(
            ServeLimits::default()
                .with_max_connections(5)
                .connection_cap(),
            5
        );
    }
}
