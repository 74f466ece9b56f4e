//! redis-py (Debian's python3-redis 4.3) against redis-server and the broker: the scripts in
//! `tests/clients/` do the checking and exit non-zero, saying what differed, on any mismatch.

mod broker;
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use broker::run_bounded;
use common::{Server, Target};

/// Debian's interpreter, which has python3-redis; not whatever `python3` is first in PATH.
const PYTHON: &str = "/usr/bin/python3";

/// How long one script may run: it bounds each of its own waits at 10 s.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// Runs `/usr/bin/python3 tests/clients/NAME args...` and fails the test with its output unless
/// it exits 0.
fn run_script(name: &str, args: &[&str]) {
    let mut command = Command::new(PYTHON);
    command
        .arg(script(name))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_bounded(&mut command, None, SCRIPT_DEADLINE);
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({}):\n{}{}\n(needs {PYTHON} with python3-redis: `apt-get install python3-redis`)",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn pubsub(target: Target) {
    let server = Server::start_default(target);
    run_script("pubsub.py", &[&server.port.to_string()]);
}

fn auth(target: Target) {
    let server = match target {
        Target::Broker => Server::broker(&["--requirepass", "py-secret"]),
        Target::Redis => Server::redis(&["--requirepass", "py-secret"]),
    };
    run_script("auth.py", &[&server.port.to_string(), "py-secret"]);
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
fn auth_on_redis() {
    auth(Target::Redis);
}

#[test]
fn auth_on_broker() {
    auth(Target::Broker);
}
