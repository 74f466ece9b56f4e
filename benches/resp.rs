//! RESP2 request parsing, with criterion: `nanostream-net`'s hand-written parser
//! (`parse_request` and `RequestDecoder::decode`) against the `redis-protocol` crate's RESP2
//! decoder (`decode_range`, and `decode_bytes`, its zero-copy `Bytes` API) on the same bytes,
//! beside a `base` group that measures the measuring.
//!
//! Three inputs, built once outside the timed part: one `PUBLISH orders <100-byte payload>`
//! request, a pipeline of 64 of them in one buffer, and one request of 1000 small arguments
//! (`SUBSCRIBE` and 999 channel names). Every implementation parses the whole buffer, request
//! after request, and the setup checks that each consumed every byte and saw the same requests
//! and arguments before anything is timed.
//!
//! ```text
//! cargo bench --bench resp
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput};
use nanostream_net::resp::{parse_request, Limits, RequestDecoder};
use redis_protocol::bytes::Bytes;
use redis_protocol::resp2::decode::{decode_bytes, decode_range};
use redis_protocol::resp2::types::{BytesFrame, RangeFrame};

/// What one pass over a buffer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Seen {
    requests: usize,
    /// Arguments of all requests, command names included.
    args: usize,
    /// Bytes consumed.
    consumed: usize,
}

/// One input: its bytes, and what a parser must see in them.
struct Input {
    name: &'static str,
    buf: Vec<u8>,
    expected: Seen,
}

/// Appends one multibulk request of `args`.
fn multibulk(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn inputs() -> Vec<Input> {
    let payload: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    let publish: [&[u8]; 3] = [b"PUBLISH", b"orders", &payload];

    let mut one = Vec::new();
    multibulk(&mut one, &publish);

    let mut pipeline = Vec::new();
    for _ in 0..64 {
        multibulk(&mut pipeline, &publish);
    }

    let channels: Vec<Vec<u8>> = (1..1000).map(|i| format!("c{i}").into_bytes()).collect();
    let mut wide_args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
    wide_args.extend(channels.iter().map(Vec::as_slice));
    let mut wide = Vec::new();
    multibulk(&mut wide, &wide_args);

    let seen = |buf: &[u8], requests, args| Seen {
        requests,
        args,
        consumed: buf.len(),
    };
    vec![
        Input {
            name: "PUBLISH 100 B",
            expected: seen(&one, 1, 3),
            buf: one,
        },
        Input {
            name: "pipeline of 64 PUBLISH 100 B",
            expected: seen(&pipeline, 64, 3 * 64),
            buf: pipeline,
        },
        Input {
            name: "1000 arguments",
            expected: seen(&wide, 1, 1000),
            buf: wide,
        },
    ]
}

/// `parse_request` on every request in `buf`, until it returns `Ok(None)`.
fn ours_parse_request(buf: &[u8], limits: &Limits) -> Seen {
    let mut seen = Seen::default();
    while let Some((request, used)) = parse_request(&buf[seen.consumed..], limits).expect("valid") {
        seen.requests += 1;
        seen.args += request.len();
        seen.consumed += used;
    }
    seen
}

/// `RequestDecoder::decode` on every request in `buf`, until it returns `Ok(None)`.
fn ours_decoder(buf: &[u8], decoder: &mut RequestDecoder) -> Seen {
    let mut seen = Seen::default();
    while let Some((request, used)) = decoder.decode(&buf[seen.consumed..]).expect("valid") {
        seen.requests += 1;
        seen.args += request.len();
        seen.consumed += used;
    }
    seen
}

/// `redis_protocol::resp2::decode::decode_range`, frame by frame until `buf` is consumed.
fn theirs_range(buf: &[u8]) -> Seen {
    let mut seen = Seen::default();
    while seen.consumed < buf.len() {
        let (frame, used) = decode_range(&buf[seen.consumed..])
            .expect("valid")
            .expect("complete");
        let RangeFrame::Array(args) = frame else {
            unreachable!("every request is an array")
        };
        seen.requests += 1;
        seen.args += args.len();
        seen.consumed += used;
    }
    seen
}

/// `redis_protocol::resp2::decode::decode_bytes`, frame by frame until `buf` is consumed:
/// each frame's bulk strings are views into `buf`.
fn theirs_bytes(buf: &Bytes) -> Seen {
    let mut seen = Seen::default();
    while seen.consumed < buf.len() {
        let (frame, used) = decode_bytes(&buf.slice(seen.consumed..))
            .expect("valid")
            .expect("complete");
        let BytesFrame::Array(args) = frame else {
            unreachable!("every request is an array")
        };
        seen.requests += 1;
        seen.args += args.len();
        seen.consumed += used;
    }
    seen
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
}

/// The cost of measuring: an empty iteration.
fn base(c: &mut Criterion) {
    let mut g = c.benchmark_group("base");
    configure(&mut g);
    g.bench_function("empty iteration", |b| b.iter(|| black_box(1u64)));
    g.finish();
}

/// One group per input, every implementation in it.
fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    for input in inputs() {
        let buf = input.buf.as_slice();
        let bytes = Bytes::from(input.buf.clone());
        let mut decoder = RequestDecoder::new(limits);

        assert_eq!(ours_parse_request(buf, &limits), input.expected, "parse_request");
        assert_eq!(ours_decoder(buf, &mut decoder), input.expected, "RequestDecoder");
        assert_eq!(theirs_range(buf), input.expected, "decode_range");
        assert_eq!(theirs_bytes(&bytes), input.expected, "decode_bytes");

        let mut g = c.benchmark_group(input.name);
        configure(&mut g);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function("parse_request", |b| {
            b.iter(|| ours_parse_request(black_box(buf), &limits))
        });
        g.bench_function("RequestDecoder::decode", |b| {
            b.iter(|| ours_decoder(black_box(buf), &mut decoder))
        });
        g.bench_function("redis-protocol decode_range", |b| {
            b.iter(|| theirs_range(black_box(buf)))
        });
        g.bench_function("redis-protocol decode_bytes", |b| {
            b.iter(|| theirs_bytes(black_box(&bytes)))
        });
        g.finish();
    }
}

mod group {
    use super::*;
    criterion::criterion_group!(benches, base, parse);
}
criterion::criterion_main!(group::benches);
