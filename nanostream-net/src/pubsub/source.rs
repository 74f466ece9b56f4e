//! The network source: remote `PUBLISH`es to a channel or a pattern, decoded by a user's
//! translator and published into the user's own ring.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nanostream::Producer;

use super::glob_match;

/// Which publishes a source receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Publishes to exactly this channel.
    Channel(Vec<u8>),
    /// Publishes to every channel matching this Redis glob pattern.
    Pattern(Vec<u8>),
}

impl Subscription {
    /// Whether a publish to `channel` reaches this subscription.
    pub fn matches(&self, channel: &[u8]) -> bool {
        match self {
            Subscription::Channel(c) => c == channel,
            Subscription::Pattern(p) => glob_match(p, channel),
        }
    }
}

/// What a source does when the user's ring is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// Wait for space. The broker thread waits with it, so every client of the broker waits
    /// too: choose it when losing a message is worse than slowing the broker down.
    Wait,
    /// Drop the message and count it ([`SourceStats::dropped`]); the broker never waits.
    DropAndCount,
}

/// A source's counters, readable from any thread.
#[derive(Debug, Default)]
pub struct SourceStats {
    published: AtomicU64,
    dropped: AtomicU64,
}

impl SourceStats {
    /// Messages published into the user's ring.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Messages dropped: the ring was full under [`Backpressure::DropAndCount`], or its
    /// pipeline had stopped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// An in-process receiver of publishes, run on the broker thread.
pub(crate) trait Sink: Send {
    /// Whether a publish to `channel` is for this sink.
    fn matches(&self, channel: &[u8]) -> bool;
    /// Takes one publish.
    fn deliver(&mut self, channel: &[u8], payload: &[u8]);
}

/// A [`Sink`] that translates publishes into a user's ring.
pub(crate) struct RingSink<E, P, F> {
    pub(crate) subscription: Subscription,
    pub(crate) producer: P,
    pub(crate) translate: F,
    pub(crate) backpressure: Backpressure,
    pub(crate) stats: Arc<SourceStats>,
    pub(crate) event: PhantomData<fn(&mut E)>,
}

impl<E, P, F> Sink for RingSink<E, P, F>
where
    P: Producer<E> + Send,
    F: FnMut(&mut E, &[u8], &[u8]) + Send,
{
    fn matches(&self, channel: &[u8]) -> bool {
        self.subscription.matches(channel)
    }

    fn deliver(&mut self, channel: &[u8], payload: &[u8]) {
        let translate = &mut self.translate;
        let ok = match self.backpressure {
            Backpressure::Wait => self
                .producer
                .publish(|event, _| translate(event, channel, payload))
                .is_ok(),
            Backpressure::DropAndCount => self
                .producer
                .try_publish(|event, _| translate(event, channel, payload))
                .is_ok(),
        };
        let counter = if ok {
            &self.stats.published
        } else {
            &self.stats.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
