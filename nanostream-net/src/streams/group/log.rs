//! The durable form of consumer-group changes: [`GroupOp`] records and their binary encoding.
//!
//! Every operation of [`Group`](super::Group) and [`Groups`] that changes the
//! state appends the ops describing its effect to the log it is given; [`Groups::apply`]
//! replays them into the same state, and [`Groups::snapshot`] writes the current state as a
//! short list of ops. A stream's groups are meant to be kept as a small journal of these
//! records beside the stream's entries, replaced by a snapshot when it grows.
//!
//! The ops record results, not requests: a delivery carries the IDs delivered and the group's
//! new position and read counter, a claim carries each entry's new delivery count. So a replay
//! needs neither the stream nor the clock, and gives the same state whatever the stream holds
//! by then.
//!
//! # Format (version 1)
//!
//! A record is a frame: a 4-byte little-endian length `n`, then `n` bytes: the version (1),
//! the op's tag, and its fields in order:
//!
//! | tag | op | fields |
//! | --- | --- | --- |
//! | 1 | [`Create`](GroupOp::Create) | group, last ID, read counter |
//! | 2 | [`Destroy`](GroupOp::Destroy) | group |
//! | 3 | [`SetId`](GroupOp::SetId) | group, last ID, read counter |
//! | 4 | [`CreateConsumer`](GroupOp::CreateConsumer) | group, consumer, time |
//! | 5 | [`DelConsumer`](GroupOp::DelConsumer) | group, consumer |
//! | 6 | [`Touch`](GroupOp::Touch) | group, consumer, time |
//! | 7 | [`Deliver`](GroupOp::Deliver) | group, consumer, time, NOACK, IDs, last ID, read counter |
//! | 8 | [`Redeliver`](GroupOp::Redeliver) | group, consumer, time, IDs |
//! | 9 | [`Ack`](GroupOp::Ack) | group, IDs |
//! | 10 | [`Claim`](GroupOp::Claim) | group, consumer, delivery time, (ID, delivery count) pairs |
//!
//! Names are a `u32` length and the bytes; times and counts a `u64`; an ID its `ms` then its
//! `seq`, two `u64`s; a read counter a byte (0 unknown, 1 known) then, if known, a `u64`; a
//! flag one byte, 0 or 1; a list a `u32` count then its items. Every integer is little-endian.
//! A frame must be consumed exactly by its fields.
//!
//! Decoding never panics, and [`GroupOp::decode`] allocates at most as many bytes as its input
//! holds: every length and count is checked against the bytes that remain in the frame before
//! anything is reserved for it. ([`GroupOp::decode_all`] adds the list of the ops decoded.)
//!
//! ```
//! use nanostream_net::streams::group::GroupOp;
//! use nanostream_net::streams::StreamId;
//!
//! let op = GroupOp::Ack { group: b"g".to_vec(), ids: vec![StreamId::new(5, 1)] };
//! let mut buf = Vec::new();
//! op.encode(&mut buf);
//! assert_eq!(GroupOp::decode(&buf), Ok((op, buf.len())));
//! assert!(GroupOp::decode(&buf[..buf.len() - 1]).is_err());
//! ```

use thiserror::Error;

use super::Groups;
use crate::streams::id::StreamId;

/// The version byte written in every frame.
pub const FORMAT_VERSION: u8 = 1;

/// One recorded change to a stream's consumer groups. Group and consumer names are bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupOp {
    /// A group created at `last_id` with this read counter.
    Create {
        /// The group.
        group: Vec<u8>,
        /// Its last delivered ID.
        last_id: StreamId,
        /// Its read counter, `None` when unknown.
        entries_read: Option<u64>,
    },
    /// A group destroyed.
    Destroy {
        /// The group.
        group: Vec<u8>,
    },
    /// A group's position set (`XGROUP SETID`, `XCLAIM ... LASTID`).
    SetId {
        /// The group.
        group: Vec<u8>,
        /// The new last delivered ID.
        last_id: StreamId,
        /// The new read counter.
        entries_read: Option<u64>,
    },
    /// A consumer created with this seen-time, if it does not exist.
    CreateConsumer {
        /// The group.
        group: Vec<u8>,
        /// The consumer.
        consumer: Vec<u8>,
        /// Its seen-time, Unix milliseconds.
        time_ms: u64,
    },
    /// A consumer deleted with its pending entries.
    DelConsumer {
        /// The group.
        group: Vec<u8>,
        /// The consumer.
        consumer: Vec<u8>,
    },
    /// A consumer created or its seen-time refreshed.
    Touch {
        /// The group.
        group: Vec<u8>,
        /// The consumer.
        consumer: Vec<u8>,
        /// The seen-time, Unix milliseconds.
        time_ms: u64,
    },
    /// New entries delivered (`XREADGROUP ... >`): the consumer is touched, each ID enters the
    /// PEL as the consumer's with a delivery count of 1 (unless `noack`), and the group's
    /// position and read counter are set.
    Deliver {
        /// The group.
        group: Vec<u8>,
        /// The consumer.
        consumer: Vec<u8>,
        /// The delivery time and seen-time, Unix milliseconds.
        time_ms: u64,
        /// Whether the entries were delivered without entering the PEL.
        noack: bool,
        /// The IDs delivered.
        ids: Vec<StreamId>,
        /// The group's new last delivered ID.
        last_id: StreamId,
        /// The group's new read counter.
        entries_read: Option<u64>,
    },
    /// Pending entries delivered again (`XREADGROUP` with an ID): the consumer is touched and
    /// each ID's delivery count incremented and delivery time set.
    Redeliver {
        /// The group.
        group: Vec<u8>,
        /// The consumer.
        consumer: Vec<u8>,
        /// The delivery time and seen-time, Unix milliseconds.
        time_ms: u64,
        /// The IDs delivered again.
        ids: Vec<StreamId>,
    },
    /// IDs removed from the PEL: acknowledged, or found deleted from the stream by a claim.
    Ack {
        /// The group.
        group: Vec<u8>,
        /// The IDs removed.
        ids: Vec<StreamId>,
    },
    /// Entries given to an existing consumer with this delivery time and each its delivery
    /// count, in order (created in the PEL if absent).
    Claim {
        /// The group.
        group: Vec<u8>,
        /// The new owner.
        consumer: Vec<u8>,
        /// The delivery time, Unix milliseconds.
        delivery_time_ms: u64,
        /// Each ID with its new delivery count.
        entries: Vec<(StreamId, u64)>,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum DecodeError {
    /// The input ends before the frame does (a torn write at a journal's end).
    #[error("truncated group op record")]
    Truncated,
    /// The frame's version is not one this build reads.
    #[error("unsupported group op record version {0}")]
    Version(u8),
    /// The frame's tag names no op.
    #[error("unknown group op tag {0}")]
    Tag(u8),
    /// The frame's fields are malformed (a bad flag, a field past the frame's end, or bytes
    /// left over after them).
    #[error("malformed group op record")]
    Malformed,
}

/// Why an op does not fit the state it is applied to, or why a group cannot be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum ApplyError {
    /// The group exists already (Redis's reply to `XGROUP CREATE`).
    #[error("BUSYGROUP Consumer Group name already exists")]
    GroupExists,
    /// The op names a group that does not exist.
    #[error("no such consumer group")]
    NoSuchGroup,
    /// A claim names a consumer that does not exist.
    #[error("no such consumer")]
    NoSuchConsumer,
}

impl GroupOp {
    /// The group the op is about.
    pub fn group(&self) -> &[u8] {
        match self {
            GroupOp::Create { group, .. }
            | GroupOp::Destroy { group }
            | GroupOp::SetId { group, .. }
            | GroupOp::CreateConsumer { group, .. }
            | GroupOp::DelConsumer { group, .. }
            | GroupOp::Touch { group, .. }
            | GroupOp::Deliver { group, .. }
            | GroupOp::Redeliver { group, .. }
            | GroupOp::Ack { group, .. }
            | GroupOp::Claim { group, .. } => group,
        }
    }

    /// Appends the op's frame to `out`.
    ///
    /// # Panics
    ///
    /// If a name or a list is longer than `u32::MAX` (bytes or items), or the frame longer
    /// than `u32::MAX` bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(FORMAT_VERSION);
        let mut w = Writer(out);
        match self {
            GroupOp::Create {
                group,
                last_id,
                entries_read,
            } => {
                w.u8(1);
                w.bytes(group);
                w.id(*last_id);
                w.counter(*entries_read);
            }
            GroupOp::Destroy { group } => {
                w.u8(2);
                w.bytes(group);
            }
            GroupOp::SetId {
                group,
                last_id,
                entries_read,
            } => {
                w.u8(3);
                w.bytes(group);
                w.id(*last_id);
                w.counter(*entries_read);
            }
            GroupOp::CreateConsumer {
                group,
                consumer,
                time_ms,
            } => {
                w.u8(4);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*time_ms);
            }
            GroupOp::DelConsumer { group, consumer } => {
                w.u8(5);
                w.bytes(group);
                w.bytes(consumer);
            }
            GroupOp::Touch {
                group,
                consumer,
                time_ms,
            } => {
                w.u8(6);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*time_ms);
            }
            GroupOp::Deliver {
                group,
                consumer,
                time_ms,
                noack,
                ids,
                last_id,
                entries_read,
            } => {
                w.u8(7);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*time_ms);
                w.u8(u8::from(*noack));
                w.ids(ids);
                w.id(*last_id);
                w.counter(*entries_read);
            }
            GroupOp::Redeliver {
                group,
                consumer,
                time_ms,
                ids,
            } => {
                w.u8(8);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*time_ms);
                w.ids(ids);
            }
            GroupOp::Ack { group, ids } => {
                w.u8(9);
                w.bytes(group);
                w.ids(ids);
            }
            GroupOp::Claim {
                group,
                consumer,
                delivery_time_ms,
                entries,
            } => {
                w.u8(10);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*delivery_time_ms);
                w.len(entries.len());
                for &(id, count) in entries {
                    w.id(id);
                    w.u64(count);
                }
            }
        }
        let n = u32::try_from(out.len() - at - 4).expect("a group op frame over 4 GiB");
        out[at..at + 4].copy_from_slice(&n.to_le_bytes());
    }

    /// Decodes the frame at the start of `input`: the op and the number of bytes it took.
    pub fn decode(input: &[u8]) -> Result<(GroupOp, usize), DecodeError> {
        let header: [u8; 4] = input
            .get(..4)
            .ok_or(DecodeError::Truncated)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?;
        let n = u32::from_le_bytes(header) as usize;
        let frame = input
            .get(4..)
            .and_then(|rest| rest.get(..n))
            .ok_or(DecodeError::Truncated)?;
        let mut r = Reader(frame);
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let tag = r.u8()?;
        let op = match tag {
            1 => GroupOp::Create {
                group: r.bytes()?,
                last_id: r.id()?,
                entries_read: r.counter()?,
            },
            2 => GroupOp::Destroy { group: r.bytes()? },
            3 => GroupOp::SetId {
                group: r.bytes()?,
                last_id: r.id()?,
                entries_read: r.counter()?,
            },
            4 => GroupOp::CreateConsumer {
                group: r.bytes()?,
                consumer: r.bytes()?,
                time_ms: r.u64()?,
            },
            5 => GroupOp::DelConsumer {
                group: r.bytes()?,
                consumer: r.bytes()?,
            },
            6 => GroupOp::Touch {
                group: r.bytes()?,
                consumer: r.bytes()?,
                time_ms: r.u64()?,
            },
            7 => GroupOp::Deliver {
                group: r.bytes()?,
                consumer: r.bytes()?,
                time_ms: r.u64()?,
                noack: r.flag()?,
                ids: r.ids()?,
                last_id: r.id()?,
                entries_read: r.counter()?,
            },
            8 => GroupOp::Redeliver {
                group: r.bytes()?,
                consumer: r.bytes()?,
                time_ms: r.u64()?,
                ids: r.ids()?,
            },
            9 => GroupOp::Ack {
                group: r.bytes()?,
                ids: r.ids()?,
            },
            10 => {
                let group = r.bytes()?;
                let consumer = r.bytes()?;
                let delivery_time_ms = r.u64()?;
                let len = r.len(24)?;
                let mut entries = Vec::with_capacity(len);
                for _ in 0..len {
                    entries.push((r.id()?, r.u64()?));
                }
                GroupOp::Claim {
                    group,
                    consumer,
                    delivery_time_ms,
                    entries,
                }
            }
            _ => return Err(DecodeError::Tag(tag)),
        };
        if !r.0.is_empty() {
            return Err(DecodeError::Malformed);
        }
        Ok((op, 4 + n))
    }

    /// Decodes every frame of `input`, which must end where its last frame does.
    pub fn decode_all(mut input: &[u8]) -> Result<Vec<GroupOp>, DecodeError> {
        let mut ops = Vec::new();
        while !input.is_empty() {
            let (op, used) = GroupOp::decode(input)?;
            ops.push(op);
            input = &input[used..];
        }
        Ok(ops)
    }
}

impl GroupOp {
    /// This op as ops of at most `max_ids` IDs (or claimed entries) each, with the same effect
    /// applied in order. An op with fewer is returned as it is.
    ///
    /// A delivery split in parts moves the group's last delivered ID to the last ID of each
    /// part, so that a replay that stops after a part has every entry it skipped pending; only
    /// the last part carries the read counter (the others leave it unknown).
    pub fn split(self, max_ids: usize) -> Vec<GroupOp> {
        let max = max_ids.max(1);
        match self {
            GroupOp::Deliver {
                group,
                consumer,
                time_ms,
                noack,
                ids,
                last_id,
                entries_read,
            } if ids.len() > max => {
                let parts: Vec<&[StreamId]> = ids.chunks(max).collect();
                let n = parts.len();
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, part)| {
                        let last = i + 1 == n;
                        GroupOp::Deliver {
                            group: group.clone(),
                            consumer: consumer.clone(),
                            time_ms,
                            noack,
                            ids: part.to_vec(),
                            last_id: if last { last_id } else { part[part.len() - 1] },
                            entries_read: if last { entries_read } else { None },
                        }
                    })
                    .collect()
            }
            GroupOp::Redeliver {
                group,
                consumer,
                time_ms,
                ids,
            } if ids.len() > max => ids
                .chunks(max)
                .map(|part| GroupOp::Redeliver {
                    group: group.clone(),
                    consumer: consumer.clone(),
                    time_ms,
                    ids: part.to_vec(),
                })
                .collect(),
            GroupOp::Ack { group, ids } if ids.len() > max => ids
                .chunks(max)
                .map(|part| GroupOp::Ack {
                    group: group.clone(),
                    ids: part.to_vec(),
                })
                .collect(),
            GroupOp::Claim {
                group,
                consumer,
                delivery_time_ms,
                entries,
            } if entries.len() > max => entries
                .chunks(max)
                .map(|part| GroupOp::Claim {
                    group: group.clone(),
                    consumer: consumer.clone(),
                    delivery_time_ms,
                    entries: part.to_vec(),
                })
                .collect(),
            op => vec![op],
        }
    }
}

impl Groups {
    /// Replays ops in order, stopping at the first that does not fit (see
    /// [`apply`](Groups::apply)).
    pub fn apply_all<'a>(&mut self, ops: impl IntoIterator<Item = &'a GroupOp>) -> Result<(), ApplyError> {
        ops.into_iter().try_for_each(|op| self.apply(op))
    }
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn len(&mut self, n: usize) {
        let n = u32::try_from(n).expect("a name or list over u32::MAX");
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }

    fn id(&mut self, id: StreamId) {
        self.u64(id.ms);
        self.u64(id.seq);
    }

    fn counter(&mut self, c: Option<u64>) {
        match c {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }

    fn ids(&mut self, ids: &[StreamId]) {
        self.len(ids.len());
        for &id in ids {
            self.id(id);
        }
    }
}

/// A cursor over one frame's bytes; running past its end is [`DecodeError::Malformed`].
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| DecodeError::Malformed)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A count of items of `item_size` bytes each, refused if they cannot fit in what is left.
    fn len(&mut self, item_size: usize) -> Result<usize, DecodeError> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| DecodeError::Malformed)?;
        let n = u32::from_le_bytes(b) as usize;
        if n.checked_mul(item_size).is_none_or(|size| size > self.0.len()) {
            return Err(DecodeError::Malformed);
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.len(1)?;
        Ok(self.take(n)?.to_vec())
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Malformed),
        }
    }

    fn id(&mut self) -> Result<StreamId, DecodeError> {
        Ok(StreamId::new(self.u64()?, self.u64()?))
    }

    fn counter(&mut self) -> Result<Option<u64>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64()?)),
            _ => Err(DecodeError::Malformed),
        }
    }

    fn ids(&mut self) -> Result<Vec<StreamId>, DecodeError> {
        let n = self.len(16)?;
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(self.id()?);
        }
        Ok(ids)
    }
}
