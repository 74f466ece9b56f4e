//! [`Codec`]: how events become record payloads and back.

/// A payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Turns events into record payloads and back.
///
/// `encode` writes straight into the journal's memory map, so a codec that does not allocate
/// keeps the append path allocation-free.
pub trait Codec<E>: Send + 'static {
    /// Exact number of bytes `encode` will write for `event`.
    fn encoded_len(&self, event: &E) -> usize;
    /// Writes `event` into `buf`, whose length is `encoded_len(event)`.
    fn encode(&self, event: &E, buf: &mut [u8]);
    /// Overwrites `event` (a pre-allocated ring slot) with the decoded `bytes`.
    fn decode(&self, bytes: &[u8], event: &mut E) -> Result<(), DecodeError>;
}

/// A ready codec for byte payloads: `Vec<u8>` (decoding reuses the slot's capacity) and
/// `[u8; N]` (decoding checks the length).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec<Vec<u8>> for BytesCodec {
    fn encoded_len(&self, event: &Vec<u8>) -> usize {
        event.len()
    }
    fn encode(&self, event: &Vec<u8>, buf: &mut [u8]) {
        buf.copy_from_slice(event);
    }
    fn decode(&self, bytes: &[u8], event: &mut Vec<u8>) -> Result<(), DecodeError> {
        event.clear();
        event.extend_from_slice(bytes);
        Ok(())
    }
}

impl<const N: usize> Codec<[u8; N]> for BytesCodec {
    fn encoded_len(&self, _: &[u8; N]) -> usize {
        N
    }
    fn encode(&self, event: &[u8; N], buf: &mut [u8]) {
        buf.copy_from_slice(event);
    }
    fn decode(&self, bytes: &[u8], event: &mut [u8; N]) -> Result<(), DecodeError> {
        if bytes.len() != N {
            return Err(DecodeError(format!(
                "payload is {} bytes, expected {N}",
                bytes.len()
            )));
        }
        event.copy_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let c = BytesCodec;
        let e = vec![1u8, 2, 3];
        let mut buf = vec![0; c.encoded_len(&e)];
        c.encode(&e, &mut buf);
        let mut out = Vec::new();
        c.decode(&buf, &mut out).expect("decode");
        assert_eq!(out, e);
        let mut arr = [0u8; 4];
        assert!(c.decode(&buf, &mut arr).is_err());
    }
}
