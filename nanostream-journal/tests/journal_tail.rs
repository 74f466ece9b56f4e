//! `JournalReader::end_offset`: the end is found from the newest segment's index, and without
//! indexes (`tail -n N`: `nanostream-journal-cli/tests/journal_cli_tail.rs`).

mod common;

use common::{payload_for, segment_bases, segment_file, TempDir};
use nanostream_journal::{Journal, JournalConfig, JournalReader};

fn journal(dir: &std::path::Path, n: u64) -> Journal {
    let mut j =
        Journal::open(dir, JournalConfig::new().segment_size(8192).index_interval(256)).expect("open");
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
    }
    j.commit().expect("commit");
    j
}

#[test]
fn end_offset_is_the_next_offset_of_a_live_and_a_closed_journal() {
    let tmp = TempDir::new("tail-end");
    let mut j = journal(tmp.path(), 400);
    assert!(j.segment_count() >= 4);
    let reader = JournalReader::open(tmp.path()).expect("reader");
    assert_eq!(reader.end_offset().expect("end"), 400);
    j.append(&payload_for(400)).expect("append");
    j.commit().expect("commit");
    assert_eq!(reader.end_offset().expect("end"), 401, "follows the live writer");
    j.close().expect("close");
    // Without any index the newest segment is scanned from its start: same answer.
    for base in segment_bases(tmp.path()) {
        std::fs::remove_file(segment_file(tmp.path(), base, "index")).expect("remove index");
    }
    assert_eq!(reader.end_offset().expect("end"), 401);
    let empty = TempDir::new("tail-end-empty");
    Journal::open(empty.path(), JournalConfig::new().segment_size(8192))
        .expect("open")
        .close()
        .expect("close");
    assert_eq!(
        JournalReader::open(empty.path())
            .expect("reader")
            .end_offset()
            .expect("end"),
        0
    );
}
