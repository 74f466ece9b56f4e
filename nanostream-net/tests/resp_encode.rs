//! Reply encoding: the exact bytes of every reply type and of the pub/sub frames.

use nanostream_net::resp::{encode, parse_request, Limits};

fn bytes(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

#[test]
fn every_reply_type() {
    assert_eq!(bytes(|o| encode::simple_string(o, "OK")), b"+OK\r\n");
    assert_eq!(bytes(|o| encode::simple_string(o, "")), b"+\r\n");
    assert_eq!(bytes(|o| encode::error(o, "ERR unknown")), b"-ERR unknown\r\n");
    assert_eq!(bytes(|o| encode::error(o, "ERR a\r\nb")), b"-ERR a  b\r\n");
    assert_eq!(bytes(|o| encode::integer(o, 0)), b":0\r\n");
    assert_eq!(bytes(|o| encode::integer(o, -42)), b":-42\r\n");
    assert_eq!(
        bytes(|o| encode::integer(o, i64::MIN)),
        b":-9223372036854775808\r\n"
    );
    assert_eq!(
        bytes(|o| encode::integer(o, i64::MAX)),
        b":9223372036854775807\r\n"
    );
    assert_eq!(bytes(|o| encode::bulk(o, b"")), b"$0\r\n\r\n");
    assert_eq!(bytes(|o| encode::bulk(o, b"a\r\nb")), b"$4\r\na\r\nb\r\n");
    assert_eq!(bytes(encode::null_bulk), b"$-1\r\n");
    assert_eq!(bytes(|o| encode::array_header(o, 0)), b"*0\r\n");
    assert_eq!(bytes(|o| encode::array_header(o, 12)), b"*12\r\n");
    assert_eq!(bytes(encode::null_array), b"*-1\r\n");
}

#[test]
fn replies_append_to_what_is_already_there() {
    let mut out = b"+OK\r\n".to_vec();
    encode::integer(&mut out, 7);
    encode::bulk(&mut out, b"x");
    assert_eq!(out, b"+OK\r\n:7\r\n$1\r\nx\r\n");
}

#[test]
fn a_binary_bulk_holds_all_256_byte_values() {
    let every: Vec<u8> = (0..=255u8).collect();
    let out = bytes(|o| encode::bulk(o, &every));
    assert_eq!(&out[..6], b"$256\r\n");
    assert_eq!(&out[6..262], &every[..]);
    assert_eq!(&out[262..], b"\r\n");
}

#[test]
fn pubsub_frames_are_redis_frames() {
    assert_eq!(
        bytes(|o| encode::message(o, b"news", b"hello")),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    assert_eq!(
        bytes(|o| encode::pmessage(o, b"n*", b"news", b"")),
        b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$0\r\n\r\n"
    );
    assert_eq!(
        bytes(|o| encode::subscribe(o, b"a", 1)),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        bytes(|o| encode::unsubscribe(o, Some(b"a"), 0)),
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n"
    );
    assert_eq!(
        bytes(|o| encode::unsubscribe(o, None, 0)),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        bytes(|o| encode::psubscribe(o, b"n*", 2)),
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n"
    );
    assert_eq!(
        bytes(|o| encode::punsubscribe(o, None, 0)),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
}

#[test]
fn a_bulk_array_reply_parses_back_as_a_request() {
    // A reply of bulk strings has the shape of a multibulk request, so our own parser reads it.
    let out = bytes(|o| encode::message(o, b"ch", b"\r\n\x00payload"));
    let (req, used) = parse_request(&out, &Limits::default()).unwrap().unwrap();
    assert_eq!(used, out.len());
    assert_eq!(req.args(), [&b"message"[..], b"ch", b"\r\n\x00payload"]);
}

#[test]
fn encoding_reuses_the_output_capacity() {
    let mut out = Vec::with_capacity(256);
    let ptr = out.as_ptr();
    for _ in 0..3 {
        out.clear();
        encode::message(&mut out, b"news", b"hello");
        encode::integer(&mut out, i64::MIN);
    }
    assert_eq!(out.as_ptr(), ptr, "no reallocation when the capacity suffices");
}
