//! The broker's streams: every stream key of the data directory, each a [`StoredStream`] (its
//! entries' journal and its consumer groups), opened at start-up and created by the first
//! `XADD` (or `XGROUP CREATE ... MKSTREAM`).
//!
//! - `mod.rs` (this file): [`Keyspace`], the map from keys to streams and the data directory.
//! - `stored.rs`: [`StoredStream`].
//! - `group_log.rs`: the durable journal of a stream's consumer groups.
//! - `fsync.rs`: [`FsyncPolicy`].
//! - `error.rs`: [`KeyspaceError`].
//!
//! # The data directory
//!
//! ```text
//! <data-dir>/
//!   s-orders/             one stream: its key spelled as a name (see key_path)
//!     meta, 00000000000000000000.log, .idx, ...   the entries' journal
//!     groups/             the consumer groups' journal (once a group exists)
//!   h-<prefix>-<sha256>/  a stream whose key is too long or binary to spell
//!     KEY                 the key itself
//! ```
//!
//! Deleting a stream (`DEL`) renames its directory to `deleted-...` and syncs the data
//! directory before removing the files, so a crash in the middle never leaves half a stream
//! under a stream's name; leftovers are removed at the next start-up.

mod error;
mod fsync;
mod group_log;
mod stored;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nanostream_journal::JournalConfig;

pub use error::KeyspaceError;
pub use fsync::FsyncPolicy;
pub use stored::StoredStream;

use crate::streams::key_path;
use crate::streams::stream::{Stream, StreamConfig};

/// The prefix of a directory being deleted.
const DELETED_PREFIX: &str = "deleted-";

/// Where and how the broker keeps its streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceConfig {
    /// The data directory; created when the first stream is.
    pub data_dir: PathBuf,
    /// When writes reach the disk.
    pub fsync: FsyncPolicy,
    /// The size of each stream's journal segments: the unit `MAXLEN ~` frees disk in.
    pub segment_size: u64,
}

impl KeyspaceConfig {
    /// `data_dir` with the `batch` policy and 4 MiB segments.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        KeyspaceConfig {
            data_dir: data_dir.into(),
            fsync: FsyncPolicy::Batch,
            segment_size: 4 << 20,
        }
    }
}

/// What opening the data directory found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Streams opened.
    pub streams: usize,
    /// Entries in them.
    pub entries: u64,
    /// Consumer groups in them.
    pub groups: usize,
    /// Streams whose journal had to be recovered (not closed cleanly), with what was dropped
    /// from their tails.
    pub recovered_tails: Vec<String>,
    /// Leftovers removed: directories of streams being deleted, and streams whose key file was
    /// never written (created by an `XADD` that crashed before its first entry).
    pub removed: usize,
    /// How long it took.
    pub elapsed_ms: u64,
}

/// Every stream of the data directory, by key.
#[derive(Debug)]
pub struct Keyspace {
    config: KeyspaceConfig,
    streams: BTreeMap<Vec<u8>, StoredStream>,
}

impl Keyspace {
    /// Opens every stream in the data directory (none if it does not exist yet).
    ///
    /// Fails on a stream that cannot be opened (a journal locked by another process, a record
    /// that passed its CRC but is not a stream record): the broker refuses to start rather
    /// than serve without it.
    pub fn open(config: KeyspaceConfig) -> Result<(Self, Recovered), KeyspaceError> {
        let started = Instant::now();
        let mut keyspace = Keyspace {
            config,
            streams: BTreeMap::new(),
        };
        let mut report = Recovered::default();
        let dir = keyspace.config.data_dir.clone();
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((keyspace, report)),
            Err(source) => return Err(KeyspaceError::Io { path: dir, source }),
        };
        let mut found = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|source| KeyspaceError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.starts_with(DELETED_PREFIX)) {
                remove_dir(&path)?;
                report.removed += 1;
                continue;
            }
            if key_path::parse_dir_name(&name.to_string_lossy()).is_some() && !has_segment(&path) {
                // A stream directory without a segment: its creation failed or was cut short
                // (a full disk, a crash), so it holds nothing.
                tracing::warn!(dir = %path.display(), "removing a stream directory whose creation did not finish");
                remove_dir(&path)?;
                report.removed += 1;
                continue;
            }
            let key = match key_path::key_of_dir(&path) {
                Ok(Some(key)) => key,
                Ok(None) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // A hashed name without its KEY file: the XADD that created it crashed
                    // before its first entry, so the journal holds nothing acknowledged.
                    tracing::warn!(dir = %path.display(), "removing a stream directory without its KEY file");
                    remove_dir(&path)?;
                    report.removed += 1;
                    continue;
                }
                Err(source) => return Err(KeyspaceError::Io { path, source }),
            };
            found.push((key, path));
        }
        let opened = open_all(found, &keyspace.stream_config(), &keyspace.journal_config())?;
        for (key, stored) in opened {
            let open = stored.stream.open_report();
            if open.scanned {
                report.recovered_tails.push(format!(
                    "{}: {}",
                    String::from_utf8_lossy(&key),
                    open.dropped
                        .as_ref()
                        .map_or_else(|| "nothing dropped".to_owned(), |d| format!("{d:?}"))
                ));
            }
            report.streams += 1;
            report.entries += stored.stream.len();
            report.groups += stored.groups.len();
            keyspace.streams.insert(key, stored);
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok((keyspace, report))
    }

    /// The configuration.
    pub fn config(&self) -> &KeyspaceConfig {
        &self.config
    }

    fn journal_config(&self) -> JournalConfig {
        JournalConfig::new()
            .segment_size(self.config.segment_size)
            .durability(self.config.fsync.durability())
            .prepare_next(false)
    }

    fn stream_config(&self) -> StreamConfig {
        StreamConfig::new().journal(self.journal_config())
    }

    /// The stream stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&StoredStream> {
        self.streams.get(key)
    }

    /// The stream stored under `key`, to change.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut StoredStream> {
        self.streams.get_mut(key)
    }

    /// Whether a stream is stored under `key`.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.streams.contains_key(key)
    }

    /// The number of streams.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether there is no stream.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The keys, in byte order.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.streams.keys().map(Vec::as_slice)
    }

    /// The keys from `start` on, in byte order (`SCAN`'s cursor walks this order).
    pub fn keys_from<'a>(&'a self, start: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.streams
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .map(|(k, _)| k.as_slice())
    }

    /// The stream under `key`, created (empty, durable) if there is none.
    pub fn get_or_create(&mut self, key: &[u8]) -> Result<&mut StoredStream, KeyspaceError> {
        if !self.streams.contains_key(key) {
            let stored = self.create(key)?;
            self.streams.insert(key.to_vec(), stored);
        }
        Ok(self.streams.get_mut(key).expect("just inserted"))
    }

    fn create(&self, key: &[u8]) -> Result<StoredStream, KeyspaceError> {
        let data_dir = &self.config.data_dir;
        fs::create_dir_all(data_dir).map_err(|source| KeyspaceError::Io {
            path: data_dir.clone(),
            source,
        })?;
        let dir = key_path::stream_dir(data_dir, key);
        let created = Stream::open_or_create(&dir, self.stream_config())
            .map_err(KeyspaceError::from)
            .and_then(|stream| {
                if key_path::needs_key_file(key) {
                    key_path::write_key_file(&dir, key).map_err(|source| KeyspaceError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                }
                sync_dir(data_dir)?;
                Ok(stream)
            });
        match created {
            Ok(stream) => Ok(StoredStream::new(dir, stream, self.journal_config())),
            Err(e) => {
                // Nothing was added to it: leave no half-made stream behind (a full disk
                // fails here, creating the first segment).
                if let Err(removing) = remove_dir(&dir) {
                    tracing::warn!(error = %removing, "removing a stream whose creation failed");
                }
                Err(e)
            }
        }
    }

    /// Deletes the stream under `key` with its groups and files; returns whether there was one.
    pub fn remove(&mut self, key: &[u8]) -> Result<bool, KeyspaceError> {
        let Some(stored) = self.streams.remove(key) else {
            return Ok(false);
        };
        let dir = stored.dir().to_path_buf();
        // Closing releases the journals' locks; what it syncs is about to go anyway.
        if let Err(e) = stored.close() {
            tracing::warn!(error = %e, "closing a deleted stream");
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let doomed = self
            .config
            .data_dir
            .join(format!("{DELETED_PREFIX}{stamp}-{}", std::process::id()));
        fs::rename(&dir, &doomed).map_err(|source| KeyspaceError::Io {
            path: dir.clone(),
            source,
        })?;
        sync_dir(&self.config.data_dir)?;
        remove_dir(&doomed)?;
        Ok(true)
    }

    /// Ends a batch: makes every stream written since the last call durable under the
    /// policy. Returns the keys whose sync failed, with the error: their writes of this batch
    /// must not be acknowledged.
    pub fn commit(&mut self) -> Vec<(Vec<u8>, KeyspaceError)> {
        let mut failed = Vec::new();
        for (key, stored) in self.streams.iter_mut() {
            if stored.dirty {
                stored.dirty = false;
                if let Err(e) = stored.commit() {
                    failed.push((key.clone(), e));
                }
            }
        }
        failed
    }

    /// Closes every stream cleanly (everything synced, clean markers written), so the next
    /// start-up need not scan their tails.
    pub fn close(self) -> Result<(), KeyspaceError> {
        let mut result = Ok(());
        for (_, stored) in self.streams {
            if let Err(e) = stored.close() {
                tracing::error!(error = %e, "closing a stream");
                result = Err(e);
            }
        }
        result
    }
}

/// How many streams are opened at once at start-up: opening is mostly waiting for the disk
/// (each journal syncs its lock and markers), so more threads than cores pay off.
const OPEN_THREADS: usize = 8;

/// Opens the streams found in the data directory, several at a time; fails with the first
/// error (a panic in an opening thread is passed on).
fn open_all(
    found: Vec<(Vec<u8>, PathBuf)>,
    config: &StreamConfig,
    journal_config: &JournalConfig,
) -> Result<Vec<(Vec<u8>, StoredStream)>, KeyspaceError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = &found;
    let results: Vec<Vec<(usize, Result<StoredStream, KeyspaceError>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..OPEN_THREADS.min(found.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, path)) = found.get(i) else { break };
                        done.push((
                            i,
                            StoredStream::open(path, config.clone(), journal_config.clone()),
                        ));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut opened: Vec<(usize, StoredStream)> = Vec::with_capacity(found.len());
    for (i, result) in results.into_iter().flatten() {
        opened.push((i, result?));
    }
    opened.sort_by_key(|(i, _)| *i);
    Ok(opened
        .into_iter()
        .map(|(i, stored)| (found[i].0.clone(), stored))
        .collect())
}

/// Whether a stream's directory holds a journal segment (`*.log`).
fn has_segment(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|listing| {
        listing
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "log"))
    })
}

/// Removes a directory tree, tolerating one already gone.
fn remove_dir(path: &Path) -> Result<(), KeyspaceError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(KeyspaceError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// fsyncs a directory, so that names created or renamed in it are durable.
fn sync_dir(path: &Path) -> Result<(), KeyspaceError> {
    fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|source| KeyspaceError::Io {
            path: path.to_path_buf(),
            source,
        })
}
