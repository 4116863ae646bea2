//! One WebSocket client: a reader task that parses messages and keeps only the newest frame
//! (newest wins, never a queue), and a writer loop that waits for a worker permit (FIFO, so
//! clients take turns), analyses the newest frame on the blocking pool and sends the reply with a
//! timeout (a client that never reads is dropped, the others do not notice).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use pose_score::live::Player as Client;
use pose_score::protocol::{self, ErrorReply, FrameHeader, Incoming, Outgoing, close_code};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::app::AppState;

/// A JPEG frame received from a client: its id, what its header said, when it arrived.
struct Frame(u64, FrameHeader, bytes::Bytes, Instant);

/// The newest frame of one client, waiting for a worker.
#[derive(Default)]
struct Slot {
    frame: Mutex<Option<Frame>>,
    ready: Notify,
    dropped: AtomicU64,
    received: AtomicU64,
    closed: AtomicBool,
}

impl Slot {
    fn with<T>(&self, f: impl FnOnce(&mut Option<Frame>) -> T) -> T {
        f(&mut self.frame.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts `frame` in the slot; a frame still waiting there is dropped (newest wins).
    fn put(&self, frame: Frame) {
        self.received.fetch_add(1, Relaxed);
        if self.with(|f| f.replace(frame)).is_some() {
            self.dropped.fetch_add(1, Relaxed);
        }
        self.ready.notify_one();
    }
}

/// What the reader asks the writer to do, besides analysing frames.
enum Control {
    Send(Outgoing),
    Start,
    End,
}

type Sink = SplitSink<WebSocket, Message>;
const SLOW_READER: &str = "client did not read";

/// Serves one client until it closes, misbehaves or stops reading.
pub async fn serve(socket: WebSocket, state: Arc<AppState>, annotated: bool) {
    let id = state.stats.connections.fetch_add(1, Relaxed) + 1;
    state.stats.active.fetch_add(1, Relaxed);
    let (mut sink, stream) = socket.split();
    match run(&mut sink, stream, &state, annotated).await {
        Ok(()) => tracing::info!(client = id, "client left"),
        Err(why) => {
            if why.starts_with(SLOW_READER) {
                state.stats.slow_readers.fetch_add(1, Relaxed);
            }
            tracing::info!(client = id, "client dropped: {why}");
        }
    }
    state.stats.active.fetch_sub(1, Relaxed);
}

async fn run(
    sink: &mut Sink,
    stream: SplitStream<WebSocket>,
    state: &Arc<AppState>,
    annotated: bool,
) -> Result<(), String> {
    let timeout = state.config.send_timeout();
    let mut hello = state.hello.clone();
    hello.annotated = annotated;
    send_json(sink, &Outgoing::Hello(hello), timeout).await?;
    let mut client = Client::new(state.dance.clone());
    let slot = Arc::new(Slot::default());
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<Control>(32);
    // A close asked by the reader jumps the queue of replies (issue 13, defect 5).
    let (close_tx, mut close_rx) = oneshot::channel::<(u16, String)>();
    let reader = read_loop(stream, slot.clone(), ctl_tx, close_tx, state.clone());
    let mut reader = AbortOnDrop(tokio::spawn(reader));
    let (mut clock, mut dropped_at_start) = (Instant::now(), 0);
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
                    (clock, dropped_at_start) = (Instant::now(), slot.dropped.load(Relaxed));
                    client.start();
                }
                Some(Control::End) => {
                    let (back, mut summary) = on_pool(state, client, |c| c.summary()).await?;
                    client = back;
                    summary.dropped = slot.dropped.load(Relaxed) - dropped_at_start;
                    send_json(sink, &Outgoing::Summary(summary), timeout).await?;
                }
            },
            _ = slot.ready.notified() => {
                if slot.closed.load(Relaxed) {
                    return Ok(());
                }
                client = process(sink, state, &slot, client, clock, annotated).await?;
            }
        }
    }
}

/// Waits for a worker, takes the newest frame, analyses it, sends the reply.
async fn process(
    sink: &mut Sink,
    state: &Arc<AppState>,
    slot: &Slot,
    client: Client,
    clock: Instant,
    annotate: bool,
) -> Result<Client, String> {
    if slot.with(|f| f.is_none()) {
        // A wake-up for a frame already analysed: do not take a turn for nothing.
        return Ok(client);
    }
    let permit = state.workers.clone().acquire_owned().await;
    let permit = permit.map_err(|_| "worker pool closed".to_string())?;
    // Taken only now, so the frame analysed is the newest one the client sent.
    let Some(frame) = slot.with(Option::take) else {
        return Ok(client);
    };
    let (started, Frame(id, header, jpeg, received)) = (Instant::now(), frame);
    // No time in the header: the session's clock.
    let t = (header.t).unwrap_or(received.saturating_duration_since(clock).as_secs_f64());
    let score = header.score.unwrap_or(true);
    let mut client = client;
    let joined = tokio::task::spawn_blocking(move || {
        let r = client.analyse(&jpeg, t, score, annotate);
        (client, r)
    })
    .await;
    drop(permit);
    let (client, outcome) = joined.map_err(|e| {
        state.stats.internal_errors.fetch_add(1, Relaxed);
        format!("analysis task failed: {e}")
    })?;
    let timeout = state.config.send_timeout();
    match outcome {
        Ok((mut result, annotated)) => {
            result.id = id;
            result.dropped = slot.dropped.load(Relaxed);
            result.latency_ms.wait = ms(started.saturating_duration_since(received));
            result.latency_ms.server = ms(received.elapsed());
            state.stats.scored.fetch_add(1, Relaxed);
            send_json(sink, &Outgoing::Result(Box::new(result)), timeout).await?;
            if let Some(jpeg) = annotated {
                send(sink, Message::Binary(jpeg.into()), timeout).await?;
            }
        }
        Err(refused) => {
            state.stats.bad_messages.fetch_add(1, Relaxed);
            let (code, message, id) = (refused.code.to_string(), refused.message, Some(id));
            let reply = Outgoing::Error(ErrorReply { code, message, id });
            send_json(sink, &reply, timeout).await?;
        }
    }
    Ok(client)
}

/// Runs `f` on the blocking pool under a worker permit, giving the client back.
async fn on_pool<T: Send + 'static>(
    state: &Arc<AppState>,
    mut client: Client,
    f: impl FnOnce(&mut Client) -> T + Send + 'static,
) -> Result<(Client, T), String> {
    let permit = state.workers.clone().acquire_owned().await;
    let _permit = permit.map_err(|_| "worker pool closed".to_string())?;
    let task = tokio::task::spawn_blocking(move || {
        let out = f(&mut client);
        (client, out)
    });
    task.await.map_err(|e| format!("summary task failed: {e}"))
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
            Ok(Message::Binary(data)) => protocol::check_binary(&data, limit).map(|()| data),
            Ok(Message::Text(text)) => match protocol::parse_text(text.as_str(), limit) {
                Ok(Incoming::Jpeg(jpeg)) => Ok(jpeg.into()),
                Ok(Incoming::Header(h)) => {
                    header = Some(h);
                    continue;
                }
                Ok(Incoming::Start) => {
                    let _ = ctl.send(Control::Start).await;
                    continue;
                }
                Ok(Incoming::End) => {
                    let _ = ctl.send(Control::End).await;
                    continue;
                }
                Ok(Incoming::Ping) => {
                    let _ = ctl.try_send(Control::Send(Outgoing::Pong));
                    continue;
                }
                Err(e) => Err(e),
            },
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => break,
            Err(e) => {
                // Above the hard limit (tungstenite refuses it) or a broken stream.
                let text = e.to_string();
                if text.contains("Space limit exceeded") || text.contains("too long") {
                    let hard = state.config.hard_message_bytes();
                    let _ =
                        close.send((close_code::TOO_BIG, format!("message above {hard} bytes")));
                    return;
                }
                break;
            }
        };
        match parsed {
            Ok(jpeg) => {
                let h = header.take().unwrap_or_default();
                state.stats.frames.fetch_add(1, Relaxed);
                let id = h.id.unwrap_or(slot.received.load(Relaxed) + 1);
                slot.put(Frame(id, h, jpeg, Instant::now()));
            }
            Err(e) => {
                bad += 1;
                state.stats.bad_messages.fetch_add(1, Relaxed);
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
                let (code, message) = (e.code().to_string(), e.to_string());
                let id = header.take().and_then(|h| h.id);
                // Never wait on a client that does not read: drop the error if the queue is full.
                let reply = Outgoing::Error(ErrorReply { code, message, id });
                let _ = ctl.try_send(Control::Send(reply));
            }
        }
    }
    slot.closed.store(true, Relaxed);
    slot.ready.notify_one();
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

/// Sends a close frame (best effort, bounded in time).
pub async fn send_close<S>(sink: &mut S, code: u16, reason: &str, timeout: Duration)
where
    S: futures_util::Sink<Message> + Unpin,
{
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
