//! A write-ahead journal for NanoStream: every input event is written to a segmented,
//! CRC-checked log before business logic sees it, so that state can be rebuilt by replay.
//!
//! ```
//! # fn main() -> Result<(), nanostream_journal::Error> {
//! # let dir = std::env::temp_dir().join(format!("nsj-doc-lib-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! use nanostream_journal::{Durability, Journal, JournalConfig, JournalReader};
//!
//! let config = JournalConfig::new()
//!     .segment_size(1 << 20)
//!     .durability(Durability::EveryBatch);
//! let mut journal = Journal::open(&dir, config.clone())?;
//! let writer = std::thread::spawn(move || -> Result<(), nanostream_journal::Error> {
//!     for i in 0..1000u32 {
//!         journal.append(&i.to_le_bytes())?;
//!         if i % 100 == 99 {
//!             journal.commit()?; // group commit: one fdatasync per batch
//!         }
//!     }
//!     journal.close()
//! });
//! // Follow the journal while it is being written.
//! let mut reader = JournalReader::open(&dir)?;
//! let mut sum = 0u64;
//! for expected in 0..1000u64 {
//!     let record = reader
//!         .wait_next(std::time::Duration::from_secs(10))?
//!         .expect("the writer keeps appending");
//!     assert_eq!(record.offset, expected);
//!     sum += u64::from(u32::from_le_bytes(record.payload.try_into().unwrap()));
//! }
//! writer.join().unwrap()?;
//! assert_eq!(sum, 999 * 1000 / 2);
//!
//! // Reopening after a clean close finds the tail where the clean-shutdown marker says; after a
//! // crash it cuts a torn tail and reports what it dropped (`open_report().dropped`).
//! let journal = Journal::open(&dir, config)?;
//! assert_eq!(journal.next_offset(), 1000);
//! assert!(!journal.open_report().scanned);
//! # drop(journal);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(()) }
//! ```
//!
//! The pieces:
//! * [`Journal`] appends records (one writer per directory, enforced by an `flock` on the directory), syncs them
//!   under a [`Durability`] policy, rotates segments and applies [`Retention`].
//! * [`JournalReader`] reads from any offset and follows the live tail, from any process.
//! * [`JournalHandler`] is a NanoStream `EventHandler` that journals each event through a
//!   [`Codec`] and exposes a durable watermark `Sequence` later stages can be gated on;
//!   [`replay_into`] rebuilds state by publishing the journal into a ring buffer at start-up.
//! * [`inspect`] checks every record of a journal; the `nanostream-journal` command (`dump`,
//!   `verify`, `stats`, `tail -f`, `recover`), in the `nanostream-journal-cli` crate, is built on
//!   it and on the reader.
//!
//! See the crate's README for the on-disk format and the recovery rules.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod codec;
mod config;
mod error;
mod format;
mod fs;
mod handler;
mod mapping;
mod read;
mod recover;
mod write;

pub use codec::{BytesCodec, Codec, DecodeError};
pub use config::JournalConfig;
pub use error::{Error, Result};
pub use format::record::RECORD_HEADER_LEN;
pub use format::segment::SEGMENT_HEADER_LEN;
pub use handler::{JournalHandler, JournalStatus};
pub use read::inspect::{inspect, SegmentInfo};
pub use read::reader::{JournalReader, Record};
pub use read::replay::replay_into;
pub use recover::report::{Dropped, OpenReport};
pub use write::durability::Durability;
pub use write::journal::Journal;
pub use write::retention::Retention;
pub use write::syncer::SyncFailure;

/// The Rust code blocks of the crate's README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
