//! The clean-shutdown marker is checked against the tail: a journal closed cleanly and then
//! damaged (its last segment cut short, zero-filled, a byte flipped, or deleted) is recovered as
//! after a crash, and records appended and acknowledged afterwards survive the next crash.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{assert_prefix, payload_for, segment_bases, segment_file, Rng, TempDir};
use nanostream_journal::{inspect, Journal, JournalConfig};

const HEADER: u64 = nanostream_journal::SEGMENT_HEADER_LEN as u64;

fn span(len: usize) -> u64 {
    ((nanostream_journal::RECORD_HEADER_LEN + len + 7) & !7) as u64
}

fn config() -> JournalConfig {
    JournalConfig::new().segment_size(64 << 10).index_interval(512)
}

/// Writes records `0..n` into one segment and closes the journal cleanly; returns the start
/// position of each record and the end position.
fn closed(dir: &Path, n: u64) -> Vec<u64> {
    let mut j = Journal::open(dir, config()).expect("open");
    let mut positions = vec![HEADER];
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
        positions.push(positions[o as usize] + span(payload_for(o).len()));
    }
    assert_eq!(j.segment_count(), 1, "the test keeps to one segment");
    j.close().expect("close");
    positions
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for damage");
    f.write_all_at(bytes, at).expect("damage");
}

/// Opens the damaged journal, expects it to continue at `expected_next`, appends and
/// acknowledges ten records, crashes (drop), and checks that all ten survive the next recovery.
fn acknowledged_records_survive(dir: &Path, expected_next: u64) {
    let mut j = Journal::open(dir, config()).expect("open the damaged journal");
    assert_eq!(
        j.next_offset(),
        expected_next,
        "appending must resume right after the last valid record, never behind damage"
    );
    assert!(
        j.open_report().scanned,
        "a tail that does not match the marker is a crash recovery"
    );
    for o in expected_next..expected_next + 10 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    assert_eq!(j.durable_next_offset(), expected_next + 10, "acknowledged");
    drop(j); // a crash
    let j = Journal::open(dir, config()).expect("recover after the crash");
    assert_eq!(
        j.next_offset(),
        expected_next + 10,
        "acknowledged records were lost by the next crash recovery"
    );
    drop(j);
    assert_prefix(dir, expected_next + 10);
    assert!(
        inspect(dir).expect("inspect").iter().all(|s| s.problem.is_none()),
        "verify finds the journal healthy"
    );
}

#[test]
fn a_truncated_last_segment_is_not_trusted() {
    let tmp = TempDir::new("marker-truncated");
    let positions = closed(tmp.path(), 40);
    let log = segment_file(tmp.path(), 0, "log");
    OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(positions[30])
        .expect("truncate");
    acknowledged_records_survive(tmp.path(), 30);
}

#[test]
fn a_zero_filled_tail_is_not_trusted() {
    let tmp = TempDir::new("marker-zeroed");
    let positions = closed(tmp.path(), 40);
    let log = segment_file(tmp.path(), 0, "log");
    let zeros = vec![0u8; (positions[40] - positions[25]) as usize];
    overwrite(&log, positions[25], &zeros);
    acknowledged_records_survive(tmp.path(), 25);
}

#[test]
fn a_flipped_byte_in_the_last_record_is_not_trusted() {
    let tmp = TempDir::new("marker-flip-last");
    let positions = closed(tmp.path(), 40);
    assert!(!payload_for(39).is_empty());
    let log = segment_file(tmp.path(), 0, "log");
    let at = positions[39] + 24;
    overwrite(&log, at, &[!std::fs::read(&log).expect("read")[at as usize]]);
    acknowledged_records_survive(tmp.path(), 39);
}

#[test]
fn a_flipped_byte_in_an_earlier_record_is_not_trusted() {
    let tmp = TempDir::new("marker-flip-early");
    let positions = closed(tmp.path(), 40);
    assert!(!payload_for(3).is_empty());
    let log = segment_file(tmp.path(), 0, "log");
    let at = positions[3] + 24;
    overwrite(&log, at, &[!std::fs::read(&log).expect("read")[at as usize]]);
    acknowledged_records_survive(tmp.path(), 3);
}

#[test]
fn a_deleted_last_segment_named_by_the_marker_is_detected() {
    let tmp = TempDir::new("marker-deleted");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..300 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let bases = segment_bases(tmp.path());
    let last = *bases.last().expect("segments");
    assert!(last < 300 && bases.len() >= 3);
    for ext in ["log", "index"] {
        std::fs::remove_file(segment_file(tmp.path(), last, ext)).expect("delete the last segment");
    }
    let infos = inspect(tmp.path()).expect("inspect");
    let problem = infos
        .iter()
        .find_map(|s| s.problem.as_ref())
        .expect("verify must report the records the clean-shutdown marker promises");
    let text = problem.to_string();
    assert!(text.contains(&format!("{last:020}.log")), "{text}");
    assert!(text.contains("300"), "{text}");
}

#[test]
fn random_damage_after_a_clean_close_never_loses_acknowledged_records() {
    let mut rng = Rng::from_env("marker_random_damage");
    for round in 0..20 {
        let tmp = TempDir::new("marker-random");
        let n = rng.range(10, 120);
        let positions = closed(tmp.path(), n);
        let log = segment_file(tmp.path(), 0, "log");
        let end = positions[n as usize];
        // Record i survives iff its header and payload lie wholly before the first damaged byte.
        let valid_before = |at: u64| {
            (0..n)
                .take_while(|&i| positions[i as usize] + 24 + payload_for(i).len() as u64 <= at)
                .count() as u64
        };
        let expected = match rng.range(0, 3) {
            0 => {
                let cut = rng.range(HEADER + 8, end);
                OpenOptions::new()
                    .write(true)
                    .open(&log)
                    .expect("open")
                    .set_len(cut)
                    .expect("truncate");
                valid_before(cut)
            }
            1 => {
                let from = rng.range(HEADER, end);
                overwrite(&log, from, &vec![0u8; (end - from) as usize]);
                valid_before(from)
            }
            _ => {
                let at = rng.range(HEADER, end);
                let byte = std::fs::read(&log).expect("read")[at as usize];
                overwrite(&log, at, &[byte ^ (1 << rng.range(0, 8))]);
                // A flipped padding byte is not covered by the CRC and damages nothing.
                let i = positions.partition_point(|&p| p <= at) as u64 - 1;
                if at < positions[i as usize] + 24 + payload_for(i).len() as u64 {
                    i
                } else {
                    n
                }
            }
        };
        eprintln!("round {round}: {n} records, {expected} valid");
        acknowledged_records_survive_or_clean(tmp.path(), expected, n);
    }
}

/// Like [`acknowledged_records_survive`], for damage that may leave the journal intact
/// (`expected == n`: a flipped padding byte).
fn acknowledged_records_survive_or_clean(dir: &Path, expected: u64, n: u64) {
    if expected < n {
        acknowledged_records_survive(dir, expected);
        return;
    }
    let mut j = Journal::open(dir, config()).expect("open");
    assert_eq!(j.next_offset(), n);
    j.append(&payload_for(n)).expect("append");
    j.commit().expect("commit");
    drop(j);
    assert_prefix(dir, n + 1);
}
