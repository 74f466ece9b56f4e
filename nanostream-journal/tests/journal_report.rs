//! What recovery dropped is reported in `OpenReport::dropped` (the CLI's `recover` and `verify`:
//! `nanostream-journal-cli/tests/journal_cli_report.rs`).

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{
    assert_prefix, payload_for, segment_bases, segment_file, span, written, TempDir, SEGMENT_HEADER,
};
use nanostream_journal::{Journal, JournalConfig};

fn config() -> JournalConfig {
    JournalConfig::new().segment_size(64 << 10).index_interval(512)
}

fn flip(path: &Path, at: u64) {
    let byte = std::fs::read(path).expect("read")[at as usize];
    let f = OpenOptions::new().write(true).open(path).expect("open");
    f.write_all_at(&[!byte], at).expect("flip");
}

#[test]
fn a_flipped_byte_mid_tail_reports_the_records_after_it() {
    let tmp = TempDir::new("report-flip");
    let positions = written(tmp.path(), config(), 100, false);
    assert!(!payload_for(50).is_empty());
    let log = segment_file(tmp.path(), 0, "log");
    flip(&log, positions[50] + 24);
    let j = Journal::open(tmp.path(), config()).expect("recover");
    let report = j.open_report();
    assert!(report.scanned && report.truncated);
    let d = report.dropped.expect("recovery says what it dropped");
    assert_eq!(d.segment, log);
    assert_eq!((d.from_offset, d.position), (50, positions[50]));
    assert_eq!(d.records, 49, "the 49 valid records after the bad one");
    assert!(
        d.bytes > positions[99] - positions[50] && d.bytes <= positions[100] - positions[50],
        "{d}"
    );
    assert!(d.reason.contains("CRC"), "{d}");
    assert!(d.to_string().contains("dropped 49 record(s)"), "{d}");
    assert_eq!(j.next_offset(), 50);
}

#[test]
fn a_crash_with_an_intact_tail_drops_nothing() {
    let tmp = TempDir::new("report-none");
    written(tmp.path(), config(), 30, false);
    let report = Journal::open(tmp.path(), config())
        .expect("recover")
        .open_report();
    assert!(report.scanned);
    assert_eq!(report.dropped, None);
    assert!(!report.truncated);
}

#[test]
fn a_clean_marker_counts_the_records_a_zeroed_tail_lost() {
    let tmp = TempDir::new("report-marker");
    let positions = written(tmp.path(), config(), 40, true);
    let log = segment_file(tmp.path(), 0, "log");
    let f = OpenOptions::new().write(true).open(&log).expect("open");
    f.write_all_at(
        &vec![0u8; (positions[40] - positions[25]) as usize],
        positions[25],
    )
    .expect("zero");
    let report = Journal::open(tmp.path(), config())
        .expect("recover")
        .open_report();
    let d = report.dropped.expect("dropped");
    assert_eq!((d.from_offset, d.records), (25, 15), "{d}");
    assert!(d.reason.contains("clean-shutdown marker"), "{d}");
}

#[test]
fn a_tail_cut_to_its_header_is_re_extended_and_reported() {
    let tmp = TempDir::new("report-cut64");
    written(tmp.path(), config(), 20, true);
    let log = segment_file(tmp.path(), 0, "log");
    OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(64)
        .expect("cut");
    let mut j = Journal::open(tmp.path(), config()).expect("a short tail is re-extended");
    let d = j.open_report().dropped.expect("dropped");
    assert_eq!((d.from_offset, d.records), (0, 20), "{d}");
    assert_eq!(j.next_offset(), 0);
    j.append(&payload_for(0)).expect("append");
    j.close().expect("close");
    assert_prefix(tmp.path(), 1);
}

#[test]
fn a_newest_segment_without_a_header_is_reported_as_dropped() {
    let tmp = TempDir::new("report-no-header");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..300 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    drop(j);
    let newest = *segment_bases(tmp.path()).last().expect("segments");
    let log = segment_file(tmp.path(), newest, "log");
    // The page with the header never reached the disk; a later page did.
    let mut bytes = vec![0u8; 8192];
    bytes[5000..5100].fill(0x77);
    std::fs::write(&log, &bytes).expect("zero the first page");
    let j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("recover");
    let d = j.open_report().dropped.expect("the dropped segment is reported");
    assert_eq!((d.segment.clone(), d.from_offset), (log, newest), "{d}");
    assert_eq!(d.bytes, 100, "{d}");
    assert!(d.reason.contains("header"), "{d}");
}

#[test]
fn garbage_at_the_very_end_of_the_tail_is_dropped_without_a_panic() {
    let tmp = TempDir::new("report-end-garbage");
    written(tmp.path(), config(), 10, false);
    let log = segment_file(tmp.path(), 0, "log");
    let len = std::fs::metadata(&log).expect("stat").len();
    // A length word and a "sequence" in the last 16 bytes: a record that would run past the end.
    let f = OpenOptions::new().write(true).open(&log).expect("open");
    f.write_all_at(&[0x40; 16], len - 16).expect("garbage");
    let j = Journal::open(tmp.path(), config()).expect("recover");
    let d = j.open_report().dropped.expect("the garbage is reported");
    assert_eq!((d.from_offset, d.records), (10, 0), "{d}");
    assert_eq!(d.bytes, len - d.position, "{d}");
    assert_eq!(j.next_offset(), 10);
}

#[test]
fn a_tail_of_random_garbage_is_dropped_in_one_pass() {
    // Random length words that fit in the segment and random "sequences" must not each cost a
    // CRC over megabytes: only a record whose sequence can follow the damage is checked.
    let tmp = TempDir::new("report-random-garbage");
    let config = JournalConfig::new().segment_size(16 << 20);
    let mut j = Journal::open(tmp.path(), config.clone()).expect("open");
    for o in 0..10 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    drop(j);
    let end = SEGMENT_HEADER + (0..10).map(|o| span(payload_for(o).len())).sum::<u64>();
    let log = segment_file(tmp.path(), 0, "log");
    let len = std::fs::metadata(&log).expect("stat").len();
    let mut garbage = vec![0u8; (len - end) as usize];
    common::Rng::new(99).fill(&mut garbage);
    let f = OpenOptions::new().write(true).open(&log).expect("open");
    f.write_all_at(&garbage, end).expect("garbage");
    let j = Journal::open(tmp.path(), config).expect("recover");
    let d = j.open_report().dropped.expect("dropped");
    assert_eq!((d.from_offset, d.records, d.position), (10, 0, end), "{d}");
    assert_eq!(j.next_offset(), 10);
}
