//! Blocked stream reads, on redis-server and on the broker alike: a reader blocked in a group
//! is told when its group is destroyed or its stream deleted, a plain `XREAD` stays blocked
//! through a `DEL` and is served by the next `XADD`, commands pipelined behind a blocked read
//! wait for it and are then answered in order, and a timeout answers the null reply.
//!
//! Each step waits until the server lists the reader's blocking command (`CLIENT LIST`'s
//! `cmd=`), never a fixed time.

mod broker;
mod common;
mod streams_support;

use std::time::Duration;

use broker::{parse_all, Conn, Reply};
use common::{command, wait_for, Server, Target};
use streams_support::TempDir;

fn start(target: Target, dir: &std::path::Path) -> Server {
    match target {
        Target::Broker => Server::broker(&["--data-dir", dir.to_str().expect("utf-8 path")]),
        Target::Redis => Server::redis(&[]),
    }
}

fn data_dir(tag: &str) -> TempDir {
    TempDir::new(&format!("blocking-{tag}"))
}

/// Waits until a client other than `admin` is blocked in `cmd`.
fn wait_blocked(admin: &mut Conn, cmd: &str) {
    let needle = format!("cmd={cmd} ");
    let found = wait_for(Duration::from_secs(10), || {
        let list = admin.call(&[b"CLIENT", b"LIST"]);
        String::from_utf8_lossy(list.bulk()).contains(&needle)
    });
    assert!(found, "a client blocked in {cmd}");
}

fn conn(server: &Server) -> Conn {
    let c = Conn::open(server);
    c.set_read_timeout(Duration::from_secs(10));
    c
}

fn group_reader_is_told_its_group_or_stream_went_away(target: Target) {
    let dir = data_dir(&format!("gone-{target:?}"));
    let server = start(target, dir.path());
    let mut admin = conn(&server);
    let ok = Reply::Status("OK".into());
    assert_eq!(
        admin.call(&[b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM"]),
        ok
    );

    let mut reader = conn(&server);
    reader.send(&command(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"c",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]));
    wait_blocked(&mut admin, "xreadgroup");
    assert_eq!(admin.call(&[b"XGROUP", b"DESTROY", b"s", b"g"]).int(), 1);
    assert_eq!(
        reader.read(),
        Reply::Error("NOGROUP the consumer group this client was blocked on no longer exists".into())
    );

    assert_eq!(admin.call(&[b"XGROUP", b"CREATE", b"s", b"g", b"$"]), ok);
    reader.send(&command(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"c",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]));
    let mut plain = conn(&server);
    plain.send(&command(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]));
    wait_blocked(&mut admin, "xreadgroup");
    wait_blocked(&mut admin, "xread");
    assert_eq!(admin.call(&[b"DEL", b"s"]).int(), 1);
    assert_eq!(
        reader.read(),
        Reply::Error("UNBLOCKED the stream key no longer exists".into())
    );
    // XREAD waits on: the stream comes back with an entry, which it is served.
    let id = admin.call(&[b"XADD", b"s", b"7-1", b"f", b"v"]);
    assert_eq!(id.bulk(), b"7-1");
    let served = plain.read();
    let stream = &served.items()[0];
    assert_eq!(stream.items()[0].bulk(), b"s");
    assert_eq!(stream.items()[1].items()[0].items()[0].bulk(), b"7-1");
}

fn commands_behind_a_blocked_read_wait_for_it(target: Target) {
    let dir = data_dir(&format!("held-{target:?}"));
    let server = start(target, dir.path());
    let mut admin = conn(&server);
    let mut reader = conn(&server);
    let mut pipeline = command(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"t", b"$"]);
    pipeline.extend_from_slice(&command(&[b"PING"]));
    pipeline.extend_from_slice(&command(&[b"XLEN", b"t"]));
    reader.send(&pipeline);
    wait_blocked(&mut admin, "xread");
    assert_eq!(admin.call(&[b"XADD", b"t", b"1-1", b"a", b"b"]).bulk(), b"1-1");
    let first = reader.read();
    assert_eq!(first.items()[0].items()[1].items()[0].items()[0].bulk(), b"1-1");
    assert_eq!(reader.read(), Reply::Status("PONG".into()));
    assert_eq!(reader.read().int(), 1);
    // A timeout answers the null reply, then what was pipelined behind it.
    let mut timed = command(&[b"XREAD", b"BLOCK", b"50", b"STREAMS", b"t", b"$"]);
    timed.extend_from_slice(&command(&[b"PING"]));
    reader.send(&timed);
    let raw = [reader.read_raw(), reader.read_raw()].concat();
    assert_eq!(
        parse_all(&raw),
        [Reply::Array(None), Reply::Status("PONG".into())]
    );
}

#[test]
fn group_reader_is_told_its_group_or_stream_went_away_on_redis() {
    group_reader_is_told_its_group_or_stream_went_away(Target::Redis);
}

#[test]
fn group_reader_is_told_its_group_or_stream_went_away_on_broker() {
    group_reader_is_told_its_group_or_stream_went_away(Target::Broker);
}

#[test]
fn commands_behind_a_blocked_read_wait_for_it_on_redis() {
    commands_behind_a_blocked_read_wait_for_it(Target::Redis);
}

#[test]
fn commands_behind_a_blocked_read_wait_for_it_on_broker() {
    commands_behind_a_blocked_read_wait_for_it(Target::Broker);
}
