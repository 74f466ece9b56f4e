//! One stream stored on its journal: append and ranges both ways (COUNT, bounds inside and
//! outside, an empty stream), deletion and length, reopening after a clean close and after a
//! crash, a torn tail cut to its valid prefix and reported, 100,000 entries read from the
//! middle, refused IDs, and random operations against an in-memory model.

mod temp_dir;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nanostream_journal::{Durability, JournalConfig, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use nanostream_net::streams::entry;
use nanostream_net::streams::{IdError, Stream, StreamConfig, StreamError, StreamId};
use temp_dir::TempDir;

/// Small segments, so that tests cross segment boundaries, and small index blocks.
fn config(index_every: usize) -> StreamConfig {
    StreamConfig::new()
        .journal(JournalConfig::new().segment_size(64 << 10).index_interval(512))
        .index_every(index_every)
}

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

/// The fields of entry `n`: `n`, its decimal text, and a binary blob of 0..40 bytes.
fn fields_for(n: u64) -> Vec<Vec<u8>> {
    let blob: Vec<u8> = (0..n % 41).map(|i| (n.wrapping_mul(31) + i) as u8).collect();
    vec![
        b"n".to_vec(),
        n.to_string().into_bytes(),
        b"blob\0".to_vec(),
        blob,
    ]
}

/// The ID of entry `n` in most tests: two entries per millisecond, from `1-0`.
fn id_for(n: u64) -> StreamId {
    id(1 + n / 2, n % 2)
}

fn ids(entries: &[(StreamId, entry::Fields)]) -> Vec<StreamId> {
    entries.iter().map(|(id, _)| *id).collect()
}

/// A stream with entries `0..n` (`id_for`, `fields_for`), committed.
fn filled(dir: &Path, config: StreamConfig, n: u64) -> Stream {
    let mut s = Stream::open_or_create(dir, config).expect("open");
    for i in 0..n {
        s.append(id_for(i), &fields_for(i)).expect("append");
    }
    s.commit().expect("commit");
    s
}

#[test]
fn a_stream_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<Stream>();
}

#[test]
fn an_empty_stream_has_nothing_in_any_range() {
    let tmp = TempDir::new("empty");
    let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("create");
    assert!(s.is_empty());
    assert_eq!((s.len(), s.first_id(), s.last_id()), (0, None, StreamId::MIN));
    assert!(s.range(StreamId::MIN, StreamId::MAX, None).unwrap().is_empty());
    assert!(s
        .rev_range(StreamId::MAX, StreamId::MIN, Some(10))
        .unwrap()
        .is_empty());
    assert_eq!(s.delete(&[id(1, 0)]).unwrap(), 0);
    assert_eq!(s.next_offset(), 0, "deleting nothing writes nothing");
    assert!(s.open_report().dropped.is_none());
    s.close().expect("close");
    let s = Stream::open_or_create(tmp.path(), config(4)).expect("reopen");
    assert_eq!((s.len(), s.last_id()), (0, StreamId::MIN));
}

#[test]
fn ranges_forward_and_backward_with_count_and_bounds() {
    let tmp = TempDir::new("ranges");
    // Ten entries, 1-0 1-1 2-0 ... 5-1, in index blocks of three.
    let mut s = filled(tmp.path(), config(3), 10);
    let all: Vec<StreamId> = (0..10).map(id_for).collect();
    assert_eq!(s.len(), 10);
    assert_eq!((s.first_id(), s.last_id()), (Some(id(1, 0)), id(5, 1)));

    let whole = s.range(StreamId::MIN, StreamId::MAX, None).unwrap();
    assert_eq!(ids(&whole), all);
    for (n, (_, fields)) in whole.iter().enumerate() {
        assert_eq!(fields.to_vec(), fields_for(n as u64), "fields of entry {n}");
    }
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(
        ids(&s.rev_range(StreamId::MAX, StreamId::MIN, None).unwrap()),
        reversed
    );

    // (start, end, count) against the expected slice of `all`, forward and backward.
    let cases: &[(StreamId, StreamId, Option<usize>)] = &[
        (id(2, 0), id(4, 0), None),
        (id(2, 1), id(4, 0), Some(2)),
        (id(1, 5), id(3, 0), None),      // start between IDs
        (id(0, 0), id(1, 0), None),      // end on the first
        (id(5, 1), StreamId::MAX, None), // start on the last
        (id(6, 0), StreamId::MAX, None), // after the last
        (StreamId::MIN, id(0, 9), None), // before the first
        (id(3, 0), id(2, 0), None),      // start after end
        (id(3, 0), id(3, 0), None),      // one ID
        (id(3, 0), id(3, 0), Some(0)),
        (StreamId::MIN, StreamId::MAX, Some(1)),
        (StreamId::MIN, StreamId::MAX, Some(4)),
        (StreamId::MIN, StreamId::MAX, Some(100)),
        (id(2, 0), StreamId::MAX, Some(3)),
    ];
    for &(start, end, count) in cases {
        let inside: Vec<StreamId> = all.iter().copied().filter(|&i| start <= i && i <= end).collect();
        let limit = count.unwrap_or(usize::MAX);
        let forward: Vec<StreamId> = inside.iter().copied().take(limit).collect();
        let backward: Vec<StreamId> = inside.iter().rev().copied().take(limit).collect();
        assert_eq!(
            ids(&s.range(start, end, count).unwrap()),
            forward,
            "range {start} {end} {count:?}"
        );
        assert_eq!(
            ids(&s.rev_range(end, start, count).unwrap()),
            backward,
            "rev_range {end} {start} {count:?}"
        );
    }
    // The fields come with the right IDs backwards too.
    for (got_id, fields) in s.rev_range(id(4, 1), id(2, 0), Some(3)).unwrap() {
        let n = all.iter().position(|&i| i == got_id).unwrap() as u64;
        assert_eq!(fields.to_vec(), fields_for(n));
    }
}

#[test]
fn delete_counts_what_existed_and_ranges_skip_it() {
    let tmp = TempDir::new("delete");
    let mut s = filled(tmp.path(), config(3), 10);
    // Absent IDs (between, before, after), a duplicate, and one present.
    assert_eq!(
        s.delete(&[id(1, 5), id(0, 1), id(9, 0), id(3, 0), id(3, 0)])
            .unwrap(),
        1
    );
    assert_eq!(s.len(), 9);
    assert_eq!(s.delete(&[id(3, 0)]).unwrap(), 0, "already deleted");
    // The first entry and the last: first_id moves, last_id stays.
    assert_eq!(s.delete(&[id(5, 1), id(1, 0)]).unwrap(), 2);
    assert_eq!(
        (s.len(), s.first_id(), s.last_id()),
        (7, Some(id(1, 1)), id(5, 1))
    );
    let left = vec![
        id(1, 1),
        id(2, 0),
        id(2, 1),
        id(3, 1),
        id(4, 0),
        id(4, 1),
        id(5, 0),
    ];
    assert_eq!(ids(&s.range(StreamId::MIN, StreamId::MAX, None).unwrap()), left);
    assert_eq!(
        ids(&s.range(id(2, 1), StreamId::MAX, Some(2)).unwrap()),
        [id(2, 1), id(3, 1)]
    );
    assert_eq!(
        ids(&s.rev_range(id(4, 0), StreamId::MIN, Some(2)).unwrap()),
        [id(4, 0), id(3, 1)]
    );
    // A whole run at the front: the first live entry is further on.
    assert_eq!(s.delete(&[id(1, 1), id(2, 0), id(2, 1)]).unwrap(), 3);
    assert_eq!((s.len(), s.first_id()), (4, Some(id(3, 1))));
    // Everything: an empty stream that remembers its last ID.
    assert_eq!(s.delete(&left).unwrap(), 4);
    assert_eq!((s.len(), s.first_id(), s.last_id()), (0, None, id(5, 1)));
    assert!(s.range(StreamId::MIN, StreamId::MAX, None).unwrap().is_empty());
    assert!(s
        .rev_range(StreamId::MAX, StreamId::MIN, None)
        .unwrap()
        .is_empty());
    assert!(matches!(
        s.append(id(5, 1), &fields_for(0)),
        Err(StreamError::Id(IdError::NotGreater))
    ));
    s.append(id(5, 2), &fields_for(1)).expect("a greater ID");
    assert_eq!((s.len(), s.first_id()), (1, Some(id(5, 2))));
    s.close().expect("close");

    let mut s = Stream::open_or_create(tmp.path(), config(3)).expect("reopen");
    assert_eq!(
        (s.len(), s.first_id(), s.last_id()),
        (1, Some(id(5, 2)), id(5, 2))
    );
    assert_eq!(
        ids(&s.range(StreamId::MIN, StreamId::MAX, None).unwrap()),
        [id(5, 2)]
    );
}

#[test]
fn reopen_after_close_and_after_a_crash_keeps_everything() {
    for clean in [true, false] {
        let tmp = TempDir::new("reopen");
        let mut s = filled(tmp.path(), config(4), 50);
        assert_eq!(s.delete(&[id_for(10), id_for(49)]).unwrap(), 2);
        s.commit().expect("commit the deletion");
        assert!(s.is_durable(s.next_offset() - 1));
        if clean {
            s.close().expect("close");
        } else {
            drop(s);
        }
        let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("reopen");
        assert_eq!(s.open_report().scanned, !clean);
        assert!(s.open_report().dropped.is_none(), "nothing was lost");
        assert_eq!(
            (s.len(), s.first_id(), s.last_id()),
            (48, Some(id_for(0)), id_for(49))
        );
        let want: Vec<StreamId> = (0..49).filter(|&n| n != 10).map(id_for).collect();
        let got = s.range(StreamId::MIN, StreamId::MAX, None).unwrap();
        assert_eq!(ids(&got), want);
        for (got_id, fields) in &got {
            let n = (0..50).find(|&n| id_for(n) == *got_id).unwrap();
            assert_eq!(fields.to_vec(), fields_for(n));
        }
        // The last ID survived, though its entry is deleted: a new entry must be greater.
        assert!(matches!(
            s.append(id_for(49), &fields_for(0)),
            Err(StreamError::Id(IdError::NotGreater))
        ));
        assert!(matches!(
            s.append(id_for(30), &fields_for(0)),
            Err(StreamError::Id(IdError::NotGreater))
        ));
        s.append(id_for(50), &fields_for(50)).expect("a greater ID");
        assert_eq!(s.len(), 49);
    }
}

/// The bytes the journal gives a record of `payload` bytes.
fn span(payload: usize) -> u64 {
    ((RECORD_HEADER_LEN + payload + 7) & !7) as u64
}

/// The journal's only segment file (tests that damage a segment keep to one).
fn only_segment(dir: &Path) -> PathBuf {
    let logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(logs.len(), 1, "one segment: {logs:?}");
    logs.into_iter().next().unwrap()
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for damage");
    f.write_all_at(bytes, at).expect("damage");
}

#[test]
fn a_torn_last_entry_is_dropped_reported_and_its_id_free_again() {
    let tmp = TempDir::new("torn-entry");
    let n = 20;
    let s = filled(tmp.path(), config(4), n);
    drop(s); // a crash
             // The last record is entry n - 1: flip the last bytes of its payload.
    let mut pos = SEGMENT_HEADER_LEN as u64;
    for i in 0..n - 1 {
        pos += span(entry::entry_len(&fields_for(i)).unwrap());
    }
    let last_len = entry::entry_len(&fields_for(n - 1)).unwrap() as u64;
    let log = only_segment(tmp.path());
    overwrite(
        &log,
        pos + RECORD_HEADER_LEN as u64 + last_len - 3,
        b"\xde\xad\xbe",
    );

    let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("recover");
    let report = s.open_report();
    assert!(report.scanned && report.truncated);
    let dropped = report.dropped.expect("the torn record is reported");
    assert_eq!((dropped.from_offset, dropped.position), (n - 1, pos));
    assert_eq!((s.len(), s.last_id()), (n - 1, id_for(n - 2)));
    let want: Vec<StreamId> = (0..n - 1).map(id_for).collect();
    assert_eq!(ids(&s.range(StreamId::MIN, StreamId::MAX, None).unwrap()), want);
    // The dropped entry was never acknowledged: its ID can be given again.
    assert_eq!(s.append(id_for(n - 1), &fields_for(n - 1)).unwrap(), n - 1);
    let last = s.rev_range(StreamId::MAX, StreamId::MIN, Some(1)).unwrap();
    assert_eq!(ids(&last), [id_for(n - 1)]);
    assert_eq!(last[0].1.to_vec(), fields_for(n - 1));
}

#[test]
fn a_cut_file_and_a_torn_tombstone_recover_to_the_valid_prefix() {
    let tmp = TempDir::new("torn-tombstone");
    let n = 12;
    let mut s = filled(tmp.path(), config(4), n);
    assert_eq!(s.delete(&[id_for(3)]).unwrap(), 1);
    assert_eq!(s.delete(&[id_for(5), id_for(6)]).unwrap(), 2);
    s.commit().expect("commit");
    drop(s);
    // Records: entries 0..n, tombstone [3], tombstone [5, 6]. Cut the file in the middle of
    // the second tombstone.
    let mut pos = SEGMENT_HEADER_LEN as u64;
    for i in 0..n {
        pos += span(entry::entry_len(&fields_for(i)).unwrap());
    }
    pos += span(entry::tombstone_len(1));
    let log = only_segment(tmp.path());
    let f = OpenOptions::new().write(true).open(&log).expect("open");
    f.set_len(pos + RECORD_HEADER_LEN as u64 + 10).expect("cut");
    drop(f);

    let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("recover");
    let dropped = s.open_report().dropped.expect("the cut is reported");
    assert_eq!((dropped.from_offset, dropped.position), (n + 1, pos));
    // The first deletion stands; the second is undone.
    assert_eq!((s.len(), s.last_id()), (n - 1, id_for(n - 1)));
    let want: Vec<StreamId> = (0..n).filter(|&i| i != 3).map(id_for).collect();
    assert_eq!(ids(&s.range(StreamId::MIN, StreamId::MAX, None).unwrap()), want);
    assert_eq!(s.delete(&[id_for(5), id_for(6)]).unwrap(), 2, "deletable again");
}

#[test]
fn a_hundred_thousand_entries_read_from_the_middle() {
    const N: u64 = 100_000;
    let tmp = TempDir::new("large");
    // 1 MiB segments: the entries span several, and the index has ~390 points.
    let config = StreamConfig::new()
        .journal(
            JournalConfig::new()
                .segment_size(1 << 20)
                .durability(Durability::Never),
        )
        .index_every(256);
    let mut s = Stream::open_or_create(tmp.path(), config.clone()).expect("create");
    for i in 0..N {
        s.append(id_for(i), &fields_for(i)).expect("append");
    }
    s.commit().expect("commit");
    assert!(
        s.journal().segment_count() > 4,
        "{} segments",
        s.journal().segment_count()
    );
    let check = |s: &mut Stream| {
        assert_eq!((s.len(), s.last_id()), (N, id_for(N - 1)));
        let mid = N / 2 + 7;
        let got = s.range(id_for(mid), StreamId::MAX, Some(100)).unwrap();
        assert_eq!(ids(&got), (mid..mid + 100).map(id_for).collect::<Vec<_>>());
        for (k, (_, fields)) in got.iter().enumerate() {
            assert_eq!(fields.to_vec(), fields_for(mid + k as u64));
        }
        let got = s.rev_range(id_for(mid), StreamId::MIN, Some(300)).unwrap();
        assert_eq!(ids(&got), (mid - 299..=mid).rev().map(id_for).collect::<Vec<_>>());
        for (k, (_, fields)) in got.iter().enumerate() {
            assert_eq!(fields.to_vec(), fields_for(mid - k as u64));
        }
        // A closed range in the middle, from a millisecond with no sequence 0 given.
        let got = s.range(id(30_000, 1), id(30_010, 0), None).unwrap();
        assert_eq!(ids(&got), (59_999..=60_018).map(id_for).collect::<Vec<_>>());
    };
    check(&mut s);
    assert_eq!(s.delete(&[id_for(N / 2 + 8)]).unwrap(), 1);
    assert_eq!(s.delete(&[id_for(N / 2 + 8)]).unwrap(), 0);
    s.close().expect("close");
    let mut s = Stream::open_or_create(tmp.path(), config).expect("reopen");
    assert_eq!(s.len(), N - 1);
    let got = s.range(id_for(N / 2 + 7), StreamId::MAX, Some(2)).unwrap();
    assert_eq!(ids(&got), [id_for(N / 2 + 7), id_for(N / 2 + 9)]);
    // N entries and one tombstone: the repeated deletion wrote nothing.
    assert_eq!(s.append(id_for(N), &fields_for(N)).expect("append"), N + 1);
}

#[test]
fn append_refuses_ids_not_greater_and_odd_fields() {
    let tmp = TempDir::new("refuse");
    let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("create");
    // 0-0 is never greater than a new stream's last ID.
    assert!(matches!(
        s.append(StreamId::MIN, &fields_for(0)),
        Err(StreamError::Id(IdError::NotGreater))
    ));
    s.append(id(5, 5), &fields_for(0)).expect("first");
    for bad in [id(5, 5), id(5, 4), id(4, u64::MAX), id(0, 1)] {
        let err = s.append(bad, &fields_for(1)).expect_err("not greater");
        assert!(
            matches!(err, StreamError::Id(IdError::NotGreater)),
            "{bad}: {err}"
        );
        assert_eq!(
            err.to_string(),
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        );
    }
    let err = s
        .append(id(6, 0), &[&b"field-without-value"[..]])
        .expect_err("odd");
    assert!(
        matches!(err, StreamError::Encode(entry::EntryError::OddFieldCount(1))),
        "{err}"
    );
    assert_eq!(
        (s.next_offset(), s.len(), s.last_id()),
        (1, 1, id(5, 5)),
        "nothing written"
    );
    // An entry larger than a record of a 64 KiB segment can be: the journal refuses it.
    let huge = vec![7u8; 70 << 10];
    let err = s.append(id(6, 0), &[&b"f"[..], &huge]).expect_err("too large");
    assert!(
        matches!(
            err,
            StreamError::Journal(nanostream_journal::Error::RecordTooLarge { .. })
        ),
        "{err}"
    );
    assert_eq!(
        (s.next_offset(), s.len(), s.last_id()),
        (1, 1, id(5, 5)),
        "nothing written"
    );
    s.append(id(5, 6), &fields_for(1)).expect("greater");
    s.append(StreamId::MAX, &fields_for(2)).expect("the greatest ID");
    assert!(matches!(
        s.append(StreamId::MAX, &fields_for(3)),
        Err(StreamError::Id(IdError::NotGreater))
    ));
}

#[test]
fn appends_are_durable_after_commit() {
    let tmp = TempDir::new("durable");
    let mut s = Stream::open_or_create(tmp.path(), config(4)).expect("create");
    let offset = s.append(id(1, 0), &fields_for(0)).unwrap();
    assert!(!s.is_durable(offset), "EveryBatch: not before the commit");
    s.commit().unwrap();
    assert!(s.is_durable(offset));
    assert_eq!(s.durable_next_offset(), s.next_offset());
    s.delete(&[id(1, 0)]).unwrap();
    assert!(s.durable_next_offset() < s.next_offset());
    s.sync().unwrap();
    assert_eq!(s.durable_next_offset(), s.next_offset());
}

#[test]
fn after_a_sync_failure_writes_are_refused_and_nothing_changes() {
    let tmp = TempDir::new("sync-failure");
    let mut s = filled(tmp.path(), config(4), 5);
    s.journal().inject_sync_failure();
    s.append(id_for(5), &fields_for(5))
        .expect("appended before the sync");
    assert!(
        matches!(s.commit(), Err(StreamError::Journal(_))),
        "the sync fails"
    );
    assert!(s.journal().failure().is_some());
    let before = (s.len(), s.first_id(), s.last_id(), s.next_offset());
    assert!(matches!(
        s.append(id_for(6), &fields_for(6)),
        Err(StreamError::Journal(_))
    ));
    assert!(matches!(s.delete(&[id_for(0)]), Err(StreamError::Journal(_))));
    assert_eq!((s.len(), s.first_id(), s.last_id(), s.next_offset()), before);
    assert_eq!(
        ids(&s.range(StreamId::MIN, StreamId::MAX, None).unwrap()).len(),
        6
    );
}

#[test]
fn a_record_that_is_not_a_stream_record_is_refused_at_open() {
    let tmp = TempDir::new("foreign");
    let mut j = nanostream_journal::Journal::open(tmp.path(), JournalConfig::new().segment_size(64 << 10))
        .expect("journal");
    j.append(&entry::encode_entry(id(1, 0), &fields_for(0)).unwrap())
        .unwrap();
    j.append(b"not a stream record").unwrap();
    j.close().unwrap();
    let err = Stream::open_or_create(tmp.path(), config(4)).expect_err("refused");
    assert!(matches!(err, StreamError::Decode { offset: 1, .. }), "{err}");

    let tmp = TempDir::new("unordered");
    let mut j = nanostream_journal::Journal::open(tmp.path(), JournalConfig::new().segment_size(64 << 10))
        .expect("journal");
    j.append(&entry::encode_entry(id(2, 0), &fields_for(0)).unwrap())
        .unwrap();
    j.append(&entry::encode_entry(id(1, 0), &fields_for(1)).unwrap())
        .unwrap();
    j.close().unwrap();
    let err = Stream::open_or_create(tmp.path(), config(4)).expect_err("refused");
    assert!(matches!(err, StreamError::OutOfOrder { offset: 1, .. }), "{err}");
}

/// xorshift64*: deterministic randomness; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn from_env(name: &str) -> Self {
        let seed = std::env::var("NSNET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{name}: NSNET_SEED={seed}");
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_operations_agree_with_a_model() {
    let mut rng = Rng::from_env("random_operations_agree_with_a_model");
    for round in 0..6 {
        let tmp = TempDir::new("model");
        let index_every = [1, 2, 3, 7, 64, 256][round];
        let config = config(index_every);
        let mut s = Stream::open_or_create(tmp.path(), config.clone()).expect("create");
        let mut model: BTreeMap<StreamId, Vec<Vec<u8>>> = BTreeMap::new();
        let mut last = StreamId::MIN;
        let mut n = 0u64;
        // A random ID near the stream's IDs: in it, between, before or after.
        let near = |rng: &mut Rng, last: StreamId| id(rng.below(last.ms + 3), rng.below(4));
        for step in 0..1500 {
            match rng.below(100) {
                0..=49 => {
                    let next = if rng.below(3) == 0 {
                        id(last.ms + 1 + rng.below(3), rng.below(2))
                    } else {
                        last.next().unwrap()
                    };
                    s.append(next, &fields_for(n)).expect("append");
                    model.insert(next, fields_for(n));
                    last = next;
                    n += 1;
                }
                50..=64 => {
                    let k = 1 + rng.below(4);
                    let victims: Vec<StreamId> = (0..k).map(|_| near(&mut rng, last)).collect();
                    let mut unique = victims.clone();
                    unique.sort();
                    unique.dedup();
                    let want = unique.iter().filter(|v| model.remove(v).is_some()).count() as u64;
                    assert_eq!(
                        s.delete(&victims).unwrap(),
                        want,
                        "step {step}: delete {victims:?}"
                    );
                }
                65..=89 => {
                    let (a, b) = (near(&mut rng, last), near(&mut rng, last));
                    let count = match rng.below(3) {
                        0 => None,
                        _ => Some(rng.below(12) as usize),
                    };
                    let limit = count.unwrap_or(usize::MAX);
                    let want: Vec<(StreamId, Vec<Vec<u8>>)> = if a <= b {
                        model
                            .range(a..=b)
                            .take(limit)
                            .map(|(k, v)| (*k, v.clone()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let got: Vec<(StreamId, Vec<Vec<u8>>)> = s
                        .range(a, b, count)
                        .unwrap()
                        .into_iter()
                        .map(|(k, f)| (k, f.to_vec()))
                        .collect();
                    assert_eq!(got, want, "step {step}: range {a} {b} {count:?}");
                    let want: Vec<(StreamId, Vec<Vec<u8>>)> = if a <= b {
                        model
                            .range(a..=b)
                            .rev()
                            .take(limit)
                            .map(|(k, v)| (*k, v.clone()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let got: Vec<(StreamId, Vec<Vec<u8>>)> = s
                        .rev_range(b, a, count)
                        .unwrap()
                        .into_iter()
                        .map(|(k, f)| (k, f.to_vec()))
                        .collect();
                    assert_eq!(got, want, "step {step}: rev_range {b} {a} {count:?}");
                }
                90..=95 => {
                    s.commit().expect("commit");
                }
                _ => {
                    if rng.below(2) == 0 {
                        s.close().expect("close");
                    } else {
                        drop(s);
                    }
                    s = Stream::open_or_create(tmp.path(), config.clone()).expect("reopen");
                    assert!(s.open_report().dropped.is_none());
                }
            }
            assert_eq!(s.len(), model.len() as u64, "step {step}: len");
            assert_eq!(
                s.first_id(),
                model.keys().next().copied(),
                "step {step}: first_id"
            );
            assert_eq!(s.last_id(), last, "step {step}: last_id");
        }
    }
}
