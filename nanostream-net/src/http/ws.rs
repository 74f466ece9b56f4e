//! WebSocket subscriptions: live channels and patterns (`SUBSCRIBE`, `PSUBSCRIBE`), a topic
//! replayed from an ID and then followed (`XREAD BLOCK`), and the dashboard's feed.
//!
//! A channel subscriber's messages wait in its broker client until this task sends them; one
//! that does not read its socket leaves them there, and the broker cuts it off at the output
//! limit exactly as it does a RESP subscriber, closing the WebSocket with code 1008. A topic
//! follower asks for the next entries only once it has sent the last ones, so it can fall
//! behind but never holds anything up.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query};
use axum::response::Response;
use futures_util::SinkExt;
use redis_protocol::resp2::types::OwnedFrame;
use serde_json::{json, Value};

use super::access::Ctx;
use super::error::ApiError;
use super::gateway::LocalClient;
use super::json::{bytes_value, check, frame_bytes, integer, read_entries};
use super::params::{self, From};
use super::topics::first_id;
use crate::ops::DisconnectReason;
use crate::streams::id::StreamId;

/// The most deliveries sent with one flush, and about the most bytes: what waits in the
/// socket's buffer is outside the broker's output limit, so it is kept small.
const RUN: usize = 1024;
const RUN_BYTES: usize = 64 * 1024;

/// Entries asked for at once while replaying a topic.
const REPLAY_BATCH: &str = "1000";

/// The close code for a client cut off at the output limit (policy violation).
const CLOSE_OUTPUT_LIMIT: u16 = 1008;
/// How long a close frame may wait for a client that does not read.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The close code when the broker stops (going away).
const CLOSE_GOING_AWAY: u16 = 1001;

/// `GET /ws/channels/{channel}`.
pub(crate) async fn channel(
    ctx: Ctx,
    Path(channel): Path<String>,
    Query(query): Query<params::Query>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    subscribe(ctx, b"SUBSCRIBE", channel, query, upgrade).await
}

/// `GET /ws/patterns/{pattern}`.
pub(crate) async fn pattern(
    ctx: Ctx,
    Path(pattern): Path<String>,
    Query(query): Query<params::Query>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    subscribe(ctx, b"PSUBSCRIBE", pattern, query, upgrade).await
}

async fn subscribe(
    ctx: Ctx,
    command: &'static [u8],
    target: String,
    query: params::Query,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let raw = match query.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("raw") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "'format' must be json or raw, not '{other}'"
            )))
        }
    };
    let mut client = ctx.client().await?;
    // Subscribed before the upgrade is answered: a message published once the client sees
    // the upgrade reaches it.
    check(client.call(&[command, target.as_bytes()]).await?)?;
    Ok(upgrade.on_upgrade(move |socket| relay_messages(socket, client, raw)))
}

/// Sends each message of the subscription until either side ends. The messages the broker
/// has delivered by the time one is sent go out together, with one flush: a subscriber keeps
/// up with a fast publisher instead of paying a system call per message.
async fn relay_messages(mut socket: WebSocket, mut client: LocalClient, raw: bool) {
    let closed = client.closed();
    loop {
        tokio::select! {
            frame = client.next() => match frame {
                Ok(frame) => {
                    // A client that does not read blocks this send; the broker meanwhile
                    // keeps its messages and cuts it off at the output limit, which ends
                    // the send.
                    tokio::select! {
                        sent = send_run(&mut socket, &mut client, frame, raw) => {
                            if !sent {
                                return close(socket, client).await;
                            }
                        }
                        () = closed.wait() => return close(socket, client).await,
                    }
                }
                Err(_) => return close(socket, client).await,
            },
            incoming = socket.recv() => {
                if !still_open(incoming) {
                    return;
                }
            }
        }
    }
}

/// Sends `first` and every delivery already waiting after it (up to [`RUN`] of them and about
/// [`RUN_BYTES`]), then flushes. Returns false if the socket or the client is gone.
async fn send_run(socket: &mut WebSocket, client: &mut LocalClient, first: OwnedFrame, raw: bool) -> bool {
    let mut frame = Some(first);
    let mut sent = 0;
    let mut bytes = 0;
    while let Some(f) = frame.take() {
        if let Some(message) = delivery(&f, raw) {
            bytes += match &message {
                Message::Binary(b) => b.len(),
                Message::Text(t) => t.len(),
                _ => 0,
            };
            if socket.feed(message).await.is_err() {
                return false;
            }
            sent += 1;
        }
        if sent < RUN && bytes < RUN_BYTES {
            match client.try_next() {
                Ok(next) => frame = next,
                Err(_) => break,
            }
        }
    }
    socket.flush().await.is_ok()
}

/// A `message` or `pmessage` push as a WebSocket message; `None` for anything else.
fn delivery(frame: &OwnedFrame, raw: bool) -> Option<Message> {
    let OwnedFrame::Array(parts) = frame else {
        return None;
    };
    let (pattern, channel, payload) = match parts.as_slice() {
        [kind, channel, payload] if frame_bytes(kind) == Some(b"message") => (None, channel, payload),
        [kind, pattern, channel, payload] if frame_bytes(kind) == Some(b"pmessage") => {
            (Some(pattern), channel, payload)
        }
        _ => return None,
    };
    let payload = frame_bytes(payload)?;
    if raw {
        return Some(Message::Binary(payload.to_vec().into()));
    }
    let mut value = json!({
        "channel": bytes_value(frame_bytes(channel)?),
        "data": bytes_value(payload),
    });
    if let Some(pattern) = pattern {
        value["pattern"] = bytes_value(frame_bytes(pattern)?);
    }
    Some(Message::Text(value.to_string().into()))
}

/// Whether what the client sent leaves the socket open (anything but a close or an error).
fn still_open(incoming: Option<Result<Message, axum::Error>>) -> bool {
    matches!(incoming, Some(Ok(message)) if !matches!(message, Message::Close(_)))
}

/// Closes the socket saying why the broker closed the client. The client is disconnected
/// from the broker first, so that it stops counting as a receiver at once, while the close
/// frame waits for a peer that may be slow to take it.
async fn close(mut socket: WebSocket, client: LocalClient) {
    let why = client.close_reason();
    drop(client);
    let (code, reason) = match why {
        Some(DisconnectReason::OutputLimit) => (CLOSE_OUTPUT_LIMIT, "output buffer limit"),
        _ => (CLOSE_GOING_AWAY, "the broker closed the subscription"),
    };
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    // A client that does not read may never take the frame: then the connection just ends.
    let _ = tokio::time::timeout(CLOSE_GRACE, socket.send(frame)).await;
}

/// `GET /ws/topics/{topic}?from=`.
pub(crate) async fn topic(
    ctx: Ctx,
    Path(topic): Path<String>,
    Query(query): Query<params::Query>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let from = params::from(&query, From::End)?;
    let mut client = ctx.client().await?;
    let reply = check(client.call(&[b"EXISTS".as_slice(), topic.as_bytes()]).await?)?;
    if integer(&reply)? == 0 {
        return Err(ApiError::not_found(format!("no topic '{topic}'")));
    }
    let first = first_id(&mut client, &topic, from).await?;
    Ok(upgrade.on_upgrade(move |socket| follow(socket, client, topic, first)))
}

/// Sends every entry from `first` on, then each new one, until either side ends. Each read
/// starts after the last entry sent, so the switch from history to live entries has no gap
/// and no repeat: it is the same read, which blocks once it reaches the end.
async fn follow(mut socket: WebSocket, mut client: LocalClient, topic: String, first: StreamId) {
    let mut after = params::read_after(first);
    let mut asked = false;
    loop {
        if !asked {
            let read = [
                &b"XREAD"[..],
                b"COUNT",
                REPLAY_BATCH.as_bytes(),
                b"BLOCK",
                b"0",
                b"STREAMS",
                topic.as_bytes(),
                after.as_bytes(),
            ];
            if client.send(&read).await.is_err() {
                return close(socket, client).await;
            }
            asked = true;
        }
        tokio::select! {
            reply = client.next() => {
                asked = false;
                let Ok(reply) = reply else {
                    return close(socket, client).await;
                };
                let Ok(found) = check(reply).and_then(|r| read_entries(&r)) else {
                    return close(socket, client).await;
                };
                for (id, entry) in found {
                    if socket.send(Message::Text(entry.to_string().into())).await.is_err() {
                        return;
                    }
                    after = id;
                }
            }
            incoming = socket.recv() => {
                if !still_open(incoming) {
                    return;
                }
            }
        }
    }
}

/// `GET /ws/stats`: the samples kept, as `{"history": [...]}`, then each new one.
pub(crate) async fn stats(ctx: Ctx, upgrade: WebSocketUpgrade) -> Result<Response, ApiError> {
    let api = ctx.api.clone();
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        let mut feed = api.stats().subscribe();
        let history: Vec<Value> = api
            .stats()
            .history()
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect();
        let first = json!({ "history": history }).to_string();
        if socket.send(Message::Text(first.into())).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                sample = feed.recv() => match sample {
                    Ok(sample) => {
                        if socket.send(Message::Text(sample.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    // A slow page skips the samples it missed.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                incoming = socket.recv() => {
                    if !still_open(incoming) {
                        return;
                    }
                }
            }
        }
    }))
}
