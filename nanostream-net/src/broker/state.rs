//! The broker thread's state: clients, subscriptions, sources, and the replies of the batch
//! being handled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::blocked::BlockedReads;
use super::client::Client;
use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::source::Sink;
use crate::pubsub::{ClientId, Registry};
use crate::resp::encode;
use crate::server::connection::Flushed;
use crate::server::OutputLimit;
use crate::streams::keyspace::Keyspace;

/// A delivery frame buffer grown past this (by a large payload) is given back afterwards.
const KEEP_FRAME_CAPACITY: usize = 64 * 1024;

/// The settings commands need.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) password: Option<String>,
    pub(crate) output_limit: OutputLimit,
    pub(crate) max_clients: usize,
    pub(crate) max_bulk_len: usize,
    pub(crate) port: u16,
    pub(crate) tls_port: u16,
    pub(crate) ring_size: usize,
    pub(crate) started: Instant,
}

/// Everything the broker thread owns.
pub(crate) struct State {
    pub(crate) settings: Arc<Settings>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) registry: Registry,
    pub(crate) clients: HashMap<ClientId, Client>,
    pub(crate) sources: Vec<Box<dyn Sink>>,
    /// Clients with staged output, written at the end of the batch: first those that sent a
    /// command in it (`answered`), so that a publisher has its reply and sends its next
    /// commands while the deliveries are written, then the others.
    answered: Vec<ClientId>,
    dirty: Vec<ClientId>,
    /// The frame being delivered, encoded once per publish.
    frame: Vec<u8>,
    /// Clients whose output the socket has not all taken, for the slowest-subscriber metric:
    /// a client stays here, whether or not a batch writes to it, until its output is gone.
    backlogged: Vec<ClientId>,
    /// Clients to close once their output of this batch is written.
    closing: Vec<(ClientId, DisconnectReason)>,
    /// Messages queued to subscribers in this batch, for the metrics.
    pub(crate) delivered: u64,
    pub(crate) commands: u64,
    /// The streams (`None`: the server was started without a data directory).
    pub(crate) keyspace: Option<Keyspace>,
    /// Clients waiting in `XREAD`/`XREADGROUP ... BLOCK`.
    pub(crate) blocked: BlockedReads,
    /// Stream keys that got new entries in this batch: their blocked readers are retried.
    pub(crate) signaled: Vec<Vec<u8>>,
    /// Clients that wrote to a stream in this batch: if the batch's sync fails, they are
    /// disconnected instead of answered.
    pub(crate) writers: Vec<ClientId>,
    /// A blocked read is being run again.
    pub(crate) retrying: bool,
    /// Set by a blocked read run again that still found nothing.
    pub(crate) still_blocked: bool,
    /// Messages published to and delivered on each subscribed channel, kept once the HTTP
    /// API's dashboard first asks ([`State::inspect`]), which also forgets channels nobody
    /// subscribes to any more.
    pub(crate) channel_counts: Option<HashMap<Box<[u8]>, ChannelCounts>>,
}

/// What one channel carried, for the dashboard.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ChannelCounts {
    pub(crate) published: u64,
    pub(crate) delivered: u64,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("clients", &self.clients.len())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(settings: Arc<Settings>, metrics: Arc<Metrics>, keyspace: Option<Keyspace>) -> Self {
        State {
            settings,
            metrics,
            registry: Registry::new(),
            clients: HashMap::new(),
            sources: Vec::new(),
            answered: Vec::new(),
            dirty: Vec::new(),
            closing: Vec::new(),
            backlogged: Vec::new(),
            frame: Vec::new(),
            delivered: 0,
            commands: 0,
            keyspace,
            blocked: BlockedReads::default(),
            signaled: Vec::new(),
            writers: Vec::new(),
            retrying: false,
            still_blocked: false,
            channel_counts: None,
        }
    }

    /// The output buffer of `client` for this batch (the client must exist).
    pub(crate) fn out(&mut self, client: ClientId) -> &mut Vec<u8> {
        let c = self.clients.get_mut(&client).expect("a connected client");
        if !c.dirty {
            c.dirty = true;
            self.answered.push(client);
        }
        &mut c.staged
    }

    /// Publishes `payload` to `channel`: a `message` to each subscriber of the channel, a
    /// `pmessage` to each subscriber of each matching pattern, and the payload to each matching
    /// source. Returns the number of receivers, as `PUBLISH` replies.
    pub(crate) fn publish(&mut self, channel: &[u8], payload: &[u8]) -> usize {
        let limit = self.settings.output_limit;
        let State {
            registry,
            clients,
            dirty,
            sources,
            delivered,
            frame,
            ..
        } = self;
        let mut count = 0;
        let receivers = registry.receivers(channel);
        // Each frame is encoded once and copied to every subscriber.
        if !receivers.subscribers().is_empty() {
            frame.clear();
            encode::message(frame, channel, payload);
            for client in receivers.subscribers() {
                deliver(clients, dirty, limit, *client, frame);
                count += 1;
            }
        }
        for (pattern, subscribers) in receivers {
            frame.clear();
            encode::pmessage(frame, pattern, channel, payload);
            for client in subscribers {
                deliver(clients, dirty, limit, *client, frame);
                count += 1;
            }
        }
        for source in sources.iter_mut() {
            if source.matches(channel) {
                source.deliver(channel, payload);
                count += 1;
            }
        }
        *delivered += count as u64;
        if let Some(counts) = self.channel_counts.as_mut().filter(|_| count > 0) {
            // A new channel allocates its entry once; after that, counting is a lookup.
            let entry = match counts.get_mut(channel) {
                Some(entry) => entry,
                None => counts.entry(channel.into()).or_default(),
            };
            entry.published += 1;
            entry.delivered += count as u64;
        }
        self.metrics.messages_in(1);
        if frame.capacity() > KEEP_FRAME_CAPACITY {
            *frame = Vec::new();
        }
        count
    }

    /// Closes `client` once the output staged so far is written.
    pub(crate) fn close_after_flush(&mut self, client: ClientId, reason: DisconnectReason) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.closing = true;
            self.closing.push((client, reason));
        }
    }

    /// Writes every client's staged output (the end of a batch). Returns the largest backlog
    /// left of any client, for the slowest-subscriber metric.
    pub(crate) fn flush(&mut self) -> usize {
        // Counted before the writes, so that a client that has its reply sees them counted.
        if self.delivered > 0 {
            self.metrics.messages_out(self.delivered);
            self.delivered = 0;
        }
        if self.commands > 0 {
            self.metrics.commands(self.commands);
            self.commands = 0;
        }
        let mut written = 0u64;
        for id in self.answered.drain(..).chain(self.dirty.drain(..)) {
            let Some(c) = self.clients.get_mut(&id) else {
                continue;
            };
            c.dirty = false;
            written += c.staged.len() as u64;
            if c.connection.write(&mut c.staged) == Flushed::Pending && !c.backlogged {
                c.backlogged = true;
                self.backlogged.push(id);
            }
        }
        let mut slowest = 0;
        let clients = &mut self.clients;
        self.backlogged.retain(|id| match clients.get_mut(id) {
            Some(c) => {
                let pending = c.connection.pending();
                slowest = slowest.max(pending);
                c.backlogged = pending > 0;
                c.backlogged
            }
            None => false,
        });
        for (id, reason) in self.closing.drain(..) {
            if let Some(c) = self.clients.get(&id) {
                c.connection.close_after_flush(reason);
            }
        }
        self.metrics.bytes_out(written);
        slowest
    }
}

/// Queues `frame` to `client`, disconnecting it instead if its output passes the limit.
/// Returns whether the delivery was queued.
fn deliver(
    clients: &mut HashMap<ClientId, Client>,
    dirty: &mut Vec<ClientId>,
    limit: OutputLimit,
    client: ClientId,
    frame: &[u8],
) -> bool {
    let Some(c) = clients.get_mut(&client) else {
        return false;
    };
    if c.closing {
        return false;
    }
    if !c.dirty {
        c.dirty = true;
        dirty.push(client);
    }
    c.staged.extend_from_slice(frame);
    let backlog = c.backlog();
    let over_hard = limit.hard > 0 && backlog > limit.hard;
    let over_soft_too_long = if limit.soft > 0 && backlog > limit.soft {
        let since = *c.over_soft_since.get_or_insert_with(Instant::now);
        since.elapsed() >= limit.soft_for
    } else {
        c.over_soft_since = None;
        false
    };
    if over_hard || over_soft_too_long {
        tracing::info!(
            client = client.0,
            peer = %c.connection.peer,
            backlog,
            "closing a subscriber that does not read: its output passed the limit"
        );
        c.closing = true;
        c.staged.clear();
        c.connection.close(DisconnectReason::OutputLimit);
        return false;
    }
    true
}
