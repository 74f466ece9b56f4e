//! Every limit a client can hit, with the exact error redis-server 7 replies.

use nanostream_net::resp::{parse_request, Limits, ProtocolError};

fn err(input: &[u8], limits: &Limits) -> ProtocolError {
    match parse_request(input, limits) {
        Err(e) => e,
        Ok(r) => panic!(
            "{:?} parsed as {:?}",
            String::from_utf8_lossy(input),
            r.map(|r| r.1)
        ),
    }
}

fn incomplete(input: &[u8], limits: &Limits) -> bool {
    parse_request(input, limits).expect("no error").is_none()
}

fn reply(e: ProtocolError) -> Vec<u8> {
    let mut out = Vec::new();
    e.write_reply(&mut out);
    out
}

#[test]
fn multibulk_counts() {
    let l = Limits::default();
    let invalid = ProtocolError::InvalidMultibulkLength;
    for bad in [
        &b"*2147483648\r\n"[..],
        b"*9223372036854775807\r\n",
        b"*9223372036854775808\r\n",
        b"*99999999999999999999999\r\n",
        b"*abc\r\n",
        b"*+3\r\n",
        b"* 3\r\n",
        b"*3 \r\n",
        b"*03\r\n",
        b"*-0\r\n",
        b"*\r\n",
        b"*1.5\r\n",
    ] {
        assert_eq!(err(bad, &l), invalid, "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(
        reply(invalid),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    // At the limit, the parser just waits for the arguments.
    assert!(incomplete(b"*2147483647\r\n", &l));
    assert!(incomplete(b"*1000000000\r\n$1\r\na\r\n", &l));
    let small = Limits::builder().max_multibulk_len(2).build().unwrap();
    assert!(incomplete(b"*2\r\n", &small));
    assert_eq!(err(b"*3\r\n", &small), invalid);
}

#[test]
fn bulk_lengths() {
    let l = Limits::default();
    let invalid = ProtocolError::InvalidBulkLength;
    for bad in [
        &b"*1\r\n$536870913\r\n"[..],
        b"*1\r\n$-1\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$+5\r\n",
        b"*1\r\n$05\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$5x\r\n",
        b"*1\r\n$99999999999999999999\r\n",
        b"*2\r\n$1\r\na\r\n$x\r\n",
    ] {
        assert_eq!(err(bad, &l), invalid, "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(reply(invalid), b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(incomplete(b"*1\r\n$536870912\r\n", &l));
    let small = Limits::builder().max_bulk_len(4).build().unwrap();
    assert!(parse_request(b"*1\r\n$4\r\nPING\r\n", &small).unwrap().is_some());
    assert_eq!(err(b"*1\r\n$5\r\n", &small), invalid);
}

#[test]
fn non_dollar_inside_a_multibulk() {
    let l = Limits::default();
    for (input, byte) in [
        (&b"*1\r\n+PING\r\n"[..], b'+'),
        (b"*1\r\n:1\r\n", b':'),
        (b"*1\r\n*1\r\n", b'*'),
        (b"*2\r\n$1\r\na\r\nfooz\r\n", b'f'),
        (b"*1\r\n\r\n", b'\r'),
        (b"*1\r\n\n\r\n", b'\n'),
        (b"*1\r\n\xff\r\n", 0xff),
    ] {
        assert_eq!(err(input, &l), ProtocolError::ExpectedDollar(byte));
    }
    assert_eq!(
        reply(ProtocolError::ExpectedDollar(b'f')),
        b"-ERR Protocol error: expected '$', got 'f'\r\n"
    );
    assert_eq!(
        reply(ProtocolError::ExpectedDollar(b'\r')),
        b"-ERR Protocol error: expected '$', got ' '\r\n"
    );
    assert_eq!(
        reply(ProtocolError::ExpectedDollar(0xff)),
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
    assert_eq!(
        ProtocolError::ExpectedDollar(b'\n').to_string(),
        "Protocol error: expected '$', got ' '"
    );
    // The header line is checked only once it is complete.
    assert!(incomplete(b"*1\r\nfoo", &l));
}

#[test]
fn lines_without_an_end() {
    let l = Limits::default();
    let at = |prefix: &[u8], fill: u8, n: usize| [prefix, &vec![fill; n]].concat();
    // Up to 64 KiB may wait without a line end; one byte more is an error.
    assert!(incomplete(&at(b"", b'x', 65536), &l));
    assert_eq!(err(&at(b"", b'x', 65537), &l), ProtocolError::TooBigInlineRequest);
    assert!(incomplete(&at(b"*", b'1', 65535), &l));
    assert_eq!(
        err(&at(b"*", b'1', 65536), &l),
        ProtocolError::TooBigMultibulkCount
    );
    assert!(incomplete(&at(b"*1\r\n$", b'1', 65535), &l));
    assert_eq!(
        err(&at(b"*1\r\n$", b'1', 65536), &l),
        ProtocolError::TooBigBulkCount
    );
    // A line that does end may be longer: Redis only bounds what waits.
    let long = [&at(b"ECHO ", b'y', 100_000)[..], b"\r\n"].concat();
    assert_eq!(
        parse_request(&long, &l).unwrap().unwrap().0.args()[1].len(),
        100_000
    );
    // A NUL stops the search for the line end, as `strchr` does in Redis.
    assert!(incomplete(b"ECHO a\0b\r\n", &l));
    assert!(incomplete(b"*1\r\n$\x001\r\n", &l));
    assert!(incomplete(b"*\x001\r\n", &l));
    assert_eq!(
        err(&[&b"ECHO \0\r\n"[..], &vec![b'z'; 65536]].concat(), &l),
        ProtocolError::TooBigInlineRequest
    );
    for (e, text) in [
        (
            ProtocolError::TooBigInlineRequest,
            "Protocol error: too big inline request",
        ),
        (
            ProtocolError::TooBigMultibulkCount,
            "Protocol error: too big mbulk count string",
        ),
        (
            ProtocolError::TooBigBulkCount,
            "Protocol error: too big bulk count string",
        ),
        (
            ProtocolError::UnbalancedQuotes,
            "Protocol error: unbalanced quotes in request",
        ),
    ] {
        assert_eq!(e.to_string(), text);
        assert_eq!(reply(e), format!("-ERR {text}\r\n").into_bytes());
    }
}

#[test]
fn unbalanced_quotes() {
    let l = Limits::default();
    for bad in [
        &b"ECHO \"a\r\n"[..],
        b"ECHO 'a\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO 'a'b\r\n",
        b"\"\r\n",
    ] {
        assert_eq!(
            err(bad, &l),
            ProtocolError::UnbalancedQuotes,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn unauthenticated_clients_get_redis_tighter_caps() {
    let l = Limits::default().with_unauthenticated(true);
    assert!(incomplete(b"*10\r\n", &l));
    assert_eq!(err(b"*11\r\n", &l), ProtocolError::UnauthenticatedMultibulkLength);
    assert!(incomplete(b"*1\r\n$16384\r\n", &l));
    assert_eq!(
        err(b"*1\r\n$16385\r\n", &l),
        ProtocolError::UnauthenticatedBulkLength
    );
    // The general limits come first, as in Redis.
    assert_eq!(err(b"*3000000000\r\n", &l), ProtocolError::InvalidMultibulkLength);
    assert_eq!(
        reply(ProtocolError::UnauthenticatedMultibulkLength),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert_eq!(
        reply(ProtocolError::UnauthenticatedBulkLength),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
}

#[test]
fn the_query_buffer_limit_closes_without_a_reply() {
    let l = Limits::builder()
        .max_bulk_len(16)
        .max_query_buffer(32)
        .build()
        .unwrap();
    // A complete request is parsed whatever the buffer holds after it.
    let mut input = b"*1\r\n$4\r\nPING\r\n".to_vec();
    input.extend_from_slice(&[b'*'; 40]);
    assert!(parse_request(&input, &l).unwrap().is_some());
    // An incomplete one beyond the limit is refused.
    assert!(incomplete(b"*2\r\n$16\r\n0123456789abcdef\r\n$1", &l));
    assert_eq!(
        err(b"*2\r\n$16\r\n0123456789abcdef\r\n$10\r\nab", &l),
        ProtocolError::QueryBufferLimit
    );
    assert!(!ProtocolError::QueryBufferLimit.has_reply());
    assert!(reply(ProtocolError::QueryBufferLimit).is_empty());
    assert!(ProtocolError::InvalidBulkLength.has_reply());
}
