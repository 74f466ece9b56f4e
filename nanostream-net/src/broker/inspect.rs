//! What the broker thread tells the HTTP API's dashboard once a second: its busiest channels
//! and its streams with their consumer groups ([`BrokerView`]).

use crate::streams::id::StreamId;

use super::state::State;

/// At most this many channels and topics are described (the busiest channels, the first
/// topics by name), so that a broker with millions of them answers in bounded time.
pub(crate) const VIEW_LIMIT: usize = 100;

/// The broker's channels and streams at one moment.
#[derive(Debug, Default)]
pub(crate) struct BrokerView {
    /// Subscribed channels, the busiest (most deliveries) first.
    pub(crate) channels: Vec<ChannelView>,
    /// Patterns subscribed to.
    pub(crate) patterns: usize,
    /// Streams, by name.
    pub(crate) topics: Vec<TopicView>,
    /// How many streams there are in all.
    pub(crate) topic_count: usize,
}

/// One subscribed channel.
#[derive(Debug)]
pub(crate) struct ChannelView {
    pub(crate) name: Vec<u8>,
    pub(crate) subscribers: usize,
    /// Messages published to it since it was first counted.
    pub(crate) published: u64,
    /// Messages delivered on it since it was first counted.
    pub(crate) delivered: u64,
}

/// One stream.
#[derive(Debug)]
pub(crate) struct TopicView {
    pub(crate) name: Vec<u8>,
    pub(crate) length: u64,
    pub(crate) first_id: Option<StreamId>,
    pub(crate) last_id: StreamId,
    /// Bytes written to the journal but not yet on disk (0: everything is durable).
    pub(crate) unsynced_bytes: u64,
    pub(crate) groups: Vec<GroupView>,
}

/// One consumer group.
#[derive(Debug)]
pub(crate) struct GroupView {
    pub(crate) name: Vec<u8>,
    pub(crate) consumers: usize,
    pub(crate) pending: usize,
    pub(crate) lag: Option<u64>,
    pub(crate) last_delivered_id: StreamId,
}

impl State {
    /// Describes the channels and streams; from the first call on, counts messages per
    /// channel (and forgets channels without subscribers at each call).
    pub(crate) fn inspect(&mut self) -> BrokerView {
        let registry = &self.registry;
        let counts = self.channel_counts.get_or_insert_with(Default::default);
        counts.retain(|name, _| registry.numsub(name) > 0);
        let mut channels: Vec<ChannelView> = registry
            .channels(None)
            .into_iter()
            .map(|name| {
                let c = counts.get(name).copied().unwrap_or_default();
                ChannelView {
                    name: name.to_vec(),
                    subscribers: registry.numsub(name),
                    published: c.published,
                    delivered: c.delivered,
                }
            })
            .collect();
        channels.sort_by(|a, b| b.delivered.cmp(&a.delivered).then_with(|| a.name.cmp(&b.name)));
        channels.truncate(VIEW_LIMIT);
        let mut view = BrokerView {
            channels,
            patterns: registry.numpat(),
            ..BrokerView::default()
        };
        if let Some(keyspace) = self.keyspace.as_ref() {
            view.topic_count = keyspace.len();
            for key in keyspace.keys().take(VIEW_LIMIT) {
                let Some(stored) = keyspace.get(key) else {
                    continue;
                };
                let stream = &stored.stream;
                let meta = stream.meta();
                view.topics.push(TopicView {
                    name: key.to_vec(),
                    length: stream.len(),
                    first_id: stream.first_id(),
                    last_id: stream.last_id(),
                    unsynced_bytes: stream.next_offset().saturating_sub(stream.durable_next_offset()),
                    groups: stored
                        .groups
                        .iter()
                        .map(|g| GroupView {
                            name: g.name().to_vec(),
                            consumers: g.consumers().count(),
                            pending: g.pel().len(),
                            lag: g.lag(&meta),
                            last_delivered_id: g.last_delivered_id(),
                        })
                        .collect(),
                });
            }
        }
        view
    }
}
