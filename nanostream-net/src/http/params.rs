//! The query parameters the API takes, parsed with a clear 400 for a bad one.

use std::collections::HashMap;

use crate::streams::id::StreamId;

use super::error::ApiError;

/// The most entries one read returns.
pub(crate) const MAX_LIMIT: u64 = 10_000;
/// The longest a read waits for new entries, in milliseconds.
pub(crate) const MAX_WAIT_MS: u64 = 300_000;

/// A request's query parameters.
pub(crate) type Query = HashMap<String, String>;

/// A number in `range`, `default` when absent.
pub(crate) fn number(
    query: &Query,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    let Some(text) = query.get(name) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "'{name}' must be a whole number from {} to {}, not '{text}'",
            range.start(),
            range.end()
        ))),
    }
}

/// `limit` (or another name for it): 1 to [`MAX_LIMIT`], 100 by default.
pub(crate) fn limit(query: &Query, name: &str) -> Result<u64, ApiError> {
    number(query, name, 100, 1..=MAX_LIMIT)
}

/// `wait`: 0 to [`MAX_WAIT_MS`] milliseconds, 0 by default.
pub(crate) fn wait(query: &Query) -> Result<u64, ApiError> {
    number(query, "wait", 0, 0..=MAX_WAIT_MS)
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    /// At this ID, inclusive (`-` is [`StreamId::MIN`]).
    Id(StreamId),
    /// After the stream's newest entry (`$`).
    End,
}

/// `from`: an ID (a bare number `<ms>` meaning `<ms>-0`), `-` for the start, `$` for only
/// entries added from now on; `default` when absent.
pub(crate) fn from(query: &Query, default: From) -> Result<From, ApiError> {
    match query.get("from").map(String::as_str) {
        None => Ok(default),
        Some("-") => Ok(From::Id(StreamId::MIN)),
        Some("$") => Ok(From::End),
        Some(text) => StreamId::parse_strict(text.as_bytes(), 0)
            .map(From::Id)
            .map_err(|_| {
                ApiError::bad_request(format!("'from' must be a stream ID, '-' or '$', not '{text}'"))
            }),
    }
}

/// The `XREAD` ID that reads from `first` on: the ID just before it (`XREAD` is exclusive).
pub(crate) fn read_after(first: StreamId) -> String {
    // No entry has ID 0-0, so reading after 0-0 reads everything.
    first.prev().unwrap_or(StreamId::MIN).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn from_takes_ids_dash_and_dollar() {
        let start = From::Id(StreamId::MIN);
        assert_eq!(from(&query(&[]), start).unwrap(), start);
        assert_eq!(from(&query(&[("from", "-")]), From::End).unwrap(), start);
        assert_eq!(from(&query(&[("from", "$")]), start).unwrap(), From::End);
        assert_eq!(
            from(&query(&[("from", "5")]), start).unwrap(),
            From::Id(StreamId::new(5, 0))
        );
        assert_eq!(
            from(&query(&[("from", "5-3")]), start).unwrap(),
            From::Id(StreamId::new(5, 3))
        );
        for bad in ["x", "+", "5-", "-1", "1-2-3"] {
            assert!(from(&query(&[("from", bad)]), start).is_err(), "{bad}");
        }
    }

    #[test]
    fn reading_from_an_id_reads_after_the_one_before() {
        assert_eq!(read_after(StreamId::new(5, 3)), "5-2");
        assert_eq!(read_after(StreamId::new(5, 0)), format!("4-{}", u64::MAX));
        assert_eq!(read_after(StreamId::MIN), "0-0");
    }

    #[test]
    fn numbers_outside_their_range_are_refused() {
        assert_eq!(limit(&query(&[]), "limit").unwrap(), 100);
        assert_eq!(limit(&query(&[("limit", "10000")]), "limit").unwrap(), 10_000);
        for bad in ["0", "10001", "-1", "ten", ""] {
            assert!(limit(&query(&[("limit", bad)]), "limit").is_err(), "{bad}");
        }
        assert_eq!(wait(&query(&[("wait", "300000")])).unwrap(), 300_000);
        assert!(wait(&query(&[("wait", "300001")])).is_err());
        assert!(wait(&query(&[("wait", &u64::MAX.to_string())])).is_err());
    }
}
