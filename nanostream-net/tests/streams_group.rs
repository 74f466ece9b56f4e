//! Consumer groups against redis-server itself: the sequences of Redis's
//! `tests/unit/type/stream-cgroups.tcl` that matter for the group state (`XREADGROUP >` then
//! `XACK`, re-reading pending entries with `0`, `NOACK`, `XCLAIM` with `IDLE`/`TIME`/`FORCE`/
//! `JUSTID`/`RETRYCOUNT`/`LASTID`, `XAUTOCLAIM`'s cursor, deleted entries and scanning limit,
//! `XPENDING` short and extended with `IDLE`, `DELCONSUMER` counts, `SETID`, `CREATE` with `$`
//! and `ENTRIESREAD`, consumers' seen-times), each reply the one redis-server 7.0.15 gave;
//! then random operation sequences whose log, encoded, decoded and replayed, and whose
//! snapshot, give the same state; and random and mutated bytes through the decoder, which
//! must not panic nor allocate more bytes than it is given (counted per thread by a global
//! allocator).
//!
//! The tables are replayed by a small interpreter over [`Groups`] and a simulated stream (its
//! entries and [`StreamMeta`]), with a clock that only `SLEEP` moves. After every command the
//! log so far, and the snapshot, must replay into the same state.
//!
//! Captured from: Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64
//! build=ae4d7c971a948f0, started as
//! `redis-server --port 7493 --bind 127.0.0.1 --save '' --appendonly no`, by
//! `python3 capture.py 7493 scripts.txt`, where `scripts.txt` holds each table's name after
//! `==` and then its commands, one a line (`SLEEP ms` sleeps instead); the program flushes the
//! server before each table and prints it. Idle times are rounded to 100 ms (`~300`), so the
//! 300 ms sleeps survive the jitter of a live run.
//!
//! ```python
//! import socket, time, sys
//! sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
//! f = sock.makefile("rb")
//! def read():
//!     line = f.readline()
//!     t, rest = line[:1], line[1:-2]
//!     if t == b"*":
//!         return None if int(rest) < 0 else [read() for _ in range(int(rest))]
//!     if t == b"$":
//!         n = int(rest)
//!         return None if n < 0 else f.read(n + 2)[:-2].decode()
//!     if t == b":":
//!         return int(rest)
//!     if t == b"-":
//!         return ("ERR", rest.decode())
//!     return rest.decode()
//! def call(args):
//!     out = b"*%d\r\n" % len(args)
//!     for a in args:
//!         a = a.encode()
//!         out += b"$%d\r\n%s\r\n" % (len(a), a)
//!     sock.sendall(out)
//!     return read()
//! def rnd(n):  # idle times to the nearest 100 ms
//!     return "~%d" % (round(n / 100) * 100)
//! def render(r):
//!     if r is None: return "nil"
//!     if isinstance(r, tuple): return "(error) " + r[1]
//!     if isinstance(r, list): return "[" + " ".join(render(x) for x in r) + "]"
//!     return str(r)
//! def fix_idle(args, r):
//!     cmd = args[0].upper()
//!     if cmd == "XPENDING" and len(args) > 3 and isinstance(r, list):
//!         return [[x[0], x[1], rnd(x[2]), x[3]] for x in r]
//!     if cmd == "XINFO" and args[1].upper() == "CONSUMERS" and isinstance(r, list):
//!         return [sum([[k, rnd(v) if k == "idle" else v] for k, v in zip(c[0::2], c[1::2])], []) for c in r]
//!     return r
//! SCRIPTS = {}
//! for line in open(sys.argv[2]):
//!     line = line.rstrip("\n")
//!     if not line.strip() or line.startswith("#"): continue
//!     if line.startswith("=="):
//!         name = line[2:].strip(); SCRIPTS[name] = []; continue
//!     SCRIPTS[name].append(line)
//! for name, cmds in SCRIPTS.items():
//!     call(["FLUSHALL"])
//!     print("const %s: &[(&str, &str)] = &[" % name)
//!     for c in cmds:
//!         args = c.split()
//!         if args[0] == "SLEEP":
//!             time.sleep(int(args[1]) / 1000); r = "OK"
//!         else:
//!             r = fix_idle(args, call(args))
//!         print('    ("%s", "%s"),' % (c, render(r).replace('"', '\\"')))
//!     print("];\n")
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use nanostream_net::streams::group::{
    ApplyError, ClaimOptions, ClaimTime, DecodeError, GroupOp, Groups, StreamMeta,
};
use nanostream_net::streams::StreamId;
use proptest::prelude::*;

/// A reply, written as the capture program writes it.
enum V {
    Int(u64),
    Str(String),
    Nil,
    Arr(Vec<V>),
    Err(String),
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V::Int(n) => write!(f, "{n}"),
            V::Str(s) => write!(f, "{s}"),
            V::Nil => write!(f, "nil"),
            V::Err(e) => write!(f, "(error) {e}"),
            V::Arr(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
        }
    }
}

fn s(x: impl ToString) -> V {
    V::Str(x.to_string())
}

fn n(x: usize) -> V {
    V::Int(x as u64)
}

fn idle(ms: u64) -> V {
    V::Str(format!("~{}", (ms + 50) / 100 * 100))
}

/// An entry as `XRANGE` replies it (every entry of these tables holds `f v`).
fn entry(id: StreamId) -> V {
    V::Arr(vec![s(id), V::Arr(vec![s("f"), s("v")])])
}

fn counter(c: Option<u64>) -> V {
    c.map_or(V::Nil, V::Int)
}

/// A stream as the group operations see it: its IDs, its bookkeeping and its groups.
#[derive(Default)]
struct Stream {
    ids: BTreeSet<StreamId>,
    meta: StreamMeta,
    groups: Groups,
}

impl Stream {
    fn add(&mut self, id: StreamId) {
        self.ids.insert(id);
        self.meta.length += 1;
        self.meta.entries_added += 1;
        self.meta.last_id = id;
        self.meta.first_id = *self.ids.first().unwrap();
    }

    fn del(&mut self, id: StreamId) -> bool {
        if !self.ids.remove(&id) {
            return false;
        }
        self.meta.length -= 1;
        self.meta.max_deleted_entry_id = self.meta.max_deleted_entry_id.max(id);
        self.meta.first_id = self.ids.first().copied().unwrap_or(StreamId::MIN);
        true
    }
}

/// The interpreter: streams by key, the clock, and everything logged.
struct Sim {
    streams: BTreeMap<String, Stream>,
    now: u64,
    log: BTreeMap<String, Vec<GroupOp>>,
}

fn id(arg: &str) -> StreamId {
    StreamId::parse(arg.as_bytes(), 0).unwrap()
}

impl Sim {
    fn new() -> Self {
        Sim {
            streams: BTreeMap::new(),
            now: 1_700_000_000_000,
            log: BTreeMap::new(),
        }
    }

    fn run(&mut self, line: &str) -> V {
        let a: Vec<&str> = line.split(' ').collect();
        if a[0] == "SLEEP" {
            self.now += a[1].parse::<u64>().unwrap();
            return s("OK");
        }
        let key = match a.iter().position(|x| *x == "STREAMS") {
            Some(i) => a[i + 1].to_string(),
            None => a[1].to_string(),
        };
        if a[0] == "XGROUP" || a[0] == "XINFO" {
            let key = a[2].to_string();
            return self.admin(&a, key);
        }
        let now = self.now;
        let log = self.log.entry(key.clone()).or_default();
        let st = self.streams.entry(key.clone()).or_default();
        let ids = st.ids.clone();
        let exists = move |i: StreamId| ids.contains(&i);
        match a[0] {
            "XADD" => {
                st.add(id(a[2]));
                s(a[2])
            }
            "XDEL" => n(a[2..].iter().filter(|x| st.del(id(x))).count()),
            "XACK" => {
                let ids: Vec<StreamId> = a[3..].iter().map(|x| id(x)).collect();
                n(st.groups.get_mut(a[2].as_bytes()).unwrap().ack(&ids, log))
            }
            "XREADGROUP" => {
                // XREADGROUP GROUP g c [COUNT n] [NOACK] STREAMS k id
                let (g, c) = (a[2], a[3]);
                let mut count = None;
                let mut noack = false;
                let mut i = 4;
                while a[i] != "STREAMS" {
                    match a[i] {
                        "COUNT" => {
                            count = Some(a[i + 1].parse::<usize>().unwrap()).filter(|&c| c > 0);
                            i += 1;
                        }
                        "NOACK" => noack = true,
                        other => panic!("{other}"),
                    }
                    i += 1;
                }
                let start = a[i + 2];
                let meta = st.meta;
                let group = st.groups.get_mut(g.as_bytes()).unwrap();
                let reply = if start == ">" {
                    let after: Vec<StreamId> = match group.last_delivered_id().next() {
                        Some(from) => st.ids.range(from..).copied().collect(),
                        None => Vec::new(),
                    };
                    match group.read_new(c.as_bytes(), &after, count, noack, now, &meta, log) {
                        None => return V::Nil,
                        Some(ids) => ids.into_iter().map(entry).collect(),
                    }
                } else {
                    group
                        .read_pending(c.as_bytes(), id(start), count, now, exists, log)
                        .into_iter()
                        .map(|(i, present)| {
                            if present {
                                entry(i)
                            } else {
                                V::Arr(vec![s(i), V::Nil])
                            }
                        })
                        .collect()
                };
                V::Arr(vec![V::Arr(vec![s(&key), V::Arr(reply)])])
            }
            "XPENDING" => {
                let group = st.groups.get(a[2].as_bytes()).unwrap();
                if a.len() == 3 {
                    let sum = group.pending_summary();
                    return match sum.bounds {
                        None => V::Arr(vec![V::Int(0), V::Nil, V::Nil, V::Nil]),
                        Some((lo, hi)) => V::Arr(vec![
                            n(sum.count),
                            s(lo),
                            s(hi),
                            V::Arr(
                                sum.consumers
                                    .iter()
                                    .map(|(c, k)| V::Arr(vec![s(String::from_utf8_lossy(c)), n(*k)]))
                                    .collect(),
                            ),
                        ]),
                    };
                }
                let (min_idle, rest) = if a[3] == "IDLE" {
                    (a[4].parse().unwrap(), &a[5..])
                } else {
                    (0, &a[3..])
                };
                let (start, end) = StreamId::parse_range(rest[0].as_bytes(), rest[1].as_bytes()).unwrap();
                let count = rest[2].parse().unwrap();
                let consumer = rest.get(3).map(|c| c.as_bytes());
                V::Arr(
                    group
                        .pending_range(start, end, count, consumer, min_idle, now)
                        .iter()
                        .map(|p| {
                            V::Arr(vec![
                                s(p.id),
                                s(String::from_utf8_lossy(p.consumer)),
                                idle(p.idle_ms),
                                V::Int(p.delivery_count),
                            ])
                        })
                        .collect(),
                )
            }
            "XCLAIM" => {
                // XCLAIM k g c min-idle id... [options]
                let group = st.groups.get_mut(a[2].as_bytes()).unwrap();
                let min_idle = a[4].parse::<i64>().unwrap().max(0) as u64;
                let mut i = 5;
                let mut ids = Vec::new();
                while let Some(Ok(x)) = a.get(i).map(|x| StreamId::parse_strict(x.as_bytes(), 0)) {
                    ids.push(x);
                    i += 1;
                }
                let mut opts = ClaimOptions::default();
                while i < a.len() {
                    match a[i] {
                        "FORCE" => opts.force = true,
                        "JUSTID" => opts.justid = true,
                        "IDLE" => {
                            i += 1;
                            opts.delivery_time = Some(ClaimTime::Idle(a[i].parse().unwrap()))
                        }
                        "TIME" => {
                            i += 1;
                            opts.delivery_time = Some(ClaimTime::Time(a[i].parse().unwrap()))
                        }
                        "RETRYCOUNT" => {
                            i += 1;
                            opts.retry_count = Some(a[i].parse().unwrap())
                        }
                        "LASTID" => {
                            i += 1;
                            opts.last_id = Some(id(a[i]))
                        }
                        other => panic!("{other}"),
                    }
                    i += 1;
                }
                let claimed = group.claim(a[3].as_bytes(), min_idle, &ids, now, &opts, exists, log);
                V::Arr(
                    claimed
                        .into_iter()
                        .map(|i| if opts.justid { s(i) } else { entry(i) })
                        .collect(),
                )
            }
            "XAUTOCLAIM" => {
                // XAUTOCLAIM k g c min-idle start [COUNT n] [JUSTID]
                let group = st.groups.get_mut(a[2].as_bytes()).unwrap();
                let min_idle = a[4].parse::<i64>().unwrap().max(0) as u64;
                let start = StreamId::parse_range_start(a[5].as_bytes()).unwrap();
                let mut count = 100;
                let mut justid = false;
                let mut i = 6;
                while i < a.len() {
                    match a[i] {
                        "COUNT" => {
                            i += 1;
                            count = a[i].parse().unwrap()
                        }
                        "JUSTID" => justid = true,
                        other => panic!("{other}"),
                    }
                    i += 1;
                }
                let r = group.autoclaim(a[3].as_bytes(), min_idle, start, count, now, justid, exists, log);
                V::Arr(vec![
                    s(r.next_start),
                    V::Arr(
                        r.claimed
                            .into_iter()
                            .map(|i| if justid { s(i) } else { entry(i) })
                            .collect(),
                    ),
                    V::Arr(r.deleted.into_iter().map(s).collect()),
                ])
            }
            other => panic!("{other}"),
        }
    }

    fn admin(&mut self, a: &[&str], key: String) -> V {
        let now = self.now;
        let log = self.log.entry(key.clone()).or_default();
        let st = self.streams.entry(key).or_default();
        let meta = st.meta;
        // `$` is the stream's last ID; ENTRIESREAD is the last option when given.
        let entries_read = a
            .iter()
            .position(|x| *x == "ENTRIESREAD")
            .map(|i| a[i + 1].parse::<u64>().unwrap());
        let start = |arg: &str| if arg == "$" { meta.last_id } else { id(arg) };
        match (a[0], a[1]) {
            ("XGROUP", "CREATE") => match st.groups.create(a[3].as_bytes(), start(a[4]), entries_read, log) {
                Ok(()) => s("OK"),
                Err(e) => V::Err(e.to_string()),
            },
            ("XGROUP", "SETID") => {
                st.groups
                    .get_mut(a[3].as_bytes())
                    .unwrap()
                    .set_id(start(a[4]), entries_read, log);
                s("OK")
            }
            ("XGROUP", "DESTROY") => n(usize::from(st.groups.destroy(a[3].as_bytes(), log))),
            ("XGROUP", "CREATECONSUMER") => {
                let g = st.groups.get_mut(a[3].as_bytes()).unwrap();
                n(usize::from(g.create_consumer(a[4].as_bytes(), now, log)))
            }
            ("XGROUP", "DELCONSUMER") => {
                let g = st.groups.get_mut(a[3].as_bytes()).unwrap();
                n(g.del_consumer(a[4].as_bytes(), log))
            }
            ("XINFO", "GROUPS") => V::Arr(
                st.groups
                    .iter()
                    .map(|g| {
                        V::Arr(vec![
                            s("name"),
                            s(String::from_utf8_lossy(g.name())),
                            s("consumers"),
                            n(g.consumers().count()),
                            s("pending"),
                            n(g.pel().len()),
                            s("last-delivered-id"),
                            s(g.last_delivered_id()),
                            s("entries-read"),
                            counter(g.entries_read()),
                            s("lag"),
                            counter(g.lag(&meta)),
                        ])
                    })
                    .collect(),
            ),
            ("XINFO", "CONSUMERS") => V::Arr(
                st.groups
                    .get(a[3].as_bytes())
                    .unwrap()
                    .consumers()
                    .map(|c| {
                        V::Arr(vec![
                            s("name"),
                            s(String::from_utf8_lossy(c.name())),
                            s("pending"),
                            n(c.pending_count()),
                            s("idle"),
                            idle(now.saturating_sub(c.seen_time_ms())),
                        ])
                    })
                    .collect(),
            ),
            other => panic!("{other:?}"),
        }
    }

    /// Every stream's log, live, through the encoding, and its snapshot, replay into its state.
    fn check_durable(&self, context: &str) {
        for (key, st) in &self.streams {
            let log = self.log.get(key).map_or(&[][..], |l| &l[..]);
            assert_replays(log, &st.groups, context);
        }
    }
}

/// `log` replayed, `log` encoded then decoded and replayed, and the state's snapshot (also
/// through the encoding) each give `state`.
fn assert_replays(log: &[GroupOp], state: &Groups, context: &str) {
    let mut replayed = Groups::new();
    replayed.apply_all(log).unwrap();
    assert_eq!(&replayed, state, "{context}: replaying the log");

    let mut bytes = Vec::new();
    for op in log {
        op.encode(&mut bytes);
    }
    let decoded = GroupOp::decode_all(&bytes).unwrap();
    assert_eq!(decoded, log, "{context}: decoding the log");

    let snapshot = state.snapshot();
    let mut bytes = Vec::new();
    for op in &snapshot {
        op.encode(&mut bytes);
    }
    let mut restored = Groups::new();
    restored.apply_all(&GroupOp::decode_all(&bytes).unwrap()).unwrap();
    assert_eq!(&restored, state, "{context}: replaying the snapshot");
    // A snapshot of the restored state is the same list of ops.
    assert_eq!(restored.snapshot(), snapshot, "{context}: snapshot is stable");
}

fn replay_table(name: &str, table: &[(&str, &str)]) {
    let mut sim = Sim::new();
    for (step, (command, want)) in table.iter().enumerate() {
        let got = sim.run(command).to_string();
        assert_eq!(got, *want, "{name} step {step}: {command}");
        sim.check_durable(&format!("{name} step {step}: {command}"));
    }
}

#[test]
fn create_setid_destroy_and_the_read_counter() {
    replay_table("CREATE_AND_ENTRIES_READ", CREATE_AND_ENTRIES_READ);
}

#[test]
fn read_ack_pending_noack_delconsumer() {
    replay_table("READ_ACK_PENDING", READ_ACK_PENDING);
}

#[test]
fn xclaim_idle_time_force_justid_retrycount_lastid() {
    replay_table("CLAIM", CLAIM);
}

#[test]
fn xautoclaim_cursor_and_deleted_entries() {
    replay_table("AUTOCLAIM", AUTOCLAIM);
}

#[test]
fn xautoclaim_examines_at_most_count_times_ten() {
    replay_table("AUTOCLAIM_SCAN_LIMIT", AUTOCLAIM_SCAN_LIMIT);
}

#[test]
fn consumers_seen_time() {
    replay_table("SEEN_TIME", SEEN_TIME);
}

#[test]
fn setid_back_reassigns_pending_entries_and_entriesread_is_trusted() {
    replay_table("REASSIGN", REASSIGN);
}

#[test]
fn read_new_with_nothing_to_deliver() {
    replay_table("READ_NEW_EDGES", READ_NEW_EDGES);
}

#[test]
fn estimate_and_tombstones() {
    let meta = StreamMeta {
        length: 3,
        first_id: StreamId::new(2, 0),
        last_id: StreamId::new(9, 0),
        max_deleted_entry_id: StreamId::new(1, 0),
        entries_added: 5,
    };
    // No tombstone at or after the first entry: the first entry's counter is known.
    assert_eq!(meta.estimate_entries_read(StreamId::new(1, 5)), Some(2));
    assert_eq!(meta.estimate_entries_read(StreamId::new(2, 0)), Some(3));
    assert_eq!(meta.estimate_entries_read(StreamId::new(5, 0)), None);
    assert_eq!(meta.estimate_entries_read(StreamId::new(9, 0)), Some(5));
    assert_eq!(meta.estimate_entries_read(StreamId::new(10, 0)), None);
    assert!(!meta.has_tombstones_from(StreamId::MIN));
    let fragmented = StreamMeta {
        max_deleted_entry_id: StreamId::new(4, 0),
        ..meta
    };
    assert!(fragmented.has_tombstones_from(StreamId::new(4, 0)));
    assert!(!fragmented.has_tombstones_from(StreamId::new(4, 1)));
    assert_eq!(fragmented.estimate_entries_read(StreamId::new(2, 0)), None);
    assert_eq!(
        StreamMeta::default().estimate_entries_read(StreamId::MAX),
        Some(0)
    );
}

#[test]
fn apply_refuses_ops_that_do_not_fit() {
    let mut groups = Groups::new();
    let mut log = Vec::new();
    groups.create(b"g", StreamId::MIN, None, &mut log).unwrap();
    assert_eq!(
        groups.create(b"g", StreamId::MIN, None, &mut log),
        Err(ApplyError::GroupExists)
    );
    assert_eq!(log.len(), 1);
    let before = groups.clone();
    let claim = GroupOp::Claim {
        group: b"g".to_vec(),
        consumer: b"nobody".to_vec(),
        delivery_time_ms: 0,
        entries: vec![(StreamId::new(1, 0), 1)],
    };
    assert_eq!(groups.apply(&claim), Err(ApplyError::NoSuchConsumer));
    assert_eq!(
        groups.apply(&GroupOp::Destroy { group: b"h".to_vec() }),
        Err(ApplyError::NoSuchGroup)
    );
    assert_eq!(
        groups.apply(&GroupOp::Ack {
            group: b"h".to_vec(),
            ids: vec![]
        }),
        Err(ApplyError::NoSuchGroup)
    );
    assert_eq!(groups, before);
}

#[test]
fn decode_errors() {
    let op = GroupOp::Deliver {
        group: b"g".to_vec(),
        consumer: b"c".to_vec(),
        time_ms: 7,
        noack: false,
        ids: vec![StreamId::new(1, 2), StreamId::new(3, 4)],
        last_id: StreamId::new(3, 4),
        entries_read: Some(2),
    };
    let mut buf = Vec::new();
    op.encode(&mut buf);
    assert_eq!(GroupOp::decode(&buf), Ok((op.clone(), buf.len())));
    // Every strict prefix is truncated.
    for cut in 0..buf.len() {
        assert_eq!(
            GroupOp::decode(&buf[..cut]),
            Err(DecodeError::Truncated),
            "cut {cut}"
        );
    }
    let mut bad = buf.clone();
    bad[4] = 2;
    assert_eq!(GroupOp::decode(&bad), Err(DecodeError::Version(2)));
    let mut bad = buf.clone();
    bad[5] = 99;
    assert_eq!(GroupOp::decode(&bad), Err(DecodeError::Tag(99)));
    // The NOACK flag: group (4 + 1), consumer (4 + 1), time (8) after version and tag.
    let mut bad = buf.clone();
    bad[4 + 2 + 5 + 5 + 8] = 2;
    assert_eq!(GroupOp::decode(&bad), Err(DecodeError::Malformed));
    // A frame with a byte left over.
    let mut bad = buf.clone();
    bad.push(0);
    let len = u32::from_le_bytes(bad[..4].try_into().unwrap()) + 1;
    bad[..4].copy_from_slice(&len.to_le_bytes());
    assert_eq!(GroupOp::decode(&bad), Err(DecodeError::Malformed));
    // A list claiming 2^32 - 1 IDs in a short frame is refused before anything is reserved.
    let mut huge = vec![0, 0, 0, 0, 1, 9, 1, 0, 0, 0, b'g', 0xff, 0xff, 0xff, 0xff];
    let len = (huge.len() - 4) as u32;
    huge[..4].copy_from_slice(&len.to_le_bytes());
    assert_eq!(GroupOp::decode(&huge), Err(DecodeError::Malformed));
    // A frame length beyond the input.
    assert_eq!(
        GroupOp::decode(&[0xff, 0xff, 0xff, 0xff, 1, 2]),
        Err(DecodeError::Truncated)
    );
}

// ---------------------------------------------------------------------------------------------
// What decoding allocates, counted per thread (the other test threads do not count).

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn count(size: usize) {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = BYTES.try_with(|b| b.set(b.get() + size));
        }
    });
}

// SAFETY: every call is passed unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counters are const-initialised thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: the caller upholds `realloc`'s contract, which we forward.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bytes this thread requested from the allocator while `f` ran.
fn bytes_allocated<R>(f: impl FnOnce() -> R) -> (R, usize) {
    BYTES.with(|b| b.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, BYTES.with(Cell::get))
}

/// Decodes one frame, checking that it allocated no more bytes than the input holds.
fn decode_within_input(input: &[u8]) -> Result<(GroupOp, usize), DecodeError> {
    let (r, allocated) = bytes_allocated(|| GroupOp::decode(input));
    assert!(
        allocated <= input.len(),
        "{allocated} bytes allocated for {} bytes of input",
        input.len()
    );
    r
}

#[test]
fn claimed_lengths_allocate_nothing_for_the_claim() {
    // Each list or name claims up to 2^32 - 1 items in a frame of a few bytes: what is
    // allocated is at most the names decoded before it (here one byte), never the claim.
    let frames: &[&[u8]] = &[
        &[0, 0, 0, 0, 1, 9, 1, 0, 0, 0, b'g', 0xff, 0xff, 0xff, 0xff],
        &[0, 0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0],
        &[
            0, 0, 0, 0, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ],
        &[
            0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f,
        ],
    ];
    for frame in frames {
        let mut frame = frame.to_vec();
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        let (r, allocated) = bytes_allocated(|| GroupOp::decode(&frame));
        assert_eq!(r, Err(DecodeError::Malformed), "{frame:?}");
        assert!(allocated <= 1, "{allocated} bytes for {frame:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Random operation sequences.

#[derive(Debug, Clone)]
enum Action {
    Add,
    Del(usize),
    Sleep(u64),
    Create(usize, Option<usize>, Option<u64>),
    Destroy(usize),
    SetId(usize, Option<usize>, Option<u64>),
    CreateConsumer(usize, usize),
    DelConsumer(usize, usize),
    ReadNew(usize, usize, Option<usize>, bool),
    ReadPending(usize, usize, usize, Option<usize>),
    Ack(usize, Vec<usize>),
    Claim(
        usize,
        usize,
        u64,
        Vec<usize>,
        u8,
        Option<u64>,
        Option<i64>,
        Option<usize>,
    ),
    AutoClaim(usize, usize, u64, usize, usize, bool),
}

fn action() -> impl Strategy<Value = Action> {
    let g = 0..3usize;
    let c = 0..4usize;
    let i = 0..40usize;
    prop_oneof![
        3 => Just(Action::Add),
        1 => i.clone().prop_map(Action::Del),
        2 => prop_oneof![Just(0u64), Just(100), 0..2000u64].prop_map(Action::Sleep),
        2 => (g.clone(), proptest::option::of(i.clone()), proptest::option::of(0..20u64))
            .prop_map(|(g, at, er)| Action::Create(g, at, er)),
        1 => g.clone().prop_map(Action::Destroy),
        1 => (g.clone(), proptest::option::of(i.clone()), proptest::option::of(0..20u64))
            .prop_map(|(g, at, er)| Action::SetId(g, at, er)),
        1 => (g.clone(), c.clone()).prop_map(|(g, c)| Action::CreateConsumer(g, c)),
        1 => (g.clone(), c.clone()).prop_map(|(g, c)| Action::DelConsumer(g, c)),
        4 => (g.clone(), c.clone(), proptest::option::of(1..5usize), any::<bool>())
            .prop_map(|(g, c, n, noack)| Action::ReadNew(g, c, n, noack)),
        2 => (g.clone(), c.clone(), i.clone(), proptest::option::of(1..5usize))
            .prop_map(|(g, c, at, n)| Action::ReadPending(g, c, at, n)),
        2 => (g.clone(), proptest::collection::vec(i.clone(), 0..5)).prop_map(|(g, ids)| Action::Ack(g, ids)),
        3 => (
            g.clone(),
            c.clone(),
            prop_oneof![Just(0u64), 0..3000u64],
            proptest::collection::vec(i.clone(), 0..5),
            any::<u8>(),
            proptest::option::of(0..10u64),
            proptest::option::of(-100..5000i64),
            proptest::option::of(i.clone()),
        )
            .prop_map(|(g, c, m, ids, flags, rc, t, l)| Action::Claim(g, c, m, ids, flags, rc, t, l)),
        3 => (g, c, prop_oneof![Just(0u64), 0..3000u64], i, 1..6usize, any::<bool>())
            .prop_map(|(g, c, m, at, n, j)| Action::AutoClaim(g, c, m, at, n, j)),
    ]
}

/// The ID `i` names: `(i + 1)-0`, an entry the stream may or may not hold.
fn nth(i: usize) -> StreamId {
    StreamId::new(i as u64 + 1, 0)
}

fn run_actions(actions: &[Action]) -> (Groups, Vec<GroupOp>) {
    const GROUPS: [&[u8]; 3] = [b"g0", b"g1", b"grp\x00\xff"];
    const CONSUMERS: [&[u8]; 4] = [b"alice", b"bob", b"", b"c\r\n"];
    let mut st = Stream::default();
    let mut log = Vec::new();
    let mut now = 1_000_000u64;
    let mut next = 0usize;
    for a in actions {
        let ids = st.ids.clone();
        let exists = move |i: StreamId| ids.contains(&i);
        let meta = st.meta;
        match a {
            Action::Add => {
                st.add(nth(next));
                next += 1;
            }
            Action::Del(i) => {
                st.del(nth(*i));
            }
            Action::Sleep(ms) => now += ms,
            Action::Create(g, at, er) => {
                let start = at.map_or(meta.last_id, nth);
                let _ = st.groups.create(GROUPS[*g], start, *er, &mut log);
            }
            Action::Destroy(g) => {
                st.groups.destroy(GROUPS[*g], &mut log);
            }
            _ => {}
        }
        let (g, rest) = match a {
            Action::SetId(g, ..)
            | Action::CreateConsumer(g, _)
            | Action::DelConsumer(g, _)
            | Action::ReadNew(g, ..)
            | Action::ReadPending(g, ..)
            | Action::Ack(g, _)
            | Action::Claim(g, ..)
            | Action::AutoClaim(g, ..) => (*g, a),
            _ => continue,
        };
        let Some(group) = st.groups.get_mut(GROUPS[g]) else {
            continue;
        };
        let pel_before = group.pel().len();
        match rest {
            Action::SetId(_, at, er) => group.set_id(at.map_or(meta.last_id, nth), *er, &mut log),
            Action::CreateConsumer(_, c) => {
                group.create_consumer(CONSUMERS[*c], now, &mut log);
            }
            Action::DelConsumer(_, c) => {
                let had = group.consumer(CONSUMERS[*c]).map_or(0, |c| c.pending_count());
                assert_eq!(group.del_consumer(CONSUMERS[*c], &mut log), had);
                assert_eq!(group.pel().len(), pel_before - had);
            }
            Action::ReadNew(_, c, count, noack) => {
                let after: Vec<StreamId> = match group.last_delivered_id().next() {
                    Some(from) => st.ids.range(from..).copied().collect(),
                    None => Vec::new(),
                };
                let before = group.pel().clone();
                let got = group.read_new(CONSUMERS[*c], &after, *count, *noack, now, &meta, &mut log);
                match got {
                    None => assert!(after.is_empty()),
                    Some(ids) => {
                        assert_eq!(ids.len(), count.map_or(after.len(), |n| n.min(after.len())));
                        assert_eq!(group.last_delivered_id(), *ids.last().unwrap());
                        for id in &ids {
                            let p = group.pel().get(id);
                            if *noack {
                                assert_eq!(p, before.get(id));
                            } else {
                                let p = p.unwrap();
                                assert_eq!(
                                    (&*p.consumer, p.delivery_time_ms, p.delivery_count),
                                    (CONSUMERS[*c], now, 1)
                                );
                            }
                        }
                    }
                }
            }
            Action::ReadPending(_, c, at, count) => {
                let before = group.clone();
                let got = group.read_pending(CONSUMERS[*c], nth(*at), *count, now, exists, &mut log);
                for (id, present) in got {
                    let was = before.pel()[&id].delivery_count;
                    let is = group.pel()[&id].delivery_count;
                    assert_eq!(is, if present { was + 1 } else { was });
                }
            }
            Action::Ack(_, ids) => {
                let ids: Vec<StreamId> = ids.iter().map(|i| nth(*i)).collect();
                let distinct_pending = ids
                    .iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .filter(|i| group.pel().contains_key(i))
                    .count();
                assert_eq!(group.ack(&ids, &mut log), distinct_pending);
            }
            Action::Claim(_, c, min_idle, ids, flags, retry, time, last) => {
                let ids: Vec<StreamId> = ids.iter().map(|i| nth(*i)).collect();
                let opts = ClaimOptions {
                    force: flags & 1 != 0,
                    justid: flags & 2 != 0,
                    delivery_time: time.map(|t| {
                        if flags & 4 != 0 {
                            ClaimTime::Idle(t)
                        } else {
                            ClaimTime::Time(t)
                        }
                    }),
                    retry_count: *retry,
                    last_id: last.map(nth),
                };
                let claimed = group.claim(CONSUMERS[*c], *min_idle, &ids, now, &opts, exists, &mut log);
                for id in &claimed {
                    assert_eq!(&*group.pel()[id].consumer, CONSUMERS[*c]);
                    assert!(st.ids.contains(id));
                }
            }
            Action::AutoClaim(_, c, min_idle, at, count, justid) => {
                let r = group.autoclaim(
                    CONSUMERS[*c],
                    *min_idle,
                    nth(*at),
                    *count,
                    now,
                    *justid,
                    exists,
                    &mut log,
                );
                assert!(r.claimed.len() + r.deleted.len() <= *count);
                for id in &r.deleted {
                    assert!(!group.pel().contains_key(id) && !st.ids.contains(id));
                }
                for id in &r.claimed {
                    let p = &group.pel()[id];
                    assert_eq!((&*p.consumer, p.delivery_time_ms), (CONSUMERS[*c], now));
                }
                assert!(r.next_start == StreamId::MIN || r.next_start >= nth(*at));
            }
            _ => unreachable!(),
        }
        check_invariants(&st.groups);
    }
    (st.groups, log)
}

/// Every PEL entry belongs to an existing consumer that lists it, and every consumer's list is
/// in the PEL under its name.
fn check_invariants(groups: &Groups) {
    for g in groups.iter() {
        for (id, p) in g.pel() {
            let owner = g.consumer(&p.consumer).expect("the owner exists");
            assert!(owner.pending().any(|i| i == *id));
        }
        let owned: usize = g.consumers().map(|c| c.pending_count()).sum();
        assert_eq!(owned, g.pel().len());
        for c in g.consumers() {
            for id in c.pending() {
                assert_eq!(&*g.pel()[&id].consumer, c.name());
            }
        }
    }
}

/// 512 cases per property, or `NSNET_PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    let default = if cfg!(miri) { 8 } else { 512 };
    std::env::var("NSNET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_log_and_the_snapshot_replay_into_the_live_state(actions in proptest::collection::vec(action(), 1..120)) {
        let (groups, log) = run_actions(&actions);
        assert_replays(&log, &groups, "random");
        // Each op alone round-trips through its own frame.
        for op in &log {
            let mut one = Vec::new();
            op.encode(&mut one);
            prop_assert_eq!(decode_within_input(&one), Ok((op.clone(), one.len())));
        }
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok((_, used)) = decode_within_input(&bytes) {
            prop_assert!(used <= bytes.len());
        }
        let _ = GroupOp::decode_all(&bytes);
    }

    #[test]
    fn mutated_frames_never_panic_the_decoder(
        actions in proptest::collection::vec(action(), 1..40),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let (_, log) = run_actions(&actions);
        let mut bytes = Vec::new();
        for op in &log {
            op.encode(&mut bytes);
        }
        if !bytes.is_empty() {
            for (at, x) in flips {
                let at = at % bytes.len();
                bytes[at] ^= x;
            }
        }
        // Decoding stops at the first bad frame; whatever decodes re-encodes to its bytes.
        let mut rest = &bytes[..];
        while let Ok((op, used)) = decode_within_input(rest) {
            let mut again = Vec::new();
            op.encode(&mut again);
            prop_assert_eq!(&again[..], &rest[..used]);
            rest = &rest[used..];
            if rest.is_empty() {
                break;
            }
        }
        let mut groups = Groups::new();
        if let Ok(ops) = GroupOp::decode_all(&bytes) {
            let _ = groups.apply_all(&ops);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The replies of redis-server 7.0.15 (captured as the header says).

const CREATE_AND_ENTRIES_READ: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XADD s 3-0 f v", "3-0"),
    ("XADD s 4-0 f v", "4-0"),
    ("XADD s 5-0 f v", "5-0"),
    ("XGROUP CREATE s g1 $", "OK"),
    ("XGROUP CREATE s g2 0", "OK"),
    ("XGROUP CREATE s g3 0 ENTRIESREAD 3", "OK"),
    ("XGROUP CREATE s g4 3-0", "OK"),
    ("XGROUP CREATE s g1 0", "(error) BUSYGROUP Consumer Group name already exists"),
    ("XINFO GROUPS s", "[[name g1 consumers 0 pending 0 last-delivered-id 5-0 entries-read nil lag 0] [name g2 consumers 0 pending 0 last-delivered-id 0-0 entries-read nil lag 5] [name g3 consumers 0 pending 0 last-delivered-id 0-0 entries-read 3 lag 2] [name g4 consumers 0 pending 0 last-delivered-id 3-0 entries-read nil lag nil]]"),
    ("XADD s 6-0 f v", "6-0"),
    ("XREADGROUP GROUP g1 a STREAMS s >", "[[s [[6-0 [f v]]]]]"),
    ("XREADGROUP GROUP g2 a COUNT 2 STREAMS s >", "[[s [[1-0 [f v]] [2-0 [f v]]]]]"),
    ("XREADGROUP GROUP g3 a COUNT 1 STREAMS s >", "[[s [[1-0 [f v]]]]]"),
    ("XREADGROUP GROUP g4 a STREAMS s >", "[[s [[4-0 [f v]] [5-0 [f v]] [6-0 [f v]]]]]"),
    ("XINFO GROUPS s", "[[name g1 consumers 1 pending 1 last-delivered-id 6-0 entries-read 6 lag 0] [name g2 consumers 1 pending 2 last-delivered-id 2-0 entries-read 2 lag 4] [name g3 consumers 1 pending 1 last-delivered-id 1-0 entries-read 4 lag 2] [name g4 consumers 1 pending 3 last-delivered-id 6-0 entries-read 6 lag 0]]"),
    ("XDEL s 2-0", "1"),
    ("XGROUP CREATE s g5 0", "OK"),
    ("XREADGROUP GROUP g5 a COUNT 1 STREAMS s >", "[[s [[1-0 [f v]]]]]"),
    ("XINFO GROUPS s", "[[name g1 consumers 1 pending 1 last-delivered-id 6-0 entries-read 6 lag 0] [name g2 consumers 1 pending 2 last-delivered-id 2-0 entries-read 2 lag nil] [name g3 consumers 1 pending 1 last-delivered-id 1-0 entries-read 4 lag nil] [name g4 consumers 1 pending 3 last-delivered-id 6-0 entries-read 6 lag 0] [name g5 consumers 1 pending 1 last-delivered-id 1-0 entries-read nil lag nil]]"),
    ("XREADGROUP GROUP g5 a COUNT 1 STREAMS s >", "[[s [[3-0 [f v]]]]]"),
    ("XINFO GROUPS s", "[[name g1 consumers 1 pending 1 last-delivered-id 6-0 entries-read 6 lag 0] [name g2 consumers 1 pending 2 last-delivered-id 2-0 entries-read 2 lag nil] [name g3 consumers 1 pending 1 last-delivered-id 1-0 entries-read 4 lag nil] [name g4 consumers 1 pending 3 last-delivered-id 6-0 entries-read 6 lag 0] [name g5 consumers 1 pending 2 last-delivered-id 3-0 entries-read nil lag nil]]"),
    ("XREADGROUP GROUP g5 a STREAMS s >", "[[s [[4-0 [f v]] [5-0 [f v]] [6-0 [f v]]]]]"),
    ("XINFO GROUPS s", "[[name g1 consumers 1 pending 1 last-delivered-id 6-0 entries-read 6 lag 0] [name g2 consumers 1 pending 2 last-delivered-id 2-0 entries-read 2 lag nil] [name g3 consumers 1 pending 1 last-delivered-id 1-0 entries-read 4 lag nil] [name g4 consumers 1 pending 3 last-delivered-id 6-0 entries-read 6 lag 0] [name g5 consumers 1 pending 5 last-delivered-id 6-0 entries-read 6 lag 0]]"),
    ("XGROUP SETID s g2 0", "OK"),
    ("XGROUP SETID s g3 $", "OK"),
    ("XGROUP SETID s g4 1-0 ENTRIESREAD 1", "OK"),
    ("XGROUP SETID s g5 -", "OK"),
    ("XINFO GROUPS s", "[[name g1 consumers 1 pending 1 last-delivered-id 6-0 entries-read 6 lag 0] [name g2 consumers 1 pending 2 last-delivered-id 0-0 entries-read nil lag nil] [name g3 consumers 1 pending 1 last-delivered-id 6-0 entries-read nil lag 0] [name g4 consumers 1 pending 3 last-delivered-id 1-0 entries-read 1 lag nil] [name g5 consumers 1 pending 5 last-delivered-id 0-0 entries-read nil lag nil]]"),
    ("XGROUP DESTROY s g5", "1"),
    ("XGROUP DESTROY s g5", "0"),
    ("XGROUP CREATE m g $ MKSTREAM", "OK"),
    ("XINFO GROUPS m", "[[name g consumers 0 pending 0 last-delivered-id 0-0 entries-read nil lag 0]]"),
    ("XADD m 1-0 f v", "1-0"),
    ("XREADGROUP GROUP g a STREAMS m >", "[[m [[1-0 [f v]]]]]"),
    ("XINFO GROUPS m", "[[name g consumers 1 pending 1 last-delivered-id 1-0 entries-read 1 lag 0]]"),
];

const READ_ACK_PENDING: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XADD s 3-0 f v", "3-0"),
    ("XADD s 4-0 f v", "4-0"),
    ("XADD s 5-0 f v", "5-0"),
    ("XGROUP CREATE s g 0", "OK"),
    ("XPENDING s g", "[0 nil nil nil]"),
    ("XREADGROUP GROUP g alice COUNT 2 STREAMS s >", "[[s [[1-0 [f v]] [2-0 [f v]]]]]"),
    ("XPENDING s g", "[2 1-0 2-0 [[alice 2]]]"),
    ("XREADGROUP GROUP g bob STREAMS s >", "[[s [[3-0 [f v]] [4-0 [f v]] [5-0 [f v]]]]]"),
    ("XPENDING s g", "[5 1-0 5-0 [[alice 2] [bob 3]]]"),
    ("XACK s g 1-0 1-0 9-0", "1"),
    ("XACK s g 1-0", "0"),
    ("XPENDING s g", "[4 2-0 5-0 [[alice 1] [bob 3]]]"),
    ("SLEEP 300", "OK"),
    ("XREADGROUP GROUP g alice STREAMS s 0", "[[s [[2-0 [f v]]]]]"),
    ("XPENDING s g - + 10", "[[2-0 alice ~0 2] [3-0 bob ~300 1] [4-0 bob ~300 1] [5-0 bob ~300 1]]"),
    ("XPENDING s g IDLE 200 - + 10", "[[3-0 bob ~300 1] [4-0 bob ~300 1] [5-0 bob ~300 1]]"),
    ("XPENDING s g - + 10 bob", "[[3-0 bob ~300 1] [4-0 bob ~300 1] [5-0 bob ~300 1]]"),
    ("XPENDING s g - + 2", "[[2-0 alice ~0 2] [3-0 bob ~300 1]]"),
    ("XPENDING s g 3-0 4-0 10", "[[3-0 bob ~300 1] [4-0 bob ~300 1]]"),
    ("XPENDING s g (3-0 + 10", "[[4-0 bob ~300 1] [5-0 bob ~300 1]]"),
    ("XPENDING s g - + 10 nobody", "[]"),
    ("XPENDING s g - + 0", "[]"),
    ("XPENDING s g IDLE 200 - + 1", "[[3-0 bob ~300 1]]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 1 idle ~0] [name bob pending 3 idle ~300]]"),
    ("XDEL s 2-0", "1"),
    ("XREADGROUP GROUP g alice STREAMS s 0", "[[s [[2-0 nil]]]]"),
    ("XPENDING s g - + 10 alice", "[[2-0 alice ~0 2]]"),
    ("XREADGROUP GROUP g alice COUNT 1 STREAMS s 3-0", "[[s []]]"),
    ("XREADGROUP GROUP g bob COUNT 1 STREAMS s 4", "[[s [[5-0 [f v]]]]]"),
    ("XREADGROUP GROUP g bob COUNT 0 STREAMS s 0", "[[s [[3-0 [f v]] [4-0 [f v]] [5-0 [f v]]]]]"),
    ("XADD s 6-0 f v", "6-0"),
    ("XREADGROUP GROUP g carol NOACK STREAMS s >", "[[s [[6-0 [f v]]]]]"),
    ("XPENDING s g", "[4 2-0 5-0 [[alice 1] [bob 3]]]"),
    ("XREADGROUP GROUP g dan STREAMS s >", "nil"),
    ("XREADGROUP GROUP g erin STREAMS s 0", "[[s []]]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 1 idle ~0] [name bob pending 3 idle ~0] [name carol pending 0 idle ~0] [name erin pending 0 idle ~0]]"),
    ("XGROUP CREATECONSUMER s g frank", "1"),
    ("XGROUP CREATECONSUMER s g frank", "0"),
    ("XGROUP CREATECONSUMER s g alice", "0"),
    ("XGROUP DELCONSUMER s g bob", "3"),
    ("XGROUP DELCONSUMER s g bob", "0"),
    ("XGROUP DELCONSUMER s g frank", "0"),
    ("XPENDING s g", "[1 2-0 2-0 [[alice 1]]]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 1 idle ~0] [name carol pending 0 idle ~0] [name erin pending 0 idle ~0]]"),
    ("XGROUP SETID s g 0", "OK"),
    ("XREADGROUP GROUP g carol STREAMS s >", "[[s [[1-0 [f v]] [3-0 [f v]] [4-0 [f v]] [5-0 [f v]] [6-0 [f v]]]]]"),
    ("XPENDING s g - + 10", "[[1-0 carol ~0 1] [2-0 alice ~0 2] [3-0 carol ~0 1] [4-0 carol ~0 1] [5-0 carol ~0 1] [6-0 carol ~0 1]]"),
    ("XACK s g 1-0 2-0 3-0 4-0 5-0 6-0", "6"),
    ("XPENDING s g", "[0 nil nil nil]"),
];

const CLAIM: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XADD s 3-0 f v", "3-0"),
    ("XADD s 4-0 f v", "4-0"),
    ("XADD s 5-0 f v", "5-0"),
    ("XGROUP CREATE s g 0", "OK"),
    ("XREADGROUP GROUP g alice STREAMS s >", "[[s [[1-0 [f v]] [2-0 [f v]] [3-0 [f v]] [4-0 [f v]] [5-0 [f v]]]]]"),
    ("SLEEP 300", "OK"),
    ("XCLAIM s g bob 200 1-0 JUSTID", "[1-0]"),
    ("XPENDING s g - + 10", "[[1-0 bob ~0 1] [2-0 alice ~300 1] [3-0 alice ~300 1] [4-0 alice ~300 1] [5-0 alice ~300 1]]"),
    ("XCLAIM s g bob 200 1-0", "[]"),
    ("XCLAIM s g bob 0 1-0", "[[1-0 [f v]]]"),
    ("XCLAIM s g bob 0 2-0 RETRYCOUNT 7 IDLE 5000", "[[2-0 [f v]]]"),
    ("XCLAIM s g bob 0 3-0 TIME -5", "[[3-0 [f v]]]"),
    ("XCLAIM s g bob 0 4-0 IDLE -5 JUSTID RETRYCOUNT 5", "[4-0]"),
    ("XCLAIM s g bob 0 5-0 TIME 99999999999999", "[[5-0 [f v]]]"),
    ("XPENDING s g - + 10", "[[1-0 bob ~0 2] [2-0 bob ~5000 7] [3-0 bob ~0 2] [4-0 bob ~0 5] [5-0 bob ~0 2]]"),
    ("XCLAIM s g carol 0 9-0 FORCE", "[]"),
    ("XADD s 6-0 f v", "6-0"),
    ("XADD s 7-0 f v", "7-0"),
    ("XCLAIM s g carol 0 6-0", "[]"),
    ("XCLAIM s g carol 0 6-0 FORCE", "[[6-0 [f v]]]"),
    ("XCLAIM s g carol 0 7-0 FORCE JUSTID", "[7-0]"),
    ("XPENDING s g - + 10", "[[1-0 bob ~0 2] [2-0 bob ~5000 7] [3-0 bob ~0 2] [4-0 bob ~0 5] [5-0 bob ~0 2] [6-0 carol ~0 2] [7-0 carol ~0 1]]"),
    ("XDEL s 5-0", "1"),
    ("XCLAIM s g carol 100000 5-0", "[]"),
    ("XPENDING s g", "[6 1-0 7-0 [[bob 4] [carol 2]]]"),
    ("XCLAIM s g carol 0 3-0 LASTID 10-0", "[[3-0 [f v]]]"),
    ("XINFO GROUPS s", "[[name g consumers 3 pending 6 last-delivered-id 10-0 entries-read 5 lag 2]]"),
    ("XCLAIM s g carol 0 3-0 LASTID 2-0", "[[3-0 [f v]]]"),
    ("XINFO GROUPS s", "[[name g consumers 3 pending 6 last-delivered-id 10-0 entries-read 5 lag 2]]"),
    ("SLEEP 300", "OK"),
    ("XCLAIM s g zed 100000 1-0", "[]"),
    ("XCLAIM s g alice 100000 1-0", "[]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 0 idle ~600] [name bob pending 3 idle ~300] [name carol pending 3 idle ~300]]"),
    ("XCLAIM s g alice 0 1-0 2-0 1-0", "[[1-0 [f v]] [2-0 [f v]] [1-0 [f v]]]"),
    ("XPENDING s g - + 10", "[[1-0 alice ~0 4] [2-0 alice ~0 8] [3-0 carol ~300 4] [4-0 bob ~300 5] [6-0 carol ~300 2] [7-0 carol ~300 1]]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 2 idle ~0] [name bob pending 1 idle ~300] [name carol pending 3 idle ~300]]"),
];

const AUTOCLAIM: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XADD s 3-0 f v", "3-0"),
    ("XADD s 4-0 f v", "4-0"),
    ("XADD s 5-0 f v", "5-0"),
    ("XADD s 6-0 f v", "6-0"),
    ("XADD s 7-0 f v", "7-0"),
    ("XADD s 8-0 f v", "8-0"),
    ("XADD s 9-0 f v", "9-0"),
    ("XADD s 10-0 f v", "10-0"),
    ("XGROUP CREATE s g 0", "OK"),
    ("XREADGROUP GROUP g alice STREAMS s >", "[[s [[1-0 [f v]] [2-0 [f v]] [3-0 [f v]] [4-0 [f v]] [5-0 [f v]] [6-0 [f v]] [7-0 [f v]] [8-0 [f v]] [9-0 [f v]] [10-0 [f v]]]]]"),
    ("XDEL s 3-0 4-0", "2"),
    ("SLEEP 300", "OK"),
    ("XAUTOCLAIM s g bob 200 0 COUNT 3", "[4-0 [[1-0 [f v]] [2-0 [f v]]] [3-0]]"),
    ("XAUTOCLAIM s g bob 200 4-0 COUNT 3", "[7-0 [[5-0 [f v]] [6-0 [f v]]] [4-0]]"),
    ("XAUTOCLAIM s g bob 200 7-0 COUNT 10 JUSTID", "[0-0 [7-0 8-0 9-0 10-0] []]"),
    ("XPENDING s g - + 20", "[[1-0 bob ~0 2] [2-0 bob ~0 2] [5-0 bob ~0 2] [6-0 bob ~0 2] [7-0 bob ~0 1] [8-0 bob ~0 1] [9-0 bob ~0 1] [10-0 bob ~0 1]]"),
    ("XAUTOCLAIM s g carol 0 (1-0 COUNT 1", "[5-0 [[2-0 [f v]]] []]"),
    ("XAUTOCLAIM s g carol 0 (1-0 COUNT 1 JUSTID", "[5-0 [2-0] []]"),
    ("XAUTOCLAIM s g ghost 100000 - COUNT 1", "[0-0 [] []]"),
    ("XAUTOCLAIM s g ghost 100000 -", "[0-0 [] []]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 0 idle ~300] [name bob pending 7 idle ~0] [name carol pending 1 idle ~0]]"),
    ("XDEL s 9-0", "1"),
    ("XAUTOCLAIM s g ghost 100000 -", "[0-0 [] [9-0]]"),
    ("XINFO CONSUMERS s g", "[[name alice pending 0 idle ~300] [name bob pending 6 idle ~0] [name carol pending 1 idle ~0]]"),
    ("XAUTOCLAIM s g carol 0 +", "[0-0 [] []]"),
    ("XPENDING s g", "[7 1-0 10-0 [[bob 6] [carol 1]]]"),
];

const AUTOCLAIM_SCAN_LIMIT: &[(&str, &str)] = &[
    ("XADD t 1-0 f v", "1-0"),
    ("XADD t 2-0 f v", "2-0"),
    ("XADD t 3-0 f v", "3-0"),
    ("XADD t 4-0 f v", "4-0"),
    ("XADD t 5-0 f v", "5-0"),
    ("XADD t 6-0 f v", "6-0"),
    ("XADD t 7-0 f v", "7-0"),
    ("XADD t 8-0 f v", "8-0"),
    ("XADD t 9-0 f v", "9-0"),
    ("XADD t 10-0 f v", "10-0"),
    ("XADD t 11-0 f v", "11-0"),
    ("XADD t 12-0 f v", "12-0"),
    ("XADD t 13-0 f v", "13-0"),
    ("XADD t 14-0 f v", "14-0"),
    ("XADD t 15-0 f v", "15-0"),
    ("XADD t 16-0 f v", "16-0"),
    ("XADD t 17-0 f v", "17-0"),
    ("XADD t 18-0 f v", "18-0"),
    ("XADD t 19-0 f v", "19-0"),
    ("XADD t 20-0 f v", "20-0"),
    ("XADD t 21-0 f v", "21-0"),
    ("XADD t 22-0 f v", "22-0"),
    ("XADD t 23-0 f v", "23-0"),
    ("XADD t 24-0 f v", "24-0"),
    ("XADD t 25-0 f v", "25-0"),
    ("XGROUP CREATE t g 0", "OK"),
    ("XREADGROUP GROUP g alice STREAMS t >", "[[t [[1-0 [f v]] [2-0 [f v]] [3-0 [f v]] [4-0 [f v]] [5-0 [f v]] [6-0 [f v]] [7-0 [f v]] [8-0 [f v]] [9-0 [f v]] [10-0 [f v]] [11-0 [f v]] [12-0 [f v]] [13-0 [f v]] [14-0 [f v]] [15-0 [f v]] [16-0 [f v]] [17-0 [f v]] [18-0 [f v]] [19-0 [f v]] [20-0 [f v]] [21-0 [f v]] [22-0 [f v]] [23-0 [f v]] [24-0 [f v]] [25-0 [f v]]]]]"),
    ("XAUTOCLAIM t g bob 100000 - COUNT 1", "[11-0 [] []]"),
    ("XAUTOCLAIM t g bob 100000 11-0 COUNT 1", "[21-0 [] []]"),
    ("XAUTOCLAIM t g bob 100000 21-0 COUNT 1", "[0-0 [] []]"),
    ("XAUTOCLAIM t g bob 100000 - COUNT 2", "[21-0 [] []]"),
    ("XAUTOCLAIM t g bob 100000 - COUNT 3", "[0-0 [] []]"),
    ("XDEL t 2-0 3-0 4-0 5-0 6-0 7-0 8-0 9-0 10-0 11-0 12-0 13-0", "12"),
    ("XAUTOCLAIM t g bob 100000 - COUNT 2", "[4-0 [] [2-0 3-0]]"),
    ("XAUTOCLAIM t g bob 0 3-0 COUNT 2", "[6-0 [] [4-0 5-0]]"),
    ("XPENDING t g", "[21 1-0 25-0 [[alice 21]]]"),
];

const SEEN_TIME: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XGROUP CREATE s g 0", "OK"),
    (
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
        "[[s [[1-0 [f v]]]]]",
    ),
    ("XGROUP CREATECONSUMER s g bob", "1"),
    ("SLEEP 300", "OK"),
    ("XPENDING s g - + 10 alice", "[[1-0 alice ~300 1]]"),
    ("XACK s g 1-0", "1"),
    ("XGROUP CREATECONSUMER s g alice", "0"),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 0 idle ~300] [name bob pending 0 idle ~300]]",
    ),
    ("XREADGROUP GROUP g alice STREAMS s 0", "[[s []]]"),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 0 idle ~0] [name bob pending 0 idle ~300]]",
    ),
    ("SLEEP 300", "OK"),
    ("XREADGROUP GROUP g bob STREAMS s >", "[[s [[2-0 [f v]]]]]"),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 0 idle ~300] [name bob pending 1 idle ~0]]",
    ),
    ("SLEEP 300", "OK"),
    ("XAUTOCLAIM s g alice 100000 -", "[0-0 [] []]"),
    ("XCLAIM s g alice 100000 2-0", "[]"),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 0 idle ~600] [name bob pending 1 idle ~300]]",
    ),
    ("XAUTOCLAIM s g alice 0 -", "[0-0 [[2-0 [f v]]] []]"),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 1 idle ~0] [name bob pending 0 idle ~300]]",
    ),
];

const READ_NEW_EDGES: &[(&str, &str)] = &[
    ("XADD x 1-0 f v", "1-0"),
    ("XADD x 2-0 f v", "2-0"),
    ("XGROUP CREATE x g 0", "OK"),
    ("XDEL x 1-0 2-0", "2"),
    ("XREADGROUP GROUP g zz STREAMS x >", "nil"),
    ("XINFO CONSUMERS x g", "[]"),
    (
        "XINFO GROUPS x",
        "[[name g consumers 0 pending 0 last-delivered-id 0-0 entries-read nil lag 0]]",
    ),
    ("XADD x 3-0 f v", "3-0"),
    ("XGROUP SETID x g 3-0", "OK"),
    ("XREADGROUP GROUP g yy STREAMS x >", "nil"),
    ("XINFO CONSUMERS x g", "[]"),
];
const REASSIGN: &[(&str, &str)] = &[
    ("XADD s 1-0 f v", "1-0"),
    ("XADD s 2-0 f v", "2-0"),
    ("XADD s 3-0 f v", "3-0"),
    ("XGROUP CREATE s g 0", "OK"),
    (
        "XREADGROUP GROUP g alice STREAMS s >",
        "[[s [[1-0 [f v]] [2-0 [f v]] [3-0 [f v]]]]]",
    ),
    ("SLEEP 300", "OK"),
    (
        "XREADGROUP GROUP g alice STREAMS s 0",
        "[[s [[1-0 [f v]] [2-0 [f v]] [3-0 [f v]]]]]",
    ),
    ("XGROUP SETID s g 0 ENTRIESREAD 0", "OK"),
    (
        "XREADGROUP GROUP g bob COUNT 1 STREAMS s >",
        "[[s [[1-0 [f v]]]]]",
    ),
    (
        "XREADGROUP GROUP g carol COUNT 1 NOACK STREAMS s >",
        "[[s [[2-0 [f v]]]]]",
    ),
    (
        "XPENDING s g - + 10",
        "[[1-0 bob ~0 1] [2-0 alice ~0 2] [3-0 alice ~0 2]]",
    ),
    ("XPENDING s g IDLE 100 - + 10 alice", "[]"),
    (
        "XINFO GROUPS s",
        "[[name g consumers 3 pending 3 last-delivered-id 2-0 entries-read 2 lag 1]]",
    ),
    (
        "XINFO CONSUMERS s g",
        "[[name alice pending 2 idle ~0] [name bob pending 1 idle ~0] [name carol pending 0 idle ~0]]",
    ),
    ("XGROUP DESTROY s g", "1"),
    ("XGROUP CREATE s g $ ENTRIESREAD 2", "OK"),
    (
        "XINFO GROUPS s",
        "[[name g consumers 0 pending 0 last-delivered-id 3-0 entries-read 2 lag 1]]",
    ),
    ("XADD s 4-0 f v", "4-0"),
    ("XREADGROUP GROUP g dave STREAMS s >", "[[s [[4-0 [f v]]]]]"),
    (
        "XINFO GROUPS s",
        "[[name g consumers 1 pending 1 last-delivered-id 4-0 entries-read 3 lag 1]]",
    ),
    ("XPENDING s g", "[1 4-0 4-0 [[dave 1]]]"),
];
