//! `tail -n N`: the last N records are the right ones, across segments, found from the newest
//! segment's index.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::{payload_for, segment_bases, TempDir};
use nanostream_journal::{Journal, JournalConfig};

const BIN: &str = env!("CARGO_BIN_EXE_nanostream-journal");

fn journal(dir: &std::path::Path, n: u64) -> Journal {
    let mut j =
        Journal::open(dir, JournalConfig::new().segment_size(8192).index_interval(256)).expect("open");
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    j
}

fn tail_offsets(dir: &std::path::Path, n: u64) -> Vec<u64> {
    let o = Command::new(BIN)
        .args(["tail", dir.to_str().expect("utf-8"), "-n", &n.to_string()])
        .output()
        .expect("run tail");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            l.strip_prefix("offset=")
                .and_then(|r| r.split(' ').next())
                .and_then(|x| x.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {l}"))
        })
        .collect()
}

#[test]
fn tail_prints_exactly_the_last_records() {
    let tmp = TempDir::new("tail-n");
    journal(tmp.path(), 400).close().expect("close");
    let bases = segment_bases(tmp.path());
    let last_base = *bases.last().expect("segments");
    assert!(400 - last_base < 150, "-n 150 spans segments");
    for n in [1, 5, 150, 400, 1000] {
        let expected: Vec<u64> = (400u64.saturating_sub(n)..400).collect();
        assert_eq!(tail_offsets(tmp.path(), n), expected, "tail -n {n}");
    }
    let empty = TempDir::new("tail-n-empty");
    Journal::open(empty.path(), JournalConfig::new().segment_size(8192))
        .expect("open")
        .close()
        .expect("close");
    assert!(tail_offsets(empty.path(), 10).is_empty());
}
