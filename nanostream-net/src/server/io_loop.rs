//! The I/O thread: accepts connections, reads and decodes requests, publishes them into the
//! broker's ring, and writes pending output when a socket turns writable again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use nanostream::{MultiProducer, Producer};

use super::connection::{Connection, Read_, Transport};
use crate::broker::{max_clients_reply, Ack, BrokerEvent, BrokerWait, EventKind};
use crate::commands::{early, Early};
use crate::ops::{DisconnectReason, Metrics};
use crate::pubsub::ClientId;
use crate::resp::decode::Decoded;
use crate::resp::{Limits, RequestDecoder};

/// The waker's token; listeners take the tokens after it, clients start at [`FIRST_CLIENT`].
pub(crate) const WAKER: Token = Token(0);
const FIRST_LISTENER: usize = 1;
const FIRST_CLIENT: u64 = 16;
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
    input: Vec<u8>,
    /// The argument ranges of the request being decoded, kept for their capacity.
    ranges: Vec<Range<usize>>,
    /// After QUIT or a protocol error: read and discard until the connection ends.
    input_closed: bool,
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
    next_id: u64,
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
    ) -> io::Result<Self> {
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
            next_id: FIRST_CLIENT,
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
        let mut events = Events::with_capacity(1024);
        let timeout = if self.spin {
            Some(Duration::ZERO)
        } else {
            Some(Duration::from_millis(250))
        };
        while !self.stop.load(Ordering::Acquire) {
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!("poll failed: {e}");
                break;
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t < FIRST_CLIENT as usize => self.accept(t - FIRST_LISTENER),
                    Token(t) => {
                        let id = t as u64;
                        if event.is_writable() {
                            if let Some(r) = self.readers.get(&id) {
                                r.connection.flush();
                            }
                        }
                        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                        if readable && !self.read(id) {
                            return self.finish();
                        }
                    }
                }
            }
            let size = self.producer.buffer_size().max(0) as u64;
            let free = self.producer.remaining_capacity().max(0) as u64;
            self.metrics.set_ring(size.saturating_sub(free), size);
        }
        self.finish();
    }

    fn accept(&mut self, index: usize) {
        let Some(listener) = self.listeners.get(index) else {
            return;
        };
        loop {
            let (mut stream, peer) = match listener.socket.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    return;
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
            let id = self.next_id;
            self.next_id += 1;
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
                return;
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
                    ranges: Vec::new(),
                    input_closed: false,
                    authenticated,
                },
            );
        }
    }

    /// Reads and handles what a client sent. Returns false when the broker has stopped.
    fn read(&mut self, id: u64) -> bool {
        let Some(reader) = self.readers.get_mut(&id) else {
            return true;
        };
        let (ended, failed) = match reader.connection.read(&mut reader.input) {
            Ok(Read_::Data(n)) => {
                self.metrics.bytes_in(n as u64);
                (false, false)
            }
            Ok(Read_::Eof(n)) => {
                self.metrics.bytes_in(n as u64);
                (true, false)
            }
            Err(_) => (true, true),
        };
        if failed {
            reader.connection.close(DisconnectReason::IoError);
        }
        let alive = if reader.input_closed {
            reader.input.clear();
            true
        } else {
            handle_input(reader, &mut self.producer, self.password.as_deref(), &self.limits)
        };
        if ended {
            self.retire(id);
        }
        alive
    }

    /// Forgets a connection that ended, and tells the broker.
    fn retire(&mut self, id: u64) {
        if let Some(reader) = self.readers.remove(&id) {
            reader.connection.deregister(self.poll.registry());
            let _ = self.producer.publish(|slot, _| {
                slot.kind = EventKind::Disconnected;
                slot.client = ClientId(id);
            });
        }
    }

    /// Stops accepting, then has the broker deliver what it accepted and close every client.
    fn finish(mut self) {
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

/// Decodes every complete request in the reader's input and publishes it. Returns false when
/// the broker has stopped.
fn handle_input(
    reader: &mut Reader,
    producer: &mut MultiProducer<BrokerEvent, BrokerWait>,
    password: Option<&str>,
    limits: &Limits,
) -> bool {
    let id = reader.connection.id;
    let mut consumed = 0;
    loop {
        if !reader.authenticated && reader.connection.is_authenticated() {
            reader.authenticated = true;
            reader.decoder.set_limits(*limits);
        }
        let input = &reader.input[consumed..];
        let decoded = reader.decoder.decode_ranges(input, &mut reader.ranges);
        let (early, published) = match decoded {
            Ok(Some((Decoded::Ranges, used))) => {
                consumed += used;
                let ranges = &reader.ranges;
                let Some(first) = ranges.first() else { continue };
                let early = if may_act_early(&input[first.clone()]) {
                    let args: Vec<Cow<'_, [u8]>> =
                        ranges.iter().map(|r| Cow::Borrowed(&input[r.clone()])).collect();
                    early(&args, password)
                } else {
                    Early::None
                };
                if early == Early::Authenticates {
                    reader.connection.set_authenticated();
                }
                let published = producer.publish(|slot, _| {
                    slot.kind = EventKind::Command;
                    slot.client = id;
                    slot.set_args(ranges.iter().map(|r| &input[r.clone()]));
                });
                (early, published)
            }
            Ok(Some((Decoded::Inline(request), used))) => {
                consumed += used;
                if request.is_empty() {
                    continue;
                }
                let early = early(request.args(), password);
                if early == Early::Authenticates {
                    reader.connection.set_authenticated();
                }
                let published = producer.publish(|slot, _| {
                    slot.kind = EventKind::Command;
                    slot.client = id;
                    slot.set_args(request.args().iter().map(|a| &**a));
                });
                (early, published)
            }
            Ok(None) => break,
            Err(error) => {
                let mut reply = Vec::new();
                error.write_reply(&mut reply);
                let published = producer.publish(|slot, _| {
                    slot.kind = EventKind::ProtocolError;
                    slot.client = id;
                    slot.set_args([&reply[..]]);
                });
                reader.input_closed = true;
                reader.input.clear();
                return published.is_ok();
            }
        };
        if published.is_err() {
            return false;
        }
        if early == Early::Quit {
            reader.input_closed = true;
            break;
        }
    }
    reader.input.drain(..consumed);
    true
}

/// Whether a command is one the I/O thread must look at before the broker runs it.
fn may_act_early(name: &[u8]) -> bool {
    [&b"quit"[..], b"auth", b"hello"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}
