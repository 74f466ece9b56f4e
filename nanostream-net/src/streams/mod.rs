//! Redis Streams on the journal.
//!
//! - [`id`]: stream entry IDs, their order, and the forms in which commands accept one
//!   (ranges with `-`, `+` and `(`, `XADD`'s `*` and `<ms>-*`), with redis-server 7.0's
//!   rules and error replies.

pub mod id;

pub use id::{IdError, StreamId, XaddId};
