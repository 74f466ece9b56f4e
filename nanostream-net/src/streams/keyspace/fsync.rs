//! [`FsyncPolicy`]: when the broker's stream journals reach the disk, and what an `XADD`
//! reply then promises.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use nanostream_journal::Durability;

/// When stream entries and consumer-group changes are made durable (`--fsync`).
///
/// | policy | a reply means | lost after a crash of the broker | lost after a power loss |
/// | --- | --- | --- | --- |
/// | `batch` (default) | fdatasync'd | nothing | nothing |
/// | `interval:<ms>` | written to the page cache | nothing | up to `<ms>` of replies |
/// | `never` | written to the page cache | nothing | whatever the OS had not written |
///
/// Under `batch` the broker thread ends each batch of commands with one fdatasync per stream
/// written in it, then answers: every client that sent a write while the previous sync ran
/// shares the next one (group commit), so pipelined and concurrent clients are not paced by
/// one sync per command. The entries are in a memory-mapped journal, so a killed broker
/// (`kill -9`) loses nothing under any policy: the page cache outlives the process.
///
/// ```
/// use nanostream_net::streams::keyspace::FsyncPolicy;
/// use std::time::Duration;
///
/// assert_eq!("batch".parse(), Ok(FsyncPolicy::Batch));
/// assert_eq!("interval:1000".parse(), Ok(FsyncPolicy::Interval(Duration::from_secs(1))));
/// assert!("interval:0".parse::<FsyncPolicy>().is_err());
/// assert_eq!(FsyncPolicy::Interval(Duration::from_millis(5)).to_string(), "interval:5");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Never fdatasync; the OS writes the pages back when it chooses.
    Never,
    /// One fdatasync per stream per batch of commands, before the replies (group commit).
    #[default]
    Batch,
    /// fdatasync from a background thread at this period; replies do not wait for it.
    Interval(Duration),
}

impl FsyncPolicy {
    /// The journal policy that implements this one.
    pub fn durability(self) -> Durability {
        match self {
            FsyncPolicy::Never => Durability::Never,
            FsyncPolicy::Batch => Durability::EveryBatch,
            FsyncPolicy::Interval(period) => Durability::Interval(period),
        }
    }
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "never" => Ok(FsyncPolicy::Never),
            "batch" => Ok(FsyncPolicy::Batch),
            _ => {
                let ms = s
                    .strip_prefix("interval:")
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .filter(|&ms| (1..=3_600_000).contains(&ms))
                    .ok_or_else(|| {
                        format!("`{s}` is not an fsync policy: never, batch or interval:<ms> (1 to 3600000)")
                    })?;
                Ok(FsyncPolicy::Interval(Duration::from_millis(ms)))
            }
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Never => f.write_str("never"),
            FsyncPolicy::Batch => f.write_str("batch"),
            FsyncPolicy::Interval(period) => write!(f, "interval:{}", period.as_millis()),
        }
    }
}
