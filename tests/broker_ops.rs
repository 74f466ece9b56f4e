//! The broker binary's operations endpoint (`--http-port`): `/health` once it listens, and
//! `/metrics` counting what its RESP clients do.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{command, exchange, free_port, wait_for, Server};

/// `GET path` over HTTP/1.1; returns the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP port");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("an HTTP response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of an unlabelled metric line `name value`.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn health_and_metrics_follow_the_broker() {
    let http = free_port();
    let server = Server::broker(&["--http-port", &http.to_string()]);
    // The broker answers PING (Server::broker waited for it), so it is listening: ready.
    assert_eq!(get(http, "/health"), (200, "ready\n".to_string()));

    let mut subscriber = server.connect();
    let subscribe = command(&[b"SUBSCRIBE", b"orders"]);
    exchange(
        &mut subscriber,
        &subscribe,
        b"*3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n".len(),
    );
    let mut publisher = server.connect();
    for _ in 0..3 {
        let reply = exchange(&mut publisher, &command(&[b"PUBLISH", b"orders", b"{}"]), 4);
        assert_eq!(reply, b":1\r\n");
    }

    let (status, body) = get(http, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(metric(&body, "nanostream_clients"), Some(2.0), "{body}");
    assert_eq!(metric(&body, "nanostream_messages_in_total"), Some(3.0), "{body}");
    assert_eq!(
        metric(&body, "nanostream_messages_out_total"),
        Some(3.0),
        "{body}"
    );
    assert!(
        metric(&body, "nanostream_commands_total").is_some_and(|n| n >= 4.0),
        "{body}"
    );
    assert!(
        metric(&body, "nanostream_ring_capacity").is_some_and(|n| n >= 1.0),
        "{body}"
    );

    drop(subscriber);
    let gone = wait_for(Duration::from_secs(10), || {
        let (_, body) = get(http, "/metrics");
        body.contains("nanostream_disconnections_total{reason=\"closed_by_client\"} 1")
            && metric(&body, "nanostream_clients") == Some(1.0)
    });
    assert!(gone, "the closed connection is counted by reason");
    assert_eq!(get(http, "/nosuch").0, 404);
}
