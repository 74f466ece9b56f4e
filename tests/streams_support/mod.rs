//! Helpers for the stream durability tests (`broker_streams_durability.rs`): a server started
//! with persistence on a data directory, temporary directories and a tmpfs mount removed on
//! drop, a seeded random generator, and stream replies (IDs, entries, `XINFO` maps) parsed.

#![allow(dead_code)] // not every helper is used by every test

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::broker::{show, Conn, Reply};
use crate::common::{wait_for, Server, Target, START_DEADLINE};

/// Starts `target` persisting to `dir`, every write acknowledged only once it is durable: the
/// broker with `--data-dir DIR --fsync batch`, redis-server with an append-only file fsynced
/// before every reply.
pub fn start_durable(target: Target, dir: &Path) -> Server {
    start_persisting(target, dir, "batch", "warn")
}

/// Starts `target` persisting to `dir` under the broker's `--fsync` policy `fsync` (`batch`,
/// `never`, `interval:<ms>`; for redis-server `appendfsync` `always`, `no` and `everysec`),
/// the broker logging at `log_level`.
pub fn start_persisting(target: Target, dir: &Path, fsync: &str, log_level: &str) -> Server {
    let dir = dir.to_str().expect("a UTF-8 temporary path");
    let server = match target {
        Target::Broker => Server::broker_with(&["--data-dir", dir, "--fsync", fsync], |c| {
            c.env("NANOSTREAM_LOG_LEVEL", log_level);
        }),
        Target::Redis => {
            let appendfsync = match fsync {
                "batch" => "always",
                "never" => "no",
                _ => "everysec",
            };
            Server::redis(&["--appendonly", "yes", "--appendfsync", appendfsync, "--dir", dir])
        }
    };
    // Listening is not serving: redis-server answers -LOADING while it reads its files.
    let mut last = None;
    let ready = wait_for(START_DEADLINE, || {
        let reply = connect(server.port, Duration::from_secs(5))
            .ok()
            .and_then(|mut c| {
                try_send(&mut c, &crate::common::command(&[b"PING"])).ok()?;
                c.try_read_raw().ok()
            });
        let pong = reply.as_deref() == Some(b"+PONG\r\n");
        last = reply;
        pong
    });
    assert!(
        ready,
        "{target:?} on {dir} did not answer PING with PONG within {START_DEADLINE:?}: {:?}",
        last.map(|r| show(&r))
    );
    server
}

/// A connection to 127.0.0.1:`port` whose reads fail after `timeout` instead of hanging.
pub fn connect(port: u16, timeout: Duration) -> std::io::Result<Conn> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(Conn::new(stream))
}

/// Sends raw bytes without failing the test: a connection to a killed server just ends.
pub fn try_send(conn: &mut Conn, bytes: &[u8]) -> std::io::Result<()> {
    let stream = conn.get_mut();
    stream.write_all(bytes)?;
    stream.flush()
}

/// A directory under the system's temporary directory, removed (with its contents) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `nanostream-<label>-<pid>-<nanos>`.
    pub fn new(label: &str) -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("nanostream-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL bytes")
}

/// A tmpfs mounted on a directory, unmounted on drop (lazily if something still uses it).
#[derive(Debug)]
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of at most `bytes` on the existing directory `path`; the error says why
    /// it could not (mounting needs root, or a user and mount namespace: `unshare -rm`).
    pub fn mount(path: &Path, bytes: u64) -> Result<Tmpfs, String> {
        mount_tmpfs(path, bytes, 0).map(|()| Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Changes the size limit (it cannot go below what the files on it already take).
    pub fn resize(&self, bytes: u64) -> Result<(), String> {
        mount_tmpfs(&self.path, bytes, libc::MS_REMOUNT)
    }

    /// Bytes in use (every file's allocated pages), from `statvfs`.
    pub fn used(&self) -> u64 {
        let (total, free) = space(&self.path);
        total - free
    }

    /// Bytes free, from `statvfs`.
    pub fn free(&self) -> u64 {
        space(&self.path).1
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn mount_tmpfs(path: &Path, bytes: u64, flags: libc::c_ulong) -> Result<(), String> {
    let target = c_path(path);
    let options = CString::new(format!("size={bytes}")).unwrap();
    // SAFETY: every pointer is to a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            options.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "mount -t tmpfs -o size={bytes}{} tmpfs {}: {}",
            if flags & libc::MS_REMOUNT != 0 {
                ",remount"
            } else {
                ""
            },
            path.display(),
            std::io::Error::last_os_error()
        ))
    }
}

fn space(path: &Path) -> (u64, u64) {
    let target = c_path(path);
    // SAFETY: statvfs is plain data; all zeros is a valid value for it.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `target` is NUL-terminated and `stat` is a valid place for the result.
    let rc = unsafe { libc::statvfs(target.as_ptr(), &mut stat) };
    assert_eq!(
        rc,
        0,
        "statvfs {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    let unit = stat.f_frsize as u64;
    (stat.f_blocks as u64 * unit, stat.f_bfree as u64 * unit)
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = c_path(&self.path);
        // SAFETY: `target` is NUL-terminated and outlives the calls.
        let rc = unsafe { libc::umount2(target.as_ptr(), 0) };
        if rc != 0 {
            // Something (a process the test failed to stop) still has it open: detach it now,
            // the kernel frees it when the last user goes.
            // SAFETY: as above.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// The largest regular file under `dir` (a journal's segments are preallocated to their full
/// size, so this is the segment size once one exists), searching at most 4 levels deep.
pub fn largest_file(dir: &Path) -> u64 {
    fn walk(dir: &Path, depth: usize, best: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() && depth < 4 {
                walk(&entry.path(), depth + 1, best);
            } else if meta.is_file() {
                *best = (*best).max(meta.len());
            }
        }
    }
    let mut best = 0;
    walk(dir, 0, &mut best);
    best
}

/// splitmix64: small, seedable, good enough to choose batch sizes and kill points.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// The seed in environment variable `var`, or one from the clock.
pub fn seed_from_env(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var}={text:?} is not a u64")),
        Err(_) => SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64,
    }
}

/// A stream entry ID, ordered as Redis orders them (`0-0` by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl Id {
    /// Parses `ms-seq`, failing the test on anything else.
    pub fn parse(bytes: &[u8]) -> Id {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("ID {}", show(bytes)));
        let (ms, seq) = text
            .split_once('-')
            .unwrap_or_else(|| panic!("ID without '-': {text:?}"));
        Id {
            ms: ms.parse().unwrap_or_else(|_| panic!("ID {text:?}")),
            seq: seq.parse().unwrap_or_else(|_| panic!("ID {text:?}")),
        }
    }

    /// The ID in a bulk reply.
    pub fn of(reply: &Reply) -> Id {
        Id::parse(reply.bulk())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry as `XRANGE` and `XREADGROUP` return it: its ID and its fields and values (None for
/// an entry `XREADGROUP` re-delivers from the pending list after it was deleted).
pub type Entry = (Id, Option<Vec<Vec<u8>>>);

/// The entries of an `XRANGE` reply (or of one stream of an `XREAD[GROUP]` reply).
pub fn entries(reply: &Reply) -> Vec<Entry> {
    reply
        .items()
        .iter()
        .map(|entry| {
            let parts = entry.items();
            assert_eq!(parts.len(), 2, "an entry is [id, fields]: {entry:?}");
            let fields = match &parts[1] {
                Reply::Array(None) | Reply::Bulk(None) => None,
                fields => Some(fields.items().iter().map(|f| f.bulk().to_vec()).collect()),
            };
            (Id::of(&parts[0]), fields)
        })
        .collect()
}

/// The entries an `XREADGROUP` on one stream returned (empty for a nil reply, the timeout of
/// `BLOCK`).
pub fn read_group_entries(reply: &Reply, key: &[u8]) -> Vec<Entry> {
    match reply {
        Reply::Array(None) => Vec::new(),
        Reply::Array(Some(streams)) => {
            assert_eq!(streams.len(), 1, "one stream asked, got {reply:?}");
            let pair = streams[0].items();
            assert_eq!(pair.len(), 2, "[key, entries]: {reply:?}");
            assert_eq!(pair[0].bulk(), key, "the stream's key: {reply:?}");
            entries(&pair[1])
        }
        other => panic!("XREADGROUP: {other:?}"),
    }
}

/// Every entry of stream `key`, `page` at a time (`XRANGE key (last + COUNT page`), at most
/// `max_pages` pages.
pub fn xrange_all(conn: &mut Conn, key: &[u8], page: usize, max_pages: usize) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let count = page.to_string();
    for _ in 0..max_pages {
        let start = match out.last() {
            None => "-".to_string(),
            Some((id, _)) => format!("({id}"),
        };
        let reply = conn.call(&[b"XRANGE", key, start.as_bytes(), b"+", b"COUNT", count.as_bytes()]);
        if let Reply::Error(e) = &reply {
            panic!("XRANGE {} {start} + COUNT {page}: -{e}", show(key));
        }
        let got = entries(&reply);
        let done = got.len() < page;
        out.extend(got);
        if done {
            return out;
        }
    }
    panic!("XRANGE {}: more than {max_pages} pages of {page}", show(key));
}

/// A flat `XINFO` map (`[name, value, name, value, ...]`) as name → value.
pub fn info_map(reply: &Reply) -> BTreeMap<String, Reply> {
    let items = reply.items();
    assert!(items.len().is_multiple_of(2), "a map has pairs: {reply:?}");
    items
        .chunks(2)
        .map(|pair| {
            let name = match &pair[0] {
                Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
                Reply::Status(s) => s.clone(),
                other => panic!("a map's key: {other:?}"),
            };
            (name, pair[1].clone())
        })
        .collect()
}

/// `reply` (a flat map) without the pairs named in `drop`.
pub fn info_without(reply: &Reply, drop: &[&str]) -> BTreeMap<String, Reply> {
    let mut map = info_map(reply);
    map.retain(|name, _| !drop.contains(&name.as_str()));
    map
}

/// A reply as text, bulks escaped, for comparisons and failure messages.
pub fn render(reply: &Reply) -> String {
    match reply {
        Reply::Status(s) => format!("+{s}"),
        Reply::Error(e) => format!("-{e}"),
        Reply::Int(n) => format!(":{n}"),
        Reply::Bulk(None) | Reply::Array(None) => "nil".into(),
        Reply::Bulk(Some(b)) => format!("\"{}\"", show(b)),
        Reply::Array(Some(items)) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// A map from [`info_map`] as text.
pub fn render_map(map: &BTreeMap<String, Reply>) -> String {
    let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", render(v))).collect();
    format!("{{{}}}", pairs.join(", "))
}
