//! The CLI's `recover` command reports what recovery dropped and opens what `Journal::open`
//! refuses (a newest segment cut shorter than its header); `verify` fails on a deleted last
//! segment and names a stray file named like a segment.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::fs::OpenOptions;
use std::process::Command;

use common::{assert_prefix, payload_for, segment_bases, segment_file, written, TempDir};
use nanostream_journal::{Error, Journal, JournalConfig};

const BIN: &str = env!("CARGO_BIN_EXE_nanostream-journal");

fn config() -> JournalConfig {
    JournalConfig::new().segment_size(64 << 10).index_interval(512)
}

fn cli(args: &[&str]) -> (i32, String) {
    let o = Command::new(BIN).args(args).output().expect("run the CLI");
    (
        o.status.code().expect("exit code"),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn a_deleted_last_segment_is_reported_by_open() {
    let tmp = TempDir::new("report-deleted");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..300 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let last = *segment_bases(tmp.path()).last().expect("segments");
    for ext in ["log", "index"] {
        std::fs::remove_file(segment_file(tmp.path(), last, ext)).expect("delete");
    }
    let (code, out) = cli(&["verify", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    let j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("recover");
    let d = j.open_report().dropped.expect("the lost segment is reported");
    assert_eq!((d.from_offset, d.records), (last, 300 - last), "{d}");
    assert_eq!(d.segment, segment_file(tmp.path(), last, "log"));
    assert_eq!(j.next_offset(), last);
}

#[test]
fn recover_opens_a_journal_whose_newest_segment_lost_its_header() {
    let tmp = TempDir::new("report-cut30");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..300 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let last = *segment_bases(tmp.path()).last().expect("segments");
    let log = segment_file(tmp.path(), last, "log");
    OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(30)
        .expect("cut");

    let err = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192))
        .expect_err("an unreadable newest segment is refused");
    assert!(matches!(err, Error::CorruptSegment { .. }), "{err}");
    assert!(
        err.to_string().contains("recover"),
        "the error says what to do: {err}"
    );

    let dir = tmp.path().to_str().expect("utf-8");
    let (code, out) = cli(&["recover", dir]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("dropped {} record(s)", 300 - last)),
        "{out}"
    );
    assert!(out.contains(&format!("from offset {last}")), "{out}");
    assert!(
        tmp.join(&format!("{last:020}.log.damaged")).exists(),
        "the bytes are kept aside"
    );

    let (code, out) = cli(&["verify", dir]);
    assert_eq!(code, 0, "{out}");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("opens");
    assert_eq!(j.next_offset(), last);
    j.append(&payload_for(last)).expect("append");
    j.close().expect("close");
    assert_prefix(tmp.path(), last + 1);
}

#[test]
fn recover_on_a_healthy_journal_changes_nothing() {
    let tmp = TempDir::new("report-healthy");
    written(tmp.path(), config(), 20, true);
    let (code, out) = cli(&["recover", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing dropped"), "{out}");
    assert!(out.contains("next offset 20"), "{out}");
    assert_prefix(tmp.path(), 20);
}

#[test]
fn verify_names_a_stray_file_named_like_a_segment() {
    let tmp = TempDir::new("report-stray");
    written(tmp.path(), config(), 20, true);
    let stray = format!("{:020}.log", 9999);
    std::fs::write(tmp.join(&stray), vec![0x5Au8; 100]).expect("stray file");
    let (code, out) = cli(&["verify", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    let failed = out
        .lines()
        .find(|l| l.starts_with("FAILED"))
        .expect("a FAILED line");
    assert!(failed.contains(&stray), "{out}");
    assert!(
        !failed.contains(&format!("{:020}.log", 0)),
        "the valid segment is not blamed: {out}"
    );
}

#[test]
fn a_stray_file_between_segments_is_reported_and_the_writer_still_opens() {
    let tmp = TempDir::new("report-stray-middle");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..300 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let bases = segment_bases(tmp.path());
    let stray_base = bases[1] + 1;
    assert!(stray_base < bases[2]);
    let stray = segment_file(tmp.path(), stray_base, "log");
    std::fs::write(&stray, vec![0x5Au8; 100]).expect("stray file");
    // Damage in history, like a bad record in a sealed segment: reported, and the writer opens.
    let (code, out) = cli(&["verify", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{stray_base:020}.log")), "{out}");
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192))
        .expect("the writer opens beside a damaged sealed segment");
    assert_eq!(j.next_offset(), 300);
    j.append(&payload_for(300)).expect("append");
    j.close().expect("close");
    assert_prefix(tmp.path(), 301);
}
