//! The README's durable-topics examples, run as written against the broker: the redis-cli
//! session (its `6380` pointed at the test's broker, the example ID replaced by the one `XADD`
//! answered) and the redis-py consumer (its 5 s wait shortened).

mod broker;
mod common;
mod streams_support;

use std::process::Command;
use std::time::Duration;

use broker::run_bounded;
use common::Server;
use streams_support::TempDir;

const PYTHON: &str = "/usr/bin/python3";
const DEADLINE: Duration = Duration::from_secs(60);
/// The ID the README shows `XADD` answering.
const EXAMPLE_ID: &str = "1764672000000-0";

/// The code blocks of the README's durable-topics section, with their language.
fn section_blocks() -> Vec<(String, String)> {
    common::readme_blocks("## Durable topics")
}

fn broker(dir: &TempDir) -> Server {
    Server::broker(&["--data-dir", dir.path().to_str().expect("utf-8 temp dir")])
}

/// Runs one shell line of the README (a redis-cli command) and returns its output.
fn sh(line: &str) -> String {
    let out = run_bounded(Command::new("sh").arg("-c").arg(line), None, DEADLINE);
    assert!(out.status.success(), "`{line}` failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn readme_redis_cli_session_runs_as_shown() {
    let dir = TempDir::new("readme-cli");
    let server = broker(&dir);
    let (_, block) = section_blocks()
        .into_iter()
        .find(|(lang, _)| lang == "sh")
        .expect("a shell block");
    let port = server.port.to_string();
    let mut id = String::new();
    let mut outputs = Vec::new();
    for line in block.lines().filter(|l| l.starts_with("redis-cli")) {
        let is_xadd = line.starts_with("redis-cli -p 6380 XADD");
        let line = line.replace("6380", &port).replace(EXAMPLE_ID, &id);
        let out = sh(&line);
        if is_xadd {
            id = out.trim().to_string();
            assert!(id.contains('-'), "XADD answers an ID: {out:?}");
        }
        outputs.push(out);
    }
    assert_eq!(outputs.len(), 5, "the five commands of the session");
    assert_eq!(outputs[1].trim(), "OK", "XGROUP CREATE");
    assert!(
        outputs[2].contains("AAPL") && outputs[2].contains(&id),
        "XREADGROUP delivers the entry: {}",
        outputs[2]
    );
    assert!(
        outputs[3].starts_with("1\n") && outputs[3].contains("worker-1"),
        "XPENDING: {}",
        outputs[3]
    );
    assert_eq!(outputs[4].trim(), "1", "XACK acknowledges the one entry");
}

#[test]
fn readme_python_consumer_runs_as_shown() {
    let dir = TempDir::new("readme-py");
    let server = broker(&dir);
    let (_, code) = section_blocks()
        .into_iter()
        .find(|(lang, _)| lang == "python")
        .expect("a python block");
    assert!(
        code.contains("port=6380") && code.contains("block=5000"),
        "the example as documented"
    );
    let code = code
        .replace("port=6380", &format!("port={}", server.port))
        .replace("block=5000", "block=300");
    for qty in ["1", "2", "3"] {
        sh(&format!("redis-cli -p {} XADD orders '*' qty {qty}", server.port));
    }
    let out = run_bounded(Command::new(PYTHON).arg("-c").arg(&code), None, DEADLINE);
    assert!(out.status.success(), "the consumer failed: {out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed.lines().count(), 3, "one line per entry: {printed}");
    for qty in ["1", "2", "3"] {
        assert!(
            printed.contains(&format!("b'qty': b'{qty}'")),
            "entry {qty} printed: {printed}"
        );
    }
    // Everything was acknowledged: a second run, as after a restart, finds nothing new.
    let again = run_bounded(Command::new(PYTHON).arg("-c").arg(&code), None, DEADLINE);
    assert!(
        again.status.success() && again.stdout.is_empty(),
        "nothing left: {again:?}"
    );
    assert_eq!(
        sh(&format!("redis-cli -p {} XPENDING orders shipping", server.port))
            .lines()
            .next(),
        Some("0")
    );
}
