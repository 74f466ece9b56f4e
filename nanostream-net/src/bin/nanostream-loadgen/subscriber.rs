//! Subscribers: connections subscribed up front, then read by a few mio threads that time
//! every delivery and check each publisher's order.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};

use crate::connection::{command, read_reply, Endpoint};
use crate::payload::Stamp;
use crate::reply::{self, Reply};

/// At most this many threads read the subscriber connections.
const MAX_THREADS: usize = 2;
/// How long to wait for all subscribe confirmations.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// State the subscriber threads share with the main thread.
#[derive(Debug, Default)]
pub struct Shared {
    /// Deliveries so far, over all subscribers (updated once per read batch).
    pub received: AtomicU64,
    /// Set by the main thread to end the subscriber threads.
    pub stop: AtomicBool,
    /// The first connection or protocol error a subscriber thread met.
    pub failure: Mutex<Option<String>>,
}

impl Shared {
    /// Records `message` unless an earlier failure is already recorded.
    pub fn fail(&self, message: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(message);
    }
}

/// What one subscriber thread measured.
#[derive(Debug)]
pub struct Tally {
    /// Publish-to-delivery latency in ns of the messages sent after the warmup.
    pub latency: Histogram<u64>,
    /// Message frames received.
    pub received: u64,
    /// Messages that came after a later one from the same publisher on the same connection.
    pub out_of_order: u64,
    /// When the last message arrived.
    pub last_delivery: Option<Instant>,
}

/// An empty latency histogram: 1 ns to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Connects `count` subscribers, subscriber `i` to `channels[i % channels.len()]`, and waits
/// for every confirmation.
pub fn subscribe_all(
    endpoint: &Endpoint,
    count: usize,
    channels: &[String],
) -> Result<Vec<TcpStream>, String> {
    let mut streams = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = endpoint.connect().map_err(|e| format!("subscriber {i}: {e}"))?;
        let channel = &channels[i % channels.len()];
        let mut out = Vec::new();
        command(&mut out, &[b"SUBSCRIBE", channel.as_bytes()]);
        stream
            .write_all(&out)
            .map_err(|e| format!("subscriber {i}: SUBSCRIBE: {e}"))?;
        streams.push(stream);
    }
    let deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    for (i, stream) in streams.iter_mut().enumerate() {
        let channel = channels[i % channels.len()].as_bytes();
        let mut buf = Vec::new();
        read_reply(stream, &mut buf, deadline, |reply| match reply {
            Reply::Array(Some(items))
                if items.len() == 3
                    && matches!(items[0], Reply::Bulk(Some(kind)) if kind.eq_ignore_ascii_case(b"subscribe"))
                    && items[1] == Reply::Bulk(Some(channel)) =>
            {
                Ok(())
            }
            Reply::Error(e) => Err(format!("SUBSCRIBE refused: {}", String::from_utf8_lossy(e))),
            other => Err(format!("unexpected reply to SUBSCRIBE: {other:?}")),
        })
        .map_err(|e| {
            format!(
                "subscriber {i} of {count}: no subscribe confirmation within {} s: {e}",
                SUBSCRIBE_TIMEOUT.as_secs()
            )
        })?;
        if !buf.is_empty() {
            return Err(format!(
                "subscriber {i}: unexpected bytes after the subscribe confirmation"
            ));
        }
    }
    Ok(streams)
}

/// Hands the subscribed connections to at most [`MAX_THREADS`] reading threads.
pub fn spawn_readers(
    streams: Vec<TcpStream>,
    publishers: usize,
    origin: Instant,
    warmup_ns: u64,
    shared: &Arc<Shared>,
) -> Result<Vec<JoinHandle<Tally>>, String> {
    let threads = streams.len().min(MAX_THREADS);
    let mut groups: Vec<Vec<mio::net::TcpStream>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, stream) in streams.into_iter().enumerate() {
        stream.set_read_timeout(None).map_err(|e| e.to_string())?;
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        groups[i % threads].push(mio::net::TcpStream::from_std(stream));
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(t, group)| {
            let reader = Reader::new(group, publishers, origin, warmup_ns, Arc::clone(shared))?;
            thread::Builder::new()
                .name(format!("subscribers-{t}"))
                .spawn(move || reader.run())
                .map_err(|e| format!("cannot start a subscriber thread: {e}"))
        })
        .collect()
}

/// One subscriber connection as a reading thread sees it.
#[derive(Debug)]
struct Conn {
    stream: mio::net::TcpStream,
    /// Bytes of a frame not yet complete.
    pending: Vec<u8>,
    /// For each publisher, the sequence expected next.
    next_seq: Vec<u64>,
}

/// One thread's connections, poller and tallies.
#[derive(Debug)]
struct Reader {
    conns: Vec<Conn>,
    poll: Poll,
    origin: Instant,
    warmup_ns: u64,
    shared: Arc<Shared>,
    tally: Tally,
}

impl Reader {
    fn new(
        streams: Vec<mio::net::TcpStream>,
        publishers: usize,
        origin: Instant,
        warmup_ns: u64,
        shared: Arc<Shared>,
    ) -> Result<Reader, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create a poller: {e}"))?;
        let mut conns = Vec::with_capacity(streams.len());
        for (i, mut stream) in streams.into_iter().enumerate() {
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)
                .map_err(|e| format!("cannot register a subscriber: {e}"))?;
            conns.push(Conn {
                stream,
                pending: Vec::new(),
                next_seq: vec![0; publishers],
            });
        }
        let tally = Tally {
            latency: histogram(),
            received: 0,
            out_of_order: 0,
            last_delivery: None,
        };
        Ok(Reader {
            conns,
            poll,
            origin,
            warmup_ns,
            shared,
            tally,
        })
    }

    fn run(mut self) -> Tally {
        let mut events = Events::with_capacity(1024);
        let mut chunk = vec![0u8; 64 * 1024];
        while !self.shared.stop.load(Ordering::Relaxed) {
            if let Err(e) = self.poll.poll(&mut events, Some(Duration::from_millis(20))) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                self.shared.fail(format!("subscriber poll: {e}"));
                break;
            }
            let before = self.tally.received;
            for event in &events {
                let i = event.token().0;
                if let Err(e) = self.drain(i, &mut chunk) {
                    self.shared.fail(format!("subscriber connection: {e}"));
                    self.shared.stop.store(true, Ordering::Relaxed);
                }
            }
            self.shared
                .received
                .fetch_add(self.tally.received - before, Ordering::Relaxed);
        }
        self.tally
    }

    /// Reads connection `i` until it would block, handling every complete frame.
    fn drain(&mut self, i: usize, chunk: &mut [u8]) -> Result<(), String> {
        loop {
            let n = match self.conns[i].stream.read(chunk) {
                Ok(0) => return Err("the server closed a subscriber connection".into()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.to_string()),
            };
            // Every frame of one read arrived at the same moment as far as we can tell.
            let now = Instant::now();
            let now_ns = now.duration_since(self.origin).as_nanos() as u64;
            let conn = &mut self.conns[i];
            if conn.pending.is_empty() {
                let used = handle(
                    &chunk[..n],
                    &mut conn.next_seq,
                    &mut self.tally,
                    now,
                    now_ns,
                    self.warmup_ns,
                )?;
                conn.pending.extend_from_slice(&chunk[used..n]);
            } else {
                conn.pending.extend_from_slice(&chunk[..n]);
                let used = handle(
                    &conn.pending,
                    &mut conn.next_seq,
                    &mut self.tally,
                    now,
                    now_ns,
                    self.warmup_ns,
                )?;
                conn.pending.drain(..used);
            }
        }
    }
}

/// Handles every complete frame at the start of `input`, which arrived at `now`; returns how
/// many bytes they took.
fn handle(
    input: &[u8],
    next_seq: &mut [u64],
    tally: &mut Tally,
    now: Instant,
    now_ns: u64,
    warmup_ns: u64,
) -> Result<usize, String> {
    let mut at = 0;
    while let Some((frame, used)) = reply::parse(&input[at..]).map_err(|e| e.to_string())? {
        at += used;
        let payload = message_payload(&frame)?;
        let stamp = Stamp::read(payload).ok_or("a message too short to carry a stamp")?;
        let next = next_seq
            .get_mut(stamp.publisher as usize)
            .ok_or("a message from an unknown publisher")?;
        if stamp.seq >= *next {
            *next = stamp.seq + 1;
        } else {
            tally.out_of_order += 1;
        }
        if stamp.sent_ns >= warmup_ns {
            tally
                .latency
                .saturating_record(now_ns.saturating_sub(stamp.sent_ns).max(1));
        }
        tally.received += 1;
        tally.last_delivery = Some(now);
    }
    Ok(at)
}

/// The payload of a `message` frame; anything else on a subscribed connection is an error.
fn message_payload<'a>(frame: &Reply<'a>) -> Result<&'a [u8], String> {
    if let Reply::Array(Some(items)) = frame {
        if let [Reply::Bulk(Some(kind)), Reply::Bulk(Some(_)), Reply::Bulk(Some(payload))] = items.as_slice()
        {
            if kind.eq_ignore_ascii_case(b"message") {
                return Ok(payload);
            }
        }
    }
    match frame {
        Reply::Error(e) => Err(format!("error from the server: {}", String::from_utf8_lossy(e))),
        other => Err(format!("unexpected frame on a subscriber connection: {other:?}")),
    }
}
