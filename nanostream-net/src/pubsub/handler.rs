//! The network handler: an [`EventHandler`] that publishes a pipeline's events to a channel's
//! remote subscribers.

use std::marker::PhantomData;

use nanostream::{EventHandler, MultiProducer, Producer};

use crate::broker::{claim_chunk, BrokerEvent, BrokerWait, EventKind};

/// Publishes each event of a pipeline to the remote subscribers of one channel (and of every
/// pattern matching it), as `PUBLISH channel <encoded event>` would. Made by
/// [`Server::network_handler`](crate::server::Server::network_handler).
///
/// Events are encoded into buffers kept between batches and handed to the broker together at
/// the end of each batch, one claim for the batch. The handler waits only for room in the
/// broker's ring, never for a client: a subscriber that does not read is disconnected once its
/// output passes the server's limit.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
/// use nanostream_net::server::{Server, ServerConfig};
///
/// let server = Server::start(ServerConfig::loopback())?;
/// let ticks = server.network_handler("ticks", |price: &u64, out: &mut Vec<u8>| {
///     out.extend_from_slice(price.to_string().as_bytes());
/// });
/// let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
///     .handle_events_with(ticks)
///     .build()?;
/// producer.publish(|price, _| *price = 101)?;
/// producer.shutdown()?;
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NetworkHandler<E, F> {
    ring: MultiProducer<BrokerEvent, BrokerWait>,
    channel: Vec<u8>,
    encode: F,
    /// Encoded events of the current batch: `buffers[..staged]`.
    buffers: Vec<Vec<u8>>,
    staged: usize,
    /// The most events handed to the broker in one claim.
    chunk: usize,
    event: PhantomData<fn(&E)>,
}

impl<E, F> std::fmt::Debug for NetworkHandler<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandler")
            .field("channel", &String::from_utf8_lossy(&self.channel))
            .finish_non_exhaustive()
    }
}

impl<E, F> NetworkHandler<E, F> {
    pub(crate) fn new(ring: MultiProducer<BrokerEvent, BrokerWait>, channel: Vec<u8>, encode: F) -> Self {
        let chunk = claim_chunk(&ring);
        NetworkHandler {
            ring,
            channel,
            encode,
            buffers: Vec::new(),
            staged: 0,
            chunk,
            event: PhantomData,
        }
    }

    /// The channel it publishes to.
    pub fn channel(&self) -> &[u8] {
        &self.channel
    }

    /// Hands the staged events to the broker, in order.
    fn flush(&mut self) {
        let mut done = 0;
        while done < self.staged {
            let n = (self.staged - done).min(self.chunk);
            let channel = &self.channel;
            let buffers = &self.buffers[done..done + n];
            let result = self.ring.batch_publish(n, |batch| {
                for (slot, payload) in batch.zip(buffers) {
                    slot.kind = EventKind::Publish;
                    slot.set_args([&channel[..], &payload[..]]);
                }
            });
            if result.is_err() {
                // The server has stopped: there is no one left to deliver to.
                break;
            }
            done += n;
        }
        self.staged = 0;
    }
}

impl<E, F> EventHandler<E> for NetworkHandler<E, F>
where
    E: 'static,
    F: FnMut(&E, &mut Vec<u8>) + Send + 'static,
{
    fn on_event(&mut self, event: &E, _sequence: i64, end_of_batch: bool) {
        if self.staged == self.buffers.len() {
            self.buffers.push(Vec::new());
        }
        let buffer = &mut self.buffers[self.staged];
        buffer.clear();
        (self.encode)(event, buffer);
        self.staged += 1;
        if end_of_batch || self.staged >= self.chunk {
            self.flush();
        }
    }
}
