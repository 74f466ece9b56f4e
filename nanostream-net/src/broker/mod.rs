//! The broker: a NanoStream pipeline whose single consumer runs every command.
//!
//! The I/O thread publishes each decoded request into a multi-producer ring; the broker
//! thread takes them in order, runs them against its state (clients, subscriptions, sources),
//! stages replies and deliveries per client, and at the end of each batch writes every staged
//! buffer with one non-blocking write per client. Running every command on one thread keeps
//! each client's replies in request order and the subscription state free of locks.

mod blocked;
mod client;
mod event;
mod inspect;
mod state;
mod wait;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nanostream::EventHandlerMut;
use parking_lot::{Condvar, Mutex};

pub(crate) use blocked::Blocked;
pub(crate) use client::Client;
pub(crate) use event::{BrokerEvent, EventKind};
pub(crate) use inspect::BrokerView;
pub(crate) use state::{Settings, State};
pub(crate) use wait::prepare_thread_for_parking;
pub use wait::BrokerWait;

use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::ClientId;
use crate::resp::encode;
use crate::streams::keyspace::Keyspace;

/// How long shutdown waits for clients to take their last bytes.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

/// How many times one batch's end retries blocked reads woken by entries that the commands
/// they held added (each round is bounded by the reads blocked; this bounds the chain).
const MAX_WAKE_ROUNDS: usize = 16;

/// The most a blocked client may send before it is served (Redis's default
/// `client-query-buffer-limit`): more is closed, not buffered.
const MAX_HELD_BYTES: usize = 1 << 30;

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
    pub(crate) fn new(settings: Arc<Settings>, metrics: Arc<Metrics>, keyspace: Option<Keyspace>) -> Self {
        BrokerHandler {
            state: State::new(settings, metrics, keyspace),
        }
    }

    /// Runs a command, or holds it while its client is blocked.
    fn command(&mut self, client: ClientId, args: &[std::borrow::Cow<'_, [u8]>]) {
        let Some(c) = self.state.clients.get_mut(&client) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.blocked {
            let bytes: usize = args.iter().map(|a| a.len()).sum();
            c.held_bytes += bytes;
            if c.held_bytes > MAX_HELD_BYTES {
                tracing::info!(
                    client = client.0,
                    "closing a blocked client that sent more than 1 GiB of commands meanwhile"
                );
                c.closing = true;
                c.held.clear();
                c.connection.close(DisconnectReason::ProtocolError);
                return;
            }
            c.held.push_back(args.iter().map(|a| a.to_vec()).collect());
            return;
        }
        crate::commands::execute(&mut self.state, client, args);
    }

    /// Ends a batch: makes the streams written durable, serves the blocked reads that have
    /// entries now (making what they changed durable too), then writes every client's replies.
    fn finish_batch(&mut self) {
        self.commit_streams();
        if !self.state.blocked.is_empty() {
            self.wake_blocked();
            self.expire_blocked();
            self.commit_streams();
        }
        self.state.signaled.clear();
        let slowest = self.state.flush();
        self.state.metrics.set_slowest_backlog(slowest as u64);
    }

    /// Commits every stream written in this batch. If a commit fails, the writes of this
    /// batch may not be durable: their clients are disconnected instead of answered.
    fn commit_streams(&mut self) {
        if self.state.writers.is_empty() {
            return;
        }
        let Some(keyspace) = self.state.keyspace.as_mut() else {
            return;
        };
        let failed = keyspace.commit();
        let writers = std::mem::take(&mut self.state.writers);
        if failed.is_empty() {
            return;
        }
        for (key, e) in &failed {
            tracing::error!(stream = %String::from_utf8_lossy(key), error = %e, "making a stream durable failed; disconnecting the clients that wrote in this batch");
        }
        for id in writers {
            if let Some(c) = self.state.clients.get_mut(&id) {
                c.staged.clear();
                c.closing = true;
                c.connection.close(DisconnectReason::IoError);
            }
        }
    }

    /// Runs again the blocked reads waiting on streams that got entries, oldest first.
    fn wake_blocked(&mut self) {
        for _ in 0..MAX_WAKE_ROUNDS {
            if self.state.signaled.is_empty() {
                break;
            }
            let keys = std::mem::take(&mut self.state.signaled);
            let mut still = Vec::new();
            for read in self.state.blocked.take_waiting_on(&keys) {
                let args: Vec<std::borrow::Cow<'_, [u8]>> = read
                    .request
                    .iter()
                    .map(|a| std::borrow::Cow::Borrowed(&a[..]))
                    .collect();
                self.state.retrying = true;
                self.state.still_blocked = false;
                crate::commands::execute(&mut self.state, read.client, &args);
                self.state.retrying = false;
                if self.state.still_blocked {
                    still.push(read);
                } else {
                    self.unblock(read.client);
                }
            }
            self.state.blocked.put_back(still);
        }
    }

    /// Answers the blocked reads whose time is up with the null reply.
    fn expire_blocked(&mut self) {
        for read in self.state.blocked.take_expired(Instant::now()) {
            if self.state.clients.contains_key(&read.client) {
                encode::null_array(self.state.out(read.client));
                self.unblock(read.client);
            }
        }
    }

    /// Lets a served client go on: runs the commands it sent meanwhile, until one blocks.
    fn unblock(&mut self, client: ClientId) {
        let Some(c) = self.state.clients.get_mut(&client) else {
            return;
        };
        c.blocked = false;
        c.held_bytes = 0;
        while let Some(args) = self
            .state
            .clients
            .get_mut(&client)
            .filter(|c| !c.blocked && !c.closing)
            .and_then(|c| c.held.pop_front())
        {
            let args: Vec<std::borrow::Cow<'_, [u8]>> =
                args.iter().map(|a| std::borrow::Cow::Borrowed(&a[..])).collect();
            crate::commands::execute(&mut self.state, client, &args);
        }
    }

    fn disconnected(&mut self, event: &BrokerEvent) {
        let id = event.client;
        self.state.registry.remove_client(id);
        self.state.blocked.remove_client(id);
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
            EventKind::Command => self.command(event.client, event.args()),
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
            EventKind::Inspect => {
                if let Some(reply) = event.inspect.take().and_then(|m| m.into_inner()) {
                    let _ = reply.send(self.state.inspect());
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
            self.finish_batch();
        }
    }

    fn on_start(&mut self) {
        prepare_thread_for_parking();
    }

    fn on_timeout(&mut self, _sequence: i64) {
        if !self.state.blocked.is_empty() {
            // Expiring may run commands the client sent meanwhile: end it as a batch.
            self.finish_batch();
        }
    }

    fn on_shutdown(&mut self) {
        self.shutdown_clients();
        if let Some(keyspace) = self.state.keyspace.take() {
            match keyspace.close() {
                Ok(()) => tracing::info!("streams closed cleanly"),
                Err(e) => tracing::error!(error = %e, "closing the streams"),
            }
        }
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
