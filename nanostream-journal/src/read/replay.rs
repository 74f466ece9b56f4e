//! [`replay_into`]: rebuilding state at start-up by publishing the journal into a ring buffer.

use nanostream::Producer;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::read::reader::JournalReader;

/// Publishes every record from the reader's position to the current end of the journal into
/// `producer`, decoding each into its ring slot with `codec`. Returns how many were published;
/// the reader is left after the last one, so a second call picks up what was appended since.
///
/// Stops at the first corrupt record ([`Error::Corrupt`]), undecodable payload
/// ([`Error::Decode`]: that slot was published with whatever the codec left in it) or halted
/// pipeline ([`Error::Replay`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("nsj-doc-replay-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use nanostream::{build_single_producer, BlockingWaitStrategy};
/// use nanostream_journal::{replay_into, BytesCodec, Journal, JournalConfig, JournalReader};
///
/// let mut journal = Journal::open(&dir, JournalConfig::new().segment_size(1 << 20))?;
/// for word in ["a", "bb", "ccc"] {
///     journal.append(word.as_bytes())?;
/// }
/// journal.close()?;
///
/// let bytes = Arc::new(AtomicUsize::new(0));
/// let seen = bytes.clone();
/// let mut producer = build_single_producer(64, Vec::new, BlockingWaitStrategy::new())
///     .handle_events_with(move |e: &Vec<u8>, _: i64, _: bool| {
///         seen.fetch_add(e.len(), Ordering::Relaxed);
///     })
///     .build()?;
/// let mut reader = JournalReader::open(&dir)?;
/// assert_eq!(replay_into(&mut reader, &BytesCodec, &mut producer)?, 3);
/// producer.shutdown()?;
/// assert_eq!(bytes.load(Ordering::Relaxed), 6);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub fn replay_into<E, C, P>(reader: &mut JournalReader, codec: &C, producer: &mut P) -> Result<u64>
where
    C: Codec<E>,
    P: Producer<E>,
{
    let mut count = 0;
    while let Some(record) = reader.read_next()? {
        let offset = record.offset;
        let mut decoded = Ok(());
        producer
            .publish(|event, _| decoded = codec.decode(record.payload, event))
            .map_err(|source| Error::Replay { offset, source })?;
        decoded.map_err(|source| Error::Decode { offset, source })?;
        count += 1;
    }
    Ok(count)
}
