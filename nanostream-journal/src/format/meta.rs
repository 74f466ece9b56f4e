//! The `journal.meta` file that marks a directory as a NanoStream journal.
//!
//! A directory without it is refused unless it is empty (then it becomes a journal, if creation
//! is allowed), so the journal never writes into, or deletes from, a directory it does not own.

use std::fs;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::fs::write_atomic;

/// Name of the marker file.
pub(crate) const META_FILE: &str = "journal.meta";
const CONTENT: &str = "nanostream-journal format 1\n";

/// Checks that `dir` is a journal; with `create`, makes a missing or empty directory one.
pub(crate) fn ensure(dir: &Path, create: bool) -> Result<()> {
    if !dir.exists() {
        if !create {
            return Err(Error::NotFound(dir.to_path_buf()));
        }
        fs::create_dir_all(dir).at(dir)?;
        if let Some(parent) = dir.parent() {
            if !parent.as_os_str().is_empty() {
                let _ = crate::fs::sync_dir(parent);
            }
        }
    }
    match check(dir) {
        Ok(()) => Ok(()),
        Err(Error::NotAJournal { .. }) if create && dir.is_dir() && is_empty(dir)? => {
            write_atomic(dir, META_FILE, CONTENT.as_bytes()).at(dir.join(META_FILE))
        }
        Err(e) => Err(e),
    }
}

/// Checks that `dir` exists and is a journal (read-only).
pub(crate) fn check(dir: &Path) -> Result<()> {
    let md = match fs::metadata(dir) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound(dir.to_path_buf())),
        Err(e) => {
            return Err(Error::Io {
                path: dir.into(),
                source: e,
            })
        }
    };
    if !md.is_dir() {
        return Err(Error::NotAJournal {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let meta = dir.join(META_FILE);
    match fs::read(&meta) {
        Ok(bytes) if bytes == CONTENT.as_bytes() => Ok(()),
        Ok(bytes) if bytes.starts_with(b"nanostream-journal format ") => Err(Error::NotAJournal {
            path: dir.to_path_buf(),
            reason: format!(
                "unsupported format ({:?})",
                String::from_utf8_lossy(&bytes).trim()
            ),
        }),
        Ok(_) => Err(Error::NotAJournal {
            path: dir.to_path_buf(),
            reason: format!("{META_FILE} is not a NanoStream journal marker"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotAJournal {
            path: dir.to_path_buf(),
            reason: format!("no {META_FILE} file"),
        }),
        Err(e) => Err(Error::Io {
            path: meta,
            source: e,
        }),
    }
}

fn is_empty(dir: &Path) -> Result<bool> {
    Ok(fs::read_dir(dir).at(dir)?.next().is_none())
}
