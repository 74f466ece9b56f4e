//! The state a clean close saves beside a stream's journal: used on the next open when it
//! matches the journal, ignored (and the journal read instead) when it is damaged or stale, and
//! never able to change what the stream holds.

mod temp_dir;

use std::path::Path;

use nanostream_journal::JournalConfig;
use nanostream_net::streams::stream::TrimTo;
use nanostream_net::streams::{Stream, StreamConfig, StreamId};
use temp_dir::TempDir;

const STATE: &str = "stream-state";

fn config() -> StreamConfig {
    StreamConfig::new()
        .journal(JournalConfig::new().segment_size(64 << 10).index_interval(512))
        .index_every(8)
}

/// Everything observable about a stream: length, first, last, entries added, greatest
/// deleted ID, and every entry with its fields.
type Observed = (
    u64,
    Option<StreamId>,
    StreamId,
    u64,
    StreamId,
    Vec<(StreamId, Vec<Vec<u8>>)>,
);

fn observe(s: &mut Stream) -> Observed {
    let all = s
        .range(StreamId::MIN, StreamId::MAX, None)
        .expect("range")
        .into_iter()
        .map(|(id, f)| (id, f.to_vec()))
        .collect();
    (
        s.len(),
        s.first_id(),
        s.last_id(),
        s.entries_added(),
        s.max_deleted_id(),
        all,
    )
}

fn build(dir: &Path) -> Stream {
    let mut s = Stream::open_or_create(dir, config()).expect("open");
    for i in 1..=700u64 {
        s.append(
            StreamId::new(i, 0),
            &[&b"i"[..], i.to_string().as_bytes(), b"pad", &[7u8; 150]],
        )
        .expect("append");
    }
    s.delete(&[StreamId::new(50, 0), StreamId::new(600, 0), StreamId::new(601, 0)])
        .expect("xdel");
    s.trim(TrimTo::MinId(StreamId::new(40, 0)), false, None)
        .expect("trim");
    s.commit().expect("commit");
    s
}

#[test]
fn a_clean_close_saves_the_state_and_the_next_open_uses_it_once() {
    let dir = TempDir::new("used");
    let mut s = build(dir.path());
    let before = observe(&mut s);
    s.close().expect("close");
    assert!(dir.join(STATE).exists(), "a clean close saves the state");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    assert!(!dir.join(STATE).exists(), "the state is used once, then deleted");
    assert_eq!(observe(&mut s), before);
    // And the stream goes on as before: new IDs after the last, deletions found.
    assert_eq!(
        s.delete(&[StreamId::new(600, 0), StreamId::new(41, 0)])
            .expect("xdel"),
        1
    );
    s.append(StreamId::new(701, 0), &[&b"i"[..], b"701"])
        .expect("append");
    let after = observe(&mut s);
    drop(s); // a crash: no state saved, the journal is read
    let mut s = Stream::open_or_create(dir.path(), config()).expect("recover");
    assert_eq!(observe(&mut s), after);
}

#[test]
fn a_damaged_state_is_ignored() {
    let dir = TempDir::new("damaged");
    let mut s = build(dir.path());
    let before = observe(&mut s);
    s.close().expect("close");
    let path = dir.join(STATE);
    let mut bytes = std::fs::read(&path).expect("read state");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).expect("damage");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    assert_eq!(observe(&mut s), before, "the journal, not the damaged state");
    assert!(!path.exists());
}

#[test]
fn a_stale_state_is_ignored() {
    let dir = TempDir::new("stale");
    let s = build(dir.path());
    s.close().expect("close");
    let stale = std::fs::read(dir.join(STATE)).expect("read state");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    s.append(StreamId::new(800, 0), &[&b"i"[..], b"800"])
        .expect("append");
    s.delete(&[StreamId::new(100, 0)]).expect("xdel");
    let before = observe(&mut s);
    s.close().expect("close");
    // An older state put back in place of the current one: it names other offsets.
    std::fs::write(dir.join(STATE), &stale).expect("put back");
    let mut s = Stream::open_or_create(dir.path(), config()).expect("reopen");
    assert_eq!(observe(&mut s), before);
}
