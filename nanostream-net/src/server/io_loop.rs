//! The I/O thread: accepts connections, reads and decodes requests, publishes them into the
//! broker's ring, and writes pending output when a socket turns writable again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use nanostream::{MultiProducer, Producer};

use super::batch::Batch;
use super::connection::{Connection, ReadOutcome, Transport};
use crate::broker::{claim_chunk, max_clients_reply, Ack, BrokerEvent, BrokerWait, EventKind};
use crate::commands::{early, Early};
use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::ClientId;
use crate::resp::decode::Decoded;
use crate::resp::{Limits, RequestDecoder};

/// The waker's token; listeners take the tokens after it, clients start at [`FIRST_CLIENT`].
pub(crate) const WAKER: Token = Token(0);
const FIRST_LISTENER: usize = 1;
pub(crate) const FIRST_CLIENT: u64 = 16;
/// How often, and after how long without input, idle connections' buffers are given back.
const IDLE_SWEEP: Duration = Duration::from_secs(2);
/// How long shutdown waits for the broker to flush and close every client.
const SHUTDOWN_ACK: Duration = Duration::from_secs(3);

/// A listener and, for a TLS one, its settings.
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

/// What the I/O thread keeps per connection.
struct Reader {
    connection: Arc<Connection>,
    decoder: RequestDecoder,
    /// The start of a request not yet complete (empty most of the time: a read goes to the
    /// loop's shared buffer, and only an incomplete tail is kept here).
    input: Vec<u8>,
    /// After QUIT or a protocol error: read and discard until the connection ends.
    input_closed: bool,
    /// The poll reported that the client closed its side.
    peer_closing: bool,
    /// The client closed its side; the broker was told.
    peer_ended: bool,
    /// When it last sent something, to give an idle connection's buffers back.
    last_read: Instant,
    authenticated: bool,
}

/// The I/O thread's state.
pub(crate) struct IoLoop {
    pub(crate) poll: Poll,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) producer: MultiProducer<BrokerEvent, BrokerWait>,
    pub(crate) limits: Limits,
    pub(crate) password: Option<String>,
    pub(crate) max_clients: usize,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) spin: bool,
    readers: HashMap<u64, Reader>,
    /// Client ids, shared with the HTTP API's clients so that every id is unique.
    ids: Arc<AtomicU64>,
    /// Requests decoded in this turn of the loop, published together at its end.
    batch: Batch,
    /// Where a connection with no incomplete request reads into.
    scratch: Vec<u8>,
    /// Argument ranges of the request being decoded.
    ranges: Vec<Range<usize>>,
    /// Connections that had more to read than one turn's budget: read again next turn.
    again: Vec<u64>,
    /// The time at the top of this turn of the loop.
    now: Instant,
    /// When idle connections' buffers are next given back.
    next_sweep: Instant,
}

impl IoLoop {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        poll: Poll,
        listeners: Vec<Listener>,
        producer: MultiProducer<BrokerEvent, BrokerWait>,
        limits: Limits,
        password: Option<String>,
        max_clients: usize,
        metrics: Arc<Metrics>,
        stop: Arc<AtomicBool>,
        spin: bool,
        ids: Arc<AtomicU64>,
    ) -> io::Result<Self> {
        let chunk = claim_chunk(&producer);
        let mut this = IoLoop {
            poll,
            listeners,
            producer,
            limits,
            password,
            max_clients,
            metrics,
            stop,
            spin,
            readers: HashMap::new(),
            ids,
            batch: Batch::new(chunk),
            scratch: Vec::new(),
            ranges: Vec::new(),
            again: Vec::new(),
            now: Instant::now(),
            next_sweep: Instant::now() + IDLE_SWEEP,
        };
        for (i, listener) in this.listeners.iter_mut().enumerate() {
            this.poll.registry().register(
                &mut listener.socket,
                Token(FIRST_LISTENER + i),
                Interest::READABLE,
            )?;
        }
        Ok(this)
    }

    /// Runs until the stop flag is set, then stops accepting, lets the broker deliver what
    /// was accepted and close every client, and returns.
    pub(crate) fn run(mut self, _waker: Arc<Waker>) {
        crate::broker::prepare_thread_for_parking();
        let mut events = Events::with_capacity(1024);
        let timeout = if self.spin {
            Some(Duration::ZERO)
        } else {
            Some(Duration::from_millis(250))
        };
        while !self.stop.load(Ordering::Acquire) {
            // Connections left with input to read last turn are read again without sleeping.
            let wait = if self.again.is_empty() {
                timeout
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, wait) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!("poll failed: {e}");
                break;
            }
            self.now = Instant::now();
            let mut alive = true;
            for id in std::mem::take(&mut self.again) {
                alive &= self.read(id, false);
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t < FIRST_CLIENT as usize => alive &= self.accept(t - FIRST_LISTENER),
                    Token(t) => {
                        let id = t as u64;
                        if event.is_writable() {
                            if let Some(r) = self.readers.get(&id) {
                                r.connection.flush();
                            }
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            alive &= self.read(id, event.is_read_closed() || event.is_error());
                        }
                    }
                }
            }
            alive &= self.publish_batch();
            if !alive {
                // The broker has stopped (a failure it logged): nothing more can be served.
                break;
            }
            if self.now >= self.next_sweep {
                self.release_idle_buffers();
            }
            let size = self.producer.buffer_size().max(0) as u64;
            let free = self.producer.remaining_capacity().max(0) as u64;
            self.metrics.set_ring(size.saturating_sub(free), size);
        }
        self.finish();
    }

    /// Publishes the requests decoded so far. Returns false when the broker has stopped.
    fn publish_batch(&mut self) -> bool {
        self.batch.is_empty() || self.batch.publish(&mut self.producer).is_ok()
    }

    /// Accepts every waiting connection. Returns false when the broker has stopped.
    fn accept(&mut self, index: usize) -> bool {
        // The broker must see what earlier clients sent before a new client appears.
        if !self.publish_batch() {
            return false;
        }
        let Some(listener) = self.listeners.get(index) else {
            return true;
        };
        loop {
            let (mut stream, peer) = match listener.socket.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    return true;
                }
            };
            if self.readers.len() >= self.max_clients {
                let mut reply = Vec::new();
                max_clients_reply(&mut reply);
                let _ = stream.write(&reply);
                self.metrics.rejected(DisconnectReason::MaxClients);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let id = self.ids.fetch_add(1, Ordering::Relaxed);
            let transport = match &listener.tls {
                None => Transport::Plain(stream),
                Some(config) => match rustls::ServerConnection::new(config.clone()) {
                    Ok(tls) => Transport::Tls(stream, Box::new(tls)),
                    Err(e) => {
                        tracing::warn!("TLS session for {peer} failed: {e}");
                        continue;
                    }
                },
            };
            let authenticated = self.password.is_none();
            let connection = Arc::new(Connection::new(ClientId(id), transport, peer, authenticated));
            if let Err(e) = connection.register(self.poll.registry(), Token(id as usize)) {
                tracing::warn!("cannot watch the connection from {peer}: {e}");
                continue;
            }
            let for_broker = connection.clone();
            let published = self.producer.publish(|slot, _| {
                slot.kind = EventKind::Connected;
                slot.client = ClientId(id);
                slot.connection = Some(for_broker);
            });
            if published.is_err() {
                return false;
            }
            self.metrics.client_connected();
            let mut limits = self.limits;
            if !authenticated {
                limits = limits.with_unauthenticated(true);
            }
            self.readers.insert(
                id,
                Reader {
                    connection,
                    decoder: RequestDecoder::new(limits),
                    input: Vec::new(),
                    input_closed: false,
                    peer_closing: false,
                    peer_ended: false,
                    last_read: Instant::now(),
                    authenticated,
                },
            );
        }
    }

    /// Reads and handles what a client sent. Returns false when the broker has stopped.
    ///
    /// When the client closes its side, what it sent before is still answered: the broker is
    /// told its input ended, writes what it owes and then shuts the socket down, which wakes
    /// this thread once more to retire the connection.
    fn read(&mut self, id: u64, read_closed: bool) -> bool {
        let IoLoop {
            readers,
            batch,
            scratch,
            ranges,
            again,
            producer,
            metrics,
            password,
            limits,
            now,
            ..
        } = self;
        let Some(reader) = readers.get_mut(&id) else {
            return true;
        };
        reader.last_read = *now;
        // Once the poll said the peer closed its side, every read goes to the end: that
        // readiness event does not come again.
        reader.peer_closing |= read_closed;
        // Most reads start at a request boundary: they go to the shared buffer, and only an
        // incomplete tail is copied into the connection's own, so an idle connection holds no
        // input buffer at all.
        let mut own = std::mem::take(&mut reader.input);
        let use_scratch = own.is_empty();
        let buf = if use_scratch {
            scratch.clear();
            &mut *scratch
        } else {
            &mut own
        };
        let outcome = reader.connection.read(buf, reader.peer_closing);
        let (n, peer_ended, failed) = match outcome {
            Ok(ReadOutcome::Data(n)) => (n, false, false),
            Ok(ReadOutcome::More(n)) => {
                again.push(id);
                (n, false, false)
            }
            Ok(ReadOutcome::Eof(n)) => (n, true, false),
            Err(_) => (0, true, true),
        };
        metrics.bytes_in(n as u64);
        if failed {
            reader.connection.close(DisconnectReason::IoError);
        }
        if reader.input_closed {
            own.clear();
        } else {
            let consumed = decode_requests(reader, buf, ranges, batch, password.as_deref(), limits);
            if use_scratch {
                own.extend_from_slice(&scratch[consumed..]);
            } else {
                own.drain(..consumed);
            }
        }
        reader.input = own;
        let mut alive = true;
        if peer_ended {
            if failed || reader.connection.is_shut() {
                reader.connection.deregister(self.poll.registry());
                readers.remove(&id);
                batch.push(EventKind::Disconnected, ClientId(id), []);
            } else if !reader.peer_ended {
                reader.peer_ended = true;
                reader.input_closed = true;
                reader.input = Vec::new();
                batch.push(EventKind::InputEnded, ClientId(id), []);
            }
        }
        if batch.is_full() {
            alive &= batch.publish(producer).is_ok();
        }
        alive
    }

    /// Gives back the input buffers of connections idle for a while, so that many idle
    /// connections cost little memory (as Redis's `clientsCron` shrinks query buffers). A
    /// busy connection keeps its buffers, so reading allocates nothing in steady state.
    fn release_idle_buffers(&mut self) {
        self.next_sweep = self.now + IDLE_SWEEP;
        for reader in self.readers.values_mut() {
            let idle = self.now.duration_since(reader.last_read) >= IDLE_SWEEP;
            if idle && reader.input.is_empty() && reader.input.capacity() > 0 {
                reader.input = Vec::new();
            }
        }
    }

    /// Stops accepting, then has the broker deliver what it accepted and close every client.
    fn finish(mut self) {
        let _ = self.publish_batch();
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener.socket);
        }
        let ack = Arc::new(Ack::default());
        let for_broker = ack.clone();
        let published = self.producer.publish(|slot, _| {
            slot.kind = EventKind::Shutdown;
            slot.ack = Some(for_broker);
        });
        if published.is_ok() && !ack.wait(SHUTDOWN_ACK) {
            tracing::warn!("the broker did not close its clients within {SHUTDOWN_ACK:?}");
        }
        for (_, reader) in self.readers.drain() {
            reader.connection.deregister(self.poll.registry());
            reader.connection.close(DisconnectReason::Shutdown);
        }
    }
}

/// Decodes every complete request at the front of `input` into the batch, and returns how
/// many bytes they took. After QUIT or a protocol error it stops, and the reader's input is
/// closed.
fn decode_requests(
    reader: &mut Reader,
    input: &[u8],
    ranges: &mut Vec<Range<usize>>,
    batch: &mut Batch,
    password: Option<&str>,
    limits: &Limits,
) -> usize {
    let id = reader.connection.id;
    let mut consumed = 0;
    loop {
        let authenticated = reader.connection.is_authenticated();
        if reader.authenticated != authenticated {
            reader.authenticated = authenticated;
            reader
                .decoder
                .set_limits(limits.with_unauthenticated(!authenticated));
        }
        let rest = &input[consumed..];
        let early = match reader.decoder.decode_ranges(rest, ranges) {
            Ok(Some((Decoded::Ranges, used))) => {
                consumed += used;
                let Some(first) = ranges.first() else { continue };
                let early = if may_act_early(&rest[first.clone()]) {
                    let args: Vec<Cow<'_, [u8]>> =
                        ranges.iter().map(|r| Cow::Borrowed(&rest[r.clone()])).collect();
                    early(&args, password)
                } else {
                    Early::None
                };
                batch.push(EventKind::Command, id, ranges.iter().map(|r| &rest[r.clone()]));
                early
            }
            Ok(Some((Decoded::Inline(request), used))) => {
                consumed += used;
                if request.is_empty() {
                    continue;
                }
                let early = early(request.args(), password);
                batch.push(EventKind::Command, id, request.args().iter().map(|a| &**a));
                early
            }
            Ok(None) => return consumed,
            Err(error) => {
                let mut reply = Vec::new();
                error.write_reply(&mut reply);
                batch.push(EventKind::ProtocolError, id, [&reply[..]]);
                reader.input_closed = true;
                return input.len();
            }
        };
        match early {
            Early::None => {}
            // Lift the unauthenticated limits before the next request is parsed.
            Early::Authenticates => reader.connection.set_authenticated(),
            Early::Quit => {
                reader.input_closed = true;
                return input.len();
            }
        }
    }
}

/// Whether a command is one the I/O thread must look at before the broker runs it.
fn may_act_early(name: &[u8]) -> bool {
    [&b"quit"[..], b"auth", b"hello"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}
