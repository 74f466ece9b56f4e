//! Stream IDs against redis-server itself: every argument form, where each is allowed, the
//! errors and their order, and `XADD`'s ID generation, each outcome the one redis-server 7.0.15
//! (x86-64) replied; then ordering, `next`/`prev` and generation edges, and properties.
//!
//! The tables at the end of this file were captured by running redis-server
//! (`redis-server --port 7391 --save '' --appendonly no`) and this program, which prints them
//! (it uses database 9 and flushes it):
//!
//! - `SYNTAX`: each input as `XADD s <input> f v` on a new stream (`Now` when the reply's
//!   millisecond was the clock's), and as `XRANGE r <input> +` and `XRANGE r - <input>` on a
//!   stream `r` holding the IDs of `STREAM`, the reply written as the run of `STREAM` it
//!   returned (`Span(from, to)`, half open).
//! - `RESOLVE`: `XADD s <input> f v` after the setup shown, with the stream's last ID as
//!   `XINFO STREAM` gave it.
//! - `RANGES`: which error wins when both bounds are bad, and exclusive bounds, on a stream
//!   holding `5-1`, delivered to a consumer so that `XPENDING` and `XAUTOCLAIM` see it.
//! - `WHERE`: whether each command took `-`, `+`, `5`, `5-*`, `(5` and `*` as an ID.
//!
//! Captured from: Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0
//!
//! ```python
//! import socket, time
//! sock = socket.create_connection(("127.0.0.1", 7391))
//! f = sock.makefile("rb")
//! def read():
//!     line = f.readline()
//!     t, rest = line[:1], line[1:-2]
//!     if t == b"*":
//!         return None if int(rest) < 0 else [read() for _ in range(int(rest))]
//!     if t == b"$":
//!         n = int(rest)
//!         return None if n < 0 else f.read(n + 2)[:-2]
//!     if t == b":":
//!         return int(rest)
//!     return line[:-2]  # +OK or -ERR ..., the first byte kept
//! def call(*args):
//!     args = [a.encode("latin1") if isinstance(a, str) else a for a in args]
//!     out = b"*%d\r\n" % len(args)
//!     for a in args:
//!         out += b"$%d\r\n%s\r\n" % (len(a), a)
//!     sock.sendall(out)
//!     return read()
//! def lit(b):
//!     s = "".join(chr(c) if 32 <= c < 127 and c not in b'"\\' else
//!                 {0: "\\x00", 9: "\\t", 10: "\\n", 13: "\\r", 34: '\\"', 92: "\\\\"}.get(c, "\\x%02x" % c) for c in b)
//!     return 'b"%s"' % s
//! def err(r):
//!     return isinstance(r, bytes) and r.startswith(b"-")
//! M, M1 = b"18446744073709551615", b"18446744073709551614"
//! F, F1 = b"99999999999999", b"100000000000000"
//! STREAM = [b"0-1", b"0-2", b"1-0", b"1-1", b"5-0", b"5-1", b"5-2", b"5-" + M, b"6-0", b"7-0",
//!           b"9223372036854775807-0", b"9223372036854775808-0", M + b"-0", M + b"-" + M1, M + b"-" + M]
//! INPUTS = [
//!     b"0", b"0-0", b"0-1", b"1", b"1-0", b"1-1", b"5", b"5-1", b"5-0", M, M + b"-" + M, M + b"-0",
//!     M1 + b"-" + M, b"0-" + M, b"9223372036854775808", b"5-9223372036854775808",
//!     b"-", b"+", b"$", b">", b"*", b"*-5", b"5-*", b"0-*", b"5-**", b"-*", M + b"-*",
//!     b"007", b"5-007", b"0000", b"+5", b"5-+1", b"+0-+0", b" 5", b"\t5", b"\n5", b"\x0b5", b"\x0c5",
//!     b"\r5", b"5- 1", b"5-\t1", b"5 ", b"5-1 ", b"5\n", b" ", b"", b"-1", b"-0", b"1-", b"1-2-3",
//!     b"1--1", b"1--0", b"0--0", b"1--" + M, b"1- -5", b"1--9223372036854775808",
//!     b"1--9223372036854775809", b"18446744073709551616", b"5-18446744073709551616",
//!     b"99999999999999999999", b"abc", b"5-abc", b"0x10", b"1.5", b"1e3", b"5-1.0", b"\xff5",
//!     b"(5", b"(", b"(-", b"(+", b"(5-1", b"(0", b"(0-0", b"(0-1", b"(" + M, b"(" + M + b"-" + M,
//!     b"(" + M + b"-0", b"(0-*", b"((5", b"( 5", b"(+5", b"5\x00abc", b"5-1\x001", b"-\x00x",
//!     b"+\x00x", b"*\x00x", b"*\x00" + b"x" * 200, b"5-*\x00x", b"\x005", b"(5\x00x", b"(\x00",
//!     b"0" * 126 + b"5", b"0" * 127 + b"5", b"(" + b"0" * 126 + b"5", b"(" + b"0" * 127 + b"5",
//! ]
//! def xadd(key, arg):
//!     t0 = int(time.time() * 1000)
//!     r = call("XADD", key, arg, "f", "v")
//!     t1 = int(time.time() * 1000)
//!     if err(r):
//!         return "Refused(%s)" % lit(r[1:])
//!     ms, seq = r.split(b"-")
//!     if seq == b"0" and t0 <= int(ms) <= t1:
//!         return "Now"  # the clock's millisecond
//!     return "Id(%s)" % lit(r)
//! def span(r):
//!     # A reply's IDs are a contiguous run of STREAM: written as its index range.
//!     if err(r):
//!         return "Refused(%s)" % lit(r[1:])
//!     got = [e[0] for e in r]
//!     lo = STREAM.index(got[0]) if got else 0
//!     assert got == STREAM[lo:lo + len(got)]
//!     return "Span(%d, %d)" % (lo, lo + len(got))
//! call("SELECT", "9"); call("FLUSHDB")
//! for i in STREAM:
//!     call("XADD", "r", i, "f", "v")
//! print("const SYNTAX: &[(&[u8], Outcome, Outcome, Outcome)] = &[")
//! for a in INPUTS:
//!     call("DEL", "s")
//!     print("    (%s, %s, %s, %s)," % (lit(a), xadd("s", a), span(call("XRANGE", "r", a, "+")), span(call("XRANGE", "r", "-", a))))
//! print("];")
//! LAST = [
//!     (None, [b"*", b"0-*", b"5-*", b"0", b"0-0", b"0-1", M + b"-*", M + b"-" + M]),
//!     (b"5-5", [b"*", b"5-*", b"4-*", b"6-*", b"0-*", b"5-5", b"5-6", b"5", b"6", b"4-9", b"0-0", b"0"]),
//!     (b"del 5-5", [b"5-*", b"5-5", b"3-1", b"5-6"]),
//!     (F + b"-5", [b"*", F + b"-*"]),
//!     (F + b"-" + M, [b"*", F + b"-*", F1 + b"-*", F + b"-" + M, F1]),
//!     (M + b"-0", [b"*", M + b"-*"]),
//!     (M + b"-" + M1, [b"*", M + b"-*", M + b"-" + M]),
//!     (M + b"-" + M, [b"*", M + b"-*", b"0-*", b"1-1", M + b"-" + M, b"0-0", b"0", b"-", b"abc"]),
//! ]
//! print("const RESOLVE: &[(&str, &[u8], &[u8], Outcome)] = &[")
//! for setup, args in LAST:
//!     for a in args:
//!         call("DEL", "s")
//!         if setup is not None:
//!             last = setup.split()[-1]
//!             call("XADD", "s", last, "f", "v")
//!             if setup.startswith(b"del"):
//!                 call("XDEL", "s", last)  # the stream is empty; its last ID stays
//!         info = call("XINFO", "STREAM", "s")
//!         last = b"0-0" if err(info) else info[info.index(b"last-generated-id") + 1]
//!         how = "new" if setup is None else ("XADD s %s, XDEL s %s" % (last.decode(), last.decode()) if setup.startswith(b"del") else "XADD s " + last.decode())
//!         print('    ("%s", %s, %s, %s),' % (how, lit(last), lit(a), xadd("s", a)))
//! print("];")
//! call("DEL", "o"); call("XADD", "o", "5-1", "f", "v"); call("XGROUP", "CREATE", "o", "g", "0")
//! call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "o", ">")
//! MAXEX = b"(" + M + b"-" + M
//! RANGES = [
//!     ("XRANGE", MAXEX, b"junk"), ("XRANGE", b"junk", b"(0-0"), ("XRANGE", MAXEX, b"(0-0"),
//!     ("XRANGE", b"(0-0", b"(0-0"), ("XRANGE", b"(5-0", b"(5-2"), ("XRANGE", b"(5-1", b"+"), ("XRANGE", b"5-2", b"5-1"),
//!     ("XREVRANGE", b"junk", MAXEX), ("XREVRANGE", b"(0-0", b"junk"), ("XREVRANGE", b"(0-0", MAXEX),
//!     ("XREVRANGE", b"(0-0", b"-"), ("XREVRANGE", b"+", b"(5-1"), ("XREVRANGE", b"(5-2", b"-"),
//!     ("XPENDING", MAXEX, b"+"), ("XPENDING", b"-", b"(0-0"), ("XPENDING", b"(5-0", b"(5-2"), ("XPENDING", b"(5-1", b"+"),
//!     ("XAUTOCLAIM", MAXEX, None), ("XAUTOCLAIM", b"(5-0", None), ("XAUTOCLAIM", b"(5-1", None), ("XAUTOCLAIM", b"(", None),
//! ]
//! print("const RANGES: &[RangeRow] = &[")
//! for cmd, a, b in RANGES:
//!     if cmd == "XPENDING":
//!         r = call(cmd, "o", "g", a, b, "10"); ids = r if err(r) else [e[0] for e in r]
//!     elif cmd == "XAUTOCLAIM":
//!         r = call(cmd, "o", "g", "c", "0", a); ids = r if err(r) else [e[0] for e in r[1]]
//!     else:
//!         r = call(cmd, "o", a, b); ids = r if err(r) else [e[0] for e in r]
//!     out = "Err(%s)" % lit(ids[1:]) if err(ids) else "Ok(&[%s])" % ", ".join(lit(i) for i in ids)
//!     print('    ("%s", %s, %s, %s),' % (cmd, lit(a), lit(b or b""), out))
//! print("];")
//! def where(cmd, a):
//!     call("DEL", "w"); call("XADD", "w", "5-1", "f", "v"); call("XGROUP", "CREATE", "w", "g", "0")
//!     return {
//!         "XADD": lambda: call("XADD", "w", a, "f", "v"),
//!         "XREAD": lambda: call("XREAD", "STREAMS", "w", a),
//!         "XREADGROUP": lambda: call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "w", a),
//!         "XGROUP CREATE": lambda: call("XGROUP", "CREATE", "w", "g2", a),
//!         "XGROUP SETID": lambda: call("XGROUP", "SETID", "w", "g", a),
//!         "XSETID": lambda: call("XSETID", "w", a),
//!         "XDEL": lambda: call("XDEL", "w", a),
//!         "XACK": lambda: call("XACK", "w", "g", a),
//!         "XCLAIM": lambda: call("XCLAIM", "w", "g", "c", "0", a),
//!         "XTRIM MINID": lambda: call("XTRIM", "w", "MINID", a),
//!         "XAUTOCLAIM": lambda: call("XAUTOCLAIM", "w", "g", "c", "0", a),
//!         "XPENDING start": lambda: call("XPENDING", "w", "g", a, "+", "10"),
//!         "XPENDING end": lambda: call("XPENDING", "w", "g", "-", a, "10"),
//!         "XRANGE start": lambda: call("XRANGE", "w", a, "+"),
//!         "XRANGE end": lambda: call("XRANGE", "w", "-", a),
//!     }[cmd]()
//! print("const WHERE: &[(&str, &[u8], bool)] = &[")
//! for cmd in ["XADD", "XREAD", "XREADGROUP", "XGROUP CREATE", "XGROUP SETID", "XSETID", "XDEL", "XACK", "XCLAIM",
//!             "XTRIM MINID", "XAUTOCLAIM", "XPENDING start", "XPENDING end", "XRANGE start", "XRANGE end"]:
//!     for a in [b"-", b"+", b"5", b"5-*", b"(5", b"*"]:
//!         r = where(cmd, a)
//!         # XCLAIM takes an argument that is not an ID as the start of its options.
//!         refused = err(r) and (b"Invalid stream ID" in r or b"Unrecognized XCLAIM option" in r)
//!         print('    ("%s", %s, %s),' % (cmd, lit(a), "false" if refused else "true"))
//! print("];")
//! print("// " + call("INFO", "server").split(b"\r\n")[1].decode())
//! ```

use nanostream_net::streams::{IdError, StreamId, XaddId};
use proptest::prelude::*;

/// What redis-server replied.
#[derive(Clone, Copy)]
enum Outcome {
    /// The new entry's ID.
    Id(&'static [u8]),
    /// The clock's millisecond, sequence 0.
    Now,
    /// `STREAM[from..to]`.
    Span(usize, usize),
    /// This error, without the leading `-`.
    Refused(&'static [u8]),
}
use Outcome::*;

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id(i) => write!(f, "Id({})", show(i)),
            Now => write!(f, "Now"),
            Span(from, to) => write!(f, "Span({from}, {to})"),
            Refused(e) => write!(f, "Refused({})", show(e)),
        }
    }
}

/// The clock given to `resolve` where redis-server used its own: after every last ID the
/// `Now` rows have, before `99999999999999`.
const NOW: u64 = 1_764_000_000_000;

fn id(s: &[u8]) -> StreamId {
    StreamId::parse_strict(s, 0).expect("a table's ID")
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Whether our result is what redis-server replied, for an ID-producing outcome.
fn same_id(ours: Result<StreamId, IdError>, redis: Outcome) -> bool {
    match (ours, redis) {
        (Ok(ours), Id(want)) => ours.to_string().as_bytes() == want,
        (Ok(ours), Now) => ours == StreamId::new(NOW, 0),
        (Err(e), Refused(want)) => e.to_string().as_bytes() == want,
        _ => false,
    }
}

/// Whether the inclusive range we parsed selects what redis-server returned from `STREAM`.
fn same_span(ours: Result<(StreamId, StreamId), IdError>, redis: Outcome) -> bool {
    match (ours, redis) {
        (Ok((start, end)), Span(from, to)) => {
            let selected: Vec<usize> = (0..STREAM.len())
                .filter(|&i| (start..=end).contains(&id(STREAM[i])))
                .collect();
            if selected.is_empty() {
                from == to
            } else {
                selected == (from..to).collect::<Vec<_>>()
            }
        }
        (Err(e), Refused(want)) => e.to_string().as_bytes() == want,
        _ => false,
    }
}

#[test]
fn every_form_parses_as_redis_parsed_it() {
    let mut wrong = Vec::new();
    for &(input, xadd, as_start, as_end) in SYNTAX {
        let ours = XaddId::parse(input).and_then(|x| x.resolve(StreamId::MIN, NOW));
        if !same_id(ours, xadd) {
            wrong.push(format!("XADD s {}: ours {ours:?}, redis {xadd:?}", show(input)));
        }
        let ours = StreamId::parse_range(input, b"+");
        if !same_span(ours, as_start) {
            wrong.push(format!(
                "XRANGE r {} +: ours {ours:?}, redis {as_start:?}",
                show(input)
            ));
        }
        let ours = StreamId::parse_range(b"-", input);
        if !same_span(ours, as_end) {
            wrong.push(format!(
                "XRANGE r - {}: ours {ours:?}, redis {as_end:?}",
                show(input)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn xadd_ids_are_generated_and_checked_as_redis_did() {
    let mut wrong = Vec::new();
    for &(setup, last, input, redis) in RESOLVE {
        let ours = XaddId::parse(input).and_then(|x| x.resolve(id(last), NOW));
        if !same_id(ours, redis) {
            wrong.push(format!(
                "{setup}; XADD s {}: ours {ours:?}, redis {redis:?}",
                show(input)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn range_bounds_fail_in_redis_order() {
    let only = id(b"5-1");
    for &(command, a, b, redis) in RANGES {
        let ours = match command {
            "XRANGE" | "XPENDING" => StreamId::parse_range(a, b),
            // XREVRANGE key end start: the start is still parsed first.
            "XREVRANGE" => StreamId::parse_range(b, a),
            "XAUTOCLAIM" => StreamId::parse_range_start(a).map(|start| (start, StreamId::MAX)),
            other => unreachable!("{other}"),
        };
        let ours = ours.map(|(start, end)| (start..=end).contains(&only));
        let want = redis.map(|ids| !ids.is_empty()).map_err(|e| e.to_vec());
        let ours = ours.map_err(|e| e.to_string().into_bytes());
        assert_eq!(ours, want, "{command} {} {}", show(a), show(b));
    }
}

#[test]
fn each_command_takes_the_forms_redis_took() {
    for &(command, input, redis) in WHERE {
        let ours = match command {
            "XADD" => XaddId::parse(input).is_ok(),
            "XREAD" | "XREADGROUP" | "XGROUP CREATE" | "XSETID" | "XDEL" | "XACK" | "XCLAIM"
            | "XTRIM MINID" => StreamId::parse_strict(input, 0).is_ok(),
            "XGROUP SETID" => StreamId::parse(input, 0).is_ok(),
            "XAUTOCLAIM" | "XPENDING start" | "XRANGE start" => StreamId::parse_range_start(input).is_ok(),
            "XPENDING end" | "XRANGE end" => StreamId::parse_range_end(input).is_ok(),
            other => unreachable!("{other}"),
        };
        assert_eq!(ours, redis, "{command} with {}", show(input));
    }
}

#[test]
fn the_capture_covers_every_reply() {
    let replies: Vec<&[u8]> = SYNTAX
        .iter()
        .flat_map(|&(_, a, b, c)| [a, b, c])
        .chain(RESOLVE.iter().map(|&(_, _, _, o)| o))
        .filter_map(|o| match o {
            Refused(e) => Some(e),
            _ => None,
        })
        .chain(RANGES.iter().filter_map(|&(_, _, _, r)| r.err()))
        .collect();
    for e in [
        IdError::Invalid,
        IdError::InvalidStartInterval,
        IdError::InvalidEndInterval,
        IdError::Zero,
        IdError::NotGreater,
        IdError::Exhausted,
        IdError::SequenceOverflow,
    ] {
        assert!(
            replies.contains(&e.to_string().as_bytes()),
            "{e:?} never captured"
        );
    }
}

#[test]
fn errors_are_redis_replies() {
    let mut out = Vec::new();
    IdError::Invalid.write_reply(&mut out);
    assert_eq!(
        out,
        b"-ERR Invalid stream ID specified as stream command argument\r\n"
    );
    let texts = [
        (
            IdError::InvalidStartInterval,
            "ERR invalid start ID for the interval",
        ),
        (IdError::InvalidEndInterval, "ERR invalid end ID for the interval"),
        (
            IdError::Zero,
            "ERR The ID specified in XADD must be greater than 0-0",
        ),
        (
            IdError::NotGreater,
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ),
        (
            IdError::Exhausted,
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ),
        (
            IdError::SequenceOverflow,
            "ERR Elements are too large to be stored",
        ),
    ];
    for (e, text) in texts {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn order_next_and_prev_at_the_edges() {
    let m = u64::MAX;
    let ascending = [
        StreamId::MIN,
        StreamId::new(0, 1),
        StreamId::new(0, m),
        StreamId::new(1, 0),
        StreamId::new(1, m),
        StreamId::new(m, 0),
        StreamId::new(m, m - 1),
        StreamId::MAX,
    ];
    for pair in ascending.windows(2) {
        assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
    }
    assert_eq!(StreamId::default(), StreamId::MIN);
    assert_eq!(
        StreamId::MAX.to_string(),
        "18446744073709551615-18446744073709551615"
    );
    assert_eq!(StreamId::MIN.to_string(), "0-0");

    assert_eq!(StreamId::new(0, m).next(), Some(StreamId::new(1, 0)));
    assert_eq!(StreamId::new(m, m - 1).next(), Some(StreamId::MAX));
    assert_eq!(StreamId::MAX.next(), None);
    assert_eq!(StreamId::new(1, 0).prev(), Some(StreamId::new(0, m)));
    assert_eq!(StreamId::new(0, 1).prev(), Some(StreamId::MIN));
    assert_eq!(StreamId::MIN.prev(), None);
    for pair in [
        (StreamId::new(0, m), StreamId::new(1, 0)),
        (StreamId::new(m, m - 1), StreamId::MAX),
    ] {
        assert_eq!(pair.0.next(), Some(pair.1));
        assert_eq!(pair.1.prev(), Some(pair.0));
    }
}

#[test]
fn auto_ids_never_go_back_in_time() {
    let m = u64::MAX;
    let auto = |last: StreamId, now| XaddId::Auto.resolve(last, now);
    // The clock ahead: its millisecond, sequence 0.
    assert_eq!(auto(StreamId::new(100, 7), 101), Ok(StreamId::new(101, 0)));
    assert_eq!(auto(StreamId::MIN, 1), Ok(StreamId::new(1, 0)));
    // The same millisecond, or the clock behind: the last ID's successor.
    assert_eq!(auto(StreamId::new(100, 7), 100), Ok(StreamId::new(100, 8)));
    assert_eq!(auto(StreamId::new(100, 7), 3), Ok(StreamId::new(100, 8)));
    // A clock at 0 on a new stream: 0-0 is taken as used, so 0-1.
    assert_eq!(auto(StreamId::MIN, 0), Ok(StreamId::new(0, 1)));
    // The sequence full: the next millisecond, even ahead of the clock.
    assert_eq!(auto(StreamId::new(100, m), 100), Ok(StreamId::new(101, 0)));
    assert_eq!(auto(StreamId::new(100, m), 50), Ok(StreamId::new(101, 0)));
    assert_eq!(auto(StreamId::new(m, m - 1), 0), Ok(StreamId::MAX));
    assert_eq!(auto(StreamId::MAX, m), Err(IdError::Exhausted));
}

#[test]
fn partial_and_explicit_ids_at_the_edges() {
    let m = u64::MAX;
    let partial = |ms, last| XaddId::Partial { ms }.resolve(last, NOW);
    let explicit = |i, last| XaddId::Explicit(i).resolve(last, NOW);
    assert_eq!(partial(7, StreamId::new(7, 3)), Ok(StreamId::new(7, 4)));
    assert_eq!(partial(8, StreamId::new(7, 3)), Ok(StreamId::new(8, 0)));
    assert_eq!(partial(6, StreamId::new(7, 3)), Err(IdError::NotGreater));
    assert_eq!(partial(7, StreamId::new(7, m)), Err(IdError::SequenceOverflow));
    assert_eq!(partial(m, StreamId::new(m, m - 1)), Ok(StreamId::MAX));
    assert_eq!(partial(m, StreamId::MAX), Err(IdError::Exhausted));
    assert_eq!(partial(0, StreamId::MIN), Ok(StreamId::new(0, 1)));

    assert_eq!(
        explicit(StreamId::new(7, 4), StreamId::new(7, 3)),
        Ok(StreamId::new(7, 4))
    );
    assert_eq!(
        explicit(StreamId::new(7, 3), StreamId::new(7, 3)),
        Err(IdError::NotGreater)
    );
    assert_eq!(explicit(StreamId::MAX, StreamId::MIN), Ok(StreamId::MAX));
    // 0-0 is refused before the stream is looked at, even a full one.
    assert_eq!(explicit(StreamId::MIN, StreamId::MAX), Err(IdError::Zero));
    assert_eq!(
        XaddId::Explicit(StreamId::MIN).check_not_zero(),
        Err(IdError::Zero)
    );
    assert_eq!(XaddId::Partial { ms: 0 }.check_not_zero(), Ok(()));
    assert_eq!(XaddId::Auto.check_not_zero(), Ok(()));
}

#[test]
fn xadd_forms() {
    assert_eq!(XaddId::parse(b"*"), Ok(XaddId::Auto));
    assert_eq!(XaddId::parse(b"12-*"), Ok(XaddId::Partial { ms: 12 }));
    assert_eq!(XaddId::parse(b"12"), Ok(XaddId::Explicit(StreamId::new(12, 0))));
    assert_eq!(XaddId::parse(b"12-3"), Ok(XaddId::Explicit(StreamId::new(12, 3))));
    for bad in [&b"-"[..], b"+", b"**", b"*-*", b"12-*-3", b"(12"] {
        assert_eq!(XaddId::parse(bad), Err(IdError::Invalid), "{}", show(bad));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn display_parses_back(ms in any::<u64>(), seq in any::<u64>()) {
        let i = StreamId::new(ms, seq);
        let text = i.to_string();
        prop_assert_eq!(text.clone(), format!("{ms}-{seq}"));
        let text = text.as_bytes();
        prop_assert_eq!(StreamId::parse_strict(text, 0), Ok(i));
        prop_assert_eq!(StreamId::parse(text, 0), Ok(i));
        prop_assert_eq!(StreamId::parse_range(text, text), Ok((i, i)));
        prop_assert_eq!(XaddId::parse(text), Ok(XaddId::Explicit(i)));
        // The milliseconds alone take the missing sequence.
        let ms_only = ms.to_string();
        prop_assert_eq!(StreamId::parse_range_start(ms_only.as_bytes()), Ok(StreamId::new(ms, 0)));
        prop_assert_eq!(StreamId::parse_range_end(ms_only.as_bytes()), Ok(StreamId::new(ms, u64::MAX)));
    }

    #[test]
    fn order_is_the_tuple_order(a in (any::<u64>(), any::<u64>()), b in (any::<u64>(), any::<u64>())) {
        let (x, y) = (StreamId::new(a.0, a.1), StreamId::new(b.0, b.1));
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        // Narrow values too, so that equal milliseconds come up.
        let (x, y) = (StreamId::new(a.0 % 3, a.1 % 3), StreamId::new(b.0 % 3, b.1 % 3));
        prop_assert_eq!(x.cmp(&y), (a.0 % 3, a.1 % 3).cmp(&(b.0 % 3, b.1 % 3)));
    }

    #[test]
    fn next_and_prev_are_neighbours(ms in any::<u64>(), seq in prop_oneof![Just(0), Just(u64::MAX), any::<u64>()]) {
        let i = StreamId::new(ms, seq);
        if let Some(n) = i.next() {
            prop_assert!(i < n);
            prop_assert_eq!(n.prev(), Some(i));
            // Exclusive bounds are the neighbours.
            let ex = format!("({i}");
            prop_assert_eq!(StreamId::parse_range_start(ex.as_bytes()), Ok(n));
        } else {
            prop_assert_eq!(i, StreamId::MAX);
        }
        if let Some(p) = i.prev() {
            prop_assert!(p < i);
            prop_assert_eq!(p.next(), Some(i));
        } else {
            prop_assert_eq!(i, StreamId::MIN);
        }
    }

    #[test]
    fn any_bytes_are_an_answer_not_a_panic(input in proptest::collection::vec(
        prop_oneof![Just(b'-'), Just(b'+'), Just(b'('), Just(b'*'), Just(b' '), Just(0u8), b'0'..=b'9', any::<u8>()],
        0..40,
    )) {
        let _ = StreamId::parse(&input, 0);
        let _ = StreamId::parse_strict(&input, 0);
        let _ = StreamId::parse_range(&input, &input);
        if let Ok(x) = XaddId::parse(&input) {
            let _ = x.resolve(StreamId::new(5, 5), NOW);
        }
    }
}

/// The IDs of the stream `r` the `SYNTAX` ranges ran on, in order.
#[rustfmt::skip]
const STREAM: &[&[u8]] = &[
    b"0-1", b"0-2", b"1-0", b"1-1", b"5-0", b"5-1", b"5-2", b"5-18446744073709551615", b"6-0", b"7-0",
    b"9223372036854775807-0", b"9223372036854775808-0", b"18446744073709551615-0",
    b"18446744073709551615-18446744073709551614", b"18446744073709551615-18446744073709551615",
];

#[rustfmt::skip]
const SYNTAX: &[(&[u8], Outcome, Outcome, Outcome)] = &[
    (b"0", Refused(b"ERR The ID specified in XADD must be greater than 0-0"), Span(0, 15), Span(0, 2)),
    (b"0-0", Refused(b"ERR The ID specified in XADD must be greater than 0-0"), Span(0, 15), Span(0, 0)),
    (b"0-1", Id(b"0-1"), Span(0, 15), Span(0, 1)),
    (b"1", Id(b"1-0"), Span(2, 15), Span(0, 4)),
    (b"1-0", Id(b"1-0"), Span(2, 15), Span(0, 3)),
    (b"1-1", Id(b"1-1"), Span(3, 15), Span(0, 4)),
    (b"5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"5-1", Id(b"5-1"), Span(5, 15), Span(0, 6)),
    (b"5-0", Id(b"5-0"), Span(4, 15), Span(0, 5)),
    (b"18446744073709551615", Id(b"18446744073709551615-0"), Span(12, 15), Span(0, 15)),
    (b"18446744073709551615-18446744073709551615", Id(b"18446744073709551615-18446744073709551615"), Span(14, 15), Span(0, 15)),
    (b"18446744073709551615-0", Id(b"18446744073709551615-0"), Span(12, 15), Span(0, 13)),
    (b"18446744073709551614-18446744073709551615", Id(b"18446744073709551614-18446744073709551615"), Span(12, 15), Span(0, 12)),
    (b"0-18446744073709551615", Id(b"0-18446744073709551615"), Span(2, 15), Span(0, 2)),
    (b"9223372036854775808", Id(b"9223372036854775808-0"), Span(11, 15), Span(0, 12)),
    (b"5-9223372036854775808", Id(b"5-9223372036854775808"), Span(7, 15), Span(0, 7)),
    (b"-", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(0, 15), Span(0, 0)),
    (b"+", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(14, 15), Span(0, 15)),
    (b"$", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b">", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"*", Now, Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"*-5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-*", Id(b"5-0"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"0-*", Id(b"0-1"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-**", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"-*", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"18446744073709551615-*", Id(b"18446744073709551615-0"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"007", Id(b"7-0"), Span(9, 15), Span(0, 10)),
    (b"5-007", Id(b"5-7"), Span(7, 15), Span(0, 7)),
    (b"0000", Refused(b"ERR The ID specified in XADD must be greater than 0-0"), Span(0, 15), Span(0, 2)),
    (b"+5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"5-+1", Id(b"5-1"), Span(5, 15), Span(0, 6)),
    (b"+0-+0", Refused(b"ERR The ID specified in XADD must be greater than 0-0"), Span(0, 15), Span(0, 0)),
    (b" 5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"\t5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"\n5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"\x0b5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"\x0c5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"\r5", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"5- 1", Id(b"5-1"), Span(5, 15), Span(0, 6)),
    (b"5-\t1", Id(b"5-1"), Span(5, 15), Span(0, 6)),
    (b"5 ", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-1 ", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5\n", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b" ", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"-1", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"-0", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1-", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1-2-3", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1--1", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1--0", Id(b"1-0"), Span(2, 15), Span(0, 3)),
    (b"0--0", Refused(b"ERR The ID specified in XADD must be greater than 0-0"), Span(0, 15), Span(0, 0)),
    (b"1--18446744073709551615", Id(b"1-1"), Span(3, 15), Span(0, 4)),
    (b"1- -5", Id(b"1-18446744073709551611"), Span(4, 15), Span(0, 4)),
    (b"1--9223372036854775808", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1--9223372036854775809", Id(b"1-9223372036854775807"), Span(4, 15), Span(0, 4)),
    (b"18446744073709551616", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-18446744073709551616", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"99999999999999999999", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"abc", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-abc", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"0x10", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1.5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"1e3", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-1.0", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"\xff5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(5, 15), Span(0, 7)),
    (b"(", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(-", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(+", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(5-1", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(6, 15), Span(0, 5)),
    (b"(0", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(0, 15), Span(0, 2)),
    (b"(0-0", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(0, 15), Refused(b"ERR invalid end ID for the interval")),
    (b"(0-1", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(1, 15), Span(0, 0)),
    (b"(18446744073709551615", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(13, 15), Span(0, 14)),
    (b"(18446744073709551615-18446744073709551615", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR invalid start ID for the interval"), Span(0, 14)),
    (b"(18446744073709551615-0", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(13, 15), Span(0, 12)),
    (b"(0-*", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"((5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"( 5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(5, 15), Span(0, 7)),
    (b"(+5", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(5, 15), Span(0, 7)),
    (b"5\x00abc", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"5-1\x001", Id(b"5-1"), Span(5, 15), Span(0, 6)),
    (b"-\x00x", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(0, 15), Span(0, 0)),
    (b"+\x00x", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(14, 15), Span(0, 15)),
    (b"*\x00x", Now, Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"*\x00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Now, Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"5-*\x00x", Id(b"5-0"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"\x005", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(5\x00x", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(5, 15), Span(0, 7)),
    (b"(\x00", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005", Id(b"5-0"), Span(4, 15), Span(0, 8)),
    (b"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
    (b"(0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005", Refused(b"ERR Invalid stream ID specified as stream command argument"), Span(5, 15), Span(0, 7)),
    (b"(00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005", Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument"), Refused(b"ERR Invalid stream ID specified as stream command argument")),
];

#[rustfmt::skip]
const RESOLVE: &[(&str, &[u8], &[u8], Outcome)] = &[
    ("new", b"0-0", b"*", Now),
    ("new", b"0-0", b"0-*", Id(b"0-1")),
    ("new", b"0-0", b"5-*", Id(b"5-0")),
    ("new", b"0-0", b"0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("new", b"0-0", b"0-0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("new", b"0-0", b"0-1", Id(b"0-1")),
    ("new", b"0-0", b"18446744073709551615-*", Id(b"18446744073709551615-0")),
    ("new", b"0-0", b"18446744073709551615-18446744073709551615", Id(b"18446744073709551615-18446744073709551615")),
    ("XADD s 5-5", b"5-5", b"*", Now),
    ("XADD s 5-5", b"5-5", b"5-*", Id(b"5-6")),
    ("XADD s 5-5", b"5-5", b"4-*", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5", b"5-5", b"6-*", Id(b"6-0")),
    ("XADD s 5-5", b"5-5", b"0-*", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5", b"5-5", b"5-5", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5", b"5-5", b"5-6", Id(b"5-6")),
    ("XADD s 5-5", b"5-5", b"5", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5", b"5-5", b"6", Id(b"6-0")),
    ("XADD s 5-5", b"5-5", b"4-9", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5", b"5-5", b"0-0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("XADD s 5-5", b"5-5", b"0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("XADD s 5-5, XDEL s 5-5", b"5-5", b"5-*", Id(b"5-6")),
    ("XADD s 5-5, XDEL s 5-5", b"5-5", b"5-5", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5, XDEL s 5-5", b"5-5", b"3-1", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 5-5, XDEL s 5-5", b"5-5", b"5-6", Id(b"5-6")),
    ("XADD s 99999999999999-5", b"99999999999999-5", b"*", Id(b"99999999999999-6")),
    ("XADD s 99999999999999-5", b"99999999999999-5", b"99999999999999-*", Id(b"99999999999999-6")),
    ("XADD s 99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", b"*", Id(b"100000000000000-0")),
    ("XADD s 99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", b"99999999999999-*", Refused(b"ERR Elements are too large to be stored")),
    ("XADD s 99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", b"100000000000000-*", Id(b"100000000000000-0")),
    ("XADD s 99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", Refused(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")),
    ("XADD s 99999999999999-18446744073709551615", b"99999999999999-18446744073709551615", b"100000000000000", Id(b"100000000000000-0")),
    ("XADD s 18446744073709551615-0", b"18446744073709551615-0", b"*", Id(b"18446744073709551615-1")),
    ("XADD s 18446744073709551615-0", b"18446744073709551615-0", b"18446744073709551615-*", Id(b"18446744073709551615-1")),
    ("XADD s 18446744073709551615-18446744073709551614", b"18446744073709551615-18446744073709551614", b"*", Id(b"18446744073709551615-18446744073709551615")),
    ("XADD s 18446744073709551615-18446744073709551614", b"18446744073709551615-18446744073709551614", b"18446744073709551615-*", Id(b"18446744073709551615-18446744073709551615")),
    ("XADD s 18446744073709551615-18446744073709551614", b"18446744073709551615-18446744073709551614", b"18446744073709551615-18446744073709551615", Id(b"18446744073709551615-18446744073709551615")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"*", Refused(b"ERR The stream has exhausted the last possible ID, unable to add more items")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"18446744073709551615-*", Refused(b"ERR The stream has exhausted the last possible ID, unable to add more items")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"0-*", Refused(b"ERR The stream has exhausted the last possible ID, unable to add more items")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"1-1", Refused(b"ERR The stream has exhausted the last possible ID, unable to add more items")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", Refused(b"ERR The stream has exhausted the last possible ID, unable to add more items")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"0-0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"0", Refused(b"ERR The ID specified in XADD must be greater than 0-0")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"-", Refused(b"ERR Invalid stream ID specified as stream command argument")),
    ("XADD s 18446744073709551615-18446744073709551615", b"18446744073709551615-18446744073709551615", b"abc", Refused(b"ERR Invalid stream ID specified as stream command argument")),
];

/// A `RANGES` row: the command, its two bound arguments, and the IDs returned or the error.
type RangeRow = (
    &'static str,
    &'static [u8],
    &'static [u8],
    Result<&'static [&'static [u8]], &'static [u8]>,
);

#[rustfmt::skip]
const RANGES: &[RangeRow] = &[
    ("XRANGE", b"(18446744073709551615-18446744073709551615", b"junk", Err(b"ERR invalid start ID for the interval")),
    ("XRANGE", b"junk", b"(0-0", Err(b"ERR Invalid stream ID specified as stream command argument")),
    ("XRANGE", b"(18446744073709551615-18446744073709551615", b"(0-0", Err(b"ERR invalid start ID for the interval")),
    ("XRANGE", b"(0-0", b"(0-0", Err(b"ERR invalid end ID for the interval")),
    ("XRANGE", b"(5-0", b"(5-2", Ok(&[b"5-1"])),
    ("XRANGE", b"(5-1", b"+", Ok(&[])),
    ("XRANGE", b"5-2", b"5-1", Ok(&[])),
    ("XREVRANGE", b"junk", b"(18446744073709551615-18446744073709551615", Err(b"ERR invalid start ID for the interval")),
    ("XREVRANGE", b"(0-0", b"junk", Err(b"ERR Invalid stream ID specified as stream command argument")),
    ("XREVRANGE", b"(0-0", b"(18446744073709551615-18446744073709551615", Err(b"ERR invalid start ID for the interval")),
    ("XREVRANGE", b"(0-0", b"-", Err(b"ERR invalid end ID for the interval")),
    ("XREVRANGE", b"+", b"(5-1", Ok(&[])),
    ("XREVRANGE", b"(5-2", b"-", Ok(&[b"5-1"])),
    ("XPENDING", b"(18446744073709551615-18446744073709551615", b"+", Err(b"ERR invalid start ID for the interval")),
    ("XPENDING", b"-", b"(0-0", Err(b"ERR invalid end ID for the interval")),
    ("XPENDING", b"(5-0", b"(5-2", Ok(&[b"5-1"])),
    ("XPENDING", b"(5-1", b"+", Ok(&[])),
    ("XAUTOCLAIM", b"(18446744073709551615-18446744073709551615", b"", Err(b"ERR invalid start ID for the interval")),
    ("XAUTOCLAIM", b"(5-0", b"", Ok(&[b"5-1"])),
    ("XAUTOCLAIM", b"(5-1", b"", Ok(&[])),
    ("XAUTOCLAIM", b"(", b"", Err(b"ERR Invalid stream ID specified as stream command argument")),
];

#[rustfmt::skip]
const WHERE: &[(&str, &[u8], bool)] = &[
    ("XADD", b"-", false),
    ("XADD", b"+", false),
    ("XADD", b"5", true),
    ("XADD", b"5-*", true),
    ("XADD", b"(5", false),
    ("XADD", b"*", true),
    ("XREAD", b"-", false),
    ("XREAD", b"+", false),
    ("XREAD", b"5", true),
    ("XREAD", b"5-*", false),
    ("XREAD", b"(5", false),
    ("XREAD", b"*", false),
    ("XREADGROUP", b"-", false),
    ("XREADGROUP", b"+", false),
    ("XREADGROUP", b"5", true),
    ("XREADGROUP", b"5-*", false),
    ("XREADGROUP", b"(5", false),
    ("XREADGROUP", b"*", false),
    ("XGROUP CREATE", b"-", false),
    ("XGROUP CREATE", b"+", false),
    ("XGROUP CREATE", b"5", true),
    ("XGROUP CREATE", b"5-*", false),
    ("XGROUP CREATE", b"(5", false),
    ("XGROUP CREATE", b"*", false),
    ("XGROUP SETID", b"-", true),
    ("XGROUP SETID", b"+", true),
    ("XGROUP SETID", b"5", true),
    ("XGROUP SETID", b"5-*", false),
    ("XGROUP SETID", b"(5", false),
    ("XGROUP SETID", b"*", false),
    ("XSETID", b"-", false),
    ("XSETID", b"+", false),
    ("XSETID", b"5", true),
    ("XSETID", b"5-*", false),
    ("XSETID", b"(5", false),
    ("XSETID", b"*", false),
    ("XDEL", b"-", false),
    ("XDEL", b"+", false),
    ("XDEL", b"5", true),
    ("XDEL", b"5-*", false),
    ("XDEL", b"(5", false),
    ("XDEL", b"*", false),
    ("XACK", b"-", false),
    ("XACK", b"+", false),
    ("XACK", b"5", true),
    ("XACK", b"5-*", false),
    ("XACK", b"(5", false),
    ("XACK", b"*", false),
    ("XCLAIM", b"-", false),
    ("XCLAIM", b"+", false),
    ("XCLAIM", b"5", true),
    ("XCLAIM", b"5-*", false),
    ("XCLAIM", b"(5", false),
    ("XCLAIM", b"*", false),
    ("XTRIM MINID", b"-", false),
    ("XTRIM MINID", b"+", false),
    ("XTRIM MINID", b"5", true),
    ("XTRIM MINID", b"5-*", false),
    ("XTRIM MINID", b"(5", false),
    ("XTRIM MINID", b"*", false),
    ("XAUTOCLAIM", b"-", true),
    ("XAUTOCLAIM", b"+", true),
    ("XAUTOCLAIM", b"5", true),
    ("XAUTOCLAIM", b"5-*", false),
    ("XAUTOCLAIM", b"(5", true),
    ("XAUTOCLAIM", b"*", false),
    ("XPENDING start", b"-", true),
    ("XPENDING start", b"+", true),
    ("XPENDING start", b"5", true),
    ("XPENDING start", b"5-*", false),
    ("XPENDING start", b"(5", true),
    ("XPENDING start", b"*", false),
    ("XPENDING end", b"-", true),
    ("XPENDING end", b"+", true),
    ("XPENDING end", b"5", true),
    ("XPENDING end", b"5-*", false),
    ("XPENDING end", b"(5", true),
    ("XPENDING end", b"*", false),
    ("XRANGE start", b"-", true),
    ("XRANGE start", b"+", true),
    ("XRANGE start", b"5", true),
    ("XRANGE start", b"5-*", false),
    ("XRANGE start", b"(5", true),
    ("XRANGE start", b"*", false),
    ("XRANGE end", b"-", true),
    ("XRANGE end", b"+", true),
    ("XRANGE end", b"5", true),
    ("XRANGE end", b"5-*", false),
    ("XRANGE end", b"(5", true),
    ("XRANGE end", b"*", false),
];
