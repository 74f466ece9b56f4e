//! Protocol errors, worded as redis-server 7 words them (`networking.c`).

use std::fmt;

use thiserror::Error;

/// A request the server must refuse; after it Redis replies (see [`write_reply`]) and closes
/// the connection.
///
/// `Display` is redis-server 7's message, so `-ERR <message>\r\n` is Redis's reply byte for
/// byte, with one exception that only [`write_reply`] handles: Redis writes the offending
/// byte of [`ExpectedDollar`](ProtocolError::ExpectedDollar) raw, which may not be UTF-8.
///
/// [`write_reply`]: ProtocolError::write_reply
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// `*<count>` is not a number or exceeds the multibulk limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$<len>` is not a number, is negative, or exceeds `proto-max-bulk-len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An element of a multibulk request does not start with `$`.
    #[error("Protocol error: expected '$', got '{}'", Shown(*.0))]
    ExpectedDollar(u8),
    /// The `*<count>` line has no end within the inline limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// A `$<len>` line has no end within the inline limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An inline request has no line end within the inline limit.
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// An inline request has an unclosed quote, or a closing quote followed by a non-space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// Before authentication, a multibulk count above 10.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// Before authentication, a bulk length above 16384.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// The unparsed input exceeds `client-max-querybuf-len`: Redis closes the connection
    /// without a reply (and logs this text).
    #[error("closing client that reached max query buffer length")]
    QueryBufferLimit,
}

/// The offending byte as Redis's `addReplyErrorFormat` shows it: `\r` and `\n` become spaces.
struct Shown(u8);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b'\r' | b'\n' => f.write_str(" "),
            b if b.is_ascii() => write!(f, "{}", b as char),
            b => write!(f, "\\x{b:02x}"),
        }
    }
}

impl ProtocolError {
    /// Whether Redis replies before closing; only [`QueryBufferLimit`] closes silently.
    ///
    /// [`QueryBufferLimit`]: ProtocolError::QueryBufferLimit
    pub fn has_reply(&self) -> bool {
        !matches!(self, ProtocolError::QueryBufferLimit)
    }

    /// Appends redis-server 7's exact reply, `-ERR <message>\r\n`, if it sends one.
    ///
    /// ```
    /// use nanostream_net::resp::ProtocolError;
    ///
    /// let mut out = Vec::new();
    /// ProtocolError::ExpectedDollar(b'f').write_reply(&mut out);
    /// assert_eq!(out, b"-ERR Protocol error: expected '$', got 'f'\r\n");
    /// ```
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        match *self {
            ProtocolError::QueryBufferLimit => {}
            ProtocolError::ExpectedDollar(b) => {
                let b = if b == b'\r' || b == b'\n' { b' ' } else { b };
                out.extend_from_slice(b"-ERR Protocol error: expected '$', got '");
                out.push(b);
                out.extend_from_slice(b"'\r\n");
            }
            _ => {
                use std::io::Write;
                // Writing to a Vec cannot fail.
                let _ = write!(out, "-ERR {self}\r\n");
            }
        }
    }
}
