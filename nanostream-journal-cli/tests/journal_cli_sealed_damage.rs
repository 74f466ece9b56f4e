//! An empty slot in a segment that is not the last one is corruption, not the end of the
//! journal: every CLI command reports it with the segment and offset, and fails.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::{zeroed_sealed_segment, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_nanostream-journal");

#[test]
fn the_cli_reports_an_empty_slot_in_a_sealed_segment_and_fails() {
    let tmp = TempDir::new("sealed-zeroed-cli");
    let (path, target, _) = zeroed_sealed_segment(tmp.path());
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
