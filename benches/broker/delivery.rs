//! A subscriber that counts and times the messages of one channel, over RESP (`SUBSCRIBE`) or a
//! WebSocket (`/ws/channels/{channel}?format=raw`), checking each payload.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::protocol::Message;

/// Bytes read from the socket at a time, the same for both kinds.
const READ_BUFFER: usize = 256 * 1024;
/// The payload a probe publishes before the timed part, to know the subscription is live.
pub const PROBE: &[u8] = b"probe";

/// How the subscriber talks to the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SUBSCRIBE channel` on the RESP port.
    Resp,
    /// `GET /ws/channels/{channel}?format=raw` on the HTTP port: one binary frame a message.
    WebSocket,
}

/// What a subscriber saw.
#[derive(Clone, Copy, Debug)]
pub struct Counted {
    /// Messages equal to the expected payload.
    pub messages: u64,
    /// When the first and the last of them arrived.
    pub first: Instant,
    /// See `first`.
    pub last: Instant,
}

impl Counted {
    /// Messages per second between the first and the last arrival.
    pub fn rate(&self) -> f64 {
        let seconds = (self.last - self.first).as_secs_f64();
        if seconds > 0.0 {
            (self.messages - 1) as f64 / seconds
        } else {
            0.0
        }
    }
}

/// A subscribed connection whose thread counts messages until it has `expected` of them.
pub struct Subscriber {
    probed: Arc<AtomicBool>,
    reader: Option<JoinHandle<Result<Counted, String>>>,
}

impl Subscriber {
    /// Subscribes to `channel` on `port` (the RESP or the HTTP port, after `kind`) and starts
    /// counting: every message must be [`PROBE`] or `payload`; the thread ends once `expected`
    /// payloads arrived, with an error if `deadline` passes first.
    pub fn start(
        kind: Kind,
        port: u16,
        channel: &str,
        payload: Vec<u8>,
        expected: u64,
        deadline: Instant,
    ) -> Result<Subscriber, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("subscriber: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let probed = Arc::new(AtomicBool::new(false));
        let mut count = Count {
            payload,
            expected,
            deadline,
            probed: Arc::clone(&probed),
            messages: 0,
            first: None,
            last: None,
        };
        let reader = match kind {
            Kind::Resp => {
                let stream = subscribe_resp(stream, channel)?;
                thread::spawn(move || read_resp(stream, &mut count))
            }
            Kind::WebSocket => {
                let url = format!("ws://127.0.0.1:{port}/ws/channels/{channel}?format=raw");
                let (ws, response) = tungstenite::client(url.as_str(), Buffered::new(stream))
                    .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
                if response.status().as_u16() != 101 {
                    return Err(format!("{url} answered {}", response.status()));
                }
                ws.get_ref()
                    .stream
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .map_err(|e| e.to_string())?;
                thread::spawn(move || read_ws(ws, &mut count))
            }
        };
        Ok(Subscriber {
            probed,
            reader: Some(reader),
        })
    }

    /// Whether a [`PROBE`] has arrived.
    pub fn probed(&self) -> bool {
        self.probed.load(Ordering::Acquire)
    }

    /// Waits for the thread: what it counted, or why it stopped early.
    pub fn finish(mut self) -> Result<Counted, String> {
        self.reader
            .take()
            .expect("finished once")
            .join()
            .map_err(|_| "subscriber thread panicked".to_string())?
    }
}

/// The counting state of a subscriber's thread.
struct Count {
    payload: Vec<u8>,
    expected: u64,
    deadline: Instant,
    probed: Arc<AtomicBool>,
    messages: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Count {
    /// Takes one message; `Ok(true)` once all are in.
    fn message(&mut self, data: &[u8]) -> Result<bool, String> {
        if data == self.payload.as_slice() {
            let now = Instant::now();
            self.first.get_or_insert(now);
            self.last = Some(now);
            self.messages += 1;
        } else if data == PROBE {
            self.probed.store(true, Ordering::Release);
        } else {
            return Err(format!(
                "unexpected message of {} B: {:?}",
                data.len(),
                String::from_utf8_lossy(&data[..data.len().min(80)])
            ));
        }
        Ok(self.messages == self.expected)
    }

    /// An error if the deadline has passed.
    fn check_deadline(&self) -> Result<(), String> {
        if Instant::now() >= self.deadline {
            Err(format!(
                "{} of {} messages before the deadline",
                self.messages, self.expected
            ))
        } else {
            Ok(())
        }
    }

    fn done(&self) -> Counted {
        Counted {
            messages: self.messages,
            first: self.first.expect("messages counted"),
            last: self.last.expect("messages counted"),
        }
    }
}

/// Sends `SUBSCRIBE channel` and reads its confirmation.
fn subscribe_resp(mut stream: TcpStream, channel: &str) -> Result<TcpStream, String> {
    let request = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{channel}\r\n", channel.len());
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("subscriber: {e}"))?;
    let confirmation = format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
        channel.len()
    );
    let mut got = vec![0u8; confirmation.len()];
    stream
        .read_exact(&mut got)
        .map_err(|e| format!("subscriber: no subscribe confirmation: {e}"))?;
    if got != confirmation.as_bytes() {
        return Err(format!(
            "subscriber: unexpected confirmation {:?}",
            String::from_utf8_lossy(&got)
        ));
    }
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Reads `message` pushes (`*3 $7 message $n channel $m payload`) until `count` is done.
fn read_resp(mut stream: TcpStream, count: &mut Count) -> Result<Counted, String> {
    let mut buf = vec![0u8; READ_BUFFER];
    let (mut start, mut end) = (0, 0);
    loop {
        while let Some((used, payload)) = push(&buf[start..end])? {
            let (from, to) = payload;
            if count.message(&buf[start + from..start + to])? {
                return Ok(count.done());
            }
            start += used;
        }
        // Keep the incomplete push at the start of the buffer.
        buf.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if end == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match stream.read(&mut buf[end..]) {
            Ok(0) => {
                return Err(format!(
                    "the broker closed the connection after {} messages",
                    count.messages
                ))
            }
            Ok(n) => end += n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("reading after {} messages: {e}", count.messages)),
        }
        count.check_deadline()?;
    }
}

/// The first complete `message` push in `buf`: its length and the range of its payload, or
/// `None` if it is not all there yet.
#[allow(clippy::type_complexity)]
fn push(buf: &[u8]) -> Result<Option<(usize, (usize, usize))>, String> {
    let mut at = 0;
    let Some(n) = header(buf, &mut at, b'*')? else {
        return Ok(None);
    };
    if n != 3 {
        return Err(format!("a push of {n} elements"));
    }
    let mut payload = (0, 0);
    for i in 0..3 {
        let Some(len) = header(buf, &mut at, b'$')? else {
            return Ok(None);
        };
        if buf.len() < at + len + 2 {
            return Ok(None);
        }
        if i == 0 && &buf[at..at + len] != b"message" {
            return Err(format!(
                "a {:?} push",
                String::from_utf8_lossy(&buf[at..at + len])
            ));
        }
        payload = (at, at + len);
        at += len + 2;
    }
    Ok(Some((at, payload)))
}

/// Reads `<kind><number>\r\n` at `*at`, moving past it; `None` if the line is not complete.
fn header(buf: &[u8], at: &mut usize, kind: u8) -> Result<Option<usize>, String> {
    let rest = &buf[*at..];
    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    if rest[0] != kind {
        return Err(format!(
            "expected {:?}, got {:?}",
            kind as char,
            String::from_utf8_lossy(&rest[..eol])
        ));
    }
    let n = std::str::from_utf8(&rest[1..eol])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad length line {:?}", String::from_utf8_lossy(&rest[..eol])))?;
    *at += eol + 2;
    Ok(Some(n))
}

/// Reads binary frames until `count` is done; a close frame or a text frame is an error.
fn read_ws(mut ws: tungstenite::WebSocket<Buffered>, count: &mut Count) -> Result<Counted, String> {
    loop {
        match ws.read() {
            Ok(Message::Binary(data)) => {
                if count.message(&data)? {
                    let _ = ws.close(None);
                    return Ok(count.done());
                }
            }
            Ok(Message::Close(frame)) => {
                return Err(format!(
                    "the broker closed the WebSocket after {} messages: {frame:?}",
                    count.messages
                ))
            }
            Ok(Message::Text(text)) => return Err(format!("a text frame with format=raw: {text}")),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("reading after {} messages: {e}", count.messages)),
        }
        count.check_deadline()?;
    }
}

/// A socket read through a buffer of [`READ_BUFFER`] bytes, so that the WebSocket client makes as
/// few `read` calls as the RESP one (tungstenite reads 4 KiB at a time otherwise).
struct Buffered {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buffered {
    fn new(stream: TcpStream) -> Buffered {
        Buffered {
            stream,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
        }
    }
}

impl Read for Buffered {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = self.stream.read(&mut self.buf)?;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Write for Buffered {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.stream.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
