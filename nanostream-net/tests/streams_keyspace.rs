//! The broker's keyspace of streams on a data directory: streams and their groups found again
//! after a close and after a crash, `DEL` leaving nothing behind, leftovers of an interrupted
//! deletion or creation removed at start-up, strays left alone, and a consumer-group journal
//! compacted as it grows.

mod temp_dir;

use nanostream_net::streams::group::GroupOp;
use nanostream_net::streams::key_path::{dir_name, stream_dir};
use nanostream_net::streams::keyspace::{FsyncPolicy, Keyspace, KeyspaceConfig};
use nanostream_net::streams::StreamId;
use temp_dir::TempDir;

fn config(dir: &TempDir) -> KeyspaceConfig {
    KeyspaceConfig {
        data_dir: dir.path().to_path_buf(),
        fsync: FsyncPolicy::Batch,
        segment_size: 1 << 20,
    }
}

fn add(ks: &mut Keyspace, key: &[u8], ms: u64) {
    let s = ks.get_or_create(key).expect("create");
    s.stream
        .append(StreamId::new(ms, 0), &[&b"f"[..], b"v"])
        .expect("append");
    s.touch();
}

#[test]
fn streams_and_groups_come_back_after_a_close_and_after_a_crash() {
    let dir = TempDir::new("reopen");
    let long_key = vec![0xffu8; 300];
    let keys: [&[u8]; 4] = [b"orders", b"../../etc", b"a\0b", &long_key];
    let (mut ks, report) = Keyspace::open(config(&dir)).expect("open");
    assert_eq!(report.streams, 0);
    for (i, key) in keys.iter().enumerate() {
        add(&mut ks, key, i as u64 + 1);
    }
    let mut ops = Vec::new();
    let s = ks.get_mut(b"orders").expect("orders");
    s.groups
        .create(b"g", StreamId::MIN, None, &mut ops)
        .expect("create group");
    s.persist(&mut ops).expect("persist");
    assert!(ks.commit().is_empty());
    ks.close().expect("close");

    let (mut ks, report) = Keyspace::open(config(&dir)).expect("reopen");
    assert_eq!((report.streams, report.entries, report.groups), (4, 4, 1));
    assert!(
        report.recovered_tails.is_empty(),
        "a clean close needs no recovery"
    );
    let mut found: Vec<&[u8]> = ks.keys().collect();
    found.sort();
    let mut want = keys.to_vec();
    want.sort();
    assert_eq!(found, want);
    // Every stream directory is a direct child of the data directory.
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        assert_eq!(path.parent(), Some(dir.path()));
    }
    add(&mut ks, b"orders", 10);
    assert!(ks.commit().is_empty());
    drop(ks); // a crash

    let (ks, report) = Keyspace::open(config(&dir)).expect("recover");
    assert_eq!((report.streams, report.entries, report.groups), (4, 5, 1));
    assert_eq!(
        report.recovered_tails.len(),
        4,
        "every journal was open: each tail is checked"
    );
    assert_eq!(
        ks.get(b"orders").expect("orders").stream.last_id(),
        StreamId::new(10, 0)
    );
}

#[test]
fn del_leaves_nothing_and_leftovers_are_removed_at_start_up() {
    let dir = TempDir::new("del");
    let (mut ks, _) = Keyspace::open(config(&dir)).expect("open");
    add(&mut ks, b"gone", 1);
    add(&mut ks, b"kept", 1);
    assert!(ks.remove(b"gone").expect("del"));
    assert!(!ks.remove(b"gone").expect("del again"));
    assert!(!stream_dir(dir.path(), b"gone").exists());
    ks.close().expect("close");
    // An interrupted DEL (renamed, not yet removed), a hashed stream whose KEY file was never
    // written (its XADD crashed), and a stray directory and file the broker did not make.
    std::fs::create_dir_all(dir.join("deleted-123-456/inner")).expect("leftover");
    let hashed = stream_dir(dir.path(), &[0xfe; 400]);
    assert!(dir_name(&[0xfe; 400]).starts_with("h-"));
    std::fs::create_dir_all(&hashed).expect("hashed");
    std::fs::create_dir_all(dir.join("lost+found")).expect("stray");
    std::fs::write(dir.join("s-notadir"), b"x").expect("stray file");
    let (ks, report) = Keyspace::open(config(&dir)).expect("reopen");
    assert_eq!(report.removed, 2);
    assert_eq!(ks.keys().collect::<Vec<_>>(), [&b"kept"[..]]);
    assert!(!dir.join("deleted-123-456").exists() && !hashed.exists());
    assert!(dir.join("lost+found").exists() && dir.join("s-notadir").exists());
}

#[test]
fn the_group_journal_is_compacted_as_it_grows_and_replays_to_the_same_state() {
    let dir = TempDir::new("compact");
    let (mut ks, _) = Keyspace::open(config(&dir)).expect("open");
    let s = ks.get_or_create(b"s").expect("create");
    let mut ops: Vec<GroupOp> = Vec::new();
    s.groups
        .create(b"g", StreamId::MIN, None, &mut ops)
        .expect("group");
    s.persist(&mut ops).expect("persist");
    let meta = s.stream.meta();
    // About 150 bytes of ops a round: 60,000 rounds pass the 4 MiB compaction threshold twice.
    for i in 1..=60_000u64 {
        let id = StreamId::new(i, 0);
        let g = s.groups.get_mut(b"g").expect("g");
        g.read_new(
            b"consumer-with-a-long-name",
            &[id],
            None,
            false,
            i,
            &meta,
            &mut ops,
        );
        if i % 3 != 0 {
            g.ack(&[id], &mut ops);
        }
        s.persist(&mut ops).expect("persist");
    }
    assert!(ks.commit().is_empty());
    let groups = ks.get(b"s").expect("s").groups.clone();
    assert_eq!(groups.get(b"g").expect("g").pel().len(), 20_000);
    let groups_dir = stream_dir(dir.path(), b"s").join("groups");
    let logs = std::fs::read_dir(&groups_dir)
        .expect("groups journal")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
        })
        .count();
    assert!(
        logs <= 6,
        "old segments are deleted after each snapshot ({logs} left)"
    );
    drop(ks); // a crash: the journal is replayed from its last snapshot
    let (ks, _) = Keyspace::open(config(&dir)).expect("recover");
    assert_eq!(ks.get(b"s").expect("s").groups, groups);
}
