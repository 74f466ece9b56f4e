//! `redis-cli` (Debian's redis-tools 7) as a process against redis-server and the broker: one-shot
//! commands, a background `SUBSCRIBE`, `INFO`'s sections, 1,000 commands from stdin and through
//! `--pipe`, and `-a` with a password.

mod broker;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use broker::{cli, run_bounded};
use common::{Server, Target};

/// How long one redis-cli run may take before the test fails.
const RUN_DEADLINE: Duration = Duration::from_secs(20);

/// Runs `redis-cli -p PORT args...` and returns its stdout; fails on a non-zero exit.
fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = run_bounded(cli(port).args(args), None, RUN_DEADLINE);
    assert!(
        output.status.success(),
        "redis-cli {args:?}: {} (stderr: {})",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("redis-cli prints text here")
}

fn ping_and_publish(target: Target) {
    let server = Server::start_default(target);
    assert_eq!(redis_cli(server.port, &["PING"]), "PONG\n");
    assert_eq!(redis_cli(server.port, &["PING", "hello world"]), "hello world\n");
    assert_eq!(redis_cli(server.port, &["ECHO", "x"]), "x\n");
    assert_eq!(
        redis_cli(server.port, &["PUBLISH", "ch", "nobody listens"]),
        "0\n"
    );
    assert_eq!(redis_cli(server.port, &["PUBSUB", "NUMPAT"]), "0\n");
    // Errors are printed on stdout (redis-cli exits 0 for a server error reply).
    assert_eq!(
        redis_cli(server.port, &["PUBLISH", "ch"]),
        "ERR wrong number of arguments for 'publish' command\n\n"
    );
}

/// A `redis-cli SUBSCRIBE` child whose stdout lines arrive on a channel.
struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Subscriber {
    fn start(port: u16, args: &[&str]) -> Subscriber {
        let mut child = cli(port)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-cli");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Subscriber {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until the printed lines end with `tail` somewhere; returns whether they did.
    fn wait_for_lines(&mut self, tail: &[&str], deadline: Duration) -> bool {
        let until = Instant::now() + deadline;
        loop {
            if self.seen.windows(tail.len()).any(|w| w == tail) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return false,
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn subscribe_in_background(target: Target) {
    let server = Server::start_default(target);
    let mut sub = Subscriber::start(server.port, &["SUBSCRIBE", "ch"]);
    assert!(
        sub.wait_for_lines(&["subscribe", "ch", "1"], Duration::from_secs(10)),
        "no subscribe confirmation from redis-cli: {:?}",
        sub.seen
    );
    // Subscribed on the server once the confirmation is printed: the first PUBLISH reaches it.
    assert_eq!(
        redis_cli(server.port, &["PUBLISH", "ch", "hello from cli"]),
        "1\n"
    );
    assert!(
        sub.wait_for_lines(&["message", "ch", "hello from cli"], Duration::from_secs(10)),
        "the subscriber did not print the message: {:?}",
        sub.seen
    );

    let mut psub = Subscriber::start(server.port, &["PSUBSCRIBE", "c?"]);
    assert!(
        psub.wait_for_lines(&["psubscribe", "c?", "1"], Duration::from_secs(10)),
        "no psubscribe confirmation: {:?}",
        psub.seen
    );
    assert_eq!(redis_cli(server.port, &["PUBLISH", "ch", "second"]), "2\n");
    assert!(
        psub.wait_for_lines(&["pmessage", "c?", "ch", "second"], Duration::from_secs(10)),
        "the pattern subscriber did not print the message: {:?}",
        psub.seen
    );
    assert!(
        sub.wait_for_lines(&["message", "ch", "second"], Duration::from_secs(10)),
        "{:?}",
        sub.seen
    );

    // Killing the subscriber drops its subscription on the server.
    drop(sub);
    drop(psub);
    assert!(
        common::wait_for(Duration::from_secs(10), || redis_cli(
            server.port,
            &["PUBLISH", "ch", "x"]
        ) == "0\n"),
        "subscriptions outlived their killed redis-cli"
    );
}

fn info_sections(target: Target) {
    let server = Server::start_default(target);
    let info = redis_cli(server.port, &["INFO"]);
    for section in ["# Server", "# Clients", "# Stats", "# Memory"] {
        assert!(
            info.lines().any(|l| l == section),
            "INFO lacks {section:?}:\n{info}"
        );
    }
    // Every other non-empty line is `field:value`.
    for line in info.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(line.contains(':'), "INFO line without a colon: {line:?}");
    }
    let server_only = redis_cli(server.port, &["INFO", "server"]);
    assert!(server_only.lines().any(|l| l == "# Server"), "{server_only}");
    assert!(
        !server_only.lines().any(|l| l == "# Stats"),
        "INFO server printed more: {server_only}"
    );
}

fn thousand_commands_from_stdin(target: Target) {
    let server = Server::start_default(target);
    let mut sub = Subscriber::start(server.port, &["SUBSCRIBE", "seq"]);
    assert!(
        sub.wait_for_lines(&["subscribe", "seq", "1"], Duration::from_secs(10)),
        "{:?}",
        sub.seen
    );

    // Plain stdin: one command per line, one reply per line.
    let mut script = String::new();
    for i in 0..1_000 {
        if i % 2 == 0 {
            script.push_str(&format!("PUBLISH seq m{i}\n"));
        } else {
            script.push_str(&format!("ECHO \"e {i}\"\n"));
        }
    }
    let output = run_bounded(&mut cli(server.port), Some(script.as_bytes()), RUN_DEADLINE);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1_000, "replies: {stdout}");
    for (i, line) in lines.iter().enumerate() {
        let want = if i % 2 == 0 {
            "1".to_string()
        } else {
            format!("e {i}")
        };
        assert_eq!(*line, want, "reply {i}");
    }
    assert!(
        sub.wait_for_lines(&["message", "seq", "m998"], Duration::from_secs(10)),
        "last message missing"
    );
    let messages: Vec<&String> = sub
        .seen
        .iter()
        .filter(|l| l.starts_with('m') && *l != "message")
        .collect();
    let want: Vec<String> = (0..1_000).step_by(2).map(|i| format!("m{i}")).collect();
    assert!(
        messages.iter().copied().eq(want.iter()),
        "messages out of order or missing: {messages:?}"
    );

    // --pipe: raw RESP in, a summary out.
    let mut resp = Vec::new();
    for i in 0..1_000 {
        let n = i.to_string();
        resp.extend_from_slice(&common::command(&[b"PUBLISH", b"piped", n.as_bytes()]));
    }
    let output = run_bounded(cli(server.port).arg("--pipe"), Some(&resp), RUN_DEADLINE);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("errors: 0, replies: 1000"), "{stdout}");
}

fn password(target: Target) {
    let server = match target {
        Target::Broker => Server::broker(&["--requirepass", "s3cret"]),
        Target::Redis => Server::redis(&["--requirepass", "s3cret"]),
    };
    assert_eq!(
        redis_cli(server.port, &["PING"]),
        "NOAUTH Authentication required.\n\n"
    );
    assert_eq!(
        redis_cli(server.port, &["-a", "s3cret", "--no-auth-warning", "PING"]),
        "PONG\n"
    );
    assert_eq!(
        redis_cli(
            server.port,
            &["-a", "s3cret", "--no-auth-warning", "PUBLISH", "a", "b"]
        ),
        "0\n"
    );
    let wrong = run_bounded(
        cli(server.port).args(["-a", "nope", "--no-auth-warning", "PING"]),
        None,
        RUN_DEADLINE,
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("WRONGPASS"),
        "stderr: {}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&wrong.stdout),
        "NOAUTH Authentication required.\n\n"
    );
    // REDISCLI_AUTH is the other way redis-cli takes a password.
    let output = run_bounded(
        cli(server.port).env("REDISCLI_AUTH", "s3cret").arg("PING"),
        None,
        RUN_DEADLINE,
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "PONG\n");
}

#[test]
fn ping_and_publish_on_redis() {
    ping_and_publish(Target::Redis);
}

#[test]
fn ping_and_publish_on_broker() {
    ping_and_publish(Target::Broker);
}

#[test]
fn subscribe_in_background_on_redis() {
    subscribe_in_background(Target::Redis);
}

#[test]
fn subscribe_in_background_on_broker() {
    subscribe_in_background(Target::Broker);
}

#[test]
fn info_sections_on_redis() {
    info_sections(Target::Redis);
}

#[test]
fn info_sections_on_broker() {
    info_sections(Target::Broker);
}

#[test]
fn thousand_commands_from_stdin_on_redis() {
    thousand_commands_from_stdin(Target::Redis);
}

#[test]
fn thousand_commands_from_stdin_on_broker() {
    thousand_commands_from_stdin(Target::Broker);
}

#[test]
fn password_on_redis() {
    password(Target::Redis);
}

#[test]
fn password_on_broker() {
    password(Target::Broker);
}
