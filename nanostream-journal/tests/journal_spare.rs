//! The spare segment (`next-segment.spare`, prepared ahead of rotation) and segments installed
//! from it: a spare present at crash time never confuses recovery, readers or retention (the CLI:
//! `nanostream-journal-cli/tests/journal_cli_spare.rs`);
//! a newest segment whose header never reached the disk (power loss right after a rotation under
//! `Never`) is dropped and recovery keeps exactly the valid prefix.

mod common;

use std::time::Duration;

use common::{appended, assert_prefix, payload_for, segment_bases, segment_file, wait_until, TempDir};
use nanostream_journal::{Durability, Journal, JournalConfig, Retention};

const SPARE: &str = "next-segment.spare";
const WAIT: Duration = Duration::from_secs(30);

fn config(durability: Durability) -> JournalConfig {
    JournalConfig::new()
        .segment_size(8192)
        .index_interval(256)
        .durability(durability)
}

#[test]
fn retention_never_deletes_the_spare() {
    let tmp = TempDir::new("spare-retention");
    let cfg = config(Durability::Never).retention(Retention {
        max_bytes: Some(3 * 8192),
        max_age: None,
    });
    let mut j = Journal::open(tmp.path(), cfg).expect("open");
    for o in 0..2000 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    assert!(j.segment_count() <= 4, "retention ran: {}", j.segment_count());
    wait_until(WAIT, "the spare", || tmp.join(SPARE).exists());
    let first = j.first_offset();
    drop(j);
    let j = Journal::open(tmp.path(), config(Durability::Never)).expect("reopen");
    assert_eq!(j.next_offset(), 2000);
    assert_eq!(j.first_offset(), first);
}

#[test]
fn a_spare_present_at_crash_time_is_deleted_and_appends_continue() {
    for durability in [Durability::Never, Durability::EveryBatch] {
        let tmp = TempDir::new("spare-crash");
        let j = appended(tmp.path(), config(durability), 300);
        wait_until(WAIT, "the spare", || tmp.join(SPARE).exists());
        drop(j); // a crash: no close, the spare stays
        assert!(tmp.join(SPARE).exists());
        // Stale bytes in the spare (as if a previous life had written there) change nothing.
        std::fs::write(tmp.join(SPARE), vec![0xA5u8; 8192]).expect("scribble");
        let mut j = Journal::open(tmp.path(), config(durability)).expect("recover");
        assert!(j.open_report().scanned);
        assert_eq!(j.next_offset(), 300);
        for o in 300..600 {
            j.append(&payload_for(o)).expect("append");
        }
        j.close().expect("close");
        assert_prefix(tmp.path(), 600);
    }
}

#[test]
fn a_newest_segment_without_a_header_is_dropped() {
    let tmp = TempDir::new("spare-no-header");
    let j = appended(tmp.path(), config(Durability::Never), 300);
    drop(j);
    let bases = segment_bases(tmp.path());
    assert!(bases.len() >= 3, "{bases:?}");
    let newest = *bases.last().expect("segments");
    // A power loss after a rotation under Never: the rename reached the disk, the header (and
    // the records behind it) did not.
    let log = segment_file(tmp.path(), newest, "log");
    std::fs::write(&log, vec![0u8; 8192]).expect("zero the newest segment");
    let mut j = Journal::open(tmp.path(), config(Durability::Never)).expect("recover");
    // The previous segment is sealed: the journal continues at the dropped segment's base.
    assert_eq!(j.next_offset(), newest);
    j.append(&payload_for(newest)).expect("append");
    j.close().expect("close");
    assert_prefix(tmp.path(), newest + 1);
}

#[test]
fn a_zeroed_header_in_front_of_records_is_reported_not_dropped() {
    let tmp = TempDir::new("spare-zeroed-header");
    drop(appended(tmp.path(), config(Durability::EveryBatch), 300));
    let newest = *segment_bases(tmp.path()).last().expect("segments");
    // Damage, not a lost page: the header is gone but records follow it in the same page, so
    // dropping the segment would silently lose them.
    let log = segment_file(tmp.path(), newest, "log");
    let mut bytes = std::fs::read(&log).expect("read segment");
    bytes[..64].fill(0);
    std::fs::write(&log, &bytes).expect("zero the header only");
    let err = Journal::open(tmp.path(), config(Durability::EveryBatch)).expect_err("must not open");
    assert!(
        matches!(err, nanostream_journal::Error::CorruptSegment { .. }),
        "a damaged header is reported: {err}"
    );
    assert!(log.exists(), "the damaged segment is kept for inspection");
}

#[test]
fn a_newest_segment_without_a_header_after_a_lost_seal_keeps_the_valid_prefix() {
    let tmp = TempDir::new("spare-no-header-no-seal");
    let j = appended(tmp.path(), config(Durability::Never), 300);
    drop(j);
    let bases = segment_bases(tmp.path());
    let (prev, newest) = (bases[bases.len() - 2], bases[bases.len() - 1]);
    std::fs::write(segment_file(tmp.path(), newest, "log"), vec![0u8; 8192]).expect("zero");
    // The previous segment lost its last records and its seal too: zero from its 5th record on.
    let prev_log = segment_file(tmp.path(), prev, "log");
    let bytes = std::fs::read(&prev_log).expect("read");
    let mut pos = nanostream_journal::SEGMENT_HEADER_LEN;
    for _ in 0..5 {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4")) as usize;
        pos += (len + 7) & !7;
    }
    let mut zeroed = bytes.clone();
    zeroed[pos..].fill(0);
    std::fs::write(&prev_log, zeroed).expect("write");
    let j = Journal::open(tmp.path(), config(Durability::Never)).expect("recover");
    assert_eq!(j.next_offset(), prev + 5);
    j.close().expect("close");
    assert_prefix(tmp.path(), prev + 5);
}

#[test]
fn the_only_segment_without_a_header_is_recreated_at_its_base() {
    let tmp = TempDir::new("spare-only");
    let cfg = config(Durability::Never).retention(Retention {
        max_bytes: Some(8192),
        max_age: None,
    });
    let j = {
        let mut j = Journal::open(tmp.path(), cfg).expect("open");
        for o in 0..500 {
            j.append(&payload_for(o)).expect("append");
        }
        j.commit().expect("commit");
        j
    };
    drop(j);
    let bases = segment_bases(tmp.path());
    assert_eq!(
        bases.len(),
        1,
        "retention kept only the active segment: {bases:?}"
    );
    let base = bases[0];
    std::fs::write(segment_file(tmp.path(), base, "log"), vec![0u8; 8192]).expect("zero");
    let mut j = Journal::open(tmp.path(), config(Durability::Never)).expect("recover");
    assert_eq!(j.next_offset(), base, "offsets continue from the segment's name");
    assert_eq!(j.append(b"after").expect("append"), base);
    j.close().expect("close");
}

#[test]
fn never_sync_makes_the_installed_segment_durable() {
    // Under Never a rotation installs the next segment without fsyncs; `sync` and `close` must
    // still leave a journal that reopens with every record (checked here through a reopen; the
    // fdatasync itself is the same call the other policies use).
    let tmp = TempDir::new("spare-never-sync");
    let mut j = appended(tmp.path(), config(Durability::Never), 500);
    j.sync().expect("sync");
    drop(j);
    let j = Journal::open(tmp.path(), config(Durability::Never)).expect("reopen");
    assert_eq!(j.next_offset(), 500);
    drop(j);
    assert_prefix(tmp.path(), 500);
}
