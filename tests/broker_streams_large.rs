//! A large history: a stream of 10 million entries (written through the stream store, as the
//! broker would have, and closed cleanly), opened by the broker; a range read from the
//! middle, and a new consumer group reading from `0`, keep the broker's memory bounded.
//!
//! Memory is the broker's anonymous resident memory (`RssAnon` in `/proc/<pid>/status`): its
//! heap and stacks. The journal's pages it maps are file-backed (`RssFile`): page cache the
//! kernel takes back when it needs it, reported but not bounded here.

mod broker;
mod common;
mod streams_support;

use std::path::Path;
use std::time::{Duration, Instant};

use broker::{Conn, Reply};
use common::Server;
use nanostream_journal::{Durability, JournalConfig};
use nanostream_net::streams::key_path::stream_dir;
use nanostream_net::streams::{Stream, StreamConfig, StreamId};
use streams_support::TempDir;

const ENTRIES: u64 = 10_000_000;
/// The group reads this many entries from `0` (and acknowledges them).
const GROUP_READ: u64 = 300_000;
/// How much the broker's anonymous memory may grow over the reads.
const GROWTH_BOUND_KIB: u64 = 64 * 1024;
/// What the broker may hold right after opening the 10 M entries: the sparse index is about
/// 1 MB; everything else is the broker's own start-up.
const OPEN_BOUND_KIB: u64 = 48 * 1024;

/// A KiB figure of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// Entry `i` (1-based) has the ID `i-0` and the fields `n`, `i` as 8 little-endian bytes.
fn write_history(data_dir: &Path) {
    let config = StreamConfig::new().journal(
        JournalConfig::new()
            .segment_size(64 << 20)
            .durability(Durability::Never),
    );
    let mut s = Stream::open_or_create(stream_dir(data_dir, b"history"), config).expect("create");
    for i in 1..=ENTRIES {
        s.append(StreamId::new(i, 0), &[&b"n"[..], &i.to_le_bytes()])
            .expect("append");
    }
    s.close().expect("close");
}

fn id_of(entry: &Reply) -> u64 {
    let id = std::str::from_utf8(entry.items()[0].bulk()).expect("utf-8 ID");
    id.strip_suffix("-0")
        .and_then(|ms| ms.parse().ok())
        .expect("an i-0 ID")
}

fn value_of(entry: &Reply) -> u64 {
    let fields = entry.items()[1].items();
    assert_eq!(fields[0].bulk(), b"n");
    u64::from_le_bytes(fields[1].bulk().try_into().expect("8 bytes"))
}

#[test]
fn ten_million_entries_read_from_the_middle_and_by_a_new_group_in_bounded_memory() {
    let dir = TempDir::new("large");
    let started = Instant::now();
    write_history(dir.path());
    eprintln!("wrote {ENTRIES} entries in {:?}", started.elapsed());

    let opened = Instant::now();
    let server = Server::broker(&["--data-dir", dir.path().to_str().expect("utf-8 path")]);
    eprintln!("the broker answered after {:?}", opened.elapsed());
    let pid = server.pid();
    let mut conn = Conn::open(&server);
    conn.set_read_timeout(Duration::from_secs(30));
    assert_eq!(conn.call(&[b"XLEN", b"history"]).int(), ENTRIES as i64);
    let base = status_kib(pid, "RssAnon:");
    eprintln!(
        "after opening: RssAnon {base} KiB, RssFile {} KiB",
        status_kib(pid, "RssFile:")
    );
    assert!(
        base < OPEN_BOUND_KIB,
        "10 M entries are not held in memory: RssAnon {base} KiB"
    );

    // A range from the middle, both ways.
    let middle = ENTRIES / 2;
    let start = format!("{middle}-0");
    let range = conn.call(&[b"XRANGE", b"history", start.as_bytes(), b"+", b"COUNT", b"1000"]);
    let got: Vec<u64> = range.items().iter().map(id_of).collect();
    assert_eq!(got, (middle..middle + 1000).collect::<Vec<_>>());
    assert!(range.items().iter().all(|e| value_of(e) == id_of(e)));
    let back = conn.call(&[
        b"XREVRANGE",
        b"history",
        start.as_bytes(),
        b"-",
        b"COUNT",
        b"1000",
    ]);
    let got: Vec<u64> = back.items().iter().map(id_of).collect();
    assert_eq!(got, (middle - 999..=middle).rev().collect::<Vec<_>>());

    // A new group reading from the start, acknowledging as it goes.
    assert_eq!(
        conn.call(&[b"XGROUP", b"CREATE", b"history", b"g", b"0"]),
        Reply::Status("OK".into())
    );
    let mut next = 1;
    let mut peak = base;
    let deadline = Instant::now() + Duration::from_secs(300);
    while next <= GROUP_READ {
        assert!(
            Instant::now() < deadline,
            "the group read {next} entries in 300 s"
        );
        let batch = conn.call(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"COUNT",
            b"1000",
            b"STREAMS",
            b"history",
            b">",
        ]);
        let entries = batch.items()[0].items()[1].items();
        let mut ack: Vec<Vec<u8>> = vec![b"XACK".to_vec(), b"history".to_vec(), b"g".to_vec()];
        for e in entries {
            assert_eq!(
                (id_of(e), value_of(e)),
                (next, next),
                "entries in order, none skipped"
            );
            ack.push(format!("{next}-0").into_bytes());
            next += 1;
        }
        let ack_args: Vec<&[u8]> = ack.iter().map(Vec::as_slice).collect();
        assert_eq!(conn.call(&ack_args).int(), entries.len() as i64);
        if next % 50_000 < 1000 {
            peak = peak.max(status_kib(pid, "RssAnon:"));
        }
    }
    peak = peak.max(status_kib(pid, "RssAnon:"));
    eprintln!(
        "after the group read {GROUP_READ}: RssAnon peak {peak} KiB (grew {} KiB), RssFile {} KiB",
        peak - base,
        status_kib(pid, "RssFile:")
    );
    assert!(
        peak - base < GROWTH_BOUND_KIB,
        "reading {GROUP_READ} entries grew the broker's anonymous memory by {} KiB",
        peak - base
    );
    let pending = conn.call(&[b"XPENDING", b"history", b"g"]);
    assert_eq!(
        pending.items()[0],
        Reply::Int(0),
        "everything read was acknowledged"
    );
}
