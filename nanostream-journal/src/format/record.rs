//! The record format: how one journaled event is laid out inside a segment.
//!
//! ```text
//! +0   u32  length   = RECORD_HEADER_LEN + payload length  (written last: the commit word)
//! +4   u32  crc32    over segment seed, sequence, timestamp and payload
//! +8   u64  sequence (the record's offset in the journal)
//! +16  u64  timestamp (nanoseconds since the Unix epoch)
//! +24  ...  payload
//!           zero padding to the next multiple of 8
//! ```
//!
//! All integers are little-endian. A length word of zero means "nothing here yet"; the value
//! [`SEAL`] marks the end of a sealed segment. Because the CRC mixes in the segment's random seed
//! and the record must carry the expected sequence, bytes left over in a preallocated or reused
//! file never validate.

use crate::mapping::Mapping;

/// Bytes of a record before its payload.
pub const RECORD_HEADER_LEN: usize = 24;

/// Length-word value marking the end of a sealed segment.
pub(crate) const SEAL: u32 = u32::MAX;

/// Space always kept free at the end of a segment for the seal marker.
pub(crate) const SEAL_LEN: usize = 8;

/// Records start at multiples of this.
pub(crate) const ALIGN: usize = 8;

/// Bytes a record with `payload_len` payload bytes occupies, padding included.
pub(crate) const fn record_span(payload_len: usize) -> usize {
    (RECORD_HEADER_LEN + payload_len + ALIGN - 1) & !(ALIGN - 1)
}

/// The record checksum.
pub(crate) fn checksum(seed: u64, sequence: u64, timestamp: u64, payload: &[u8]) -> u32 {
    // One update for the 24 bytes of fixed fields: crc32fast pays a set-up per `update`, which
    // three 8-byte updates paid three times on every record.
    let mut fixed = [0u8; 24];
    fixed[..8].copy_from_slice(&seed.to_le_bytes());
    fixed[8..16].copy_from_slice(&sequence.to_le_bytes());
    fixed[16..].copy_from_slice(&timestamp.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&fixed);
    h.update(payload);
    h.finalize()
}

/// What is found at a position of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Length word zero: no record (yet).
    Empty,
    /// The seal marker: the segment ends here and the next segment starts at the expected offset.
    Sealed,
    /// A valid record.
    Record {
        /// Its timestamp.
        timestamp: u64,
        /// Where its payload starts.
        payload_pos: usize,
        /// Its payload length.
        payload_len: usize,
        /// Where the next record starts.
        next_pos: usize,
    },
    /// Something that is not a valid record with the expected sequence.
    Invalid(&'static str),
}

/// Examines the record slot at `pos`, validating length, sequence and CRC.
///
/// `pos` must be 8-aligned and at most `map.len() - SEAL_LEN`.
pub(crate) fn probe(map: &Mapping, seed: u64, pos: usize, expected_sequence: u64) -> Probe {
    let len = map.load_u32(pos);
    if len == 0 {
        return Probe::Empty;
    }
    if len == SEAL {
        return Probe::Sealed;
    }
    let len = len as usize;
    if len < RECORD_HEADER_LEN {
        return Probe::Invalid("length shorter than a record header");
    }
    let payload_len = len - RECORD_HEADER_LEN;
    let next_pos = pos + record_span(payload_len);
    if next_pos.saturating_add(SEAL_LEN) > map.len() {
        return Probe::Invalid("length runs past the end of the segment");
    }
    let crc = map.read_u32(pos + 4);
    let sequence = map.read_u64(pos + 8);
    let timestamp = map.read_u64(pos + 16);
    if sequence != expected_sequence {
        return Probe::Invalid("sequence does not follow the previous record");
    }
    let payload = map.bytes(pos + RECORD_HEADER_LEN, payload_len);
    if checksum(seed, sequence, timestamp, payload) != crc {
        return Probe::Invalid("CRC mismatch");
    }
    Probe::Record {
        timestamp,
        payload_pos: pos + RECORD_HEADER_LEN,
        payload_len,
        next_pos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_aligned() {
        assert_eq!(record_span(0), 24);
        assert_eq!(record_span(1), 32);
        assert_eq!(record_span(8), 32);
        assert_eq!(record_span(9), 40);
    }

    #[test]
    fn checksum_depends_on_seed() {
        assert_ne!(checksum(1, 0, 0, b"x"), checksum(2, 0, 0, b"x"));
    }
}
