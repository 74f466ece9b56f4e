//! A small blocking RESP client for the server tests: sends commands, reads reply frames.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A reply frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `+text`
    Simple(String),
    /// `-text`
    Error(String),
    /// `:n`
    Integer(i64),
    /// `$n` bytes, or `$-1` as `None`.
    Bulk(Option<Vec<u8>>),
    /// `*n` frames, or `*-1` as `None`.
    Array(Option<Vec<Frame>>),
}

impl Frame {
    /// The bulk string's bytes (panics on another frame).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Frame::Bulk(Some(b)) => b,
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }

    /// The array's elements (panics on another frame).
    pub fn items(&self) -> &[Frame] {
        match self {
            Frame::Array(Some(items)) => items,
            other => panic!("expected an array, got {other:?}"),
        }
    }
}

/// A connection to the server under test, with a read timeout so that a missing reply fails
/// the test instead of hanging it.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Sends one command without reading its reply.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).expect("send");
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Frame {
        self.send(args);
        self.read()
    }

    /// Reads one frame.
    pub fn read(&mut self) -> Frame {
        read_frame(&mut self.reader).expect("a reply frame")
    }

    /// Reads one frame, or `None` if the server closed the connection (or it failed).
    pub fn try_read(&mut self) -> Option<Frame> {
        read_frame(&mut self.reader).ok()
    }

    /// The socket, for options and raw writes.
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}

fn line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut l = String::new();
    if reader.read_line(&mut l)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(l.trim_end_matches("\r\n").to_string())
}

/// Reads one RESP2 frame.
pub fn read_frame(reader: &mut impl BufRead) -> std::io::Result<Frame> {
    let l = line(reader)?;
    let (kind, rest) = l.split_at(1);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad line {l:?}"));
    Ok(match kind {
        "+" => Frame::Simple(rest.to_string()),
        "-" => Frame::Error(rest.to_string()),
        ":" => Frame::Integer(rest.parse().map_err(|_| bad())?),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Frame::Bulk(None)
            } else {
                let mut buf = vec![0; n as usize + 2];
                reader.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Frame::Bulk(Some(buf))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Frame::Array(None)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(read_frame(reader)?);
                }
                Frame::Array(Some(items))
            }
        }
        _ => return Err(bad()),
    })
}

/// Builds a `message` frame as a subscriber receives it.
pub fn message(channel: &[u8], payload: &[u8]) -> Frame {
    Frame::Array(Some(vec![
        Frame::Bulk(Some(b"message".to_vec())),
        Frame::Bulk(Some(channel.to_vec())),
        Frame::Bulk(Some(payload.to_vec())),
    ]))
}

/// Polls `condition` until it holds or `deadline` passes; returns whether it held.
pub fn wait_for(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
