//! The `redis` crate (sync API) against redis-server and the broker: commands, pub/sub through
//! `as_pubsub()`, patterns, binary and 1 MiB payloads, pipelines of 1,000 commands, and AUTH
//! through the URL.

mod common;

use std::time::Duration;

use common::{Server, Target};
use redis::{Client, Connection, ErrorKind};

/// Every read waits at most this long, so a message that never comes fails the test.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn connect(url: &str) -> Connection {
    let client = Client::open(url).expect("a valid URL");
    let con = client
        .get_connection_with_timeout(READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    con.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    con.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    con
}

fn start(target: Target, args: &[&str]) -> Server {
    match target {
        Target::Broker => Server::broker(args),
        Target::Redis => Server::redis(args),
    }
}

fn commands(target: Target) {
    let server = start(target, &[]);
    let mut con = connect(&server.url());
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let echoed: Vec<u8> = redis::cmd("ECHO")
        .arg(&b"a\r\nb\x00c"[..])
        .query(&mut con)
        .unwrap();
    assert_eq!(echoed, b"a\r\nb\x00c");
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("nobody")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(receivers, 0);
    let () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("crate")
        .query(&mut con)
        .unwrap();
    let name: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name.as_deref(), Some("crate"));
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(id > 0);
    let err = redis::cmd("NOSUCHCOMMAND").query::<()>(&mut con).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResponseError, "{err}");
    assert!(err.to_string().contains("unknown command"), "{err}");
    // The connection is still usable after an error reply.
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

fn pubsub(target: Target) {
    let server = start(target, &[]);
    let mut publisher = connect(&server.url());
    let mut sub_con = connect(&server.url());
    {
        let mut sub = sub_con.as_pubsub();
        sub.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        sub.subscribe("ch").unwrap(); // returns once the server confirmed
        sub.psubscribe("h[ae]llo").unwrap();
        sub.psubscribe("bin.*").unwrap();

        let publish = |con: &mut Connection, channel: &[u8], payload: &[u8]| -> i64 {
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(payload)
                .query(con)
                .unwrap()
        };
        assert_eq!(publish(&mut publisher, b"ch", b"plain"), 1);
        let msg = sub.get_message().unwrap();
        assert_eq!(msg.get_channel_name(), "ch");
        assert_eq!(msg.get_payload_bytes(), b"plain");
        assert!(!msg.from_pattern());

        assert_eq!(publish(&mut publisher, b"hallo", b"patterned"), 1);
        assert_eq!(publish(&mut publisher, b"hillo", b"nobody"), 0);
        let msg = sub.get_message().unwrap();
        assert!(msg.from_pattern());
        assert_eq!(msg.get_pattern::<String>().unwrap(), "h[ae]llo");
        assert_eq!(msg.get_channel_name(), "hallo");
        assert_eq!(msg.get_payload_bytes(), b"patterned");

        // Binary payloads: every byte value, CRLF inside, empty, and 1 MiB.
        let all_bytes: Vec<u8> = (0..=255u8).collect();
        let mebibyte: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let payloads: Vec<&[u8]> = vec![&all_bytes, b"one\r\ntwo\r\n", b"$5\r\nhello\r\n", b"", &mebibyte];
        let channel: &[u8] = b"bin.\x00\xff\r\n";
        for payload in &payloads {
            assert_eq!(publish(&mut publisher, channel, payload), 1);
        }
        for payload in &payloads {
            let msg = sub.get_message().unwrap();
            assert_eq!(msg.get_channel::<Vec<u8>>().unwrap(), channel);
            assert_eq!(msg.get_pattern::<Vec<u8>>().unwrap(), b"bin.*");
            assert!(
                msg.get_payload_bytes() == *payload,
                "payload of {} bytes differs",
                payload.len()
            );
        }
    }
    // Dropping the PubSub unsubscribes everything; the connection answers normally again.
    let pong: String = redis::cmd("PING").query(&mut sub_con).unwrap();
    assert_eq!(pong, "PONG");
    let numpat: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut publisher).unwrap();
    assert_eq!(numpat, 0);
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("ch")
        .arg("x")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(receivers, 0);
}

fn pipelines(target: Target) {
    let server = start(target, &[]);
    let mut publisher = connect(&server.url());
    let mut sub_con = connect(&server.url());
    let mut sub = sub_con.as_pubsub();
    sub.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    sub.subscribe("seq").unwrap();

    let mut pipe = redis::pipe();
    for i in 0..1_000 {
        pipe.cmd("PUBLISH").arg("seq").arg(i.to_string());
    }
    let receivers: Vec<i64> = pipe.query(&mut publisher).unwrap();
    assert_eq!(receivers, vec![1; 1_000]);
    for i in 0..1_000 {
        let msg = sub.get_message().unwrap();
        assert_eq!(msg.get_payload_bytes(), i.to_string().as_bytes(), "message {i}");
    }

    // Mixed commands in one pipeline come back in order.
    let mut pipe = redis::pipe();
    for i in 0..1_000 {
        match i % 3 {
            0 => pipe.cmd("PING"),
            1 => pipe.cmd("ECHO").arg(format!("e{i}")),
            _ => pipe.cmd("PUBSUB").arg("NUMSUB").arg("seq"),
        };
    }
    let replies: Vec<redis::Value> = pipe.query(&mut publisher).unwrap();
    assert_eq!(replies.len(), 1_000);
    for (i, reply) in replies.iter().enumerate() {
        let ok = match (i % 3, reply) {
            (0, redis::Value::SimpleString(s)) => s == "PONG",
            (1, redis::Value::BulkString(b)) => *b == format!("e{i}").into_bytes(),
            (2, redis::Value::Array(items)) => {
                *items == [redis::Value::BulkString(b"seq".to_vec()), redis::Value::Int(1)]
            }
            _ => false,
        };
        assert!(ok, "reply {i}: {reply:?}");
    }
}

fn auth(target: Target) {
    let server = start(target, &["--requirepass", "crate-pw"]);
    let url = format!("redis://:crate-pw@127.0.0.1:{}/", server.port);
    let mut con = connect(&url);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    // A username in the URL: AUTH default crate-pw.
    let mut named = connect(&format!("redis://default:crate-pw@127.0.0.1:{}/", server.port));
    let receivers: i64 = redis::cmd("PUBLISH").arg("a").arg("b").query(&mut named).unwrap();
    assert_eq!(receivers, 0);

    let err = Client::open(format!("redis://:wrong@127.0.0.1:{}/", server.port))
        .unwrap()
        .get_connection_with_timeout(READ_TIMEOUT)
        .err()
        .expect("a wrong password must not connect");
    assert!(
        err.to_string().contains("WRONGPASS") || err.kind() == ErrorKind::AuthenticationFailed,
        "{err}"
    );

    let mut anonymous = connect(&server.url());
    let err = redis::cmd("PING").query::<String>(&mut anonymous).unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
}

#[test]
fn commands_on_redis() {
    commands(Target::Redis);
}

#[test]
fn commands_on_broker() {
    commands(Target::Broker);
}

#[test]
fn pubsub_on_redis() {
    pubsub(Target::Redis);
}

#[test]
fn pubsub_on_broker() {
    pubsub(Target::Broker);
}

#[test]
fn pipelines_on_redis() {
    pipelines(Target::Redis);
}

#[test]
fn pipelines_on_broker() {
    pipelines(Target::Broker);
}

#[test]
fn auth_on_redis() {
    auth(Target::Redis);
}

#[test]
fn auth_on_broker() {
    auth(Target::Broker);
}
