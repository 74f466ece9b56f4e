//! Streams are durable: what was acknowledged survives a graceful restart, a `SIGKILL` at a
//! random moment (again and again on one data directory) and a full disk.
//!
//! - `restart_*`: three streams (one keyed `../x`, one with a NUL byte in its key), an empty
//!   one made by `MKSTREAM`, one with a 120-byte binary key, one trimmed, one deleted and one
//!   deleted and made again; consumer groups with two consumers reading, acknowledging,
//!   re-reading history, an `XDEL` and an `XGROUP SETID`; after SIGTERM (exit 0) and a start on
//!   the same directory, `XRANGE`, `XLEN`, `XINFO STREAM` (without the radix tree's sizes),
//!   `XINFO GROUPS`, `XINFO CONSUMERS` (without idle times) and `XPENDING` (summary, and each
//!   entry's owner and delivery count) are what they were, `XADD *` goes on above the last
//!   generated ID (also when the last entry was deleted) and groups go on where they were.
//! - `emptied_then_refilled_*`: a stream trimmed to nothing (`XTRIM MAXLEN 0`, `MINID` past
//!   its end) and written again reads back its new entries, before and after a restart.
//! - `group_log_compaction_*`: 300 deliveries under a 32 KB consumer name, acknowledged but
//!   three (about 10 MB of group changes, past the 4 MiB after which the broker compacts a
//!   stream's group log into a snapshot), then a restart: the groups are unchanged.
//!   `group_log_compaction_large_pending_*`: the same with every third entry left pending (a
//!   3.2 MB pending list to snapshot).
//! - `crash_loop`: rounds on one data directory under `--fsync batch`; in each, two writers
//!   (one pipelining random batches) and a consumer (`XREADGROUP ... >` then `XACK`) run until
//!   a random number of `XADD` replies has come, and the broker is killed with `SIGKILL`. After
//!   each restart: every `XADD` that was answered is there with its payload, IDs increase, each
//!   writer's entries are a gap-free prefix of what it sent, in order; the group's pending
//!   entries hold no acknowledged entry, delivered unacknowledged entries (the consumer leaves
//!   one in ten so for good) are pending or not yet delivered, `XREADGROUP ... 0` gives back
//!   exactly the pending ones, and `>` never delivers an acknowledged entry again. Rounds:
//!   `NANOSTREAM_CRASH_ROUNDS` (30); seed: `NANOSTREAM_CRASH_SEED` (printed); fsync policy:
//!   `NANOSTREAM_CRASH_FSYNC` (`batch`). `crash_loop_compacting_groups_*` adds a second group
//!   read one entry at a time by a consumer with a 32 KB name, so that the group log is
//!   compacted every few rounds.
//! - `crash_loop_deletions_*`: rounds of pipelined `XADD`, `XDEL`, `XTRIM MAXLEN` and `DEL` on
//!   one key, killed after a random number of replies: every reply is the model's, and each
//!   restarted server holds the state after some prefix of the commands sent, no shorter than
//!   the prefix that was answered.
//! - `full_disk_on_broker`: the data directory on a small tmpfs (needs root, or
//!   `unshare -rm`); 1 KB `XADD`s until one gets an error reply; the broker still answers, holds
//!   exactly the acknowledged entries, takes writes again once space is freed (a filler file
//!   made beforehand is deleted), and has them all after a restart. `full_disk_new_stream_*`
//!   also sends an `XADD` to a new key while the disk is full: refused, it must leave no key,
//!   before or after the restart.
//!
//! The `_on_redis` variants run the same checks on redis-server with `appendfsync always`, the
//! reference (redis-server exits when a write to its append-only file fails, so the full disk
//! check is the broker's only). redis-server 7.0 does not keep a group's read counter or the
//! delivery counts raised by re-reading history across a restart; those are compared on the
//! broker only.

mod broker;
mod common;
mod streams_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use broker::{show, Conn, Reply};
use common::{Server, Target};
use streams_support::{
    connect, info_map, info_without, read_group_entries, render, render_map, start_durable, start_persisting,
    try_send, xrange_all, Entry, Id, Rng, TempDir, Tmpfs,
};

/// How long a graceful shutdown may take.
const EXIT_DEADLINE: Duration = Duration::from_secs(10);

fn call_ok(conn: &mut Conn, args: &[&[u8]]) -> Reply {
    let reply = conn.call(args);
    if let Reply::Error(e) = &reply {
        panic!("{}: -{e}", show(&args.join(&b' ')));
    }
    reply
}

fn sigterm(server: &mut Server) {
    let status = server
        .signal_and_wait(libc::SIGTERM, EXIT_DEADLINE)
        .unwrap_or_else(|| panic!("still running {EXIT_DEADLINE:?} after SIGTERM"));
    assert!(status.success(), "exited with {status} after SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------------

const ORDERS: &[u8] = b"orders";
const HOSTILE: &[u8] = b"../x";
const NUL_KEY: &[u8] = b"nul\0key";
const EMPTY: &[u8] = b"empty:made-by-mkstream";
/// Trimmed by `XTRIM MAXLEN` and then `MINID ~` while entries it removes are pending.
const TRIMMED: &[u8] = b"trimmed";
/// Deleted with `DEL` after entries and a group: gone after the restart.
const GONE: &[u8] = b"gone";
/// Deleted with `DEL`, then made again with IDs below its old ones.
const REBORN: &[u8] = b"reborn";

/// A key too long to be spelled in a directory name (the broker hashes it and keeps the key in
/// a file): 120 distinct bytes, NUL, `/` and `.` among them.
fn long_key() -> Vec<u8> {
    (0..120u8).map(|b| b.wrapping_mul(37).wrapping_add(1)).collect()
}

const ENTRIES_PER_STREAM: usize = 300;

/// Entry `i`'s fields: its number and a binary value (CRLF, NUL, every byte value in turn).
fn restart_fields(i: usize) -> Vec<Vec<u8>> {
    let mut value = format!("value-{i}\r\n\0").into_bytes();
    value.extend((0..(i % 97)).map(|b| ((b * 7 + i) % 256) as u8));
    vec![b"n".to_vec(), i.to_string().into_bytes(), b"v".to_vec(), value]
}

/// `XADD key id fields...` for entries `0..n`, pipelined; returns the IDs.
fn add_entries(conn: &mut Conn, key: &[u8], n: usize, id: impl Fn(usize) -> String) -> Vec<Id> {
    let mut requests = Vec::new();
    for i in 0..n {
        let fields = restart_fields(i);
        let id = id(i);
        let mut args: Vec<&[u8]> = vec![b"XADD", key, id.as_bytes()];
        args.extend(fields.iter().map(Vec::as_slice));
        requests.extend(common::command(&args));
    }
    conn.send(&requests);
    (0..n)
        .map(|i| match conn.read() {
            Reply::Bulk(Some(id)) => Id::parse(&id),
            other => panic!("XADD {} entry {i}: {other:?}", show(key)),
        })
        .collect()
}

fn read_group(
    conn: &mut Conn,
    key: &[u8],
    group: &str,
    consumer: &str,
    count: usize,
    from: &str,
) -> Vec<Entry> {
    let count = count.to_string();
    let reply = call_ok(
        conn,
        &[
            b"XREADGROUP",
            b"GROUP",
            group.as_bytes(),
            consumer.as_bytes(),
            b"COUNT",
            count.as_bytes(),
            b"STREAMS",
            key,
            from.as_bytes(),
        ],
    );
    read_group_entries(&reply, key)
}

fn ids_of(entries: &[Entry]) -> Vec<Id> {
    entries.iter().map(|(id, _)| *id).collect()
}

fn ack(conn: &mut Conn, key: &[u8], group: &str, ids: &[Id]) -> i64 {
    let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
    let mut args: Vec<&[u8]> = vec![b"XACK", key, group.as_bytes()];
    args.extend(ids.iter().map(String::as_bytes));
    call_ok(conn, &args).int()
}

/// What a server keeps across a restart beyond entries, groups' positions and owners.
#[derive(Debug, Clone, Copy)]
struct Keeps {
    /// A group's read counter (`entries-read`, and the `lag` computed from it).
    read_counter: bool,
    /// Delivery counts raised by `XREADGROUP` re-reading a consumer's history.
    history_delivery_counts: bool,
}

impl Keeps {
    fn of(target: Target) -> Keeps {
        match target {
            // redis-server 7.0's append-only file keeps neither: it logs no read counter, and
            // no change for `XREADGROUP` with an ID (checked against 7.0.15).
            Target::Redis => Keeps {
                read_counter: false,
                history_delivery_counts: false,
            },
            // The broker's group log records both (`GroupOp::Deliver`, `GroupOp::Redeliver`).
            Target::Broker => Keeps {
                read_counter: true,
                history_delivery_counts: true,
            },
        }
    }
}

/// Everything a restart must keep, by description, for `(key, its groups)`, but what `keeps`
/// says the server does not.
fn durable_state(conn: &mut Conn, streams: &[(&[u8], &[&str])], keeps: Keeps) -> Vec<(String, String)> {
    let not_kept: &[&str] = if keeps.read_counter {
        &[]
    } else {
        &["entries-read", "lag"]
    };
    let mut state = Vec::new();
    for (key, groups) in streams {
        let name = show(key);
        let mut record = |what: String, value: String| state.push((format!("{name}: {what}"), value));
        let range = call_ok(conn, &[b"XRANGE", key, b"-", b"+"]);
        record("XRANGE - +".into(), render(&range));
        record("XLEN".into(), render(&call_ok(conn, &[b"XLEN", key])));
        let info = call_ok(conn, &[b"XINFO", b"STREAM", key]);
        let info = info_without(&info, &["radix-tree-keys", "radix-tree-nodes"]);
        for required in [
            "length",
            "last-generated-id",
            "groups",
            "first-entry",
            "last-entry",
        ] {
            assert!(
                info.contains_key(required),
                "XINFO STREAM {name} has no {required}: {info:?}"
            );
        }
        record("XINFO STREAM".into(), render_map(&info));
        let info_groups = call_ok(conn, &[b"XINFO", b"GROUPS", key]);
        let info_groups: Vec<_> = info_groups
            .items()
            .iter()
            .map(|g| info_without(g, not_kept))
            .collect();
        assert_eq!(
            info_groups.len(),
            groups.len(),
            "XINFO GROUPS {name}: {info_groups:?}"
        );
        for group in &info_groups {
            record("XINFO GROUPS".into(), render_map(group));
        }
        for group in *groups {
            let g = group.as_bytes();
            let summary = call_ok(conn, &[b"XPENDING", key, g]);
            record(format!("XPENDING {group}"), render(&summary));
            let pending = call_ok(conn, &[b"XPENDING", key, g, b"-", b"+", b"100000"]);
            // [id, consumer, idle ms, delivery count]: all but the idle time.
            let pending: Vec<_> = pending
                .items()
                .iter()
                .map(|p| {
                    let p = p.items();
                    assert_eq!(p.len(), 4, "XPENDING {name} {group} - + entry: {p:?}");
                    let count = if keeps.history_delivery_counts {
                        p[3].int()
                    } else {
                        0
                    };
                    (Id::of(&p[0]), show(p[1].bulk()), count)
                })
                .collect();
            let pending: Vec<String> = pending
                .iter()
                .map(|(id, owner, count)| format!("{id} {owner} x{count}"))
                .collect();
            record(
                format!("XPENDING {group} - + 100000 (no idle)"),
                pending.join(", "),
            );
            let consumers = call_ok(conn, &[b"XINFO", b"CONSUMERS", key, g]);
            let consumers: Vec<_> = consumers
                .items()
                .iter()
                .map(|c| info_without(c, &["idle", "inactive"]))
                .collect();
            let consumers: Vec<String> = consumers.iter().map(render_map).collect();
            record(format!("XINFO CONSUMERS {group} (no idle)"), consumers.join(", "));
        }
    }
    state
}

/// The keys (sorted), and what `EXISTS` and `TYPE` say of the deleted stream.
fn keyspace_state(conn: &mut Conn) -> Vec<(String, String)> {
    let keys = call_ok(conn, &[b"KEYS", b"*"]);
    let mut keys: Vec<String> = keys.items().iter().map(|k| show(k.bulk())).collect();
    keys.sort();
    vec![
        ("KEYS * (sorted)".into(), keys.join(", ")),
        ("EXISTS gone".into(), render(&call_ok(conn, &[b"EXISTS", GONE]))),
        ("TYPE gone".into(), render(&call_ok(conn, &[b"TYPE", GONE]))),
        ("TYPE orders".into(), render(&call_ok(conn, &[b"TYPE", ORDERS]))),
    ]
}

fn last_generated_id(conn: &mut Conn, key: &[u8]) -> Id {
    let info = info_map(&call_ok(conn, &[b"XINFO", b"STREAM", key]));
    Id::of(&info["last-generated-id"])
}

fn restart_keeps_everything(target: Target) {
    let root = TempDir::new("streams-restart");
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut server = start_durable(target, &data);
    let mut c = Conn::open(&server);

    let orders = add_entries(&mut c, ORDERS, ENTRIES_PER_STREAM, |_| "*".into());
    let hostile = add_entries(&mut c, HOSTILE, ENTRIES_PER_STREAM, |_| "*".into());
    let nul = add_entries(&mut c, NUL_KEY, ENTRIES_PER_STREAM, |i| {
        format!("{}-{}", 1000 + i / 3, i % 3)
    });
    for ids in [&orders, &hostile, &nul] {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "XADD IDs do not increase: {ids:?}"
        );
    }

    call_ok(&mut c, &[b"XGROUP", b"CREATE", ORDERS, b"g1", b"0"]);
    call_ok(&mut c, &[b"XGROUP", b"CREATE", ORDERS, b"g2", b"$"]);
    call_ok(&mut c, &[b"XGROUP", b"CREATE", HOSTILE, b"g", b"0"]);
    call_ok(&mut c, &[b"XGROUP", b"CREATE", NUL_KEY, b"g", b"0"]);
    call_ok(&mut c, &[b"XGROUP", b"CREATE", EMPTY, b"g", b"$", b"MKSTREAM"]);

    // Two consumers share g1's first 80 entries.
    let alice = ids_of(&read_group(&mut c, ORDERS, "g1", "alice", 50, ">"));
    let bob = ids_of(&read_group(&mut c, ORDERS, "g1", "bob", 30, ">"));
    assert_eq!(alice, orders[..50]);
    assert_eq!(bob, orders[50..80]);
    let alice_acked: Vec<Id> = alice.iter().copied().step_by(3).collect();
    assert_eq!(ack(&mut c, ORDERS, "g1", &alice_acked), alice_acked.len() as i64);
    assert_eq!(ack(&mut c, ORDERS, "g1", &bob[..10]), 10);
    // Alice reads her history again: delivery counts of 2 for what she still holds.
    let again = read_group(&mut c, ORDERS, "g1", "alice", 10, "0");
    assert_eq!(again.len(), 10);
    // An entry nobody read, deleted; g2 moved back to entry 100 and read from there.
    assert_eq!(
        call_ok(&mut c, &[b"XDEL", ORDERS, orders[200].to_string().as_bytes()]).int(),
        1
    );
    call_ok(
        &mut c,
        &[
            b"XGROUP",
            b"SETID",
            ORDERS,
            b"g2",
            orders[100].to_string().as_bytes(),
        ],
    );
    let carol = ids_of(&read_group(&mut c, ORDERS, "g2", "carol", 5, ">"));
    assert_eq!(carol, orders[101..106]);

    let hostile_read = ids_of(&read_group(&mut c, HOSTILE, "g", "alice", 20, ">"));
    assert_eq!(hostile_read, hostile[..20]);
    assert_eq!(ack(&mut c, HOSTILE, "g", &hostile_read[..5]), 5);
    let nul_read = ids_of(&read_group(&mut c, NUL_KEY, "g", "bob", 7, ">"));
    assert_eq!(nul_read, nul[..7]);
    // The NUL stream's last entry deleted: its last generated ID is now past its last entry.
    let nul_last = nul[ENTRIES_PER_STREAM - 1];
    assert_eq!(
        call_ok(&mut c, &[b"XDEL", NUL_KEY, nul_last.to_string().as_bytes()]).int(),
        1
    );

    // A long binary key.
    let long = long_key();
    let long_ids = add_entries(&mut c, &long, 50, |_| "*".into());
    call_ok(&mut c, &[b"XGROUP", b"CREATE", &long, b"g", b"0"]);
    assert_eq!(
        ids_of(&read_group(&mut c, &long, "g", "dave", 3, ">")),
        long_ids[..3]
    );
    // Trimmed twice, with a group whose pending entries the trims remove.
    let trimmed = add_entries(&mut c, TRIMMED, ENTRIES_PER_STREAM, |_| "*".into());
    call_ok(&mut c, &[b"XGROUP", b"CREATE", TRIMMED, b"g", b"0"]);
    assert_eq!(
        ids_of(&read_group(&mut c, TRIMMED, "g", "erin", 10, ">")),
        trimmed[..10]
    );
    assert_eq!(
        call_ok(&mut c, &[b"XTRIM", TRIMMED, b"MAXLEN", b"100"]).int(),
        200
    );
    let min_id = trimmed[250].to_string();
    call_ok(&mut c, &[b"XTRIM", TRIMMED, b"MINID", b"~", min_id.as_bytes()]);
    // Deleted, and deleted then made again from lower IDs.
    add_entries(&mut c, GONE, 20, |_| "*".into());
    call_ok(&mut c, &[b"XGROUP", b"CREATE", GONE, b"g", b"0"]);
    read_group(&mut c, GONE, "g", "frank", 5, ">");
    assert_eq!(call_ok(&mut c, &[b"DEL", GONE]).int(), 1);
    add_entries(&mut c, REBORN, 20, |_| "*".into());
    assert_eq!(call_ok(&mut c, &[b"DEL", REBORN]).int(), 1);
    let reborn = add_entries(&mut c, REBORN, 5, |i| format!("1-{}", i + 1));
    assert_eq!(reborn[0], Id { ms: 1, seq: 1 });

    let streams: [(&[u8], &[&str]); 7] = [
        (ORDERS, &["g1", "g2"]),
        (HOSTILE, &["g"]),
        (NUL_KEY, &["g"]),
        (EMPTY, &["g"]),
        (&long, &["g"]),
        (TRIMMED, &["g"]),
        (REBORN, &[]),
    ];
    let keeps = Keeps::of(target);
    let mut before = durable_state(&mut c, &streams, keeps);
    before.extend(keyspace_state(&mut c));
    let last_ids: Vec<Id> = streams
        .iter()
        .map(|(k, _)| last_generated_id(&mut c, k))
        .collect();
    assert_eq!(last_ids[2], nul_last);
    drop(c);

    sigterm(&mut server);
    drop(server);
    // `../x` stayed inside the data directory.
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["data"], "files appeared beside the data directory");

    let mut server = start_durable(target, &data);
    let mut c = Conn::open(&server);
    let mut after = durable_state(&mut c, &streams, keeps);
    after.extend(keyspace_state(&mut c));
    assert_eq!(before.len(), after.len());
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{what} changed across the restart");
    }

    // New IDs go on above the last generated one, deleted entries included.
    let reply = c.call(&[b"XADD", NUL_KEY, nul_last.to_string().as_bytes(), b"f", b"v"]);
    assert!(
        matches!(reply, Reply::Error(_)),
        "XADD with the deleted last ID {nul_last} after the restart: {reply:?}"
    );
    for ((key, _), last) in streams.iter().zip(&last_ids) {
        let id = Id::of(&call_ok(&mut c, &[b"XADD", key, b"*", b"after", b"restart"]));
        assert!(id > *last, "XADD {} * gave {id}, not above {last}", show(key));
    }
    // Groups go on where they were: g1 delivered 80 entries, g2 up to entry 105.
    assert_eq!(
        ids_of(&read_group(&mut c, ORDERS, "g1", "bob", 1, ">")),
        [orders[80]]
    );
    assert_eq!(
        ids_of(&read_group(&mut c, ORDERS, "g2", "carol", 1, ">")),
        [orders[106]]
    );
    assert_eq!(
        ids_of(&read_group(&mut c, HOSTILE, "g", "bob", 1, ">")),
        [hostile[20]]
    );
    sigterm(&mut server);
}

#[test]
fn restart_on_redis() {
    restart_keeps_everything(Target::Redis);
}

#[test]
fn restart_on_broker() {
    restart_keeps_everything(Target::Broker);
}

/// A stream trimmed to nothing (`XTRIM MAXLEN 0`, `XTRIM MINID` past its end) and written
/// again: the new entries are read back, before and after a restart.
fn emptied_then_refilled(target: Target) {
    let dir = TempDir::new("streams-emptied");
    let mut server = start_durable(target, dir.path());
    let mut c = Conn::open(&server);
    let mut expected: Vec<(&[u8], Vec<Id>)> = Vec::new();
    for (key, trim) in [
        (&b"maxlen"[..], &[&b"MAXLEN"[..], b"0"]),
        (&b"minid"[..], &[&b"MINID"[..], b"5-0"]),
    ] {
        add_entries(&mut c, key, 3, |i| format!("1-{}", i + 1));
        let mut args: Vec<&[u8]> = vec![b"XTRIM", key];
        args.extend_from_slice(trim);
        assert_eq!(
            call_ok(&mut c, &args).int(),
            3,
            "XTRIM {}",
            show(&args.join(&b' '))
        );
        let ids = add_entries(&mut c, key, 3, |i| format!("6-{}", i + 1));
        expected.push((key, ids));
    }
    let check = |c: &mut Conn, when: &str| {
        for (key, ids) in &expected {
            let found = ids_of(&xrange_all(c, key, 100, 10));
            let len = call_ok(c, &[b"XLEN", key]).int();
            assert_eq!(
                (found.as_slice(), len),
                (ids.as_slice(), ids.len() as i64),
                "{when}: XRANGE {} - + and XLEN after the stream was trimmed empty and written again",
                show(key)
            );
        }
    };
    check(&mut c, "before the restart");
    drop(c);
    sigterm(&mut server);
    drop(server);
    let mut server = start_durable(target, dir.path());
    check(&mut Conn::open(&server), "after the restart");
    sigterm(&mut server);
}

#[test]
fn emptied_then_refilled_on_redis() {
    emptied_then_refilled(Target::Redis);
}

#[test]
fn emptied_then_refilled_on_broker() {
    emptied_then_refilled(Target::Broker);
}

/// Deliveries under a 32 KB consumer name: 32 KB of group log each.
const CHURN_DELIVERIES: usize = 300;

/// A group changed often enough that its log is compacted (the broker snapshots a stream's
/// groups after 4 MiB of ops: here about 10 MB), then a graceful restart: the groups are
/// what they were. The consumer leaves every `pending_every`-th entry pending (with 0, only
/// the first three), so the snapshot holds that many pending entries of the 32 KB consumer.
fn restart_after_many_group_changes(target: Target, pending_every: usize) {
    let dir = TempDir::new("streams-group-churn");
    let mut server = start_durable(target, dir.path());
    let mut c = Conn::open(&server);
    let key: &[u8] = b"churned";
    let ids = add_entries(&mut c, key, CHURN_DELIVERIES + 20, |_| "*".into());
    call_ok(&mut c, &[b"XGROUP", b"CREATE", key, b"churn", b"0"]);
    call_ok(&mut c, &[b"XGROUP", b"CREATE", key, b"steady", b"0"]);
    let steady = ids_of(&read_group(&mut c, key, "steady", "s", 5, ">"));
    assert_eq!(steady, ids[..5]);
    let long_name: Vec<u8> = (0..32 << 10).map(|i| b'a' + (i % 26) as u8).collect();
    let read = common::command(&[
        b"XREADGROUP",
        b"GROUP",
        b"churn",
        &long_name,
        b"COUNT",
        b"1",
        b"STREAMS",
        key,
        b">",
    ]);
    let mut pending = 0;
    for (i, id) in ids[..CHURN_DELIVERIES].iter().enumerate() {
        c.send(&read);
        let reply = c.read();
        if let Reply::Error(e) = &reply {
            // Did the refused read deliver anyway?
            let summary = c.call(&[b"XPENDING", key, b"churn"]);
            panic!(
                "delivery {i} to the 32 KB consumer ({pending} entries pending): XREADGROUP \
                 answered -{e}; XPENDING churned churn now answers {}",
                render(&summary).chars().take(200).collect::<String>()
            );
        }
        assert_eq!(ids_of(&read_group_entries(&reply, key)), [*id], "delivery {i}");
        let stays = if pending_every == 0 {
            i < 3
        } else {
            i % pending_every == 0
        };
        if stays {
            pending += 1;
        } else {
            let reply = c.call(&[b"XACK", key, b"churn", id.to_string().as_bytes()]);
            assert_eq!(reply, Reply::Int(1), "XACK {i} ({pending} entries pending)");
        }
    }
    let streams: [(&[u8], &[&str]); 1] = [(key, &["churn", "steady"])];
    let keeps = Keeps::of(target);
    let before = durable_state(&mut c, &streams, keeps);
    drop(c);

    sigterm(&mut server);
    drop(server);
    let mut server = start_durable(target, dir.path());
    let mut c = Conn::open(&server);
    let after = durable_state(&mut c, &streams, keeps);
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{what} changed across the restart");
    }
    // Both groups go on where they were.
    c.send(&read);
    assert_eq!(
        ids_of(&read_group_entries(&c.read(), key)),
        [ids[CHURN_DELIVERIES]]
    );
    assert_eq!(ids_of(&read_group(&mut c, key, "steady", "s", 1, ">")), [ids[5]]);
    drop(c);
    sigterm(&mut server);
}

#[test]
fn group_log_compaction_on_redis() {
    restart_after_many_group_changes(Target::Redis, 0);
}

#[test]
fn group_log_compaction_on_broker() {
    restart_after_many_group_changes(Target::Broker, 0);
}

/// A hundred entries of the 32 KB consumer pending: 3.2 MB of pending list to snapshot.
#[test]
fn group_log_compaction_large_pending_on_redis() {
    restart_after_many_group_changes(Target::Redis, 3);
}

#[test]
fn group_log_compaction_large_pending_on_broker() {
    restart_after_many_group_changes(Target::Broker, 3);
}

// ---------------------------------------------------------------------------------------------
// Crash loop
// ---------------------------------------------------------------------------------------------

const CRASH_KEY: &[u8] = b"crash";
/// The consumer group of the crash loop: reads 10 at a time and leaves one entry in ten
/// unacknowledged for good.
fn steady_group() -> ConsumerSpec {
    ConsumerSpec {
        group: b"g".to_vec(),
        consumer: b"c".to_vec(),
        count: 10,
        leave_pending: true,
    }
}

/// A second group for `crash_loop_compacting_groups`: reads one at a time under a 32 KB
/// consumer name, acknowledging everything: 32 KB of group log per delivery, so the group log
/// passes the 4 MiB of ops after which the broker compacts it into a snapshot every few
/// rounds, and some kills come around that.
fn churning_group() -> ConsumerSpec {
    ConsumerSpec {
        group: b"churn".to_vec(),
        consumer: (0..32 << 10).map(|i| b'a' + (i % 26) as u8).collect(),
        count: 1,
        leave_pending: false,
    }
}

/// A consumer of the crash loop: its group, its name, its `COUNT`, and whether it leaves
/// [`left_pending`] entries unacknowledged.
#[derive(Debug, Clone)]
struct ConsumerSpec {
    group: Vec<u8>,
    consumer: Vec<u8>,
    count: usize,
    leave_pending: bool,
}
/// Each round ends within this (the kill comes at the latest then).
const ROUND_DEADLINE: Duration = Duration::from_secs(20);
/// Each writer sends at most this many entries a round.
const MAX_PER_WRITER: usize = 200_000;
/// A client waits at most this long for one reply.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

fn payload(round: usize, writer: usize, n: usize) -> Vec<u8> {
    format!("round-{round}-writer-{writer}-{n}").into_bytes()
}

/// `round-R-writer-W-N` back into its numbers.
fn parse_payload(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("round-")?;
    let (round, rest) = rest.split_once("-writer-")?;
    let (writer, n) = rest.split_once('-')?;
    let number = |s: &str| -> Option<usize> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    Some((number(round)?, number(writer)?, number(n)?))
}

/// What one writer saw in one round.
#[derive(Debug, Default)]
struct WriterLog {
    /// Every XADD answered with an ID, and its payload.
    replied: Vec<(Id, Vec<u8>)>,
    failures: Vec<String>,
}

/// What the threads of one round share.
#[derive(Debug)]
struct Round<'a> {
    port: u16,
    round: usize,
    /// `XADD` replies so far, both writers together.
    replies: &'a AtomicUsize,
    stop: &'a AtomicBool,
    deadline: Instant,
}

/// Sends `XADD crash * p round-R-writer-W-N` for N = 0, 1, ... (in batches of 1..=64 when
/// `pipelined`) until the connection ends, `stop` is set or the deadline passes.
fn crash_writer(shared: &Round, writer: usize, pipelined: bool, mut rng: Rng) -> WriterLog {
    let Round {
        port,
        round,
        replies,
        stop,
        deadline,
    } = *shared;
    let mut log = WriterLog::default();
    let Ok(mut conn) = connect(port, CLIENT_TIMEOUT) else {
        return log;
    };
    let mut n = 0;
    while n < MAX_PER_WRITER && !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        let batch = if pipelined { rng.range(1, 64) as usize } else { 1 };
        let batch = batch.min(MAX_PER_WRITER - n);
        let mut requests = Vec::new();
        for i in n..n + batch {
            requests.extend(common::command(&[
                b"XADD",
                CRASH_KEY,
                b"*",
                b"p",
                &payload(round, writer, i),
            ]));
        }
        if try_send(&mut conn, &requests).is_err() {
            return log;
        }
        for i in n..n + batch {
            let Ok(raw) = conn.try_read_raw() else {
                return log;
            };
            match broker::parse(&raw) {
                Reply::Bulk(Some(id)) => log.replied.push((Id::parse(&id), payload(round, writer, i))),
                other => {
                    log.failures.push(format!(
                        "round {round} writer {writer}: XADD #{i} answered {other:?}"
                    ));
                    return log;
                }
            }
            replies.fetch_add(1, Ordering::SeqCst);
        }
        n += batch;
    }
    log
}

/// Whether the consumer leaves this entry unacknowledged: writer entries numbered 7, 17, 27...
fn left_pending(fields: &Option<Vec<Vec<u8>>>) -> bool {
    let payload = fields.as_ref().and_then(|f| f.get(1));
    payload
        .and_then(|p| parse_payload(p))
        .is_some_and(|(_, _, n)| n % 10 == 7)
}

/// What the consumer saw in one round.
#[derive(Debug, Default)]
struct ConsumerLog {
    /// IDs `XREADGROUP ... >` answered with, in order.
    delivered: Vec<Id>,
    /// IDs an `XACK` was sent for (answered or not).
    ack_sent: Vec<Id>,
    /// IDs of answered `XACK`s.
    acked: Vec<Id>,
    failures: Vec<String>,
}

/// `XREADGROUP GROUP <group> <consumer> COUNT <count> BLOCK 100 STREAMS crash >` and `XACK`
/// of what it read (but what [`left_pending`] picks, if the spec says so), until the connection
/// ends, `stop` is set or the deadline passes. Every delivered entry must be well-formed, and
/// not acknowledged (answered) before, in this round or an earlier one.
fn crash_consumer(shared: &Round, spec: &ConsumerSpec, acked_before: &BTreeSet<Id>) -> ConsumerLog {
    let Round {
        port,
        round,
        stop,
        deadline,
        ..
    } = *shared;
    let group = show(&spec.group);
    let mut log = ConsumerLog::default();
    let mut acked: BTreeSet<Id> = BTreeSet::new();
    let Ok(mut conn) = connect(port, CLIENT_TIMEOUT) else {
        return log;
    };
    let count = spec.count.to_string();
    let read = common::command(&[
        b"XREADGROUP",
        b"GROUP",
        &spec.group,
        &spec.consumer,
        b"COUNT",
        count.as_bytes(),
        b"BLOCK",
        b"100",
        b"STREAMS",
        CRASH_KEY,
        b">",
    ]);
    for _ in 0..1_000_000 {
        if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        if try_send(&mut conn, &read).is_err() {
            break;
        }
        let Ok(raw) = conn.try_read_raw() else { break };
        let reply = broker::parse(&raw);
        if let Reply::Error(e) = &reply {
            log.failures.push(format!(
                "round {round}: group {group}: XREADGROUP ... > answered -{e}"
            ));
            break;
        }
        let got = read_group_entries(&reply, CRASH_KEY);
        if got.is_empty() {
            continue;
        }
        for (id, fields) in &got {
            let well_formed = fields
                .as_ref()
                .is_some_and(|f| f.len() == 2 && f[0] == b"p" && parse_payload(&f[1]).is_some());
            if !well_formed {
                log.failures.push(format!(
                    "round {round}: group {group}: `>` delivered {id} as {fields:?}"
                ));
            }
            if acked_before.contains(id) || acked.contains(id) {
                log.failures.push(format!(
                    "round {round}: group {group}: `>` delivered {id} again after its XACK was answered"
                ));
            }
            if log.delivered.last().is_some_and(|last| last >= id) {
                log.failures.push(format!(
                    "round {round}: group {group}: `>` delivered {id} after {}",
                    log.delivered.last().unwrap()
                ));
            }
            log.delivered.push(*id);
        }
        let ids: Vec<Id> = got
            .iter()
            .filter(|(_, fields)| !(spec.leave_pending && left_pending(fields)))
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let texts: Vec<String> = ids.iter().map(Id::to_string).collect();
        let mut args: Vec<&[u8]> = vec![b"XACK", CRASH_KEY, &spec.group];
        args.extend(texts.iter().map(String::as_bytes));
        log.ack_sent.extend(&ids);
        if try_send(&mut conn, &common::command(&args)).is_err() {
            break;
        }
        let Ok(raw) = conn.try_read_raw() else { break };
        match broker::parse(&raw) {
            Reply::Int(n) if n == ids.len() as i64 => {
                acked.extend(&ids);
                log.acked.extend(&ids);
            }
            other => {
                log.failures.push(format!(
                    "round {round}: group {group}: XACK of {} just delivered entries answered {other:?}",
                    ids.len()
                ));
                break;
            }
        }
    }
    log
}

/// What the test knows across rounds.
#[derive(Debug, Default)]
struct Model {
    /// Entries that must be there: answered XADDs, and entries a restarted broker showed.
    entries: BTreeMap<Id, Vec<u8>>,
    /// Entries found after a restart whose XADD was never answered (the kill came first).
    unanswered_found: usize,
    /// Per consumer group.
    groups: Vec<GroupModel>,
}

/// What the test knows of one consumer group across rounds.
#[derive(Debug)]
struct GroupModel {
    spec: ConsumerSpec,
    /// Entries `>` delivered (answered).
    delivered: BTreeSet<Id>,
    /// Entries an XACK was sent for.
    ack_sent: BTreeSet<Id>,
    /// Entries an answered XACK acknowledged.
    acked: BTreeSet<Id>,
}

/// Checks a restarted server against the model, before round `round` (or after the last one),
/// and adds what it found to the model. Returns the failures.
fn verify_after_restart(conn: &mut Conn, model: &mut Model, round: usize) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("after restart {round}: {what}"));

    let found = xrange_all(conn, CRASH_KEY, 5_000, 10_000);
    let mut by_id: BTreeMap<Id, Vec<u8>> = BTreeMap::new();
    let mut payloads: BTreeMap<Vec<u8>, Id> = BTreeMap::new();
    // Per (round, writer): the numbers in ID order.
    let mut sequences: BTreeMap<(usize, usize), Vec<(usize, Id)>> = BTreeMap::new();
    let mut previous: Option<(Id, usize)> = None;
    for (id, fields) in &found {
        if let Some((prev, _)) = previous {
            if prev >= *id {
                fail(format!("XRANGE IDs do not increase: {prev} then {id}"));
            }
        }
        let Some(fields) = fields.as_ref().filter(|f| f.len() == 2 && f[0] == b"p") else {
            fail(format!("entry {id} has fields {fields:?}, not [p, payload]"));
            continue;
        };
        let value = &fields[1];
        let Some((r, w, n)) = parse_payload(value).filter(|&(r, w, _)| r < round && w < 2) else {
            fail(format!("entry {id} has payload {}", show(value)));
            continue;
        };
        if let Some((_, prev_round)) = previous {
            if prev_round > r {
                fail(format!(
                    "entry {id} of round {r} comes after one of round {prev_round}"
                ));
            }
        }
        previous = Some((*id, r));
        if let Some(other) = payloads.insert(value.clone(), *id) {
            fail(format!("payload {} is in entries {other} and {id}", show(value)));
        }
        sequences.entry((r, w)).or_default().push((n, *id));
        by_id.insert(*id, value.clone());
    }
    for ((r, w), seq) in &sequences {
        for (expected, (n, id)) in seq.iter().enumerate() {
            if *n != expected {
                fail(format!(
                    "round {r} writer {w}: entry {id} is #{n} where #{expected} was due \
                     (each writer's entries must be a gap-free prefix of what it sent, in order)"
                ));
                break;
            }
        }
    }
    let mut missing = 0;
    for (id, value) in &model.entries {
        match by_id.get(id) {
            Some(got) if got == value => {}
            Some(got) => fail(format!("entry {id} is {} instead of {}", show(got), show(value))),
            None => {
                missing += 1;
                if missing <= 10 {
                    fail(format!("acknowledged entry {id} ({}) is gone", show(value)));
                }
            }
        }
    }
    if missing > 10 {
        fail(format!("... {missing} acknowledged entries gone in all"));
    }

    for group in &model.groups {
        verify_group(conn, group, &by_id, &mut fail);
    }
    // Whatever a restarted broker shows must stay.
    let before = model.entries.len();
    model.entries.extend(by_id);
    model.unanswered_found += model.entries.len() - before;
    failures
}

/// Checks one consumer group of a restarted server against the model: it exists, its last
/// delivered ID is not below an acknowledged entry, its pending entries are the consumer's,
/// none acknowledged, none past the last delivered ID, all in the stream (`by_id`), delivered
/// unacknowledged entries are pending or still to come, and `XREADGROUP ... 0` gives back
/// exactly the pending entries.
fn verify_group(
    conn: &mut Conn,
    model: &GroupModel,
    by_id: &BTreeMap<Id, Vec<u8>>,
    fail: &mut impl FnMut(String),
) {
    let spec = &model.spec;
    let name = show(&spec.group);
    let mut fail = |what: String| fail(format!("group {name}: {what}"));
    let groups = conn.call(&[b"XINFO", b"GROUPS", CRASH_KEY]);
    let group = match &groups {
        Reply::Array(Some(items)) => items.iter().map(info_map).find(|g| {
            g.get("name")
                .is_some_and(|n| matches!(n, Reply::Bulk(Some(b)) if *b == spec.group))
        }),
        _ => None,
    };
    let Some(group) = group else {
        fail(format!("not in XINFO GROUPS: {}", render(&groups)));
        return;
    };
    let last_delivered = Id::of(&group["last-delivered-id"]);
    if let Some(max_acked) = model.acked.last() {
        if last_delivered < *max_acked {
            fail(format!(
                "the last delivered ID {last_delivered} is below {max_acked}, whose XACK was \
                 answered: `>` would deliver it again"
            ));
        }
    }
    let pending = conn.call(&[b"XPENDING", CRASH_KEY, &spec.group, b"-", b"+", b"1000000"]);
    let pending: Vec<(Id, Vec<u8>)> = match &pending {
        Reply::Array(Some(items)) => items
            .iter()
            .map(|p| (Id::of(&p.items()[0]), p.items()[1].bulk().to_vec()))
            .collect(),
        other => {
            fail(format!("XPENDING - + 1000000: {}", render(other)));
            Vec::new()
        }
    };
    let pending_ids: BTreeSet<Id> = pending.iter().map(|(id, _)| *id).collect();
    for (id, owner) in &pending {
        if model.acked.contains(id) {
            fail(format!("{id} is pending again though its XACK was answered"));
        }
        if *owner != spec.consumer {
            fail(format!("{id} is pending for {}", show(owner)));
        }
        if *id > last_delivered {
            fail(format!(
                "{id} is pending but after the last delivered ID {last_delivered}"
            ));
        }
        if !by_id.contains_key(id) {
            fail(format!("{id} is pending but not in the stream"));
        }
    }
    // At least once: what was delivered and never acknowledged is pending or still to come.
    for id in model.delivered.difference(&model.ack_sent) {
        if !pending_ids.contains(id) && *id <= last_delivered {
            fail(format!(
                "{id} was delivered and never acknowledged, but is neither pending nor after \
                 the last delivered ID {last_delivered}"
            ));
        }
    }
    // The consumer gets its pending entries back from its history.
    let history = conn.call(&[
        b"XREADGROUP",
        b"GROUP",
        &spec.group,
        &spec.consumer,
        b"COUNT",
        b"1000000",
        b"STREAMS",
        CRASH_KEY,
        b"0",
    ]);
    if let Reply::Error(e) = &history {
        fail(format!("XREADGROUP ... 0: -{e}"));
        return;
    }
    let history = read_group_entries(&history, CRASH_KEY);
    let history_ids: BTreeSet<Id> = history.iter().map(|(id, _)| *id).collect();
    if history_ids != pending_ids {
        fail(format!(
            "XREADGROUP ... 0 gave {} entries, XPENDING {}: only in the first {:?}, only in the \
             second {:?}",
            history_ids.len(),
            pending_ids.len(),
            history_ids.difference(&pending_ids).collect::<Vec<_>>(),
            pending_ids.difference(&history_ids).collect::<Vec<_>>()
        ));
    }
    for (id, fields) in &history {
        let expected = by_id.get(id).map(|v| vec![b"p".to_vec(), v.clone()]);
        if fields.as_ref() != expected.as_ref() {
            fail(format!("XREADGROUP ... 0 gave {id} as {fields:?}"));
        }
    }
}

fn crash_loop_on(target: Target, groups: Vec<ConsumerSpec>) {
    let rounds: usize = std::env::var("NANOSTREAM_CRASH_ROUNDS")
        .map(|r| r.parse().expect("NANOSTREAM_CRASH_ROUNDS is a number"))
        .unwrap_or(30);
    let seed = streams_support::seed_from_env("NANOSTREAM_CRASH_SEED");
    // A killed broker loses nothing acknowledged under any policy (only a power loss would):
    // NANOSTREAM_CRASH_FSYNC=never or interval:<ms> checks that.
    let fsync = std::env::var("NANOSTREAM_CRASH_FSYNC").unwrap_or_else(|_| "batch".into());
    let start =
        format!("crash_loop {target:?}: {rounds} rounds, --fsync {fsync}, NANOSTREAM_CRASH_SEED={seed}");
    println!("{start}");
    eprintln!("{start}");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("streams-crash");
    let mut model = Model {
        groups: groups
            .into_iter()
            .map(|spec| GroupModel {
                spec,
                delivered: BTreeSet::new(),
                ack_sent: BTreeSet::new(),
                acked: BTreeSet::new(),
            })
            .collect(),
        ..Model::default()
    };
    let started = Instant::now();
    let mut kills_by_count = 0;

    for round in 0..=rounds {
        // The broker warns of every recovery from a kill: expected here.
        let restarted = std::panic::catch_unwind(|| start_persisting(target, dir.path(), &fsync, "error"));
        let mut server = restarted.unwrap_or_else(|_| {
            panic!(
                "the server did not start again before round {round} (its stderr above says \
                 why); NANOSTREAM_CRASH_SEED={seed}"
            )
        });
        let mut conn = Conn::open(&server);
        if round == 0 {
            for group in &model.groups {
                call_ok(
                    &mut conn,
                    &[
                        b"XGROUP",
                        b"CREATE",
                        CRASH_KEY,
                        &group.spec.group,
                        b"$",
                        b"MKSTREAM",
                    ],
                );
            }
        }
        let failures = verify_after_restart(&mut conn, &mut model, round);
        assert!(
            failures.is_empty(),
            "NANOSTREAM_CRASH_SEED={seed}, {} entries acknowledged so far:\n{}",
            model.entries.len(),
            failures.join("\n")
        );
        drop(conn);
        if round == rounds {
            sigterm(&mut server);
            break;
        }

        let kill_at = rng.range(50, 2_000) as usize;
        let deadline = Instant::now() + ROUND_DEADLINE;
        let replies = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let writers_done = AtomicUsize::new(0);
        let shared = Round {
            port: server.port,
            round,
            replies: &replies,
            stop: &stop,
            deadline,
        };
        let groups = &model.groups;
        let (writer_logs, consumer_logs, by_count) = std::thread::scope(|s| {
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    let rng = Rng::new(rng.next_u64());
                    let (shared, writers_done) = (&shared, &writers_done);
                    s.spawn(move || {
                        let log = crash_writer(shared, w, w == 1, rng);
                        writers_done.fetch_add(1, Ordering::SeqCst);
                        log
                    })
                })
                .collect();
            let consumers: Vec<_> = groups
                .iter()
                .map(|g| {
                    let shared = &shared;
                    s.spawn(move || crash_consumer(shared, &g.spec, &g.acked))
                })
                .collect();
            let by_count = common::wait_for(deadline.saturating_duration_since(Instant::now()), || {
                replies.load(Ordering::SeqCst) >= kill_at || writers_done.load(Ordering::SeqCst) == 2
            }) && replies.load(Ordering::SeqCst) >= kill_at;
            let status = server.signal_and_wait(libc::SIGKILL, EXIT_DEADLINE);
            assert!(
                status.is_some(),
                "the server outlived SIGKILL by {EXIT_DEADLINE:?}"
            );
            stop.store(true, Ordering::SeqCst);
            let writer_logs: Vec<WriterLog> = writers
                .into_iter()
                .map(|h| h.join().expect("writer thread"))
                .collect();
            let consumer_logs: Vec<ConsumerLog> = consumers
                .into_iter()
                .map(|h| h.join().expect("consumer thread"))
                .collect();
            (writer_logs, consumer_logs, by_count)
        });
        if by_count {
            kills_by_count += 1;
        } else {
            println!(
                "round {round}: killed at the deadline, {} of {kill_at} replies",
                replies.load(Ordering::SeqCst)
            );
        }
        let mut failures: Vec<String> = Vec::new();
        for (w, log) in writer_logs.into_iter().enumerate() {
            failures.extend(log.failures);
            if let Some(pair) = log.replied.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
                failures.push(format!(
                    "round {round} writer {w}: XADD answered {} after {}",
                    pair[1].0, pair[0].0
                ));
            }
            for (id, payload) in log.replied {
                if let Some(other) = model.entries.insert(id, payload.clone()) {
                    failures.push(format!(
                        "round {round}: XADD of {} answered {id}, the ID of {} before",
                        show(&payload),
                        show(&other)
                    ));
                }
            }
        }
        for (group, log) in model.groups.iter_mut().zip(consumer_logs) {
            failures.extend(log.failures);
            group.delivered.extend(log.delivered);
            group.ack_sent.extend(log.ack_sent);
            group.acked.extend(log.acked);
        }
        assert!(
            failures.is_empty(),
            "NANOSTREAM_CRASH_SEED={seed}:\n{}",
            failures.join("\n")
        );
    }
    let elapsed = started.elapsed();
    let groups: Vec<String> = model
        .groups
        .iter()
        .map(|g| {
            format!(
                "group {}: {} delivered, {} acknowledged ({} more XACKs cut off)",
                show(&g.spec.group),
                g.delivered.len(),
                g.acked.len(),
                g.ack_sent.len() - g.acked.len()
            )
        })
        .collect();
    let summary = format!(
        "crash_loop {target:?}: {rounds} rounds in {elapsed:.1?} ({kills_by_count} killed at their \
         reply count), {} entries ({} found whose XADD was cut off by the kill), {}; --fsync \
         {fsync}, NANOSTREAM_CRASH_SEED={seed}",
        model.entries.len(),
        model.unanswered_found,
        groups.join(", ")
    );
    println!("{summary}");
    eprintln!("{summary}");
    assert!(!model.entries.is_empty(), "no XADD was ever answered");
}

#[test]
fn crash_loop() {
    crash_loop_on(Target::Broker, vec![steady_group()]);
}

#[test]
fn crash_loop_compacting_groups_on_broker() {
    crash_loop_on(Target::Broker, vec![steady_group(), churning_group()]);
}

#[test]
fn crash_loop_compacting_groups_on_redis() {
    crash_loop_on(Target::Redis, vec![steady_group(), churning_group()]);
}

#[test]
fn crash_loop_on_redis() {
    crash_loop_on(Target::Redis, vec![steady_group()]);
}

// ---------------------------------------------------------------------------------------------
// Crash loop over deletions: XADD, XDEL, XTRIM and DEL of one stream
// ---------------------------------------------------------------------------------------------

const CYCLED_KEY: &[u8] = b"cycled";

/// What one stream key holds: whether it exists, its entries, and its last generated ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct KeyState {
    exists: bool,
    entries: Vec<(Id, Vec<u8>)>,
    last_id: Id,
}

impl KeyState {
    fn describe(&self) -> String {
        if !self.exists {
            return "no key".into();
        }
        let shown = |e: Option<&(Id, Vec<u8>)>| e.map(|(id, p)| format!("{id} {}", show(p)));
        format!(
            "{} entries (first {:?}, last {:?}), last generated ID {}",
            self.entries.len(),
            shown(self.entries.first()),
            shown(self.entries.last()),
            self.last_id
        )
    }
}

/// A command of the deletion crash loop, the reply it must get, and the state after it.
#[derive(Debug)]
struct CycleCommand {
    args: Vec<Vec<u8>>,
    expected: Reply,
    after: KeyState,
}

/// The next command on `state` (which it updates): mostly `XADD cycled 1-<n> p gen-<g>-<n>`
/// (the sequence restarts with each new stream, so IDs below the deleted stream's are used
/// again), sometimes `XDEL` of an entry (or of a missing one), `XTRIM MAXLEN`, or `DEL`.
fn next_cycle_command(rng: &mut Rng, state: &mut KeyState, generation: &mut u64) -> CycleCommand {
    let roll = rng.range(0, 99);
    let (args, expected): (Vec<Vec<u8>>, Reply) = if roll < 80 || !state.exists {
        if !state.exists {
            *generation += 1;
            state.last_id = Id::default();
        }
        let id = Id {
            ms: 1,
            seq: state.last_id.seq + 1,
        };
        let payload = format!("gen-{generation}-{}", id.seq).into_bytes();
        state.exists = true;
        state.entries.push((id, payload.clone()));
        state.last_id = id;
        let text = id.to_string().into_bytes();
        (
            vec![
                b"XADD".to_vec(),
                CYCLED_KEY.to_vec(),
                text.clone(),
                b"p".to_vec(),
                payload,
            ],
            Reply::Bulk(Some(text)),
        )
    } else if roll < 88 {
        // An entry (or, one time in four, an ID that is not there).
        let id = if state.entries.is_empty() || rng.range(0, 3) == 0 {
            Id {
                ms: 0,
                seq: rng.range(1, 1_000),
            }
        } else {
            state.entries[rng.range(0, state.entries.len() as u64 - 1) as usize].0
        };
        let before = state.entries.len();
        state.entries.retain(|(e, _)| *e != id);
        let removed = (before - state.entries.len()) as i64;
        (
            vec![b"XDEL".to_vec(), CYCLED_KEY.to_vec(), id.to_string().into_bytes()],
            Reply::Int(removed),
        )
    } else if roll < 96 {
        let keep = rng.range(0, state.entries.len() as u64 / 2 + 1) as usize;
        let removed = state.entries.len().saturating_sub(keep);
        state.entries.drain(..removed);
        (
            vec![
                b"XTRIM".to_vec(),
                CYCLED_KEY.to_vec(),
                b"MAXLEN".to_vec(),
                keep.to_string().into_bytes(),
            ],
            Reply::Int(removed as i64),
        )
    } else {
        *state = KeyState::default();
        (vec![b"DEL".to_vec(), CYCLED_KEY.to_vec()], Reply::Int(1))
    };
    CycleCommand {
        args,
        expected,
        after: state.clone(),
    }
}

/// What the server holds for [`CYCLED_KEY`].
fn observe_key(conn: &mut Conn) -> KeyState {
    let exists = call_ok(conn, &[b"EXISTS", CYCLED_KEY]).int() == 1;
    if !exists {
        return KeyState::default();
    }
    let entries = xrange_all(conn, CYCLED_KEY, 5_000, 1_000)
        .into_iter()
        .map(|(id, fields)| {
            let fields = fields.unwrap_or_default();
            assert!(
                fields.len() == 2 && fields[0] == b"p",
                "entry {id}: fields {fields:?}"
            );
            (id, fields[1].clone())
        })
        .collect();
    let info = info_map(&call_ok(conn, &[b"XINFO", b"STREAM", CYCLED_KEY]));
    KeyState {
        exists,
        entries,
        last_id: Id::of(&info["last-generated-id"]),
    }
}

/// Rounds of pipelined `XADD`/`XDEL`/`XTRIM`/`DEL` on one key, each ended by `SIGKILL` after a
/// random number of replies. Every reply must be the model's; after each restart the key must
/// hold what the model holds after some prefix of the commands sent, at least as long as the
/// prefix that was answered (a kill may cut off the replies of commands that took effect, never
/// undo one that was answered). `NANOSTREAM_CRASH_ROUNDS` and `NANOSTREAM_CRASH_SEED` apply.
fn crash_loop_deletions_on(target: Target) {
    let rounds: usize = std::env::var("NANOSTREAM_CRASH_ROUNDS")
        .map(|r| r.parse().expect("NANOSTREAM_CRASH_ROUNDS is a number"))
        .unwrap_or(30);
    let seed = streams_support::seed_from_env("NANOSTREAM_CRASH_SEED");
    let start = format!("crash_loop_deletions {target:?}: {rounds} rounds, NANOSTREAM_CRASH_SEED={seed}");
    println!("{start}");
    eprintln!("{start}");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("streams-crash-deletions");
    let started = Instant::now();
    let mut generation = 0;
    let mut cut_off_applied = 0;
    let mut commands_sent = 0;
    // The candidates for what the restarted server holds: the state after each command from
    // the last answered one on (the first is the state before the round if none was).
    let mut candidates: Vec<KeyState> = vec![KeyState::default()];
    for round in 0..=rounds {
        let restarted = std::panic::catch_unwind(|| start_persisting(target, dir.path(), "batch", "error"));
        let mut server = restarted.unwrap_or_else(|_| {
            panic!(
                "the server did not start again before round {round} (its stderr above says \
                 why); NANOSTREAM_CRASH_SEED={seed}"
            )
        });
        let mut conn = Conn::open(&server);
        let found = observe_key(&mut conn);
        let Some(at) = candidates.iter().position(|c| *c == found) else {
            panic!(
                "after restart {round}: the key holds {}; after the last answered command it \
                 held {}, after the last command sent {}; NANOSTREAM_CRASH_SEED={seed}",
                found.describe(),
                candidates[0].describe(),
                candidates.last().unwrap().describe()
            );
        };
        cut_off_applied += at;
        let round_start = found.clone();
        let mut state = found;
        drop(conn);
        if round == rounds {
            sigterm(&mut server);
            break;
        }

        let kill_at = rng.range(20, 600) as usize;
        let mut conn = connect(server.port, CLIENT_TIMEOUT).expect("connect");
        let mut answered = 0;
        let mut sent: Vec<CycleCommand> = Vec::new();
        let mut failures = Vec::new();
        let mut killed = false;
        let deadline = Instant::now() + ROUND_DEADLINE;
        'round: while Instant::now() < deadline {
            let batch = rng.range(1, 32) as usize;
            let mut requests = Vec::new();
            for _ in 0..batch {
                let command = next_cycle_command(&mut rng, &mut state, &mut generation);
                let args: Vec<&[u8]> = command.args.iter().map(Vec::as_slice).collect();
                requests.extend(common::command(&args));
                sent.push(command);
            }
            if try_send(&mut conn, &requests).is_err() {
                break;
            }
            for _ in 0..batch {
                if answered >= kill_at && !killed {
                    // The kill comes with replies still owed: some of the batch may have
                    // been applied, unanswered.
                    let status = server.signal_and_wait(libc::SIGKILL, EXIT_DEADLINE);
                    assert!(
                        status.is_some(),
                        "the server outlived SIGKILL by {EXIT_DEADLINE:?}"
                    );
                    killed = true;
                }
                let Ok(raw) = conn.try_read_raw() else {
                    break 'round;
                };
                let reply = broker::parse(&raw);
                let command = &sent[answered];
                if reply != command.expected {
                    let earlier: Vec<String> = sent[answered.saturating_sub(20)..answered]
                        .iter()
                        .map(|c| format!("  {} -> {}", show(&c.args.join(&b' ')), render(&c.expected)))
                        .collect();
                    let before = if answered == 0 {
                        &round_start
                    } else {
                        &sent[answered - 1].after
                    };
                    failures.push(format!(
                        "round {round}: {} answered {}, expected {}; the key held {} after the \
                         restart, then (last 20):\n{}",
                        show(&command.args.join(&b' ')),
                        render(&reply),
                        render(&command.expected),
                        round_start.describe(),
                        earlier.join("\n")
                    ));
                    failures.push(format!("expected before it: {before:?}"));
                    break 'round;
                }
                answered += 1;
            }
        }
        if !killed {
            let status = server.signal_and_wait(libc::SIGKILL, EXIT_DEADLINE);
            assert!(
                status.is_some(),
                "the server outlived SIGKILL by {EXIT_DEADLINE:?}"
            );
        }
        assert!(
            failures.is_empty(),
            "NANOSTREAM_CRASH_SEED={seed}:\n{}",
            failures.join("\n")
        );
        commands_sent += sent.len();
        // Answered commands took effect; of the rest, any prefix may have.
        let last_answered = if answered == 0 {
            round_start
        } else {
            sent[answered - 1].after.clone()
        };
        candidates = std::iter::once(last_answered)
            .chain(sent.drain(answered..).map(|c| c.after))
            .collect();
    }
    let summary = format!(
        "crash_loop_deletions {target:?}: {rounds} rounds in {:.1?}, {commands_sent} commands, \
         {generation} streams made and {cut_off_applied} commands found applied though their \
         replies were cut off; NANOSTREAM_CRASH_SEED={seed}",
        started.elapsed()
    );
    println!("{summary}");
    eprintln!("{summary}");
}

#[test]
fn crash_loop_deletions_on_broker() {
    crash_loop_deletions_on(Target::Broker);
}

#[test]
fn crash_loop_deletions_on_redis() {
    crash_loop_deletions_on(Target::Redis);
}

// ---------------------------------------------------------------------------------------------
// Full disk
// ---------------------------------------------------------------------------------------------

const FULL_KEY: &[u8] = b"full";
/// A stream first written to when the disk is full.
const NEW_KEY: &[u8] = b"new-on-full-disk";
const ENTRY_BYTES: usize = 1024;

fn full_payload(n: usize) -> Vec<u8> {
    let mut p = format!("entry-{n}:").into_bytes();
    p.resize(ENTRY_BYTES, b'a' + (n % 26) as u8);
    p
}

/// Checks that stream `full` holds exactly `acknowledged`, in order.
fn holds_exactly(conn: &mut Conn, acknowledged: &[(Id, Vec<u8>)], when: &str) {
    let found = xrange_all(conn, FULL_KEY, 2_000, 100_000);
    let found: Vec<(Id, Vec<u8>)> = found
        .into_iter()
        .map(|(id, fields)| {
            let fields = fields.unwrap_or_default();
            assert!(
                fields.len() == 2 && fields[0] == b"p",
                "{when}: entry {id} has fields {fields:?}"
            );
            (id, fields[1].clone())
        })
        .collect();
    if found != acknowledged {
        let at = found
            .iter()
            .zip(acknowledged)
            .position(|(a, b)| a != b)
            .unwrap_or(found.len().min(acknowledged.len()));
        panic!(
            "{when}: the stream holds {} entries, {} were acknowledged; first difference at #{at}: \
             found {:?}, acknowledged {:?}",
            found.len(),
            acknowledged.len(),
            found.get(at).map(|(id, p)| (id, show(&p[..20.min(p.len())]))),
            acknowledged.get(at).map(|(id, p)| (id, show(&p[..20]))),
        );
    }
}

/// Checks that `KEYS *` gives `expected` (sorted); the error names `TYPE` and `XLEN` of any
/// other key.
fn keys_are(conn: &mut Conn, expected: &[&[u8]], when: &str) -> Result<(), String> {
    let mut keys: Vec<Vec<u8>> = call_ok(conn, &[b"KEYS", b"*"])
        .items()
        .iter()
        .map(|k| k.bulk().to_vec())
        .collect();
    keys.sort();
    let mut expected: Vec<Vec<u8>> = expected.iter().map(|k| k.to_vec()).collect();
    expected.sort();
    if keys != expected {
        let extra: Vec<String> = keys
            .iter()
            .filter(|k| !expected.contains(k))
            .map(|k| {
                let kind = render(&conn.call(&[b"TYPE", k]));
                let len = render(&conn.call(&[b"XLEN", k]));
                format!("{} (TYPE {kind}, XLEN {len})", show(k))
            })
            .collect();
        let shown = |keys: &[Vec<u8>]| keys.iter().map(|k| show(k)).collect::<Vec<_>>().join(", ");
        return Err(format!(
            "{when}: KEYS * is [{}], expected [{}]; unexpected: [{}]",
            shown(&keys),
            shown(&expected),
            extra.join(", ")
        ));
    }
    Ok(())
}

/// One `XADD full * p <1 KB>`: the ID, or the error reply.
fn add_one(conn: &mut Conn, n: usize) -> Result<Id, String> {
    match conn.call(&[b"XADD", FULL_KEY, b"*", b"p", &full_payload(n)]) {
        Reply::Bulk(Some(id)) => Ok(Id::parse(&id)),
        Reply::Error(e) => Err(e),
        other => panic!("XADD #{n}: neither an ID nor an error: {other:?}"),
    }
}

#[test]
fn full_disk_on_broker() {
    full_disk(false);
}

/// As [`full_disk_on_broker`], with an XADD to a new key while the disk is full.
#[test]
fn full_disk_new_stream_on_broker() {
    full_disk(true);
}

/// 1 KB XADDs until the disk is full; checks the broker serves, holds exactly what it
/// acknowledged, writes again once space is freed and keeps it all across a restart. With
/// `new_stream`, also begins a new stream while the disk is full.
fn full_disk(new_stream: bool) {
    let root = TempDir::new(if new_stream {
        "streams-full-new"
    } else {
        "streams-full"
    });
    let mount_point = root.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    // A generous limit first (pages are only taken when used), to see how much one stream
    // takes; shrunk below once that is known.
    let tmpfs = Tmpfs::mount(&mount_point, 1 << 30).unwrap_or_else(|e| {
        panic!(
            "{e}\nthe full-disk tests mount a tmpfs: run it as root, or in a user and mount \
             namespace (`unshare -rm cargo test --test broker_streams_durability`)"
        )
    });
    let data = mount_point.join("data");
    std::fs::create_dir(&data).unwrap();
    let mut server = start_durable(Target::Broker, &data);
    let mut c = Conn::open(&server);

    let mut acknowledged: Vec<(Id, Vec<u8>)> = Vec::new();
    let first = add_one(&mut c, 0).unwrap_or_else(|e| panic!("the first XADD, on an empty tmpfs: -{e}"));
    acknowledged.push((first, full_payload(0)));
    let segment = streams_support::largest_file(&data);
    assert!(segment > 0, "no file under {} after an XADD", data.display());

    // A filler file big enough that deleting it makes room for another segment; then the
    // limit is set to leave room for two and a half more segments (up to 16 MiB ones; the
    // broker's streams use 4 MiB) or half of one (larger ones): the stream fills its first
    // segment and two more and fails to make the fourth, or fails to make its second.
    let filler = mount_point.join("filler");
    let filler_len = segment + (1 << 20);
    std::fs::write(&filler, vec![0x5a; filler_len as usize]).unwrap();
    let room = if segment <= 16 << 20 {
        segment * 5 / 2
    } else {
        segment / 2
    };
    let limit = (tmpfs.used() + room).div_ceil(4096) * 4096;
    tmpfs.resize(limit).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "full_disk (new stream: {new_stream}): segments of {segment} bytes, tmpfs limited to {limit} bytes, {} free",
        tmpfs.free()
    );

    // 1 KB entries until an error reply, pipelined 64 at a time.
    let max_entries = (room + segment * 2) as usize / ENTRY_BYTES + 1_000;
    let mut errors: Vec<(usize, String)> = Vec::new();
    let mut n = 1;
    while errors.is_empty() && n < max_entries {
        let batch = 64.min(max_entries - n);
        let mut requests = Vec::new();
        for i in n..n + batch {
            requests.extend(common::command(&[
                b"XADD",
                FULL_KEY,
                b"*",
                b"p",
                &full_payload(i),
            ]));
        }
        c.send(&requests);
        for i in n..n + batch {
            match c.read() {
                Reply::Bulk(Some(id)) => acknowledged.push((Id::parse(&id), full_payload(i))),
                Reply::Error(e) => errors.push((i, e)),
                other => panic!("XADD #{i}: neither an ID nor an error: {other:?}"),
            }
        }
        n += batch;
    }
    assert!(
        !errors.is_empty(),
        "{n} XADDs of {ENTRY_BYTES} bytes on a tmpfs of {limit} bytes, and not one error reply"
    );
    println!(
        "full_disk (new stream: {new_stream}): {} entries acknowledged, then XADD #{} answered -{} ({} error replies)",
        acknowledged.len(),
        errors[0].0,
        errors[0].1,
        errors.len()
    );
    assert!(
        acknowledged.windows(2).all(|w| w[0].0 < w[1].0),
        "XADD IDs do not increase"
    );

    // Still serving, on this connection and a new one; holding exactly what was acknowledged.
    assert_eq!(c.call(&[b"PING"]), Reply::Status("PONG".into()));
    assert_eq!(Conn::open(&server).call(&[b"PING"]), Reply::Status("PONG".into()));
    holds_exactly(&mut c, &acknowledged, "on the full disk");
    // With `new_stream`, a stream is also begun while the disk is full: an XADD refused
    // leaves no key behind, now or after a restart.
    let (keys, why): (&[&[u8]], String) = if new_stream {
        let reply = c.call(&[b"XADD", NEW_KEY, b"*", b"p", b"x"]);
        let keys: &[&[u8]] = match &reply {
            Reply::Error(_) => &[FULL_KEY],
            Reply::Bulk(Some(_)) => &[FULL_KEY, NEW_KEY],
            other => panic!("XADD {}: neither an ID nor an error: {other:?}", show(NEW_KEY)),
        };
        (
            keys,
            format!(
                "XADD {} on the full disk answered {}",
                show(NEW_KEY),
                render(&reply)
            ),
        )
    } else {
        (&[FULL_KEY], "one stream".to_string())
    };
    keys_are(&mut c, keys, &format!("on the full disk ({why})")).unwrap_or_else(|e| panic!("{e}"));

    // Space freed: writes are taken again (retried while the broker has not noticed yet).
    std::fs::remove_file(&filler).unwrap();
    let mut next = n;
    let mut last_error = String::new();
    let resumed = common::wait_for(Duration::from_secs(10), || {
        next += 1;
        match add_one(&mut c, next) {
            Ok(id) => {
                acknowledged.push((id, full_payload(next)));
                true
            }
            Err(e) => {
                last_error = e;
                false
            }
        }
    });
    assert!(
        resumed,
        "XADD still fails 10 s after space was freed: -{last_error}"
    );
    for _ in 0..100 {
        next += 1;
        let id = add_one(&mut c, next).unwrap_or_else(|e| panic!("XADD #{next} after space was freed: -{e}"));
        acknowledged.push((id, full_payload(next)));
    }
    holds_exactly(&mut c, &acknowledged, "after space was freed");
    keys_are(&mut c, keys, &format!("after space was freed ({why})")).unwrap_or_else(|e| panic!("{e}"));
    drop(c);

    sigterm(&mut server);
    // The disk is nearly full again (the stream took the freed space for its next segment);
    // opening what is there needs no more. If the broker does not start, that is a failure,
    // and the rest is checked with room for two more segments.
    let mut failures = Vec::new();
    let restarted = std::panic::catch_unwind(|| start_durable(Target::Broker, &data));
    let mut server = restarted.unwrap_or_else(|_| {
        failures.push(format!(
            "the broker did not start again on the nearly full disk ({} bytes free; its \
             stderr above says why)",
            tmpfs.free()
        ));
        tmpfs
            .resize(limit + 2 * segment)
            .unwrap_or_else(|e| panic!("{e}"));
        start_durable(Target::Broker, &data)
    });
    let mut c = Conn::open(&server);
    holds_exactly(&mut c, &acknowledged, "after a restart");
    if let Err(e) = keys_are(&mut c, keys, &format!("after a restart ({why})")) {
        failures.push(e);
    }
    next += 1;
    let id = add_one(&mut c, next).unwrap_or_else(|e| panic!("XADD after the restart: -{e}"));
    assert!(id > acknowledged.last().unwrap().0);
    drop(c);
    sigterm(&mut server);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
