//! The lengths a client may claim, in one struct, with the defaults of redis-server 7.

use thiserror::Error;

/// `proto-max-bulk-len`: the longest bulk string a client may send (512 MiB).
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// The largest multibulk count (`*<count>`): redis-server 7 rejects `ll > INT_MAX`.
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = i32::MAX as usize;
/// `PROTO_INLINE_MAX_SIZE`: how many bytes may wait without a line end (64 KiB).
///
/// It bounds an inline request and the `*<count>` / `$<len>` header lines.
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
/// `client-max-querybuf-len`: the most unparsed input kept for one client (1 GiB).
pub const DEFAULT_MAX_QUERY_BUFFER: usize = 1024 * 1024 * 1024;
/// The multibulk count allowed before authentication (redis-server 7: more than 10 is refused).
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: usize = 10;
/// The bulk length allowed before authentication (redis-server 7: more than 16384 is refused).
pub const UNAUTHENTICATED_MAX_BULK_LEN: usize = 16 * 1024;

/// Limits on what a client may claim, checked before anything is allocated for it.
///
/// ```
/// use nanostream_net::resp::Limits;
///
/// let limits = Limits::builder().max_bulk_len(1 << 20).build()?;
/// assert_eq!(limits.max_bulk_len(), 1 << 20);
/// assert_eq!(Limits::default().max_inline_len(), 64 * 1024);
/// # Ok::<(), nanostream_net::resp::LimitsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_bulk_len: usize,
    max_multibulk_len: usize,
    max_inline_len: usize,
    max_query_buffer: usize,
    unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
            max_query_buffer: DEFAULT_MAX_QUERY_BUFFER,
            unauthenticated: false,
        }
    }
}

impl Limits {
    /// A builder starting from Redis's defaults.
    pub fn builder() -> LimitsBuilder {
        LimitsBuilder {
            limits: Limits::default(),
        }
    }

    /// The longest bulk string accepted (`proto-max-bulk-len`).
    pub fn max_bulk_len(&self) -> usize {
        self.max_bulk_len
    }

    /// The largest multibulk count accepted.
    pub fn max_multibulk_len(&self) -> usize {
        self.max_multibulk_len
    }

    /// How many bytes may wait without a line end (`PROTO_INLINE_MAX_SIZE`).
    pub fn max_inline_len(&self) -> usize {
        self.max_inline_len
    }

    /// The most unparsed input kept for one client (`client-max-querybuf-len`).
    pub fn max_query_buffer(&self) -> usize {
        self.max_query_buffer
    }

    /// Whether the client has yet to authenticate, which applies Redis's tighter caps
    /// ([`UNAUTHENTICATED_MAX_MULTIBULK_LEN`], [`UNAUTHENTICATED_MAX_BULK_LEN`]).
    pub fn unauthenticated(&self) -> bool {
        self.unauthenticated
    }

    /// The same limits for a client that has (`false`) or has not (`true`) authenticated.
    pub fn with_unauthenticated(mut self, unauthenticated: bool) -> Self {
        self.unauthenticated = unauthenticated;
        self
    }
}

/// Builds [`Limits`]; [`build`](LimitsBuilder::build) checks that they fit together.
#[derive(Debug, Clone, Copy)]
pub struct LimitsBuilder {
    limits: Limits,
}

impl LimitsBuilder {
    /// Sets `proto-max-bulk-len` (at least 1 MiB in Redis; here at least 1 byte).
    pub fn max_bulk_len(mut self, n: usize) -> Self {
        self.limits.max_bulk_len = n;
        self
    }

    /// Sets the largest multibulk count.
    pub fn max_multibulk_len(mut self, n: usize) -> Self {
        self.limits.max_multibulk_len = n;
        self
    }

    /// Sets how many bytes may wait without a line end.
    pub fn max_inline_len(mut self, n: usize) -> Self {
        self.limits.max_inline_len = n;
        self
    }

    /// Sets `client-max-querybuf-len`.
    pub fn max_query_buffer(mut self, n: usize) -> Self {
        self.limits.max_query_buffer = n;
        self
    }

    /// Applies the caps Redis uses before a client authenticates.
    pub fn unauthenticated(mut self, yes: bool) -> Self {
        self.limits.unauthenticated = yes;
        self
    }

    /// Checks the limits: each is non-zero, no length exceeds what `i64` and `isize` can hold,
    /// and the query buffer can hold the largest bulk string with its header.
    pub fn build(self) -> Result<Limits, LimitsError> {
        let l = self.limits;
        let cap = isize::MAX as usize / 2;
        for (name, value) in [
            ("max_bulk_len", l.max_bulk_len),
            ("max_multibulk_len", l.max_multibulk_len),
            ("max_inline_len", l.max_inline_len),
            ("max_query_buffer", l.max_query_buffer),
        ] {
            if value == 0 || value > cap {
                return Err(LimitsError::OutOfRange { name, value });
            }
        }
        if l.max_query_buffer < l.max_bulk_len {
            return Err(LimitsError::QueryBufferSmallerThanBulk {
                query_buffer: l.max_query_buffer,
                bulk: l.max_bulk_len,
            });
        }
        Ok(l)
    }
}

/// Why [`LimitsBuilder::build`] refused a set of limits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitsError {
    /// A limit is zero or too large to be a length.
    #[error("{name} must be between 1 and isize::MAX / 2, got {value}")]
    OutOfRange {
        /// Which limit.
        name: &'static str,
        /// The value given.
        value: usize,
    },
    /// The query buffer could never hold the largest bulk string.
    #[error("max_query_buffer ({query_buffer}) must be at least max_bulk_len ({bulk})")]
    QueryBufferSmallerThanBulk {
        /// The query buffer limit given.
        query_buffer: usize,
        /// The bulk length limit given.
        bulk: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_redis_defaults() {
        let l = Limits::default();
        assert_eq!(l.max_bulk_len(), 536_870_912);
        assert_eq!(l.max_multibulk_len(), 2_147_483_647);
        assert_eq!(l.max_inline_len(), 65_536);
        assert_eq!(l.max_query_buffer(), 1_073_741_824);
        assert!(!l.unauthenticated());
        assert_eq!(Limits::builder().build(), Ok(l));
    }

    #[test]
    fn builder_rejects_bad_limits() {
        assert!(matches!(
            Limits::builder().max_inline_len(0).build(),
            Err(LimitsError::OutOfRange {
                name: "max_inline_len",
                ..
            })
        ));
        assert!(matches!(
            Limits::builder().max_query_buffer(10).build(),
            Err(LimitsError::QueryBufferSmallerThanBulk { .. })
        ));
        assert!(Limits::builder().max_bulk_len(usize::MAX).build().is_err());
    }
}
