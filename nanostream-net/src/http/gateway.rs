//! [`Gateway`]: how the HTTP API reaches the broker. Each request runs as a client of its own
//! inside the process ([`LocalClient`]): it is connected through the broker's ring like a
//! socket client, sends ordinary commands (`XADD`, `XREAD`, `SUBSCRIBE`, ...) and reads
//! their RESP replies. So an HTTP request sees exactly what a RESP client sees: the same
//! streams, groups and channels, replies only once writes are durable, blocking reads woken by
//! any client's writes, and the same output limit for a subscriber that does not read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nanostream::{MultiProducer, Producer, TryPublishError};
use parking_lot::Mutex;
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::types::OwnedFrame;
use tokio::sync::{oneshot, Notify};

use crate::broker::{BrokerEvent, BrokerView, BrokerWait, EventKind};
use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::ClientId;
use crate::server::connection::Connection;

use super::commands::Commands;

/// How long a request waits before trying again to publish into a full ring.
const RING_FULL_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// The broker's ring, as the HTTP API publishes into it, until the server stops.
pub struct Gateway {
    ring: Mutex<Option<MultiProducer<BrokerEvent, BrokerWait>>>,
    ids: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    started: std::time::Instant,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("open", &self.ring.lock().is_some())
            .finish_non_exhaustive()
    }
}

/// The broker is not running (it is stopping, or stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

impl Gateway {
    pub(crate) fn new(
        ring: MultiProducer<BrokerEvent, BrokerWait>,
        ids: Arc<AtomicU64>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Gateway {
            ring: Mutex::new(Some(ring)),
            ids,
            metrics,
            started: std::time::Instant::now(),
        }
    }

    /// How long the server has been running.
    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Stops taking requests: the server is stopping. Requests in progress see their clients
    /// closed by the broker's shutdown.
    pub(crate) fn close(&self) {
        self.ring.lock().take();
    }

    /// The server's metrics.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Publishes one event, waiting while the ring is full; `Closed` once the server stops.
    /// For drops, which cannot wait asynchronously.
    fn publish_now(&self, write: impl FnOnce(&mut BrokerEvent)) -> Result<(), Closed> {
        let mut ring = self.ring.lock();
        let ring = ring.as_mut().ok_or(Closed)?;
        ring.publish(|slot, _| write(slot))
            .map(|_| ())
            .map_err(|_| Closed)
    }

    /// Publishes `n` events, `write(i, slot)` filling the `i`th, in order, with as few claims
    /// as the ring allows. While the ring is full the task sleeps instead of spinning: the
    /// broker is the one to make room, and on a small machine a spinning thread takes the
    /// core it needs.
    async fn publish(&self, n: usize, mut write: impl FnMut(usize, &mut BrokerEvent)) -> Result<(), Closed> {
        let mut next = 0;
        while next < n {
            let published = {
                let mut ring = self.ring.lock();
                let ring = ring.as_mut().ok_or(Closed)?;
                let chunk = crate::broker::claim_chunk(ring).min(n - next);
                ring.try_batch_publish(chunk, |slots| {
                    for (i, slot) in slots.enumerate() {
                        write(next + i, slot);
                    }
                })
                .map(|_| chunk)
            };
            match published {
                Ok(chunk) => next += chunk,
                Err(TryPublishError::Full) => tokio::time::sleep(RING_FULL_PAUSE).await,
                Err(_) => return Err(Closed),
            }
        }
        Ok(())
    }

    /// Connects a client for a request from `peer` received on `local`.
    pub(crate) async fn connect(
        self: &Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Result<LocalClient, Closed> {
        let id = ClientId(self.ids.fetch_add(1, Ordering::Relaxed));
        let notify = Arc::new(Notify::new());
        let connection = Arc::new(Connection::local(id, notify.clone(), peer, local));
        let for_broker = connection.clone();
        let mut for_broker = Some(for_broker);
        self.publish(1, |_, slot| {
            slot.kind = EventKind::Connected;
            slot.client = id;
            slot.connection = for_broker.take();
        })
        .await?;
        self.metrics.client_connected();
        Ok(LocalClient {
            gateway: self.clone(),
            connection,
            notify,
            input: Vec::new(),
            read: 0,
        })
    }

    /// What the broker thread knows of its channels and streams, for the dashboard.
    pub(crate) async fn inspect(&self) -> Result<BrokerView, Closed> {
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        self.publish(1, |_, slot| {
            slot.kind = EventKind::Inspect;
            slot.inspect = Some(Mutex::new(tx.take()));
        })
        .await?;
        rx.await.map_err(|_| Closed)
    }
}

/// See [`LocalClient::closed`].
pub(crate) struct ClosedSignal {
    connection: Arc<Connection>,
    notify: Arc<Notify>,
}

impl ClosedSignal {
    /// Completes once the connection is closed.
    pub(crate) async fn wait(&self) {
        while !self.connection.is_shut() {
            self.notify.notified().await;
        }
    }
}

/// A reply read by [`LocalClient::next_bulk`].
#[derive(Debug)]
pub(crate) enum Reply {
    /// A bulk string, appended to the caller's buffer.
    Bulk,
    /// Any other reply.
    Frame(OwnedFrame),
}

/// Where a bulk string's bytes start in `$<len>\r\n<bytes>\r\n`, and their length; `None`
/// while the header is incomplete or for the null bulk string.
fn bulk_header(input: &[u8]) -> Option<(usize, usize)> {
    if input.first() != Some(&b'$') {
        return None;
    }
    let end = input.iter().position(|&b| b == b'\r')?;
    if input.get(end + 1) != Some(&b'\n') {
        return None;
    }
    let len = std::str::from_utf8(&input[1..end]).ok()?.parse::<usize>().ok()?;
    Some((end + 2, len))
}

/// A client of the broker inside the process, for one HTTP request or one WebSocket. Dropping
/// it disconnects it (a request the HTTP client gave up on stops waiting in the broker too).
pub(crate) struct LocalClient {
    gateway: Arc<Gateway>,
    connection: Arc<Connection>,
    notify: Arc<Notify>,
    /// Replies taken from the connection: `input[read..]` is not decoded yet.
    input: Vec<u8>,
    read: usize,
}

impl std::fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalClient")
            .field("id", &self.connection.id)
            .finish_non_exhaustive()
    }
}

impl LocalClient {
    /// Sends one command (its name first).
    pub(crate) async fn send<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Closed> {
        let id = self.connection.id;
        self.gateway
            .publish(1, |_, slot| {
                slot.kind = EventKind::Command;
                slot.client = id;
                slot.set_args(args.iter().map(|a| a.as_ref()));
            })
            .await
    }

    /// Sends several commands with as few claims on the ring as it takes: the broker runs
    /// them in one batch, like a pipeline of a socket client.
    pub(crate) async fn send_many(&self, commands: &Commands) -> Result<(), Closed> {
        let id = self.connection.id;
        self.gateway
            .publish(commands.len(), |i, slot| {
                slot.kind = EventKind::Command;
                slot.client = id;
                slot.set_args(commands.command(i));
            })
            .await
    }

    /// Sends a command and waits for its reply.
    pub(crate) async fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<OwnedFrame, Closed> {
        self.send(args).await?;
        self.next().await
    }

    /// The next frame the broker sent: a reply, in the order of the commands, or a message of
    /// a subscription. `Closed` once the broker closed the client (see
    /// [`close_reason`](Self::close_reason)) and every frame before was read.
    pub(crate) async fn next(&mut self) -> Result<OwnedFrame, Closed> {
        loop {
            if let Some(frame) = self.decoded()? {
                return Ok(frame);
            }
            self.fill().await?;
        }
    }

    /// The next frame if the broker has already sent it, without waiting: for sending a run
    /// of deliveries at once. `Ok(None)` when none is there yet.
    pub(crate) fn try_next(&mut self) -> Result<Option<OwnedFrame>, Closed> {
        if let Some(frame) = self.decoded()? {
            return Ok(Some(frame));
        }
        if self.read == self.input.len() {
            self.input.clear();
            self.read = 0;
        }
        if !self.connection.take_output(&mut self.input) && self.read == self.input.len() {
            return Err(Closed);
        }
        self.decoded()
    }

    /// The next reply as [`Reply::Bulk`], its bytes appended to `out`, when it is a bulk
    /// string (an `XADD`'s ID: decoded in place, with no allocation), or else as a frame.
    pub(crate) async fn next_bulk(&mut self, out: &mut Vec<u8>) -> Result<Reply, Closed> {
        loop {
            let pending = &self.input[self.read..];
            match bulk_header(pending) {
                Some((start, len)) => {
                    if pending.len() >= start + len + 2 {
                        out.extend_from_slice(&pending[start..start + len]);
                        self.consume(start + len + 2);
                        return Ok(Reply::Bulk);
                    }
                }
                // Another reply (an error, a null), or a header not all there yet.
                None => {
                    if let Some(frame) = self.decoded()? {
                        return Ok(Reply::Frame(frame));
                    }
                }
            }
            self.fill().await?;
        }
    }

    /// Waits for more output from the broker and takes it.
    async fn fill(&mut self) -> Result<(), Closed> {
        loop {
            if self.read == self.input.len() {
                self.input.clear();
                self.read = 0;
            }
            let before = self.input.len();
            let open = self.connection.take_output(&mut self.input);
            if self.input.len() > before {
                return Ok(());
            }
            if !open {
                return Err(Closed);
            }
            // The broker notifies after every write; a notification sent since the take above
            // is kept as a permit, so this cannot miss one.
            self.notify.notified().await;
        }
    }

    fn consume(&mut self, n: usize) {
        self.read += n;
        if self.read == self.input.len() {
            self.input.clear();
            self.read = 0;
        }
    }

    /// Decodes one frame from the front of the input, if it is all there.
    fn decoded(&mut self) -> Result<Option<OwnedFrame>, Closed> {
        if self.read == self.input.len() {
            return Ok(None);
        }
        match decode(&self.input[self.read..]) {
            Ok(Some((frame, used))) => {
                self.consume(used);
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            // The broker writes well-formed RESP; anything else means the stream is broken.
            Err(_) => Err(Closed),
        }
    }

    /// A handle that completes once the broker has closed this client (a subscriber cut off
    /// at the output limit, shutdown): for racing a send to a socket that may never take it.
    pub(crate) fn closed(&self) -> ClosedSignal {
        ClosedSignal {
            connection: self.connection.clone(),
            notify: self.notify.clone(),
        }
    }

    /// Why the broker closed this client, if it did (an output limit, shutdown).
    pub(crate) fn close_reason(&self) -> Option<DisconnectReason> {
        self.connection.close_reason()
    }
}

impl Drop for LocalClient {
    fn drop(&mut self) {
        let id = self.connection.id;
        // Shut the connection first, so that nothing more is staged for it.
        self.connection.close(DisconnectReason::ClosedByClient);
        let _ = self.gateway.publish_now(|slot| {
            slot.kind = EventKind::Disconnected;
            slot.client = id;
        });
    }
}
