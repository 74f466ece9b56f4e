//! Redis Streams on the journal: the pieces the stream commands are built on.
//!
//! - [`id`]: stream entry IDs, their order, and the forms in which commands accept one
//!   (ranges with `-`, `+` and `(`, `XADD`'s `*` and `<ms>-*`), with redis-server 7.0's
//!   rules and error replies.
//! - [`group`]: the consumer groups of one stream (last delivered ID, read counter, pending
//!   entries, consumers) with what `XGROUP`, `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM` and
//!   `XAUTOCLAIM` do to them and reply, and the binary records that journal their changes.
//! - [`key_path`]: the directory of a stream's journal under the data directory, for any key
//!   (`../../etc`, NUL bytes, 10 KB names), never outside it and never shared by two keys.
//! - [`entry`]: how an entry (its ID and field/value pairs) and an `XDEL` tombstone are
//!   encoded as journal records, and decoded from any bytes without panicking.
//! - [`keyspace`]: every stream of the broker's data directory, with its consumer groups and
//!   their journal, and the `--fsync` policy.
//! - [`stream`]: one stream's storage on its journal: append, ranges both ways, deletion,
//!   recovery on open, and the durable watermark an `XADD` is acknowledged on.

pub mod entry;
pub mod group;
pub mod id;
pub mod key_path;
pub mod keyspace;
pub mod stream;

pub use id::{IdError, StreamId, XaddId};
pub use stream::{Stream, StreamConfig, StreamError};
