//! The on-disk format: what each file in a journal directory holds and how it is named.
//!
//! * `record.rs`: one record inside a segment (length, CRC, offset, timestamp, payload).
//! * `segment.rs`: segment files (`<base>.log`): naming, the 64-byte header, creation, opening.
//! * `index.rs`: the sparse offset index of a segment (`<base>.index`).
//! * `meta.rs`: `journal.meta`, which marks a directory as a journal.
//! * `clean_marker.rs`: the clean-shutdown marker written by `close` and checked by `open`.

pub(crate) mod clean_marker;
pub(crate) mod index;
pub(crate) mod meta;
pub(crate) mod record;
pub(crate) mod segment;
