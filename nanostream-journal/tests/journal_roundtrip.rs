//! Appending, reading, seeking and reopening; policies and configuration errors.

mod common;

use std::time::Duration;

use common::{payload_for, segment_bases, wait_until, TempDir};
use nanostream_journal::{Durability, Error, Journal, JournalConfig, JournalReader};

fn small() -> JournalConfig {
    JournalConfig::new().segment_size(8192).index_interval(256)
}

fn read_all(dir: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    let mut r = JournalReader::open(dir).expect("reader");
    let mut out = Vec::new();
    while let Some(rec) = r.read_next().expect("read") {
        out.push((rec.offset, rec.payload.to_vec()));
    }
    out
}

#[test]
fn records_round_trip_across_segments_and_seek_anywhere() {
    let tmp = TempDir::new("roundtrip");
    let mut j = Journal::open(tmp.path(), small()).expect("open");
    for o in 0..400u64 {
        assert_eq!(j.append(&payload_for(o)).expect("append"), o);
    }
    j.commit().expect("commit");
    assert!(j.segment_count() > 5, "small segments rotate");
    assert_eq!(segment_bases(tmp.path()).len(), j.segment_count());

    let all = read_all(tmp.path());
    assert_eq!(all.len(), 400);
    for (o, p) in &all {
        assert_eq!(p, &payload_for(*o));
    }
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    for target in [0u64, 1, 57, 199, 200, 398, 399] {
        r.seek(target).expect("seek");
        let rec = r.read_next().expect("read").expect("record");
        assert_eq!(rec.offset, target);
        assert_eq!(rec.payload, &payload_for(target)[..]);
    }
    r.seek(400).expect("seek to the end");
    assert!(r.read_next().expect("read").is_none());
    assert!(matches!(
        r.seek(401),
        Err(Error::OffsetOutOfRange {
            offset: 401,
            next: 400,
            ..
        })
    ));
    j.close().expect("close");
}

#[test]
fn clean_close_skips_the_scan_and_a_drop_does_not() {
    let tmp = TempDir::new("clean");
    let mut j = Journal::open(tmp.path(), small()).expect("open");
    for o in 0..50 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    assert!(tmp.join("clean-shutdown").exists());

    let mut j = Journal::open(tmp.path(), small()).expect("reopen");
    assert!(!j.open_report().scanned, "a clean marker skips the scan");
    assert!(!tmp.join("clean-shutdown").exists(), "open consumes the marker");
    assert_eq!(j.next_offset(), 50);
    for o in 50..60 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    drop(j); // like a crash: no marker

    let j = Journal::open(tmp.path(), small()).expect("reopen after drop");
    assert!(j.open_report().scanned);
    assert!(!j.open_report().truncated);
    assert_eq!(j.next_offset(), 60);
    drop(j);
    let all = read_all(tmp.path());
    assert_eq!(all.len(), 60);
    assert!(all.iter().all(|(o, p)| p == &payload_for(*o)));
}

#[test]
fn empty_and_maximal_payloads() {
    let tmp = TempDir::new("sizes");
    let config = small();
    let max = config.max_payload();
    let mut j = Journal::open(tmp.path(), config).expect("open");
    j.append(b"").expect("empty payload");
    j.append(&vec![7u8; max]).expect("largest payload");
    assert!(matches!(
        j.append(&vec![7u8; max + 1]),
        Err(Error::RecordTooLarge { len, max: m }) if len == max + 1 && m == max
    ));
    j.append(b"after").expect("still usable");
    j.commit().expect("commit");
    let all = read_all(tmp.path());
    assert_eq!(all.len(), 3);
    assert!(all[0].1.is_empty());
    assert_eq!(all[1].1.len(), max);
    assert_eq!(all[2].1, b"after");
}

#[test]
fn missing_and_foreign_directories_are_clear_errors() {
    let tmp = TempDir::new("foreign");
    let missing = tmp.join("nope");
    let err = Journal::open(&missing, small().create(false)).expect_err("missing");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert!(err.to_string().contains("does not exist"));
    assert!(matches!(JournalReader::open(&missing), Err(Error::NotFound(_))));

    let foreign = tmp.join("foreign");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("notes.txt"), "not a journal").expect("write");
    let err = Journal::open(&foreign, small()).expect_err("foreign");
    assert!(matches!(err, Error::NotAJournal { .. }), "{err}");
    assert!(err.to_string().contains("not a NanoStream journal"));
    assert!(matches!(
        JournalReader::open(&foreign),
        Err(Error::NotAJournal { .. })
    ));
    assert_eq!(
        std::fs::read_dir(&foreign).expect("ls").count(),
        1,
        "nothing written into a foreign directory"
    );

    let file = tmp.join("file");
    std::fs::write(&file, "x").expect("write");
    assert!(matches!(
        Journal::open(&file, small()),
        Err(Error::NotAJournal { .. })
    ));
}

#[test]
fn invalid_configuration_is_rejected() {
    let tmp = TempDir::new("config");
    for config in [
        small().segment_size(100),
        small().segment_size(8193),
        small().index_interval(1),
        small().durability(Durability::EveryN(0)),
        small().durability(Durability::Interval(Duration::ZERO)),
    ] {
        assert!(matches!(Journal::open(tmp.path(), config), Err(Error::Config(_))));
    }
}

#[test]
fn durable_offset_follows_each_policy() {
    let tmp = TempDir::new("policy");
    // EveryBatch: durable at commit.
    let mut j = Journal::open(tmp.join("batch"), small()).expect("open");
    j.append(b"a").expect("append");
    assert_eq!(j.durable_next_offset(), 0);
    j.commit().expect("commit");
    assert_eq!(j.durable_next_offset(), 1);

    // Never: published at commit without a sync.
    let mut j = Journal::open(tmp.join("never"), small().durability(Durability::Never)).expect("open");
    j.append(b"a").expect("append");
    j.commit().expect("commit");
    assert_eq!(j.durable_next_offset(), 1);

    // EveryN: synced inline every n, the rest by the idle syncer.
    let config = small()
        .durability(Durability::EveryN(3))
        .idle_sync(Duration::from_millis(5));
    let mut j = Journal::open(tmp.join("n"), config).expect("open");
    for _ in 0..3 {
        j.append(b"a").expect("append");
    }
    assert_eq!(j.durable_next_offset(), 3, "synced inline at the 3rd record");
    j.append(b"a").expect("append");
    wait_until(Duration::from_secs(10), "idle sync", || {
        j.durable_next_offset() == 4
    });

    // Interval: the background syncer.
    let config = small().durability(Durability::Interval(Duration::from_millis(5)));
    let mut j = Journal::open(tmp.join("interval"), config).expect("open");
    j.append(b"a").expect("append");
    j.commit().expect("commit is not a sync under Interval");
    wait_until(Duration::from_secs(10), "interval sync", || {
        j.durable_next_offset() == 1
    });
}

#[test]
fn a_failed_sync_stops_the_journal_for_good() {
    let tmp = TempDir::new("syncfail");
    let mut j = Journal::open(tmp.path(), small()).expect("open");
    j.append(b"a").expect("append");
    j.inject_sync_failure();
    let err = j.commit().expect_err("injected EIO");
    assert!(matches!(err, Error::Sync { .. }), "{err}");
    assert_eq!(j.durable_next_offset(), 0, "the watermark did not move");
    assert!(matches!(j.append(b"b"), Err(Error::Failed(_))));
    assert!(
        matches!(j.commit(), Err(Error::Failed(_))),
        "no retry as if nothing happened"
    );
    let failure = j.failure().expect("kept");
    assert_eq!(failure.error.raw_os_error(), Some(libc_eio()));
    assert!(matches!(j.close(), Err(Error::Failed(_))));
    // Reopening recovers what reached the file.
    let j = Journal::open(tmp.path(), small()).expect("reopen");
    assert_eq!(j.next_offset(), 1);
}

fn libc_eio() -> i32 {
    5
}
