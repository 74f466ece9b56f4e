//! [`Gateway`]: how the HTTP API reaches the broker. Each request runs as a client of its own
//! inside the process ([`LocalClient`]): it is connected through the broker's ring like a
//! socket client, sends ordinary commands (`XADD`, `XREAD`, `SUBSCRIBE`, ...) and reads
//! their RESP replies. So an HTTP request sees exactly what a RESP client sees: the same
//! streams, groups and channels, replies only once writes are durable, blocking reads woken by
//! any client's writes, and the same output limit for a subscriber that does not read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nanostream::{MultiProducer, Producer};
use parking_lot::Mutex;
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::types::OwnedFrame;
use tokio::sync::{oneshot, Notify};

use crate::broker::{BrokerEvent, BrokerView, BrokerWait, EventKind};
use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::ClientId;
use crate::server::connection::Connection;

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

    /// Publishes into the ring; `Closed` once the server stops. Holding the lock while a full
    /// ring makes room keeps the API's requests in order; the broker drains it meanwhile.
    fn publish(&self, write: impl FnOnce(&mut BrokerEvent)) -> Result<(), Closed> {
        let mut ring = self.ring.lock();
        let ring = ring.as_mut().ok_or(Closed)?;
        ring.publish(|slot, _| write(slot))
            .map(|_| ())
            .map_err(|_| Closed)
    }

    /// Connects a client for a request from `peer` received on `local`.
    pub(crate) fn connect(
        self: &Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Result<LocalClient, Closed> {
        let id = ClientId(self.ids.fetch_add(1, Ordering::Relaxed));
        let notify = Arc::new(Notify::new());
        let connection = Arc::new(Connection::local(id, notify.clone(), peer, local));
        let for_broker = connection.clone();
        self.publish(|slot| {
            slot.kind = EventKind::Connected;
            slot.client = id;
            slot.connection = Some(for_broker);
        })?;
        self.metrics.client_connected();
        Ok(LocalClient {
            gateway: self.clone(),
            connection,
            notify,
            input: Vec::new(),
        })
    }

    /// What the broker thread knows of its channels and streams, for the dashboard.
    pub(crate) async fn inspect(&self) -> Result<BrokerView, Closed> {
        let (tx, rx) = oneshot::channel();
        self.publish(|slot| {
            slot.kind = EventKind::Inspect;
            slot.inspect = Some(Mutex::new(Some(tx)));
        })?;
        rx.await.map_err(|_| Closed)
    }
}

/// A client of the broker inside the process, for one HTTP request or one WebSocket. Dropping
/// it disconnects it (a request the HTTP client gave up on stops waiting in the broker too).
pub(crate) struct LocalClient {
    gateway: Arc<Gateway>,
    connection: Arc<Connection>,
    notify: Arc<Notify>,
    /// Replies taken from the connection and not yet decoded.
    input: Vec<u8>,
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
    pub(crate) fn send<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Closed> {
        let id = self.connection.id;
        self.gateway.publish(|slot| {
            slot.kind = EventKind::Command;
            slot.client = id;
            slot.set_args(args.iter().map(|a| a.as_ref()));
        })
    }

    /// Sends several commands with as few claims on the ring as it takes: the broker runs
    /// them in one batch, like a pipeline of a socket client.
    pub(crate) fn send_many<A: AsRef<[u8]>>(&self, commands: &[Vec<A>]) -> Result<(), Closed> {
        let id = self.connection.id;
        let mut ring = self.gateway.ring.lock();
        let ring = ring.as_mut().ok_or(Closed)?;
        let chunk = crate::broker::claim_chunk(ring);
        for part in commands.chunks(chunk) {
            ring.batch_publish(part.len(), |slots| {
                for (slot, args) in slots.zip(part) {
                    slot.kind = EventKind::Command;
                    slot.client = id;
                    slot.set_args(args.iter().map(|a| a.as_ref()));
                }
            })
            .map_err(|_| Closed)?;
        }
        Ok(())
    }

    /// Sends a command and waits for its reply.
    pub(crate) async fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<OwnedFrame, Closed> {
        self.send(args)?;
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
            let before = self.input.len();
            let open = self.connection.take_output(&mut self.input);
            if self.input.len() > before {
                continue;
            }
            if !open {
                return Err(Closed);
            }
            // The broker notifies after every write; a notification sent since the take above
            // is kept as a permit, so this cannot miss one.
            self.notify.notified().await;
        }
    }

    /// Decodes one frame from the front of the input, if it is all there.
    fn decoded(&mut self) -> Result<Option<OwnedFrame>, Closed> {
        if self.input.is_empty() {
            return Ok(None);
        }
        match decode(&self.input) {
            Ok(Some((frame, used))) => {
                self.input.drain(..used);
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            // The broker writes well-formed RESP; anything else means the stream is broken.
            Err(_) => Err(Closed),
        }
    }

    /// Completes once the broker has closed this client (a subscriber cut off at the output
    /// limit, shutdown); for racing a send to a socket that may never take it.
    pub(crate) async fn closed(&self) {
        while !self.connection.is_shut() {
            self.notify.notified().await;
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
        let _ = self.gateway.publish(|slot| {
            slot.kind = EventKind::Disconnected;
            slot.client = id;
        });
    }
}
