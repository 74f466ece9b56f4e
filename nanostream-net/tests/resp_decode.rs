//! Request parsing: every request shape, fed whole, one byte at a time, and pipelined.

use std::borrow::Cow;

use nanostream_net::resp::{parse_request, Limits, ProtocolError, RequestDecoder, RequestKind};

type Args = Vec<Vec<u8>>;
type Parsed = Vec<(RequestKind, Args)>;
/// A name, the bytes a client sends, and the requests they hold.
type Shape = (&'static str, Vec<u8>, Parsed);

/// Parses every complete request in `buf`: the requests, then the error or the bytes left over.
fn parse_all(buf: &[u8], limits: &Limits) -> (Parsed, Result<usize, ProtocolError>) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match parse_request(&buf[pos..], limits) {
            Ok(Some((req, used))) => {
                assert!(
                    used > 0 && used <= buf.len() - pos,
                    "consumed {used} of {}",
                    buf.len() - pos
                );
                out.push((req.kind(), req.args().iter().map(|a| a.to_vec()).collect()));
                pos += used;
            }
            Ok(None) => return (out, Ok(buf.len() - pos)),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// Feeds `input` one byte at a time into a growing read buffer, parsing after each byte and
/// dropping what was consumed, as a connection would.
fn parse_bytewise(input: &[u8], limits: &Limits) -> (Parsed, Result<usize, ProtocolError>) {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for &b in input {
        buf.push(b);
        loop {
            match parse_request(&buf, limits) {
                Ok(Some((req, used))) => {
                    out.push((req.kind(), req.args().iter().map(|a| a.to_vec()).collect()));
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(buf.len()))
}

/// [`parse_bytewise`] through one [`RequestDecoder`].
fn decode_bytewise(input: &[u8], limits: &Limits) -> (Parsed, Result<usize, ProtocolError>) {
    let mut decoder = RequestDecoder::new(*limits);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for &b in input {
        buf.push(b);
        loop {
            match decoder.decode(&buf) {
                Ok(Some((req, used))) => {
                    out.push((req.kind(), req.args().iter().map(|a| a.to_vec()).collect()));
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(buf.len()))
}

fn args(list: &[&[u8]]) -> Args {
    list.iter().map(|a| a.to_vec()).collect()
}

/// Multibulk encoding of `args`, the way every client sends a command.
fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

const M: RequestKind = RequestKind::Multibulk;
const I: RequestKind = RequestKind::Inline;

fn shapes() -> Vec<Shape> {
    vec![
        (
            "multibulk one arg",
            b"*1\r\n$4\r\nPING\r\n".to_vec(),
            vec![(M, args(&[b"PING"]))],
        ),
        (
            "multibulk three args",
            b"*3\r\n$7\r\npublish\r\n$4\r\nnews\r\n$5\r\nhello\r\n".to_vec(),
            vec![(M, args(&[b"publish", b"news", b"hello"]))],
        ),
        (
            "multibulk empty bulk",
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".to_vec(),
            vec![(M, args(&[b"ECHO", b""]))],
        ),
        ("multibulk zero count", b"*0\r\n".to_vec(), vec![(M, vec![])]),
        ("multibulk negative count", b"*-1\r\n".to_vec(), vec![(M, vec![])]),
        (
            "multibulk very negative count",
            b"*-9223372036854775808\r\n".to_vec(),
            vec![(M, vec![])],
        ),
        (
            "bulk holding CRLF",
            b"*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\r\n\r\n".to_vec(),
            vec![(M, args(&[b"ECHO", b"a\r\nb\r\n"]))],
        ),
        (
            "bulk holding a header",
            multibulk(&[b"ECHO", b"*1\r\n$4\r\nPING\r\n"]),
            vec![(M, args(&[b"ECHO", b"*1\r\n$4\r\nPING\r\n"]))],
        ),
        (
            "trailing bytes unchecked",
            b"*1\r\n$4\r\nPINGxy".to_vec(),
            vec![(M, args(&[b"PING"]))],
        ),
        ("inline", b"PING\r\n".to_vec(), vec![(I, args(&[b"PING"]))]),
        (
            "inline LF only",
            b"ECHO a\n".to_vec(),
            vec![(I, args(&[b"ECHO", b"a"]))],
        ),
        ("inline empty line", b"\r\n".to_vec(), vec![(I, vec![])]),
        ("inline bare LF", b"\n".to_vec(), vec![(I, vec![])]),
        ("inline spaces only", b"   \t \r\n".to_vec(), vec![(I, vec![])]),
        (
            "inline quoting",
            br#"SET "k y" 'it\'s' "\x00\xff\r\n\"" a"b c"  "#.iter().chain(b"\r\n").copied().collect(),
            vec![(I, args(&[b"SET", b"k y", b"it's", b"\x00\xff\r\n\"", b"ab c"]))],
        ),
        (
            "inline CR inside",
            b"A\rB\r\n".to_vec(),
            vec![(I, args(&[b"A", b"B"]))],
        ),
        (
            "inline with a star later",
            b"ECHO *1\r\n".to_vec(),
            vec![(I, args(&[b"ECHO", b"*1"]))],
        ),
        (
            "pipeline of shapes",
            [
                &b"PING\r\n"[..],
                b"*0\r\n",
                b"*1\r\n$4\r\nPING\r\n",
                b"\n",
                b"ECHO 'x'\r\n",
            ]
            .concat(),
            vec![
                (I, args(&[b"PING"])),
                (M, vec![]),
                (M, args(&[b"PING"])),
                (I, vec![]),
                (I, args(&[b"ECHO", b"x"])),
            ],
        ),
    ]
}

#[test]
fn every_shape_whole_and_byte_by_byte() {
    let limits = Limits::default();
    for (name, input, want) in shapes() {
        let (got, rest) = parse_all(&input, &limits);
        assert_eq!(got, want, "{name}: whole");
        assert_eq!(rest, Ok(0), "{name}: whole, leftover");
        let (got, rest) = parse_bytewise(&input, &limits);
        assert_eq!(got, want, "{name}: byte by byte");
        assert_eq!(rest, Ok(0), "{name}: byte by byte, leftover");
        let (got, rest) = decode_bytewise(&input, &limits);
        assert_eq!(got, want, "{name}: decoder, byte by byte");
        assert_eq!(rest, Ok(0), "{name}: decoder, byte by byte, leftover");
    }
}

#[test]
fn every_strict_prefix_of_a_request_is_incomplete() {
    let limits = Limits::default();
    for (name, input, want) in shapes() {
        if want.len() != 1 {
            continue;
        }
        for k in 0..input.len() {
            let prefix = &input[..k];
            let need_more = parse_request(prefix, &limits).unwrap().is_none();
            // A multibulk request's last two bytes are skipped unchecked but still awaited.
            assert!(need_more, "{name}: prefix of {k} bytes parsed");
        }
    }
}

#[test]
fn errors_are_the_same_byte_by_byte() {
    let limits = Limits::default();
    let cases: &[(&[u8], ProtocolError)] = &[
        (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
        (b"*1\r\n+PING\r\n", ProtocolError::ExpectedDollar(b'+')),
        (b"*1\r\n$-3\r\n", ProtocolError::InvalidBulkLength),
        (b"PING\r\nECHO \"a\r\n", ProtocolError::UnbalancedQuotes),
        (
            b"*1\r\n$1\r\na\r\n*1\r\n:1\r\n",
            ProtocolError::ExpectedDollar(b':'),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_all(input, &limits).1,
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            parse_bytewise(input, &limits).1,
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn a_pipeline_of_many_requests_in_one_buffer() {
    let limits = Limits::default();
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..1000u32 {
        let n = i.to_string();
        if i % 3 == 0 {
            input.extend_from_slice(format!("PUBLISH ch{n} \"m {n}\"\r\n").as_bytes());
            want.push((
                I,
                args(&[
                    b"PUBLISH",
                    format!("ch{n}").as_bytes(),
                    format!("m {n}").as_bytes(),
                ]),
            ));
        } else {
            input.extend(multibulk(&[
                b"PUBLISH",
                format!("ch{n}").as_bytes(),
                n.as_bytes(),
            ]));
            want.push((M, args(&[b"PUBLISH", format!("ch{n}").as_bytes(), n.as_bytes()])));
        }
    }
    // An incomplete request at the end stays in the buffer.
    input.extend_from_slice(b"*2\r\n$4\r\nPING");
    let (got, rest) = parse_all(&input, &limits);
    assert_eq!(got, want);
    assert_eq!(rest, Ok(12));
}

#[test]
fn all_256_byte_values_survive_a_bulk_string() {
    let limits = Limits::default();
    let every: Vec<u8> = (0..=255u8).collect();
    let single: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let mut list: Vec<&[u8]> = vec![b"PUBLISH", &every];
    list.extend(single.iter().map(Vec::as_slice));
    let input = multibulk(&list);
    let (got, rest) = parse_all(&input, &limits);
    assert_eq!(rest, Ok(0));
    assert_eq!(got, vec![(M, args(&list))]);
    assert_eq!(parse_bytewise(&input, &limits).0, got);
}

#[test]
fn multibulk_arguments_borrow_from_the_buffer() {
    let input = multibulk(&[b"PUBLISH", b"news", b"payload"]);
    let (req, used) = parse_request(&input, &Limits::default()).unwrap().unwrap();
    assert_eq!(used, input.len());
    let range = input.as_ptr_range();
    for arg in req.args() {
        let Cow::Borrowed(arg) = arg else {
            panic!("owned argument")
        };
        assert!(range.contains(&arg.as_ptr()), "argument outside the buffer");
    }
    // The argument list is allocated once, at exactly its length.
    assert_eq!(req.into_args().capacity(), 3);
}

#[test]
fn the_decoder_checks_a_trickled_request_once() {
    // 100 000 empty arguments arriving one argument per read. Starting over on each read would
    // walk about 5 * 10^9 headers; the decoder keeps where it stopped, so after each read the
    // bytes checked are exactly the bytes fed, and the next read starts from there.
    const N: usize = 100_000;
    let mut input = format!("*{N}\r\n").into_bytes();
    let header = input.len();
    for _ in 0..N {
        input.extend_from_slice(b"$0\r\n\r\n");
    }
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut done = None;
    let mut fed = header;
    assert!(decoder.decode(&input[..fed]).unwrap().is_none());
    assert_eq!(decoder.checked(), header);
    while fed < input.len() {
        fed += 6;
        match decoder.decode(&input[..fed]).unwrap() {
            Some((req, used)) => done = Some((req.len(), used)),
            None => assert_eq!(decoder.checked(), fed, "resumes where it stopped"),
        }
    }
    assert_eq!(done, Some((N, input.len())));
    assert_eq!(
        decoder.checked(),
        0,
        "nothing pending once the request is complete"
    );
}
