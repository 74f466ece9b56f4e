//! RESP2 replies as a client reads them: incremental parsing over a read buffer.

use std::fmt;

use nanostream_net::resp::number::string2ll;

/// The longest bulk string accepted, Redis's default `proto-max-bulk-len`.
const MAX_BULK: i64 = 512 * 1024 * 1024;
/// How deep arrays may nest; a pub/sub frame needs one level.
const MAX_DEPTH: usize = 8;

/// One reply, borrowing its strings from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `+OK`.
    Simple(&'a [u8]),
    /// `-ERR ...`, without the `-`.
    Error(&'a [u8]),
    /// `:42`.
    Integer(i64),
    /// `$5\r\nhello`, or `None` for the null bulk `$-1`.
    Bulk(Option<&'a [u8]>),
    /// `*3\r\n...`, or `None` for the null array `*-1`.
    Array(Option<Vec<Reply<'a>>>),
}

/// Bytes that are not a RESP2 reply; the connection cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError(String);

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed reply from the server: {}", self.0)
    }
}

impl std::error::Error for ReplyError {}

fn malformed(what: impl Into<String>) -> ReplyError {
    ReplyError(what.into())
}

/// Parses one reply from the start of `buf`.
///
/// Returns the reply and how many bytes it took, `Ok(None)` when `buf` holds only part of
/// one (read more and call again with the same start), or an error for bytes no server sends.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply<'_>, usize)>, ReplyError> {
    parse_at(buf, 0, 0)
}

/// Parses the reply starting at `pos`; the returned length is the end position.
fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply<'_>, usize)>, ReplyError> {
    let Some((line, after)) = line_at(buf, pos) else {
        return Ok(None);
    };
    let (&kind, rest) = line.split_first().ok_or_else(|| malformed("an empty line"))?;
    match kind {
        b'+' => Ok(Some((Reply::Simple(rest), after))),
        b'-' => Ok(Some((Reply::Error(rest), after))),
        b':' => Ok(Some((Reply::Integer(number(rest)?), after))),
        b'$' => {
            let len = number(rest)?;
            if len == -1 {
                return Ok(Some((Reply::Bulk(None), after)));
            }
            if !(0..=MAX_BULK).contains(&len) {
                return Err(malformed(format!("bulk length {len}")));
            }
            let end = after + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(malformed("a bulk string not followed by CRLF"));
            }
            Ok(Some((Reply::Bulk(Some(&buf[after..end])), end + 2)))
        }
        b'*' => {
            let count = number(rest)?;
            if count == -1 {
                return Ok(Some((Reply::Array(None), after)));
            }
            if count < 0 {
                return Err(malformed(format!("array length {count}")));
            }
            if depth >= MAX_DEPTH {
                return Err(malformed("arrays nested too deep"));
            }
            // Each element takes at least 3 bytes: never reserve for more than the input holds.
            let mut items = Vec::with_capacity((count as usize).min((buf.len() - after) / 3));
            let mut at = after;
            for _ in 0..count {
                match parse_at(buf, at, depth + 1)? {
                    Some((item, next)) => {
                        items.push(item);
                        at = next;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        other => Err(malformed(format!("unknown type byte {:?}", other as char))),
    }
}

/// The line starting at `pos` without its CRLF, and the position after the CRLF.
fn line_at(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let cr = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..cr], pos + cr + 2))
}

fn number(digits: &[u8]) -> Result<i64, ReplyError> {
    string2ll(digits).ok_or_else(|| malformed(format!("not a number: {:?}", String::from_utf8_lossy(digits))))
}

#[cfg(test)]
mod tests {
    use super::{parse, Reply};

    /// Parses `input` whole, then checks every strict prefix is incomplete.
    fn whole(input: &[u8]) -> Reply<'_> {
        for cut in 0..input.len() {
            assert_eq!(
                parse(&input[..cut]),
                Ok(None),
                "prefix of {cut} bytes of {input:?}"
            );
        }
        let (reply, used) = parse(input).expect("valid").expect("complete");
        assert_eq!(used, input.len());
        reply
    }

    #[test]
    fn every_type() {
        assert_eq!(whole(b"+OK\r\n"), Reply::Simple(b"OK"));
        assert_eq!(whole(b"-ERR no\r\n"), Reply::Error(b"ERR no"));
        assert_eq!(whole(b":42\r\n"), Reply::Integer(42));
        assert_eq!(whole(b":-7\r\n"), Reply::Integer(-7));
        assert_eq!(whole(b"$5\r\nhe\r\no\r\n"), Reply::Bulk(Some(b"he\r\no")));
        assert_eq!(whole(b"$0\r\n\r\n"), Reply::Bulk(Some(b"")));
        assert_eq!(whole(b"$-1\r\n"), Reply::Bulk(None));
        assert_eq!(whole(b"*-1\r\n"), Reply::Array(None));
        assert_eq!(whole(b"*0\r\n"), Reply::Array(Some(vec![])));
        assert_eq!(
            whole(b"*2\r\n*1\r\n:1\r\n$-1\r\n"),
            Reply::Array(Some(vec![
                Reply::Array(Some(vec![Reply::Integer(1)])),
                Reply::Bulk(None)
            ]))
        );
    }

    #[test]
    fn pubsub_frames() {
        assert_eq!(
            whole(b"*3\r\n$9\r\nsubscribe\r\n$9\r\nloadgen:0\r\n:1\r\n"),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"subscribe")),
                Reply::Bulk(Some(b"loadgen:0")),
                Reply::Integer(1)
            ]))
        );
        assert_eq!(
            whole(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\n\x00\r\n\r\n"),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"message")),
                Reply::Bulk(Some(b"c")),
                Reply::Bulk(Some(b"\x00\r\n"))
            ]))
        );
    }

    #[test]
    fn consecutive_replies() {
        let input = b":1\r\n+OK\r\n$2\r\nab\r\n:";
        let mut at = 0;
        let mut seen = Vec::new();
        while let Some((reply, used)) = parse(&input[at..]).expect("valid") {
            seen.push(reply);
            at += used;
        }
        assert_eq!(
            seen,
            [Reply::Integer(1), Reply::Simple(b"OK"), Reply::Bulk(Some(b"ab"))]
        );
        assert_eq!(&input[at..], b":");
    }

    #[test]
    fn malformed_input() {
        for bad in [
            &b"?x\r\n"[..],
            b"\r\n",
            b":x\r\n",
            b":01\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
            b"*-2\r\n",
            b"$999999999999\r\n",
            b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn huge_claimed_array_reserves_by_input() {
        assert_eq!(parse(b"*1000000000\r\n:1\r\n"), Ok(None));
    }
}
