//! Helpers shared by the `broker_*` end-to-end tests: a RESP2 reply reader over any byte stream
//! (plain TCP or TLS), replies parsed into values, and running the client tools as processes.

#![allow(dead_code)] // each test binary uses a different part of these helpers

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Server};

/// Longest single reply a test expects (the 1 MiB payload tests stay well below this).
const MAX_REPLY_BULK: usize = 64 << 20;

/// A parsed RESP2 reply (and the RESP3 aggregate redis-server answers `HELLO 3` with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+...`
    Status(String),
    /// `-...`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` (None for `$-1`)
    Bulk(Option<Vec<u8>>),
    /// `*n` (None for `*-1`); RESP3 maps (`%n`) are flattened into this too.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The items of an array reply, or a test failure naming what came instead.
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(items)) => items,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }

    /// The bytes of a bulk reply, or a test failure.
    pub fn bulk(&self) -> &[u8] {
        match self {
            Reply::Bulk(Some(bytes)) => bytes,
            other => panic!("expected a bulk reply, got {other:?}"),
        }
    }

    /// The value of an integer reply, or a test failure.
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }
}

/// A bulk reply holding `bytes`, for comparisons.
pub fn bulk(bytes: &[u8]) -> Reply {
    Reply::Bulk(Some(bytes.to_vec()))
}

/// A connection reading whole replies, over a plain socket or a TLS stream.
#[derive(Debug)]
pub struct Conn<S: Read + Write = TcpStream> {
    inner: BufReader<S>,
}

impl Conn<TcpStream> {
    /// Connects to `server` (10 s read timeout, so a missing reply fails instead of hanging).
    pub fn open(server: &Server) -> Conn {
        Conn::new(server.connect())
    }

    /// Changes the read timeout of the socket.
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.inner.get_ref().set_read_timeout(Some(timeout)).unwrap();
    }
}

impl<S: Read + Write> Conn<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Conn {
            inner: BufReader::with_capacity(64 << 10, stream),
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        let stream = self.inner.get_mut();
        stream.write_all(bytes).expect("send");
        stream.flush().expect("flush");
    }

    /// Sends a command as a RESP array and returns its one reply, raw.
    pub fn call_raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&common::command(args));
        self.read_raw()
    }

    /// Sends a command as a RESP array and returns its one reply, parsed.
    pub fn call(&mut self, args: &[&[u8]]) -> Reply {
        parse(&self.call_raw(args))
    }

    /// Reads one whole reply and returns its bytes as they came (fails the test on EOF or timeout).
    pub fn read_raw(&mut self) -> Vec<u8> {
        self.try_read_raw()
            .unwrap_or_else(|e| panic!("reading a reply: {e}"))
    }

    /// Reads one whole reply, parsed.
    pub fn read(&mut self) -> Reply {
        parse(&self.read_raw())
    }

    /// Reads one whole reply, or says why none came (`UnexpectedEof` when the peer closed).
    pub fn try_read_raw(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_value(&mut out)?;
        Ok(out)
    }

    fn read_value(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let start = out.len();
        let n = self.inner.read_until(b'\n', out)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        let line = &out[start..];
        if !line.ends_with(b"\r\n") {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                "reply line without CRLF",
            ));
        }
        let kind = line[0];
        let number = || -> std::io::Result<i64> {
            std::str::from_utf8(&line[1..line.len() - 2])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, "bad length"))
        };
        match kind {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' => Ok(()),
            b'$' => {
                let len = number()?;
                if len < 0 {
                    return Ok(());
                }
                let len = usize::try_from(len).unwrap();
                assert!(len <= MAX_REPLY_BULK, "bulk of {len} bytes");
                let at = out.len();
                out.resize(at + len + 2, 0);
                self.inner.read_exact(&mut out[at..])?;
                Ok(())
            }
            b'*' | b'%' => {
                let len = number()?;
                let items = if kind == b'%' { len * 2 } else { len };
                for _ in 0..items.max(0) {
                    self.read_value(out)?;
                }
                Ok(())
            }
            other => Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!("unexpected reply type byte {:?}", other as char),
            )),
        }
    }

    /// Reads until the peer closes (replies and all); fails the test on a read timeout.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.inner.read_to_end(&mut out) {
            Ok(_) => out,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => out,
            Err(e) => panic!(
                "expected the server to close the connection: {e} (read so far: {})",
                show(&out)
            ),
        }
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut()
    }
}

/// Parses one whole reply (as returned by [`Conn::read_raw`]).
pub fn parse(raw: &[u8]) -> Reply {
    let mut at = 0;
    let reply = parse_at(raw, &mut at);
    assert_eq!(at, raw.len(), "trailing bytes after a reply: {}", show(raw));
    reply
}

/// Parses each reply in a run of concatenated replies.
pub fn parse_all(raw: &[u8]) -> Vec<Reply> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < raw.len() {
        out.push(parse_at(raw, &mut at));
    }
    out
}

fn parse_at(raw: &[u8], at: &mut usize) -> Reply {
    let end = raw[*at..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| *at + p)
        .unwrap_or_else(|| panic!("incomplete reply: {}", show(raw)));
    let kind = raw[*at];
    let text = String::from_utf8_lossy(&raw[*at + 1..end]).into_owned();
    *at = end + 2;
    let number = || -> i64 { text.parse().unwrap_or_else(|_| panic!("bad number {text:?}")) };
    match kind {
        b'+' => Reply::Status(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(number()),
        b'_' => Reply::Bulk(None),
        b',' | b'#' => Reply::Status(text),
        b'$' => {
            let len = number();
            if len < 0 {
                return Reply::Bulk(None);
            }
            let len = usize::try_from(len).unwrap();
            let bytes = raw[*at..*at + len].to_vec();
            *at += len + 2;
            Reply::Bulk(Some(bytes))
        }
        b'*' | b'%' => {
            let len = number();
            if len < 0 {
                return Reply::Array(None);
            }
            let count = if kind == b'%' { len * 2 } else { len };
            Reply::Array(Some((0..count).map(|_| parse_at(raw, at)).collect()))
        }
        other => panic!("unexpected reply type byte {:?} in {}", other as char, show(raw)),
    }
}

/// Bytes as an escaped string, for failure messages.
pub fn show(bytes: &[u8]) -> String {
    let shown: String = bytes.escape_ascii().to_string();
    if shown.len() > 600 {
        format!("{}... ({} bytes)", &shown[..600], bytes.len())
    } else {
        shown
    }
}

/// A `message` frame as a subscriber receives it.
pub fn message(channel: &[u8], payload: &[u8]) -> Vec<u8> {
    frame(&[b"message", channel, payload])
}

/// A `pmessage` frame as a pattern subscriber receives it.
pub fn pmessage(pattern: &[u8], channel: &[u8], payload: &[u8]) -> Vec<u8> {
    frame(&[b"pmessage", pattern, channel, payload])
}

/// A (p)subscribe / (p)unsubscribe confirmation frame.
pub fn confirmation(kind: &str, name: Option<&[u8]>, count: i64) -> Vec<u8> {
    let mut out = format!("*3\r\n${}\r\n{kind}\r\n", kind.len()).into_bytes();
    match name {
        Some(name) => out.extend_from_slice(&common::command(&[name])[4..]),
        None => out.extend_from_slice(b"$-1\r\n"),
    }
    out.extend_from_slice(format!(":{count}\r\n").as_bytes());
    out
}

/// An array of bulk strings: what every push frame is.
pub fn frame(items: &[&[u8]]) -> Vec<u8> {
    common::command(items)
}

/// `redis-cli`, from Debian's redis-tools.
pub fn redis_cli() -> PathBuf {
    for candidate in ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"] {
        if std::path::Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("redis-cli is not installed: `apt-get install redis-tools` (CI does)");
}

/// A `redis-cli -h 127.0.0.1 -p PORT` command, ready for more arguments.
pub fn cli(port: u16) -> Command {
    let mut command = Command::new(redis_cli());
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .env_remove("REDISCLI_AUTH")
        .stdin(Stdio::null());
    command
}

/// Runs a command to completion, killing it if it outlives `deadline`; returns its output.
pub fn run_bounded(command: &mut Command, stdin: Option<&[u8]>, deadline: Duration) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    // Drain both pipes on their own threads so a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}
