//! What the hostile-input tests (`broker_malformed`, `broker_random_bytes`,
//! `broker_slow_subscriber`, `broker_limits`) share: a connection that reads whole RESP replies,
//! a well-behaved publisher/subscriber pair that proves the server still serves others, sockets
//! with a tiny receive buffer or an abortive close, the server's resident memory, and a seeded PRNG.

#![allow(dead_code)] // each test binary uses a different part of these helpers

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::common::Server;

/// How a read-until-close ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server closed the connection (FIN).
    Eof,
    /// The server reset the connection.
    Reset,
    /// Nothing arrived within the read timeout: the connection is still open.
    TimedOut,
}

/// `bytes` as an escaped string, cut at 300 bytes, for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 300;
    let shown: String = bytes[..bytes.len().min(MAX)].escape_ascii().to_string();
    if bytes.len() > MAX {
        format!("\"{shown}\"... ({} bytes)", bytes.len())
    } else {
        format!("\"{shown}\"")
    }
}

/// Length of the complete RESP2 frame at the start of `buf`: `Ok(None)` if it is incomplete,
/// `Err` if it is not RESP.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    fn line(buf: &[u8]) -> Option<usize> {
        buf.windows(2).position(|w| w == b"\r\n")
    }
    fn number(text: &[u8]) -> Result<i64, String> {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("not a number: {}", show(text)))
    }
    let Some(&kind) = buf.first() else { return Ok(None) };
    let Some(end) = line(buf) else { return Ok(None) };
    let header = &buf[1..end];
    let after = end + 2;
    match kind {
        b'+' | b'-' => Ok(Some(after)),
        b':' => number(header).map(|_| Some(after)),
        b'$' => match number(header)? {
            -1 => Ok(Some(after)),
            n if n < 0 => Err(format!("bulk length {n}")),
            n => {
                let total = after + n as usize + 2;
                if buf.len() < total {
                    Ok(None)
                } else if &buf[total - 2..total] != b"\r\n" {
                    Err(format!("bulk of {n} bytes not followed by CRLF"))
                } else {
                    Ok(Some(total))
                }
            }
        },
        b'*' => match number(header)? {
            -1 => Ok(Some(after)),
            n if n < 0 => Err(format!("array length {n}")),
            n => {
                let mut at = after;
                for _ in 0..n {
                    match frame_len(&buf[at..])? {
                        Some(len) => at += len,
                        None => return Ok(None),
                    }
                }
                Ok(Some(at))
            }
        },
        other => Err(format!("reply type byte {:?}", other as char)),
    }
}

/// A client connection that reads whole replies, keeping what arrived beyond them.
#[derive(Debug)]
pub struct Conn {
    /// The socket (with the read timeout `Server::connect` sets).
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Wraps a connected socket.
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects to `server`.
    pub fn open(server: &Server) -> Conn {
        Conn::new(server.connect())
    }

    /// Sends `bytes`, failing the test if the server refuses them.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("send {}: {e}", show(bytes)));
    }

    fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The next complete reply, raw; an error if the connection closed or timed out first.
    pub fn try_reply(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            match frame_len(&self.buf) {
                Ok(Some(len)) => return Ok(self.buf.drain(..len).collect()),
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        ErrorKind::InvalidData,
                        format!("not RESP ({e}): {}", show(&self.buf)),
                    ))
                }
            }
            if self.fill()? == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("closed after {}", show(&self.buf)),
                ));
            }
        }
    }

    /// The next complete reply, raw, or the test fails.
    pub fn reply(&mut self) -> Vec<u8> {
        self.try_reply()
            .unwrap_or_else(|e| panic!("reading a reply: {e}"))
    }

    /// Sends `request` and asserts the next reply is exactly `expected`.
    pub fn expect(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request);
        let reply = self.reply();
        assert_eq!(
            reply,
            expected,
            "request {}: expected {}, got {}",
            show(request),
            show(expected),
            show(&reply)
        );
    }

    /// Reads exactly `n` bytes (after any already buffered).
    pub fn read_exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("closed after {} of {n} bytes", self.buf.len()),
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Everything up to the server's close (or reset, or a read timeout), and how it ended.
    pub fn read_to_close(&mut self) -> (Vec<u8>, Ending) {
        let ending = loop {
            match self.fill() {
                Ok(0) => break Ending::Eof,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break Ending::Reset,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break Ending::TimedOut
                }
                Err(e) => panic!("reading to close: {e}"),
            }
        };
        (std::mem::take(&mut self.buf), ending)
    }
}

/// A bulk string.
pub fn bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

/// The frame a subscriber of `channel` receives for a PUBLISH of `payload`.
pub fn message(channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = b"*3\r\n$7\r\nmessage\r\n".to_vec();
    out.extend_from_slice(&bulk(channel));
    out.extend_from_slice(&bulk(payload));
    out
}

/// The confirmation of a SUBSCRIBE to `channel` that leaves the client with `count` subscriptions.
pub fn subscribed(channel: &[u8], count: usize) -> Vec<u8> {
    let mut out = b"*3\r\n$9\r\nsubscribe\r\n".to_vec();
    out.extend_from_slice(&bulk(channel));
    out.extend_from_slice(format!(":{count}\r\n").as_bytes());
    out
}

/// `PUBSUB NUMSUB channel` as the server answers it.
pub fn numsub(conn: &mut Conn, channel: &[u8]) -> i64 {
    conn.send(&crate::common::command(&[b"PUBSUB", b"NUMSUB", channel]));
    let reply = conn.reply();
    let mut prefix = b"*2\r\n".to_vec();
    prefix.extend_from_slice(&bulk(channel));
    prefix.push(b':');
    assert!(
        reply.starts_with(&prefix),
        "PUBSUB NUMSUB {}: {}",
        show(channel),
        show(&reply)
    );
    std::str::from_utf8(&reply[prefix.len()..reply.len() - 2])
        .unwrap()
        .parse()
        .unwrap()
}

/// A well-behaved publisher and subscriber on one channel: each `round` publishes the next
/// sequence number and checks the subscriber receives exactly it, so any lost, reordered or
/// foreign message, or a stalled server, fails the test.
#[derive(Debug)]
pub struct Witness {
    /// The publishing connection.
    pub publisher: Conn,
    /// The subscribed connection.
    pub subscriber: Conn,
    channel: Vec<u8>,
    next: u64,
}

impl Witness {
    /// Connects both clients and subscribes.
    pub fn new(server: &Server, channel: &str) -> Witness {
        let channel = channel.as_bytes().to_vec();
        let mut subscriber = Conn::open(server);
        subscriber.expect(
            &crate::common::command(&[b"SUBSCRIBE", &channel]),
            &subscribed(&channel, 1),
        );
        let mut publisher = Conn::open(server);
        publisher.expect(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
        Witness {
            publisher,
            subscriber,
            channel,
            next: 0,
        }
    }

    /// Publishes the next sequence number and checks its delivery (and that the witness's
    /// subscriber is the channel's only receiver).
    pub fn round(&mut self) {
        self.round_with(true);
    }

    /// Like `round`, but other receivers (a stranger's pattern that happens to match) are
    /// allowed when `only_receiver` is false.
    pub fn round_with(&mut self, only_receiver: bool) {
        let payload = format!("seq-{}", self.next).into_bytes();
        let request = crate::common::command(&[b"PUBLISH", &self.channel, &payload]);
        if only_receiver {
            self.publisher.expect(&request, b":1\r\n");
        } else {
            self.publisher.send(&request);
            let reply = self.publisher.reply();
            let receivers = std::str::from_utf8(&reply)
                .ok()
                .and_then(|r| r.strip_prefix(':')?.strip_suffix("\r\n")?.parse::<u64>().ok());
            assert!(
                matches!(receivers, Some(1..)),
                "witness PUBLISH got {}",
                show(&reply)
            );
        }
        let expected = message(&self.channel, &payload);
        let got = self
            .subscriber
            .read_exact(expected.len())
            .unwrap_or_else(|e| panic!("witness subscriber waiting for {}: {e}", show(&expected)));
        assert_eq!(
            got,
            expected,
            "witness subscriber: expected {}, got {}",
            show(&expected),
            show(&got)
        );
        self.next += 1;
    }

    /// How many rounds have passed.
    pub fn rounds(&self) -> u64 {
        self.next
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T) {
    // SAFETY: `fd` is an open socket we own; `value` points to a live `T` and the length passed
    // is exactly its size, so the kernel reads only initialised memory.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt({level}, {name}): {}",
        std::io::Error::last_os_error()
    );
}

/// A connection to 127.0.0.1:`port` whose receive buffer was shrunk to `rcvbuf` bytes before
/// connecting (so the window it advertises stays small), with a 10 s read timeout.
pub fn connect_with_rcvbuf(port: u16, rcvbuf: i32) -> TcpStream {
    // SAFETY: `socket` has no memory-safety preconditions.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just returned by `socket`, is open, and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &rcvbuf);
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `addr` is a fully initialised `sockaddr_in` and the length passed is its size.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "connect to port {port}: {}",
        std::io::Error::last_os_error()
    );
    let stream = TcpStream::from(fd);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
pub fn abort(stream: TcpStream) {
    let fd = OwnedFd::from(stream);
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(&fd, libc::SOL_SOCKET, libc::SO_LINGER, &linger);
    drop(fd);
}

/// The process's resident set size in KiB, from /proc/PID/status.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// xorshift64*: small, seeded, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`, scrambled first (splitmix64) so that nearby seeds give unrelated
    /// streams and 0 does not leave xorshift stuck at 0.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
