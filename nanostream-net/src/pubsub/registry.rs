//! Who is subscribed to what: the channel and pattern subscriptions of every client, with the
//! replies Redis 7 gives to SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB.
//!
//! # Layout and costs
//!
//! Names are shared, not copied: a channel or pattern is one `Arc<[u8]>` referenced from the
//! global map and from each subscriber's own set. `k` below is the length of a name, `m` the
//! number of subscriptions one client holds, `P` the number of distinct patterns subscribed by
//! anyone, `C` the number of channels with subscribers.
//!
//! | structure | for |
//! | --- | --- |
//! | channel → [`Subscribers`] (`HashMap`) | PUBLISH, NUMSUB, CHANNELS |
//! | pattern → [`Subscribers`] (`HashMap`) | PUBLISH matches each distinct pattern once, NUMPAT |
//! | client → its channels and patterns (`HashMap` of two `BTreeSet`s) | the counts in replies, UNSUBSCRIBE with no argument, disconnects |
//!
//! [`Subscribers`] keeps its clients in a `Vec` (so PUBLISH borrows a slice) plus their
//! positions (so removal is a `swap_remove`).
//!
//! | operation | cost |
//! | --- | --- |
//! | [`subscribe`](Registry::subscribe), [`unsubscribe`](Registry::unsubscribe), [`psubscribe`](Registry::psubscribe), [`punsubscribe`](Registry::punsubscribe) | `O(k · log m)` expected; the first subscription to a name allocates it once |
//! | [`unsubscribe_all`](Registry::unsubscribe_all), [`punsubscribe_all`](Registry::punsubscribe_all), [`remove_client`](Registry::remove_client) | `O(m · k)` expected |
//! | [`receivers`](Registry::receivers) | `O(k)` for the channel's subscribers, a borrowed slice, no allocation; the pattern part is a lazy iterator that runs [`glob_match`] once per distinct pattern, `O(P · k · q)` in all for patterns of length `q` |
//! | [`publish_count`](Registry::publish_count) | the same as walking [`receivers`](Registry::receivers) |
//! | [`numsub`](Registry::numsub) | `O(k)` expected |
//! | [`numpat`](Registry::numpat), [`count`](Registry::count), [`subscribed_clients`](Registry::subscribed_clients) | `O(1)` (`count` expected) |
//! | [`channels`](Registry::channels) | `O(C log C)` plus one match per channel when filtered |
//!
//! The counts follow Redis 7: a reply's count is the client's channels plus its patterns after
//! the call; NUMPAT is the number of distinct patterns, not of (client, pattern) pairs; PUBLISH
//! counts one delivery per matching subscription, so a client subscribed to a channel and to two
//! patterns matching it counts three.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::pattern::glob_match;

/// A connected client, as the server numbers them (Redis's `CLIENT ID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// The clients subscribed to one channel or pattern, in no particular order.
#[derive(Debug, Default)]
pub struct Subscribers {
    ids: Vec<ClientId>,
    positions: HashMap<ClientId, usize>,
}

impl Subscribers {
    /// The subscribed clients, each once.
    pub fn as_slice(&self) -> &[ClientId] {
        &self.ids
    }

    /// How many clients are subscribed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no client is subscribed (a registry never keeps such an entry).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds `client`; false if it was already there.
    fn insert(&mut self, client: ClientId) -> bool {
        if self.positions.contains_key(&client) {
            return false;
        }
        self.positions.insert(client, self.ids.len());
        self.ids.push(client);
        true
    }

    /// Removes `client`; false if it was not there.
    fn remove(&mut self, client: ClientId) -> bool {
        let Some(at) = self.positions.remove(&client) else {
            return false;
        };
        self.ids.swap_remove(at);
        if let Some(&moved) = self.ids.get(at) {
            self.positions.insert(moved, at);
        }
        true
    }
}

/// One client's subscriptions, sorted by bytes.
#[derive(Debug, Default)]
struct ClientSubs {
    channels: BTreeSet<Arc<[u8]>>,
    patterns: BTreeSet<Arc<[u8]>>,
}

impl ClientSubs {
    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// Which of the two kinds of subscription an operation is about.
#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
}

/// The subscriptions of all clients. No sockets, no threads: the server calls it from the
/// thread that owns the pub/sub state and turns the results into reply frames.
///
/// ```
/// use nanostream_net::pubsub::{ClientId, Registry};
///
/// let mut reg = Registry::new();
/// let (a, b) = (ClientId(1), ClientId(2));
/// assert_eq!(reg.subscribe(a, b"news"), 1);
/// assert_eq!(reg.psubscribe(a, b"n*"), 2);
/// assert_eq!(reg.psubscribe(b, b"n*"), 1);
/// // a: once for the channel, once for the pattern; b: once for the pattern.
/// assert_eq!(reg.publish_count(b"news"), 3);
/// assert_eq!(reg.numpat(), 1);
/// reg.remove_client(a);
/// assert_eq!(reg.numsub(b"news"), 0);
/// ```
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<Arc<[u8]>, Subscribers>,
    patterns: HashMap<Arc<[u8]>, Subscribers>,
    clients: HashMap<ClientId, ClientSubs>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// SUBSCRIBE to one channel. Returns the count for the reply: the client's channels plus
    /// patterns afterwards (unchanged if it was already subscribed).
    pub fn subscribe(&mut self, client: ClientId, channel: &[u8]) -> usize {
        self.add(Kind::Channel, client, channel)
    }

    /// UNSUBSCRIBE from one channel. Returns the client's channels plus patterns afterwards,
    /// which Redis replies even when the client was not subscribed.
    pub fn unsubscribe(&mut self, client: ClientId, channel: &[u8]) -> usize {
        self.remove(Kind::Channel, client, channel)
    }

    /// UNSUBSCRIBE with no argument: leaves every channel, in ascending byte order, and returns
    /// each with the count that goes in its reply. Empty if the client had no channel, where
    /// Redis replies one `unsubscribe` with a null channel and the client's pattern count
    /// ([`count`](Self::count)).
    pub fn unsubscribe_all(&mut self, client: ClientId) -> Vec<(Arc<[u8]>, usize)> {
        self.remove_all(Kind::Channel, client)
    }

    /// PSUBSCRIBE to one pattern; the count as for [`subscribe`](Self::subscribe).
    pub fn psubscribe(&mut self, client: ClientId, pattern: &[u8]) -> usize {
        self.add(Kind::Pattern, client, pattern)
    }

    /// PUNSUBSCRIBE from one pattern; the count as for [`unsubscribe`](Self::unsubscribe).
    pub fn punsubscribe(&mut self, client: ClientId, pattern: &[u8]) -> usize {
        self.remove(Kind::Pattern, client, pattern)
    }

    /// PUNSUBSCRIBE with no argument: as [`unsubscribe_all`](Self::unsubscribe_all), for
    /// patterns, in ascending byte order.
    pub fn punsubscribe_all(&mut self, client: ClientId) -> Vec<(Arc<[u8]>, usize)> {
        self.remove_all(Kind::Pattern, client)
    }

    /// Forgets a disconnected client: all its channels and patterns, with no replies.
    pub fn remove_client(&mut self, client: ClientId) {
        let Some(subs) = self.clients.remove(&client) else {
            return;
        };
        for name in &subs.channels {
            Self::detach(&mut self.channels, name, client);
        }
        for name in &subs.patterns {
            Self::detach(&mut self.patterns, name, client);
        }
    }

    /// The client's channels plus patterns: the count Redis puts in every (un)subscribe reply,
    /// and which keeps a RESP2 connection in subscribed mode while it is not zero.
    pub fn count(&self, client: ClientId) -> usize {
        self.clients.get(&client).map_or(0, ClientSubs::count)
    }

    /// Who gets a message published to `channel`: the channel's subscribers (borrowed) and the
    /// (pattern, subscribers) pairs whose pattern matches, found as the iterator advances.
    pub fn receivers<'a>(&'a self, channel: &'a [u8]) -> Receivers<'a> {
        Receivers {
            subscribers: self.channels.get(channel).map_or(&[], Subscribers::as_slice),
            patterns: self.patterns.iter(),
            channel,
        }
    }

    /// The number PUBLISH replies: one per matching subscription, channel or pattern.
    pub fn publish_count(&self, channel: &[u8]) -> usize {
        let receivers = self.receivers(channel);
        receivers.subscribers().len() + receivers.map(|(_, s)| s.len()).sum::<usize>()
    }

    /// PUBSUB CHANNELS: the channels with at least one subscriber, those matching `pattern` if
    /// one is given, in ascending byte order.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self
            .channels
            .keys()
            .map(|name| &**name)
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name)))
            .collect();
        out.sort_unstable();
        out
    }

    /// PUBSUB NUMSUB for one channel: how many clients are subscribed to it (patterns not
    /// counted, as in Redis).
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Subscribers::len)
    }

    /// PUBSUB NUMPAT: the number of distinct patterns subscribed by any client (Redis 7; a
    /// pattern two clients share counts once).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    /// How many clients hold at least one subscription (Redis 7.2's `pubsub_clients` in INFO).
    /// A client whose last subscription goes is forgotten entirely.
    pub fn subscribed_clients(&self) -> usize {
        self.clients.len()
    }

    /// The client's channels, in ascending byte order.
    pub fn client_channels(&self, client: ClientId) -> impl Iterator<Item = &[u8]> {
        self.clients
            .get(&client)
            .into_iter()
            .flat_map(|s| s.channels.iter().map(|n| &**n))
    }

    /// The client's patterns, in ascending byte order.
    pub fn client_patterns(&self, client: ClientId) -> impl Iterator<Item = &[u8]> {
        self.clients
            .get(&client)
            .into_iter()
            .flat_map(|s| s.patterns.iter().map(|n| &**n))
    }

    fn add(&mut self, kind: Kind, client: ClientId, name: &[u8]) -> usize {
        let subs = self.clients.entry(client).or_default();
        let (own, global) = match kind {
            Kind::Channel => (&mut subs.channels, &mut self.channels),
            Kind::Pattern => (&mut subs.patterns, &mut self.patterns),
        };
        if !own.contains(name) {
            let shared = match global.get_key_value(name) {
                Some((shared, _)) => Arc::clone(shared),
                None => Arc::from(name),
            };
            global.entry(Arc::clone(&shared)).or_default().insert(client);
            own.insert(shared);
        }
        subs.count()
    }

    fn remove(&mut self, kind: Kind, client: ClientId, name: &[u8]) -> usize {
        let Some(subs) = self.clients.get_mut(&client) else {
            return 0;
        };
        let (own, global) = match kind {
            Kind::Channel => (&mut subs.channels, &mut self.channels),
            Kind::Pattern => (&mut subs.patterns, &mut self.patterns),
        };
        if own.remove(name) {
            Self::detach(global, name, client);
        }
        let count = subs.count();
        if count == 0 {
            self.clients.remove(&client);
        }
        count
    }

    fn remove_all(&mut self, kind: Kind, client: ClientId) -> Vec<(Arc<[u8]>, usize)> {
        let Some(subs) = self.clients.get_mut(&client) else {
            return Vec::new();
        };
        let (own, global) = match kind {
            Kind::Channel => (&mut subs.channels, &mut self.channels),
            Kind::Pattern => (&mut subs.patterns, &mut self.patterns),
        };
        let names = std::mem::take(own);
        let mut left = names.len() + subs_other_len(subs, kind);
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            Self::detach(global, &name, client);
            left -= 1;
            out.push((name, left));
        }
        if left == 0 {
            self.clients.remove(&client);
        }
        out
    }

    /// Takes `client` off `name`'s subscribers, dropping the entry when it was the last.
    fn detach(global: &mut HashMap<Arc<[u8]>, Subscribers>, name: &[u8], client: ClientId) {
        if let Some(subs) = global.get_mut(name) {
            subs.remove(client);
            if subs.is_empty() {
                global.remove(name);
            }
        }
    }
}

/// The number of subscriptions of the other kind than `kind`.
fn subs_other_len(subs: &ClientSubs, kind: Kind) -> usize {
    match kind {
        Kind::Channel => subs.patterns.len(),
        Kind::Pattern => subs.channels.len(),
    }
}

/// The receivers of one published message: see [`Registry::receivers`].
///
/// Iterating yields the matching patterns with their subscribers, in no particular order;
/// [`subscribers`](Self::subscribers) gives the channel's own subscribers.
#[derive(Debug)]
pub struct Receivers<'a> {
    subscribers: &'a [ClientId],
    patterns: std::collections::hash_map::Iter<'a, Arc<[u8]>, Subscribers>,
    channel: &'a [u8],
}

impl<'a> Receivers<'a> {
    /// The clients subscribed to the channel itself (each gets a `message` frame).
    pub fn subscribers(&self) -> &'a [ClientId] {
        self.subscribers
    }
}

impl<'a> Iterator for Receivers<'a> {
    /// A matching pattern and its subscribers (each gets a `pmessage` frame naming it).
    type Item = (&'a [u8], &'a [ClientId]);

    fn next(&mut self) -> Option<Self::Item> {
        let channel = self.channel;
        self.patterns
            .find(|(pattern, _)| glob_match(pattern, channel))
            .map(|(pattern, subs)| (&**pattern, subs.as_slice()))
    }
}
