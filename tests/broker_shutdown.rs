//! Starting and stopping: SIGTERM with subscribers and a publisher connected (every accepted
//! message is delivered before the connections close, and the process exits 0 within 3 s), and
//! the broker refusing to start (bad flag, port in use, a public bind without a password) with a
//! one-line reason.

mod broker;
mod common;

use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::{confirmation, message, run_bounded, show, Conn};
use common::{command, Server, Target};

const SUBSCRIBERS: usize = 4;
/// 40,000 messages of 200 bytes: about 9.4 MB per subscriber, more than loopback's socket
/// buffers hold (a subscriber that does not read stops taking bytes near 4 MB here), so the
/// server still holds some of every lazy subscriber's messages when the signal comes; and less
/// than the default client-output soft limit (8 MB) beyond what the kernel took.
const MESSAGES: usize = 40_000;
/// What fits in the socket buffers: redis-server delivers this much, as the kernel already holds
/// it, but drops what it still holds itself on SIGTERM (4,096,276 of 4,700,000 bytes arrived in
/// a trial with 20,000 messages), so against Redis the test can only check the smaller case.
const MESSAGES_IN_KERNEL_BUFFERS: usize = 2_000;
const BATCH: usize = 100;
/// The contract says about 2 s; the test allows 3.
const EXIT_DEADLINE: Duration = Duration::from_secs(3);

fn payload(seq: usize) -> Vec<u8> {
    let mut p = format!("{seq:08}:").into_bytes();
    p.resize(200, b'.');
    p
}

fn sigterm_delivers_accepted(target: Target, messages: usize) {
    let mut server = Server::start_default(target);
    let confirm = confirmation("subscribe", Some(b"down"), 1);
    let signalled = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..SUBSCRIBERS)
        .map(|i| {
            let mut sub = Conn::open(&server);
            assert_eq!(sub.call_raw(&[b"SUBSCRIBE", b"down"]), confirm);
            // Half read as messages arrive; half only once the signal is on its way, so the
            // server still holds their messages when it is told to stop.
            let eager = i % 2 == 0;
            let signalled = Arc::clone(&signalled);
            std::thread::spawn(move || {
                if !eager {
                    let ready =
                        common::wait_for(Duration::from_secs(120), || signalled.load(Ordering::SeqCst));
                    assert!(ready, "the test never sent the signal");
                }
                sub.read_to_close()
            })
        })
        .collect();

    let mut publisher = Conn::open(&server);
    let accepted = format!(":{SUBSCRIBERS}\r\n").into_bytes();
    for batch in 0..messages / BATCH {
        let mut requests = Vec::new();
        for seq in batch * BATCH..(batch + 1) * BATCH {
            requests.extend_from_slice(&command(&[b"PUBLISH", b"down", &payload(seq)]));
        }
        publisher.send(&requests);
        for seq in batch * BATCH..(batch + 1) * BATCH {
            let reply = publisher.read_raw();
            assert_eq!(reply, accepted, "PUBLISH {seq}: {}", show(&reply));
        }
    }

    signalled.store(true, Ordering::SeqCst);
    let status = server.signal_and_wait(libc::SIGTERM, EXIT_DEADLINE);
    let status = status.unwrap_or_else(|| panic!("{target:?} still running {EXIT_DEADLINE:?} after SIGTERM"));
    assert!(status.success(), "{target:?} exited with {status} after SIGTERM");

    let expected: Vec<u8> = (0..messages)
        .flat_map(|seq| message(b"down", &payload(seq)))
        .collect();
    for (i, reader) in readers.into_iter().enumerate() {
        let got = reader.join().expect("subscriber thread");
        if got != expected {
            let at = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()));
            panic!(
                "subscriber {i} ({}) got {} of {} bytes before the close; first difference at byte {at}: {}",
                if i % 2 == 0 { "eager" } else { "lazy" },
                got.len(),
                expected.len(),
                show(&got[at.saturating_sub(20)..(at + 60).min(got.len())])
            );
        }
    }
    // The publisher's connection was closed too.
    assert_eq!(show(&publisher.read_to_close()), "");
}

/// Runs the broker binary with `args`, expecting it to refuse to start with a one-line reason;
/// returns that stderr, or what was wrong instead.
fn refusal(args: &[&str]) -> Result<String, String> {
    let mut broker = Command::new(common::broker_binary());
    broker
        .args(args)
        .env_remove("NANOSTREAM_PASSWORD")
        .env_remove("NANOSTREAM_BIND")
        .env_remove("NANOSTREAM_PORT")
        .env("NANOSTREAM_LOG_LEVEL", "warn");
    let output = run_bounded(&mut broker, None, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        return Err(format!("{args:?}: exited 0"));
    }
    if stderr.trim_end().lines().count() != 1 {
        return Err(format!(
            "{args:?}: {} and not one line on stderr but:\n{stderr}",
            output.status
        ));
    }
    Ok(stderr)
}

/// [`refusal`], failing the test.
fn broker_refuses(args: &[&str]) -> String {
    refusal(args).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sigterm_delivers_what_the_kernel_holds_on_redis() {
    sigterm_delivers_accepted(Target::Redis, MESSAGES_IN_KERNEL_BUFFERS);
}

#[test]
fn sigterm_delivers_what_the_kernel_holds_on_broker() {
    sigterm_delivers_accepted(Target::Broker, MESSAGES_IN_KERNEL_BUFFERS);
}

#[test]
fn sigterm_delivers_accepted_on_broker() {
    sigterm_delivers_accepted(Target::Broker, MESSAGES);
}

#[test]
fn bad_flag_on_broker() {
    let mut failures = Vec::new();
    for (args, named) in [
        (&["--no-such-flag"][..], "--no-such-flag"),
        (&["--port", "not-a-number"], "not-a-number"),
        (&["--max-payload", "lots"], "lots"),
        (&["--client-output-limit", "32mb"], "32mb"),
        (&["--protected-mode", "maybe"], "maybe"),
    ] {
        match refusal(args) {
            Ok(stderr) if !stderr.contains(named) => {
                failures.push(format!("{args:?}: does not name {named}: {stderr}"))
            }
            Ok(_) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn port_in_use_on_broker() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = broker_refuses(&["--port", &port]);
    assert!(
        stderr.contains(&port),
        "stderr does not name the port {port}: {stderr}"
    );
}

#[test]
fn protected_mode_on_broker() {
    let port = common::free_port().to_string();
    let stderr = broker_refuses(&["--bind", "0.0.0.0", "--port", &port]);
    assert!(
        stderr.to_lowercase().contains("protected"),
        "stderr does not mention protected mode: {stderr}"
    );
    // Told so, or with a password, it starts (tests connect through loopback only).
    let server = Server::broker(&["--bind", "0.0.0.0", "--protected-mode", "no"]);
    assert_eq!(Conn::open(&server).call_raw(&[b"PING"]), b"+PONG\r\n");
    let server = Server::broker(&["--bind", "0.0.0.0", "--requirepass", "pw"]);
    let mut c = Conn::open(&server);
    assert_eq!(c.call_raw(&[b"AUTH", b"pw"]), b"+OK\r\n");
    assert_eq!(c.call_raw(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn settings_from_environment_on_broker() {
    let server = Server::broker_with(&[], |c| {
        c.env("NANOSTREAM_PASSWORD", "from-env");
    });
    let mut c = Conn::open(&server);
    assert_eq!(c.call_raw(&[b"PING"]), b"-NOAUTH Authentication required.\r\n");
    assert_eq!(c.call_raw(&[b"AUTH", b"from-env"]), b"+OK\r\n");
    assert_eq!(c.call_raw(&[b"PING"]), b"+PONG\r\n");
}
