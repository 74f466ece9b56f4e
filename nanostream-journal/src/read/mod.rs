//! Reading: records from any offset, replay into a pipeline, whole-journal inspection, and the
//! record scan they and recovery share.
//!
//! * `reader.rs`: [`JournalReader`](crate::JournalReader), reads from any offset and follows the
//!   live tail.
//! * `replay.rs`: [`replay_into`](crate::replay_into), publishes the journal into a ring buffer.
//! * `inspect.rs`: [`inspect`](crate::inspect()), per-segment statistics and verification for tools.
//! * `scan.rs`: walks the valid records of a segment; used by the reader, inspect and recovery.

pub(crate) mod inspect;
pub(crate) mod reader;
pub(crate) mod replay;
pub(crate) mod scan;
