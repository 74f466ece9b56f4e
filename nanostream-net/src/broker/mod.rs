//! The broker: a NanoStream pipeline whose single consumer runs every command.
//!
//! The I/O thread publishes each decoded request into a multi-producer ring; the broker
//! thread takes them in order, runs them against its state (clients, subscriptions, sources),
//! stages replies and deliveries per client, and at the end of each batch writes every staged
//! buffer with one non-blocking write per client. Running every command on one thread keeps
//! each client's replies in request order and the subscription state free of locks.

mod client;
mod event;
mod state;
mod wait;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nanostream::EventHandlerMut;
use parking_lot::{Condvar, Mutex};

pub(crate) use client::Client;
pub(crate) use event::{BrokerEvent, EventKind};
pub(crate) use state::{Settings, State};
pub use wait::BrokerWait;

use crate::ops::{DisconnectReason, Metrics};
use crate::resp::encode;

/// How long shutdown waits for clients to take their last bytes.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

/// A one-shot signal: the broker thread sets it, another thread waits for it.
#[derive(Debug, Default)]
pub(crate) struct Ack {
    done: Mutex<bool>,
    cond: Condvar,
}

impl Ack {
    pub(crate) fn set(&self) {
        *self.done.lock() = true;
        self.cond.notify_all();
    }

    /// Waits until set or `timeout` passes; returns whether it was set.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut done = self.done.lock();
        while !*done {
            match deadline {
                Some(d) => {
                    if self.cond.wait_until(&mut done, d).timed_out() {
                        return *done;
                    }
                }
                None => self.cond.wait(&mut done),
            }
        }
        true
    }
}

/// The broker thread's handler: runs commands and fans messages out.
pub(crate) struct BrokerHandler {
    state: State,
}

impl std::fmt::Debug for BrokerHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerHandler").finish_non_exhaustive()
    }
}

impl BrokerHandler {
    pub(crate) fn new(settings: Arc<Settings>, metrics: Arc<Metrics>) -> Self {
        BrokerHandler {
            state: State::new(settings, metrics),
        }
    }

    fn disconnected(&mut self, event: &BrokerEvent) {
        let id = event.client;
        self.state.registry.remove_client(id);
        if let Some(c) = self.state.clients.remove(&id) {
            let reason = c
                .connection
                .close_reason()
                .unwrap_or(DisconnectReason::ClosedByClient);
            self.state.metrics.client_disconnected(reason);
        }
    }

    /// Writes what every client is owed, for up to a second, then closes them all.
    fn shutdown_clients(&mut self) {
        self.state.flush();
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        loop {
            let waiting = self
                .state
                .clients
                .values()
                .filter(|c| c.connection.flush() == crate::server::connection::Flushed::Pending)
                .count();
            if waiting == 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for (_, c) in self.state.clients.drain() {
            c.connection.close(DisconnectReason::Shutdown);
            self.state.metrics.client_disconnected(DisconnectReason::Shutdown);
        }
    }
}

impl EventHandlerMut<BrokerEvent> for BrokerHandler {
    fn on_event(&mut self, event: &mut BrokerEvent, _sequence: i64, end_of_batch: bool) {
        match event.kind {
            EventKind::Empty => {}
            EventKind::Connected => {
                if let Some(connection) = event.connection.take() {
                    self.state.clients.insert(connection.id, Client::new(connection));
                }
            }
            EventKind::Command => {
                let closing = self.state.clients.get(&event.client).is_none_or(|c| c.closing);
                if !closing {
                    crate::commands::execute(&mut self.state, event.client, event.args());
                }
            }
            EventKind::ProtocolError => {
                if self.state.clients.contains_key(&event.client) {
                    let reply = event.args().first().map(|a| a.to_vec()).unwrap_or_default();
                    self.state.out(event.client).extend_from_slice(&reply);
                    self.state
                        .close_after_flush(event.client, DisconnectReason::ProtocolError);
                }
            }
            EventKind::InputEnded => {
                self.state
                    .close_after_flush(event.client, DisconnectReason::ClosedByClient);
            }
            EventKind::Disconnected => self.disconnected(event),
            EventKind::Publish => {
                let args = event.args();
                if let [channel, payload] = args {
                    self.state.publish(channel, payload);
                }
            }
            EventKind::AddSource => {
                if let Some(source) = event.source.take() {
                    self.state.sources.push(source.into_inner());
                }
            }
            EventKind::Shutdown => {
                self.shutdown_clients();
                if let Some(ack) = event.ack.take() {
                    ack.set();
                }
            }
        }
        event.clear();
        if end_of_batch {
            let slowest = self.state.flush();
            self.state.metrics.set_slowest_backlog(slowest as u64);
        }
    }

    fn on_shutdown(&mut self) {
        self.shutdown_clients();
    }
}

/// The most events one thread hands the broker with one claim: a quarter of the ring, so that
/// one large batch never holds the whole ring while other producers wait.
pub(crate) fn claim_chunk(ring: &nanostream::MultiProducer<BrokerEvent, BrokerWait>) -> usize {
    usize::try_from(ring.buffer_size() / 4).unwrap_or(1).max(1)
}

/// Appends Redis's reply to a client refused at accept time.
pub(crate) fn max_clients_reply(out: &mut Vec<u8>) {
    encode::error(out, "ERR max number of clients reached");
}
