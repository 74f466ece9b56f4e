//! [`StoredStream`]: one stream key's entries and consumer groups, with their journals.

use std::path::{Path, PathBuf};

use nanostream_journal::JournalConfig;

use super::group_log::GroupLog;
use super::KeyspaceError;
use crate::streams::group::{GroupOp, Groups};
use crate::streams::stream::{Stream, StreamConfig};

/// The name of the consumer-group journal's directory, inside the stream's.
const GROUPS_DIR: &str = "groups";

/// One stream: its entries ([`Stream`]) and its consumer groups ([`Groups`]), each durable in
/// a journal of its own in the stream's directory.
#[derive(Debug)]
pub struct StoredStream {
    dir: PathBuf,
    /// The entries.
    pub stream: Stream,
    /// The consumer groups. Change them through the methods of [`Groups`] and
    /// [`Group`](crate::streams::group::Group), then hand the ops they logged to
    /// [`persist`](Self::persist).
    pub groups: Groups,
    group_log: Option<GroupLog>,
    journal_config: JournalConfig,
    /// Written since the last commit.
    pub(super) dirty: bool,
}

impl StoredStream {
    pub(super) fn new(dir: PathBuf, stream: Stream, journal_config: JournalConfig) -> Self {
        StoredStream {
            dir,
            stream,
            groups: Groups::new(),
            group_log: None,
            journal_config,
            dirty: false,
        }
    }

    pub(super) fn open(
        dir: &Path,
        config: StreamConfig,
        journal_config: JournalConfig,
    ) -> Result<Self, KeyspaceError> {
        let stream = Stream::open_or_create(dir, config)?;
        let mut stored = StoredStream::new(dir.to_path_buf(), stream, journal_config);
        let groups_dir = dir.join(GROUPS_DIR);
        if groups_dir.is_dir() {
            let (log, groups) = GroupLog::open(&groups_dir, &stored.journal_config)?;
            stored.group_log = Some(log);
            stored.groups = groups;
        }
        Ok(stored)
    }

    /// The stream's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Notes that the stream's entries changed in this batch: the batch's commit syncs them.
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Journals the group ops a command logged (and clears `ops`); the batch's commit makes
    /// them durable.
    pub fn persist(&mut self, ops: &mut Vec<GroupOp>) -> Result<(), KeyspaceError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        let result = match &mut self.group_log {
            Some(log) => log.append(ops, &self.groups),
            None => {
                let (mut log, _) = GroupLog::open(&self.dir.join(GROUPS_DIR), &self.journal_config)?;
                // A new group journal starts from the whole state: the ops just logged are in it.
                let compacted = log.compact(&self.groups);
                self.group_log = Some(log);
                compacted
            }
        };
        ops.clear();
        result
    }

    pub(super) fn commit(&mut self) -> Result<(), KeyspaceError> {
        self.stream.commit()?;
        if let Some(log) = &mut self.group_log {
            log.commit()?;
        }
        Ok(())
    }

    pub(super) fn close(self) -> Result<(), KeyspaceError> {
        let stream = self.stream.close();
        if let Some(log) = self.group_log {
            log.close()?;
        }
        Ok(stream?)
    }
}
