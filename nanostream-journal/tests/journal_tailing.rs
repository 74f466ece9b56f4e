//! Readers beside a live writer: rotation under a follower, retention under a tailing reader,
//! a lagging reader whose segment is deleted, and a follower in another process.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{payload_for, segment_bases, segment_file, tagged, wait_until, ChildLines, KillOnDrop, TempDir};
use nanostream_journal::{Error, Journal, JournalConfig, JournalReader, Retention};

const WAIT: Duration = Duration::from_secs(30);

fn small() -> JournalConfig {
    JournalConfig::new().segment_size(8192).index_interval(256)
}

/// Follows the journal from its start until `n` records, checking each.
fn follow(dir: &std::path::Path, n: u64, progress: &AtomicU64) {
    let mut r = JournalReader::open(dir).expect("reader");
    for expected in 0..n {
        let rec = r
            .wait_next(WAIT)
            .expect("read")
            .expect("the writer keeps appending");
        assert_eq!(rec.offset, expected);
        assert_eq!(rec.payload, &payload_for(expected)[..]);
        progress.store(expected + 1, Ordering::Release);
    }
}

#[test]
fn a_follower_crosses_every_rotation() {
    let tmp = TempDir::new("rotate-follow");
    let mut j = Journal::open(tmp.path(), small()).expect("open");
    let dir = tmp.path().to_path_buf();
    let progress = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&progress);
    let reader = std::thread::spawn(move || follow(&dir, 2000, &p));
    for o in 0..2000 {
        j.append(&payload_for(o)).expect("append");
        if o % 10 == 9 {
            j.commit().expect("commit");
        }
    }
    j.commit().expect("commit");
    reader.join().expect("the follower saw every record");
    assert!(j.segment_count() > 20, "{} segments", j.segment_count());
}

#[test]
fn retention_never_breaks_a_tailing_reader() {
    let tmp = TempDir::new("retention-tail");
    let retention = Retention {
        max_bytes: Some(4 * 8192),
        max_age: None,
    };
    let mut j = Journal::open(tmp.path(), small().retention(retention)).expect("open");
    let dir = tmp.path().to_path_buf();
    let progress = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&progress);
    let reader = std::thread::spawn(move || follow(&dir, 3000, &p));
    for o in 0..3000 {
        // Flow control keeps the reader within retention whatever the scheduling: the writer
        // never gets more than ~one segment ahead.
        if o >= 40 {
            wait_until(WAIT, "the reader to keep up", || {
                progress.load(Ordering::Acquire) + 40 >= o
            });
        }
        j.append(&payload_for(o)).expect("append");
        j.commit().expect("commit");
    }
    reader.join().expect("the tailing reader saw every record");
    let files = segment_bases(tmp.path());
    assert!(files.len() <= 4, "retention deleted old segments: {files:?}");
    assert!(files[0] > 0, "the first segment is gone");
    assert_eq!(j.first_offset(), files[0]);
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    assert!(matches!(r.seek(0), Err(Error::OffsetOutOfRange { first, .. }) if first == files[0]));
}

#[test]
fn a_lagging_reader_finishes_its_deleted_segment_then_gets_a_clear_error() {
    let tmp = TempDir::new("retention-lag");
    let retention = Retention {
        max_bytes: Some(2 * 8192),
        max_age: None,
    };
    let mut j = Journal::open(tmp.path(), small().retention(retention)).expect("open");
    for o in 0..10 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    assert_eq!(r.read_next().expect("read").expect("record 0").offset, 0);
    for o in 10..600 {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    assert!(
        !segment_file(tmp.path(), 0, "log").exists(),
        "segment 0 was deleted"
    );
    // The reader still has segment 0 mapped: it reads it to the end.
    let mut next = 1;
    let err = loop {
        match r.read_next() {
            Ok(Some(rec)) => {
                assert_eq!(rec.offset, next);
                assert_eq!(rec.payload, &payload_for(next)[..]);
                next += 1;
            }
            Ok(None) => panic!("records were lost silently"),
            Err(e) => break e,
        }
    };
    assert!(next > 10, "the whole mapped segment was readable");
    assert!(
        matches!(err, Error::Deleted { offset, first } if offset == next && first == j.first_offset()),
        "{err}"
    );
}

#[test]
fn age_retention_deletes_only_old_sealed_segments() {
    let tmp = TempDir::new("retention-age");
    let retention = Retention {
        max_bytes: None,
        max_age: Some(Duration::from_secs(3600)),
    };
    let mut j = Journal::open(tmp.path(), small().retention(retention)).expect("open");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let two_hours = 2 * 3600 * 1_000_000_000;
    // Old records, then new ones: rotation triggers retention of the old sealed segments.
    for o in 0..100 {
        j.append_at(now - two_hours, &payload_for(o)).expect("append");
    }
    for o in 100..300 {
        j.append_at(now, &payload_for(o)).expect("append");
    }
    j.apply_retention().expect("retention");
    let bases = segment_bases(tmp.path());
    assert!(bases[0] > 0, "old segments were deleted");
    assert!(
        bases[0] <= 100,
        "no segment with a young record was deleted: {bases:?}"
    );
    assert!(
        bases.get(1).is_none_or(|&b| b > 100),
        "every remaining segment holds young records"
    );
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    r.seek(100).expect("young records retained");
}

/// Appends 1500 records with a commit every 7, then exits.
#[test]
fn tail_writer_child() {
    let Ok(dir) = std::env::var("NSJ_TAIL_DIR") else {
        return; // only runs as the parent's child
    };
    let mut j = Journal::open(&dir, small()).expect("child open");
    for o in 0..1500 {
        j.append(&payload_for(o)).expect("append");
        if o % 7 == 6 {
            j.commit().expect("commit");
        }
    }
    j.close().expect("close");
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, b"\nDONE\n").expect("report");
}

#[test]
fn a_follower_in_another_process_sees_every_record() {
    let tmp = TempDir::new("tail-proc");
    Journal::open(tmp.path(), small())
        .expect("create")
        .close()
        .expect("close");
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("exe"))
            .args(["--exact", "tail_writer_child", "--nocapture", "--test-threads=1"])
            .env("NSJ_TAIL_DIR", tmp.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let lines = ChildLines::new(child.0.stdout.take().expect("stdout"));
    follow(tmp.path(), 1500, &AtomicU64::new(0));
    while tagged(&lines.next_line(WAIT), "DONE").is_none() {}
    assert!(child.0.wait().expect("wait").success());
}
