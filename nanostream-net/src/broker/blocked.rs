//! Clients blocked in `XREAD ... BLOCK` or `XREADGROUP ... BLOCK`, waiting for entries.
//!
//! A blocked read keeps its request, with `$` already turned into the stream's last ID, and is
//! run again (in FIFO order, as Redis serves them) once one of its streams has new entries
//! that are durable: the broker retries blocked reads right after the commit that ends a
//! batch. A read that finds nothing stays blocked; one whose deadline passes gets the null
//! reply. While a client is blocked, the commands it sends after are held and run, in order,
//! once it is served.

use std::collections::VecDeque;
use std::time::Instant;

use crate::pubsub::ClientId;

/// One blocked read.
#[derive(Debug)]
pub(crate) struct Blocked {
    pub(crate) client: ClientId,
    /// The stream keys it waits on.
    pub(crate) keys: Vec<Vec<u8>>,
    /// The request to run again, `$` resolved.
    pub(crate) request: Vec<Vec<u8>>,
    /// When it gives up (`None`: `BLOCK 0`, never).
    pub(crate) deadline: Option<Instant>,
}

/// The blocked reads, oldest first.
#[derive(Debug, Default)]
pub(crate) struct BlockedReads {
    reads: VecDeque<Blocked>,
}

impl BlockedReads {
    pub(crate) fn push(&mut self, blocked: Blocked) {
        self.reads.push_back(blocked);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.reads.is_empty()
    }

    /// Takes the reads waiting on any of `keys`, oldest first.
    pub(crate) fn take_waiting_on(&mut self, keys: &[Vec<u8>]) -> Vec<Blocked> {
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.reads.len());
        for b in self.reads.drain(..) {
            if b.keys.iter().any(|k| keys.contains(k)) {
                taken.push(b);
            } else {
                kept.push_back(b);
            }
        }
        self.reads = kept;
        taken
    }

    /// Puts back reads that found nothing, at the front, in their order.
    pub(crate) fn put_back(&mut self, reads: Vec<Blocked>) {
        for b in reads.into_iter().rev() {
            self.reads.push_front(b);
        }
    }

    /// Takes the reads whose deadline passed.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<Blocked> {
        let mut expired = Vec::new();
        self.reads.retain_mut(|b| {
            if b.deadline.is_some_and(|d| d <= now) {
                expired.push(Blocked {
                    client: b.client,
                    keys: std::mem::take(&mut b.keys),
                    request: std::mem::take(&mut b.request),
                    deadline: b.deadline,
                });
                false
            } else {
                true
            }
        });
        expired
    }

    /// Forgets the read of a client that left.
    pub(crate) fn remove_client(&mut self, client: ClientId) {
        self.reads.retain(|b| b.client != client);
    }
}
