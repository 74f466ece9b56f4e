//! Trimming a stored stream: exact and approximate `MAXLEN` and `MINID`, `LIMIT`, the journal
//! segments a trim frees, and the state after reopening (cleanly and after a crash) once the
//! segments holding the trimmed entries are gone.

mod temp_dir;

use nanostream_journal::JournalConfig;
use nanostream_net::streams::stream::TrimTo;
use nanostream_net::streams::{Stream, StreamConfig, StreamId};
use temp_dir::TempDir;

fn config() -> StreamConfig {
    StreamConfig::new()
        .journal(JournalConfig::new().segment_size(64 << 10).index_interval(512))
        .index_every(16)
}

/// A stream of entries `1-0 ..= n-0`, each about 200 bytes (so a 64 KiB segment holds ~300).
fn filled(dir: &TempDir, n: u64) -> Stream {
    let mut s = Stream::open_or_create(dir.path(), config()).expect("open");
    let pad = vec![b'x'; 180];
    for i in 1..=n {
        s.append(
            StreamId::new(i, 0),
            &[&b"n"[..], i.to_string().as_bytes(), b"pad", &pad],
        )
        .expect("append");
    }
    s.commit().expect("commit");
    s
}

fn ids(s: &mut Stream) -> Vec<u64> {
    s.range(StreamId::MIN, StreamId::MAX, None)
        .expect("range")
        .into_iter()
        .map(|(id, _)| id.ms)
        .collect()
}

#[test]
fn exact_maxlen_keeps_exactly_the_newest() {
    let dir = TempDir::new("exact");
    let mut s = filled(&dir, 100);
    s.delete(&[StreamId::new(3, 0), StreamId::new(95, 0)])
        .expect("xdel");
    assert_eq!(s.trim(TrimTo::MaxLen(10), false, None).expect("trim"), 88);
    assert_eq!(s.len(), 10);
    let want: Vec<u64> = (90..=100).filter(|&i| i != 95).collect();
    assert_eq!(ids(&mut s), want);
    assert_eq!(s.first_id(), Some(StreamId::new(90, 0)));
    assert_eq!(s.entries_added(), 100, "trimming does not change entries-added");
    assert_eq!(s.max_deleted_id(), StreamId::new(95, 0));
    // Already within the bound: nothing to do.
    assert_eq!(s.trim(TrimTo::MaxLen(10), false, None).expect("trim"), 0);
    // MINID keeps the IDs at or above it; LIMIT caps what goes.
    assert_eq!(
        s.trim(TrimTo::MinId(StreamId::new(97, 0)), false, Some(2))
            .expect("trim"),
        2
    );
    assert_eq!(ids(&mut s), [92, 93, 94, 96, 97, 98, 99, 100]);
    assert_eq!(
        s.trim(TrimTo::MinId(StreamId::new(97, 0)), false, None)
            .expect("trim"),
        4
    );
    assert_eq!(ids(&mut s), [97, 98, 99, 100]);
    // MAXLEN 0 empties the stream, whose last ID stays.
    assert_eq!(s.trim(TrimTo::MaxLen(0), false, None).expect("trim"), 4);
    assert!(s.is_empty());
    assert_eq!(s.last_id(), StreamId::new(100, 0));
    s.close().expect("close");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    assert!(s.is_empty());
    assert_eq!((s.last_id(), s.entries_added()), (StreamId::new(100, 0), 100));
    assert!(ids(&mut s).is_empty());
}

#[test]
fn approximate_trim_keeps_at_least_the_bound_and_frees_whole_segments() {
    let dir = TempDir::new("approx");
    let mut s = filled(&dir, 2000);
    let segments = s.journal().segment_count();
    assert!(segments >= 5, "the stream spans several segments ({segments})");
    let removed = s.trim(TrimTo::MaxLen(300), true, None).expect("trim ~");
    assert!(s.len() >= 300, "~ never keeps fewer than asked ({})", s.len());
    assert!(
        s.len() < 300 + 16,
        "~ keeps less than one index block more ({})",
        s.len()
    );
    assert_eq!(removed + s.len(), 2000);
    assert!(
        s.journal().segment_count() < segments,
        "the segments before the first entry left are deleted ({} of {segments} left)",
        s.journal().segment_count()
    );
    let first = s.first_id().expect("entries left").ms;
    assert_eq!(ids(&mut s), (first..=2000).collect::<Vec<_>>());
    // New entries after the trim, then a crash (no close): the reopened stream reads the same.
    let pad = vec![b'y'; 180];
    for i in 2001..=2100 {
        s.append(
            StreamId::new(i, 0),
            &[&b"n"[..], i.to_string().as_bytes(), b"pad", &pad],
        )
        .expect("append");
    }
    s.commit().expect("commit");
    let (len, added) = (s.len(), s.entries_added());
    drop(s);
    let mut s = Stream::open_or_create(dir.path(), config()).expect("recover");
    assert_eq!((s.len(), s.entries_added()), (len, added));
    assert_eq!(s.first_id(), Some(StreamId::new(first, 0)));
    assert_eq!(s.last_id(), StreamId::new(2100, 0));
    assert_eq!(ids(&mut s), (first..=2100).collect::<Vec<_>>());
    let fields = s
        .range(StreamId::new(2050, 0), StreamId::new(2050, 0), None)
        .expect("range");
    assert_eq!(fields[0].1.to_vec()[1], b"2050".to_vec());
}

#[test]
fn deletions_and_trims_survive_reopening_with_early_segments_gone() {
    let dir = TempDir::new("reopen");
    let mut s = filled(&dir, 1500);
    // A tombstone after the trim point and one before it.
    s.delete(&[StreamId::new(10, 0), StreamId::new(1400, 0)])
        .expect("xdel");
    s.trim(TrimTo::MinId(StreamId::new(1200, 0)), false, None)
        .expect("trim");
    assert_eq!(s.len(), 300);
    s.close().expect("close");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    assert_eq!(s.len(), 300);
    assert_eq!(s.first_id(), Some(StreamId::new(1200, 0)));
    assert_eq!(s.max_deleted_id(), StreamId::new(1400, 0));
    let want: Vec<u64> = (1200..=1500).filter(|&i| i != 1400).collect();
    assert_eq!(ids(&mut s), want);
    assert_eq!(
        s.delete(&[StreamId::new(1400, 0), StreamId::new(5, 0)])
            .expect("xdel"),
        0
    );
}
