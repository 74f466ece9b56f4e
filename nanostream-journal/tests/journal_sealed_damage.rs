//! An empty slot in a segment that is not the last one is corruption, not the end of the
//! journal: every reader and `replay_into` report it with the segment and offset (the CLI:
//! `nanostream-journal-cli/tests/journal_cli_sealed_damage.rs`).

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{payload_for, segment_bases, segment_file, TempDir};
use nanostream::{build_single_producer, BlockingWaitStrategy};
use nanostream_journal::{inspect, replay_into, BytesCodec, Error, Journal, JournalConfig, JournalReader};

const HEADER: u64 = nanostream_journal::SEGMENT_HEADER_LEN as u64;

fn span(len: usize) -> u64 {
    ((nanostream_journal::RECORD_HEADER_LEN + len + 7) & !7) as u64
}

/// A closed journal of 400 records in 8 KiB segments whose second segment is zeroed from the
/// middle (its seal included); returns (segment path, first lost offset, its byte position).
fn damaged(dir: &Path) -> (PathBuf, u64, u64) {
    let mut j = Journal::open(dir, JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..400 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let bases = segment_bases(dir);
    assert!(bases.len() >= 4);
    let (seg, next) = (bases[1], bases[2]);
    let target = seg + (next - seg) / 2;
    let mut pos = HEADER;
    for o in seg..target {
        pos += span(payload_for(o).len());
    }
    let path = segment_file(dir, seg, "log");
    let len = std::fs::metadata(&path).expect("stat").len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
    f.write_all_at(&vec![0u8; (len - pos) as usize], pos)
        .expect("zero the end");
    (path, target, pos)
}

fn assert_reports(err: &Error, path: &Path, target: u64, pos: u64) {
    match err {
        Error::Corrupt {
            segment,
            offset,
            position,
            ..
        } => assert_eq!(
            (segment.as_path(), *offset, *position),
            (path, target, pos),
            "{err}"
        ),
        other => panic!("expected a corrupt record error, got {other}"),
    }
}

#[test]
fn readers_and_replay_report_an_empty_slot_in_a_sealed_segment() {
    let tmp = TempDir::new("sealed-zeroed");
    let (path, target, pos) = damaged(tmp.path());

    let mut r = JournalReader::open(tmp.path()).expect("reader");
    for o in 0..target {
        assert_eq!(r.read_next().expect("valid before").expect("record").offset, o);
    }
    let err = r
        .read_next()
        .expect_err("the end of a sealed segment is not the end of the journal");
    assert_reports(&err, &path, target, pos);
    // A follower does not wait for a record that can never come.
    let err = r
        .wait_next(Duration::from_secs(5))
        .expect_err("a follower reports it too");
    assert_reports(&err, &path, target, pos);

    let mut producer = build_single_producer(64, Vec::new, BlockingWaitStrategy::new())
        .handle_events_with(|_: &Vec<u8>, _: i64, _: bool| {})
        .build()
        .expect("pipeline");
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    let err = replay_into(&mut r, &BytesCodec, &mut producer).expect_err("replay must not stop quietly");
    assert_reports(&err, &path, target, pos);
    producer.shutdown().expect("shutdown");

    let infos = inspect(tmp.path()).expect("inspect");
    assert!(matches!(&infos[1].problem, Some(Error::Corrupt { offset, .. }) if *offset == target));
}
