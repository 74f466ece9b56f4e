//! The broker's HTTP/WebSocket API (`--http-port`) against its contract, each test on a broker
//! of its own with a fresh data directory:
//!
//! - produce: a JSON object (any JSON value stored as its compact text, field order kept), an
//!   NDJSON batch (IDs in order; a bad line refuses the whole batch and says which), a raw body
//!   of any other type as field `data`; `maxlen`; 400 on empty or bad bodies, 413 over
//!   `--max-payload`, 415 for a JSON-only route sent text;
//! - consume: `from`/`limit`/`next` paging without gap or repeat, a bare-ms `from`, `$`, bad
//!   parameters (400), a missing topic (404); a long-poll (`wait=10000`) answered with the entry
//!   an `XADD` from a RESP client adds meanwhile, and a `wait` that expires with no messages;
//! - binary: non-UTF-8 bytes POSTed raw read back as `{"base64": ...}` and raw with
//!   `Accept: application/octet-stream` (`NanoStream-Id`/`NanoStream-Next`, 204, 406), and the
//!   other way, `XADD` of binary read over HTTP;
//! - topics: list, describe, delete; names percent-decoded (`%2F`);
//! - RESP and HTTP on one broker: `XADD` read over HTTP, a POST read by `XREADGROUP`, a group
//!   made over RESP read and acknowledged over HTTP and the acks seen by `XPENDING`;
//! - consumer groups: create (`from`, 409, 404, `create_topic`), list, read (new entries, a
//!   long-poll, history with `from`, a deleted pending entry as `fields: null`), ack, pending
//!   (summary, consumer and idle filters); HTTP requests in progress counted as clients;
//! - channels: `POST /channels/{c}` reaches a RESP subscriber and answers the receivers count;
//! - WebSocket: channel and pattern subscriptions (JSON and `format=raw`), a topic replayed
//!   from `-` while entries are being added (exactly every entry, in order, once), `from=$`,
//!   404/400 before the upgrade, and a subscriber that never reads cut off with close code 1008
//!   at `--client-output-limit` while a reading one and the publisher carry on;
//! - auth with `--requirepass` (401 with `WWW-Authenticate: Bearer`, Bearer tokens, `?token=`
//!   on WebSockets, the open routes), 404/405 for unknown routes and methods, `/stats`,
//!   `/ws/stats`, the dashboard's files;
//! - a full disk (a small tmpfs, which needs root or `unshare -rm`): POSTs answer 507 and the
//!   broker keeps every entry it acknowledged.
//!
//! Nothing here asserts how long anything took; every wait has a deadline and every loop a bound.

mod broker;
mod common;
mod hostile;
mod http_support;
mod streams_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use broker::{Conn, Reply};
use common::wait_for;
use http_support::{
    id_in, id_of, segment, ws_binary, ws_connect, ws_json, ws_next, HttpBroker, Response, WsEvent,
};

/// How long to wait for something that must happen.
const DEADLINE: Duration = Duration::from_secs(30);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn messages_path(topic: &str) -> String {
    format!("/topics/{}/messages", segment(topic.as_bytes()))
}

fn resp(b: &HttpBroker) -> Conn {
    let mut conn = Conn::open(&b.server);
    if let Some(password) = &b.password {
        assert_eq!(
            conn.call(&[b"AUTH", password.as_bytes()]),
            Reply::Status("OK".into())
        );
    }
    conn
}

/// `XADD key * field value ...` over RESP; returns the ID.
fn xadd(conn: &mut Conn, key: &[u8], fields: &[(&[u8], &[u8])]) -> String {
    let mut args: Vec<&[u8]> = vec![b"XADD", key, b"*"];
    for (f, v) in fields {
        args.push(f);
        args.push(v);
    }
    match conn.call(&args) {
        Reply::Bulk(Some(id)) => String::from_utf8(id).unwrap(),
        other => panic!("XADD: {other:?}"),
    }
}

fn call_ok(conn: &mut Conn, args: &[&[u8]]) -> Reply {
    let reply = conn.call(args);
    if let Reply::Error(e) = &reply {
        panic!("{:?}: -{e}", String::from_utf8_lossy(&args.join(&b' ')));
    }
    reply
}

/// POSTs one JSON entry; returns its ID.
fn post_entry(b: &HttpBroker, topic: &str, fields: &Value) -> String {
    let reply = b
        .post_json(&messages_path(topic), fields)
        .expect(201, "POST a JSON entry");
    id_in(&reply)
}

/// `GET /topics/{topic}/messages?query`, expecting 200.
fn read(b: &HttpBroker, topic: &str, query: &str) -> Value {
    b.get(&format!("{}?{query}", messages_path(topic)))
        .expect(200, &format!("GET {topic} ?{query}"))
}

fn messages(reply: &Value) -> &Vec<Value> {
    reply["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("a \"messages\" array in {reply}"))
}

fn ids(reply: &Value) -> Vec<String> {
    messages(reply).iter().map(id_in).collect()
}

/// `connected_clients` from `INFO clients`.
fn connected_clients(conn: &mut Conn) -> u64 {
    let info = call_ok(conn, &[b"INFO", b"clients"]);
    let text = String::from_utf8_lossy(info.bulk()).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connected_clients in {text:?}"))
}

/// Publishes `probe` on `channel` until `receivers` subscribers receive it (a WebSocket
/// subscription is made after the upgrade, so this is how a test knows it is in place).
fn wait_for_receivers(conn: &mut Conn, channel: &[u8], receivers: i64) {
    let mut last = 0;
    assert!(
        wait_for(DEADLINE, || {
            last = call_ok(conn, &[b"PUBLISH", channel, b"probe"]).int();
            last >= receivers
        }),
        "PUBLISH {} reached {last} subscribers, not {receivers}, within {DEADLINE:?}",
        String::from_utf8_lossy(channel)
    );
}

/// The next WebSocket JSON frame that is not a readiness probe.
fn ws_json_after_probes(ws: &mut http_support::Ws, what: &str) -> Value {
    for _ in 0..100_000 {
        let frame = ws_json(ws, what);
        if frame["data"] != json!("probe") {
            return frame;
        }
    }
    panic!("{what}: only probes")
}

/// The next binary frame that is not a readiness probe.
fn ws_binary_after_probes(ws: &mut http_support::Ws, what: &str) -> Vec<u8> {
    for _ in 0..100_000 {
        let frame = ws_binary(ws, what);
        if frame != b"probe" {
            return frame;
        }
    }
    panic!("{what}: only probes")
}

// ---------------------------------------------------------------------------------------------
// Produce

#[test]
fn post_json_entry_keeps_values_and_field_order() {
    let b = HttpBroker::start("http-json", &[]);
    let body = r#"{"zeta": "z", "alpha": 1, "mid": {"a": [1, 2]}, "flag": true, "none": null, "b": {"base64": "//4="}}"#;
    let reply = b.post("/topics/orders/messages", "application/json", body.as_bytes());
    let id = id_in(&reply.expect(201, "POST a JSON object"));
    id_of(&id);
    assert!(
        reply
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "{:?}",
        reply.headers
    );

    let got = b.get("/topics/orders/messages");
    let value = got.expect(200, "GET the topic");
    assert_eq!(value["topic"], json!("orders"));
    assert_eq!(ids(&value), vec![id.clone()]);
    let fields = &messages(&value)[0]["fields"];
    assert_eq!(fields["zeta"], json!("z"));
    assert_eq!(fields["alpha"], json!("1"), "a number is stored as its JSON text");
    assert_eq!(
        fields["mid"],
        json!(r#"{"a":[1,2]}"#),
        "an object as its compact JSON text"
    );
    assert_eq!(fields["flag"], json!("true"));
    assert_eq!(fields["none"], json!("null"));
    assert_eq!(
        fields["b"],
        json!({"base64": "//4="}),
        "bytes ff fe are not UTF-8"
    );
    // Field order is the stream's order: check it in the response text itself.
    let text = got.text();
    let at = |name: &str| {
        text.find(&format!("\"{name}\""))
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    assert!(
        at("zeta") < at("alpha") && at("alpha") < at("mid") && at("mid") < at("flag"),
        "fields in the order they were posted: {text}"
    );
    assert_eq!(
        value["next"].as_str().map(id_of),
        Some((id_of(&id).0, id_of(&id).1 + 1))
    );

    // The same entry over RESP: values as stored bytes.
    let mut conn = resp(&b);
    let reply = call_ok(&mut conn, &[b"XRANGE", b"orders", b"-", b"+"]);
    let entry = reply.items()[0].items();
    let fields: Vec<Vec<u8>> = entry[1].items().iter().map(|f| f.bulk().to_vec()).collect();
    assert_eq!(
        fields,
        [
            &b"zeta"[..],
            b"z",
            b"alpha",
            b"1",
            b"mid",
            br#"{"a":[1,2]}"#,
            b"flag",
            b"true",
            b"none",
            b"null",
            b"b",
            b"\xff\xfe"
        ]
        .map(<[u8]>::to_vec)
    );
}

#[test]
fn post_bad_bodies_are_refused_with_400() {
    let b = HttpBroker::start("http-bad", &[]);
    let path = "/topics/t/messages";
    for (content_type, body, what) in [
        ("application/json", &b""[..], "an empty JSON body"),
        ("application/json", b"{}", "an empty object"),
        ("application/json", b"{\"a\": ", "truncated JSON"),
        ("application/json", b"[1, 2]", "an array"),
        ("application/json", b"\"text\"", "a string"),
        (
            "application/json",
            b"{\"b\": {\"base64\": \"not base64!\"}}",
            "bad base64",
        ),
        ("application/x-ndjson", b"", "an empty NDJSON body"),
        ("application/x-ndjson", b"\n\n", "NDJSON with only blank lines"),
    ] {
        b.post(path, content_type, body).expect_error(400, what);
    }
    // Nothing was made by any of them.
    b.get("/topics/t")
        .expect_error(404, "no topic after refused POSTs");
    b.get("/topics/t/messages")
        .expect_error(404, "no topic after refused POSTs");
}

#[test]
fn post_ndjson_batch_is_all_or_nothing() {
    let b = HttpBroker::start("http-ndjson", &[]);
    let body = "{\"n\": \"1\"}\n\n{\"n\": \"2\"}\r\n{\"n\": 3, \"x\": \"y\"}\n{\"n\": \"4\"}";
    let reply = b
        .post("/topics/batch/messages", "application/x-ndjson", body.as_bytes())
        .expect(201, "an NDJSON batch");
    let posted: Vec<String> = reply["ids"]
        .as_array()
        .unwrap_or_else(|| panic!("\"ids\" in {reply}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(posted.len(), 4, "one ID per non-blank line: {reply}");
    assert!(
        posted.windows(2).all(|w| id_of(&w[0]) < id_of(&w[1])),
        "IDs in order: {posted:?}"
    );
    let value = read(&b, "batch", "");
    assert_eq!(ids(&value), posted);
    let ns: Vec<&Value> = messages(&value).iter().map(|m| &m["fields"]["n"]).collect();
    assert_eq!(ns, [&json!("1"), &json!("2"), &json!("3"), &json!("4")]);

    // A bad third line: 400 naming line 3, and nothing of the batch added.
    let bad = "{\"n\": \"5\"}\n{\"n\": \"6\"}\n{\"n\": \n{\"n\": \"8\"}\n";
    let message = b
        .post("/topics/batch/messages", "application/x-ndjson", bad.as_bytes())
        .expect_error(400, "an NDJSON batch with a bad line");
    assert!(message.contains('3'), "the error names line 3: {message:?}");
    let bad_object = "{\"n\": \"5\"}\n[1]\n";
    let message = b
        .post(
            "/topics/batch/messages",
            "application/x-ndjson",
            bad_object.as_bytes(),
        )
        .expect_error(400, "an NDJSON line that is not an object");
    assert!(message.contains('2'), "the error names line 2: {message:?}");
    assert_eq!(
        ids(&read(&b, "batch", "")),
        posted,
        "nothing added by a refused batch"
    );
    // The same on a topic that does not exist yet: it is not made.
    b.post("/topics/fresh/messages", "application/x-ndjson", bad.as_bytes())
        .expect_error(400, "a bad batch to a new topic");
    b.get("/topics/fresh")
        .expect_error(404, "a refused batch makes no topic");
}

#[test]
fn post_raw_bodies_become_field_data() {
    let b = HttpBroker::start("http-raw", &[]);
    let mut expected = Vec::new();
    for (content_type, body) in [
        (Some("text/plain"), &b"plain text"[..]),
        (Some("application/octet-stream"), b"octets"),
        (None, b"no type at all"),
        (Some("application/xml"), b"<a/>"),
    ] {
        let headers: Vec<(&str, &str)> = content_type.iter().map(|t| ("Content-Type", *t)).collect();
        let reply = b.call("POST", "/topics/raw/messages", &headers, body);
        let id = id_in(&reply.expect(201, &format!("a raw body as {content_type:?}")));
        expected.push(json!({"id": id, "fields": {"data": String::from_utf8(body.to_vec()).unwrap()}}));
    }
    assert_eq!(messages(&read(&b, "raw", "")), &expected);
}

#[test]
fn maxlen_trims_and_is_checked() {
    let b = HttpBroker::start("http-maxlen", &[]);
    for i in 0..50 {
        b.post_json("/topics/trim/messages?maxlen=10", &json!({"i": i}))
            .expect(201, "POST with maxlen=10");
    }
    let info = b.get("/topics/trim").expect(200, "describe the topic");
    let length = info["length"].as_u64().unwrap();
    assert!(
        (10..=50).contains(&length),
        "trimmed to about 10 (never below): {info}"
    );
    assert_eq!(info["entries_added"], json!(50));
    for bad in ["abc", "-1", "1.5"] {
        b.post_json(&format!("/topics/trim/messages?maxlen={bad}"), &json!({"i": 0}))
            .expect_error(400, &format!("maxlen={bad}"));
    }
}

#[test]
fn payload_over_max_payload_is_413() {
    let b = HttpBroker::start("http-413", &["--max-payload", "1kb"]);
    let big = vec![b'x'; 4096];
    b.post("/topics/t/messages", "application/octet-stream", &big)
        .expect_error(413, "a 4 KiB raw body over a 1 KiB --max-payload");
    let json_body = format!("{{\"a\": \"{}\"}}", "y".repeat(4096));
    b.post("/topics/t/messages", "application/json", json_body.as_bytes())
        .expect_error(413, "a 4 KiB JSON body");
    b.post("/channels/c", "application/octet-stream", &big)
        .expect_error(413, "a 4 KiB channel message");
    b.get("/topics/t").expect_error(404, "nothing was added");
    // Under the limit it goes through.
    b.post("/topics/t/messages", "application/octet-stream", &[b'x'; 100])
        .expect(201, "100 bytes under 1 KiB");
    assert_eq!(
        b.post("/channels/c", "text/plain", b"small")
            .expect(200, "a small message")["receivers"],
        json!(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Consume

#[test]
fn reading_pages_through_with_next() {
    let b = HttpBroker::start("http-pages", &[]);
    let posted: Vec<String> = (0..25)
        .map(|i| post_entry(&b, "p", &json!({"i": i.to_string()})))
        .collect();

    let all = read(&b, "p", "");
    assert_eq!(ids(&all), posted, "from absent: the start, default limit 100");
    assert_eq!(ids(&read(&b, "p", "from=-")), posted);

    let mut seen = Vec::new();
    let mut from = "-".to_string();
    for _ in 0..20 {
        let page = read(&b, "p", &format!("from={from}&limit=7"));
        let got = ids(&page);
        assert!(got.len() <= 7, "limit 7: {page}");
        let next = page["next"].as_str().expect("next").to_string();
        if got.is_empty() {
            assert_eq!(next, from, "next is the resolved from when nothing came");
            break;
        }
        let (ms, seq) = id_of(got.last().unwrap());
        assert_eq!(
            id_of(&next),
            (ms, seq + 1),
            "next is the successor of the last ID"
        );
        seen.extend(got);
        from = next;
    }
    assert_eq!(seen, posted, "every entry once, in order, across pages");

    // `from` inclusive, and a bare ms means ms-0.
    let third = &posted[2];
    assert_eq!(
        ids(&read(&b, "p", &format!("from={third}&limit=1"))),
        vec![third.clone()]
    );
    let (ms, _) = id_of(&posted[0]);
    let bare = read(&b, "p", &format!("from={ms}&limit=1"));
    assert_eq!(ids(&bare), vec![posted[0].clone()], "from={ms} is {ms}-0");
    // `$`: only entries added after the request, so none now.
    let dollar = read(&b, "p", "from=$");
    assert!(messages(&dollar).is_empty(), "from=$ without wait: {dollar}");

    for bad in [
        "limit=0",
        "limit=10001",
        "limit=abc",
        "limit=-1",
        "wait=300001",
        "wait=-5",
        "wait=soon",
        "from=bogus",
        "from=1-2-3",
    ] {
        b.get(&format!("/topics/p/messages?{bad}"))
            .expect_error(400, &format!("GET ?{bad}"));
    }
    assert_eq!(ids(&read(&b, "p", "limit=10000")).len(), 25);
    b.get("/topics/missing/messages")
        .expect_error(404, "a topic that does not exist");
    b.get("/topics/missing/messages?wait=1000")
        .expect_error(404, "a topic that does not exist, with wait");
}

#[test]
fn long_poll_is_woken_by_a_resp_xadd() {
    let b = HttpBroker::start("http-longpoll", &[]);
    let mut conn = resp(&b);
    xadd(&mut conn, b"live", &[(b"n", b"0")]);
    let next = read(&b, "live", "")["next"].as_str().unwrap().to_string();
    let before = connected_clients(&mut conn);

    let http = b.http;
    let path = format!("/topics/live/messages?from={next}&wait=10000");
    let poller = std::thread::spawn(move || http_support::request(http, "GET", &path, &[], b""));
    // The request in progress is a client of the broker: once it is counted, it is waiting.
    // (If it is not counted, `http_requests_in_progress_are_clients` says so; this test still
    // checks the answer.)
    wait_for(Duration::from_secs(5), || connected_clients(&mut conn) > before);
    let id = xadd(&mut conn, b"live", &[(b"n", b"1")]);
    let reply = poller.join().unwrap().expect(200, "the long-poll");
    assert_eq!(
        ids(&reply),
        vec![id.clone()],
        "the long-poll answers the new entry: {reply}"
    );
    assert_eq!(messages(&reply)[0]["fields"], json!({"n": "1"}));

    // from=$ with wait: what arrives after the request is answered.
    let path = "/topics/live/messages?from=$&wait=10000".to_string();
    let poller = std::thread::spawn(move || http_support::request(http, "GET", &path, &[], b""));
    let mut added = Vec::new();
    // Until the poller has its answer, keep adding (bounded): the first entry added after the
    // request arrived is what it answers.
    for i in 0..200 {
        if poller.is_finished() {
            break;
        }
        wait_for(Duration::from_millis(50), || poller.is_finished());
        added.push(xadd(&mut conn, b"live", &[(b"k", i.to_string().as_bytes())]));
    }
    let reply = poller.join().unwrap().expect(200, "a from=$ long-poll");
    let got = ids(&reply);
    assert!(!got.is_empty(), "from=$ with wait answered an entry: {reply}");
    assert!(
        got.iter().all(|id| added.contains(id)) && id_of(&got[0]) > id_of(&id),
        "only entries added after the request: {got:?} of {added:?}"
    );
}

#[test]
fn wait_expires_with_no_messages() {
    let b = HttpBroker::start("http-wait", &[]);
    let id = post_entry(&b, "quiet", &json!({"a": "b"}));
    let next = read(&b, "quiet", "")["next"].as_str().unwrap().to_string();
    assert_ne!(next, id);
    let reply = read(&b, "quiet", &format!("from={next}&wait=300"));
    assert_eq!(messages(&reply).len(), 0, "nothing arrived: {reply}");
    assert_eq!(reply["next"], json!(next), "next is the from asked");
    let reply = read(&b, "quiet", "from=$&wait=200");
    assert_eq!(messages(&reply).len(), 0, "from=$ and nothing arrived: {reply}");
}

#[test]
fn http_requests_in_progress_are_clients() {
    let b = HttpBroker::start("http-clients", &[]);
    let mut conn = resp(&b);
    post_entry(&b, "t", &json!({"a": "b"}));
    let before = connected_clients(&mut conn);
    let http = b.http;
    let poller = std::thread::spawn(move || {
        http_support::request(http, "GET", "/topics/t/messages?from=$&wait=60000", &[], b"")
    });
    let counted = wait_for(DEADLINE, || connected_clients(&mut conn) > before);
    let list = String::from_utf8_lossy(call_ok(&mut conn, &[b"CLIENT", b"LIST"]).bulk()).into_owned();
    assert!(
        counted,
        "a long-poll in progress shows in INFO clients (before: {before}); CLIENT LIST: {list}"
    );
    // Counted once it arrived: the next entry is what it answers.
    let id = xadd(&mut conn, b"t", &[(b"c", b"d")]);
    let reply = poller.join().unwrap().expect(200, "the long-poll");
    assert_eq!(ids(&reply), vec![id]);
    assert!(
        wait_for(DEADLINE, || connected_clients(&mut conn) == before),
        "the answered request is no longer a client"
    );
}

// ---------------------------------------------------------------------------------------------
// Binary

#[test]
fn binary_round_trips() {
    let b = HttpBroker::start("http-binary", &[]);
    let bytes: Vec<u8> = vec![0xff, 0x00, 0xfe, b'\r', b'\n', 0x80, 0xc3, 0x28];
    let id = id_in(
        &b.post("/topics/bin/messages", "application/octet-stream", &bytes)
            .expect(201, "POST raw bytes"),
    );
    let value = read(&b, "bin", "");
    assert_eq!(
        messages(&value)[0],
        json!({"id": id, "fields": {"data": {"base64": b64(&bytes)}}}),
        "non-UTF-8 bytes read back as base64"
    );

    let raw = b.call(
        "GET",
        "/topics/bin/messages",
        &[("Accept", "application/octet-stream")],
        b"",
    );
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(
        raw.body, bytes,
        "the raw bytes with Accept: application/octet-stream"
    );
    assert_eq!(raw.header("nanostream-id"), Some(id.as_str()));
    let next = raw
        .header("nanostream-next")
        .expect("NanoStream-Next")
        .to_string();
    assert_eq!(id_of(&next), (id_of(&id).0, id_of(&id).1 + 1));
    // Nothing after it: 204 with NanoStream-Next.
    let none = b.call(
        "GET",
        &format!("/topics/bin/messages?from={next}"),
        &[("Accept", "application/octet-stream")],
        b"",
    );
    assert_eq!(none.status, 204, "{}", none.text());
    assert_eq!(none.header("nanostream-next"), Some(next.as_str()));
    // An entry without `data`: 406.
    post_entry(&b, "bin", &json!({"other": "x"}));
    let refused = b.call(
        "GET",
        &format!("/topics/bin/messages?from={next}"),
        &[("Accept", "application/octet-stream")],
        b"",
    );
    assert_eq!(refused.status, 406, "{}", refused.text());

    // A base64 value in a JSON body is stored as its bytes.
    post_entry(&b, "bin2", &json!({"data": {"base64": b64(&bytes)}, "t": "x"}));
    let mut conn = resp(&b);
    let reply = call_ok(&mut conn, &[b"XRANGE", b"bin2", b"-", b"+"]);
    assert_eq!(reply.items()[0].items()[1].items()[1].bulk(), &bytes[..]);

    // The other way: XADD of binary over RESP, read over HTTP both ways.
    let resp_id = xadd(
        &mut conn,
        b"bin3",
        &[(b"data", &bytes), (b"text", b"caf\xc3\xa9")],
    );
    let value = read(&b, "bin3", "");
    assert_eq!(
        messages(&value)[0],
        json!({"id": resp_id, "fields": {"data": {"base64": b64(&bytes)}, "text": "café"}})
    );
    let raw = b.call(
        "GET",
        "/topics/bin3/messages",
        &[("Accept", "application/octet-stream")],
        b"",
    );
    assert_eq!((raw.status, raw.body.clone()), (200, bytes.clone()));
    assert_eq!(raw.header("nanostream-id"), Some(resp_id.as_str()));
}

// ---------------------------------------------------------------------------------------------
// Topics

#[test]
fn topics_list_describe_delete() {
    let b = HttpBroker::start("http-topics", &[]);
    assert_eq!(b.get("/topics").expect(200, "no topics"), json!({"topics": []}));
    let mut conn = resp(&b);
    let first = xadd(&mut conn, b"zeta", &[(b"a", b"1")]);
    let second = xadd(&mut conn, b"zeta", &[(b"a", b"2")]);
    post_entry(&b, "alpha", &json!({"b": "1"}));
    // A name with a slash, written %2F, and one with a space.
    let slashed = post_entry(&b, "a/b c", &json!({"c": "1"}));
    assert_eq!(
        call_ok(&mut conn, &[b"XLEN", b"a/b c"]).int(),
        1,
        "the name is percent-decoded"
    );
    call_ok(&mut conn, &[b"XGROUP", b"CREATE", b"zeta", b"g", b"0"]);

    let list = b.get("/topics").expect(200, "GET /topics");
    let names: Vec<&str> = list["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a/b c", "alpha", "zeta"], "sorted by name: {list}");
    assert_eq!(
        list["topics"][2],
        json!({"name": "zeta", "length": 2, "first_id": first, "last_id": second, "groups": 1})
    );
    assert_eq!(list["topics"][0]["first_id"], json!(slashed));

    let zeta = b.get("/topics/zeta").expect(200, "describe zeta");
    assert_eq!(zeta["name"], json!("zeta"));
    assert_eq!(zeta["length"], json!(2));
    assert_eq!(zeta["first_id"], json!(first));
    assert_eq!(zeta["last_id"], json!(second));
    assert_eq!(zeta["last_generated_id"], json!(second));
    assert_eq!(zeta["entries_added"], json!(2));
    let group = &zeta["groups"][0];
    assert_eq!(group["name"], json!("g"));
    assert_eq!(group["consumers"], json!(0));
    assert_eq!(group["pending"], json!(0));
    assert_eq!(group["last_delivered_id"], json!("0-0"));
    assert!(
        group.get("entries_read").is_some() && group.get("lag").is_some(),
        "{group}"
    );

    // An empty topic (MKSTREAM): null first and last IDs.
    call_ok(
        &mut conn,
        &[b"XGROUP", b"CREATE", b"empty", b"g", b"$", b"MKSTREAM"],
    );
    let empty = b.get("/topics/empty").expect(200, "an empty topic");
    assert_eq!(
        (
            empty["length"].clone(),
            empty["first_id"].clone(),
            empty["last_id"].clone()
        ),
        (json!(0), Value::Null, Value::Null)
    );

    assert_eq!(
        b.get(&format!("/topics/{}", segment(b"a/b c")))
            .expect(200, "a/b c")["length"],
        json!(1)
    );
    b.get("/topics/nope")
        .expect_error(404, "describe a missing topic");
    assert_eq!(
        b.delete("/topics/zeta").expect(200, "DELETE zeta"),
        json!({"deleted": true})
    );
    assert_eq!(
        b.delete("/topics/zeta").expect(200, "DELETE zeta again"),
        json!({"deleted": false})
    );
    b.get("/topics/zeta").expect_error(404, "a deleted topic");
    assert_eq!(call_ok(&mut conn, &[b"EXISTS", b"zeta"]).int(), 0);
}

// ---------------------------------------------------------------------------------------------
// RESP and HTTP together

#[test]
fn resp_and_http_share_topics_and_groups() {
    let b = HttpBroker::start("http-interplay", &[]);
    let mut conn = resp(&b);
    // XADD over RESP, GET over HTTP.
    let a = xadd(&mut conn, b"orders", &[(b"sku", b"A1"), (b"qty", b"2")]);
    assert_eq!(
        messages(&read(&b, "orders", ""))[0],
        json!({"id": a, "fields": {"sku": "A1", "qty": "2"}})
    );

    // A field named twice: the last value is the one shown.
    let dup = xadd(&mut conn, b"dups", &[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]);
    assert_eq!(
        messages(&read(&b, "dups", ""))[0],
        json!({"id": dup, "fields": {"a": "3", "b": "2"}})
    );

    // A group made over RESP, a POST over HTTP, XREADGROUP over RESP.
    call_ok(&mut conn, &[b"XGROUP", b"CREATE", b"orders", b"resp-g", b"$"]);
    let posted = post_entry(&b, "orders", &json!({"sku": "B2"}));
    let reply = call_ok(
        &mut conn,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"resp-g",
            b"c1",
            b"COUNT",
            b"10",
            b"STREAMS",
            b"orders",
            b">",
        ],
    );
    let got = streams_support::read_group_entries(&reply, b"orders");
    assert_eq!(got.len(), 1, "{reply:?}");
    assert_eq!(got[0].0.to_string(), posted);
    assert_eq!(got[0].1, Some(vec![b"sku".to_vec(), b"B2".to_vec()]));

    // A group made over RESP, read and acknowledged over HTTP, seen by XPENDING.
    call_ok(&mut conn, &[b"XGROUP", b"CREATE", b"orders", b"http-g", b"0"]);
    let reply = b
        .post(
            "/topics/orders/groups/http-g/read?consumer=web&count=10",
            "application/json",
            b"",
        )
        .expect(200, "read a RESP-made group over HTTP");
    assert_eq!(ids(&reply), vec![a.clone(), posted.clone()]);
    let pending = call_ok(&mut conn, &[b"XPENDING", b"orders", b"http-g"]);
    assert_eq!(pending.items()[0].int(), 2, "both delivered to web: {pending:?}");
    let acked = b
        .post_json("/topics/orders/groups/http-g/ack", &json!({"ids": [a]}))
        .expect(200, "ack over HTTP");
    assert_eq!(acked, json!({"acknowledged": 1}));
    let pending = call_ok(&mut conn, &[b"XPENDING", b"orders", b"http-g", b"-", b"+", b"10"]);
    let left: Vec<String> = pending
        .items()
        .iter()
        .map(|e| String::from_utf8(e.items()[0].bulk().to_vec()).unwrap())
        .collect();
    assert_eq!(left, vec![posted.clone()], "XPENDING shows the HTTP ack");
    assert_eq!(pending.items()[0].items()[1].bulk(), b"web");
    // And an XACK over RESP shows over HTTP.
    assert_eq!(
        call_ok(&mut conn, &[b"XACK", b"orders", b"http-g", posted.as_bytes()]).int(),
        1
    );
    let summary = b
        .get("/topics/orders/groups/http-g/pending")
        .expect(200, "pending");
    assert_eq!(summary["pending"], json!(0), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

#[test]
fn groups_create_list_and_refuse() {
    let b = HttpBroker::start("http-groups", &[]);
    let path = "/topics/jobs/groups";
    b.post_json(path, &json!({"name": "g"}))
        .expect_error(404, "a group on a missing topic without create_topic");
    b.get("/topics/jobs").expect_error(404, "no topic was made");
    assert_eq!(
        b.post_json(path, &json!({"name": "g", "create_topic": true}))
            .expect(201, "create_topic"),
        json!({"name": "g"})
    );
    b.post_json(path, &json!({"name": "g"}))
        .expect_error(409, "the same group again");
    b.post_json(path, &json!({"name": "g", "create_topic": true}))
        .expect_error(409, "the same group again, create_topic");
    for (body, what) in [
        (&b"not json"[..], "not JSON"),
        (b"{}", "no name"),
        (b"{\"name\": 5}", "a name that is not a string"),
        (b"{\"name\": \"h\", \"from\": \"bogus\"}", "a bad from"),
        (b"", "an empty body"),
    ] {
        b.post(path, "application/json", body).expect_error(400, what);
    }
    post_entry(&b, "jobs", &json!({"n": "1"}));
    b.post_json(path, &json!({"name": "zero", "from": "0"}))
        .expect(201, "from 0");
    let list = b.get(path).expect(200, "list groups");
    let groups = list["groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{list}");
    assert!(names.contains(&"g") && names.contains(&"zero"), "{list}");
    for group in groups {
        for key in [
            "name",
            "consumers",
            "pending",
            "last_delivered_id",
            "entries_read",
            "lag",
        ] {
            assert!(group.get(key).is_some(), "group field {key}: {group}");
        }
    }
    b.get("/topics/nope/groups")
        .expect_error(404, "groups of a missing topic");
}

#[test]
fn json_routes_refuse_other_content_types_with_415() {
    let b = HttpBroker::start("http-415", &[]);
    post_entry(&b, "jobs", &json!({"n": "1"}));
    b.post("/topics/jobs/groups", "text/plain", b"{\"name\": \"t\"}")
        .expect_error(415, "a group sent as text/plain");
    b.post("/topics/jobs/groups", "application/xml", b"<name>t</name>")
        .expect_error(415, "a group sent as XML");
    b.get("/topics/jobs/groups/t/pending")
        .expect_error(404, "no group was made");
    b.post_json("/topics/jobs/groups", &json!({"name": "g", "from": "0"}))
        .expect(201, "a group");
    b.post("/topics/jobs/groups/g/ack", "text/plain", b"{\"ids\": [\"1-0\"]}")
        .expect_error(415, "an ack sent as text/plain");
}

#[test]
fn groups_read_ack_pending() {
    let b = HttpBroker::start("http-group-read", &[]);
    let first = post_entry(&b, "jobs", &json!({"n": "0"}));
    b.post_json("/topics/jobs/groups", &json!({"name": "g"}))
        .expect(201, "group from $");
    b.post_json("/topics/jobs/groups", &json!({"name": "all", "from": "0"}))
        .expect(201, "group from 0");
    let posted: Vec<String> = (1..=5)
        .map(|i| post_entry(&b, "jobs", &json!({"n": i.to_string()})))
        .collect();

    let read_path = |group: &str, query: &str| format!("/topics/jobs/groups/{group}/read?{query}");
    let post_read = |group: &str, query: &str| b.post(&read_path(group, query), "application/json", b"");
    // `$` at creation: only the five after it.
    let reply = post_read("g", "consumer=alice&count=3").expect(200, "alice reads 3");
    assert_eq!(ids(&reply), posted[..3]);
    let reply = post_read("g", "consumer=bob").expect(200, "bob reads the rest");
    assert_eq!(ids(&reply), posted[3..]);
    assert!(ids(&post_read("g", "consumer=bob").expect(200, "nothing new")).is_empty());
    let reply = post_read("all", "consumer=c&count=100").expect(200, "from 0");
    assert_eq!(ids(&reply)[0], first);
    assert_eq!(ids(&reply).len(), 6);

    for (query, what) in [
        ("", "no consumer"),
        ("consumer=a&count=0", "count 0"),
        ("consumer=a&count=10001", "count 10001"),
        ("consumer=a&wait=300001", "wait too long"),
        ("consumer=a&wait=x", "a bad wait"),
        ("consumer=a&from=bogus", "a bad from"),
    ] {
        post_read("g", query).expect_error(400, what);
    }
    post_read("nogroup", "consumer=a").expect_error(404, "a missing group");
    b.post("/topics/nope/groups/g/read?consumer=a", "application/json", b"")
        .expect_error(404, "a missing topic");

    // History: alice's own pending entries after an ID (as XREADGROUP with an ID: after it).
    let history = post_read("g", "consumer=alice&from=0").expect(200, "alice's history");
    assert_eq!(ids(&history), posted[..3]);
    let history =
        post_read("g", &format!("consumer=alice&from={}", posted[1])).expect(200, "history after an ID");
    assert_eq!(ids(&history), posted[2..3]);

    // Pending: summary, per consumer, filters.
    let pending = b.get("/topics/jobs/groups/g/pending").expect(200, "pending");
    assert_eq!(pending["pending"], json!(5));
    assert_eq!(pending["first_id"], json!(posted[0]));
    assert_eq!(pending["last_id"], json!(posted[4]));
    let mut consumers = pending["consumers"].as_array().unwrap().clone();
    consumers.sort_by_key(|c| c["name"].as_str().unwrap().to_string());
    assert_eq!(
        consumers,
        vec![
            json!({"name": "alice", "pending": 3}),
            json!({"name": "bob", "pending": 2})
        ]
    );
    let entries = pending["entries"].as_array().unwrap();
    assert_eq!(entries.iter().map(id_in).collect::<Vec<_>>(), posted);
    assert_eq!(entries[0]["consumer"], json!("alice"));
    assert_eq!(
        entries[0]["deliveries"],
        json!(2),
        "read once, then once more as history"
    );
    assert!(entries[0]["idle_ms"].is_u64(), "{pending}");
    let bobs = b
        .get("/topics/jobs/groups/g/pending?consumer=bob&count=1")
        .expect(200, "bob's, 1");
    assert_eq!(
        bobs["entries"],
        json!([{"id": posted[3], "consumer": "bob", "idle_ms": bobs["entries"][0]["idle_ms"], "deliveries": 1}])
    );
    let idle = b
        .get("/topics/jobs/groups/g/pending?idle=3600000")
        .expect(200, "idle an hour");
    assert_eq!(idle["entries"], json!([]), "nothing has been idle an hour");
    b.get("/topics/jobs/groups/nogroup/pending")
        .expect_error(404, "pending of a missing group");

    // Ack.
    let acked = b
        .post_json(
            "/topics/jobs/groups/g/ack",
            &json!({"ids": [posted[0], posted[1], "9999999999999-0"]}),
        )
        .expect(200, "ack two and one unknown");
    assert_eq!(acked, json!({"acknowledged": 2}));
    assert_eq!(
        b.post_json("/topics/jobs/groups/g/ack", &json!({"ids": [posted[0]]}))
            .expect(200, "again"),
        json!({"acknowledged": 0})
    );
    for (body, what) in [
        (json!({"ids": []}), "no IDs"),
        (json!({"ids": ["bogus"]}), "a bad ID"),
        (json!({}), "no ids field"),
        (json!({"ids": "1-0"}), "ids not an array"),
    ] {
        b.post_json("/topics/jobs/groups/g/ack", &body)
            .expect_error(400, what);
    }
    b.post_json("/topics/jobs/groups/nogroup/ack", &json!({"ids": [posted[2]]}))
        .expect_error(404, "ack in a missing group");
    b.post_json("/topics/nope/groups/g/ack", &json!({"ids": [posted[2]]}))
        .expect_error(404, "ack in a missing topic");
    assert_eq!(
        b.get("/topics/jobs/groups/g/pending").expect(200, "pending")["pending"],
        json!(3)
    );

    // A pending entry deleted from the stream reads back as fields: null.
    let mut conn = resp(&b);
    assert_eq!(
        call_ok(&mut conn, &[b"XDEL", b"jobs", posted[2].as_bytes()]).int(),
        1
    );
    let history = post_read("g", "consumer=alice&from=0").expect(200, "history after XDEL");
    assert_eq!(
        messages(&history),
        &vec![json!({"id": posted[2], "fields": null})]
    );
}

#[test]
fn group_read_long_polls() {
    let b = HttpBroker::start("http-group-wait", &[]);
    b.post_json("/topics/q/groups", &json!({"name": "g", "create_topic": true}))
        .expect(201, "a group on a new topic");
    let mut conn = resp(&b);
    let before = connected_clients(&mut conn);
    let http = b.http;
    let poller = std::thread::spawn(move || {
        http_support::request(
            http,
            "POST",
            "/topics/q/groups/g/read?consumer=w&wait=10000",
            &[("Content-Type", "application/json")],
            b"",
        )
    });
    wait_for(Duration::from_secs(5), || connected_clients(&mut conn) > before);
    // Whether the read is already waiting or not, it is for new entries of the group: the
    // first XADD is what it answers.
    let id = xadd(&mut conn, b"q", &[(b"job", b"1")]);
    let reply = poller.join().unwrap().expect(200, "the group's long-poll");
    assert_eq!(messages(&reply), &vec![json!({"id": id, "fields": {"job": "1"}})]);
    // And with nothing new, wait expires with no messages.
    let reply = b
        .post(
            "/topics/q/groups/g/read?consumer=w&wait=200",
            "application/json",
            b"",
        )
        .expect(200, "an expiring group read");
    assert!(messages(&reply).is_empty(), "{reply}");
}

// ---------------------------------------------------------------------------------------------
// Channels

#[test]
fn post_channel_reaches_resp_subscribers() {
    let b = HttpBroker::start("http-channels", &[]);
    assert_eq!(
        b.post("/channels/news", "text/plain", b"nobody")
            .expect(200, "no subscriber"),
        json!({"receivers": 0})
    );
    let mut sub = resp(&b);
    sub.call(&[b"SUBSCRIBE", b"news", b"a/b"]);
    sub.read(); // the second confirmation
    let payload = b"\x00\xffhello\r\n";
    assert_eq!(
        b.post("/channels/news", "application/json", payload)
            .expect(200, "one subscriber"),
        json!({"receivers": 1})
    );
    assert_eq!(
        sub.read_raw(),
        broker::message(b"news", payload),
        "the raw body, whatever its type"
    );
    assert_eq!(
        b.post("/channels/a%2Fb", "application/octet-stream", b"x")
            .expect(200, "a/b"),
        json!({"receivers": 1})
    );
    assert_eq!(sub.read_raw(), broker::message(b"a/b", b"x"));
    // A pattern subscriber counts too, as PUBLISH counts it.
    let mut psub = resp(&b);
    psub.call(&[b"PSUBSCRIBE", b"n*"]);
    assert_eq!(
        b.post("/channels/news", "text/plain", b"two")
            .expect(200, "two receivers"),
        json!({"receivers": 2})
    );
    assert_eq!(psub.read_raw(), broker::pmessage(b"n*", b"news", b"two"));
    assert_eq!(sub.read_raw(), broker::message(b"news", b"two"));
}

// ---------------------------------------------------------------------------------------------
// WebSocket subscriptions

#[test]
fn websocket_channel_and_pattern_subscriptions() {
    let b = HttpBroker::start("http-ws-channels", &[]);
    let mut conn = resp(&b);
    let mut json_ws = b.ws("/ws/channels/news");
    let mut raw_ws = b.ws("/ws/channels/news?format=raw");
    let mut pattern_ws = b.ws("/ws/patterns/n%2A");
    let mut raw_pattern_ws = b.ws("/ws/patterns/n%3Fws?format=raw");
    wait_for_receivers(&mut conn, b"news", 4);

    let binary = [0xffu8, 0x00, 0x80];
    call_ok(&mut conn, &[b"PUBLISH", b"news", b"hello"]);
    call_ok(&mut conn, &[b"PUBLISH", b"news", &binary]);
    // Over HTTP too: the same four receive it.
    assert_eq!(
        b.post("/channels/news", "text/plain", b"via http")
            .expect(200, "POST")["receivers"],
        json!(4)
    );

    let first = ws_json_after_probes(&mut json_ws, "JSON channel");
    assert_eq!(first, json!({"channel": "news", "data": "hello"}));
    assert_eq!(
        ws_json(&mut json_ws, "JSON channel"),
        json!({"channel": "news", "data": {"base64": b64(&binary)}})
    );
    assert_eq!(
        ws_json(&mut json_ws, "JSON channel"),
        json!({"channel": "news", "data": "via http"})
    );

    assert_eq!(ws_binary_after_probes(&mut raw_ws, "raw channel"), b"hello");
    assert_eq!(ws_binary(&mut raw_ws, "raw channel"), binary);
    assert_eq!(ws_binary(&mut raw_ws, "raw channel"), b"via http");

    assert_eq!(
        ws_json_after_probes(&mut pattern_ws, "pattern"),
        json!({"pattern": "n*", "channel": "news", "data": "hello"})
    );
    assert_eq!(
        ws_json(&mut pattern_ws, "pattern"),
        json!({"pattern": "n*", "channel": "news", "data": {"base64": b64(&binary)}})
    );
    assert_eq!(
        ws_binary_after_probes(&mut raw_pattern_ws, "raw pattern"),
        b"hello"
    );
    assert_eq!(ws_binary(&mut raw_pattern_ws, "raw pattern"), binary);

    // A channel the pattern matches and the channel subscribers do not.
    call_ok(&mut conn, &[b"PUBLISH", b"nows", b"only the patterns"]);
    call_ok(&mut conn, &[b"PUBLISH", b"other", b"nobody"]);
    call_ok(&mut conn, &[b"PUBLISH", b"news", b"last"]);
    assert_eq!(
        ws_json(&mut json_ws, "after"),
        json!({"channel": "news", "data": "last"})
    );
    assert_eq!(
        ws_json(&mut pattern_ws, "pattern after"),
        json!({"pattern": "n*", "channel": "news", "data": "via http"})
    );
    assert_eq!(
        ws_json(&mut pattern_ws, "pattern after"),
        json!({"pattern": "n*", "channel": "nows", "data": "only the patterns"})
    );
    assert_eq!(ws_binary(&mut raw_pattern_ws, "raw pattern"), b"via http");
    assert_eq!(
        ws_binary(&mut raw_pattern_ws, "raw pattern"),
        b"only the patterns"
    );
    assert_eq!(ws_binary(&mut raw_pattern_ws, "raw pattern"), b"last");

    // What a client sends is ignored; it stays subscribed.
    json_ws.send(tungstenite::Message::text("ignored")).unwrap();
    call_ok(&mut conn, &[b"PUBLISH", b"news", b"still here"]);
    assert_eq!(
        ws_json(&mut json_ws, "after a client frame"),
        json!({"channel": "news", "data": "still here"})
    );
    // Closing unsubscribes.
    json_ws.close(None).unwrap();
    drop(json_ws);
    let mut receivers = 0;
    assert!(
        wait_for(DEADLINE, || {
            receivers = call_ok(&mut conn, &[b"PUBLISH", b"news", b"probe"]).int();
            receivers == 3
        }),
        "after one WebSocket closed, PUBLISH reaches {receivers}, not 3"
    );
}

#[test]
fn websocket_topic_replays_then_follows_without_gap_or_duplicate() {
    const N: usize = 2000;
    const BATCHES: usize = 20;
    const PER_BATCH: usize = 10;
    let b = HttpBroker::start("http-ws-topic", &[]);
    let mut conn = resp(&b);
    let mut requests = Vec::new();
    for i in 0..N {
        requests.extend(common::command(&[
            b"XADD",
            b"feed",
            b"*",
            b"n",
            i.to_string().as_bytes(),
        ]));
    }
    conn.send(&requests);
    for _ in 0..N {
        assert!(matches!(conn.read(), Reply::Bulk(Some(_))));
    }

    let received = AtomicUsize::new(0);
    let mut frames: Vec<Value> = Vec::new();
    let total = N + BATCHES * PER_BATCH;
    std::thread::scope(|scope| {
        let mut ws = b.ws("/ws/topics/feed?from=-");
        let received = &received;
        let broker = &b;
        let adder = scope.spawn(move || {
            let mut conn = resp(broker);
            // Batch k once the reader has k*90 entries: adds interleave with the replay.
            for k in 0..BATCHES {
                wait_for(DEADLINE, || received.load(Ordering::Relaxed) >= k * 90);
                for j in 0..PER_BATCH {
                    let n = N + k * PER_BATCH + j;
                    xadd(&mut conn, b"feed", &[(b"n", n.to_string().as_bytes())]);
                }
            }
        });
        for _ in 0..total {
            match ws_next(&mut ws) {
                http_support::WsEvent::Text(text) => {
                    frames.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")));
                    received.fetch_add(1, Ordering::Relaxed);
                }
                other => panic!("after {} entries: {other:?}", frames.len()),
            }
        }
        adder.join().unwrap();
        // One more, and it is the very next frame: nothing was repeated.
        let last = xadd(&mut conn, b"feed", &[(b"n", b"last")]);
        assert_eq!(
            ws_json(&mut ws, "the entry after all"),
            json!({"id": last, "fields": {"n": "last"}})
        );
    });
    let all = streams_support::xrange_all(&mut conn, b"feed", 1000, 10);
    assert_eq!(all.len(), total + 1);
    for (i, frame) in frames.iter().enumerate() {
        let (id, fields) = &all[i];
        assert_eq!(frame["id"], json!(id.to_string()), "entry {i}: {frame}");
        let n = String::from_utf8(fields.as_ref().unwrap()[1].clone()).unwrap();
        assert_eq!(frame["fields"], json!({"n": n}), "entry {i}");
        assert_eq!(n, i.to_string(), "entry {i} in order");
    }
}

#[test]
fn websocket_topic_from_dollar_and_refusals() {
    let b = HttpBroker::start("http-ws-topic-new", &[]);
    let mut conn = resp(&b);
    xadd(&mut conn, b"feed", &[(b"old", b"1")]);
    let mut ws = b.ws("/ws/topics/feed");
    let mut ws_dollar = b.ws("/ws/topics/feed?from=$");
    let id = xadd(&mut conn, b"feed", &[(b"new", b"1")]);
    let expected = json!({"id": id, "fields": {"new": "1"}});
    assert_eq!(ws_json(&mut ws, "default from ($)"), expected);
    assert_eq!(ws_json(&mut ws_dollar, "from=$"), expected);
    // From an ID, inclusive.
    let mut ws_id = b.ws(&format!("/ws/topics/feed?from={id}"));
    assert_eq!(ws_json(&mut ws_id, "from an ID"), expected);

    assert_eq!(
        ws_connect(b.http, "/ws/topics/missing?from=-", &[])
            .map(|_| ())
            .unwrap_err()
            .0,
        404,
        "a missing topic is refused before the upgrade"
    );
    assert_eq!(
        ws_connect(b.http, "/ws/topics/feed?from=bogus", &[])
            .map(|_| ())
            .unwrap_err()
            .0,
        400,
        "a bad from is refused before the upgrade"
    );
}

#[test]
fn slow_websocket_subscriber_is_cut_off_and_others_carry_on() {
    const SIZE: usize = 16 << 10;
    // Enough to pass the 1 MiB limit whatever the kernel holds for a client that does not
    // read (the server's send buffer, at most tcp_wmem's maximum, its receive buffer and the
    // WebSocket's write buffer of 128 KiB) and no more: the broker sends the close frame
    // after what the socket holds, and waits 5 s for a client that does not read to take it,
    // so the stalled client must start reading soon after the cut.
    let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2).and_then(|n| n.parse().ok()))
        .unwrap_or(16 << 20);
    let flood = ((wmem_max + (64 << 10) + (128 << 10) + (1 << 20)) / SIZE + 16).min(4096);
    let b = HttpBroker::start("http-ws-slow", &["--client-output-limit", "1mb 512kb 1"]);
    let mut conn = resp(&b);
    let payload = |k: usize| {
        let mut p = format!("{k:08}").into_bytes();
        p.resize(SIZE, b'.');
        p
    };

    let slow_stream = hostile::connect_with_rcvbuf(b.http, 4096);
    let mut slow =
        http_support::ws_over(slow_stream, b.http, "/ws/channels/slow", &[]).expect("the slow upgrade");
    let mut fast = b.ws("/ws/channels/slow?format=raw");
    wait_for_receivers(&mut conn, b"slow", 2);

    let received = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let received = &received;
        let done = &done;
        let reader = scope.spawn(move || {
            let mut got = Vec::new();
            for _ in 0..flood * 2 {
                match ws_next(&mut fast) {
                    WsEvent::Binary(bytes) if bytes == b"probe" => {}
                    WsEvent::Binary(bytes) if bytes == b"end" => break,
                    WsEvent::Binary(bytes) => {
                        got.push(bytes);
                        received.store(got.len(), Ordering::Relaxed);
                    }
                    other => panic!("the reading subscriber, after {} messages: {other:?}", got.len()),
                }
            }
            assert!(done.load(Ordering::Relaxed), "the reading subscriber saw the end");
            got
        });
        // The flood: every PUBLISH answered; the reading subscriber keeps up, so only the
        // stalled one can reach the limit.
        let mut sent = 0;
        while sent < flood {
            let receivers = call_ok(&mut conn, &[b"PUBLISH", b"slow", &payload(sent)]).int();
            assert!(
                (1..=2).contains(&receivers),
                "PUBLISH #{sent} reached {receivers}"
            );
            sent += 1;
            if sent % 16 == 0 {
                assert!(
                    wait_for(DEADLINE, || received.load(Ordering::Relaxed) >= sent),
                    "the reading subscriber has {} of {sent}",
                    received.load(Ordering::Relaxed)
                );
            }
        }

        // The stalled one, reading now: a prefix of the flood, in order, then close code 1008.
        let mut seen = 0;
        let close = loop {
            assert!(seen <= flood, "more messages than were sent");
            match ws_next(&mut slow) {
                WsEvent::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["data"] == json!("probe") {
                        continue;
                    }
                    let data = frame["data"].as_str().unwrap_or("");
                    assert!(
                        data.as_bytes() == payload(seen),
                        "the stalled subscriber's message {seen}"
                    );
                    seen += 1;
                }
                other => break other,
            }
        };
        assert!(
            seen < flood,
            "the stalled subscriber got all {flood} messages: it was never cut off"
        );
        println!("the stalled subscriber took {seen} of {flood} messages, then {close:?}");
        match close {
            WsEvent::Close(Some((code, reason))) => assert_eq!(
                (code, reason.as_str()),
                (1008, "output buffer limit"),
                "after {seen} messages"
            ),
            other => panic!(
                "the stalled subscriber got {seen} of {flood} messages, then {other:?} instead of a \
                 close frame 1008"
            ),
        }

        // It is gone: PUBLISH reaches the reading subscriber alone, which gets everything.
        let mut receivers = 0;
        assert!(
            wait_for(DEADLINE, || {
                receivers = call_ok(&mut conn, &[b"PUBLISH", b"slow", b"probe"]).int();
                receivers == 1
            }),
            "after the close, PUBLISH still reaches {receivers} subscribers"
        );
        for _ in 0..20 {
            assert_eq!(
                call_ok(&mut conn, &[b"PUBLISH", b"slow", &payload(sent)]).int(),
                1
            );
            sent += 1;
        }
        done.store(true, Ordering::Relaxed);
        call_ok(&mut conn, &[b"PUBLISH", b"slow", b"end"]);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), sent, "the reading subscriber got every message");
        for (k, message) in got.iter().enumerate() {
            assert!(message == &payload(k), "message {k} in order, whole");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Auth, routes, stats, dashboard

#[test]
fn auth_with_requirepass() {
    let b = HttpBroker::start("http-auth", &["--requirepass", "s3cret"]);
    let port = b.http;
    let get = |path: &str, auth: Option<&str>| {
        let header = auth.map(|a| format!("Bearer {a}"));
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
        http_support::request(port, "GET", path, &headers, b"")
    };
    for open in http_support::OPEN_ROUTES {
        assert_eq!(get(open, None).status, 200, "{open} needs no password");
    }
    for path in ["/topics", "/stats", "/topics/t/messages"] {
        for auth in [None, Some("wrong")] {
            let reply = get(path, auth);
            reply.expect_error(401, &format!("{path} with {auth:?}"));
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer"),
                "{path}: {:?}",
                reply.headers
            );
        }
    }
    let reply = http_support::request(
        port,
        "POST",
        "/channels/c",
        &[("Authorization", "Basic czNjcmV0")],
        b"x",
    );
    reply.expect_error(401, "a Basic header is not a Bearer token");
    http_support::request(port, "POST", "/topics/t/messages", &[], b"x")
        .expect_error(401, "POST without a password");
    assert_eq!(
        get("/topics", Some("s3cret")).expect(200, "the right password"),
        json!({"topics": []})
    );
    b.post("/topics/t/messages", "text/plain", b"x")
        .expect(201, "POST with the password");
    get("/topics/t/messages", None).expect_error(401, "still needed");

    // WebSockets: 401 without, ?token= or the header with.
    assert_eq!(
        ws_connect(port, "/ws/channels/c", &[]).map(|_| ()).unwrap_err().0,
        401
    );
    assert_eq!(
        ws_connect(port, "/ws/channels/c?token=wrong", &[])
            .map(|_| ())
            .unwrap_err()
            .0,
        401
    );
    assert_eq!(
        ws_connect(port, "/ws/topics/t?from=-", &[])
            .map(|_| ())
            .unwrap_err()
            .0,
        401
    );
    assert_eq!(ws_connect(port, "/ws/stats", &[]).map(|_| ()).unwrap_err().0, 401);
    let mut by_token = ws_connect(port, "/ws/channels/c?token=s3cret", &[]).expect("?token=");
    let mut by_header = ws_connect(
        port,
        "/ws/channels/c?format=raw",
        &[("Authorization", "Bearer s3cret")],
    )
    .expect("Bearer");
    let mut topic = ws_connect(port, "/ws/topics/t?from=-&token=s3cret", &[]).expect("topic ?token=");
    assert_eq!(
        ws_json(&mut topic, "topic with a token")["fields"],
        json!({"data": "x"})
    );
    let mut stats = ws_connect(port, "/ws/stats?token=s3cret", &[]).expect("stats ?token=");
    assert!(ws_json(&mut stats, "stats with a token")["history"].is_array());
    let mut conn = resp(&b);
    wait_for_receivers(&mut conn, b"c", 2);
    b.post("/channels/c", "text/plain", b"authorized")
        .expect(200, "POST /channels");
    assert_eq!(
        ws_json_after_probes(&mut by_token, "token")["data"],
        json!("authorized")
    );
    assert_eq!(ws_binary_after_probes(&mut by_header, "header"), b"authorized");
}

#[test]
fn unknown_routes_404_and_wrong_methods_405() {
    let b = HttpBroker::start("http-routes", &[]);
    let message = b.get("/nosuch").expect_error(404, "an unknown path");
    assert_eq!(message, "no such route: GET /nosuch");
    let message = b
        .call("POST", "/topics/t/nosuch", &[], b"")
        .expect_error(404, "an unknown path");
    assert_eq!(message, "no such route: POST /topics/t/nosuch");
    for (method, path) in [
        ("PUT", "/topics/t/messages"),
        ("DELETE", "/topics/t/messages"),
        ("GET", "/channels/c"),
        ("POST", "/topics"),
        ("PUT", "/topics/t"),
        ("DELETE", "/topics/t/groups"),
        ("GET", "/topics/t/groups/g/read"),
        ("GET", "/topics/t/groups/g/ack"),
        ("POST", "/topics/t/groups/g/pending"),
        ("POST", "/health"),
        ("POST", "/stats"),
    ] {
        b.call(method, path, &[], b"")
            .expect_error(405, &format!("{method} {path}"));
    }
}

#[test]
fn stats_and_stats_feed() {
    let b = HttpBroker::start("http-stats", &[]);
    let mut conn = resp(&b);
    xadd(&mut conn, b"orders", &[(b"a", b"1")]);
    call_ok(&mut conn, &[b"XGROUP", b"CREATE", b"orders", b"g", b"0"]);
    let mut sub = resp(&b);
    sub.call(&[b"SUBSCRIBE", b"news"]);
    call_ok(&mut conn, &[b"PUBLISH", b"news", b"x"]);

    let mut last = Value::Null;
    let seen = wait_for(DEADLINE, || {
        last = b.get("/stats").expect(200, "GET /stats");
        last["topics"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == json!("orders")))
            && last["channels"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["name"] == json!("news")))
    });
    assert!(seen, "a sample shows the topic and the channel: {last}");
    check_sample(&last);
    let topic = last["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == json!("orders"))
        .unwrap();
    assert_eq!(topic["length"], json!(1));
    assert_eq!(topic["groups"][0]["name"], json!("g"));
    let channel = last["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == json!("news"))
        .unwrap();
    assert_eq!(channel["subscribers"], json!(1));

    let mut ws = b.ws("/ws/stats");
    let first = ws_json(&mut ws, "the stats feed's history");
    let history = first["history"]
        .as_array()
        .unwrap_or_else(|| panic!("history: {first}"));
    assert!(history.len() <= 300);
    for sample in history {
        check_sample(sample);
    }
    let next = ws_json(&mut ws, "a stats sample");
    check_sample(&next);
    assert!(
        history
            .last()
            .is_none_or(|h| h["time_ms"].as_u64() <= next["time_ms"].as_u64()),
        "samples in time order"
    );
}

fn check_sample(sample: &Value) {
    for key in [
        "time_ms",
        "uptime_s",
        "clients",
        "connections_total",
        "commands",
        "messages_in",
        "messages_out",
        "bytes_in",
        "bytes_out",
        "slowest_backlog",
        "patterns",
    ] {
        assert!(sample[key].is_u64(), "{key} is a count: {sample}");
    }
    for key in ["commands", "messages_in", "messages_out", "bytes_in", "bytes_out"] {
        assert!(sample["rates"][key].is_number(), "rates.{key}: {sample}");
    }
    assert!(
        sample["ring"]["used"].is_u64() && sample["ring"]["capacity"].is_u64(),
        "{sample}"
    );
    for key in [
        "closed_by_client",
        "quit",
        "output_limit",
        "protocol_error",
        "io_error",
        "shutdown",
        "max_clients",
    ] {
        assert!(
            sample["disconnections"][key].is_u64(),
            "disconnections.{key}: {sample}"
        );
    }
    assert!(
        sample["channels"].is_array() && sample["topics"].is_array(),
        "{sample}"
    );
}

#[test]
fn dashboard_files_are_served() {
    let b = HttpBroker::start("http-dashboard", &[]);
    for (path, kind) in [
        ("/", "text/html"),
        ("/dashboard/dashboard.js", "javascript"),
        ("/dashboard/dashboard.css", "text/css"),
        ("/openapi.json", "application/json"),
    ] {
        let reply: Response = b.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply.header("content-type").is_some_and(|t| t.contains(kind)),
            "{path} served as {kind}: {:?}",
            reply.header("content-type")
        );
        assert!(!reply.body.is_empty(), "{path}");
    }
    let html = b.get("/").text();
    assert!(
        html.contains("dashboard.js") && html.contains("dashboard.css"),
        "{html}"
    );
    for remote in ["src=\"http", "src='http", "href=\"http", "href='http", "url(http"] {
        assert!(
            !html.contains(remote),
            "no CDN: everything is served by the broker ({remote})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A full disk

#[test]
fn full_disk_answers_507_and_keeps_what_it_acknowledged() {
    const ENTRY: usize = 1024;
    let root = streams_support::TempDir::new("http-full");
    let mount_point = root.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    let tmpfs = streams_support::Tmpfs::mount(&mount_point, 1 << 30).unwrap_or_else(|e| {
        panic!(
            "{e}\nthe full-disk test mounts a tmpfs: run it as root, or in a user and mount \
             namespace (`unshare -rm cargo test --test broker_http`)"
        )
    });
    let data = mount_point.join("data");
    std::fs::create_dir(&data).unwrap();
    let b = HttpBroker::start_at(&data, &["--segment-size", "64kb"]);
    let entry = |i: usize| {
        let mut p = format!("{i:08}").into_bytes();
        p.resize(ENTRY, b'z');
        p
    };
    let mut acknowledged = vec![id_in(
        &b.post("/topics/full/messages", "application/octet-stream", &entry(0))
            .expect(201, "the first POST, on an empty tmpfs"),
    )];
    let segment = streams_support::largest_file(&data);
    assert!(segment > 0, "no file under {} after a POST", data.display());
    let room = segment * 5 / 2;
    let limit = (tmpfs.used() + room).div_ceil(4096) * 4096;
    tmpfs.resize(limit).unwrap_or_else(|e| panic!("{e}"));

    let max = (room + 2 * segment) as usize / ENTRY + 1000;
    let mut refusal = None;
    for i in 1..max {
        let reply = b.post("/topics/full/messages", "application/octet-stream", &entry(i));
        match reply.status {
            201 => acknowledged.push(id_in(&reply.json())),
            _ => {
                refusal = Some(reply);
                break;
            }
        }
    }
    let refusal = refusal.unwrap_or_else(|| {
        panic!("{max} POSTs of {ENTRY} bytes on a tmpfs of {limit} bytes, and not one refused")
    });
    let message = refusal.expect_error(507, "a POST on a full disk");
    println!(
        "full disk: {} entries acknowledged, then 507 {message:?}",
        acknowledged.len()
    );
    // Still serving, and holding exactly what it acknowledged.
    assert_eq!(b.get("/health").status, 200);
    let mut got = Vec::new();
    let mut from = "-".to_string();
    for _ in 0..100 {
        let page = read(&b, "full", &format!("from={from}&limit=1000"));
        if messages(&page).is_empty() {
            break;
        }
        for (k, m) in messages(&page).iter().enumerate() {
            let i = got.len() + k;
            assert_eq!(
                m["fields"]["data"],
                json!(String::from_utf8(entry(i)).unwrap()),
                "entry {i}"
            );
        }
        got.extend(ids(&page));
        from = page["next"].as_str().unwrap().to_string();
    }
    assert_eq!(got, acknowledged, "every acknowledged entry, and only those");
    drop(b);
    drop(tmpfs);
}
