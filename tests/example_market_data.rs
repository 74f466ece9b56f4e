//! `examples/market_data.rs` runs and its quotes reach a Redis-protocol subscriber live.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{command, free_port};

#[test]
fn quotes_reach_a_subscriber() {
    let mut example_path = std::env::current_exe().unwrap();
    example_path.pop();
    if example_path.ends_with("deps") {
        example_path.pop();
    }
    let example_path = example_path.join("examples").join("market_data");
    assert!(
        example_path.exists(),
        "{} is built by `cargo test`",
        example_path.display()
    );
    let port = free_port();
    let mut child = Command::new(&example_path)
        .args(["--port", &port.to_string(), "--rate", "500"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                panic!("the example did not listen: {e}");
            }
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (&stream).write_all(&command(&[b"SUBSCRIBE", b"ticks"])).unwrap();
    let mut lines = BufReader::new(&stream).lines();
    let mut next = || lines.next().expect("a line").expect("read");
    // The confirmation: *3, $9, subscribe, $5, ticks, :1
    let confirmation: Vec<String> = (0..6).map(|_| next()).collect();
    assert_eq!(confirmation[2], "subscribe");
    for _ in 0..20 {
        assert_eq!(next(), "*3");
        next();
        assert_eq!(next(), "message");
        next();
        assert_eq!(next(), "ticks");
        next();
        let quote = next();
        assert!(
            quote.starts_with(r#"{"symbol":""#) && quote.contains(r#""mid":"#),
            "{quote}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
