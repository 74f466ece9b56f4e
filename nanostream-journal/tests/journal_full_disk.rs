//! A full disk is an error at segment creation (rotation), never a SIGBUS later.
//!
//! Two real limits, each in a child process so the rest of the suite is unaffected:
//! * a 1 MiB tmpfs mounted in a private mount namespace (needs CAP_SYS_ADMIN: root in CI);
//! * `RLIMIT_FSIZE`, which makes the kernel refuse to allocate past a file size (works for any
//!   user), with `SIGXFSZ` ignored so the refusal is an error code.
//!
//! Where the machine cannot mount a tmpfs, the child says so and only the rlimit case runs.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{payload_for, tagged, ChildLines, KillOnDrop, TempDir};
use nanostream_journal::{Error, Journal, JournalConfig, JournalReader};

const WAIT: Duration = Duration::from_secs(60);

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREPORT {line}").expect("report");
    out.flush().expect("flush");
}

/// Fills a journal until an append fails; reports how far it got and the error.
fn fill(dir: &std::path::Path, config: JournalConfig) {
    let mut j = match Journal::open(dir, config) {
        Ok(j) => j,
        Err(e) => {
            report(&format!("OPEN_FAILED {}", matches!(e, Error::Preallocate { .. })));
            return;
        }
    };
    let mut appended = 0u64;
    let err = loop {
        match j.append(&payload_for(j.next_offset())) {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        if appended > 1_000_000 {
            report("NEVER_FULL");
            return;
        }
    };
    let kind = match &err {
        Error::Preallocate { source, .. } => format!("preallocate errno {:?}", source.raw_os_error()),
        other => format!("other {other}"),
    };
    // Still usable for reading, and what was appended is intact.
    j.sync().expect("sync what fit");
    let mut r = JournalReader::open(dir).expect("reader");
    let mut n = 0;
    while let Some(rec) = r.read_next().expect("read") {
        assert_eq!((rec.offset, rec.payload), (n, &payload_for(n)[..]));
        n += 1;
    }
    // The next segment is prepared in the background (a spare file): a full disk there surfaces
    // here, at rotation, as `Error::Preallocate`, and leaves no half-made spare behind.
    let spare_left = dir.join("next-segment.spare").exists();
    report(&format!("FULL {appended} {n} {kind} spare_left={spare_left}"));
}

#[test]
fn full_disk_child() {
    let Ok(mode) = std::env::var("NSJ_FULL_MODE") else {
        return; // only runs as the parent's child
    };
    let dir = std::path::PathBuf::from(std::env::var("NSJ_FULL_DIR").expect("dir"));
    let config = JournalConfig::new().segment_size(128 << 10).index_interval(4096);
    if mode == "tmpfs" {
        let target = CString::new(dir.to_str().expect("utf-8 path")).expect("path");
        let tmpfs = CString::new("tmpfs").expect("c");
        let opts = CString::new("size=1m").expect("c");
        let root = CString::new("/").expect("c");
        // SAFETY: plain syscalls with valid NUL-terminated strings that outlive the calls.
        let ok = unsafe {
            libc::unshare(libc::CLONE_NEWNS) == 0
                && libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) == 0
                && libc::mount(
                    tmpfs.as_ptr(),
                    target.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    opts.as_ptr().cast(),
                ) == 0
        };
        if !ok {
            report(&format!("NO_TMPFS {}", std::io::Error::last_os_error()));
            return;
        }
        fill(&dir.join("journal"), config);
    } else {
        let limit = libc::rlimit {
            rlim_cur: 300 << 10,
            rlim_max: 300 << 10,
        };
        // SAFETY: setting a resource limit and a signal disposition of this (child) process.
        unsafe {
            assert_eq!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), 0);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        // A first segment that fits the limit, then one that does not.
        let dir = dir.join("journal");
        let mut j = Journal::open(&dir, config.clone()).expect("small segments fit");
        j.append(&payload_for(0)).expect("append");
        j.close().expect("close");
        fill(&dir, config.segment_size(1 << 20));
    }
}

fn run_child(mode: &str, dir: &std::path::Path) -> String {
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("exe"))
            .args(["--exact", "full_disk_child", "--nocapture", "--test-threads=1"])
            .env("NSJ_FULL_MODE", mode)
            .env("NSJ_FULL_DIR", dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let lines = ChildLines::new(child.0.stdout.take().expect("stdout"));
    let report = loop {
        if let Some(r) = tagged(&lines.next_line(WAIT), "REPORT ") {
            break r.to_string();
        }
    };
    eprintln!("{mode} child: {report}");
    let status = child.0.wait().expect("wait");
    assert!(
        status.success(),
        "the child died ({status:?}): no SIGBUS, no panic"
    );
    report
}

#[test]
fn a_full_tmpfs_is_an_error_at_rotation() {
    let tmp = TempDir::new("tmpfs");
    let report = run_child("tmpfs", tmp.path());
    if let Some(reason) = report.strip_prefix("NO_TMPFS ") {
        eprintln!("cannot mount a tmpfs here ({reason}); the RLIMIT_FSIZE test covers full disks");
        return;
    }
    let fields: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(fields[0], "FULL", "{report}");
    let (appended, read): (u64, u64) = (fields[1].parse().expect("n"), fields[2].parse().expect("n"));
    assert!(appended > 100, "records fit before the disk filled: {report}");
    assert_eq!(appended, read, "every appended record is readable");
    assert!(
        report.contains(&format!("errno Some({})", libc::ENOSPC)),
        "{report}"
    );
    assert!(report.contains("spare_left=false"), "{report}");
}

#[test]
fn a_file_size_limit_is_an_error_at_rotation() {
    let tmp = TempDir::new("rlimit");
    let report = run_child("rlimit", tmp.path());
    let fields: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(fields[0], "FULL", "{report}");
    // One record from the first open, then the 128 KiB segment fills and the 1 MiB one fails.
    let (appended, read): (u64, u64) = (fields[1].parse().expect("n"), fields[2].parse().expect("n"));
    assert!(appended > 10, "{report}");
    assert_eq!(appended + 1, read, "{report}");
    assert!(
        report.contains(&format!("errno Some({})", libc::EFBIG)),
        "{report}"
    );
    assert!(report.contains("spare_left=false"), "{report}");
}
