//! Incremental parsing of client requests from a read buffer, as redis-server 7 parses them
//! (`networking.c`: `processInputBuffer`, `processMultibulkBuffer`, `processInlineBuffer`).
//!
//! The parser is written by hand rather than on the `redis-protocol` crate. That crate decodes
//! any RESP2 frame (simple strings, integers, nested arrays) where a request is only an array
//! of bulk strings, has no inline commands, enforces none of Redis's limits
//! (`proto-max-bulk-len`, the multibulk count, the header-line length, the query buffer), and
//! its errors are not Redis's: a server on it would need a second pass to check and reword
//! every request, and the inline path anyway.
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
//! Each call starts again from the front of `buf`, walking the headers of the arguments that
//! are already complete (bulk bodies are jumped over, not scanned).

use std::borrow::Cow;

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
    let parsed = match buf.first() {
        None => return Ok(None),
        Some(b'*') => parse_multibulk(buf, limits)?,
        Some(_) => parse_inline(buf, limits)?,
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

/// One header line `<prefix><number>\r?` at `pos`: the number's bytes and where the line
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
) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    let Some((cr, start)) = header_line(buf, 0, limits, ProtocolError::TooBigMultibulkCount)? else {
        return Ok(None);
    };
    let count = match string2ll(&buf[1..cr]) {
        Some(n) if n <= 0 => {
            return Ok(Some((Request::new(RequestKind::Multibulk, Vec::new()), start)));
        }
        Some(n) if n as u64 <= limits.max_multibulk_len() as u64 => n as usize,
        _ => return Err(ProtocolError::InvalidMultibulkLength),
    };
    if limits.unauthenticated() && count > UNAUTHENTICATED_MAX_MULTIBULK_LEN {
        return Err(ProtocolError::UnauthenticatedMultibulkLength);
    }
    // First walk: validate and find the end, allocating nothing.
    if walk_bulks(buf, start, count, limits, |_| {})?.is_none() {
        return Ok(None);
    }
    // Second walk: the request is complete, so its argument count is real.
    let mut args = Vec::with_capacity(count);
    let end = walk_bulks(buf, start, count, limits, |arg| args.push(Cow::Borrowed(arg)))?;
    debug_assert!(end.is_some(), "the second walk sees what the first one saw");
    Ok(end.map(|end| (Request::new(RequestKind::Multibulk, args), end)))
}

/// Walks `count` bulk strings from `pos`, handing each to `each`; returns where they end.
fn walk_bulks<'a>(
    buf: &'a [u8],
    mut pos: usize,
    count: usize,
    limits: &Limits,
    mut each: impl FnMut(&'a [u8]),
) -> Result<Option<usize>, ProtocolError> {
    for _ in 0..count {
        let Some((cr, body)) = header_line(buf, pos, limits, ProtocolError::TooBigBulkCount)? else {
            return Ok(None);
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
            return Ok(None);
        }
        each(&buf[body..body + len]);
        pos = body + len + 2;
    }
    Ok(Some(pos))
}

fn parse_inline<'a>(buf: &'a [u8], limits: &Limits) -> Result<Option<(Request<'a>, usize)>, ProtocolError> {
    let newline = buf
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .filter(|&i| buf[i] == b'\n');
    let Some(nl) = newline else {
        return if buf.len() > limits.max_inline_len() {
            Err(ProtocolError::TooBigInlineRequest)
        } else {
            Ok(None)
        };
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..end])?;
    Ok(Some((Request::new(RequestKind::Inline, args), nl + 1)))
}
