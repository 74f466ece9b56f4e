//! Reading: records from any offset, replay into a pipeline, and whole-journal inspection.
//!
//! * `reader.rs`: [`JournalReader`](crate::JournalReader), reads from any offset and follows the
//!   live tail.
//! * `replay.rs`: [`replay_into`](crate::replay_into), publishes the journal into a ring buffer.
//! * `inspect.rs`: [`inspect`](crate::inspect()), per-segment statistics and verification for tools.

pub(crate) mod inspect;
pub(crate) mod reader;
pub(crate) mod replay;
