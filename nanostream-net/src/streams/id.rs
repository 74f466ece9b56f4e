//! Stream entry IDs (`<ms>-<seq>`): their order, and every form in which commands accept one,
//! parsed and checked exactly as redis-server 7.0 does.
//!
//! Which parser each command uses (as redis-server 7.0 behaves):
//!
//! | argument | parser |
//! | --- | --- |
//! | `XRANGE`, `XREVRANGE`, `XPENDING`: start and end | [`StreamId::parse_range`] (or the two halves) |
//! | `XAUTOCLAIM`: start | [`StreamId::parse_range_start`] |
//! | `XADD`: the ID | [`XaddId::parse`], then [`XaddId::resolve`] |
//! | `XREAD`, `XREADGROUP` (once `$` and `>` are handled), `XGROUP CREATE` (once `$` is), `XSETID`, `XDEL`, `XACK`, `XCLAIM`, `XTRIM` and `XADD`'s `MINID` | [`StreamId::parse_strict`] with a missing sequence of 0 |
//! | `XGROUP SETID` (once `$` is handled), where `-` and `+` are taken | [`StreamId::parse`] with a missing sequence of 0 |
//!
//! `XCLAIM` takes its first argument that is not an ID as the start of its options, so there
//! a refused ID is an unknown option rather than [`IdError::Invalid`].
//!
//! The numbers follow Redis's `string2ull`: an integer that `string2ll` reads is taken if it is
//! not negative; anything else goes to C's `strtoull`, which skips leading white space, takes a
//! `+` or a `-` sign (negating modulo 2⁶⁴) and leading zeros, and refuses overflow and trailing
//! bytes. So `+5`, ` 5` and `007` are IDs, `5 ` and `18446744073709551616` are not, `1--1` is
//! refused but `1--0` is `1-0` and `1- -5` is `1-18446744073709551611`. An argument longer
//! than 127 bytes is refused; a shorter one is read as a C string, up to its first NUL byte.

use std::fmt;

use thiserror::Error;

use crate::resp::number::string2ll;

/// A stream entry ID: milliseconds, then a sequence number within the millisecond.
///
/// IDs order by `ms`, then by `seq`, as Redis's `streamCompareID` does. `Display` writes the
/// form Redis replies with, `<ms>-<seq>`.
///
/// ```
/// use nanostream_net::streams::id::StreamId;
///
/// let id = StreamId::new(1526919030474, 55);
/// assert_eq!(id.to_string(), "1526919030474-55");
/// assert!(id < StreamId::new(1526919030475, 0));
/// assert_eq!(id.next(), Some(StreamId::new(1526919030474, 56)));
/// assert_eq!(StreamId::new(7, u64::MAX).next(), Some(StreamId::new(8, 0)));
/// assert_eq!(StreamId::MAX.next(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The milliseconds part, by convention Unix time in milliseconds.
    pub ms: u64,
    /// The sequence number among the entries of the same millisecond.
    pub seq: u64,
}

impl StreamId {
    /// The smallest ID, `0-0`: what `-` means in a range. No entry can have it.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };

    /// The largest ID, `18446744073709551615-18446744073709551615`: what `+` means in a range.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The ID `<ms>-<seq>`.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The ID right after this one: the next sequence number, or the next millisecond's
    /// sequence 0 after `<ms>-18446744073709551615`; `None` after [`MAX`](Self::MAX).
    pub const fn next(self) -> Option<Self> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The ID right before this one: the previous sequence number, or the previous
    /// millisecond's last sequence before `<ms>-0`; `None` before [`MIN`](Self::MIN).
    pub const fn prev(self) -> Option<Self> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// Parses an ID where `-` and `+` stand for [`MIN`](Self::MIN) and [`MAX`](Self::MAX):
    /// `<ms>-<seq>`, or `<ms>` alone with `missing_seq` as its sequence (Redis's
    /// `streamParseID`).
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId};
    ///
    /// assert_eq!(StreamId::parse(b"5", 0), Ok(StreamId::new(5, 0)));
    /// assert_eq!(StreamId::parse(b"5", u64::MAX), Ok(StreamId::new(5, u64::MAX)));
    /// assert_eq!(StreamId::parse(b"+", 0), Ok(StreamId::MAX));
    /// assert_eq!(StreamId::parse(b"1-2-3", 0), Err(IdError::Invalid));
    /// ```
    pub fn parse(arg: &[u8], missing_seq: u64) -> Result<Self, IdError> {
        match parse_generic(arg, missing_seq, false, false)? {
            Parsed::Id(id) => Ok(id),
            Parsed::Partial(_) => Err(IdError::Invalid),
        }
    }

    /// Parses an ID as [`parse`](Self::parse) does, but `-` and `+` are refused (Redis's
    /// `streamParseStrictID`): the form for an ID naming one entry.
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId};
    ///
    /// assert_eq!(StreamId::parse_strict(b"1526919030474-55", 0), Ok(StreamId::new(1526919030474, 55)));
    /// assert_eq!(StreamId::parse_strict(b"-", 0), Err(IdError::Invalid));
    /// assert_eq!(IdError::Invalid.to_string(), "ERR Invalid stream ID specified as stream command argument");
    /// ```
    pub fn parse_strict(arg: &[u8], missing_seq: u64) -> Result<Self, IdError> {
        match parse_generic(arg, missing_seq, true, false)? {
            Parsed::Id(id) => Ok(id),
            Parsed::Partial(_) => Err(IdError::Invalid),
        }
    }

    /// Parses the start of a range, as the first inclusive ID: `-`, an ID (`<ms>` alone
    /// meaning `<ms>-0`), or `(` and an ID other than `-`/`+` to exclude it.
    ///
    /// Excluding [`MAX`](Self::MAX) is [`IdError::InvalidStartInterval`].
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId};
    ///
    /// assert_eq!(StreamId::parse_range_start(b"-"), Ok(StreamId::MIN));
    /// assert_eq!(StreamId::parse_range_start(b"5"), Ok(StreamId::new(5, 0)));
    /// assert_eq!(StreamId::parse_range_start(b"(5"), Ok(StreamId::new(5, 1)));
    /// assert_eq!(StreamId::parse_range_start(b"(+"), Err(IdError::Invalid));
    /// ```
    pub fn parse_range_start(arg: &[u8]) -> Result<Self, IdError> {
        let (id, exclusive) = parse_interval(arg, 0)?;
        if exclusive {
            id.next().ok_or(IdError::InvalidStartInterval)
        } else {
            Ok(id)
        }
    }

    /// Parses the end of a range, as the last inclusive ID: `+`, an ID (`<ms>` alone meaning
    /// `<ms>-18446744073709551615`), or `(` and an ID other than `-`/`+` to exclude it.
    ///
    /// Excluding [`MIN`](Self::MIN) is [`IdError::InvalidEndInterval`].
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId};
    ///
    /// assert_eq!(StreamId::parse_range_end(b"+"), Ok(StreamId::MAX));
    /// assert_eq!(StreamId::parse_range_end(b"5"), Ok(StreamId::new(5, u64::MAX)));
    /// assert_eq!(StreamId::parse_range_end(b"(5-0"), Ok(StreamId::new(4, u64::MAX)));
    /// assert_eq!(StreamId::parse_range_end(b"(0-0"), Err(IdError::InvalidEndInterval));
    /// ```
    pub fn parse_range_end(arg: &[u8]) -> Result<Self, IdError> {
        let (id, exclusive) = parse_interval(arg, u64::MAX)?;
        if exclusive {
            id.prev().ok_or(IdError::InvalidEndInterval)
        } else {
            Ok(id)
        }
    }

    /// Parses a range's two bounds, the start first as Redis does (so its error wins when
    /// both are bad), and returns them as inclusive IDs. `XREVRANGE key end start` passes
    /// `start` and `end` in that order too. A start above the end is an empty range, not an
    /// error.
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId};
    ///
    /// assert_eq!(
    ///     StreamId::parse_range(b"(5-0", b"(5-2"),
    ///     Ok((StreamId::new(5, 1), StreamId::new(5, 1)))
    /// );
    /// let max = b"(18446744073709551615-18446744073709551615";
    /// assert_eq!(StreamId::parse_range(max, b"junk"), Err(IdError::InvalidStartInterval));
    /// ```
    pub fn parse_range(start: &[u8], end: &[u8]) -> Result<(Self, Self), IdError> {
        let start = Self::parse_range_start(start)?;
        let end = Self::parse_range_end(end)?;
        Ok((start, end))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// `XADD`'s ID argument: generated, partly given, or given.
///
/// [`parse`](Self::parse) reads the argument; [`resolve`](Self::resolve) decides the new
/// entry's ID from the stream's last ID (`0-0` for a new stream) and the clock.
///
/// ```
/// use nanostream_net::streams::id::{IdError, StreamId, XaddId};
///
/// let last = StreamId::new(1000, 4);
/// assert_eq!(XaddId::parse(b"*")?.resolve(last, 2000), Ok(StreamId::new(2000, 0)));
/// assert_eq!(XaddId::parse(b"*")?.resolve(last, 999), Ok(StreamId::new(1000, 5)));
/// assert_eq!(XaddId::parse(b"1000-*")?.resolve(last, 0), Ok(StreamId::new(1000, 5)));
/// assert_eq!(XaddId::parse(b"1000-4")?.resolve(last, 0), Err(IdError::NotGreater));
/// # Ok::<(), IdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XaddId {
    /// `*`: the clock's millisecond, or the last ID's successor if the clock is not ahead.
    Auto,
    /// `<ms>-*`: this millisecond, with the next free sequence number.
    Partial {
        /// The milliseconds part given.
        ms: u64,
    },
    /// `<ms>-<seq>`, or `<ms>` meaning `<ms>-0`.
    Explicit(StreamId),
}

impl XaddId {
    /// Parses `XADD`'s ID argument: `*`, `<ms>-*`, `<ms>-<seq>` or `<ms>`; `-` and `+` are
    /// refused. `*` is compared as a C string and before any length check, as Redis does.
    pub fn parse(arg: &[u8]) -> Result<Self, IdError> {
        if c_str(arg) == b"*" {
            return Ok(XaddId::Auto);
        }
        Ok(match parse_generic(arg, 0, true, true)? {
            Parsed::Id(id) => XaddId::Explicit(id),
            Parsed::Partial(ms) => XaddId::Partial { ms },
        })
    }

    /// Refuses an explicit `0-0` with [`IdError::Zero`]. Redis checks this after the
    /// command's arity and before looking the key up, so before a wrong-type error;
    /// [`resolve`](Self::resolve) checks it too.
    pub fn check_not_zero(&self) -> Result<(), IdError> {
        match self {
            XaddId::Explicit(id) if *id == StreamId::MIN => Err(IdError::Zero),
            _ => Ok(()),
        }
    }

    /// The new entry's ID, given the stream's last ID (`0-0` for a new stream; it stays the
    /// last ID ever added when entries are deleted) and the current Unix time in ms:
    ///
    /// - an explicit `0-0` is [`IdError::Zero`];
    /// - if `last` is [`StreamId::MAX`], [`IdError::Exhausted`];
    /// - `*` gives `now_ms-0` if `now_ms > last.ms`, else the ID after `last`;
    /// - `<ms>-*` gives `last.seq + 1` if `ms == last.ms` ([`IdError::SequenceOverflow`] if
    ///   that overflows), else `<ms>-0`;
    /// - an ID that is not greater than `last` is [`IdError::NotGreater`].
    ///
    /// ```
    /// use nanostream_net::streams::id::{IdError, StreamId, XaddId};
    ///
    /// // 0-0 is not allowed, so `0-*` on a new stream takes sequence 1.
    /// assert_eq!(XaddId::parse(b"0-*")?.resolve(StreamId::MIN, 0), Ok(StreamId::new(0, 1)));
    /// assert_eq!(XaddId::parse(b"0")?.resolve(StreamId::MIN, 0), Err(IdError::Zero));
    /// assert_eq!(XaddId::Auto.resolve(StreamId::MAX, 0), Err(IdError::Exhausted));
    /// # Ok::<(), IdError>(())
    /// ```
    pub fn resolve(self, last: StreamId, now_ms: u64) -> Result<StreamId, IdError> {
        self.check_not_zero()?;
        if last == StreamId::MAX {
            return Err(IdError::Exhausted);
        }
        let id = match self {
            XaddId::Auto if now_ms > last.ms => StreamId::new(now_ms, 0),
            // `last` is not MAX, so it has a successor.
            XaddId::Auto => last.next().ok_or(IdError::Exhausted)?,
            XaddId::Partial { ms } if ms == last.ms => {
                let seq = last.seq.checked_add(1).ok_or(IdError::SequenceOverflow)?;
                StreamId::new(ms, seq)
            }
            XaddId::Partial { ms } => StreamId::new(ms, 0),
            XaddId::Explicit(id) => id,
        };
        if id <= last {
            return Err(IdError::NotGreater);
        }
        Ok(id)
    }
}

/// Why a stream ID argument was refused. `Display` is the text after the `-` of
/// redis-server 7.0's reply, so `-{error}\r\n` is what a command sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum IdError {
    /// Not an ID in the form this argument allows.
    #[error("ERR Invalid stream ID specified as stream command argument")]
    Invalid,
    /// A range's start excludes [`StreamId::MAX`], so nothing can follow it.
    #[error("ERR invalid start ID for the interval")]
    InvalidStartInterval,
    /// A range's end excludes [`StreamId::MIN`], so nothing can precede it.
    #[error("ERR invalid end ID for the interval")]
    InvalidEndInterval,
    /// `XADD` with the explicit ID `0-0`.
    #[error("ERR The ID specified in XADD must be greater than 0-0")]
    Zero,
    /// `XADD` with an ID, explicit or `<ms>-*`, not greater than the stream's last ID.
    #[error("ERR The ID specified in XADD is equal or smaller than the target stream top item")]
    NotGreater,
    /// `XADD` to a stream whose last ID is [`StreamId::MAX`].
    #[error("ERR The stream has exhausted the last possible ID, unable to add more items")]
    Exhausted,
    /// `XADD <ms>-*` where the stream's last ID is `<ms>-18446744073709551615`: no sequence
    /// number is left in that millisecond. redis-server 7.0 replies with this text, its
    /// generic `XADD` failure.
    #[error("ERR Elements are too large to be stored")]
    SequenceOverflow,
}

impl IdError {
    /// Appends the reply, `-<message>\r\n`.
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        crate::resp::encode::error(out, &self.to_string());
    }
}

/// The longest argument Redis copies into its 128-byte parse buffer (one byte for the NUL).
const MAX_ID_LEN: usize = 127;

/// What `streamGenericParseIDOrReply` produced.
enum Parsed {
    Id(StreamId),
    /// `<ms>-*`, only when partial IDs are allowed.
    Partial(u64),
}

/// Redis's `streamGenericParseIDOrReply`: `strict` refuses `-` and `+`; `partial` accepts
/// `<ms>-*` (XADD's `seq_given`).
fn parse_generic(arg: &[u8], missing_seq: u64, strict: bool, partial: bool) -> Result<Parsed, IdError> {
    if arg.len() > MAX_ID_LEN {
        return Err(IdError::Invalid);
    }
    // Redis copies the argument and works on it as a C string.
    let s = c_str(arg);
    match s {
        b"-" | b"+" if strict => return Err(IdError::Invalid),
        b"-" => return Ok(Parsed::Id(StreamId::MIN)),
        b"+" => return Ok(Parsed::Id(StreamId::MAX)),
        _ => {}
    }
    let (ms, seq) = match s.iter().position(|&c| c == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms).ok_or(IdError::Invalid)?;
    let seq = match seq {
        Some(b"*") if partial => return Ok(Parsed::Partial(ms)),
        Some(seq) => string2ull(seq).ok_or(IdError::Invalid)?,
        None => missing_seq,
    };
    Ok(Parsed::Id(StreamId::new(ms, seq)))
}

/// Redis's `streamParseIntervalIDOrReply`: a leading `(` on an argument longer than one byte
/// marks the bound exclusive, and the rest is parsed strictly.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), IdError> {
    let (rest, exclusive) = match arg {
        [b'(', rest @ ..] if !rest.is_empty() => (rest, true),
        _ => (arg, false),
    };
    match parse_generic(rest, missing_seq, exclusive, false)? {
        Parsed::Id(id) => Ok((id, exclusive)),
        Parsed::Partial(_) => Err(IdError::Invalid),
    }
}

/// A C string's bytes: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

/// Redis's `string2ull` (`util.c`): `string2ll` if it reads the text (refusing a negative
/// result), else `strtoull` in base 10, which must consume every byte.
fn string2ull(s: &[u8]) -> Option<u64> {
    match string2ll(s) {
        Some(v) => u64::try_from(v).ok(),
        None => strtoull(s),
    }
}

/// glibc's `strtoull(s, &end, 10)` in the C locale, accepted only if it converted something,
/// did not overflow, and `end` is the end of `s`.
fn strtoull(s: &[u8]) -> Option<u64> {
    // isspace() in the C locale: space, \t, \n, \v, \f, \r.
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let (negative, digits) = match &s[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    // strtoull negates in unsigned arithmetic: "-1" is 2^64 - 1.
    Some(if negative { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::{string2ull, strtoull};

    #[test]
    fn strtoull_as_glibc() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"+7", Some(7)),
            (b"-7", Some(7u64.wrapping_neg())),
            (b"-0", Some(0)),
            (b" \t\n\x0b\x0c\r7", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"-18446744073709551615", Some(1)),
            (b"18446744073709551616", None),
            (b"-18446744073709551616", None),
            (b"", None),
            (b" ", None),
            (b"+", None),
            (b"-", None),
            (b"+-1", None),
            (b"- 1", None),
            (b"7 ", None),
            (b"0x7", None),
        ];
        for (input, want) in cases {
            assert_eq!(strtoull(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn string2ull_refuses_what_string2ll_reads_as_negative() {
        assert_eq!(string2ull(b"-1"), None);
        assert_eq!(string2ull(b"-9223372036854775808"), None);
        // Below i64::MIN string2ll fails, and strtoull negates modulo 2^64.
        assert_eq!(string2ull(b"-9223372036854775809"), Some(i64::MAX as u64));
        assert_eq!(string2ull(b"-0"), Some(0));
        assert_eq!(string2ull(b" -5"), Some(5u64.wrapping_neg()));
    }
}
