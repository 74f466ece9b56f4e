//! The same raw-socket sessions replayed against redis-server 7 and the broker, byte for byte.
//!
//! The expected bytes below are redis-server 7.0's replies; the `*_on_redis` tests pin that, so
//! a failing `*_on_broker` test is a difference from Redis, not from a guess. Where Redis's own
//! reply has no fixed order (UNSUBSCRIBE with no arguments, PUBSUB CHANNELS) the frames are
//! compared as sets; where the values are the server's own (CLIENT ID, HELLO's fields, COMMAND
//! COUNT) the shape is compared. redis-server runs with `--databases 1`, as the broker has one.

mod broker;
mod common;

use std::io::Write;
use std::time::Duration;

use broker::{bulk, confirmation, message, parse, parse_all, pmessage, show, Conn, Reply};
use common::{command, Server, Target};

/// Starts `target` as the comparison needs it, with extra arguments.
fn start(target: Target, args: &[&str]) -> Server {
    match target {
        Target::Redis => {
            let mut all = vec!["--databases", "1"];
            all.extend_from_slice(args);
            Server::redis(&all)
        }
        Target::Broker => Server::broker(args),
    }
}

/// Collects every difference in a session, so one run reports all of them.
struct Check {
    target: Target,
    failures: Vec<String>,
}

impl Check {
    fn new(target: Target) -> Self {
        Check {
            target,
            failures: Vec::new(),
        }
    }

    fn conn(&self, server: &Server) -> Conn {
        let conn = Conn::open(server);
        conn.set_read_timeout(Duration::from_secs(5));
        conn
    }

    /// Reads `count` replies; a missing one ends the session (everything after would be shifted).
    fn read(&mut self, conn: &mut Conn, label: &str, count: usize) -> Vec<u8> {
        let mut got = Vec::new();
        for _ in 0..count {
            match conn.try_read_raw() {
                Ok(reply) => got.extend_from_slice(&reply),
                Err(e) => {
                    self.failures
                        .push(format!("{label}: no reply ({e}); read so far {}", show(&got)));
                    self.finish();
                }
            }
        }
        got
    }

    /// Sends `request` (raw bytes) and expects exactly `expected` back.
    fn raw(&mut self, conn: &mut Conn, request: &[u8], expected: &[u8]) {
        conn.send(request);
        self.replies(conn, &show(request), expected);
    }

    /// Sends a command and expects exactly `expected` back (one or more replies).
    fn cmd(&mut self, conn: &mut Conn, args: &[&[u8]], expected: &[u8]) {
        self.raw(conn, &command(args), expected);
    }

    /// Reads as many replies as `expected` holds and compares the bytes.
    fn replies(&mut self, conn: &mut Conn, label: &str, expected: &[u8]) {
        let got = self.read(conn, label, parse_all(expected).len());
        if got != expected {
            self.failures.push(format!(
                "{label}\n    redis:  {}\n    {:?}: {}",
                show(expected),
                self.target,
                show(&got)
            ));
        }
    }

    /// Sends a command and returns its one reply for a shape check.
    fn call(&mut self, conn: &mut Conn, args: &[&[u8]]) -> Reply {
        conn.send(&command(args));
        parse(&self.read(conn, &show(&command(args)), 1))
    }

    /// Records a failed shape check.
    fn shape(&mut self, ok: bool, label: &str, got: &Reply) {
        if !ok {
            self.failures.push(format!(
                "{label}: unexpected shape {got:?} from {:?}",
                self.target
            ));
        }
    }

    /// Expects the server to have closed the connection, having sent `expected` first.
    fn closed_after(&mut self, conn: &mut Conn, label: &str, expected: &[u8]) {
        let got = conn.read_to_close();
        if got != expected {
            self.failures.push(format!(
                "{label} then close\n    redis:  {}\n    {:?}: {}",
                show(expected),
                self.target,
                show(&got)
            ));
        }
    }

    fn finish(&self) {
        assert!(
            self.failures.is_empty(),
            "{} difference(s) from redis-server on {:?}:\n  {}",
            self.failures.len(),
            self.target,
            self.failures.join("\n  ")
        );
    }
}

fn basics(target: Target) {
    let server = start(target, &[]);
    let mut check = Check::new(target);
    let mut c = check.conn(&server);

    check.cmd(&mut c, &[b"PING"], b"+PONG\r\n");
    check.cmd(&mut c, &[b"PING", b"hi"], b"$2\r\nhi\r\n");
    check.cmd(&mut c, &[b"ECHO", b"x y"], b"$3\r\nx y\r\n");
    check.cmd(&mut c, &[b"ECHO", b""], b"$0\r\n\r\n");
    check.cmd(&mut c, &[b"SELECT", b"0"], b"+OK\r\n");
    check.cmd(&mut c, &[b"SELECT", b"1"], b"-ERR DB index is out of range\r\n");
    check.cmd(
        &mut c,
        &[b"SELECT", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    check.cmd(
        &mut c,
        &[b"FOO", b"a", b"b"],
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
    );
    check.cmd(
        &mut c,
        &[b"FOO"],
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
    );
    check.cmd(
        &mut c,
        &[b"PUBLISH", b"a"],
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"PUBLISH", b"a", b"b", b"c"],
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"PING", b"a", b"b"],
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"ECHO"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"SUBSCRIBE"],
        b"-ERR wrong number of arguments for 'subscribe' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"PSUBSCRIBE"],
        b"-ERR wrong number of arguments for 'psubscribe' command\r\n",
    );
    check.cmd(
        &mut c,
        &[b"AUTH", b"x"],
        b"-ERR AUTH <password> called without any password configured for the default user. \
          Are you sure your configuration is correct?\r\n",
    );
    // Without a password the default user is `nopass`: any password is accepted for it.
    check.cmd(&mut c, &[b"AUTH", b"default", b"x"], b"+OK\r\n");

    // Inline commands, as typed into nc.
    check.raw(&mut c, b"PING\r\n", b"+PONG\r\n");
    check.raw(&mut c, b"ECHO \"a b\"\r\n", b"$3\r\na b\r\n");
    check.raw(&mut c, b"ping   hi\n", b"$2\r\nhi\r\n");
    check.raw(&mut c, b"\r\nPING\r\n", b"+PONG\r\n");

    // CLIENT.
    check.cmd(&mut c, &[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    check.cmd(&mut c, &[b"CLIENT", b"SETNAME", b"n1"], b"+OK\r\n");
    check.cmd(&mut c, &[b"CLIENT", b"GETNAME"], b"$2\r\nn1\r\n");
    // CLIENT LIST: fields differ between servers; each line is `id=.. addr=.. .. name=..`, and
    // ours carries our name.
    let list = check.call(&mut c, &[b"CLIENT", b"LIST"]);
    let text = match &list {
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let lines_ok = text.ends_with('\n')
        && text
            .lines()
            .all(|l| l.starts_with("id=") && l.contains(" addr=127.0.0.1:") && l.contains(" name="));
    check.shape(
        lines_ok && text.lines().any(|l| l.contains(" name=n1 ")),
        "CLIENT LIST",
        &list,
    );
    check.cmd(
        &mut c,
        &[b"CLIENT", b"SETNAME", b"a b"],
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    check.cmd(&mut c, &[b"CLIENT", b"SETNAME", b""], b"+OK\r\n");
    check.cmd(&mut c, &[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    let id = check.call(&mut c, &[b"CLIENT", b"ID"]);
    check.shape(matches!(id, Reply::Int(n) if n > 0), "CLIENT ID", &id);

    // CONFIG GET and COMMAND COUNT.
    check.cmd(
        &mut c,
        &[b"CONFIG", b"GET", b"save"],
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    check.cmd(
        &mut c,
        &[b"CONFIG", b"GET", b"appendonly"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    check.cmd(&mut c, &[b"CONFIG", b"GET", b"nosuch"], b"*0\r\n");
    let count = check.call(&mut c, &[b"COMMAND", b"COUNT"]);
    check.shape(matches!(count, Reply::Int(n) if n > 0), "COMMAND COUNT", &count);
    // COMMAND lists as many commands as COUNT says, each an array opening with its lowercase name.
    let table = check.call(&mut c, &[b"COMMAND"]);
    let names: Vec<Vec<u8>> = match &table {
        Reply::Array(Some(entries)) => entries
            .iter()
            .filter_map(|e| match e {
                Reply::Array(Some(fields)) => match fields.first() {
                    Some(Reply::Bulk(Some(name))) => Some(name.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    let listed = |name: &[u8]| names.iter().any(|n| n == name);
    let ok = Reply::Int(names.len() as i64) == count
        && ["ping", "publish", "subscribe", "psubscribe", "pubsub", "hello"]
            .iter()
            .all(|n| listed(n.as_bytes()));
    check.shape(
        ok,
        "COMMAND (as many as COMMAND COUNT, lowercase names, pub/sub commands)",
        &count,
    );
    let docs = check.call(&mut c, &[b"COMMAND", b"DOCS", b"PING"]);
    let ok = matches!(&docs, Reply::Array(Some(items)) if items.len() == 2 && items[0] == bulk(b"ping"));
    check.shape(ok, "COMMAND DOCS PING (ping and its doc map)", &docs);

    // HELLO: version 2 answers a map as a flat array; 3 is RESP3, which the broker refuses.
    let hello = check.call(&mut c, &[b"HELLO", b"2"]);
    check_hello2(&mut check, &hello, &id);
    check.cmd(
        &mut c,
        &[b"HELLO", b"4"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
    check.cmd(
        &mut c,
        &[b"HELLO", b"x"],
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );

    // Leaving subscriptions one never had.
    check.cmd(&mut c, &[b"UNSUBSCRIBE"], &confirmation("unsubscribe", None, 0));
    check.cmd(&mut c, &[b"PUNSUBSCRIBE"], &confirmation("punsubscribe", None, 0));
    check.cmd(
        &mut c,
        &[b"UNSUBSCRIBE", b"x"],
        &confirmation("unsubscribe", Some(b"x"), 0),
    );
    check.cmd(
        &mut c,
        &[b"PUNSUBSCRIBE", b"x*"],
        &confirmation("punsubscribe", Some(b"x*"), 0),
    );
    check.cmd(&mut c, &[b"PUBSUB", b"NUMPAT"], b":0\r\n");
    check.cmd(&mut c, &[b"PUBSUB", b"NUMSUB"], b"*0\r\n");
    check.cmd(&mut c, &[b"PUBSUB", b"CHANNELS"], b"*0\r\n");
    check.cmd(
        &mut c,
        &[b"PUBSUB", b"CHANNELS", b"a", b"b"],
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
    );
    check.cmd(
        &mut c,
        &[b"PUBSUB", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n",
    );
    check.cmd(
        &mut c,
        &[b"CLIENT", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    );
    check.cmd(&mut c, &[b"PUBLISH", b"nobody", b"x"], b":0\r\n");

    // Several commands in one write come back in order.
    let mut pipelined = command(&[b"PING"]);
    pipelined.extend_from_slice(b"ECHO one\r\n");
    pipelined.extend_from_slice(&command(&[b"PING", b"two"]));
    check.raw(&mut c, &pipelined, b"+PONG\r\n$3\r\none\r\n$3\r\ntwo\r\n");

    c.send(&command(&[b"QUIT"]));
    check.closed_after(&mut c, "QUIT", b"+OK\r\n");

    // HELLO 3: Redis 7 speaks RESP3 and answers with a map; the broker speaks RESP2 only.
    let mut c = check.conn(&server);
    c.send(&command(&[b"HELLO", b"3"]));
    let reply = check.read(&mut c, "HELLO 3", 1);
    let ok = match target {
        Target::Redis => reply.starts_with(b"%7\r\n"),
        Target::Broker => reply.starts_with(b"-NOPROTO ") && reply.ends_with(b"\r\n"),
    };
    if !ok {
        check
            .failures
            .push(format!("HELLO 3 on {target:?}: {}", show(&reply)));
    }
    check.finish();
}

/// HELLO 2's reply: the RESP3 map as a flat array, with Redis's keys in Redis's order.
fn check_hello2(check: &mut Check, hello: &Reply, client_id: &Reply) {
    let Reply::Array(Some(items)) = hello else {
        check.shape(false, "HELLO 2", hello);
        return;
    };
    let keys: Vec<&Reply> = items.iter().step_by(2).collect();
    let want: Vec<Reply> = ["server", "version", "proto", "id", "mode", "role", "modules"]
        .map(|k| bulk(k.as_bytes()))
        .into();
    let ok = items.len() == 14
        && keys.iter().copied().eq(want.iter())
        && matches!(items[1], Reply::Bulk(Some(_)))
        && matches!(items[3], Reply::Bulk(Some(_)))
        && items[5] == Reply::Int(2)
        && &items[7] == client_id
        && items[9] == bulk(b"standalone")
        && items[11] == bulk(b"master")
        && items[13] == Reply::Array(Some(vec![]));
    check.shape(
        ok,
        "HELLO 2 (keys, proto 2, id = CLIENT ID, standalone master, no modules)",
        hello,
    );
}

fn pubsub(target: Target) {
    let server = start(target, &[]);
    let mut check = Check::new(target);
    let mut a = check.conn(&server);
    let mut b = check.conn(&server);
    let mut p = check.conn(&server);

    // A: two channels (one twice), the subscribed state's PING and refusals, three patterns.
    let subscribed = [
        confirmation("subscribe", Some(b"hello"), 1),
        confirmation("subscribe", Some(b"news.tech"), 2),
    ]
    .concat();
    check.cmd(&mut a, &[b"SUBSCRIBE", b"hello", b"news.tech"], &subscribed);
    check.cmd(
        &mut a,
        &[b"SUBSCRIBE", b"hello"],
        &confirmation("subscribe", Some(b"hello"), 2),
    );
    check.cmd(&mut a, &[b"PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    check.cmd(&mut a, &[b"PING", b"m"], b"*2\r\n$4\r\npong\r\n$1\r\nm\r\n");
    check.raw(&mut a, b"PING\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    // Refused in the subscribed state; Redis names a subcommand as `command|subcommand`.
    let refusals: [(&str, &[&[u8]]); 4] = [
        ("get", &[b"get", b"k"]),
        ("publish", &[b"publish", b"k", b"v"]),
        ("pubsub|numsub", &[b"PUBSUB", b"NUMSUB", b"hello"]),
        ("client|getname", &[b"CLIENT", b"GETNAME"]),
    ];
    for (name, args) in refusals {
        let refusal = format!(
            "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
             are allowed in this context\r\n"
        );
        check.cmd(&mut a, args, refusal.as_bytes());
    }
    let psubscribed = [
        confirmation("psubscribe", Some(b"h[ae]llo"), 3),
        confirmation("psubscribe", Some(b"h\\*llo"), 4),
        confirmation("psubscribe", Some(b"news.*"), 5),
    ]
    .concat();
    check.cmd(
        &mut a,
        &[b"PSUBSCRIBE", b"h[ae]llo", b"h\\*llo", b"news.*"],
        &psubscribed,
    );

    // P: pattern classes, negation, ranges, `?`, and a pattern matching everything under n.
    let p_subscribed = [
        confirmation("psubscribe", Some(b"n*"), 1),
        confirmation("psubscribe", Some(b"h[^e]llo"), 2),
        confirmation("psubscribe", Some(b"x[a-c]?"), 3),
    ]
    .concat();
    check.cmd(
        &mut p,
        &[b"PSUBSCRIBE", b"n*", b"h[^e]llo", b"x[a-c]?"],
        &p_subscribed,
    );

    // B: introspection, then the publishes with their receiver counts.
    check_channels(&mut check, &mut b, None, &[b"hello", b"news.tech"]);
    check.cmd(
        &mut b,
        &[b"PUBSUB", b"CHANNELS", b"news.*"],
        b"*1\r\n$9\r\nnews.tech\r\n",
    );
    check.cmd(&mut b, &[b"PUBSUB", b"CHANNELS", b"x*"], b"*0\r\n");
    check.cmd(
        &mut b,
        &[b"PUBSUB", b"NUMSUB", b"hello", b"news.tech", b"nope"],
        b"*6\r\n$5\r\nhello\r\n:1\r\n$9\r\nnews.tech\r\n:1\r\n$4\r\nnope\r\n:0\r\n",
    );
    check.cmd(&mut b, &[b"PUBSUB", b"NUMPAT"], b":6\r\n");
    for (channel, receivers) in [
        (&b"hello"[..], 2),
        (b"hallo", 2),
        (b"h*llo", 2),
        (b"hxllo", 1),
        (b"news.tech", 3),
        (b"xbz", 1),
        (b"xdz", 0),
    ] {
        let payload = [b"to ", channel].concat();
        check.cmd(
            &mut b,
            &[b"PUBLISH", channel, &payload],
            format!(":{receivers}\r\n").as_bytes(),
        );
    }
    // A receives, per publish, the channel message before the pattern messages.
    let to_a = [
        message(b"hello", b"to hello"),
        pmessage(b"h[ae]llo", b"hello", b"to hello"),
        pmessage(b"h[ae]llo", b"hallo", b"to hallo"),
        pmessage(b"h\\*llo", b"h*llo", b"to h*llo"),
        message(b"news.tech", b"to news.tech"),
        pmessage(b"news.*", b"news.tech", b"to news.tech"),
    ]
    .concat();
    check.replies(&mut a, "A's messages", &to_a);
    let to_p = [
        pmessage(b"h[^e]llo", b"hallo", b"to hallo"),
        pmessage(b"h[^e]llo", b"h*llo", b"to h*llo"),
        pmessage(b"h[^e]llo", b"hxllo", b"to hxllo"),
        pmessage(b"n*", b"news.tech", b"to news.tech"),
        pmessage(b"x[a-c]?", b"xbz", b"to xbz"),
    ]
    .concat();
    check.replies(&mut p, "P's messages", &to_p);

    // Leaving: everything at once (any order), then nothing left to leave.
    check.cmd(
        &mut a,
        &[b"UNSUBSCRIBE", b"nope"],
        &confirmation("unsubscribe", Some(b"nope"), 5),
    );
    let unsubscribe_all = [b"hello".as_slice(), b"news.tech"];
    unordered_leave(&mut check, &mut a, "unsubscribe", &unsubscribe_all, 3);
    let punsubscribe_all = [b"h[ae]llo".as_slice(), b"h\\*llo", b"news.*"];
    unordered_leave(&mut check, &mut a, "punsubscribe", &punsubscribe_all, 0);
    check.cmd(&mut a, &[b"PUNSUBSCRIBE"], &confirmation("punsubscribe", None, 0));
    check.cmd(&mut a, &[b"UNSUBSCRIBE"], &confirmation("unsubscribe", None, 0));
    // Out of the subscribed state: ordinary replies again.
    check.cmd(&mut a, &[b"PING"], b"+PONG\r\n");
    check.cmd(&mut b, &[b"PUBLISH", b"hello", b"x"], b":0\r\n");
    check.cmd(&mut b, &[b"PUBSUB", b"NUMPAT"], b":3\r\n");
    check.cmd(
        &mut p,
        &[b"PUNSUBSCRIBE", b"n*"],
        &confirmation("punsubscribe", Some(b"n*"), 2),
    );

    // QUIT is allowed while subscribed; the subscription goes with the connection.
    a.send(&command(&[b"SUBSCRIBE", b"gone"]));
    check.replies(
        &mut a,
        "SUBSCRIBE gone",
        &confirmation("subscribe", Some(b"gone"), 1),
    );
    a.send(&command(&[b"QUIT"]));
    check.closed_after(&mut a, "QUIT while subscribed", b"+OK\r\n");
    let gone = common::wait_for(Duration::from_secs(5), || {
        b.call_raw(&[b"PUBSUB", b"NUMSUB", b"gone"]) == b"*2\r\n$4\r\ngone\r\n:0\r\n"
    });
    if !gone {
        check
            .failures
            .push("a closed connection's subscription still counted after 5 s".into());
    }
    check.finish();
}

/// Sends `UNSUBSCRIBE`/`PUNSUBSCRIBE` without arguments: one frame per name in any order, the
/// counts falling one by one to `left`.
fn unordered_leave(check: &mut Check, conn: &mut Conn, kind: &str, names: &[&[u8]], left: i64) {
    let command_name = kind.to_uppercase();
    conn.send(&command(&[command_name.as_bytes()]));
    let mut got_names = Vec::new();
    for i in 0..names.len() {
        let frame = parse(&check.read(conn, kind, 1));
        let count = left + (names.len() - 1 - i) as i64;
        match frame.items() {
            [kind_got, name, Reply::Int(n)] if *kind_got == bulk(kind.as_bytes()) && *n == count => {
                got_names.push(name.bulk().to_vec());
            }
            _ => check.shape(
                false,
                &format!("{command_name} frame {i} (count {count})"),
                &frame,
            ),
        }
    }
    got_names.sort();
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
    want.sort();
    if got_names != want {
        check
            .failures
            .push(format!("{command_name} left {got_names:?}, expected {want:?}"));
    }
}

fn pubsub_channels_any_order(target: Target) {
    let server = start(target, &[]);
    let mut check = Check::new(target);
    let mut sub = check.conn(&server);
    let mut c = check.conn(&server);
    let subscribed = [
        confirmation("subscribe", Some(b"b.1"), 1),
        confirmation("subscribe", Some(b"a.2"), 2),
        confirmation("subscribe", Some(b"c"), 3),
    ]
    .concat();
    check.cmd(&mut sub, &[b"SUBSCRIBE", b"b.1", b"a.2", b"c"], &subscribed);
    for (pattern, want) in [
        (None, vec![&b"a.2"[..], b"b.1", b"c"]),
        (Some(&b"?.*"[..]), vec![b"a.2", b"b.1"]),
        (Some(b"[ab]*"), vec![b"a.2", b"b.1"]),
        (Some(b"c"), vec![b"c"]),
    ] {
        check_channels(&mut check, &mut c, pattern, &want);
    }
    check.finish();
}

/// PUBSUB CHANNELS [pattern]: Redis lists them in hash order, so compare as sets.
fn check_channels(check: &mut Check, conn: &mut Conn, pattern: Option<&[u8]>, want: &[&[u8]]) {
    let mut args: Vec<&[u8]> = vec![b"PUBSUB", b"CHANNELS"];
    args.extend(pattern);
    let reply = check.call(conn, &args);
    let mut got: Vec<Vec<u8>> = match &reply {
        Reply::Array(Some(items)) => items.iter().map(|i| i.bulk().to_vec()).collect(),
        _ => vec![],
    };
    got.sort();
    let mut want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
    want.sort();
    if got != want {
        check.failures.push(format!(
            "PUBSUB CHANNELS {pattern:?}: {reply:?}, expected {want:?} in any order"
        ));
    }
}

fn protocol_errors(target: Target) {
    let server = start(target, &[]);
    let mut check = Check::new(target);
    let cases: [(&[u8], &[u8]); 6] = [
        (b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (
            b"*1\r\n$600000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (b"*1\r\nx\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n"),
        (
            b"ECHO \"a\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        // Replies to the commands before the bad one come first.
        (
            b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nPING\r\n",
            b"+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got 'P'\r\n",
        ),
    ];
    for (request, expected) in cases {
        let mut c = check.conn(&server);
        c.send(request);
        check.closed_after(&mut c, &show(request), expected);
    }
    // An inline request over 64 KiB without a newline. The server may close while we still
    // write, so write errors are expected and ignored.
    let mut c = check.conn(&server);
    let _ = c.get_mut().write_all(&[b'A'; 70_000]);
    check.closed_after(
        &mut c,
        "70,000 bytes without a newline",
        b"-ERR Protocol error: too big inline request\r\n",
    );
    // The server still serves others.
    let mut c = check.conn(&server);
    check.cmd(&mut c, &[b"PING"], b"+PONG\r\n");
    check.finish();
}

fn limits(target: Target) {
    let server = match target {
        Target::Redis => start(target, &["--maxclients", "2", "--proto-max-bulk-len", "1mb"]),
        Target::Broker => start(target, &["--max-clients", "2", "--max-payload", "1mb"]),
    };
    let mut check = Check::new(target);
    // Two clients are served. The start-up probe's connection may not be gone yet, so a refused
    // early connection is retried; the third one, with two live, must be refused.
    let mut admitted = Vec::new();
    for _ in 0..2 {
        let mut conn = None;
        let ok = common::wait_for(Duration::from_secs(10), || {
            let mut c = check.conn(&server);
            c.send(&command(&[b"PING"]));
            let served = matches!(c.try_read_raw(), Ok(r) if r == b"+PONG\r\n");
            conn = served.then_some(c);
            served
        });
        assert!(ok, "{target:?} did not serve a first or second client");
        admitted.push(conn.unwrap());
    }
    let mut third = check.conn(&server);
    check.closed_after(
        &mut third,
        "a third client with --max-clients 2",
        b"-ERR max number of clients reached\r\n",
    );

    // A payload of exactly the limit is accepted; one byte more is a protocol error, refused on
    // its length before any of it is sent.
    let c = &mut admitted[0];
    let at_limit = vec![b'p'; 1 << 20];
    check.cmd(c, &[b"PUBLISH", b"c", &at_limit], b":0\r\n");
    let c = &mut admitted[1];
    c.send(b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1048577\r\n");
    check.closed_after(
        c,
        "a 1 MiB + 1 bulk with a 1 MiB limit",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    check.finish();
}

fn auth(target: Target) {
    let server = start(target, &["--requirepass", "pw"]);
    let mut check = Check::new(target);
    const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
    const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    const HELLO_NOAUTH: &[u8] = b"-NOAUTH HELLO must be called with the client already authenticated, \
        otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
        the RESP protocol version at the same time\r\n";

    let mut c = check.conn(&server);
    check.cmd(&mut c, &[b"PING"], NOAUTH);
    check.raw(&mut c, b"PING\r\n", NOAUTH);
    check.cmd(&mut c, &[b"PUBLISH", b"a", b"b"], NOAUTH);
    check.cmd(&mut c, &[b"SUBSCRIBE", b"a"], NOAUTH);
    check.cmd(&mut c, &[b"CLIENT", b"SETNAME", b"x"], NOAUTH);
    check.cmd(&mut c, &[b"HELLO", b"2"], HELLO_NOAUTH);
    check.cmd(&mut c, &[b"AUTH", b"bad"], WRONGPASS);
    check.cmd(&mut c, &[b"AUTH", b"default", b"bad"], WRONGPASS);
    check.cmd(&mut c, &[b"HELLO", b"2", b"AUTH", b"default", b"bad"], WRONGPASS);
    check.cmd(&mut c, &[b"PING"], NOAUTH);
    check.cmd(&mut c, &[b"AUTH", b"pw"], b"+OK\r\n");
    check.cmd(&mut c, &[b"PING"], b"+PONG\r\n");
    check.cmd(&mut c, &[b"PUBLISH", b"a", b"b"], b":0\r\n");
    check.cmd(&mut c, &[b"AUTH", b"default", b"pw"], b"+OK\r\n");

    // HELLO 2 AUTH authenticates and answers HELLO.
    let mut h = check.conn(&server);
    let hello = check.call(&mut h, &[b"HELLO", b"2", b"AUTH", b"default", b"pw"]);
    let id = check.call(&mut h, &[b"CLIENT", b"ID"]);
    check_hello2(&mut check, &hello, &id);
    check.cmd(&mut h, &[b"PING"], b"+PONG\r\n");

    // Inline AUTH, then pub/sub works.
    let mut s = check.conn(&server);
    check.raw(&mut s, b"AUTH pw\r\n", b"+OK\r\n");
    check.cmd(
        &mut s,
        &[b"SUBSCRIBE", b"a"],
        &confirmation("subscribe", Some(b"a"), 1),
    );
    check.cmd(&mut c, &[b"PUBLISH", b"a", b"b"], b":1\r\n");
    check.replies(&mut s, "message after AUTH", &message(b"a", b"b"));

    // QUIT works before authenticating.
    let mut q = check.conn(&server);
    q.send(&command(&[b"QUIT"]));
    check.closed_after(&mut q, "QUIT before AUTH", b"+OK\r\n");
    check.finish();
}

#[test]
fn basics_on_redis() {
    basics(Target::Redis);
}

#[test]
fn basics_on_broker() {
    basics(Target::Broker);
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
fn pubsub_channels_on_redis() {
    pubsub_channels_any_order(Target::Redis);
}

#[test]
fn pubsub_channels_on_broker() {
    pubsub_channels_any_order(Target::Broker);
}

#[test]
fn protocol_errors_on_redis() {
    protocol_errors(Target::Redis);
}

#[test]
fn protocol_errors_on_broker() {
    protocol_errors(Target::Broker);
}

#[test]
fn limits_on_redis() {
    limits(Target::Redis);
}

#[test]
fn limits_on_broker() {
    limits(Target::Broker);
}

#[test]
fn auth_on_redis() {
    auth(Target::Redis);
}

#[test]
fn auth_on_broker() {
    auth(Target::Broker);
}
