//! What each published message carries: when it was sent, by whom, and its place in order.

/// Bytes of the stamp at the start of every payload; the rest is padding.
pub const STAMP_LEN: usize = 20;

/// The head of a payload: send time, publisher and sequence, little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Nanoseconds since the run's shared origin (a monotonic clock) when the message was sent.
    pub sent_ns: u64,
    /// Which publisher sent it (0-based).
    pub publisher: u32,
    /// The publisher's count of messages on this channel before this one.
    pub seq: u64,
}

impl Stamp {
    /// Writes the stamp over the first [`STAMP_LEN`] bytes of `payload`.
    pub fn write(&self, payload: &mut [u8]) {
        payload[0..8].copy_from_slice(&self.sent_ns.to_le_bytes());
        payload[8..12].copy_from_slice(&self.publisher.to_le_bytes());
        payload[12..20].copy_from_slice(&self.seq.to_le_bytes());
    }

    /// Reads the stamp from a received payload, or `None` if it is too short to hold one.
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let head = payload.get(..STAMP_LEN)?;
        Some(Stamp {
            sent_ns: u64::from_le_bytes(head[0..8].try_into().ok()?),
            publisher: u32::from_le_bytes(head[8..12].try_into().ok()?),
            seq: u64::from_le_bytes(head[12..20].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Stamp, STAMP_LEN};

    #[test]
    fn round_trip() {
        let stamp = Stamp {
            sent_ns: 123_456_789_012,
            publisher: 7,
            seq: u64::MAX - 1,
        };
        let mut payload = vec![b'x'; 100];
        stamp.write(&mut payload);
        assert_eq!(Stamp::read(&payload), Some(stamp));
        assert_eq!(&payload[STAMP_LEN..], &[b'x'; 100 - STAMP_LEN][..]);
        assert_eq!(Stamp::read(&payload[..STAMP_LEN - 1]), None);
    }
}
