//! An empty slot in a segment that is not the last one is corruption, not the end of the
//! journal: every reader and `replay_into` report it with the segment and offset (the CLI:
//! `nanostream-journal-cli/tests/journal_cli_sealed_damage.rs`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{zeroed_sealed_segment, TempDir};
use nanostream::{build_single_producer, BlockingWaitStrategy};
use nanostream_journal::{inspect, replay_into, BytesCodec, Error, JournalReader};

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
    let (path, target, pos) = zeroed_sealed_segment(tmp.path());

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
