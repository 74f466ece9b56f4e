//! Helpers shared by the CLI's integration tests (a subset of the journal crate's).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "nsj-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the temp dir that does not exist yet.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// xorshift64*: deterministic, seedable randomness for tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

/// The payload the tests write at `offset`: deterministic, 0..=300 bytes.
pub fn payload_for(offset: u64) -> Vec<u8> {
    let len = (offset.wrapping_mul(7919) % 301) as usize;
    let mut r = Rng::new(offset + 1);
    let mut v = vec![0u8; len];
    r.fill(&mut v);
    v
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Path of segment file `base` (`ext` = "log" or "index").
pub fn segment_file(dir: &Path, base: u64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

/// Base offsets of the segments in `dir`.
pub fn segment_bases(dir: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    v.sort_unstable();
    v
}

/// The stdout lines of a child process, read on a thread so that waiting has a deadline.
pub struct ChildLines {
    rx: std::sync::mpsc::Receiver<String>,
}

impl ChildLines {
    pub fn new(stdout: std::process::ChildStdout) -> Self {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { rx }
    }

    /// The next line; panics if the child exits or says nothing for `timeout`.
    pub fn next_line(&self, timeout: Duration) -> String {
        match self.rx.recv_timeout(timeout) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the child printed nothing for {timeout:?}")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the child exited early")
            }
        }
    }
}

/// Kills (SIGKILL) and reaps the child when dropped, so a failing test never leaks it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads every record and checks offsets are contiguous from 0 and payloads are the expected.
pub fn assert_prefix(dir: &Path, expected: u64) {
    let mut r = nanostream_journal::JournalReader::open(dir).expect("reader");
    let mut n = 0;
    while let Some(rec) = r.read_next().expect("read") {
        assert_eq!(rec.offset, n, "offsets are contiguous");
        assert_eq!(rec.payload, &payload_for(n)[..], "payload of offset {n}");
        n += 1;
    }
    assert_eq!(n, expected, "exactly the valid prefix");
}
