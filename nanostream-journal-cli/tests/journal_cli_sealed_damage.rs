//! An empty slot in a segment that is not the last one is corruption, not the end of the
//! journal: every CLI command reports it with the segment and offset, and fails.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{payload_for, segment_bases, segment_file, TempDir};
use nanostream_journal::{Journal, JournalConfig};

const BIN: &str = env!("CARGO_BIN_EXE_nanostream-journal");
const HEADER: u64 = nanostream_journal::SEGMENT_HEADER_LEN as u64;

fn span(len: usize) -> u64 {
    ((nanostream_journal::RECORD_HEADER_LEN + len + 7) & !7) as u64
}

/// A closed journal of 400 records in 8 KiB segments whose second segment is zeroed from the
/// middle (its seal included); returns (segment path, first lost offset, its byte position).
fn damaged(dir: &Path) -> (PathBuf, u64, u64) {
    let mut j = Journal::open(dir, JournalConfig::new().segment_size(8192)).expect("open");
    for o in 0..400 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let bases = segment_bases(dir);
    assert!(bases.len() >= 4);
    let (seg, next) = (bases[1], bases[2]);
    let target = seg + (next - seg) / 2;
    let mut pos = HEADER;
    for o in seg..target {
        pos += span(payload_for(o).len());
    }
    let path = segment_file(dir, seg, "log");
    let len = std::fs::metadata(&path).expect("stat").len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
    f.write_all_at(&vec![0u8; (len - pos) as usize], pos)
        .expect("zero the end");
    (path, target, pos)
}

#[test]
fn the_cli_reports_an_empty_slot_in_a_sealed_segment_and_fails() {
    let tmp = TempDir::new("sealed-zeroed-cli");
    let (path, target, _) = damaged(tmp.path());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string();
    let dir = tmp.path().to_str().expect("utf-8");
    for args in [
        vec!["dump", dir],
        vec!["stats", dir],
        vec!["verify", dir],
        vec!["tail", dir, "-n", "400"],
    ] {
        let o = Command::new(BIN).args(&args).output().expect("run the CLI");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.status.success(), "{args:?} must fail: {text}");
        assert!(text.contains(&name), "{args:?} names the segment: {text}");
        assert!(
            text.contains(&format!("offset {target}")),
            "{args:?} names the offset: {text}"
        );
    }
}
