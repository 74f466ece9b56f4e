//! `OpsServer`: `/health` follows the ready flag, `/metrics` serves the current values as
//! OpenMetrics text, other paths are 404, and shutdown closes the listener and returns even with
//! a request left half sent.
//!
//! The client is a few lines of HTTP/1.1 over `std::net::TcpStream`; its read timeout only turns
//! a hang into a failure.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use nanostream_net::ops::{DisconnectReason, Metrics, OpsServer};

/// Long enough never to fire on a loaded machine; only a hang reaches it.
const HANG: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn request(addr: SocketAddr, method: &str, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.set_write_timeout(Some(HANG)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ops_http test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("the response, then the server closing");
    let raw = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head: {raw:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line:?}");
    let status = parts.next().and_then(|s| s.parse().ok());
    let status = status.unwrap_or_else(|| panic!("status in {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or_else(|| panic!("header {l:?}"));
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    let response = Response {
        status,
        headers,
        body: body.to_string(),
    };
    // A response to HEAD has the length of the body it leaves out.
    if let Some(length) = response.header("content-length").filter(|_| method != "HEAD") {
        assert_eq!(
            length.parse::<usize>().unwrap(),
            response.body.len(),
            "{response:?}"
        );
    }
    response
}

fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path)
}

fn start() -> (OpsServer, Arc<Metrics>, Arc<AtomicBool>) {
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = OpsServer::start(addr, Arc::clone(&metrics), Arc::clone(&ready)).expect("start");
    (server, metrics, ready)
}

#[test]
fn health_follows_the_ready_flag() {
    let (server, _metrics, ready) = start();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    let starting = get(addr, "/health");
    assert_eq!((starting.status, starting.body.as_str()), (503, "starting\n"));
    assert!(starting.header("content-type").unwrap().starts_with("text/plain"));

    ready.store(true, Ordering::Release);
    let up = get(addr, "/health");
    assert_eq!((up.status, up.body.as_str()), (200, "ready\n"));

    ready.store(false, Ordering::Release);
    let stopping = get(addr, "/health");
    assert_eq!((stopping.status, stopping.body.as_str()), (503, "stopping\n"));

    // HEAD, as some probes send it: the status alone.
    ready.store(true, Ordering::Release);
    let head = request(addr, "HEAD", "/health");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    server.shutdown();
}

#[test]
fn metrics_serves_the_current_values() {
    let (server, metrics, _ready) = start();
    let addr = server.local_addr();

    let before = get(addr, "/metrics");
    assert_eq!(before.status, 200);
    assert_eq!(
        before.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(
        before.body.contains("\nnanostream_commands_total 0\n"),
        "{}",
        before.body
    );
    assert!(before.body.ends_with("# EOF\n"), "{}", before.body);

    metrics.client_connected();
    metrics.client_connected();
    metrics.client_disconnected(DisconnectReason::ProtocolError);
    metrics.rejected(DisconnectReason::MaxClients);
    metrics.commands(42);
    metrics.messages_in(5);
    metrics.messages_out(9);
    metrics.bytes_in(1234);
    metrics.bytes_out(5678);
    metrics.set_ring(3, 4096);
    metrics.set_slowest_backlog(777);

    let after = get(addr, "/metrics");
    assert_eq!(after.status, 200);
    // Exactly the text `encode` writes, since nothing changes in between.
    assert_eq!(after.body, metrics.encode());
    for line in [
        "nanostream_clients 1",
        "nanostream_connections_total 2",
        "nanostream_commands_total 42",
        "nanostream_messages_in_total 5",
        "nanostream_messages_out_total 9",
        "nanostream_bytes_in_total 1234",
        "nanostream_bytes_out_total 5678",
        "nanostream_ring_used 3",
        "nanostream_ring_capacity 4096",
        "nanostream_slowest_subscriber_backlog_bytes 777",
        "nanostream_disconnections_total{reason=\"protocol_error\"} 1",
        "nanostream_disconnections_total{reason=\"max_clients\"} 1",
        "nanostream_disconnections_total{reason=\"quit\"} 0",
    ] {
        assert!(
            after.body.lines().any(|l| l == line),
            "{line:?} missing from\n{}",
            after.body
        );
    }
    server.shutdown();
}

#[test]
fn other_paths_are_not_found() {
    let (server, _metrics, _ready) = start();
    let addr = server.local_addr();
    for path in ["/healthz", "/metrics/", "/health/x", "/nanostream"] {
        assert_eq!(get(addr, path).status, 404, "{path}");
    }
    // Known paths with another method.
    let post = request(addr, "POST", "/metrics");
    assert_eq!(post.status, 405);
    assert!(post.header("allow").unwrap().contains("GET"), "{post:?}");
    server.shutdown();
}

#[test]
fn a_bind_error_names_the_address() {
    // Hold a port, then ask the server for the same one.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = OpsServer::start(addr, Arc::new(Metrics::new()), Arc::new(AtomicBool::new(false)))
        .expect_err("the port is taken");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[test]
fn shutdown_stops_listening_and_returns_with_a_request_half_sent() {
    let (server, _metrics, ready) = start();
    let addr = server.local_addr();
    ready.store(true, Ordering::Release);
    assert_eq!(get(addr, "/health").status, 200);

    // A client that never finishes its request; a keep-alive client between requests.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled.set_read_timeout(Some(HANG)).unwrap();
    stalled.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(HANG)).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0; 17];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");

    // On another thread, so that a shutdown that never returns fails the test instead of
    // hanging it.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        done.send(()).unwrap();
    });
    finished.recv_timeout(HANG).expect("shutdown returned");

    // Both connections were closed by the server (end of stream, or a reset).
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("ready"), "{rest:?}");
    let _ = idle.read_to_end(&mut rest);

    let refused = TcpStream::connect(addr).expect_err("nothing listens any more");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn dropping_the_server_stops_it() {
    let (server, _metrics, _ready) = start();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/health").status, 503);
    drop(server);
    let refused = TcpStream::connect(addr).expect_err("nothing listens any more");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_server_runs_on_its_named_thread() {
    // The server has a thread of its own, named for `top -H` and debuggers. Seen through /proc,
    // so checked on Linux only (other tests' servers may be listed too; ours is).
    let (server, _metrics, _ready) = start();
    // A thread names itself as it starts; once it has answered, it has.
    assert_eq!(get(server.local_addr(), "/health").status, 503);
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        let names: Vec<String> = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim_end().to_string())
            .collect();
        assert!(names.iter().any(|n| n == "nanostream-ops"), "{names:?}");
    }
    server.shutdown();
}
