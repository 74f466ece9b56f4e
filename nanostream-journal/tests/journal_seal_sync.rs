//! Under `Durability::Never` a sealed segment is fdatasynced once, before the next segment is
//! created, so a power loss cannot leave a later segment behind a sealed one whose end never
//! reached the disk (which readers would report as an empty slot in a non-last segment).

mod common;

use common::{payload_for, TempDir};
use nanostream_journal::{Durability, Error, Journal, JournalConfig};

fn never() -> JournalConfig {
    JournalConfig::new()
        .segment_size(8192)
        .durability(Durability::Never)
}

/// Appends until the journal has two segments or an append fails; returns the error, if any.
fn append_past_a_rotation(j: &mut Journal) -> Option<Error> {
    for o in 0..1000 {
        if let Err(e) = j.append(&payload_for(o)) {
            return Some(e);
        }
        if j.segment_count() > 1 {
            return None;
        }
    }
    panic!("no rotation after 1000 records");
}

#[test]
fn under_never_sealing_a_segment_syncs_it_before_the_next_is_created() {
    let tmp = TempDir::new("seal-sync");
    let mut j = Journal::open(tmp.path(), never()).expect("open");
    // The next fdatasync fails: under Never, the only one before `sync`/`close` is the seal's.
    j.inject_sync_failure();
    let err = append_past_a_rotation(&mut j).expect("the seal's fdatasync ran and failed");
    assert!(
        matches!(&err, Error::Sync { path, .. } if path.ends_with(format!("{:020}.log", 0))),
        "{err}"
    );
    assert_eq!(j.segment_count(), 1, "no next segment behind an unsynced seal");
    assert!(matches!(j.append(b"x"), Err(Error::Failed(_))));
}

#[test]
fn the_seal_sync_can_be_turned_off_under_never() {
    let tmp = TempDir::new("seal-sync-off");
    let mut j = Journal::open(tmp.path(), never().seal_sync(false)).expect("open");
    j.inject_sync_failure();
    assert!(
        append_past_a_rotation(&mut j).is_none(),
        "no fdatasync at rotation"
    );
    // The pending injected failure hits the first explicit sync instead.
    assert!(matches!(j.sync(), Err(Error::Sync { .. })));
}
