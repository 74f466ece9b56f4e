//! Helpers shared by the journal's integration tests.
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

    /// Seeded from the clock; the seed is printed so a failure can be replayed.
    pub fn from_env(name: &str) -> Self {
        let seed = std::env::var("NSJ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{name}: NSJ_SEED={seed}");
        Self::new(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
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

/// The text after `tag` in a line (the test harness may print "test name ... " before it).
pub fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.find(tag).map(|i| &line[i + tag.len()..])
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

/// The bytes of a segment's header: where its first record starts.
pub const SEGMENT_HEADER: u64 = nanostream_journal::SEGMENT_HEADER_LEN as u64;

/// The bytes a record with a `len`-byte payload takes in a segment (header, payload, padding
/// to 8).
pub fn span(len: usize) -> u64 {
    ((nanostream_journal::RECORD_HEADER_LEN + len + 7) & !7) as u64
}

/// Records `0..n` (payloads from [`payload_for`]) in one segment under `config`, committed; the
/// journal is then closed (`clean`) or dropped (a crash). Returns the position of each record,
/// and the end last.
pub fn written(dir: &Path, config: nanostream_journal::JournalConfig, n: u64, clean: bool) -> Vec<u64> {
    let mut j = nanostream_journal::Journal::open(dir, config).expect("open");
    let mut positions = vec![SEGMENT_HEADER];
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
        positions.push(positions[o as usize] + span(payload_for(o).len()));
    }
    j.commit().expect("commit");
    if clean {
        j.close().expect("close");
    }
    positions
}

/// Appends `n` records under `config` (committing every 10) and returns the journal, as a crash
/// would leave it once dropped.
pub fn appended(
    dir: &Path,
    config: nanostream_journal::JournalConfig,
    n: u64,
) -> nanostream_journal::Journal {
    let mut j = nanostream_journal::Journal::open(dir, config).expect("open");
    for o in 0..n {
        j.append(&payload_for(o)).expect("append");
        if o % 10 == 9 {
            j.commit().expect("commit");
        }
    }
    j.commit().expect("commit");
    j
}

/// A closed journal of 400 records in 8 KiB segments whose second segment is zeroed from the
/// middle (its seal included), as a power loss can leave a segment sealed without a sync.
/// Returns (segment path, first lost offset, its byte position).
pub fn zeroed_sealed_segment(dir: &Path) -> (PathBuf, u64, u64) {
    use std::os::unix::fs::FileExt;
    let config = nanostream_journal::JournalConfig::new().segment_size(8192);
    let mut j = nanostream_journal::Journal::open(dir, config).expect("open");
    for o in 0..400 {
        j.append(&payload_for(o)).expect("append");
    }
    j.close().expect("close");
    let bases = segment_bases(dir);
    assert!(bases.len() >= 4);
    let (seg, next) = (bases[1], bases[2]);
    let target = seg + (next - seg) / 2;
    let mut pos = SEGMENT_HEADER;
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
