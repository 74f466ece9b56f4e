//! A subscriber that stops reading costs everyone else nothing: while 200 MB are published to
//! its channel, the publisher gets every reply, a second subscriber receives its own messages in
//! order (the first of them while the flood is still going on), and the server disconnects the
//! stalled subscriber once its pending output passes the hard limit, or stays above the soft
//! limit for longer than its seconds; a soft limit alone is not a hard one. Every script runs
//! against the broker and against redis-server with the same limits (`client-output-buffer-limit`
//! for the pubsub class).

mod common;
mod hostile;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{command, wait_for, Server, Target};
use hostile::{connect_with_rcvbuf, frame_len, message, numsub, show, subscribed, Conn, Ending, Witness};

/// One flood message's payload.
const CHUNK: usize = 64 * 1024;
/// 3200 × 64 KiB = 200 MiB in all.
const FLOOD_CHUNKS: usize = 3200;
/// A sequenced message to `fast` goes before every this many flood messages.
const SEQ_EVERY: usize = 32;
/// Flood messages sent before their replies are read.
const BATCH: usize = 16;
/// After this many flood messages (6 MiB, below every limit used here) the stalled subscriber
/// must still be connected, and the fast one must have everything sent so far.
const CHECKPOINT: usize = 96;
/// What the stalled subscriber asks the kernel to buffer for it.
const TINY_RCVBUF: i32 = 4096;
/// A hang check, not a timing requirement: the flood takes a few seconds on a laptop.
const FLOOD_DEADLINE: Duration = Duration::from_secs(60);
/// How long to wait for something that must happen (a delivery, a disconnection).
const DEADLINE: Duration = Duration::from_secs(30);

fn seq_payload(k: usize) -> Vec<u8> {
    format!("seq-{k:06}").into_bytes()
}

/// A subscriber of `slow` that will never read again (after its confirmation).
fn stalled_subscriber(server: &Server) -> Conn {
    let mut conn = Conn::new(connect_with_rcvbuf(server.port, TINY_RCVBUF));
    conn.expect(&command(&[b"SUBSCRIBE", b"slow"]), &subscribed(b"slow", 1));
    conn
}

/// `CLIENT LIST`'s reply.
fn client_list(admin: &mut Conn) -> String {
    admin.send(&command(&[b"CLIENT", b"LIST"]));
    String::from_utf8_lossy(&admin.reply()).into_owned()
}

/// `connected_clients` from `INFO clients`.
fn connected_clients(admin: &mut Conn) -> u64 {
    admin.send(&command(&[b"INFO", b"clients"]));
    let info = String::from_utf8_lossy(&admin.reply()).into_owned();
    let line = info.lines().find_map(|l| l.strip_prefix("connected_clients:"));
    line.and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connected_clients in INFO clients: {info:?}"))
}

/// Waits until INFO counts exactly the `expected` clients this test holds open (the server's
/// readiness probe may still be counted for a moment after it started).
fn assert_connected_clients(target: Target, admin: &mut Conn, expected: u64, when: &str) {
    let mut last = 0;
    assert!(
        wait_for(DEADLINE, || {
            last = connected_clients(admin);
            last == expected
        }),
        "{target:?} {when}: INFO clients says connected_clients:{last}, the test holds {expected} open"
    );
}

/// Publishes `count` flood messages to `slow` in pipelined batches, checking every reply; a
/// sequenced message to `fast` goes before every `SEQ_EVERY`th one when `seq` is given.
/// `at_checkpoint` runs once `CHECKPOINT` flood messages have been answered. Returns the index
/// of the first flood message the server answered with 0 receivers (the stalled subscriber had
/// been dropped), and how many sequenced messages were sent.
fn flood(
    target: Target,
    publisher: &mut Conn,
    count: usize,
    seq: bool,
    mut at_checkpoint: impl FnMut(usize),
) -> (Option<usize>, usize) {
    let chunk_request = command(&[b"PUBLISH", b"slow", &[b'x'; CHUNK]]);
    let started = Instant::now();
    let mut sent = 0;
    let mut seq_sent = 0;
    let mut dropped_at = None;
    while sent < count {
        let mut batch = Vec::with_capacity(BATCH * (chunk_request.len() + 64));
        let mut expect_fast = Vec::with_capacity(BATCH * 2);
        for _ in 0..BATCH.min(count - sent) {
            if seq && sent % SEQ_EVERY == 0 {
                batch.extend_from_slice(&command(&[b"PUBLISH", b"fast", &seq_payload(seq_sent)]));
                expect_fast.push(true);
                seq_sent += 1;
            }
            batch.extend_from_slice(&chunk_request);
            expect_fast.push(false);
            sent += 1;
        }
        publisher.send(&batch);
        let first_index = sent - expect_fast.iter().filter(|fast| !**fast).count();
        let mut index = first_index;
        for fast in expect_fast {
            let reply = publisher.try_reply().unwrap_or_else(|e| {
                panic!("{target:?} left the publisher without a reply after {sent} flood messages: {e}")
            });
            if fast {
                assert_eq!(reply, b":1\r\n", "{target:?}: PUBLISH fast got {}", show(&reply));
                continue;
            }
            match (&reply[..], dropped_at) {
                (b":1\r\n", None) => {}
                (b":0\r\n", _) => {
                    dropped_at.get_or_insert(index);
                }
                _ => panic!(
                    "{target:?}: PUBLISH slow #{index} got {} (dropped at {dropped_at:?})",
                    show(&reply)
                ),
            }
            index += 1;
        }
        if first_index < CHECKPOINT && CHECKPOINT <= sent {
            at_checkpoint(seq_sent);
        }
        assert!(
            started.elapsed() < FLOOD_DEADLINE,
            "{target:?}: the flood hung ({sent} of {count} messages in {FLOOD_DEADLINE:?})"
        );
    }
    (dropped_at, seq_sent)
}

/// Waits until the stalled subscriber is gone from the server (not counted on its channel,
/// not in CLIENT LIST, not in INFO's `connected_clients`, which must come down to the
/// `others` clients still open), then reads what the kernel still held for it: whole or
/// cut-off `message` frames of `slow`, then the end of the connection.
fn assert_disconnected(target: Target, admin: &mut Conn, mut slow: Conn, addr: &str, others: u64) {
    assert!(
        wait_for(DEADLINE, || numsub(admin, b"slow") == 0),
        "{target:?} still counts the stalled subscriber on its channel"
    );
    assert!(
        wait_for(DEADLINE, || !client_list(admin).contains(addr)),
        "{target:?} still lists the stalled subscriber: {}",
        client_list(admin)
    );
    assert_connected_clients(target, admin, others, "after the stalled subscriber was dropped");
    let (bytes, ending) = slow.read_to_close();
    assert_ne!(
        ending,
        Ending::TimedOut,
        "{target:?} dropped the subscriber but did not close its connection"
    );
    let mut at = 0;
    while at < bytes.len() {
        match frame_len(&bytes[at..]) {
            Ok(Some(len)) => {
                let frame = &bytes[at..at + len];
                assert!(
                    frame.starts_with(b"*3\r\n$7\r\nmessage\r\n$4\r\nslow\r\n"),
                    "{target:?} sent the stalled subscriber {}",
                    show(frame)
                );
                at += len;
            }
            Ok(None) => break, // the last frame may have been cut off when the server gave up
            Err(e) => panic!("{target:?} sent the stalled subscriber something that is not RESP: {e}"),
        }
    }
}

fn flood_past_hard_limit(server: Server) {
    let target = server.target;
    let mut admin = Conn::open(&server);
    let slow = stalled_subscriber(&server);
    let slow_addr = format!("addr={} ", slow.stream.local_addr().unwrap());
    let mut fast = Conn::open(&server);
    fast.expect(&command(&[b"SUBSCRIBE", b"fast"]), &subscribed(b"fast", 1));
    assert!(
        client_list(&mut admin).contains(&slow_addr),
        "{target:?}: CLIENT LIST lacks {slow_addr}"
    );

    // The fast subscriber reads on its own thread and reports each sequenced message, in order.
    let seq_total = FLOOD_CHUNKS.div_ceil(SEQ_EVERY);
    let (tx, rx) = mpsc::channel::<Result<usize, String>>();
    let reader = thread::spawn(move || {
        for k in 0..seq_total {
            let expected = message(b"fast", &seq_payload(k));
            let report = match fast.read_exact(expected.len()) {
                Ok(got) if got == expected => Ok(k),
                Ok(got) => Err(format!("expected {}, got {}", show(&expected), show(&got))),
                Err(e) => Err(format!("waiting for {}: {e}", show(&expected))),
            };
            let failed = report.is_err();
            if tx.send(report).is_err() || failed {
                break;
            }
        }
        fast // kept open, so the count of connected clients is known
    });
    let mut received = 0;
    let mut receive_until = |count: usize, when: &str| {
        let until = Instant::now() + DEADLINE;
        while received < count {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(k)) => {
                    assert_eq!(k, received, "{target:?}: fast subscriber out of order");
                    received += 1;
                }
                Ok(Err(e)) => panic!("{target:?}: fast subscriber {when}: {e}"),
                Err(e) => panic!("{target:?}: fast subscriber had {received} of {count} {when}: {e}"),
            }
        }
    };

    let mut publisher = Conn::open(&server);
    // admin, slow, fast, publisher
    assert_connected_clients(target, &mut admin, 4, "before the flood");
    let mut checkpoint_seen = false;
    let (dropped_at, seq_sent) = flood(target, &mut publisher, FLOOD_CHUNKS, true, |seq_sent| {
        // While the stalled subscriber holds megabytes of unread messages and is still
        // connected, the other subscriber has received everything published to it so far.
        receive_until(seq_sent, "while the stalled subscriber was connected");
        assert_eq!(
            numsub(&mut admin, b"slow"),
            1,
            "{target:?} dropped the subscriber below every limit"
        );
        checkpoint_seen = true;
    });
    println!("{target:?} dropped the stalled subscriber at flood message #{dropped_at:?}");
    assert!(checkpoint_seen);
    assert_eq!(seq_sent, seq_total);
    receive_until(seq_total, "after the flood");
    let _fast = reader.join().unwrap();
    assert!(
        dropped_at.is_some(),
        "{target:?} still counted the stalled subscriber after 200 MB were published to it"
    );
    assert_disconnected(target, &mut admin, slow, &slow_addr, 3);
    admin.expect(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
}

#[test]
fn flood_past_hard_limit_on_redis() {
    flood_past_hard_limit(Server::redis(&[]));
}

#[test]
fn flood_past_hard_limit_on_broker() {
    flood_past_hard_limit(Server::broker(&[]));
}

/// 256 flood messages: 16 MiB, far more than the kernel buffers for the stalled subscriber.
const SOFT_FLOOD: usize = 256;

/// With no hard limit and a soft limit of 1 MB for 1 s, a subscriber that stays above 1 MB is
/// disconnected once the second has passed (Redis notices when more output is queued for it,
/// so small messages keep coming until it does).
fn soft_limit(server: Server) {
    let target = server.target;
    let mut admin = Conn::open(&server);
    let mut witness = Witness::new(&server, "well-behaved");
    let slow = stalled_subscriber(&server);
    let slow_addr = format!("addr={} ", slow.stream.local_addr().unwrap());
    let mut publisher = Conn::open(&server);
    // admin, the witness's two, slow, publisher
    assert_connected_clients(target, &mut admin, 5, "before the flood");
    flood(target, &mut publisher, SOFT_FLOOD, false, |_| {});
    witness.round();
    let mut ticks = 0;
    let dropped = wait_for(DEADLINE, || {
        ticks += 1;
        publisher.send(&command(&[b"PUBLISH", b"slow", b"tick"]));
        let reply = publisher.reply();
        witness.round();
        match &reply[..] {
            b":1\r\n" => false,
            b":0\r\n" => true,
            other => panic!("{target:?}: PUBLISH slow tick got {}", show(other)),
        }
    });
    assert!(
        dropped,
        "{target:?} kept a subscriber above its soft limit for {DEADLINE:?} ({ticks} ticks)"
    );
    assert_disconnected(target, &mut admin, slow, &slow_addr, 4);
    witness.round();
}

#[test]
fn soft_limit_on_redis() {
    soft_limit(Server::redis(&["--client-output-buffer-limit", "pubsub 0 1mb 1"]));
}

#[test]
fn soft_limit_on_broker() {
    soft_limit(Server::broker(&["--client-output-limit", "0 1mb 1"]));
}

/// With no hard limit and a soft limit of 1 MB for an hour, a subscriber far above 1 MB is kept,
/// and when it reads again it receives every message, in order.
fn soft_limit_is_not_a_hard_limit(server: Server) {
    let target = server.target;
    let mut admin = Conn::open(&server);
    let mut slow = stalled_subscriber(&server);
    let mut publisher = Conn::open(&server);
    let (dropped_at, _) = flood(target, &mut publisher, SOFT_FLOOD, false, |_| {});
    assert_eq!(
        dropped_at, None,
        "{target:?} dropped a subscriber that was only above its soft limit"
    );
    assert_eq!(numsub(&mut admin, b"slow"), 1);
    publisher.expect(&command(&[b"PUBLISH", b"slow", b"last"]), b":1\r\n");
    let expected = message(b"slow", &[b'x'; CHUNK]);
    for i in 0..SOFT_FLOOD {
        let got = slow
            .read_exact(expected.len())
            .unwrap_or_else(|e| panic!("{target:?}: the kept subscriber's message #{i}: {e}"));
        assert!(
            got == expected,
            "{target:?}: the kept subscriber's message #{i}: {}",
            show(&got)
        );
    }
    let expected = message(b"slow", b"last");
    let got = slow.read_exact(expected.len()).expect("the last message");
    assert_eq!(got, expected, "{target:?}: {}", show(&got));
}

#[test]
fn soft_limit_is_not_a_hard_limit_on_redis() {
    soft_limit_is_not_a_hard_limit(Server::redis(&[
        "--client-output-buffer-limit",
        "pubsub 0 1mb 3600",
    ]));
}

#[test]
fn soft_limit_is_not_a_hard_limit_on_broker() {
    soft_limit_is_not_a_hard_limit(Server::broker(&["--client-output-limit", "0 1mb 3600"]));
}
