//! The `nanostream-journal` binary: dump, verify, stats, tail -f, and its errors.

// The journal crate's test helpers, shared rather than copied.
#[path = "../../nanostream-journal/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::FileExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{payload_for, ChildLines, KillOnDrop, TempDir};
use nanostream_journal::{Journal, JournalConfig};

const BIN: &str = env!("CARGO_BIN_EXE_nanostream-journal");

fn cli(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(BIN).args(args).output().expect("run the CLI");
    (
        status.code().expect("exit code"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn journal(dir: &std::path::Path, n: u64) {
    let mut j = Journal::open(dir, JournalConfig::new().segment_size(8192)).expect("open");
    j.append(b"hello journal").expect("append");
    for o in 1..n {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
}

#[test]
fn missing_and_foreign_directories_get_clear_errors() {
    let tmp = TempDir::new("cli-errors");
    let missing = tmp.join("missing");
    let (code, _, err) = cli(&["stats", missing.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    std::fs::write(tmp.join("notes.txt"), "x").expect("write");
    for cmd in ["dump", "verify", "stats", "tail"] {
        let (code, _, err) = cli(&[cmd, tmp.path().to_str().expect("utf-8")]);
        assert_eq!(code, 2, "{cmd}");
        assert!(err.contains("not a NanoStream journal"), "{cmd}: {err}");
    }
}

#[test]
fn dump_stats_and_verify_a_healthy_journal() {
    let tmp = TempDir::new("cli-ok");
    journal(tmp.path(), 200);
    let dir = tmp.path().to_str().expect("utf-8");

    let (code, out, err) = cli(&["dump", dir, "--limit", "3"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("offset=0 time="), "{}", lines[0]);
    assert!(lines[0].contains("size=13"));
    assert!(lines[0].contains("|hello journal|"), "{}", lines[0]);
    let (_, out, _) = cli(&["dump", dir, "--from", "150", "--limit", "1"]);
    assert!(out.starts_with("offset=150 "), "{out}");

    let (code, out, _) = cli(&["stats", dir]);
    assert_eq!(code, 0);
    assert!(out.contains("records:       200"), "{out}");
    assert!(out.contains("first offset:  0"));
    assert!(out.contains("last offset:   199"));

    let (code, out, _) = cli(&["verify", dir]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: 200 records"), "{out}");
}

#[test]
fn verify_reports_the_first_bad_record() {
    let tmp = TempDir::new("cli-bad");
    journal(tmp.path(), 200);
    let seg = tmp.join(&format!("{:020}.log", 0));
    // Record 1 starts after record 0 (24 + 13 bytes, padded to 40): damage its payload.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).expect("open");
    f.write_all_at(&[0xEE; 4], 64 + 40 + 24).expect("damage");
    let (code, out, _) = cli(&["verify", tmp.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: corrupt record in segment"), "{out}");
    assert!(out.contains("at offset 1 "), "{out}");
    assert!(out.contains("CRC mismatch"), "{out}");
}

#[test]
fn tail_follows_new_records() {
    let tmp = TempDir::new("cli-tail");
    journal(tmp.path(), 20);
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args(["tail", tmp.path().to_str().expect("utf-8"), "-n", "2", "-f"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn tail"),
    );
    let lines = ChildLines::new(child.0.stdout.take().expect("stdout"));
    assert!(lines.next_line(Duration::from_secs(30)).starts_with("offset=18 "));
    assert!(lines.next_line(Duration::from_secs(30)).starts_with("offset=19 "));
    let mut j = Journal::open(tmp.path(), JournalConfig::new().segment_size(8192)).expect("open");
    for o in 20..400 {
        j.append(&payload_for(o)).expect("append");
        j.commit().expect("commit");
    }
    for o in 20..400 {
        let line = lines.next_line(Duration::from_secs(30));
        assert!(line.starts_with(&format!("offset={o} ")), "{line}");
    }
}
