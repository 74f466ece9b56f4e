//! Incremental parsing of client requests from a read buffer, as redis-server 7 parses them
//! (`networking.c`: `processInputBuffer`, `processMultibulkBuffer`, `processInlineBuffer`).
//!
//! The parser is written by hand rather than on the `redis-protocol` crate, whose RESP2
//! `decode_range` does not fit a server's request path:
//! - it decodes any RESP2 frame: `*1\r\n+PING\r\n`, `$-1` elements and nested arrays are
//!   accepted where Redis answers `expected '$', got '+'` or `invalid bulk length`, and nested
//!   arrays recurse with no depth bound;
//! - arrays are read with nom's `count(d_parse_frame, len)`, driven by the claimed length,
//!   and nothing bounds a length: there is no `proto-max-bulk-len`, multibulk limit, header
//!   line limit or query-buffer limit to configure;
//! - lengths are read with `str::parse::<isize>`, which takes `+5` and `007` that Redis's
//!   `string2ll` refuses;
//! - there are no inline commands, and its errors are not Redis's texts.
//!
//! A server on it would still need a pass of its own to check and reword every request, and
//! an inline parser: that pass is this module.
//!
//! # What it matches in Redis, byte for byte
//! - A buffer starting with `*` is a multibulk request; anything else is an inline line.
//! - Header lines end at the first `\r`, and the search stops at a NUL byte as `strchr` does
//!   (so a NUL in a header line means "incomplete" until the inline limit is passed). The byte
//!   after that `\r`, and the two bytes after a bulk string, are skipped unchecked, as Redis
//!   skips them.
//! - `*<n>` with `n <= 0` is an empty request; more than the limit is an error.
//! - Inline lines end at `\n` (an optional `\r` before it is dropped), with the same NUL rule.
//!
//! # What it allocates
//! Nothing until a request is complete: the bytes are walked once to validate the request and
//! find its end, so a claimed `*1000000000` or `$536870912` costs nothing until the client has
//! sent that much. A complete multibulk request then costs one `Vec` of exactly as many
//! elements as it has arguments, each borrowing from `buf`. An inline request costs its
//! growing `Vec`, plus an owned copy of each token that an escape or mid-token quote changed.
//!
//! [`parse_request`] starts again from the front of `buf` on each call, walking the headers of
//! the arguments already complete (bulk bodies are jumped over, not scanned);
//! [`RequestDecoder`] resumes where the last call stopped, which is what a connection wants.

use std::borrow::Cow;
use std::ops::Range;

use super::error::ProtocolError;
use super::frame::{Request, RequestKind};
use super::inline::split_args;
use super::limits::{Limits, UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN};
use super::number::string2ll;

/// Parses the request at the front of `buf`.
///
/// Returns `Ok(Some((request, consumed)))` when a whole request is there (drop `consumed`
/// bytes from the front of the buffer afterwards), `Ok(None)` when more bytes are needed, and
/// an error when the client broke the protocol or a limit; then, as Redis does, reply with
/// [`ProtocolError::write_reply`] and close the connection.
///
/// ```
/// use nanostream_net::resp::{parse_request, Limits};
///
/// let limits = Limits::default();
/// let buf = b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\nPING\r\n";
/// let (req, used) = parse_request(buf, &limits)?.expect("complete");
/// assert_eq!(req.args(), [&b"PING"[..], b"hi"]);
/// let (req, _) = parse_request(&buf[used..], &limits)?.expect("complete");
/// assert_eq!(req.args(), [&b"PING"[..]]);
/// assert!(parse_request(b"*2\r\n$4\r\nPI", &limits)?.is_none());
/// # Ok::<(), nanostream_net::resp::ProtocolError>(())
/// ```
pub fn parse_request<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    decode(buf, limits, &mut Progress::Fresh)
}

/// A request decoded by [`RequestDecoder::decode_ranges`].
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A multibulk request, its arguments in the ranges given.
    Ranges,
    /// An inline request.
    Inline(Request<'a>),
}

/// How far the bytes of an incomplete request have been checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Progress {
    /// Nothing checked yet.
    #[default]
    Fresh,
    /// A multibulk request of `count` arguments from `start`; `done` of them are complete
    /// and the next header starts at `pos`.
    Multibulk {
        count: usize,
        start: usize,
        done: usize,
        pos: usize,
    },
    /// An inline request whose first `scanned` bytes hold no line end.
    Inline { scanned: usize },
}

/// [`parse_request`] for one connection, resuming where the last incomplete call stopped.
///
/// [`parse_request`] starts again from the front of the buffer on every call, so a request
/// that arrives in many small reads has its complete argument headers walked again on each
/// read: quadratic in the argument count for a client that trickles a large request in.
/// `RequestDecoder` remembers how far it got, so each byte is checked once before the request
/// is complete, and its arguments are collected once after. Redis keeps the same state
/// (`multibulklen`, `bulklen`, `qb_pos`) on its client struct.
///
/// The contract: after a call returns `Ok(None)`, the next call must see the same bytes at
/// the front of the buffer, with more appended. After `Ok(Some((_, consumed)))` drop the
/// `consumed` bytes; after an error, close the connection. If the contract is broken the
/// results are unspecified, but the decoder never panics or reads past the buffer.
///
/// ```
/// use nanostream_net::resp::{Limits, RequestDecoder};
///
/// let mut decoder = RequestDecoder::new(Limits::default());
/// let mut buf = Vec::new();
/// let mut got = Vec::new();
/// for chunk in [&b"*2\r\n$4\r\nEC"[..], b"HO\r\n$2\r", b"\nhi\r\nPING\r\n"] {
///     buf.extend_from_slice(chunk);
///     while let Some((req, used)) = decoder.decode(&buf)? {
///         got.push(req.into_owned());
///         buf.drain(..used);
///     }
/// }
/// assert_eq!(got[0].args(), [&b"ECHO"[..], b"hi"]);
/// assert_eq!(got[1].args(), [&b"PING"[..]]);
/// # Ok::<(), nanostream_net::resp::ProtocolError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
    progress: Progress,
}

impl RequestDecoder {
    /// A decoder for a new connection.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            progress: Progress::Fresh,
        }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many bytes of the incomplete request at the front of the buffer are already checked:
    /// the next [`decode`](Self::decode) goes on from there instead of starting over (0 when no
    /// request is pending).
    pub fn checked(&self) -> usize {
        match self.progress {
            Progress::Fresh => 0,
            Progress::Multibulk { pos, .. } => pos,
            Progress::Inline { scanned } => scanned,
        }
    }

    /// Changes the limits (for example once the client authenticates); progress is kept.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Parses the request at the front of `buf`, as [`parse_request`] does.
    pub fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
        let result = decode(buf, &self.limits, &mut self.progress);
        if !matches!(result, Ok(None)) {
            self.progress = Progress::Fresh;
        }
        result
    }

    /// Parses the request at the front of `buf` without allocating for a multibulk request:
    /// its arguments are written into `args` (cleared first) as ranges of `buf`, reusing the
    /// vector's capacity. An inline request, whose arguments may be unescaped copies, comes
    /// back as a [`Request`]. Returns what was decoded and how many bytes it took.
    ///
    /// ```
    /// use nanostream_net::resp::{decode::Decoded, Limits, RequestDecoder};
    ///
    /// let mut decoder = RequestDecoder::new(Limits::default());
    /// let mut args = Vec::new();
    /// let buf = b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n";
    /// let (decoded, used) = decoder.decode_ranges(buf, &mut args)?.unwrap();
    /// assert!(matches!(decoded, Decoded::Ranges));
    /// assert_eq!(&buf[args[1].clone()], b"hi");
    /// let (decoded, _) = decoder.decode_ranges(&buf[used..], &mut args)?.unwrap();
    /// let Decoded::Inline(request) = decoded else { panic!("inline") };
    /// assert_eq!(request.args(), [&b"PING"[..]]);
    /// # Ok::<(), nanostream_net::resp::ProtocolError>(())
    /// ```
    pub fn decode_ranges<'a>(
        &mut self,
        buf: &'a [u8],
        args: &mut Vec<Range<usize>>,
    ) -> Result<Option<(Decoded<'a>, usize)>, ProtocolError> {
        let result = match buf.first() {
            None => Ok(None),
            Some(b'*') => {
                args.clear();
                walk_multibulk(buf, &self.limits, &mut self.progress, |_, body, len| {
                    args.push(body..body + len)
                })
                .map(|end| end.map(|end| (Decoded::Ranges, end)))
            }
            Some(_) => parse_inline(buf, &self.limits, &mut self.progress)
                .map(|r| r.map(|(request, end)| (Decoded::Inline(request), end))),
        };
        let result = match result {
            Ok(None) if buf.len() > self.limits.max_query_buffer() => Err(ProtocolError::QueryBufferLimit),
            other => other,
        };
        if !matches!(result, Ok(None)) {
            self.progress = Progress::Fresh;
        }
        result
    }

    /// Forgets any progress, for a buffer that was cleared.
    pub fn reset(&mut self) {
        self.progress = Progress::Fresh;
    }
}

fn decode<'a>(
    buf: &'a [u8],
    limits: &Limits,
    progress: &mut Progress,
) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    let parsed = match buf.first() {
        None => return Ok(None),
        Some(b'*') => parse_multibulk(buf, limits, progress)?,
        Some(_) => parse_inline(buf, limits, progress)?,
    };
    if parsed.is_none() && buf.len() > limits.max_query_buffer() {
        return Err(ProtocolError::QueryBufferLimit);
    }
    Ok(parsed)
}

/// The position of the first `\r` at or after `from`, unless a NUL comes first.
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    let i = from + buf[from..].iter().position(|&b| b == b'\r' || b == 0)?;
    (buf[i] == b'\r').then_some(i)
}

/// One header line `<prefix><number>\r?` at `pos`: where its `\r` is and where the line
/// ends, `Ok(None)` if incomplete.
fn header_line(
    buf: &[u8],
    pos: usize,
    limits: &Limits,
    too_big: ProtocolError,
) -> Result<Option<(usize, usize)>, ProtocolError> {
    match find_cr(buf, pos) {
        None if buf.len() - pos > limits.max_inline_len() => Err(too_big),
        None => Ok(None),
        // Redis wants one more byte after the `\r` and does not look at it.
        Some(cr) if cr + 2 > buf.len() => Ok(None),
        Some(cr) => Ok(Some((cr, cr + 2))),
    }
}

fn parse_multibulk<'a>(
    buf: &'a [u8],
    limits: &Limits,
    progress: &mut Progress,
) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    let mut args = Vec::new();
    let end = walk_multibulk(buf, limits, progress, |count, body, len| {
        if args.is_empty() {
            args.reserve_exact(count);
        }
        args.push(Cow::Borrowed(&buf[body..body + len]))
    })?;
    Ok(end.map(|end| (Request::new(RequestKind::Multibulk, args), end)))
}

/// Checks the multibulk request at the front of `buf`. Once it is complete, calls `each`
/// with the argument count and each argument's start and length, and returns where the
/// request ends.
fn walk_multibulk(
    buf: &[u8],
    limits: &Limits,
    progress: &mut Progress,
    mut each: impl FnMut(usize, usize, usize),
) -> Result<Option<usize>, ProtocolError> {
    let (count, start, done, pos) = match *progress {
        Progress::Multibulk {
            count,
            start,
            done,
            pos,
        } if pos <= buf.len() => (count, start, done, pos),
        _ => {
            let Some((cr, start)) = header_line(buf, 0, limits, ProtocolError::TooBigMultibulkCount)? else {
                return Ok(None);
            };
            let count = match string2ll(&buf[1..cr]) {
                Some(n) if n <= 0 => return Ok(Some(start)),
                Some(n) if n as u64 <= limits.max_multibulk_len() as u64 => n as usize,
                _ => return Err(ProtocolError::InvalidMultibulkLength),
            };
            if limits.unauthenticated() && count > UNAUTHENTICATED_MAX_MULTIBULK_LEN {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            (count, start, 0, start)
        }
    };
    // First walk, from where the last call stopped: validate and find the end, allocating
    // nothing.
    match walk_bulks(buf, pos, count - done, limits, |_, _| {})? {
        Walk::Partial { pos, done: more } => {
            *progress = Progress::Multibulk {
                count,
                start,
                done: done + more,
                pos,
            };
            return Ok(None);
        }
        Walk::Done(_) => {}
    }
    // Second walk: the request is complete, so its argument count is real.
    match walk_bulks(buf, start, count, limits, |body, len| each(count, body, len))? {
        Walk::Done(end) => Ok(Some(end)),
        // Only if the caller changed the buffer's front between calls.
        Walk::Partial { .. } => Ok(None),
    }
}

/// How far a walk over bulk strings got.
enum Walk {
    /// All of them are complete; the request ends here.
    Done(usize),
    /// `done` of them are complete; the next header starts at `pos`.
    Partial { pos: usize, done: usize },
}

/// Walks `count` bulk strings from `pos`, handing each to `each`.
fn walk_bulks(
    buf: &[u8],
    mut pos: usize,
    count: usize,
    limits: &Limits,
    mut each: impl FnMut(usize, usize),
) -> Result<Walk, ProtocolError> {
    for done in 0..count {
        let Some((cr, body)) = header_line(buf, pos, limits, ProtocolError::TooBigBulkCount)? else {
            return Ok(Walk::Partial { pos, done });
        };
        if buf[pos] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[pos]));
        }
        let len = match string2ll(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len() as u64 => n as usize,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if limits.unauthenticated() && len > UNAUTHENTICATED_MAX_BULK_LEN {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        // `len` is at most `max_bulk_len`, which `Limits` keeps far below `usize::MAX`.
        if buf.len() - body < len + 2 {
            return Ok(Walk::Partial { pos, done });
        }
        each(body, len);
        pos = body + len + 2;
    }
    Ok(Walk::Done(pos))
}

fn parse_inline<'a>(
    buf: &'a [u8],
    limits: &Limits,
    progress: &mut Progress,
) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    let from = match *progress {
        Progress::Inline { scanned } if scanned <= buf.len() => scanned,
        _ => 0,
    };
    let found = buf[from..]
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .map(|i| from + i);
    let Some(nl) = found.filter(|&i| buf[i] == b'\n') else {
        if buf.len() > limits.max_inline_len() {
            return Err(ProtocolError::TooBigInlineRequest);
        }
        // A NUL ends the search for good, as `strchr` does: keep finding it there.
        *progress = Progress::Inline {
            scanned: found.unwrap_or(buf.len()),
        };
        return Ok(None);
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..end])?;
    Ok(Some((Request::new(RequestKind::Inline, args), nl + 1)))
}
