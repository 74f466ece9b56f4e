//! Retention: which sealed segments may be deleted, by total size and by age.
//!
//! Only whole sealed segments are ever deleted, oldest first; the active segment never is.
//! Deletion is an `unlink`: a reader that has a segment mapped keeps reading it to the end
//! (the file lives until its last mapping goes), and a reader that later asks for an offset that
//! is gone gets [`Error::OffsetOutOfRange`](crate::Error::OffsetOutOfRange), never wrong data.

use std::time::Duration;

/// Limits past which the oldest sealed segments are deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep the journal's segment files (the active one included) within this many bytes.
    pub max_bytes: Option<u64>,
    /// Delete a sealed segment once its newest record is older than this.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// No retention: keep everything.
    pub const fn keep_all() -> Self {
        Self {
            max_bytes: None,
            max_age: None,
        }
    }

    /// Whether any limit is set.
    pub fn is_enabled(&self) -> bool {
        self.max_bytes.is_some() || self.max_age.is_some()
    }

    /// Decides how many of the oldest sealed segments to delete.
    ///
    /// `sealed` lists (bytes on disk, newest timestamp in ns) oldest first; `active_bytes` is the
    /// active segment's size; `now_ns` the current time.
    pub(crate) fn segments_to_delete(
        &self,
        sealed: impl Iterator<Item = (u64, u64)>,
        total_bytes: u64,
        now_ns: u64,
    ) -> usize {
        let age_limit = self
            .max_age
            .map(|a| now_ns.saturating_sub(u64::try_from(a.as_nanos()).unwrap_or(u64::MAX)));
        let mut total = total_bytes;
        let mut n = 0;
        for (bytes, newest_ns) in sealed {
            let too_big = self.max_bytes.is_some_and(|max| total > max);
            let too_old = age_limit.is_some_and(|limit| newest_ns < limit);
            if !(too_big || too_old) {
                break;
            }
            total = total.saturating_sub(bytes);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_deletes_oldest_until_within() {
        let r = Retention {
            max_bytes: Some(250),
            max_age: None,
        };
        let sealed = [(100, 0), (100, 0), (100, 0)];
        // 3 sealed + 100 active = 400 bytes: two must go.
        assert_eq!(r.segments_to_delete(sealed.into_iter(), 400, 0), 2);
    }

    #[test]
    fn age_limit_stops_at_first_young_segment() {
        let r = Retention {
            max_bytes: None,
            max_age: Some(Duration::from_nanos(10)),
        };
        let sealed = [(1, 5), (1, 50), (1, 6)];
        assert_eq!(r.segments_to_delete(sealed.into_iter(), 3, 30), 1);
    }
}
