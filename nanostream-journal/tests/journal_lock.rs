//! One writer per directory: in-process and cross-process, and recovered after SIGKILL.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{tagged, ChildLines, KillOnDrop, TempDir};
use nanostream_journal::{Error, Journal, JournalConfig, JournalReader};

fn config() -> JournalConfig {
    JournalConfig::new().segment_size(8192)
}

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let tmp = TempDir::new("lock");
    let mut j = Journal::open(tmp.path(), config()).expect("first writer");
    let err = Journal::open(tmp.path(), config()).expect_err("second writer");
    assert!(
        matches!(err, Error::Locked { pid: Some(pid), .. } if pid == std::process::id()),
        "{err}"
    );
    assert!(err.to_string().contains("locked by another writer"));
    // Readers need no lock.
    j.append(b"x").expect("append");
    j.commit().expect("commit");
    assert!(JournalReader::open(tmp.path())
        .expect("reader")
        .read_next()
        .expect("read")
        .is_some());
    drop(j);
    Journal::open(tmp.path(), config()).expect("lock released on drop");
}

/// Holds the journal open until killed.
#[test]
fn lock_child() {
    let Ok(dir) = std::env::var("NSJ_LOCK_DIR") else {
        return; // only runs as the parent's child
    };
    let _j = Journal::open(&dir, config()).expect("child open");
    // Straight to the stdout handle: the test harness may capture `println!`.
    let mut out = std::io::stdout().lock();
    writeln!(out, "LOCKED").expect("report");
    out.flush().expect("flush");
    drop(out);
    loop {
        std::thread::park();
    }
}

#[test]
fn a_writer_in_another_process_is_refused_until_it_is_killed() {
    let tmp = TempDir::new("lock-proc");
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("exe"))
            .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
            .env("NSJ_LOCK_DIR", tmp.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let lines = ChildLines::new(child.0.stdout.take().expect("stdout"));
    while tagged(&lines.next_line(Duration::from_secs(60)), "LOCKED").is_none() {}
    let err = Journal::open(tmp.path(), config()).expect_err("locked by the child");
    assert!(
        matches!(err, Error::Locked { pid: Some(pid), .. } if pid == child.0.id()),
        "{err}"
    );
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
    // The kernel dropped the child's flock: the stale lock file does not block us.
    let j = Journal::open(tmp.path(), config()).expect("lock recovered after kill -9");
    assert_eq!(j.next_offset(), 0);
}

#[test]
fn deleting_the_lock_file_does_not_let_a_second_writer_in() {
    let tmp = TempDir::new("lock-deleted");
    let mut j = Journal::open(tmp.path(), config()).expect("first writer");
    std::fs::remove_file(tmp.join("LOCK")).expect("delete LOCK under the writer");
    let err = Journal::open(tmp.path(), config()).expect_err("a second writer must be refused");
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    // The first writer is undisturbed.
    j.append(b"still the only writer").expect("append");
    j.close().expect("close");
    let j = Journal::open(tmp.path(), config()).expect("lock released on close");
    assert_eq!(j.next_offset(), 1);
}

#[test]
fn a_writer_that_locks_only_the_lock_file_is_excluded_too() {
    use std::os::unix::io::AsRawFd;
    let tmp = TempDir::new("lock-file-only");
    Journal::open(tmp.path(), config())
        .expect("create")
        .close()
        .expect("close");
    // A writer of an older build locks only the LOCK file.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(tmp.join("LOCK"))
        .expect("open LOCK");
    // SAFETY: flock on a descriptor owned by `file`; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    file.set_len(0).expect("truncate");
    writeln!(file, "1").expect("pid");
    let err = Journal::open(tmp.path(), config()).expect_err("the LOCK file is held");
    assert!(matches!(err, Error::Locked { pid: Some(1), .. }), "{err}");
    drop(file);
    Journal::open(tmp.path(), config()).expect("free again");
}
