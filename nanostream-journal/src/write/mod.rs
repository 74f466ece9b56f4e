//! Writing: the single writer of a journal directory and what it relies on.
//!
//! * `journal.rs`: [`Journal`](crate::Journal): append, commit, sync, rotation, retention, close.
//! * `durability.rs`: [`Durability`](crate::Durability), the policy for when appends are fsynced.
//! * `syncer.rs`: syncs the segment being appended to, keeps the durable watermarks and runs the
//!   background sync thread.
//! * `spare.rs`: the next segment, prepared on a background thread and installed at rotation.
//! * `retention.rs`: [`Retention`](crate::Retention), which sealed segments may be deleted.
//! * `lock.rs`: the writer lock, an `flock` on the journal directory.

pub(crate) mod durability;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod retention;
pub(crate) mod spare;
pub(crate) mod syncer;
