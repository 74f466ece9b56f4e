//! How a stream's records are written in its journal: an entry (its ID and its field/value
//! pairs), a tombstone (the IDs `XDEL` deleted) or a trim (`XTRIM`, `XADD MAXLEN`/`MINID`:
//! every entry before an ID is gone, with the stream's counters at that moment).
//!
//! Every journal record of a stream is one [`StreamRecord`]. Integers are little-endian; every
//! byte string is preceded by its length, so fields and values may hold any bytes:
//!
//! ```text
//! +0   u8   format version: 1
//! +1   u8   kind: 1 = entry, 2 = tombstone, 3 = trim
//!
//! entry:
//! +2   u64  ID milliseconds
//! +10  u64  ID sequence
//! +18  u32  number of field/value pairs
//! +22  then each field and each value, in order: u32 length, the bytes
//!
//! tombstone:
//! +2   u32  number of IDs (at least 1)
//! +6   then each ID: u64 milliseconds, u64 sequence
//!
//! trim (66 bytes):
//! +2   ID   every entry before this ID is deleted (u64 ms, u64 seq)
//! +18  ID   the stream's last ID
//! +34  u64  its length after the trim
//! +42  u64  the entries ever added to it
//! +50  ID   the greatest ID XDEL deleted
//! ```
//!
//! A trim carries the counters because the segments holding the entries it removed may be
//! deleted afterwards (`MAXLEN ~`): reading the journal from its first remaining segment, the
//! last trim record gives the state that the records before it no longer can.
//!
//! [`decode`] checks a record completely before handing out anything: a version or kind it does
//! not know, a length that runs past the end of the record, bytes left over after the last
//! string and an empty tombstone are each an [`EntryError`]. It never panics and never
//! allocates: the [`EntryRef`] and [`TombstoneRef`] it returns borrow the record.
//! [`EntryRef::to_fields`] copies the fields out in one allocation of at most the record's
//! length.
//!
//! ```
//! use nanostream_net::streams::entry::{self, StreamRecord};
//! use nanostream_net::streams::StreamId;
//!
//! let id = StreamId::new(1526919030474, 55);
//! let bytes = entry::encode_entry(id, &[&b"temperature"[..], b"21.5"])?;
//! let StreamRecord::Entry(decoded) = entry::decode(&bytes)? else { unreachable!() };
//! assert_eq!(decoded.id(), id);
//! assert_eq!(decoded.fields().collect::<Vec<_>>(), [&b"temperature"[..], b"21.5"]);
//!
//! let tombstone = entry::encode_tombstone(&[id]);
//! let StreamRecord::Tombstone(deleted) = entry::decode(&tombstone)? else { unreachable!() };
//! assert_eq!(deleted.ids().collect::<Vec<_>>(), [id]);
//!
//! // A field without its value, and a length that claims more than the record holds.
//! assert!(entry::encode_entry(id, &[&b"lonely"[..]]).is_err());
//! assert!(entry::decode(&bytes[..bytes.len() - 1]).is_err());
//! # Ok::<(), entry::EntryError>(())
//! ```

use std::fmt;

use thiserror::Error;

use crate::streams::id::StreamId;

/// The format version written in the first byte of every record.
pub const FORMAT_VERSION: u8 = 1;

/// The kind byte of an entry.
const KIND_ENTRY: u8 = 1;
/// The kind byte of a tombstone.
const KIND_TOMBSTONE: u8 = 2;
/// The kind byte of a trim.
const KIND_TRIM: u8 = 3;

/// The length of a trim record.
pub const TRIM_LEN: usize = 2 + 16 + 16 + 8 + 8 + 16;

/// Bytes before an entry's first field: version, kind, ID, pair count.
const ENTRY_HEADER_LEN: usize = 2 + 16 + 4;
/// Bytes before a tombstone's first ID: version, kind, ID count.
const TOMBSTONE_HEADER_LEN: usize = 2 + 4;
/// Bytes of one ID in a tombstone.
const ID_LEN: usize = 16;

/// Why a record could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EntryError {
    /// Fields and values come in pairs: an odd number of strings was given.
    #[error("a stream entry needs an even number of strings (field/value pairs), got {0}")]
    OddFieldCount(usize),
    /// A string or the whole entry is longer than the format can describe (4 GiB).
    #[error("a stream entry or one of its strings is larger than 4 GiB")]
    TooLarge,
    /// The record is shorter than the header its kind needs, or empty.
    #[error("the record is cut short: {len} bytes")]
    Truncated {
        /// The record's length.
        len: usize,
    },
    /// The first byte names a format version this build does not read.
    #[error("unknown stream record format version {0}")]
    UnknownVersion(u8),
    /// The second byte names a record kind this build does not know.
    #[error("unknown stream record kind {0}")]
    UnknownKind(u8),
    /// A length (of a string, or a count of pairs or IDs) runs past the end of the record.
    #[error("a length at byte {at} runs past the end of the record")]
    LengthPastEnd {
        /// Where the length is, in the record.
        at: usize,
    },
    /// Bytes are left after the last string or ID.
    #[error("{0} bytes are left after the end of the record")]
    TrailingBytes(usize),
    /// A tombstone that names no ID.
    #[error("a tombstone without IDs")]
    EmptyTombstone,
}

/// The length of the record [`encode_entry_into`] writes for `fields` (field, value, field,
/// value, ...).
pub fn entry_len<B: AsRef<[u8]>>(fields: &[B]) -> Result<usize, EntryError> {
    if !fields.len().is_multiple_of(2) {
        return Err(EntryError::OddFieldCount(fields.len()));
    }
    if u32::try_from(fields.len() / 2).is_err() {
        return Err(EntryError::TooLarge);
    }
    let mut len = ENTRY_HEADER_LEN;
    for field in fields {
        let field = field.as_ref();
        if u32::try_from(field.len()).is_err() {
            return Err(EntryError::TooLarge);
        }
        len = len.checked_add(4 + field.len()).ok_or(EntryError::TooLarge)?;
    }
    if u32::try_from(len).is_err() {
        return Err(EntryError::TooLarge);
    }
    Ok(len)
}

/// Writes the entry record of `id` and `fields` into `out`, which must be exactly
/// [`entry_len`]`(fields)` bytes long (checked by that call: an odd count or an oversized
/// string is refused there).
///
/// # Panics
///
/// If `out` is not exactly `entry_len(fields)` bytes long.
pub fn encode_entry_into<B: AsRef<[u8]>>(id: StreamId, fields: &[B], out: &mut [u8]) {
    let mut w = Writer { out, at: 0 };
    w.put(&[FORMAT_VERSION, KIND_ENTRY]);
    w.put(&id.ms.to_le_bytes());
    w.put(&id.seq.to_le_bytes());
    w.put(&((fields.len() / 2) as u32).to_le_bytes());
    for field in fields {
        let field = field.as_ref();
        w.put(&(field.len() as u32).to_le_bytes());
        w.put(field);
    }
    assert_eq!(w.at, w.out.len(), "the buffer is entry_len(fields) bytes long");
}

/// The entry record of `id` and `fields` (field, value, field, value, ...).
pub fn encode_entry<B: AsRef<[u8]>>(id: StreamId, fields: &[B]) -> Result<Vec<u8>, EntryError> {
    let mut out = vec![0; entry_len(fields)?];
    encode_entry_into(id, fields, &mut out);
    Ok(out)
}

/// The length of the tombstone record naming `count` IDs.
pub const fn tombstone_len(count: usize) -> usize {
    TOMBSTONE_HEADER_LEN + count * ID_LEN
}

/// The tombstone record naming `ids`, in the order given.
///
/// # Panics
///
/// If `ids` is empty or holds more than `u32::MAX` IDs.
pub fn encode_tombstone(ids: &[StreamId]) -> Vec<u8> {
    let mut out = vec![0; tombstone_len(ids.len())];
    encode_tombstone_into(ids, &mut out);
    out
}

/// Writes the tombstone record naming `ids` into `out`, which must be exactly
/// [`tombstone_len`]`(ids.len())` bytes long.
///
/// # Panics
///
/// If `ids` is empty or holds more than `u32::MAX` IDs, or `out` has the wrong length.
pub fn encode_tombstone_into(ids: &[StreamId], out: &mut [u8]) {
    assert!(!ids.is_empty(), "a tombstone names at least one ID");
    let count = u32::try_from(ids.len()).expect("at most u32::MAX IDs in a tombstone");
    let mut w = Writer { out, at: 0 };
    w.put(&[FORMAT_VERSION, KIND_TOMBSTONE]);
    w.put(&count.to_le_bytes());
    for id in ids {
        w.put(&id.ms.to_le_bytes());
        w.put(&id.seq.to_le_bytes());
    }
    assert_eq!(
        w.at,
        w.out.len(),
        "the buffer is tombstone_len(ids.len()) bytes long"
    );
}

/// A trim: every entry before [`before`](Self::before) is deleted, and the stream's counters
/// right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trim {
    /// The first ID that may still exist: every entry with a lower ID is deleted.
    pub before: StreamId,
    /// The stream's last ID.
    pub last_id: StreamId,
    /// The number of entries left.
    pub len: u64,
    /// The number of entries ever added.
    pub entries_added: u64,
    /// The greatest ID `XDEL` ever deleted (`0-0` if none).
    pub max_deleted_id: StreamId,
}

impl Trim {
    /// Writes the record into `out`, which must be exactly [`TRIM_LEN`] bytes long.
    ///
    /// # Panics
    ///
    /// If `out` has the wrong length.
    pub fn encode_into(&self, out: &mut [u8]) {
        let mut w = Writer { out, at: 0 };
        w.put(&[FORMAT_VERSION, KIND_TRIM]);
        for id in [self.before, self.last_id] {
            w.put(&id.ms.to_le_bytes());
            w.put(&id.seq.to_le_bytes());
        }
        w.put(&self.len.to_le_bytes());
        w.put(&self.entries_added.to_le_bytes());
        w.put(&self.max_deleted_id.ms.to_le_bytes());
        w.put(&self.max_deleted_id.seq.to_le_bytes());
        assert_eq!(w.at, w.out.len(), "the buffer is TRIM_LEN bytes long");
    }

    /// The record, as a vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0; TRIM_LEN];
        self.encode_into(&mut out);
        out
    }
}

/// Copies byte strings into a buffer of the exact size.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// A decoded record, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRecord<'a> {
    /// An entry added by `XADD`.
    Entry(EntryRef<'a>),
    /// IDs deleted by `XDEL`.
    Tombstone(TombstoneRef<'a>),
    /// Entries before an ID deleted by a trim.
    Trim(Trim),
}

/// Decodes and checks a record (see the [module docs](self) for the layout). Never panics and
/// never allocates, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<StreamRecord<'_>, EntryError> {
    let [version, kind, ..] = *bytes else {
        return Err(EntryError::Truncated { len: bytes.len() });
    };
    if version != FORMAT_VERSION {
        return Err(EntryError::UnknownVersion(version));
    }
    match kind {
        KIND_ENTRY => decode_entry(bytes).map(StreamRecord::Entry),
        KIND_TOMBSTONE => decode_tombstone(bytes).map(StreamRecord::Tombstone),
        KIND_TRIM => decode_trim(bytes).map(StreamRecord::Trim),
        other => Err(EntryError::UnknownKind(other)),
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn id_at(bytes: &[u8], at: usize) -> StreamId {
    StreamId::new(u64_at(bytes, at), u64_at(bytes, at + 8))
}

fn decode_entry(bytes: &[u8]) -> Result<EntryRef<'_>, EntryError> {
    if bytes.len() < ENTRY_HEADER_LEN {
        return Err(EntryError::Truncated { len: bytes.len() });
    }
    let id = id_at(bytes, 2);
    let pairs = u32_at(bytes, 18).ok_or(EntryError::Truncated { len: bytes.len() })?;
    let body = &bytes[ENTRY_HEADER_LEN..];
    // Each string takes at least its 4-byte length: a count the record cannot hold is refused
    // before anything is walked.
    if pairs.checked_mul(8).is_none_or(|min| min > body.len()) {
        return Err(EntryError::LengthPastEnd { at: 18 });
    }
    let mut at = 0;
    for _ in 0..pairs * 2 {
        let len = u32_at(body, at).ok_or(EntryError::LengthPastEnd {
            at: ENTRY_HEADER_LEN + at,
        })?;
        let end =
            (at + 4)
                .checked_add(len)
                .filter(|&end| end <= body.len())
                .ok_or(EntryError::LengthPastEnd {
                    at: ENTRY_HEADER_LEN + at,
                })?;
        at = end;
    }
    if at != body.len() {
        return Err(EntryError::TrailingBytes(body.len() - at));
    }
    Ok(EntryRef {
        id,
        fields: FieldsRef {
            count: pairs * 2,
            body,
        },
    })
}

fn decode_trim(bytes: &[u8]) -> Result<Trim, EntryError> {
    match bytes.len() {
        TRIM_LEN => Ok(Trim {
            before: id_at(bytes, 2),
            last_id: id_at(bytes, 18),
            len: u64_at(bytes, 34),
            entries_added: u64_at(bytes, 42),
            max_deleted_id: id_at(bytes, 50),
        }),
        n if n > TRIM_LEN => Err(EntryError::TrailingBytes(n - TRIM_LEN)),
        n => Err(EntryError::Truncated { len: n }),
    }
}

fn decode_tombstone(bytes: &[u8]) -> Result<TombstoneRef<'_>, EntryError> {
    let count = u32_at(bytes, 2).ok_or(EntryError::Truncated { len: bytes.len() })?;
    if count == 0 {
        return Err(EntryError::EmptyTombstone);
    }
    let ids = &bytes[TOMBSTONE_HEADER_LEN..];
    match count.checked_mul(ID_LEN) {
        Some(need) if need == ids.len() => Ok(TombstoneRef { ids }),
        Some(need) if need < ids.len() => Err(EntryError::TrailingBytes(ids.len() - need)),
        _ => Err(EntryError::LengthPastEnd { at: 2 }),
    }
}

/// A checked entry record: its ID and its fields, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    id: StreamId,
    fields: FieldsRef<'a>,
}

impl<'a> EntryRef<'a> {
    /// The entry's ID.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// The number of strings: twice the number of field/value pairs.
    pub fn field_count(&self) -> usize {
        self.fields.count
    }

    /// The strings in order: field, value, field, value, ...
    pub fn fields(&self) -> FieldIter<'a> {
        self.fields.iter()
    }

    /// The fields, copied into one buffer (as long as the record without its 22-byte header).
    pub fn to_fields(&self) -> Fields {
        Fields {
            count: self.fields.count,
            body: self.fields.body.to_vec(),
        }
    }
}

/// A checked tombstone record: the IDs it deletes, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TombstoneRef<'a> {
    ids: &'a [u8],
}

impl<'a> TombstoneRef<'a> {
    /// The number of IDs.
    pub fn len(&self) -> usize {
        self.ids.len() / ID_LEN
    }

    /// Always `false`: a tombstone names at least one ID ([`decode`] refuses one without).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The deleted IDs, in the order they were written.
    pub fn ids(&self) -> impl Iterator<Item = StreamId> + 'a {
        self.ids.chunks_exact(ID_LEN).map(|c| id_at(c, 0))
    }
}

/// Field strings in the length-prefixed layout, already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldsRef<'a> {
    count: usize,
    body: &'a [u8],
}

impl<'a> FieldsRef<'a> {
    fn iter(&self) -> FieldIter<'a> {
        FieldIter {
            rest: self.body,
            left: self.count,
        }
    }
}

/// The strings of an entry in order (field, value, field, value, ...).
#[derive(Debug, Clone)]
pub struct FieldIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        // The layout was checked when the record was decoded; a short read just ends early.
        let len = u32_at(self.rest, 0)?;
        let s = self.rest.get(4..4 + len)?;
        self.rest = &self.rest[4 + len..];
        self.left -= 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// An entry's fields, owned: field, value, field, value, ..., kept in one buffer in their
/// on-journal layout (each string after its 4-byte length).
#[derive(Clone, PartialEq, Eq)]
pub struct Fields {
    count: usize,
    body: Vec<u8>,
}

impl Fields {
    /// The number of strings: twice the number of field/value pairs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The strings in order: field, value, field, value, ...
    pub fn iter(&self) -> FieldIter<'_> {
        FieldsRef {
            count: self.count,
            body: &self.body,
        }
        .iter()
    }

    /// The field/value pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut it = self.iter();
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    /// The strings copied out one by one.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = &'a [u8];
    type IntoIter = FieldIter<'a>;

    fn into_iter(self) -> FieldIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|s| String::from_utf8_lossy(s)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn entry_layout_is_as_documented() {
        let bytes = encode_entry(id(0x0102, 7), &[&b"f"[..], b"vv"]).unwrap();
        let mut want = vec![1u8, 1];
        want.extend_from_slice(&0x0102u64.to_le_bytes());
        want.extend_from_slice(&7u64.to_le_bytes());
        want.extend_from_slice(&1u32.to_le_bytes());
        want.extend_from_slice(&1u32.to_le_bytes());
        want.push(b'f');
        want.extend_from_slice(&2u32.to_le_bytes());
        want.extend_from_slice(b"vv");
        assert_eq!(bytes, want);
        assert_eq!(entry_len(&[&b"f"[..], b"vv"]), Ok(want.len()));
    }

    #[test]
    fn trim_layout_is_as_documented_and_round_trips() {
        let trim = Trim {
            before: id(5, 1),
            last_id: id(9, 2),
            len: 3,
            entries_added: 12,
            max_deleted_id: id(4, 4),
        };
        let bytes = trim.encode();
        let mut want = vec![1u8, 3];
        for n in [5u64, 1, 9, 2, 3, 12, 4, 4] {
            want.extend_from_slice(&n.to_le_bytes());
        }
        assert_eq!(bytes, want);
        assert_eq!(decode(&bytes), Ok(StreamRecord::Trim(trim)));
        assert_eq!(
            decode(&bytes[..TRIM_LEN - 1]),
            Err(EntryError::Truncated { len: TRIM_LEN - 1 })
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(EntryError::TrailingBytes(1)));
    }

    #[test]
    fn tombstone_layout_is_as_documented() {
        let bytes = encode_tombstone(&[id(1, 2), id(3, 4)]);
        let mut want = vec![1u8, 2];
        want.extend_from_slice(&2u32.to_le_bytes());
        for v in [1u64, 2, 3, 4] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(bytes, want);
        assert_eq!(tombstone_len(2), want.len());
    }

    #[test]
    fn empty_and_binary_strings_round_trip() {
        let fields: [&[u8]; 4] = [b"", b"\0\xff\r\n", b"", b""];
        let bytes = encode_entry(id(u64::MAX, u64::MAX), &fields).unwrap();
        let StreamRecord::Entry(e) = decode(&bytes).unwrap() else {
            panic!("an entry")
        };
        assert_eq!(e.id(), StreamId::MAX);
        assert_eq!(e.field_count(), 4);
        assert_eq!(e.fields().collect::<Vec<_>>(), fields);
        let owned = e.to_fields();
        assert_eq!(owned.iter().collect::<Vec<_>>(), fields);
        assert_eq!(
            owned.pairs().collect::<Vec<_>>(),
            [(&b""[..], &b"\0\xff\r\n"[..]), (b"", b"")]
        );
    }

    #[test]
    fn an_entry_without_fields_round_trips() {
        let bytes = encode_entry::<&[u8]>(id(5, 0), &[]).unwrap();
        let StreamRecord::Entry(e) = decode(&bytes).unwrap() else {
            panic!("an entry")
        };
        assert_eq!(e.fields().count(), 0);
        assert!(e.to_fields().is_empty());
    }

    #[test]
    fn odd_field_counts_are_refused() {
        assert_eq!(entry_len(&[&b"a"[..]]), Err(EntryError::OddFieldCount(1)));
        assert_eq!(
            encode_entry(id(1, 1), &[&b"a"[..], b"b", b"c"]),
            Err(EntryError::OddFieldCount(3))
        );
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(decode(&[]), Err(EntryError::Truncated { len: 0 }));
        assert_eq!(decode(&[1]), Err(EntryError::Truncated { len: 1 }));
        assert_eq!(decode(&[2, 1]), Err(EntryError::UnknownVersion(2)));
        assert_eq!(decode(&[1, 9]), Err(EntryError::UnknownKind(9)));
        assert_eq!(decode(&[1, 1, 0, 0]), Err(EntryError::Truncated { len: 4 }));
        assert_eq!(decode(&[1, 2, 0]), Err(EntryError::Truncated { len: 3 }));
        assert_eq!(decode(&[1, 2, 0, 0, 0, 0]), Err(EntryError::EmptyTombstone));
    }

    #[test]
    fn claimed_lengths_beyond_the_record_are_errors() {
        let good = encode_entry(id(1, 1), &[&b"field"[..], b"value"]).unwrap();
        // A pair count of u32::MAX.
        let mut bad = good.clone();
        bad[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bad), Err(EntryError::LengthPastEnd { at: 18 }));
        // The first string claims 4 GiB.
        let mut bad = good.clone();
        bad[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bad), Err(EntryError::LengthPastEnd { at: 22 }));
        // The value claims one byte more than there is.
        let mut bad = good.clone();
        bad[31..35].copy_from_slice(&6u32.to_le_bytes());
        assert_eq!(decode(&bad), Err(EntryError::LengthPastEnd { at: 31 }));
        // Every strict prefix fails; extra bytes fail.
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "prefix of {cut} bytes");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(EntryError::TrailingBytes(1)));
        // A tombstone claiming more IDs than it holds, or fewer.
        let t = encode_tombstone(&[id(1, 1)]);
        let mut bad = t.clone();
        bad[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bad), Err(EntryError::LengthPastEnd { at: 2 }));
        let mut bad = encode_tombstone(&[id(1, 1), id(2, 2)]);
        bad[2..6].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(decode(&bad), Err(EntryError::TrailingBytes(16)));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        fn fields() -> impl Strategy<Value = Vec<Vec<u8>>> {
            (0usize..8).prop_flat_map(|pairs| {
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), pairs * 2)
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn entries_round_trip(ms in any::<u64>(), seq in any::<u64>(), fields in fields()) {
                let id = StreamId::new(ms, seq);
                let bytes = encode_entry(id, &fields).unwrap();
                prop_assert_eq!(bytes.len(), entry_len(&fields).unwrap());
                let StreamRecord::Entry(e) = decode(&bytes).unwrap() else {
                    return Err(TestCaseError::fail("not an entry"));
                };
                prop_assert_eq!(e.id(), id);
                prop_assert_eq!(e.to_fields().to_vec(), fields.clone());
                let borrowed: Vec<&[u8]> = e.fields().collect();
                prop_assert_eq!(borrowed, fields.iter().map(Vec::as_slice).collect::<Vec<_>>());
            }

            #[test]
            fn tombstones_round_trip(ids in proptest::collection::vec(any::<(u64, u64)>(), 1..20)) {
                let ids: Vec<StreamId> = ids.into_iter().map(|(m, s)| StreamId::new(m, s)).collect();
                let bytes = encode_tombstone(&ids);
                let StreamRecord::Tombstone(t) = decode(&bytes).unwrap() else {
                    return Err(TestCaseError::fail("not a tombstone"));
                };
                prop_assert_eq!(t.len(), ids.len());
                prop_assert_eq!(t.ids().collect::<Vec<_>>(), ids);
            }

            #[test]
            fn random_bytes_decode_to_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                check_any(&bytes)?;
            }

            #[test]
            fn random_bytes_behind_a_valid_header_decode_to_an_answer(
                kind in 1u8..=2,
                rest in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                let mut bytes = vec![FORMAT_VERSION, kind];
                bytes.extend_from_slice(&rest);
                check_any(&bytes)?;
            }

            #[test]
            fn mutated_entries_decode_to_an_answer(
                fields in fields(),
                flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
                cut in any::<usize>(),
            ) {
                let mut bytes = encode_entry(StreamId::new(1, 2), &fields).unwrap();
                for (at, v) in flips {
                    let i = at % bytes.len();
                    bytes[i] ^= v;
                }
                let keep = cut % (bytes.len() + 1);
                bytes.truncate(keep);
                check_any(&bytes)?;
            }
        }

        /// Whatever `decode` answers, a record it accepts is self-consistent: its strings fit
        /// inside it, and it encodes back to the same bytes.
        fn check_any(bytes: &[u8]) -> Result<(), TestCaseError> {
            match decode(bytes) {
                Err(_) => {}
                Ok(StreamRecord::Entry(e)) => {
                    let fields: Vec<&[u8]> = e.fields().collect();
                    prop_assert_eq!(fields.len(), e.field_count());
                    prop_assert!(fields.iter().map(|f| f.len()).sum::<usize>() <= bytes.len());
                    prop_assert_eq!(encode_entry(e.id(), &fields).unwrap(), bytes.to_vec());
                }
                Ok(StreamRecord::Tombstone(t)) => {
                    let ids: Vec<StreamId> = t.ids().collect();
                    prop_assert!(!ids.is_empty());
                    prop_assert_eq!(encode_tombstone(&ids), bytes.to_vec());
                }
                Ok(StreamRecord::Trim(t)) => prop_assert_eq!(t.encode(), bytes.to_vec()),
            }
            Ok(())
        }
    }
}
