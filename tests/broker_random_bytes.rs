//! Seeded garbage: 200 connections, a few at a time, each send a random stream (random bytes,
//! and valid requests truncated, with doubled CRLFs, flipped digits, huge or negative lengths),
//! then half-close and read until the server closes. Everything the server answers must be
//! RESP, every connection must be closed by the server, a well-behaved publisher/subscriber pair
//! receives its sequenced messages in order all along, and afterwards the server answers PING,
//! holds no subscription of the departed clients, and is still running.
//!
//! The seed is printed; set `NANOSTREAM_SEED` (decimal or 0x-hex) to replay a run.

mod common;
mod hostile;

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use common::{command, wait_for, Server, Target};
use hostile::{abort, frame_len, show, Conn, Ending, Rng, Witness};

/// Connections in all.
const CONNECTIONS: usize = 200;
/// Connections open at once.
const PARALLEL: usize = 4;
/// Bytes a connection sends at most.
const MAX_STREAM: usize = 4096;
/// Witness rounds while each batch of connections runs.
const ROUNDS_PER_BATCH: usize = 4;

fn seed() -> u64 {
    match std::env::var("NANOSTREAM_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("NANOSTREAM_SEED={text:?}: {e}"))
        }
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        }
    }
}

/// A request a client might really send. Channels are `r0`..`r9` and patterns start with `r`,
/// so the witness's channel is out of reach of all but the unluckiest mutation.
fn valid_request(rng: &mut Rng) -> Vec<u8> {
    let channel = format!("r{}", rng.below(10)).into_bytes();
    let word_len = rng.below(24);
    let word = rng.bytes(word_len);
    let pattern: &[u8] = [&b"r?x*"[..], b"r[0-4]", b"r[^a-", b"r\\*", b"r[", b"r*[*"][rng.below(6)];
    let args: Vec<&[u8]> = match rng.below(14) {
        0 => vec![b"PING"],
        1 => vec![b"PING", &word],
        2 => vec![b"ECHO", &word],
        3 => vec![b"PUBLISH", &channel, &word],
        4 => vec![b"SUBSCRIBE", &channel, b"r5"],
        5 => vec![b"UNSUBSCRIBE", &channel],
        6 => vec![b"PSUBSCRIBE", pattern],
        7 => vec![b"PUNSUBSCRIBE"],
        8 => vec![b"PUBSUB", b"NUMSUB", &channel],
        9 => vec![b"PUBSUB", b"CHANNELS", pattern],
        10 => vec![b"CLIENT", b"SETNAME", b"fuzz"],
        11 => vec![b"SELECT", b"0"],
        12 => vec![b"NOSUCHCOMMAND", &word],
        _ => vec![b"QUIT"],
    };
    if rng.one_in(4) {
        // Inline form, sometimes quoted.
        let mut line = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            if rng.one_in(3) {
                line.push(b'"');
                line.extend(arg.iter().flat_map(|b| b.escape_ascii()));
                line.push(b'"');
            } else {
                line.extend(
                    arg.iter()
                        .filter(|b| b.is_ascii_graphic() && **b != b'"' && **b != b'\''),
                );
            }
        }
        line.extend_from_slice(b"\r\n");
        line
    } else {
        command(&args)
    }
}

/// `request` damaged in one of the ways a broken or hostile client damages it.
fn mutate(rng: &mut Rng, mut request: Vec<u8>) -> Vec<u8> {
    const NUMBERS: [&[u8]; 10] = [
        b"99999999999999999999",
        b"2147483648",
        b"536870000",
        b"536870913",
        b"-1",
        b"-2147483649",
        b"0",
        b"18446744073709551616",
        b"1e3",
        b" 3",
    ];
    if request.is_empty() {
        return request;
    }
    let at = rng.below(request.len());
    match rng.below(7) {
        0 => request.truncate(at),
        1 => {
            // Double a CRLF.
            if let Some(pos) = request[at..].windows(2).position(|w| w == b"\r\n") {
                request.splice(at + pos..at + pos, *b"\r\n");
            }
        }
        2 => {
            // Flip a digit.
            let digits: Vec<usize> = (0..request.len())
                .filter(|&i| request[i].is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                let i = digits[rng.below(digits.len())];
                request[i] = b'0' + rng.below(10) as u8;
            }
        }
        3 => {
            // Replace a count or a length with a huge, negative or malformed number.
            let marks: Vec<usize> = (0..request.len())
                .filter(|&i| matches!(request[i], b'*' | b'$'))
                .collect();
            if !marks.is_empty() {
                let start = marks[rng.below(marks.len())] + 1;
                let end = start + request[start..].iter().take_while(|b| b.is_ascii_digit()).count();
                request.splice(start..end, NUMBERS[rng.below(NUMBERS.len())].iter().copied());
            }
        }
        4 => request[at] = rng.next_u64() as u8,
        5 => {
            request.remove(at);
        }
        _ => {
            let junk_len = 1 + rng.below(8);
            let junk = rng.bytes(junk_len);
            request.splice(at..at, junk);
        }
    }
    request
}

/// What one hostile connection sends.
fn random_stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(8) {
        match rng.below(4) {
            0 => {
                let len = rng.below(512);
                out.extend(rng.bytes(len));
            }
            1 => out.extend(valid_request(rng)),
            _ => {
                let request = valid_request(rng);
                out.extend(mutate(rng, request));
            }
        }
    }
    out.truncate(MAX_STREAM);
    out
}

/// How a hostile connection leaves once it has sent its stream.
#[derive(Debug, Clone, Copy)]
enum Leaving {
    /// Half-closes and reads until the server closes.
    HalfClose,
    /// Closes with a reset without reading.
    Reset,
}

/// What came back on the hostile connections, printed so a run shows what it exercised.
#[derive(Debug, Default)]
struct Tally {
    replies: usize,
    protocol_errors: usize,
    resets: usize,
}

/// One hostile connection; `Err` says what the server did wrong.
fn hostile_client(server: &Server, stream: &[u8], leaving: Leaving) -> Result<Tally, String> {
    let mut conn = Conn::open(server);
    // The server may close the connection (QUIT, a protocol error) before taking everything.
    let _ = conn.stream.write_all(stream);
    match leaving {
        Leaving::Reset => {
            abort(conn.stream);
            Ok(Tally::default())
        }
        Leaving::HalfClose => {
            let _ = conn.stream.shutdown(Shutdown::Write);
            let (bytes, ending) = conn.read_to_close();
            if ending == Ending::TimedOut {
                return Err(format!(
                    "not closed after the client half-closed; it answered {}",
                    show(&bytes)
                ));
            }
            let mut tally = Tally {
                resets: usize::from(ending == Ending::Reset),
                ..Tally::default()
            };
            let mut at = 0;
            while at < bytes.len() {
                match frame_len(&bytes[at..]) {
                    Ok(Some(len)) => {
                        tally.replies += 1;
                        if bytes[at..].starts_with(b"-ERR Protocol error") {
                            tally.protocol_errors += 1;
                        }
                        at += len;
                    }
                    // A reset may cut the last reply short. An orderly close may not on the
                    // broker, which writes everything it owes before closing; redis-server frees
                    // a client as soon as it reads its end and drops the output it has not
                    // written yet (a long reply such as COMMAND's), so on Redis it may.
                    Ok(None) if ending == Ending::Reset || server.target == Target::Redis => break,
                    Ok(None) => return Err(format!("answered with a cut-off reply: {}", show(&bytes[at..]))),
                    Err(e) => {
                        return Err(format!(
                            "answered with something that is not RESP ({e}): {}",
                            show(&bytes)
                        ))
                    }
                }
            }
            Ok(tally)
        }
    }
}

fn random_bytes(target: Target) {
    let seed = seed();
    println!("random_bytes on {target:?}: seed {seed} (replay with NANOSTREAM_SEED={seed})");
    let mut server = Server::start_default(target);
    let mut witness = Witness::new(&server, "well-behaved");
    witness.round();
    let mut master = Rng::new(seed);
    let mut tally = Tally::default();
    for batch in 0..CONNECTIONS.div_ceil(PARALLEL) {
        let clients: Vec<(usize, Vec<u8>, Leaving)> = (0..PARALLEL)
            .map(|i| {
                let index = batch * PARALLEL + i;
                let mut rng = Rng::new(master.next_u64());
                let leaving = if rng.one_in(4) {
                    Leaving::Reset
                } else {
                    Leaving::HalfClose
                };
                (index, random_stream(&mut rng), leaving)
            })
            .collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = clients
                .iter()
                .map(|(index, stream, leaving)| {
                    let server = &server;
                    scope.spawn(move || {
                        hostile_client(server, stream, *leaving).map_err(|e| {
                            format!("connection {index} ({leaving:?}), sent {}: {e}", show(stream))
                        })
                    })
                })
                .collect();
            for _ in 0..ROUNDS_PER_BATCH {
                witness.round_with(false);
            }
            for handle in handles {
                match handle.join().unwrap() {
                    Ok(one) => {
                        tally.replies += one.replies;
                        tally.protocol_errors += one.protocol_errors;
                        tally.resets += one.resets;
                    }
                    Err(e) => panic!("{target:?}, seed {seed}: {e}"),
                }
            }
        });
        assert!(
            server.is_running(),
            "{target:?} died during batch {batch}, seed {seed}"
        );
    }

    println!("{target:?} answered the hostile connections with {tally:?}");
    // The departed clients' subscriptions are all gone; the witness's is intact.
    let mut admin = Conn::open(&server);
    let mut last = (Vec::new(), Vec::new());
    let clean = wait_for(Duration::from_secs(10), || {
        admin.send(&command(&[b"PUBSUB", b"CHANNELS"]));
        let channels = admin.reply();
        admin.send(&command(&[b"PUBSUB", b"NUMPAT"]));
        let patterns = admin.reply();
        let clean = channels == b"*1\r\n$12\r\nwell-behaved\r\n" && patterns == b":0\r\n";
        last = (channels, patterns);
        clean
    });
    assert!(
        clean,
        "{target:?}, seed {seed}: subscriptions left behind: channels {}, patterns {}",
        show(&last.0),
        show(&last.1)
    );
    witness.round();
    admin.expect(b"PING\r\n", b"+PONG\r\n");
    let mut late = Witness::new(&server, "late");
    late.round();
    assert!(
        server.is_running(),
        "{target:?} is not running after the random bytes, seed {seed}"
    );
}

#[test]
fn random_bytes_on_redis() {
    random_bytes(Target::Redis);
}

#[test]
fn random_bytes_on_broker() {
    random_bytes(Target::Broker);
}
