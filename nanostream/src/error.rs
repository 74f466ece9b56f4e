//! Error types, one per operation.

use std::fmt;
use std::time::Duration;

/// Why a pipeline could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The ring size is zero, not a power of two, or above 2^62.
    InvalidRingSize {
        /// The size that was asked for.
        size: usize,
    },
    /// A [`DependentSequences`](crate::DependentSequences) was made of no sequence.
    NoDependencies,
    /// The memory for a ring of this many events could not be allocated.
    RingTooLarge {
        /// The size that was asked for.
        size: usize,
        /// The bytes its events would take.
        bytes: u128,
    },
    /// A handler asked to be pinned to a core this process may not run on.
    InvalidCore {
        /// The core asked for.
        core: usize,
        /// The name of the handler's thread.
        thread: String,
        /// The cores this process may run on.
        available: Vec<usize>,
    },
    /// A mutable handler shares its stage with another consumer, which could read the event
    /// while the mutable handler writes it. The builder gives every mutable handler a stage of
    /// its own, so a graph declared with its methods does not fail this way; `build` checks it
    /// all the same, because a mutable handler's write access to the event relies on it.
    MutableHandlerNotAlone {
        /// The name of the mutable handler's thread.
        thread: String,
        /// How many consumers its stage has.
        stage_size: usize,
    },
    /// A consumer thread could not be started.
    Spawn {
        /// The name of the thread.
        thread: String,
        /// What the operating system said.
        reason: String,
    },
    /// `max_batch_size(0)`: a processor must be allowed at least one event a batch.
    InvalidBatchSize,
    /// A streaming back-off interval above
    /// [`StreamingBackoff::MAX_INTERVAL`](crate::StreamingBackoff::MAX_INTERVAL).
    InvalidStreamingInterval {
        /// The interval that was asked for.
        interval: Duration,
        /// The longest interval accepted.
        max: Duration,
    },
    /// A handler option (core, batch size, panic policy, streaming back-off) was set for an
    /// event poller, which runs on the caller's thread.
    OptionNotForPoller {
        /// The option, e.g. `pin_at_core`.
        option: &'static str,
        /// The poller's name.
        poller: String,
    },
    /// A setting (`thread_name`, `pin_at_core`, ...) was called before any consumer was added.
    /// Settings apply to the consumer added last: `.handle_events_with(h).thread_name("h")`.
    OptionWithoutConsumer {
        /// The setting, e.g. `thread_name`.
        option: &'static str,
    },
    /// `depends_on` was called for a stage to which no consumer was then added, so the
    /// dependency would gate nothing.
    DependencyWithoutConsumer {
        /// The stage, counting from 1.
        stage: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidRingSize { size } => write!(
                f,
                "ring size {size} is not a power of two greater than zero (try {})",
                suggest_size(*size)
            ),
            BuildError::NoDependencies => write!(f, "a consumer must depend on at least one sequence"),
            BuildError::RingTooLarge { size, bytes } => {
                write!(
                    f,
                    "a ring of {size} events ({bytes} bytes) could not be allocated"
                )
            }
            BuildError::InvalidCore {
                core,
                thread,
                available,
            } => write!(
                f,
                "cannot pin thread '{thread}' to core {core}: this process may run on cores {available:?}"
            ),
            BuildError::MutableHandlerNotAlone { thread, stage_size } => write!(
                f,
                "mutable handler '{thread}' shares its stage with {} other consumer(s); a mutable \
                 handler must be alone in its stage so no one reads an event while it is written",
                stage_size - 1
            ),
            BuildError::Spawn { thread, reason } => write!(f, "cannot start thread '{thread}': {reason}"),
            BuildError::InvalidBatchSize => write!(f, "max_batch_size must be at least 1"),
            BuildError::InvalidStreamingInterval { interval, max } => write!(
                f,
                "a streaming back-off interval of {interval:?} is above the maximum of {max:?}"
            ),
            BuildError::OptionNotForPoller { option, poller } => write!(
                f,
                "{option} was set for event poller '{poller}', but a poller runs on your own thread: \
                 set it on that thread, or on a handler instead"
            ),
            BuildError::OptionWithoutConsumer { option } => write!(
                f,
                "{option} was called before any consumer was added: a setting applies to the \
                 consumer added last, so call it after that consumer, e.g. \
                 .handle_events_with(h).{option}(..)"
            ),
            BuildError::DependencyWithoutConsumer { stage } => write!(
                f,
                "depends_on was called for stage {stage}, but no consumer was added to that \
                 stage: add the consumers that must wait for the sequence after it"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

fn suggest_size(size: usize) -> usize {
    size.max(1).checked_next_power_of_two().unwrap_or(1 << 62)
}

/// Why a claim of ring slots failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimError {
    /// More slots were asked for than the ring has (or zero).
    InvalidClaim {
        /// The number of slots asked for.
        requested: i64,
        /// The size of the ring.
        capacity: i64,
    },
    /// The ring has not enough free slots right now (only from the `try_` forms).
    Full,
    /// The pipeline has halted (a handler failed, or `halt` was called): no consumer will free a
    /// slot again.
    Halted,
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimError::InvalidClaim { requested, capacity } => write!(
                f,
                "cannot claim {requested} slots of a ring of {capacity}: a claim must be between 1 and the ring size"
            ),
            ClaimError::Full => write!(f, "the ring buffer is full"),
            ClaimError::Halted => write!(f, "the pipeline has halted and accepts no more events"),
        }
    }
}

impl std::error::Error for ClaimError {}

/// Why a blocking publish failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// A batch larger than the ring (or of zero events) was asked for.
    InvalidBatch {
        /// The number of events asked for.
        requested: i64,
        /// The size of the ring.
        capacity: i64,
    },
    /// The pipeline has halted (a handler failed, or `halt` was called); the event was not
    /// published.
    Halted,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::InvalidBatch { requested, capacity } => write!(
                f,
                "cannot publish a batch of {requested} events to a ring of {capacity}: a batch must be between 1 and the ring size"
            ),
            PublishError::Halted => write!(f, "the pipeline has halted; the event was not published"),
        }
    }
}

impl std::error::Error for PublishError {}

/// Why a non-blocking publish failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryPublishError {
    /// The ring has not enough free slots right now; nothing was published.
    Full,
    /// A batch larger than the ring (or of zero events) was asked for.
    InvalidBatch {
        /// The number of events asked for.
        requested: i64,
        /// The size of the ring.
        capacity: i64,
    },
    /// The pipeline has halted; nothing was published.
    Halted,
}

impl fmt::Display for TryPublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPublishError::Full => write!(f, "the ring buffer is full; nothing was published"),
            TryPublishError::InvalidBatch { requested, capacity } => write!(
                f,
                "cannot publish a batch of {requested} events to a ring of {capacity}: a batch must be between 1 and the ring size"
            ),
            TryPublishError::Halted => write!(f, "the pipeline has halted; nothing was published"),
        }
    }
}

impl std::error::Error for TryPublishError {}

impl From<ClaimError> for PublishError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::InvalidClaim { requested, capacity } => {
                PublishError::InvalidBatch { requested, capacity }
            }
            // A blocking claim never reports Full; treat it as halted defensively.
            ClaimError::Full | ClaimError::Halted => PublishError::Halted,
        }
    }
}

impl From<ClaimError> for TryPublishError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::InvalidClaim { requested, capacity } => {
                TryPublishError::InvalidBatch { requested, capacity }
            }
            ClaimError::Full => TryPublishError::Full,
            ClaimError::Halted => TryPublishError::Halted,
        }
    }
}

/// Why a pipeline did not shut down cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Handlers panicked (or reported a fatal error by panicking). The pipeline halted at the
    /// first failure; each entry names the handler's thread and the panic message.
    HandlerFailed {
        /// `(thread name, message)` for each failed handler.
        failures: Vec<(String, String)>,
    },
    /// The deadline passed before every published event was processed, or before every consumer
    /// thread ended. The pipeline was halted; threads still inside a handler finish on their own
    /// when it returns and are not joined.
    Timeout {
        /// The deadline that was given.
        timeout: Duration,
        /// The consumers that had not caught up, with how many events each had left (0 for one
        /// whose thread had not ended).
        lagging: Vec<(String, i64)>,
    },
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::HandlerFailed { failures } => {
                write!(f, "handler failure: ")?;
                for (i, (name, message)) in failures.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "'{name}' panicked: {message}")?;
                }
                Ok(())
            }
            ShutdownError::Timeout { timeout, lagging } => {
                write!(
                    f,
                    "shutdown did not finish within {timeout:?}; lagging consumers:"
                )?;
                for (name, lag) in lagging {
                    write!(f, " '{name}' ({lag} events behind)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ShutdownError {}
