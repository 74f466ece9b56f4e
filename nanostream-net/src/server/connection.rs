//! One client connection as both server threads see it: the socket (plain or TLS) and the
//! output waiting to be written, behind one lock.
//!
//! The I/O thread reads through it; the broker thread writes replies and deliveries through
//! it. Writes never block: what the socket does not take waits in the connection's output
//! buffer and leaves when the I/O thread sees the socket writable again.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use parking_lot::Mutex;

use crate::ops::DisconnectReason;
use crate::pubsub::ClientId;

/// Bytes read from a socket per call, at most.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes read from one socket per turn of the I/O loop, at most, so that one busy client
/// cannot hold the others up.
const READ_BUDGET: usize = 256 * 1024;
/// An empty output buffer above this capacity is given back to the allocator.
const KEEP_OUTPUT_CAPACITY: usize = 1024 * 1024;

/// The socket: plain TCP or TLS over TCP.
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// rustls's state over TCP.
    Tls(TcpStream, Box<rustls::ServerConnection>),
    /// A client inside the process (a request of the HTTP API): its output waits in the
    /// connection until its owner takes it with [`Connection::take_output`]; the broker signals
    /// `Notify` whenever there is output to take or the connection closes.
    Local(Arc<tokio::sync::Notify>),
}

impl Transport {
    fn stream(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(s) | Transport::Tls(s, _) => Some(s),
            Transport::Local(_) => None,
        }
    }

    fn stream_mut(&mut self) -> Option<&mut TcpStream> {
        match self {
            Transport::Plain(s) | Transport::Tls(s, _) => Some(s),
            Transport::Local(_) => None,
        }
    }

    /// Wakes a local connection's owner.
    fn notify(&self) {
        if let Transport::Local(notify) = self {
            notify.notify_one();
        }
    }
}

/// What the lock guards.
struct Io {
    transport: Transport,
    /// Output not yet taken by the socket: `out[start..]`.
    out: Vec<u8>,
    start: usize,
    /// Close once the output is written (after `QUIT` or a protocol error).
    close_after_flush: bool,
    /// The socket was shut down by the server.
    shut: bool,
}

/// How a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flushed {
    /// Everything was written.
    Done,
    /// Bytes still wait for the socket.
    Pending,
    /// The connection is closed; the output was dropped.
    Closed,
}

/// How a read ended.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// Read this many bytes (maybe 0: nothing was there); the socket has no more for now.
    Data(usize),
    /// Read this many bytes, a turn's worth: the socket may hold more, read it again soon.
    More(usize),
    /// The peer closed its side (after the bytes appended, if any).
    Eof(usize),
}

/// A client connection shared by the I/O thread and the broker thread.
pub(crate) struct Connection {
    /// The client's id, as `CLIENT ID` shows it.
    pub(crate) id: ClientId,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The server's address for this connection.
    pub(crate) local: SocketAddr,
    /// When it connected.
    pub(crate) created: Instant,
    io: Mutex<Io>,
    /// `out.len() - start`, readable without the lock (output limits, INFO).
    pending: AtomicUsize,
    /// Set once the client authenticated (or when no password is configured).
    authenticated: AtomicBool,
    /// Why the server closed it, as a `DisconnectReason` index (0: it did not).
    close_reason: AtomicU8,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(id: ClientId, transport: Transport, peer: SocketAddr, authenticated: bool) -> Self {
        let local = transport
            .stream()
            .and_then(|s| s.local_addr().ok())
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Self::with_addresses(id, transport, peer, local, authenticated)
    }

    /// A connection of a client inside the process (an HTTP API request from `peer`, received
    /// on `local`), authenticated: the HTTP API checks the password itself.
    pub(crate) fn local(
        id: ClientId,
        notify: Arc<tokio::sync::Notify>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Self {
        Self::with_addresses(id, Transport::Local(notify), peer, local, true)
    }

    fn with_addresses(
        id: ClientId,
        transport: Transport,
        peer: SocketAddr,
        local: SocketAddr,
        authenticated: bool,
    ) -> Self {
        Connection {
            id,
            peer,
            local,
            created: Instant::now(),
            io: Mutex::new(Io {
                transport,
                out: Vec::new(),
                start: 0,
                close_after_flush: false,
                shut: false,
            }),
            pending: AtomicUsize::new(0),
            authenticated: AtomicBool::new(authenticated),
            close_reason: AtomicU8::new(0),
        }
    }

    /// Registers the socket with the I/O thread's poll.
    pub(crate) fn register(&self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        let mut io = self.io.lock();
        let Some(stream) = io.transport.stream_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a local connection has no socket",
            ));
        };
        registry.register(stream, token, mio::Interest::READABLE | mio::Interest::WRITABLE)
    }

    /// Removes the socket from the I/O thread's poll.
    pub(crate) fn deregister(&self, registry: &mio::Registry) {
        let mut io = self.io.lock();
        if let Some(stream) = io.transport.stream_mut() {
            let _ = registry.deregister(stream);
        }
    }

    /// Whether the client may run every command.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }

    /// Marks the client authenticated.
    pub(crate) fn set_authenticated(&self) {
        self.authenticated.store(true, Ordering::Release);
    }

    /// Marks the client unauthenticated again (`RESET` with a password configured).
    pub(crate) fn set_unauthenticated(&self) {
        self.authenticated.store(false, Ordering::Release);
    }

    /// Bytes waiting for the socket.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Why the server closed the connection, if it did.
    pub(crate) fn close_reason(&self) -> Option<DisconnectReason> {
        match self.close_reason.load(Ordering::Acquire) {
            0 => None,
            n => DisconnectReason::ALL.get(usize::from(n - 1)).copied(),
        }
    }

    /// Whether the server has shut the socket down.
    pub(crate) fn is_shut(&self) -> bool {
        self.io.lock().shut
    }

    /// Reads what the socket has into `buf` (I/O thread). With `to_the_end`, reads until the
    /// socket would block or ends, even after a short read: the poll said the peer closed its
    /// side, and that end must be seen now, as no further readiness event will announce it.
    pub(crate) fn read(&self, buf: &mut Vec<u8>, to_the_end: bool) -> io::Result<ReadOutcome> {
        let mut io = self.io.lock();
        if io.shut {
            return Ok(ReadOutcome::Eof(0));
        }
        let result = match &mut io.transport {
            Transport::Plain(stream) => read_plain(stream, buf, to_the_end),
            Transport::Tls(stream, tls) => read_tls(stream, tls, buf),
            Transport::Local(_) => Ok(ReadOutcome::Data(0)),
        };
        // A TLS handshake or alert may have produced bytes to send.
        if matches!(io.transport, Transport::Tls(..)) {
            let _ = flush_locked(&mut io, &self.pending);
        }
        result
    }

    /// Writes `staged` and whatever was waiting, keeping what the socket does not take;
    /// `staged` is left empty (broker thread).
    pub(crate) fn write(&self, staged: &mut Vec<u8>) -> Flushed {
        let mut io = self.io.lock();
        if io.shut {
            staged.clear();
            return Flushed::Closed;
        }
        if io.start == io.out.len() && matches!(io.transport, Transport::Plain(_)) {
            // Nothing waits: write straight from the staging buffer, and keep only the rest.
            let Io {
                transport,
                out,
                start,
                ..
            } = &mut *io;
            let Transport::Plain(stream) = transport else {
                unreachable!()
            };
            let written = match write_plain(stream, staged) {
                Ok(n) => n,
                Err(_) => {
                    staged.clear();
                    shut(&mut io);
                    self.pending.store(0, Ordering::Relaxed);
                    return Flushed::Closed;
                }
            };
            out.clear();
            *start = 0;
            out.extend_from_slice(&staged[written..]);
            staged.clear();
        } else {
            io.out.extend_from_slice(staged);
            staged.clear();
        }
        flush_locked(&mut io, &self.pending)
    }

    /// Writes what is waiting (I/O thread, when the socket turns writable).
    pub(crate) fn flush(&self) -> Flushed {
        let mut io = self.io.lock();
        flush_locked(&mut io, &self.pending)
    }

    /// Closes the connection once its output is written (`QUIT`, a protocol error).
    pub(crate) fn close_after_flush(&self, reason: DisconnectReason) {
        self.set_reason(reason);
        let mut io = self.io.lock();
        io.close_after_flush = true;
        let _ = flush_locked(&mut io, &self.pending);
    }

    /// Closes the connection now, dropping its output (output limit, shutdown).
    pub(crate) fn close(&self, reason: DisconnectReason) {
        self.set_reason(reason);
        let mut io = self.io.lock();
        shut(&mut io);
        self.pending.store(0, Ordering::Relaxed);
    }

    /// Moves the output waiting for a local connection to the end of `into` (its owner, the
    /// HTTP API). Returns false once the connection is closed and nothing is left to take.
    pub(crate) fn take_output(&self, into: &mut Vec<u8>) -> bool {
        let mut io = self.io.lock();
        if io.shut {
            return false;
        }
        let Io { out, start, .. } = &mut *io;
        let had = *start < out.len();
        into.extend_from_slice(&out[*start..]);
        out.clear();
        *start = 0;
        self.pending.store(0, Ordering::Relaxed);
        if io.close_after_flush {
            shut(&mut io);
            return had;
        }
        true
    }

    fn set_reason(&self, reason: DisconnectReason) {
        let index = DisconnectReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        let _ = self.close_reason.compare_exchange(
            0,
            u8::try_from(index + 1).unwrap_or(u8::MAX),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// Shuts the socket down both ways: the peer sees the end, and the I/O thread sees the
/// socket readable at its end and retires the connection.
fn shut(io: &mut Io) {
    if !io.shut {
        io.shut = true;
        if let Transport::Tls(stream, tls) = &mut io.transport {
            tls.send_close_notify();
            let _ = tls.write_tls(stream);
        }
        if let Some(stream) = io.transport.stream() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        io.transport.notify();
        io.out = Vec::new();
        io.start = 0;
    }
}

fn flush_locked(io: &mut Io, pending: &AtomicUsize) -> Flushed {
    if io.shut {
        return Flushed::Closed;
    }
    let result = match &mut io.transport {
        Transport::Plain(stream) => write_plain(stream, &io.out[io.start..]).map(|n| {
            io.start += n;
        }),
        Transport::Tls(stream, tls) => write_tls(stream, tls, &io.out, &mut io.start),
        // The owner takes the output: tell it there is some.
        Transport::Local(notify) => {
            if io.start < io.out.len() || io.close_after_flush {
                notify.notify_one();
            }
            Ok(())
        }
    };
    if result.is_err() {
        shut(io);
        pending.store(0, Ordering::Relaxed);
        return Flushed::Closed;
    }
    let tls_waiting = matches!(&io.transport, Transport::Tls(_, tls) if tls.wants_write());
    if io.start == io.out.len() {
        io.out.clear();
        io.start = 0;
        if io.out.capacity() > KEEP_OUTPUT_CAPACITY {
            io.out = Vec::new();
        }
    } else if io.start > KEEP_OUTPUT_CAPACITY && io.start > io.out.len() / 2 {
        io.out.drain(..io.start);
        io.start = 0;
    }
    pending.store(io.out.len() - io.start, Ordering::Relaxed);
    if io.start == io.out.len() && !tls_waiting {
        if io.close_after_flush {
            shut(io);
            return Flushed::Closed;
        }
        Flushed::Done
    } else {
        Flushed::Pending
    }
}

/// Writes as much of `bytes` as the socket takes now.
fn write_plain(mut stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Moves output into rustls and rustls's records into the socket, as far as both take.
fn write_tls(
    mut stream: &TcpStream,
    tls: &mut rustls::ServerConnection,
    out: &[u8],
    start: &mut usize,
) -> io::Result<()> {
    loop {
        if *start < out.len() && !tls.is_handshaking() {
            // rustls buffers plaintext up to its limit and encrypts it into records.
            *start += tls.writer().write(&out[*start..])?;
        }
        if !tls.wants_write() {
            return Ok(());
        }
        match tls.write_tls(&mut stream) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn read_plain(mut stream: &TcpStream, buf: &mut Vec<u8>, to_the_end: bool) -> io::Result<ReadOutcome> {
    let mut total = 0;
    loop {
        let len = buf.len();
        let spare = READ_CHUNK;
        buf.resize(len + spare, 0);
        match stream.read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                return Ok(ReadOutcome::Eof(total));
            }
            Ok(n) => {
                buf.truncate(len + n);
                total += n;
                if total >= READ_BUDGET {
                    return Ok(ReadOutcome::More(total));
                }
                if n < spare && !to_the_end {
                    // A short read: the socket is drained (a further read would block). Data
                    // arriving later, or the peer's end, raises a new readiness event.
                    return Ok(ReadOutcome::Data(total));
                }
            }
            Err(e) => {
                buf.truncate(len);
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Data(total)),
                    io::ErrorKind::Interrupted => {}
                    _ => return Err(e),
                }
            }
        }
    }
}

fn read_tls(
    mut stream: &TcpStream,
    tls: &mut rustls::ServerConnection,
    buf: &mut Vec<u8>,
) -> io::Result<ReadOutcome> {
    let mut total = 0;
    loop {
        // Read until the socket has nothing more: the poll is edge-triggered.
        let eof = match tls.read_tls(&mut stream) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Data(total)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let state = tls
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let plaintext = state.plaintext_bytes_to_read();
        if plaintext > 0 {
            let len = buf.len();
            buf.resize(len + plaintext, 0);
            let n = tls.reader().read(&mut buf[len..])?;
            buf.truncate(len + n);
            total += n;
        }
        if eof || state.peer_has_closed() {
            return Ok(ReadOutcome::Eof(total));
        }
    }
}
