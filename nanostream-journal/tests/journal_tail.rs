//! `tail -n N` and `JournalReader::end_offset`: the end is found from the newest segment's index,
//! and the last N records are the right ones, across segments and without indexes.

mod common;

use std::process::Command;

use common::{payload_for, segment_bases, segment_file, TempDir};
use nanostream_journal::{Journal, JournalConfig, JournalReader};

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
fn end_offset_is_the_next_offset_of_a_live_and_a_closed_journal() {
    let tmp = TempDir::new("tail-end");
    let mut j = journal(tmp.path(), 400);
    assert!(j.segment_count() >= 4);
    let reader = JournalReader::open(tmp.path()).expect("reader");
    assert_eq!(reader.end_offset().expect("end"), 400);
    j.append(&payload_for(400)).expect("append");
    j.commit().expect("commit");
    assert_eq!(reader.end_offset().expect("end"), 401, "follows the live writer");
    j.close().expect("close");
    // Without any index the newest segment is scanned from its start: same answer.
    for base in segment_bases(tmp.path()) {
        std::fs::remove_file(segment_file(tmp.path(), base, "index")).expect("remove index");
    }
    assert_eq!(reader.end_offset().expect("end"), 401);
    let empty = TempDir::new("tail-end-empty");
    Journal::open(empty.path(), JournalConfig::new().segment_size(8192))
        .expect("open")
        .close()
        .expect("close");
    assert_eq!(
        JournalReader::open(empty.path())
            .expect("reader")
            .end_offset()
            .expect("end"),
        0
    );
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
