//! One WebSocket client: a reader task that parses messages and keeps only the newest frame
//! (newest wins, never a queue), and a writer loop that waits for a worker permit (FIFO, so
//! clients take turns), analyses the newest frame on the blocking pool and sends the reply with a
//! timeout (a client that never reads is dropped, the others do not notice).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::app::AppState;
use crate::engine::{Analyser, Frame};
use crate::protocol::{self, ErrorReply, FrameHeader, Incoming, Outgoing, ProtocolError};

/// Close codes used by the server (RFC 6455).
pub mod close_code {
    /// The client sent too many bad messages.
    pub const POLICY: u16 = 1008;
    /// A message above the hard size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server could not build the pose pipeline or hit an internal error.
    pub const INTERNAL: u16 = 1011;
    /// The server is shutting down or restarting.
    pub const GOING_AWAY: u16 = 1001;
    /// Too many clients: try again later.
    pub const TRY_AGAIN: u16 = 1013;
}

/// The newest frame of one client, waiting for a worker.
struct Slot {
    frame: Mutex<Option<Frame>>,
    ready: Notify,
    dropped: AtomicU64,
    received: AtomicU64,
    closed: AtomicBool,
}

impl Slot {
    /// Puts `frame` in the slot; a frame still waiting there is dropped (newest wins).
    fn put(&self, frame: Frame) {
        let previous = match self.frame.lock() {
            Ok(mut g) => g.replace(frame),
            Err(poisoned) => poisoned.into_inner().replace(frame),
        };
        self.received.fetch_add(1, Ordering::Relaxed);
        if previous.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
    }

    fn is_empty(&self) -> bool {
        match self.frame.lock() {
            Ok(g) => g.is_none(),
            Err(poisoned) => poisoned.into_inner().is_none(),
        }
    }

    fn take(&self) -> Option<Frame> {
        match self.frame.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

/// What the reader asks the writer to do, besides analysing frames.
enum Control {
    Send(Outgoing),
    Start,
    End,
}

type Sink = SplitSink<WebSocket, Message>;

/// Start of the error that ends a client that does not read its replies.
const SLOW_READER: &str = "client did not read";

/// Serves one client until it closes, misbehaves or stops reading.
pub async fn serve(socket: WebSocket, state: Arc<AppState>, annotated: bool) {
    let id = state.stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
    state.stats.active.fetch_add(1, Ordering::Relaxed);
    let (mut sink, stream) = socket.split();
    let outcome = run(&mut sink, stream, &state, annotated).await;
    match &outcome {
        Ok(()) => tracing::info!(client = id, "client left"),
        Err(why) => {
            if why.starts_with(SLOW_READER) {
                state.stats.slow_readers.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(client = id, "client dropped: {why}");
        }
    }
    state.stats.active.fetch_sub(1, Ordering::Relaxed);
}

/// Sends a close frame (best effort, bounded in time) and ends.
pub async fn close_with(mut socket: WebSocket, code: u16, reason: &str, timeout: Duration) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(timeout, socket.send(Message::Close(Some(frame)))).await;
}

async fn run(
    sink: &mut Sink,
    stream: SplitStream<WebSocket>,
    state: &Arc<AppState>,
    annotated: bool,
) -> Result<(), String> {
    let timeout = state.config.send_timeout;
    let mut hello = state.hello.clone();
    hello.annotated = annotated;
    send_json(sink, &Outgoing::Hello(hello), timeout).await?;

    // Loading the models takes a moment: not on the async threads.
    let factory = state.factory.clone();
    let built = tokio::task::spawn_blocking(move || factory())
        .await
        .unwrap_or_else(|e| Err(format!("pipeline task failed: {e}")));
    let mut analyser = match built {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("cannot build the pose pipeline: {e}");
            send_close(
                sink,
                close_code::INTERNAL,
                "pose pipeline unavailable",
                timeout,
            )
            .await;
            return Err(format!("pose pipeline unavailable: {e}"));
        }
    };

    let slot = Arc::new(Slot {
        frame: Mutex::new(None),
        ready: Notify::new(),
        dropped: AtomicU64::new(0),
        received: AtomicU64::new(0),
        closed: AtomicBool::new(false),
    });
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<Control>(32);
    // A close asked by the reader jumps the queue of replies (issue 13, defect 5).
    let (close_tx, mut close_rx) = oneshot::channel::<(u16, String)>();
    let reader = tokio::spawn(read_loop(
        stream,
        slot.clone(),
        ctl_tx,
        close_tx,
        state.clone(),
    ));
    // Abort the reader whatever way this function ends.
    let mut reader = AbortOnDrop(reader);

    let mut clock = Instant::now();
    let mut dropped_at_start = 0u64;
    let mut stop = state.shutdown.subscribe();
    loop {
        tokio::select! {
            biased;
            _ = async { drop(stop.wait_for(|s| *s).await) } => {
                send_close(sink, close_code::GOING_AWAY, "server shutting down", timeout).await;
                return Ok(());
            }
            Ok((code, reason)) = &mut close_rx => {
                send_close(sink, code, &reason, timeout).await;
                // The reader discards what the client still sends until its close answer, so
                // the socket is not reset with unread bytes (which loses the close frame).
                let _ = tokio::time::timeout(timeout, &mut reader.0).await;
                return Err(format!("closed with {code}: {reason}"));
            }
            ctl = ctl_rx.recv() => match ctl {
                None => return Ok(()),
                Some(Control::Send(msg)) => send_json(sink, &msg, timeout).await?,
                Some(Control::Start) => {
                    clock = Instant::now();
                    dropped_at_start = slot.dropped.load(Ordering::Relaxed);
                    analyser.start();
                }
                Some(Control::End) => {
                    let (back, summary) = on_pool(state, analyser, |a| a.summary()).await?;
                    analyser = back;
                    let mut summary = summary;
                    summary.dropped = slot.dropped.load(Ordering::Relaxed) - dropped_at_start;
                    send_json(sink, &Outgoing::Summary(summary), timeout).await?;
                }
            },
            _ = slot.ready.notified() => {
                if slot.closed.load(Ordering::Relaxed) {
                    return Ok(());
                }
                analyser = process(sink, state, &slot, analyser, clock, annotated).await?;
            }
        }
    }
}

/// Waits for a worker, takes the newest frame, analyses it, sends the reply.
async fn process(
    sink: &mut Sink,
    state: &Arc<AppState>,
    slot: &Slot,
    analyser: Box<dyn Analyser>,
    clock: Instant,
    annotated: bool,
) -> Result<Box<dyn Analyser>, String> {
    let timeout = state.config.send_timeout;
    if slot.is_empty() {
        // A wake-up for a frame already analysed: do not take a turn for nothing.
        return Ok(analyser);
    }
    let permit = state
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| "worker pool closed".to_string())?;
    // Taken only now, so the frame analysed is the newest one the client sent.
    let Some(frame) = slot.take() else {
        return Ok(analyser);
    };
    let started = Instant::now();
    let t = frame.t.unwrap_or_else(|| {
        frame
            .received
            .saturating_duration_since(clock)
            .as_secs_f64()
    });
    let (id, received) = (frame.id, frame.received);
    let annotate = annotated;
    let joined = tokio::task::spawn_blocking(move || {
        let mut analyser = analyser;
        let r = analyser.analyse(&frame, t, annotate);
        (analyser, r)
    })
    .await;
    drop(permit);
    let (analyser, outcome) = joined.map_err(|e| {
        state.stats.internal_errors.fetch_add(1, Ordering::Relaxed);
        format!("analysis task failed: {e}")
    })?;
    match outcome {
        Ok(analysis) => {
            let mut result = analysis.result;
            result.id = id;
            result.dropped = slot.dropped.load(Ordering::Relaxed);
            result.latency_ms.wait = ms(started.saturating_duration_since(received));
            result.latency_ms.server = ms(received.elapsed());
            state.stats.scored.fetch_add(1, Ordering::Relaxed);
            send_json(sink, &Outgoing::Result(Box::new(result)), timeout).await?;
            if let Some(jpeg) = analysis.annotated {
                send(sink, Message::Binary(jpeg.into()), timeout).await?;
            }
        }
        Err(e) => {
            state.stats.bad_messages.fetch_add(1, Ordering::Relaxed);
            let reply = ErrorReply {
                code: e.code.to_string(),
                message: e.message,
                id: Some(id),
            };
            send_json(sink, &Outgoing::Error(reply), timeout).await?;
        }
    }
    Ok(analyser)
}

/// Runs `f` on the blocking pool under a worker permit, giving the analyser back.
async fn on_pool<T: Send + 'static>(
    state: &Arc<AppState>,
    analyser: Box<dyn Analyser>,
    f: impl FnOnce(&mut dyn Analyser) -> T + Send + 'static,
) -> Result<(Box<dyn Analyser>, T), String> {
    let _permit = state
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| "worker pool closed".to_string())?;
    tokio::task::spawn_blocking(move || {
        let mut analyser = analyser;
        let out = f(analyser.as_mut());
        (analyser, out)
    })
    .await
    .map_err(|e| format!("summary task failed: {e}"))
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    slot: Arc<Slot>,
    ctl: mpsc::Sender<Control>,
    close: oneshot::Sender<(u16, String)>,
    state: Arc<AppState>,
) {
    let limit = state.config.max_jpeg_bytes;
    let mut header: Option<FrameHeader> = None;
    let mut bad = 0u32;
    while let Some(msg) = stream.next().await {
        let parsed = match msg {
            Ok(Message::Binary(data)) => protocol::parse_binary(data, limit),
            Ok(Message::Text(text)) => protocol::parse_text(text.as_str(), limit),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => break,
            Err(e) => {
                // Above the hard limit (tungstenite refuses it) or a broken stream.
                let text = e.to_string();
                if text.contains("Space limit exceeded") || text.contains("too long") {
                    let _ = close.send((
                        close_code::TOO_BIG,
                        format!("message above {} bytes", state.config.hard_message_bytes),
                    ));
                    return;
                }
                break;
            }
        };
        match parsed {
            Ok(Incoming::Header(h)) => header = Some(h),
            Ok(Incoming::Jpeg(jpeg)) => {
                let h = header.take().unwrap_or_default();
                let n = slot.received.load(Ordering::Relaxed) + 1;
                state.stats.frames.fetch_add(1, Ordering::Relaxed);
                slot.put(Frame {
                    id: h.id.unwrap_or(n),
                    t: h.t,
                    score: h.score.unwrap_or(true),
                    jpeg,
                    received: Instant::now(),
                });
            }
            Ok(Incoming::Start) => {
                let _ = ctl.send(Control::Start).await;
            }
            Ok(Incoming::End) => {
                let _ = ctl.send(Control::End).await;
            }
            Ok(Incoming::Ping) => {
                let _ = ctl.try_send(Control::Send(Outgoing::Pong));
            }
            Err(e) => {
                bad += 1;
                state.stats.bad_messages.fetch_add(1, Ordering::Relaxed);
                if bad > state.config.max_bad_messages {
                    let _ = close.send((close_code::POLICY, "too many bad messages".into()));
                    // Stop reading messages; drain the socket until the client answers the close.
                    while let Some(Ok(msg)) = stream.next().await {
                        if matches!(msg, Message::Close(_)) {
                            break;
                        }
                    }
                    return;
                }
                let id = header.take().and_then(|h| h.id);
                // Never wait on a client that does not read: drop the error if the queue is full.
                let _ = ctl.try_send(Control::Send(Outgoing::Error(error_reply(&e, id))));
            }
        }
    }
    slot.closed.store(true, Ordering::Relaxed);
    slot.ready.notify_one();
}

fn error_reply(e: &ProtocolError, id: Option<u64>) -> ErrorReply {
    ErrorReply {
        code: e.code().to_string(),
        message: e.to_string(),
        id,
    }
}

async fn send_json(sink: &mut Sink, msg: &Outgoing, timeout: Duration) -> Result<(), String> {
    let text = serde_json::to_string(msg).map_err(|e| format!("serialising a reply: {e}"))?;
    send(sink, Message::Text(text.into()), timeout).await
}

async fn send(sink: &mut Sink, msg: Message, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, sink.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err(format!("{SLOW_READER} for {} ms", timeout.as_millis())),
    }
}

async fn send_close(sink: &mut Sink, code: u16, reason: &str, timeout: Duration) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(timeout, sink.send(Message::Close(Some(frame)))).await;
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
