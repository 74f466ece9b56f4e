//! The requests the I/O thread decoded in one turn of its loop, handed to the broker
//! together: one claim on the ring for the lot, so the broker runs them as one batch and
//! writes each client's replies and deliveries once for all of them, as Redis's event loop
//! answers everything it read in a turn with one write per client.

use std::ops::Range;

use nanostream::{MultiProducer, Producer, PublishError};

use crate::broker::{BrokerEvent, BrokerWait, EventKind};
use crate::pubsub::ClientId;

/// A batch is handed over before its bytes pass this, to bound the I/O thread's memory.
pub(crate) const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// One event of the batch; its arguments are `args[args]`, each a range of `bytes`.
#[derive(Debug)]
struct Item {
    kind: EventKind,
    client: ClientId,
    args: Range<usize>,
}

/// Events waiting to be published, their arguments copied into one buffer. Every buffer
/// keeps its capacity, so a batch of a size seen before allocates nothing.
#[derive(Debug)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    args: Vec<Range<usize>>,
    items: Vec<Item>,
    /// The most events published with one claim.
    chunk: usize,
}

impl Batch {
    /// An empty batch that publishes at most `chunk` events per claim.
    pub(crate) fn new(chunk: usize) -> Self {
        Batch {
            bytes: Vec::new(),
            args: Vec::new(),
            items: Vec::new(),
            chunk: chunk.max(1),
        }
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the batch should be handed over before reading more.
    pub(crate) fn is_full(&self) -> bool {
        self.bytes.len() >= MAX_BATCH_BYTES
    }

    /// Adds an event carrying `args`.
    pub(crate) fn push<'a>(
        &mut self,
        kind: EventKind,
        client: ClientId,
        args: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let first = self.args.len();
        for arg in args {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(arg);
            self.args.push(start..self.bytes.len());
        }
        self.items.push(Item {
            kind,
            client,
            args: first..self.args.len(),
        });
    }

    /// Publishes every event, in order, and empties the batch (keeping its capacity).
    pub(crate) fn publish(
        &mut self,
        producer: &mut MultiProducer<BrokerEvent, BrokerWait>,
    ) -> Result<(), PublishError> {
        let Batch {
            bytes,
            args,
            items,
            chunk,
        } = self;
        let mut result = Ok(());
        for part in items.chunks(*chunk) {
            result = producer
                .batch_publish(part.len(), |slots| {
                    for (slot, item) in slots.zip(part) {
                        slot.kind = item.kind;
                        slot.client = item.client;
                        slot.set_args(args[item.args.clone()].iter().map(|r| &bytes[r.clone()]));
                    }
                })
                .map(|_| ());
            if result.is_err() {
                break;
            }
        }
        bytes.clear();
        args.clear();
        items.clear();
        result
    }
}
