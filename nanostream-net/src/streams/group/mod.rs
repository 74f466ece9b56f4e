//! The consumer groups of one stream, as redis-server 7.0's `t_stream.c` keeps them: each
//! group's last delivered ID and read counter, its pending entries list (PEL) and its
//! consumers, with the operations `XGROUP`, `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM` and
//! `XAUTOCLAIM` perform on them and the numbers they reply.
//!
//! This is pure state: no I/O and no clock. What a command needs from the stream itself is
//! passed in: the IDs of the entries it would serve, whether an entry still exists, and the
//! stream's bookkeeping ([`StreamMeta`]); the time is a parameter (`now_ms`).
//!
//! Every operation that changes the state appends what it did to a log (`&mut Vec<GroupOp>`):
//! [`Groups::apply`] replays those records into the same state, and [`log`] describes their
//! binary form, for a journal beside the stream's entries.
//!
//! # What follows redis-server 7.0 (each checked against 7.0.15, see `tests/streams_group.rs`)
//!
//! - `XGROUP CREATE` with `$` starts at the stream's last ID but leaves the read counter
//!   unknown (`entries-read` is nil in `XINFO GROUPS`); [`StreamMeta::estimate_entries_read`]
//!   fills it on the first read.
//! - A consumer is created, or its seen-time refreshed, by `XREADGROUP` when it serves
//!   something (a read with `>` that finds no new entry creates nothing), by `XREADGROUP`
//!   with an ID always, and by `XCLAIM`/`XAUTOCLAIM` only when they claim at least one entry.
//!   `XPENDING`, `XACK` and `XGROUP CREATECONSUMER` on an existing consumer leave it alone.
//! - Re-reading history (`XREADGROUP` with an ID) starts after the ID given, not at it, and
//!   increments the delivery count and resets the delivery time of each entry it returns,
//!   except entries deleted from the stream, which it returns without fields and leaves
//!   unchanged.
//! - After `XGROUP SETID` back, `XREADGROUP ... >` takes entries still pending for another
//!   consumer and restarts their delivery count at 1; with `NOACK` it leaves them as they are.
//!   A read counter given with `ENTRIESREAD` is trusted and counted on from.
//! - `XCLAIM` removes from the PEL the entries that no longer exist in the stream, whatever
//!   their idle time; an ID given twice is claimed twice (two replies, two increments).
//!   `FORCE` creates a PEL entry with a delivery count of 1 that the claim then increments
//!   (2), unless `JUSTID`.
//! - `XAUTOCLAIM` examines at most `count × 10` PEL entries; the deleted entries it meets
//!   count toward `count` as claimed ones do; its cursor is the PEL entry after the last one
//!   examined, or `0-0` at the end.

//!
//! # The files
//!
//! - `mod.rs`: [`Group`] (one group and its operations) and [`Groups`] (a stream's groups).
//! - `consumer.rs`: [`Consumer`].
//! - `pending.rs`: [`Pending`], a PEL entry, and `XPENDING`'s [`PendingSummary`] and
//!   [`PendingEntry`].
//! - `claim.rs`: `XCLAIM`'s [`ClaimOptions`] and [`ClaimTime`], `XAUTOCLAIM`'s [`AutoClaim`].
//! - `meta.rs`: [`StreamMeta`], the stream's bookkeeping the read counter is computed from.
//! - [`log`]: [`GroupOp`] records, their binary frames, replay and snapshots.

mod claim;
mod consumer;
pub mod log;
mod meta;
mod pending;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use super::id::StreamId;
pub use claim::{AutoClaim, ClaimOptions, ClaimTime, AUTOCLAIM_ATTEMPTS_FACTOR};
pub use consumer::Consumer;
pub use log::{ApplyError, DecodeError, GroupOp};
pub use meta::StreamMeta;
pub use pending::{Pending, PendingEntry, PendingSummary};

/// A consumer group of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    name: Arc<[u8]>,
    last_delivered_id: StreamId,
    entries_read: Option<u64>,
    pel: BTreeMap<StreamId, Pending>,
    consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl Group {
    fn new(name: &[u8], last_delivered_id: StreamId, entries_read: Option<u64>) -> Self {
        Group {
            name: Arc::from(name),
            last_delivered_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The group's name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The ID of the last entry delivered with `XREADGROUP ... >`.
    pub fn last_delivered_id(&self) -> StreamId {
        self.last_delivered_id
    }

    /// The group's read counter (`entries-read`): how many of the entries ever added it has
    /// read; `None` when unknown.
    pub fn entries_read(&self) -> Option<u64> {
        self.entries_read
    }

    /// The pending entries list, by ID.
    pub fn pel(&self) -> &BTreeMap<StreamId, Pending> {
        &self.pel
    }

    /// The consumers, by name in byte order.
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.consumers.values()
    }

    /// The consumer called `name`.
    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        self.consumers.get(name)
    }

    /// `XINFO GROUPS`' `lag`: how many entries were added after the group's position, or
    /// `None` when deletions make it unknowable (Redis's `streamReplyWithCGLag`).
    pub fn lag(&self, stream: &StreamMeta) -> Option<u64> {
        if stream.entries_added == 0 {
            return Some(0);
        }
        let read = match self.entries_read {
            Some(read) if !stream.has_tombstones_from(self.last_delivered_id) => read,
            _ => stream.estimate_entries_read(self.last_delivered_id)?,
        };
        Some(stream.entries_added.saturating_sub(read))
    }

    /// `XREADGROUP ... >`: delivers to `consumer` the first `count` (all if `None` or
    /// `Some(0)`, as `COUNT 0` is in Redis) of
    /// `ids_available`, the IDs of the stream's entries after
    /// [`last_delivered_id`](Self::last_delivered_id), ascending. Advances the last delivered
    /// ID and the read counter; each delivered entry enters the PEL with a delivery count of 1
    /// (taken from another consumer if it was pending there) unless `noack`.
    ///
    /// Returns `None`, changing nothing, when there is nothing to deliver (Redis then replies
    /// nil, or blocks); otherwise the delivered IDs, having created the consumer or refreshed
    /// its seen-time.
    #[allow(clippy::too_many_arguments)]
    pub fn read_new(
        &mut self,
        consumer: &[u8],
        ids_available: &[StreamId],
        count: Option<usize>,
        noack: bool,
        now_ms: u64,
        stream: &StreamMeta,
        log: &mut Vec<GroupOp>,
    ) -> Option<Vec<StreamId>> {
        if ids_available.is_empty() {
            return None;
        }
        let n = count
            .filter(|&c| c > 0)
            .map_or(ids_available.len(), |c| c.min(ids_available.len()));
        let ids = ids_available[..n].to_vec();
        let mut entries_read = self.entries_read;
        let mut last_id = self.last_delivered_id;
        for &id in &ids {
            match entries_read {
                Some(read) if !stream.has_tombstones_from(id) => entries_read = Some(read.saturating_add(1)),
                _ if stream.entries_added != 0 => entries_read = stream.estimate_entries_read(id),
                _ => {}
            }
            last_id = id;
        }
        let op = GroupOp::Deliver {
            group: self.name.to_vec(),
            consumer: consumer.to_vec(),
            time_ms: now_ms,
            noack,
            ids: ids.clone(),
            last_id,
            entries_read,
        };
        self.apply(&op).expect("the group's own op");
        log.push(op);
        Some(ids)
    }

    /// `XREADGROUP` with an ID: the consumer's own pending entries after `after` (the ID given
    /// is excluded, as for `XREAD`: `0` starts at `0-1`, and `4` after `4-0`), at most `count`
    /// (all if `None` or `Some(0)`), each with whether its entry still exists (`entry_exists`). Each
    /// existing one is delivered again: its delivery count incremented and its delivery time
    /// set to `now_ms`; a deleted one is returned (Redis replies it with nil fields) and left as
    /// it is. Creates the consumer or refreshes its seen-time.
    pub fn read_pending(
        &mut self,
        consumer: &[u8],
        after: StreamId,
        count: Option<usize>,
        now_ms: u64,
        entry_exists: impl Fn(StreamId) -> bool,
        log: &mut Vec<GroupOp>,
    ) -> Vec<(StreamId, bool)> {
        let out: Vec<(StreamId, bool)> = match self.consumers.get(consumer) {
            Some(c) => c
                .pending
                .range((Bound::Excluded(after), Bound::Unbounded))
                .take(count.filter(|&c| c > 0).unwrap_or(usize::MAX))
                .map(|&id| (id, entry_exists(id)))
                .collect(),
            None => Vec::new(),
        };
        let op = GroupOp::Redeliver {
            group: self.name.to_vec(),
            consumer: consumer.to_vec(),
            time_ms: now_ms,
            ids: out.iter().filter(|(_, e)| *e).map(|(id, _)| *id).collect(),
        };
        self.apply(&op).expect("the group's own op");
        log.push(op);
        out
    }

    /// `XACK`: removes the given IDs from the PEL; returns how many were pending (an ID given
    /// twice counts once).
    pub fn ack(&mut self, ids: &[StreamId], log: &mut Vec<GroupOp>) -> usize {
        let mut seen = BTreeSet::new();
        let acked: Vec<StreamId> = ids
            .iter()
            .copied()
            .filter(|id| self.pel.contains_key(id) && seen.insert(*id))
            .collect();
        if !acked.is_empty() {
            self.push_apply(
                GroupOp::Ack {
                    group: self.name.to_vec(),
                    ids: acked.clone(),
                },
                log,
            );
        }
        acked.len()
    }

    /// `XPENDING key group`: the summary form.
    pub fn pending_summary(&self) -> PendingSummary<'_> {
        let bounds = match (self.pel.first_key_value(), self.pel.last_key_value()) {
            (Some((first, _)), Some((last, _))) => Some((*first, *last)),
            _ => None,
        };
        PendingSummary {
            count: self.pel.len(),
            bounds,
            consumers: self
                .consumers
                .values()
                .filter(|c| !c.pending.is_empty())
                .map(|c| (&*c.name, c.pending.len()))
                .collect(),
        }
    }

    /// `XPENDING key group [IDLE min_idle] start end count [consumer]`: the pending entries
    /// from `start` to `end` (inclusive), at most `count`, only `consumer`'s if given (none if
    /// it does not exist), only those idle for at least `min_idle_ms` (0: all).
    pub fn pending_range(
        &self,
        start: StreamId,
        end: StreamId,
        count: usize,
        consumer: Option<&[u8]>,
        min_idle_ms: u64,
        now_ms: u64,
    ) -> Vec<PendingEntry<'_>> {
        if start > end {
            return Vec::new();
        }
        let ids: Box<dyn Iterator<Item = &StreamId>> = match consumer {
            Some(name) => match self.consumers.get(name) {
                Some(c) => Box::new(c.pending.range(start..=end)),
                None => return Vec::new(),
            },
            None => Box::new(self.pel.range(start..=end).map(|(id, _)| id)),
        };
        ids.filter_map(|id| {
            let p = &self.pel[id];
            let idle_ms = now_ms.saturating_sub(p.delivery_time_ms);
            (idle_ms >= min_idle_ms).then_some(PendingEntry {
                id: *id,
                consumer: &p.consumer,
                idle_ms,
                delivery_count: p.delivery_count,
            })
        })
        .take(count)
        .collect()
    }

    /// `XCLAIM`: gives `consumer` the pending entries among `ids` idle for at least
    /// `min_idle_ms`, in the order given, and returns the claimed IDs (an ID given twice is
    /// claimed twice). IDs whose entries no longer exist (`entry_exists`) are removed from
    /// the PEL and not returned. The consumer is created or refreshed only if something is
    /// claimed.
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        &mut self,
        consumer: &[u8],
        min_idle_ms: u64,
        ids: &[StreamId],
        now_ms: u64,
        options: &ClaimOptions,
        entry_exists: impl Fn(StreamId) -> bool,
        log: &mut Vec<GroupOp>,
    ) -> Vec<StreamId> {
        if let Some(last) = options.last_id {
            if last > self.last_delivered_id {
                self.push_apply(
                    GroupOp::SetId {
                        group: self.name.to_vec(),
                        last_id: last,
                        entries_read: self.entries_read,
                    },
                    log,
                );
            }
        }
        let delivery_time = options.delivery_time.map_or(now_ms, |t| t.resolve(now_ms));
        // The (delivery time, delivery count) of each ID given, as this call leaves them so
        // far: an ID given twice is examined again with its new values, as Redis does.
        let mut view: BTreeMap<StreamId, Option<(u64, u64)>> = BTreeMap::new();
        let mut deleted = Vec::new();
        let mut claimed = Vec::new();
        for &id in ids {
            let current = view
                .entry(id)
                .or_insert_with(|| self.pel.get(&id).map(|p| (p.delivery_time_ms, p.delivery_count)));
            if !entry_exists(id) {
                if current.take().is_some() {
                    deleted.push(id);
                }
                continue;
            }
            let forced = current.is_none();
            if forced {
                if !options.force {
                    continue;
                }
                *current = Some((now_ms, 1));
            }
            let Some((time, count)) = current.as_mut() else {
                continue;
            };
            if !forced && min_idle_ms > 0 && now_ms.saturating_sub(*time) < min_idle_ms {
                continue;
            }
            *time = delivery_time;
            if let Some(retry) = options.retry_count {
                *count = retry;
            } else if !options.justid {
                *count = count.saturating_add(1);
            }
            claimed.push((id, *count));
        }
        if !deleted.is_empty() {
            self.push_apply(
                GroupOp::Ack {
                    group: self.name.to_vec(),
                    ids: deleted,
                },
                log,
            );
        }
        if !claimed.is_empty() {
            self.push_claim(consumer, now_ms, delivery_time, &claimed, log);
        }
        claimed.into_iter().map(|(id, _)| id).collect()
    }

    /// `XAUTOCLAIM`: walks the PEL from `start`, examining at most `count × 10` entries, and
    /// gives `consumer` those idle for at least `min_idle_ms`, at most `count` of them
    /// (`count` ≥ 1, as the command requires); entries that no longer exist are removed and
    /// reported, and count toward `count`. The claimed entries' delivery time becomes
    /// `now_ms`, and their delivery count is incremented unless `justid`.
    #[allow(clippy::too_many_arguments)]
    pub fn autoclaim(
        &mut self,
        consumer: &[u8],
        min_idle_ms: u64,
        start: StreamId,
        count: usize,
        now_ms: u64,
        justid: bool,
        entry_exists: impl Fn(StreamId) -> bool,
        log: &mut Vec<GroupOp>,
    ) -> AutoClaim {
        let mut attempts = count.saturating_mul(AUTOCLAIM_ATTEMPTS_FACTOR);
        let mut left = count;
        let mut claimed = Vec::new();
        let mut deleted = Vec::new();
        let mut iter = self.pel.range(start..);
        let mut next_start = StreamId::MIN;
        loop {
            if attempts == 0 || left == 0 {
                // Redis's final `raxNext`: the cursor is the entry after the last examined.
                next_start = iter.next().map_or(StreamId::MIN, |(id, _)| *id);
                break;
            }
            attempts -= 1;
            let Some((&id, p)) = iter.next() else { break };
            if !entry_exists(id) {
                deleted.push(id);
                left -= 1;
                continue;
            }
            if min_idle_ms > 0 && now_ms.saturating_sub(p.delivery_time_ms) < min_idle_ms {
                continue;
            }
            let new_count = if justid {
                p.delivery_count
            } else {
                p.delivery_count + 1
            };
            claimed.push((id, new_count));
            left -= 1;
        }
        if !deleted.is_empty() {
            self.push_apply(
                GroupOp::Ack {
                    group: self.name.to_vec(),
                    ids: deleted.clone(),
                },
                log,
            );
        }
        if !claimed.is_empty() {
            self.push_claim(consumer, now_ms, now_ms, &claimed, log);
        }
        AutoClaim {
            next_start,
            claimed: claimed.into_iter().map(|(id, _)| id).collect(),
            deleted,
        }
    }

    /// `XGROUP CREATECONSUMER`: true if the consumer was created (reply 1), false if it
    /// existed (reply 0; its seen-time is left as it was).
    pub fn create_consumer(&mut self, name: &[u8], now_ms: u64, log: &mut Vec<GroupOp>) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.push_apply(
            GroupOp::CreateConsumer {
                group: self.name.to_vec(),
                consumer: name.to_vec(),
                time_ms: now_ms,
            },
            log,
        );
        true
    }

    /// `XGROUP DELCONSUMER`: deletes the consumer and its pending entries; returns how many
    /// entries it had pending (0 if it did not exist).
    pub fn del_consumer(&mut self, name: &[u8], log: &mut Vec<GroupOp>) -> usize {
        let Some(c) = self.consumers.get(name) else {
            return 0;
        };
        let pending = c.pending.len();
        self.push_apply(
            GroupOp::DelConsumer {
                group: self.name.to_vec(),
                consumer: name.to_vec(),
            },
            log,
        );
        pending
    }

    /// `XGROUP SETID`: sets the last delivered ID and the read counter (`ENTRIESREAD`; `None`
    /// when not given, which makes it unknown). For `$` pass the stream's
    /// [`last_id`](StreamMeta::last_id).
    pub fn set_id(&mut self, id: StreamId, entries_read: Option<u64>, log: &mut Vec<GroupOp>) {
        self.push_apply(
            GroupOp::SetId {
                group: self.name.to_vec(),
                last_id: id,
                entries_read,
            },
            log,
        );
    }

    fn push_claim(
        &mut self,
        consumer: &[u8],
        now_ms: u64,
        delivery_time_ms: u64,
        entries: &[(StreamId, u64)],
        log: &mut Vec<GroupOp>,
    ) {
        self.push_apply(
            GroupOp::Touch {
                group: self.name.to_vec(),
                consumer: consumer.to_vec(),
                time_ms: now_ms,
            },
            log,
        );
        self.push_apply(
            GroupOp::Claim {
                group: self.name.to_vec(),
                consumer: consumer.to_vec(),
                delivery_time_ms,
                entries: entries.to_vec(),
            },
            log,
        );
    }

    fn push_apply(&mut self, op: GroupOp, log: &mut Vec<GroupOp>) {
        self.apply(&op).expect("the group's own op");
        log.push(op);
    }

    /// Creates the consumer with `time_ms` as its seen-time, or refreshes it.
    fn touch(&mut self, name: &[u8], time_ms: u64) {
        match self.consumers.get_mut(name) {
            Some(c) => c.seen_time_ms = time_ms,
            None => {
                let name: Arc<[u8]> = Arc::from(name);
                self.consumers.insert(
                    name.clone(),
                    Consumer {
                        name,
                        seen_time_ms: time_ms,
                        pending: BTreeSet::new(),
                    },
                );
            }
        }
    }

    /// Gives `id` to `consumer` (which exists) with this delivery time and count, taking it
    /// from its previous owner.
    fn assign(&mut self, id: StreamId, consumer: &[u8], delivery_time_ms: u64, delivery_count: u64) {
        let owner = self.consumers.get_mut(consumer).expect("the consumer exists");
        owner.pending.insert(id);
        let owner_name = owner.name.clone();
        let previous = self.pel.insert(
            id,
            Pending {
                consumer: owner_name,
                delivery_time_ms,
                delivery_count,
            },
        );
        if let Some(previous) = previous {
            if *previous.consumer != *consumer {
                if let Some(c) = self.consumers.get_mut(&previous.consumer) {
                    c.pending.remove(&id);
                }
            }
        }
    }

    /// Replays one op on this group (the op's group name is not checked).
    fn apply(&mut self, op: &GroupOp) -> Result<(), ApplyError> {
        match op {
            // Handled by `Groups::apply`.
            GroupOp::Create { .. } | GroupOp::Destroy { .. } => {}
            GroupOp::SetId {
                last_id,
                entries_read,
                ..
            } => {
                self.last_delivered_id = *last_id;
                self.entries_read = *entries_read;
            }
            GroupOp::CreateConsumer {
                consumer, time_ms, ..
            } => {
                if !self.consumers.contains_key(&consumer[..]) {
                    self.touch(consumer, *time_ms);
                }
            }
            GroupOp::DelConsumer { consumer, .. } => {
                if let Some(c) = self.consumers.remove(&consumer[..]) {
                    for id in &c.pending {
                        self.pel.remove(id);
                    }
                }
            }
            GroupOp::Touch {
                consumer, time_ms, ..
            } => self.touch(consumer, *time_ms),
            GroupOp::Deliver {
                consumer,
                time_ms,
                noack,
                ids,
                last_id,
                entries_read,
                ..
            } => {
                self.touch(consumer, *time_ms);
                if !noack {
                    for &id in ids {
                        self.assign(id, consumer, *time_ms, 1);
                    }
                }
                self.last_delivered_id = *last_id;
                self.entries_read = *entries_read;
            }
            GroupOp::Redeliver {
                consumer,
                time_ms,
                ids,
                ..
            } => {
                self.touch(consumer, *time_ms);
                for id in ids {
                    if let Some(p) = self.pel.get_mut(id) {
                        p.delivery_time_ms = *time_ms;
                        p.delivery_count = p.delivery_count.saturating_add(1);
                    }
                }
            }
            GroupOp::Ack { ids, .. } => {
                for id in ids {
                    if let Some(p) = self.pel.remove(id) {
                        if let Some(c) = self.consumers.get_mut(&p.consumer) {
                            c.pending.remove(id);
                        }
                    }
                }
            }
            GroupOp::Claim {
                consumer,
                delivery_time_ms,
                entries,
                ..
            } => {
                if !self.consumers.contains_key(&consumer[..]) {
                    return Err(ApplyError::NoSuchConsumer);
                }
                for &(id, count) in entries {
                    self.assign(id, consumer, *delivery_time_ms, count);
                }
            }
        }
        Ok(())
    }
}

/// The consumer groups of one stream, by name in byte order.
///
/// ```
/// use nanostream_net::streams::group::{Groups, StreamMeta};
/// use nanostream_net::streams::StreamId;
///
/// let ids = [StreamId::new(1, 0), StreamId::new(2, 0)];
/// let stream = StreamMeta { length: 2, first_id: ids[0], last_id: ids[1], entries_added: 2, ..Default::default() };
/// let mut groups = Groups::new();
/// let mut log = Vec::new();
/// groups.create(b"g", StreamId::MIN, None, &mut log)?; // XGROUP CREATE s g 0
/// let g = groups.get_mut(b"g").unwrap();
/// let read = g.read_new(b"alice", &ids, Some(1), false, 1000, &stream, &mut log);
/// assert_eq!(read, Some(vec![ids[0]]));
/// assert_eq!(g.entries_read(), Some(1));
/// assert_eq!(g.pending_summary().count, 1);
/// assert_eq!(g.ack(&[ids[0], ids[0]], &mut log), 1);
///
/// // The log replays into the same state.
/// let mut replayed = Groups::new();
/// for op in &log {
///     replayed.apply(op)?;
/// }
/// assert_eq!(replayed, groups);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    groups: BTreeMap<Arc<[u8]>, Group>,
}

impl Groups {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// `XGROUP CREATE`: a group starting after `last_id` (for `$` pass the stream's
    /// [`last_id`](StreamMeta::last_id), or `0-0` for a stream created by `MKSTREAM`) with
    /// the read counter `entries_read` (`ENTRIESREAD`; `None` when not given). An existing
    /// name is [`ApplyError::GroupExists`] (Redis's `BUSYGROUP`).
    pub fn create(
        &mut self,
        name: &[u8],
        last_id: StreamId,
        entries_read: Option<u64>,
        log: &mut Vec<GroupOp>,
    ) -> Result<(), ApplyError> {
        let op = GroupOp::Create {
            group: name.to_vec(),
            last_id,
            entries_read,
        };
        self.apply(&op)?;
        log.push(op);
        Ok(())
    }

    /// `XGROUP DESTROY`: true if the group existed (reply 1).
    pub fn destroy(&mut self, name: &[u8], log: &mut Vec<GroupOp>) -> bool {
        if !self.groups.contains_key(name) {
            return false;
        }
        let op = GroupOp::Destroy { group: name.to_vec() };
        self.groups.remove(name);
        log.push(op);
        true
    }

    /// The group called `name`.
    pub fn get(&self, name: &[u8]) -> Option<&Group> {
        self.groups.get(name)
    }

    /// The group called `name`, to operate on.
    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.groups.get_mut(name)
    }

    /// The groups, by name in byte order (`XINFO GROUPS`' order).
    pub fn iter(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Replays one logged op: the state becomes what the live operation that logged it left.
    /// An op that does not fit the state (a group created twice, an op on a missing group,
    /// a claim for a missing consumer) is an error and changes nothing.
    pub fn apply(&mut self, op: &GroupOp) -> Result<(), ApplyError> {
        match op {
            GroupOp::Create {
                group,
                last_id,
                entries_read,
            } => {
                if self.groups.contains_key(&group[..]) {
                    return Err(ApplyError::GroupExists);
                }
                let g = Group::new(group, *last_id, *entries_read);
                self.groups.insert(g.name.clone(), g);
                Ok(())
            }
            GroupOp::Destroy { group } => match self.groups.remove(&group[..]) {
                Some(_) => Ok(()),
                None => Err(ApplyError::NoSuchGroup),
            },
            _ => self
                .groups
                .get_mut(op.group())
                .ok_or(ApplyError::NoSuchGroup)?
                .apply(op),
        }
    }

    /// Ops that recreate the current state from nothing, compactly: per group its creation,
    /// its consumers with their seen-times, and its PEL as one claim per run of a consumer's
    /// entries with the same delivery time.
    pub fn snapshot(&self) -> Vec<GroupOp> {
        let mut ops = Vec::new();
        for g in self.groups.values() {
            let group = g.name.to_vec();
            ops.push(GroupOp::Create {
                group: group.clone(),
                last_id: g.last_delivered_id,
                entries_read: g.entries_read,
            });
            for c in g.consumers.values() {
                ops.push(GroupOp::CreateConsumer {
                    group: group.clone(),
                    consumer: c.name.to_vec(),
                    time_ms: c.seen_time_ms,
                });
            }
            for c in g.consumers.values() {
                let mut run: Option<(u64, Vec<(StreamId, u64)>)> = None;
                for id in &c.pending {
                    let p = &g.pel[id];
                    match &mut run {
                        Some((time, entries)) if *time == p.delivery_time_ms => {
                            entries.push((*id, p.delivery_count))
                        }
                        _ => {
                            if let Some((time, entries)) = run.take() {
                                ops.push(claim_op(&group, &c.name, time, entries));
                            }
                            run = Some((p.delivery_time_ms, vec![(*id, p.delivery_count)]));
                        }
                    }
                }
                if let Some((time, entries)) = run {
                    ops.push(claim_op(&group, &c.name, time, entries));
                }
            }
        }
        ops
    }
}

fn claim_op(group: &[u8], consumer: &[u8], delivery_time_ms: u64, entries: Vec<(StreamId, u64)>) -> GroupOp {
    GroupOp::Claim {
        group: group.to_vec(),
        consumer: consumer.to_vec(),
        delivery_time_ms,
        entries,
    }
}
