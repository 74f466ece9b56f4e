//! The spare segment (`next-segment.spare`, prepared ahead of rotation) is ignored by readers,
//! `inspect`, the CLI's `stats` and retention, and removed by a clean close.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Duration;

use common::{appended, assert_prefix, wait_until, TempDir};
use nanostream_journal::{inspect, Durability, JournalConfig};

const SPARE: &str = "next-segment.spare";
const WAIT: Duration = Duration::from_secs(30);

fn config(durability: Durability) -> JournalConfig {
    JournalConfig::new()
        .segment_size(8192)
        .index_interval(256)
        .durability(durability)
}

#[test]
fn a_spare_is_prepared_and_ignored_by_readers_cli_and_retention() {
    for durability in [Durability::Never, Durability::EveryBatch] {
        let tmp = TempDir::new("spare-ignored");
        let mut j = appended(tmp.path(), config(durability), 200);
        let spare = tmp.join(SPARE);
        wait_until(WAIT, "the spare to be prepared", || spare.exists());
        // Readers, inspect (the CLI's engine) and retention see only segments.
        assert_prefix(tmp.path(), 200);
        let infos = inspect(tmp.path()).expect("inspect");
        assert_eq!(infos.len(), j.segment_count());
        assert_eq!(infos.iter().map(|s| s.records).sum::<u64>(), 200);
        let (code, out) = {
            let o = Command::new(env!("CARGO_BIN_EXE_nanostream-journal"))
                .args(["stats", tmp.path().to_str().expect("utf-8")])
                .output()
                .expect("cli");
            (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
        };
        assert_eq!(code, Some(0), "{out}");
        assert!(!out.contains(SPARE), "{out}");
        assert!(
            out.contains(&format!("segments:      {}", j.segment_count())),
            "{out}"
        );
        let before = j.segment_count();
        j.apply_retention().expect("retention without a policy");
        assert_eq!(j.segment_count(), before);
        assert!(spare.exists(), "retention leaves the spare alone");
        // A clean close removes the spare.
        j.close().expect("close");
        assert!(!spare.exists(), "close removes the spare");
        assert_prefix(tmp.path(), 200);
    }
}
