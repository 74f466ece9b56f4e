//! The output-buffer limit for subscribers, as Redis's `client-output-buffer-limit pubsub`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// How much output may wait for a client that does not read, before it is disconnected.
///
/// Redis's `client-output-buffer-limit pubsub 32mb 8mb 60` means: disconnect at once past
/// 32 MiB pending, or after staying past 8 MiB for 60 seconds. A zero disables that limit.
///
/// ```
/// use std::time::Duration;
/// use nanostream_net::server::OutputLimit;
///
/// let limit: OutputLimit = "32mb 8mb 60".parse()?;
/// assert_eq!(limit, OutputLimit::default());
/// assert_eq!(limit.hard, 32 * 1024 * 1024);
/// assert_eq!(limit.soft_for, Duration::from_secs(60));
/// assert!("32mb 8mb".parse::<OutputLimit>().is_err());
/// # Ok::<(), nanostream_net::server::OutputLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Pending bytes past which a client is disconnected at once (0: no hard limit).
    pub hard: usize,
    /// Pending bytes a client may stay above for at most [`soft_for`](Self::soft_for)
    /// (0: no soft limit).
    pub soft: usize,
    /// How long a client may stay above the soft limit.
    pub soft_for: Duration,
}

impl Default for OutputLimit {
    fn default() -> Self {
        OutputLimit {
            hard: 32 * 1024 * 1024,
            soft: 8 * 1024 * 1024,
            soft_for: Duration::from_secs(60),
        }
    }
}

impl OutputLimit {
    /// No limit at all: a client that never reads keeps its output in memory for ever.
    pub const UNLIMITED: OutputLimit = OutputLimit {
        hard: 0,
        soft: 0,
        soft_for: Duration::ZERO,
    };
}

/// Why an output limit or a size did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OutputLimitError {
    /// Not three fields.
    #[error("expected three fields, `<hard> <soft> <soft seconds>` as in `32mb 8mb 60`, got {0:?}")]
    Fields(String),
    /// A size that is not a number with an optional unit (k, kb, m, mb, g, gb).
    #[error("invalid size {0:?}: expected bytes, optionally with a unit as in 512mb or 64k")]
    Size(String),
    /// Seconds that are not a whole number.
    #[error("invalid seconds {0:?}")]
    Seconds(String),
}

/// Parses a size as Redis's configuration does: bytes, or a number with `k` (1000), `kb`
/// (1024), `m`, `mb`, `g` or `gb`, any case.
///
/// ```
/// use nanostream_net::server::parse_size;
///
/// assert_eq!(parse_size("1mb"), Ok(1024 * 1024));
/// assert_eq!(parse_size("2k"), Ok(2000));
/// assert_eq!(parse_size("1024"), Ok(1024));
/// assert!(parse_size("-1").is_err());
/// assert!(parse_size("99999999999gb").is_err()); // overflows
/// ```
pub fn parse_size(text: &str) -> Result<usize, OutputLimitError> {
    let bad = || OutputLimitError::Size(text.to_string());
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &lower[digits.len()..];
    let multiplier: usize = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: usize = digits.parse().map_err(|_| bad())?;
    n.checked_mul(multiplier).ok_or_else(bad)
}

impl FromStr for OutputLimit {
    type Err = OutputLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        let [hard, soft, seconds] = fields[..] else {
            return Err(OutputLimitError::Fields(s.to_string()));
        };
        let seconds: u64 = seconds
            .parse()
            .map_err(|_| OutputLimitError::Seconds(seconds.to_string()))?;
        Ok(OutputLimit {
            hard: parse_size(hard)?,
            soft: parse_size(soft)?,
            soft_for: Duration::from_secs(seconds),
        })
    }
}

impl fmt::Display for OutputLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.hard, self.soft, self.soft_for.as_secs())
    }
}
