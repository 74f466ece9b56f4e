//! The server's limits hold and answer as redis-server 7 does: the client beyond `--max-clients`
//! is refused and a freed place is given to the next, a bulk beyond `--max-payload` closes the
//! connection before its payload is sent, and with `--requirepass` nothing but AUTH and QUIT
//! works before authenticating, while unauthenticated requests are kept small.

mod common;
mod hostile;

use std::time::Duration;

use common::{command, wait_for, Server, Target};
use hostile::{bulk, show, subscribed, Conn, Ending, Witness};

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";
const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Asserts the server answers exactly `expected` and closes the connection.
fn expect_closed(conn: &mut Conn, request: &[u8], expected: &[u8], target: Target) {
    // The server may close before taking all of a request; its reply is read all the same.
    let _ = std::io::Write::write_all(&mut conn.stream, request);
    let (got, ending) = conn.read_to_close();
    assert!(
        got == expected && ending != Ending::TimedOut,
        "{target:?}, request {}: expected {} then close, got {} then {ending:?}",
        show(request),
        show(expected),
        show(&got)
    );
}

/// A new connection that the server admitted (`Some`) or refused with Redis's reply and closed
/// (`None`); any other answer fails the test.
fn try_admit(server: &Server) -> Option<Conn> {
    let mut conn = Conn::open(server);
    // A refused client may find the connection closed before its PING is taken.
    let _ = std::io::Write::write_all(&mut conn.stream, PING);
    let (got, ending) = match conn.read_exact(PONG.len()) {
        Ok(first) if first == PONG => return Some(conn),
        Ok(first) => {
            let (rest, ending) = conn.read_to_close();
            ([first, rest].concat(), ending)
        }
        Err(_) => conn.read_to_close(),
    };
    assert!(
        got == MAX_CLIENTS_REACHED && ending != Ending::TimedOut,
        "{:?}: a client was neither served nor refused as Redis refuses: got {} then {ending:?}",
        server.target,
        show(&got)
    );
    None
}

fn max_clients(target: Target) {
    let server = match target {
        Target::Broker => Server::broker(&["--max-clients", "5"]),
        Target::Redis => Server::redis(&["--maxclients", "5"]),
    };
    // The server's own readiness probe may still hold a place for a moment, so admission is
    // retried until five clients are in.
    let mut clients = Vec::new();
    while clients.len() < 5 {
        let mut admitted = None;
        assert!(
            wait_for(Duration::from_secs(10), || {
                admitted = try_admit(&server);
                admitted.is_some()
            }),
            "{target:?} did not admit client {} of 5",
            clients.len() + 1
        );
        clients.extend(admitted);
    }
    // The sixth is refused, with Redis's words, and closed.
    assert!(
        try_admit(&server).is_none(),
        "{target:?} admitted a sixth client with --max-clients 5"
    );
    // The refusal disturbed none of the five.
    for client in &mut clients {
        client.expect(PING, PONG);
    }
    // One leaves: its place goes to the next client (once the server has noticed the leaving).
    drop(clients.pop());
    let mut admitted = None;
    assert!(
        wait_for(Duration::from_secs(10), || {
            admitted = try_admit(&server);
            admitted.is_some()
        }),
        "{target:?} did not give a departed client's place to a new one"
    );
    clients.extend(admitted);
    assert!(
        try_admit(&server).is_none(),
        "{target:?} admitted a sixth client after a replacement"
    );
    for client in &mut clients {
        client.expect(PING, PONG);
    }
}

#[test]
fn max_clients_on_redis() {
    max_clients(Target::Redis);
}

#[test]
fn max_clients_on_broker() {
    max_clients(Target::Broker);
}

/// A bulk of exactly `limit` bytes is served; the header of one byte more is refused with
/// Redis's reply and the connection closed, before any of that payload is sent.
fn max_payload(server: &Server, limit: usize) {
    let target = server.target;
    let mut witness = Witness::new(server, "well-behaved");
    witness.round();
    let mut subscriber = Conn::open(server);
    subscriber.expect(&command(&[b"SUBSCRIBE", b"big"]), &subscribed(b"big", 1));
    let mut conn = Conn::open(server);
    let payload = vec![b'p'; limit];
    conn.expect(&command(&[b"PUBLISH", b"big", &payload]), b":1\r\n");
    let expected = hostile::message(b"big", &payload);
    let got = subscriber
        .read_exact(expected.len())
        .expect("the largest allowed payload is delivered");
    assert!(got == expected, "{target:?} delivered {}", show(&got));
    let request = format!("*3\r\n$7\r\nPUBLISH\r\n$3\r\nbig\r\n${}\r\n", limit + 1);
    expect_closed(
        &mut conn,
        request.as_bytes(),
        b"-ERR Protocol error: invalid bulk length\r\n",
        target,
    );
    // The limit is on every argument, the command name included.
    let mut conn = Conn::open(server);
    let request = format!("*1\r\n${}\r\n", limit + 1);
    expect_closed(
        &mut conn,
        request.as_bytes(),
        b"-ERR Protocol error: invalid bulk length\r\n",
        target,
    );
    witness.round();
}

#[test]
fn max_payload_1mb_on_redis() {
    max_payload(&Server::redis(&["--proto-max-bulk-len", "1mb"]), 1024 * 1024);
}

#[test]
fn max_payload_1mb_on_broker() {
    max_payload(&Server::broker(&["--max-payload", "1mb"]), 1024 * 1024);
}

/// Redis will not go below 1 MB (`proto-max-bulk-len` has that minimum); the broker's own
/// rule is the same check at whatever size it is given.
#[test]
fn max_payload_1024_on_broker() {
    max_payload(&Server::broker(&["--max-payload", "1024"]), 1024);
}

fn requirepass(target: Target) {
    let server = match target {
        Target::Broker => Server::broker(&["--requirepass", "pw"]),
        Target::Redis => Server::redis(&["--requirepass", "pw"]),
    };
    let mut conn = Conn::open(&server);
    // Before AUTH: nothing but AUTH and QUIT works.
    conn.expect(PING, NOAUTH);
    conn.expect(b"PING\r\n", NOAUTH);
    conn.expect(&command(&[b"PUBLISH", b"news", b"hello"]), NOAUTH);
    conn.expect(&command(&[b"SUBSCRIBE", b"news"]), NOAUTH);
    conn.expect(&command(&[b"PSUBSCRIBE", b"n*"]), NOAUTH);
    // Unauthenticated requests may be as large as Redis allows them (10 arguments, 16 KiB each)...
    let ten: Vec<&[u8]> = vec![b"SUBSCRIBE", b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"];
    conn.expect(&command(&ten), NOAUTH);
    conn.expect(&command(&[b"PUBLISH", b"news", &[b'x'; 16384]]), NOAUTH);
    // ...and a wrong password leaves the client unauthenticated.
    conn.expect(&command(&[b"AUTH", b"wrong"]), WRONGPASS);
    conn.expect(&command(&[b"AUTH", b"default", b"wrong"]), WRONGPASS);
    conn.expect(PING, NOAUTH);
    // The right one opens everything, on this connection only.
    conn.expect(&command(&[b"AUTH", b"pw"]), b"+OK\r\n");
    conn.expect(PING, PONG);
    let mut other = Conn::open(&server);
    other.expect(PING, NOAUTH);
    other.expect(&command(&[b"AUTH", b"default", b"pw"]), b"+OK\r\n");
    other.expect(&command(&[b"SUBSCRIBE", b"news"]), &subscribed(b"news", 1));
    conn.expect(&command(&[b"PUBLISH", b"news", b"hello"]), b":1\r\n");
    let expected = hostile::message(b"news", b"hello");
    let got = other.read_exact(expected.len()).expect("delivery after AUTH");
    assert_eq!(got, expected, "{target:?}: {}", show(&got));
    // Authenticated, the small limits are gone: 100 arguments, a 16 KiB + 1 argument.
    let channels: Vec<String> = (0..98).map(|i| format!("c{i}")).collect();
    let mut numsub: Vec<&[u8]> = vec![b"PUBSUB", b"NUMSUB"];
    numsub.extend(channels.iter().map(|c| c.as_bytes()));
    let mut expected = b"*196\r\n".to_vec();
    for channel in &channels {
        expected.extend_from_slice(&bulk(channel.as_bytes()));
        expected.extend_from_slice(b":0\r\n");
    }
    conn.expect(&command(&numsub), &expected);
    let big = vec![b'y'; 16385];
    conn.expect(&command(&[b"ECHO", &big]), &bulk(&big));

    // QUIT works unauthenticated.
    let mut quitter = Conn::open(&server);
    expect_closed(&mut quitter, b"*1\r\n$4\r\nQUIT\r\n", b"+OK\r\n", target);
    // An unauthenticated client announcing more than 10 arguments, or an argument over 16 KiB,
    // is refused as soon as it says so, and closed.
    for (request, reply) in [
        (
            &b"*100\r\n"[..],
            &b"-ERR Protocol error: unauthenticated multibulk length\r\n"[..],
        ),
        (
            b"*11\r\n",
            b"-ERR Protocol error: unauthenticated multibulk length\r\n",
        ),
        (
            b"*1\r\n$16385\r\n",
            b"-ERR Protocol error: unauthenticated bulk length\r\n",
        ),
        (
            b"*2\r\n$4\r\nAUTH\r\n$16385\r\n",
            b"-ERR Protocol error: unauthenticated bulk length\r\n",
        ),
    ] {
        let mut stranger = Conn::open(&server);
        expect_closed(&mut stranger, request, reply, target);
    }
    // None of that disturbed the authenticated clients.
    conn.expect(&command(&[b"PUBLISH", b"news", b"still"]), b":1\r\n");
    let expected = hostile::message(b"news", b"still");
    let got = other
        .read_exact(expected.len())
        .expect("delivery after the strangers");
    assert_eq!(got, expected, "{target:?}: {}", show(&got));
}

#[test]
fn requirepass_on_redis() {
    requirepass(Target::Redis);
}

#[test]
fn requirepass_on_broker() {
    requirepass(Target::Broker);
}
