//! Fan-out: 1,000 subscribers on one channel, one publisher sending 200 numbered messages; every
//! subscriber receives every message, in order, byte for byte. Four threads own 250 sockets each
//! (the machine has two cores); every read is bounded by a deadline for the whole test. And a
//! subscriber that stops reading is dropped at its output limit without holding anyone up.

mod broker;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::{confirmation, message, show, Conn};
use common::{command, Server, Target};

const SUBSCRIBERS: usize = 1_000;
const THREADS: usize = 4;
const MESSAGES: usize = 200;
/// The whole test (connect, subscribe, publish, read) must finish within this.
const DEADLINE: Duration = Duration::from_secs(120);

/// Makes sure this process (and the server it starts) may open the sockets the test needs.
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live local of that type.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit");
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "RLIMIT_NOFILE hard limit {} is below {needed}",
        limit.rlim_max
    );
    limit.rlim_cur = needed;
    // SAFETY: `setrlimit` reads one `rlimit` through a pointer to a live local of that type.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(set, 0, "setrlimit");
}

/// Where the publisher is: the subscribers read once it has published, and stop if it aborted.
#[derive(Default)]
struct Phase {
    published: AtomicBool,
    aborted: AtomicBool,
}

/// Sets `aborted` when the publisher's side unwinds, so the subscriber threads stop waiting and
/// the scope can join them instead of hanging.
struct AbortOnDrop<'a>(&'a AtomicBool);

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn payload(seq: usize) -> Vec<u8> {
    format!("seq={seq:06} {}", "x".repeat(40)).into_bytes()
}

fn time_left(until: Instant) -> Duration {
    let left = until.saturating_duration_since(Instant::now());
    assert!(!left.is_zero(), "fan-out test passed its {DEADLINE:?} deadline");
    left
}

fn fanout(target: Target) {
    raise_fd_limit(4 * SUBSCRIBERS as u64);
    let server = Server::start_default(target);
    let until = Instant::now() + DEADLINE;
    let expected: Vec<u8> = (0..MESSAGES)
        .flat_map(|seq| message(b"fan", &payload(seq)))
        .collect();
    // Phases without barriers, so a thread that fails cannot leave the others waiting forever.
    let subscribed = AtomicUsize::new(0);
    let phase = Phase::default();

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (server, expected, subscribed, phase) = (&server, &expected, &subscribed, &phase);
                scope.spawn(move || {
                    let confirm = confirmation("subscribe", Some(b"fan"), 1);
                    let mut sockets: Vec<TcpStream> = Vec::with_capacity(SUBSCRIBERS / THREADS);
                    for _ in 0..SUBSCRIBERS / THREADS {
                        let mut s = server.connect();
                        s.set_read_timeout(Some(time_left(until).min(Duration::from_secs(10))))
                            .unwrap();
                        s.write_all(&command(&[b"SUBSCRIBE", b"fan"])).unwrap();
                        let mut got = vec![0; confirm.len()];
                        s.read_exact(&mut got)
                            .unwrap_or_else(|e| panic!("thread {t}: confirmation: {e}"));
                        assert_eq!(got, confirm, "thread {t}: {}", show(&got));
                        sockets.push(s);
                    }
                    subscribed.fetch_add(1, Ordering::SeqCst);
                    let decided = common::wait_for(time_left(until), || {
                        phase.published.load(Ordering::SeqCst) || phase.aborted.load(Ordering::SeqCst)
                    });
                    if !decided || !phase.published.load(Ordering::SeqCst) {
                        return; // the publisher failed and says why
                    }
                    let mut got = vec![0; expected.len()];
                    for (i, s) in sockets.iter_mut().enumerate() {
                        s.set_read_timeout(Some(time_left(until).min(Duration::from_secs(10))))
                            .unwrap();
                        if let Err(e) = s.read_exact(&mut got) {
                            panic!("thread {t}, subscriber {i}: {e}");
                        }
                        if got != *expected {
                            let at = got.iter().zip(expected.iter()).position(|(a, b)| a != b).unwrap();
                            panic!(
                                "thread {t}, subscriber {i}: stream differs at byte {at}: got {} expected {}",
                                show(&got[at.saturating_sub(40)..(at + 80).min(got.len())]),
                                show(&expected[at.saturating_sub(40)..(at + 80).min(expected.len())])
                            );
                        }
                    }
                })
            })
            .collect();

        let _abort_on_panic = AbortOnDrop(&phase.aborted);
        let all_subscribed = common::wait_for(time_left(until), || {
            subscribed.load(Ordering::SeqCst) == THREADS || workers.iter().any(|w| w.is_finished())
        });
        if !all_subscribed || subscribed.load(Ordering::SeqCst) != THREADS {
            phase.aborted.store(true, Ordering::SeqCst);
            for worker in workers {
                worker.join().expect("a subscriber thread failed");
            }
            panic!("not every subscriber thread subscribed within {DEADLINE:?}");
        }
        let mut publisher = Conn::open(&server);
        let numsub = publisher.call_raw(&[b"PUBSUB", b"NUMSUB", b"fan"]);
        assert_eq!(
            numsub,
            format!("*2\r\n$3\r\nfan\r\n:{SUBSCRIBERS}\r\n").into_bytes(),
            "{}",
            show(&numsub)
        );
        let receivers = format!(":{SUBSCRIBERS}\r\n").into_bytes();
        for seq in 0..MESSAGES {
            time_left(until);
            let reply = publisher.call_raw(&[b"PUBLISH", b"fan", &payload(seq)]);
            assert_eq!(reply, receivers, "PUBLISH {seq}: {}", show(&reply));
        }
        phase.published.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.join().expect("a subscriber thread failed");
        }
    });
}

/// A subscriber that never reads passes the client-output hard limit (1 MB here) and is
/// disconnected; the publisher's every PUBLISH is answered meanwhile and a subscriber that does
/// read receives every message, in order.
fn slow_subscriber_is_dropped(target: Target) {
    let server = match target {
        Target::Redis => Server::redis(&["--client-output-buffer-limit", "pubsub 1mb 256kb 60"]),
        Target::Broker => Server::broker(&["--client-output-limit", "1mb 256kb 60"]),
    };
    const MAX_PUBLISHES: usize = 1_000; // 64 MB: far beyond the socket buffers plus the limit
    const AFTER_DROP: usize = 10;
    let big = |seq: usize| {
        let mut p = format!("{seq:06}").into_bytes();
        p.resize(64 << 10, b'.');
        p
    };
    let confirm = confirmation("subscribe", Some(b"slow"), 1);
    let mut slow = Conn::open(&server);
    assert_eq!(slow.call_raw(&[b"SUBSCRIBE", b"slow"]), confirm);
    let mut fast = Conn::open(&server);
    assert_eq!(fast.call_raw(&[b"SUBSCRIBE", b"slow"]), confirm);
    // The reading subscriber says how far it got, and the publisher waits for it before each
    // message: it never has more than one message pending, so only the slow one can reach the
    // limit, however the two cores are shared.
    let received = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&received);
    let reader = std::thread::spawn(move || {
        // Reads until the `end` message; returns the payloads' sequence numbers.
        let mut seqs = Vec::new();
        loop {
            let frame = fast.read_raw();
            let items = broker::parse(&frame);
            let payload = items.items()[2].bulk().to_vec();
            if payload == b"end" {
                return seqs;
            }
            seqs.push(String::from_utf8_lossy(&payload[..6]).parse::<usize>().unwrap());
            progress.store(seqs.len(), Ordering::SeqCst);
        }
    });

    let mut publisher = Conn::open(&server);
    let mut published = 0;
    let mut dropped_after = None;
    while published < MAX_PUBLISHES {
        let caught_up = common::wait_for(Duration::from_secs(10), || {
            received.load(Ordering::SeqCst) == published || reader.is_finished()
        });
        if reader.is_finished() {
            reader.join().expect("the reading subscriber");
            panic!("the reading subscriber ended early, at message {published}");
        }
        assert!(
            caught_up,
            "the reading subscriber is stuck before message {published}"
        );
        let reply = publisher.call_raw(&[b"PUBLISH", b"slow", &big(published)]);
        published += 1;
        match (reply.as_slice(), dropped_after) {
            (b":2\r\n", None) => {}
            (b":1\r\n", None) => dropped_after = Some(published),
            (b":1\r\n", Some(at)) if published >= at + AFTER_DROP => break,
            (b":1\r\n", Some(_)) => {}
            (other, _) => panic!("PUBLISH {published}: {}", show(other)),
        }
    }
    let dropped_after = dropped_after
        .unwrap_or_else(|| panic!("the slow subscriber was not dropped after {MAX_PUBLISHES} messages"));
    assert_eq!(publisher.call_raw(&[b"PUBLISH", b"slow", b"end"]), b":1\r\n");
    let seqs = reader.join().expect("the reading subscriber");
    assert!(
        seqs.iter().copied().eq(0..published),
        "the reading subscriber missed or reordered messages"
    );

    // The slow one gets what reached its socket before the close: an in-order prefix.
    let got = slow.read_to_close();
    let expected: Vec<u8> = (0..dropped_after)
        .flat_map(|seq| message(b"slow", &big(seq)))
        .collect();
    assert!(
        got.len() < expected.len() && expected.starts_with(&got),
        "the dropped subscriber read {} bytes, not a strict prefix of the {} published before its drop",
        got.len(),
        expected.len()
    );
}

#[test]
fn slow_subscriber_is_dropped_on_redis() {
    slow_subscriber_is_dropped(Target::Redis);
}

#[test]
fn slow_subscriber_is_dropped_on_broker() {
    slow_subscriber_is_dropped(Target::Broker);
}

#[test]
fn thousand_subscribers_on_redis() {
    fanout(Target::Redis);
}

#[test]
fn thousand_subscribers_on_broker() {
    fanout(Target::Broker);
}
