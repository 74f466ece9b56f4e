//! The argument cursor: command-name matching, typed arguments, Redis's arity and integer errors.

use std::borrow::Cow;

use nanostream_net::resp::{parse_request, Args, CommandError, Limits, Request};

fn request(line: &[u8]) -> Request<'_> {
    parse_request(line, &Limits::default()).unwrap().unwrap().0
}

#[test]
fn command_names_match_ignoring_ascii_case() {
    for line in [&b"publish a b\r\n"[..], b"PUBLISH a b\r\n", b"PuBlIsH a b\r\n"] {
        let req = request(line);
        let args = Args::new(req.args()).unwrap();
        assert!(args.name_is("publish"));
        assert!(args.name_is("PUBLISH"));
        assert!(!args.name_is("publis"));
        assert!(!args.name_is("publishx"));
    }
    // Only ASCII folds, as in Redis's `strcasecmp`.
    let req = request("\"pub\u{0130}\"\r\n".as_bytes());
    assert!(!Args::new(req.args()).unwrap().name_is("pubi"));
}

#[test]
fn empty_requests_have_no_cursor() {
    let req = request(b"*0\r\n");
    assert!(Args::new(req.args()).is_none());
}

#[test]
fn typed_arguments_in_order() {
    let req = request(b"*5\r\n$3\r\nCMD\r\n$3\r\nabc\r\n$2\r\n-7\r\n$2\r\n\xff\xfe\r\n$1\r\nz\r\n");
    let mut args = Args::new(req.args()).unwrap().command("cmd");
    assert_eq!(args.name(), b"CMD");
    assert_eq!(args.remaining(), 4);
    assert_eq!(args.next_str(), Ok("abc"));
    assert_eq!(args.next_i64(), Ok(-7));
    assert_eq!(args.next_str(), Err(CommandError::NotUtf8));
    assert_eq!(args.finish(), Err(CommandError::WrongArity("cmd")));
    assert_eq!(args.rest().collect::<Vec<_>>(), [b"z"]);
    assert_eq!(args.finish(), Ok(()));
    assert_eq!(args.next_bytes(), Err(CommandError::WrongArity("cmd")));
}

#[test]
fn integers_follow_string2ll() {
    let cases: &[(&[u8], Option<i64>)] = &[
        (b"0", Some(0)),
        (b"42", Some(42)),
        (b"-42", Some(-42)),
        (b"9223372036854775807", Some(i64::MAX)),
        (b"-9223372036854775808", Some(i64::MIN)),
        (b"9223372036854775808", None),
        (b"+1", None),
        (b" 1", None),
        (b"1 ", None),
        (b"01", None),
        (b"-0", None),
        (b"", None),
        (b"1e3", None),
    ];
    for (text, want) in cases {
        let all = [Cow::Borrowed(&b"incrby"[..]), Cow::Borrowed(*text)];
        let mut args = Args::new(&all).unwrap().command("incrby");
        assert_eq!(args.next_i64().ok(), *want, "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn errors_read_as_redis_replies() {
    assert_eq!(
        CommandError::WrongArity("publish").to_string(),
        "ERR wrong number of arguments for 'publish' command"
    );
    assert_eq!(
        CommandError::NotInteger.to_string(),
        "ERR value is not an integer or out of range"
    );
    let req = request(b"PUBLISH onlychannel\r\n");
    let mut args = Args::new(req.args()).unwrap().command("publish");
    args.next_bytes().unwrap();
    let e = args.next_bytes().unwrap_err();
    let mut out = Vec::new();
    nanostream_net::resp::encode::error(&mut out, &e.to_string());
    assert_eq!(out, b"-ERR wrong number of arguments for 'publish' command\r\n");
}

#[test]
fn arguments_borrow_from_the_read_buffer() {
    let input = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    let req = request(input);
    let mut args = Args::new(req.args()).unwrap();
    let hello = args.next_bytes().unwrap();
    assert!(input.as_ptr_range().contains(&hello.as_ptr()));
}
