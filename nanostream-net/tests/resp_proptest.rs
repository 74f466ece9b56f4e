//! Properties of the parser over random inputs: round trips through any split, and no panic,
//! no over-consumption and no dependence on how the bytes arrived for arbitrary bytes.

use nanostream_net::resp::decode::Decoded;
use nanostream_net::resp::inline::split_args;
use nanostream_net::resp::{parse_request, Limits, ProtocolError, RequestDecoder};
use proptest::prelude::*;

type Requests = Vec<Vec<Vec<u8>>>;

fn multibulk(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One decoded request's arguments and the bytes it took, or `None` if incomplete.
type Step = Result<Option<(Vec<Vec<u8>>, usize)>, ProtocolError>;

/// Feeds `input` in chunks ending at `cuts`, calling `next` on the buffer and draining what
/// it took after each chunk, until it needs more bytes or fails.
fn feed_chunked(
    input: &[u8],
    cuts: &[usize],
    mut next: impl FnMut(&[u8]) -> Step,
) -> (Requests, Result<usize, ProtocolError>) {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut fed = 0;
    for end in bounds {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match next(&buf) {
                Ok(Some((args, used))) => {
                    assert!(used > 0 && used <= buf.len());
                    out.push(args);
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(buf.len()))
}

/// The arguments of a request, copied.
fn owned(req: &nanostream_net::resp::Request<'_>) -> Vec<Vec<u8>> {
    req.args().iter().map(|a| a.to_vec()).collect()
}

/// [`feed_chunked`] through `parse_request`, which starts over on every call.
fn parse_chunked(input: &[u8], cuts: &[usize], limits: &Limits) -> (Requests, Result<usize, ProtocolError>) {
    feed_chunked(input, cuts, |buf| {
        parse_request(buf, limits).map(|r| r.map(|(req, used)| (owned(&req), used)))
    })
}

/// [`parse_chunked`] through one [`RequestDecoder`], which resumes instead of starting over.
fn decode_chunked(input: &[u8], cuts: &[usize], limits: &Limits) -> (Requests, Result<usize, ProtocolError>) {
    let mut decoder = RequestDecoder::new(*limits);
    feed_chunked(input, cuts, |buf| {
        decoder
            .decode(buf)
            .map(|r| r.map(|(req, used)| (owned(&req), used)))
    })
}

/// [`decode_chunked`] through [`RequestDecoder::decode_ranges`], the allocation-free path the
/// server reads with.
fn ranges_chunked(input: &[u8], cuts: &[usize], limits: &Limits) -> (Requests, Result<usize, ProtocolError>) {
    let mut decoder = RequestDecoder::new(*limits);
    let mut ranges = Vec::new();
    feed_chunked(input, cuts, |buf| {
        decoder.decode_ranges(buf, &mut ranges).map(|r| {
            r.map(|(decoded, used)| {
                let args = match decoded {
                    Decoded::Ranges => ranges.iter().map(|r| buf[r.clone()].to_vec()).collect(),
                    Decoded::Inline(req) => owned(&req),
                };
                (args, used)
            })
        })
    })
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'$'), Just(b'*'), Just(b'0')],
            0..8
        ),
    ]
}

fn requests() -> impl Strategy<Value = Requests> {
    proptest::collection::vec(proptest::collection::vec(arg(), 1..8), 1..6)
}

/// Small limits, so that random inputs reach every limit.
fn small_limits() -> Limits {
    Limits::builder()
        .max_bulk_len(40)
        .max_multibulk_len(6)
        .max_inline_len(48)
        .max_query_buffer(200)
        .build()
        .unwrap()
}

/// Bytes that look like requests often enough to get deep into the parser.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"*".to_vec()),
        Just(b"$".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\x".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"-".to_vec()),
        (0u32..20).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 1..4),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

/// A valid pipeline with a few bytes flipped, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        requests(),
        proptest::collection::vec((any::<usize>(), 0u8..3, any::<u8>()), 1..4),
    )
        .prop_map(|(reqs, edits)| {
            let mut v = Vec::new();
            for r in &reqs {
                multibulk(r, &mut v);
            }
            for (at, op, byte) in edits {
                let i = at % (v.len() + 1);
                match op {
                    0 if i < v.len() => v[i] = byte,
                    1 => v.insert(i, byte),
                    _ if i < v.len() => {
                        v.remove(i);
                    }
                    _ => {}
                }
            }
            v
        })
}

/// Errors that depend on how many bytes are buffered rather than on the bytes themselves.
fn length_dependent(e: &ProtocolError) -> bool {
    matches!(
        e,
        ProtocolError::TooBigInlineRequest
            | ProtocolError::TooBigMultibulkCount
            | ProtocolError::TooBigBulkCount
            | ProtocolError::QueryBufferLimit
    )
}

fn check_robust(input: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    let first = parse_request(input, limits);
    // Deterministic.
    prop_assert_eq!(&first, &parse_request(input, limits));
    if let Ok(Some((req, used))) = &first {
        prop_assert!(
            *used > 0 && *used <= input.len(),
            "consumed {} of {}",
            used,
            input.len()
        );
        // The request is the same whatever follows it, and needs nothing past `used`.
        let alone = parse_request(&input[..*used], limits);
        prop_assert_eq!(
            alone.map(|r| r.map(|(q, u)| (q.into_owned(), u))),
            Ok(Some((req.clone().into_owned(), *used)))
        );
    }
    // What a prefix decides, the whole input decides the same way.
    for k in 0..input.len() {
        match parse_request(&input[..k], limits) {
            Ok(None) => {}
            Ok(Some(early)) => prop_assert_eq!(Ok(Some(early)), first.clone(), "prefix {}", k),
            Err(e) if length_dependent(&e) => {}
            Err(e) => prop_assert_eq!(Err(e), first.clone(), "prefix {}", k),
        }
    }
    // Fed in pieces, the same requests and the same outcome come out as fed whole.
    let whole = parse_chunked(input, &[], limits);
    let bytewise = parse_chunked(input, &(0..input.len()).collect::<Vec<_>>(), limits);
    // The resuming decoder agrees with starting over, for any feeding.
    let every: Vec<usize> = (0..input.len()).collect();
    prop_assert_eq!(&decode_chunked(input, &every, limits), &bytewise);
    prop_assert_eq!(&ranges_chunked(input, &every, limits), &bytewise);
    prop_assert_eq!(&ranges_chunked(input, &[], limits), &whole);
    prop_assert_eq!(
        &decode_chunked(input, &[input.len() / 3, input.len() / 2], limits),
        &parse_chunked(input, &[input.len() / 3, input.len() / 2], limits)
    );
    match &bytewise.1 {
        // A line end arriving late cannot undo a limit already passed: the requests before
        // it are the same.
        Err(e) if length_dependent(e) => prop_assert!(whole.0.starts_with(&bytewise.0)),
        _ => prop_assert_eq!(whole, bytewise),
    }
    Ok(())
}

/// Quotes an argument the way `redis-cli` would for an inline request.
fn quote(arg: &[u8]) -> Vec<u8> {
    let mut q = b"\"".to_vec();
    for &b in arg {
        match b {
            b'"' | b'\\' => q.extend_from_slice(&[b'\\', b]),
            b'\n' => q.extend_from_slice(b"\\n"),
            b' ' | b'!'..=b'~' => q.push(b),
            _ => q.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    q.push(b'"');
    q
}

/// 512 cases per property, or `NSNET_PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    let default = if cfg!(miri) { 8 } else { 512 };
    std::env::var("NSNET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn multibulk_round_trips_through_any_split(reqs in requests(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let mut input = Vec::new();
        for r in &reqs {
            multibulk(r, &mut input);
        }
        let (got, rest) = parse_chunked(&input, &cuts, &Limits::default());
        prop_assert_eq!(rest, Ok(0));
        prop_assert_eq!(&got, &reqs);
        let (got, rest) = decode_chunked(&input, &cuts, &Limits::default());
        prop_assert_eq!(rest, Ok(0));
        prop_assert_eq!(&got, &reqs);
        let (got, rest) = ranges_chunked(&input, &cuts, &Limits::default());
        prop_assert_eq!(rest, Ok(0));
        prop_assert_eq!(got, reqs);
    }

    #[test]
    fn inline_round_trips_through_quoting(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 1..6)) {
        let mut line = Vec::new();
        for a in &args {
            line.extend(quote(a));
            line.push(b' ');
        }
        let got: Vec<Vec<u8>> = split_args(&line).unwrap().into_iter().map(|a| a.into_owned()).collect();
        prop_assert_eq!(&got, &args);
        line.extend_from_slice(b"\r\n");
        let (got, rest) = parse_chunked(&line, &[line.len() / 2], &Limits::default());
        prop_assert_eq!(rest, Ok(0));
        prop_assert_eq!(got, vec![args]);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overconsume(input in proptest::collection::vec(any::<u8>(), 0..128)) {
        check_robust(&input, &Limits::default())?;
        check_robust(&input, &small_limits())?;
    }

    #[test]
    fn protocol_like_noise_never_panics_or_overconsumes(input in noise()) {
        check_robust(&input, &Limits::default())?;
        check_robust(&input, &small_limits())?;
        check_robust(&input, &Limits::default().with_unauthenticated(true))?;
    }

    #[test]
    fn mutated_requests_never_panic_or_overconsume(input in mutated()) {
        check_robust(&input, &Limits::default())?;
        check_robust(&input, &small_limits())?;
    }
}
