//! Malformed requests get redis-server 7's exact reply (a protocol error closes the connection,
//! what Redis tolerates is tolerated), a claimed 512 MB bulk is not allocated up front, a client
//! vanishing mid-frame costs nothing, and a well-behaved pair on the same server is undisturbed
//! throughout. Every script runs against both the broker and redis-server, the reference.

mod common;
mod hostile;

use std::net::Shutdown;

use common::{command, wait_for, Server, Target};
use hostile::{abort, rss_kib, show, subscribed, Conn, Ending, Witness};

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";

/// What a malformed request must get.
#[derive(Debug)]
enum Outcome {
    /// Exactly these bytes, then the server closes the connection.
    Closed(&'static [u8]),
    /// Exactly these bytes, and the connection keeps serving (a PING afterwards gets +PONG).
    Open(&'static [u8]),
}

struct Case {
    name: &'static str,
    /// Sent in separate writes, so a frame split across reads is exercised too.
    writes: Vec<Vec<u8>>,
    outcome: Outcome,
}

/// The requests and redis-server 7.0.15's replies to them, captured by running this file
/// against it (`src/networking.c`: `processMultibulkBuffer`, `processInlineBuffer`).
fn cases() -> Vec<Case> {
    let mut too_big_inline = vec![b'A'; 70_000];
    too_big_inline[..4].copy_from_slice(b"PING");
    let mut huge_count = b"*".to_vec();
    huge_count.extend(std::iter::repeat_n(b'9', 70_000));
    let mut huge_bulk_count = b"*1\r\n$".to_vec();
    huge_bulk_count.extend(std::iter::repeat_n(b'9', 70_000));
    vec![
        Case {
            // Redis treats a multibulk count <= 0 as an empty request and ignores it.
            name: "negative multibulk count",
            writes: vec![b"*-5\r\n".to_vec(), PING.to_vec()],
            outcome: Outcome::Open(PONG),
        },
        Case {
            name: "multibulk count that is not a number",
            writes: vec![b"*abc\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid multibulk length\r\n"),
        },
        Case {
            name: "multibulk count above i32::MAX",
            writes: vec![b"*2147483648\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid multibulk length\r\n"),
        },
        Case {
            name: "empty multibulk count",
            writes: vec![b"*\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid multibulk length\r\n"),
        },
        Case {
            name: "multibulk count line without an end",
            writes: vec![huge_count],
            outcome: Outcome::Closed(b"-ERR Protocol error: too big mbulk count string\r\n"),
        },
        Case {
            name: "negative bulk length",
            writes: vec![b"*1\r\n$-3\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid bulk length\r\n"),
        },
        Case {
            name: "bulk length that is not a number",
            writes: vec![b"*1\r\n$abc\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid bulk length\r\n"),
        },
        Case {
            name: "bulk length beyond 512 MB",
            writes: vec![b"*1\r\n$600000000\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid bulk length\r\n"),
        },
        Case {
            name: "bulk length one above 512 MB",
            writes: vec![b"*1\r\n$536870913\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: invalid bulk length\r\n"),
        },
        Case {
            name: "bulk length line without an end",
            writes: vec![huge_bulk_count],
            outcome: Outcome::Closed(b"-ERR Protocol error: too big bulk count string\r\n"),
        },
        Case {
            // Redis waits for the line's CRLF before judging it, so the end comes separately.
            name: "argument that is not a bulk",
            writes: vec![b"*1\r\nx".to_vec(), b"\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: expected '$', got 'x'\r\n"),
        },
        Case {
            name: "inline request longer than 64 KiB without a newline",
            writes: vec![too_big_inline],
            outcome: Outcome::Closed(b"-ERR Protocol error: too big inline request\r\n"),
        },
        Case {
            name: "inline request with an unbalanced double quote",
            writes: vec![b"\"unbalanced\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        },
        Case {
            name: "inline request with an unbalanced single quote",
            writes: vec![b"PING 'a\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        },
        Case {
            name: "inline request with a closing quote not followed by a space",
            writes: vec![b"ECHO \"a\"b\r\n".to_vec()],
            outcome: Outcome::Closed(b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        },
        Case {
            // Redis does not check the two bytes after a bulk's payload: it skips them, so `XY`
            // stands in for the CRLF and the next request is parsed normally.
            name: "bulk whose trailing CRLF is something else",
            writes: vec![b"*1\r\n$3\r\nabcXY".to_vec(), PING.to_vec()],
            outcome: Outcome::Open(b"-ERR unknown command 'abc', with args beginning with: \r\n+PONG\r\n"),
        },
        Case {
            name: "blank inline lines",
            writes: vec![b"\r\n\n\r\n".to_vec(), PING.to_vec()],
            outcome: Outcome::Open(PONG),
        },
    ]
}

/// Runs one case on a fresh connection; `Err` describes how the server's answer differed.
fn run_case(server: &Server, case: &Case) -> Result<(), String> {
    let mut conn = Conn::open(server);
    for write in &case.writes {
        // A server that closes early may refuse the rest of a long write; what it replied is
        // still read below.
        if let Err(e) = std::io::Write::write_all(&mut conn.stream, write) {
            if !matches!(case.outcome, Outcome::Closed(_)) {
                return Err(format!("send failed: {e}"));
            }
            break;
        }
    }
    match case.outcome {
        Outcome::Closed(expected) => {
            let (got, ending) = conn.read_to_close();
            if got != expected || ending == Ending::TimedOut {
                return Err(format!(
                    "expected {} then close, got {} then {ending:?}",
                    show(expected),
                    show(&got)
                ));
            }
        }
        Outcome::Open(expected) => {
            let got = conn
                .read_exact(expected.len())
                .map_err(|e| format!("expected {}: {e}", show(expected)))?;
            if got != expected {
                return Err(format!("expected {}, got {}", show(expected), show(&got)));
            }
            conn.send(PING);
            match conn.try_reply() {
                Ok(reply) if reply == PONG => {}
                other => return Err(format!("connection no longer serving: PING got {other:?}")),
            }
        }
    }
    Ok(())
}

fn malformed_requests(target: Target) {
    let server = Server::start_default(target);
    let mut witness = Witness::new(&server, "well-behaved");
    witness.round();
    let mut failures = Vec::new();
    for case in cases() {
        if let Err(why) = run_case(&server, &case) {
            failures.push(format!("{}: {}: {why}", case.name, show(&case.writes.concat())));
        }
        witness.round();
    }
    // A client arriving after all that is served normally too.
    let mut late = Witness::new(&server, "late");
    late.round();
    witness.round();
    assert!(
        failures.is_empty(),
        "{target:?} answered differently:\n{}",
        failures.join("\n")
    );
}

#[test]
fn malformed_requests_on_redis() {
    malformed_requests(Target::Redis);
}

#[test]
fn malformed_requests_on_broker() {
    malformed_requests(Target::Broker);
}

/// A client claims a bulk of almost 512 MB, sends three bytes and stops. The server must wait
/// for the rest without committing memory for what it was promised: its resident size stays
/// far below the claim while the connection sits there (redis-server reserves address space
/// but does not touch it).
fn claimed_bulk_is_not_allocated(target: Target) {
    const ALLOWED_GROWTH_KIB: u64 = 64 * 1024;
    let server = Server::start_default(target);
    let mut witness = Witness::new(&server, "well-behaved");
    witness.round();
    let before = rss_kib(server.pid());

    let mut claims: Vec<Conn> = (0..2).map(|_| Conn::open(&server)).collect();
    for claim in &mut claims {
        claim.send(b"*1\r\n$536870000\r\nabc");
    }
    // Watch while the claims are pending and other clients keep being served; a server that
    // allocated (and zeroed) the claimed buffer would be hundreds of MB larger by now.
    let mut peak = before;
    for _ in 0..50 {
        witness.round();
        peak = peak.max(rss_kib(server.pid()));
    }
    for claim in &mut claims {
        claim.send(b"defgh");
    }
    for _ in 0..50 {
        witness.round();
        peak = peak.max(rss_kib(server.pid()));
    }
    assert!(
        peak < before + ALLOWED_GROWTH_KIB,
        "{target:?} grew from {before} KiB to {peak} KiB resident while two clients claimed 512 MB bulks"
    );
    // The claims are still pending, not refused: the connections are open...
    for claim in &mut claims {
        claim
            .stream
            .set_read_timeout(Some(std::time::Duration::from_millis(1)))
            .unwrap();
        let (got, ending) = claim.read_to_close();
        assert_eq!(
            (got.as_slice(), ending),
            (&b""[..], Ending::TimedOut),
            "{target:?} answered a pending bulk"
        );
    }
    // ...and leaving with them outstanding costs the server nothing.
    drop(claims);
    witness.round();
}

#[test]
fn claimed_bulk_is_not_allocated_on_redis() {
    claimed_bulk_is_not_allocated(Target::Redis);
}

#[test]
fn claimed_bulk_is_not_allocated_on_broker() {
    claimed_bulk_is_not_allocated(Target::Broker);
}

/// Clients that leave in the middle of a frame (closing, half-closing or resetting the
/// connection) cost the server nothing: the well-behaved pair keeps working, channels the
/// leavers subscribed to are released, and new clients are served.
fn disconnect_mid_frame(target: Target) {
    let mut server = Server::start_default(target);
    let mut witness = Witness::new(&server, "well-behaved");
    witness.round();
    let halves: [&[u8]; 6] = [
        b"*3\r\n$7\r\nPUBLISH\r\n$12\r\nwell-behaved\r\n$10\r\nhal",
        b"*3\r\n$7\r\nPUBLISH\r\n$12\r\nwell-beh",
        b"*3\r\n$7\r\nPUBL",
        b"*3\r\n",
        b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nleft\r\n*2\r\n$4\r\nECHO\r\n$5\r\nab",
        b"PUBLISH well-behaved half-a-li",
    ];
    for (i, half) in halves.iter().enumerate() {
        for how in 0..3 {
            let mut conn = Conn::open(&server);
            conn.send(half);
            if half.starts_with(b"*2\r\n$9\r\nSUBSCRIBE") {
                // Make sure the subscription took effect before leaving.
                let expected = subscribed(b"left", 1);
                let got = conn.read_exact(expected.len()).expect("subscription confirmed");
                assert_eq!(got, expected, "{target:?}: {}", show(&got));
            }
            match how {
                0 => drop(conn),
                1 => {
                    // Half-close: the server sees the end of the stream mid-frame and closes too.
                    conn.stream.shutdown(Shutdown::Write).unwrap();
                    let (got, ending) = conn.read_to_close();
                    assert_eq!(
                        (got.as_slice(), ending),
                        (&b""[..], Ending::Eof),
                        "{target:?} after half-close mid-frame of {}",
                        show(half)
                    );
                }
                _ => abort(conn.stream),
            }
            witness.round();
            assert!(server.is_running(), "{target:?} died after case {i}/{how}");
        }
    }
    // The subscribers that left are gone from the channel.
    let mut admin = Conn::open(&server);
    assert!(
        wait_for(std::time::Duration::from_secs(10), || hostile::numsub(
            &mut admin, b"left"
        ) == 0),
        "{target:?} still counts subscribers of a channel whose subscribers all left"
    );
    admin.expect(
        &command(&[b"PUBSUB", b"NUMSUB", b"well-behaved"]),
        b"*2\r\n$12\r\nwell-behaved\r\n:1\r\n",
    );
    let mut late = Witness::new(&server, "late");
    late.round();
    witness.round();
}

#[test]
fn disconnect_mid_frame_on_redis() {
    disconnect_mid_frame(Target::Redis);
}

#[test]
fn disconnect_mid_frame_on_broker() {
    disconnect_mid_frame(Target::Broker);
}

/// Requests followed by a half-close, as `printf 'PING\r\n' | nc -N host port` sends them:
/// every complete request is answered, then the server closes its side too. Each script runs
/// many times, because whether the end of the stream arrives with the requests or after them
/// is up to the network stack.
fn half_close_after_requests(target: Target) {
    const REPEATS: usize = 20;
    let server = Server::start_default(target);
    let mut witness = Witness::new(&server, "well-behaved");
    witness.round();
    let scripts: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"PING\r\n".to_vec(), PONG.to_vec()),
        (
            [PING, &command(&[b"ECHO", b"hi"])].concat(),
            b"+PONG\r\n$2\r\nhi\r\n".to_vec(),
        ),
        (command(&[b"SUBSCRIBE", b"gone"]), subscribed(b"gone", 1)),
        (b"PING\r\n".repeat(200), PONG.repeat(200)),
        ([PING, b"*2\r\n$4\r\nECHO\r\n$5\r\nab"].concat(), PONG.to_vec()),
    ];
    for repeat in 0..REPEATS {
        for (request, expected) in &scripts {
            let mut conn = Conn::open(&server);
            conn.send(request);
            conn.stream.shutdown(Shutdown::Write).unwrap();
            let (got, ending) = conn.read_to_close();
            assert!(
                got == *expected && ending != Ending::TimedOut,
                "{target:?}, repeat {repeat}: {} then half-close: expected {} then close, got {} then {ending:?}",
                show(request),
                show(expected),
                show(&got)
            );
        }
        witness.round();
    }
}

#[test]
fn half_close_after_requests_on_redis() {
    half_close_after_requests(Target::Redis);
}

#[test]
fn half_close_after_requests_on_broker() {
    half_close_after_requests(Target::Broker);
}
