//! `XCLAIM`'s options and `XAUTOCLAIM`'s reply.

use crate::streams::id::StreamId;

/// How many PEL entries `XAUTOCLAIM` may examine for each entry of its `COUNT`.
pub const AUTOCLAIM_ATTEMPTS_FACTOR: usize = 10;

/// `XCLAIM`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimOptions {
    /// `IDLE ms` or `TIME ms` (the last one given): the claimed entries' delivery time;
    /// now when `None`.
    pub delivery_time: Option<ClaimTime>,
    /// `RETRYCOUNT n`: the delivery count is set to `n` instead of being incremented.
    pub retry_count: Option<u64>,
    /// `FORCE`: an ID not in the PEL is created there (if the entry exists in the stream).
    pub force: bool,
    /// `JUSTID`: the delivery count is not incremented, and the reply holds IDs only.
    pub justid: bool,
    /// `LASTID id`: raises the group's last delivered ID to `id` if it is greater.
    pub last_id: Option<StreamId>,
}

/// `XCLAIM`'s `IDLE` and `TIME` options, as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimTime {
    /// `IDLE ms`: delivered `ms` milliseconds ago.
    Idle(i64),
    /// `TIME ms`: delivered at this Unix time in milliseconds.
    Time(i64),
}

impl ClaimTime {
    /// The delivery time this option gives at `now_ms`: a time before 0 or after now is now,
    /// as Redis corrects it (so `IDLE -5` and `TIME -5` both mean now).
    ///
    /// ```
    /// use nanostream_net::streams::group::ClaimTime;
    ///
    /// assert_eq!(ClaimTime::Idle(5000).resolve(10_000), 5000);
    /// assert_eq!(ClaimTime::Idle(-5).resolve(10_000), 10_000);
    /// assert_eq!(ClaimTime::Time(99_999).resolve(10_000), 10_000);
    /// assert_eq!(ClaimTime::Time(42).resolve(10_000), 42);
    /// ```
    pub fn resolve(self, now_ms: u64) -> u64 {
        let now = i128::from(now_ms);
        let t = match self {
            ClaimTime::Idle(idle) => now - i128::from(idle),
            ClaimTime::Time(time) => i128::from(time),
        };
        if (0..=now).contains(&t) {
            t as u64
        } else {
            now_ms
        }
    }
}

/// What `XAUTOCLAIM` replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoClaim {
    /// The cursor for the next call: the first PEL entry not examined, `0-0` at the end.
    pub next_start: StreamId,
    /// The claimed IDs, ascending.
    pub claimed: Vec<StreamId>,
    /// The IDs removed from the PEL because their entries no longer exist in the stream.
    pub deleted: Vec<StreamId>,
}
