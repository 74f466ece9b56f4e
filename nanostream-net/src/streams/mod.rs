//! Redis Streams on the journal.

pub mod key_path;
