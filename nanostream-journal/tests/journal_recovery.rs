//! Crash recovery: torn and corrupt tails, stale bytes, damaged and missing indexes, damage in
//! sealed segments.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{assert_prefix, payload_for, segment_bases, segment_file, Rng, TempDir};
use nanostream_journal::{inspect, Error, Journal, JournalConfig, JournalReader};

const HEADER: u64 = nanostream_journal::SEGMENT_HEADER_LEN as u64;

fn span(len: usize) -> u64 {
    ((nanostream_journal::RECORD_HEADER_LEN + len + 7) & !7) as u64
}

fn config() -> JournalConfig {
    JournalConfig::new().segment_size(64 << 10).index_interval(512)
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for damage");
    f.write_all_at(bytes, at).expect("damage");
}

fn append_garbage(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    std::io::Write::write_all(&mut f, bytes).expect("append garbage");
}

/// Writes records `0..n` and drops the journal (no clean marker); returns their start positions
/// and the end position (single segment).
fn write_unclean(dir: &Path, n: u64) -> Vec<u64> {
    let mut j = Journal::open(dir, config()).expect("open");
    let mut positions = vec![HEADER];
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
        let next = positions[o as usize] + span(payload_for(o).len());
        positions.push(next);
    }
    j.commit().expect("commit");
    assert_eq!(j.segment_count(), 1, "the test keeps to one segment");
    positions
}

#[test]
fn random_corruption_to_the_end_keeps_exactly_the_valid_prefix() {
    let mut rng = Rng::from_env("random_corruption");
    for round in 0..20 {
        let tmp = TempDir::new("corrupt");
        let n = rng.range(20, 150);
        let positions = write_unclean(tmp.path(), n);
        let end = positions[n as usize];
        // From a random point (possibly past the last record) to a random end past both the
        // data and the start of the damage.
        let from = rng.range(HEADER, end + 64);
        let to = from.max(end) + rng.range(1, 512);
        let mut garbage = vec![0u8; (to - from) as usize];
        rng.fill(&mut garbage);
        overwrite(&segment_file(tmp.path(), 0, "log"), from, &garbage);
        // Record i survives iff its header and payload lie wholly before the damage
        // (padding is not covered by the CRC).
        let valid = (0..n)
            .take_while(|&i| positions[i as usize] + 24 + payload_for(i).len() as u64 <= from)
            .count() as u64;

        let mut j = Journal::open(tmp.path(), config()).expect("recover");
        assert_eq!(
            j.next_offset(),
            valid,
            "round {round}: damage from byte {from}, end {end}"
        );
        assert!(j.open_report().scanned);
        j.append(&payload_for(valid)).expect("append after recovery");
        j.close().expect("close");
        assert_prefix(tmp.path(), valid + 1);
        // And once more after a clean reopen.
        let mut j = Journal::open(tmp.path(), config()).expect("reopen");
        assert_eq!(j.next_offset(), valid + 1);
        j.append(&payload_for(valid + 1)).expect("append");
        drop(j);
        assert_prefix(tmp.path(), valid + 2);
    }
}

#[test]
fn garbage_after_the_last_record_and_past_the_file_end_is_discarded() {
    let tmp = TempDir::new("garbage-log");
    let positions = write_unclean(tmp.path(), 40);
    let log = segment_file(tmp.path(), 0, "log");
    let mut rng = Rng::new(7);
    let mut garbage = vec![0u8; 3000];
    rng.fill(&mut garbage);
    overwrite(&log, positions[40], &garbage);
    append_garbage(&log, &garbage[..1001]);
    let mut j = Journal::open(tmp.path(), config()).expect("recover");
    assert_eq!(j.next_offset(), 40);
    assert!(j.open_report().truncated);
    assert_eq!(
        std::fs::metadata(&log).expect("stat").len(),
        64 << 10,
        "garbage past the end cut"
    );
    j.append(&payload_for(40)).expect("append");
    j.close().expect("close");
    assert_prefix(tmp.path(), 41);
}

#[test]
fn stale_records_of_another_segment_never_validate() {
    // Journal B holds records 0..60; journal A the same first 20. Copy B's records 20..60 into
    // A's preallocated space, at exactly the positions A would write them: same sequences,
    // same payloads, only the segment seed differs. A must not resurrect them.
    let tmp = TempDir::new("stale");
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let pa = write_unclean(&a, 20);
    let pb = write_unclean(&b, 60);
    assert_eq!(pa[20], pb[20]);
    let b_log = std::fs::read(segment_file(&b, 0, "log")).expect("read b");
    overwrite(
        &segment_file(&a, 0, "log"),
        pa[20],
        &b_log[pb[20] as usize..pb[60] as usize],
    );

    let mut j = Journal::open(&a, config()).expect("recover a");
    assert_eq!(
        j.next_offset(),
        20,
        "stale records from another segment were accepted"
    );
    // The stale bytes were zeroed: appending shorter records cannot line up with them either.
    for o in 20..60 {
        j.append(&payload_for(o)).expect("append");
    }
    drop(j);
    assert_prefix(&a, 60);
    let j = Journal::open(&a, config()).expect("reopen");
    assert_eq!(j.next_offset(), 60);
}

#[test]
fn stale_tail_after_truncation_cannot_come_back() {
    // A torn record in the middle of the tail leaves valid-looking records of the same segment
    // after it. Recovery truncates at the tear and must zero those, or a later append of a
    // record with the same length would make them valid again.
    let tmp = TempDir::new("stale-tail");
    let positions = write_unclean(tmp.path(), 30);
    let log = segment_file(tmp.path(), 0, "log");
    // Tear record 10: flip one payload byte (its length word is intact).
    let at = positions[10] + 24;
    overwrite(&log, at, &[!std::fs::read(&log).expect("read")[at as usize]]);
    let mut j = Journal::open(tmp.path(), config()).expect("recover");
    assert_eq!(j.next_offset(), 10);
    j.append(&payload_for(10)).expect("same record again");
    drop(j);
    let j = Journal::open(tmp.path(), config()).expect("recover again");
    assert_eq!(
        j.next_offset(),
        11,
        "records 11.. of the old tail must not reappear"
    );
    drop(j);
    assert_prefix(tmp.path(), 11);
}

fn multi_segment(dir: &Path, n: u64) -> Journal {
    let mut j =
        Journal::open(dir, JournalConfig::new().segment_size(8192).index_interval(256)).expect("open");
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    assert!(j.segment_count() >= 4);
    j
}

fn small() -> JournalConfig {
    JournalConfig::new().segment_size(8192).index_interval(256)
}

#[test]
fn garbage_in_or_after_an_index_is_rebuilt() {
    for clean in [true, false] {
        let tmp = TempDir::new("garbage-index");
        let j = multi_segment(tmp.path(), 300);
        if clean {
            j.close().expect("close");
        } else {
            drop(j);
        }
        let mut rng = Rng::new(11);
        for (i, base) in segment_bases(tmp.path()).into_iter().enumerate() {
            let index = segment_file(tmp.path(), base, "index");
            let mut garbage = vec![0u8; 100];
            rng.fill(&mut garbage);
            if i % 2 == 0 {
                append_garbage(&index, &garbage);
            } else {
                overwrite(&index, 32 + 16 * 2, &garbage[..40]);
            }
        }
        assert!(inspect(tmp.path()).expect("inspect").iter().all(|s| !s.index_ok));
        let j = Journal::open(tmp.path(), small()).expect("reopen");
        assert_eq!(j.next_offset(), 300);
        let infos = inspect(tmp.path()).expect("inspect");
        assert!(
            infos.iter().all(|s| s.index_ok),
            "every index rebuilt (clean = {clean})"
        );
        drop(j);
        let mut r = JournalReader::open(tmp.path()).expect("reader");
        for target in [0, 99, 150, 299] {
            r.seek(target).expect("seek");
            assert_eq!(r.read_next().expect("read").expect("record").offset, target);
        }
        assert_prefix(tmp.path(), 300);
    }
}

#[test]
fn deleted_indexes_are_rebuilt() {
    let tmp = TempDir::new("no-index");
    multi_segment(tmp.path(), 300).close().expect("close");
    let bases = segment_bases(tmp.path());
    for &base in &bases {
        std::fs::remove_file(segment_file(tmp.path(), base, "index")).expect("delete index");
    }
    // A reader copes without indexes (it scans).
    let mut r = JournalReader::open(tmp.path()).expect("reader");
    r.seek(250).expect("seek without index");
    assert_eq!(r.read_next().expect("read").expect("record").offset, 250);
    // The writer rebuilds them.
    let j = Journal::open(tmp.path(), small()).expect("reopen");
    assert_eq!(j.next_offset(), 300);
    for &base in &bases {
        assert!(
            segment_file(tmp.path(), base, "index").exists(),
            "index {base} rebuilt"
        );
    }
    assert!(inspect(tmp.path()).expect("inspect").iter().all(|s| s.index_ok));
}

#[test]
fn corruption_in_a_sealed_segment_is_reported_never_skipped() {
    let tmp = TempDir::new("sealed-corrupt");
    let j = multi_segment(tmp.path(), 300);
    let bases = segment_bases(tmp.path());
    let (seg, next_base) = (bases[1], bases[2]);
    drop(j);
    // Find record `target` in segment 1 and flip a byte of its payload.
    let target = seg + (next_base - seg) / 2;
    let mut pos = HEADER;
    for o in seg..target {
        pos += span(payload_for(o).len());
    }
    let path = segment_file(tmp.path(), seg, "log");
    assert!(!payload_for(target).is_empty());
    let byte = std::fs::read(&path).expect("read")[(pos + 24) as usize];
    overwrite(&path, pos + 24, &[!byte]);

    let mut r = JournalReader::open(tmp.path()).expect("reader");
    for o in 0..target {
        assert_eq!(r.read_next().expect("valid before").expect("record").offset, o);
    }
    for _ in 0..2 {
        match r.read_next() {
            Err(Error::Corrupt {
                segment,
                offset,
                position,
                ..
            }) => {
                assert_eq!((segment, offset, position), (path.clone(), target, pos));
            }
            other => panic!("expected a corrupt record error, got {other:?}"),
        }
    }
    let err = r.read_next().expect_err("still corrupt");
    assert!(err.to_string().contains(&format!("offset {target}")), "{err}");
    // Seeking past the damage works; verification reports it.
    r.seek(next_base).expect("seek past");
    assert_eq!(r.read_next().expect("read").expect("record").offset, next_base);
    let infos = inspect(tmp.path()).expect("inspect");
    assert!(matches!(infos[1].problem, Some(Error::Corrupt { offset, .. }) if offset == target));
    // The writer still opens (the damage is in history, not in the tail it appends to).
    let j = Journal::open(tmp.path(), small()).expect("writer opens");
    assert_eq!(j.next_offset(), 300);
}

#[test]
fn an_interrupted_rotation_is_completed() {
    let tmp = TempDir::new("rotation");
    let j = multi_segment(tmp.path(), 300);
    drop(j);
    let bases = segment_bases(tmp.path());
    let last = *bases.last().expect("segments");
    // Keep only the sealed segments, as if the process died after sealing and before the new
    // segment was renamed into place; leave a half-made temporary file.
    for ext in ["log", "index"] {
        std::fs::remove_file(segment_file(tmp.path(), last, ext)).expect("remove");
    }
    let prev = bases[bases.len() - 2];
    // Re-seal is not needed: the previous segment was sealed at rotation. Records of the removed
    // tail are gone; the journal must continue at the start of the removed segment.
    std::fs::write(tmp.join(&format!("{last:020}.log.tmp")), b"half").expect("tmp");
    let mut j = Journal::open(tmp.path(), small()).expect("recover");
    assert_eq!(j.next_offset(), last);
    assert!(
        !tmp.join(&format!("{last:020}.log.tmp")).exists(),
        "leftover removed"
    );
    assert!(
        segment_file(tmp.path(), last, "log").exists(),
        "next segment created"
    );
    assert!(prev < last);
    j.append(&payload_for(last)).expect("append");
    drop(j);
    assert_prefix(tmp.path(), last + 1);
}
