//! [`StreamingBackoff`]: a consumer that keeps finding a stream of events waiting polls less
//! often, so that it stops taking the producer's cache lines away from it one event at a time.

use std::time::{Duration, Instant};

use crate::sync;

/// How a consumer paces its polls while a producer streams events faster than it polls.
///
/// A consumer that has caught up polls its barrier again at once. That keeps latency low, but
/// against a producer that publishes without a pause it costs throughput: every poll reads the
/// cursor the producer writes next and the cache line of slots it is filling, and both lines
/// must travel back to the producer's core before its next publish completes. The two threads
/// then run in lock step, a few events per poll, and the producer runs at a fraction of its
/// speed.
///
/// With a streaming back-off, a consumer whose polls keep finding events waiting (`after` polls
/// in a row of at least `min_batch` events) starts to *pace* its polls: at most one per
/// `interval`. The producer fills whole lines undisturbed and the consumer takes them in
/// batches tens of times larger. Pacing lasts only while it pays:
///
/// - it never holds back an event the consumer has seen: it only delays the *next* poll;
/// - while it waits, the consumer looks at the producer's position every 250 ns, and stops
///   waiting when the producer has not moved (the stream has paused);
/// - it ends when a poll finds fewer than `min_batch` events, or when the events arrive no
///   faster than they did while the consumer chased the producer (a feed with a rate of its
///   own gains nothing from pacing; only a producer that the chasing held back speeds up).
///
/// What it costs: while pacing, an event published just after a poll waits up to `interval`
/// before its consumer sees it (about 250 ns at the tail of a burst; in the peers benchmark,
/// 110–120 ns more at p50 for bursts of 64). A round trip (one event, then a reply) never starts
/// pacing, nor does a feed that leaves fewer than `min_batch` events between two polls.
///
/// It is **off by default**: a consumer polls again at once, which adds no latency anywhere. Turn
/// it on for a consumer that must keep up with a producer streaming flat out, with
/// [`StreamingBackoff::enabled`] (the thresholds and interval below) or
/// [`StreamingBackoff::new`] (an interval of your own). In the peers benchmark it took single
/// publishes from 0.9–1.2× to 1.5–1.9× the `disruptor` crate's (`benches/README.md`).
///
/// The thresholds (8 polls of 8 events), the 1 µs interval, the 250 ns look and the 10% gain
/// that keeps pacing on were tuned on 2-core AMD EPYC (Zen 3 and Zen 4) KVM machines: measure
/// your own pipeline before relying on them.
///
/// Set per consumer with [`Builder::streaming_backoff`](crate::Builder::streaming_backoff).
///
/// ```
/// use std::time::Duration;
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer, StreamingBackoff};
///
/// // By default a consumer does not pace its polls.
/// assert!(!StreamingBackoff::default().is_enabled());
/// // Enabled: pace after 8 polls in a row of 8 or more events, at most one poll a µs.
/// assert_eq!(StreamingBackoff::enabled().interval(), Duration::from_micros(1));
///
/// let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
///     // a consumer that polls again at once, however fast events come (the default)
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     // a throughput-bound consumer: paces its polls while events stream in
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     .streaming_backoff(StreamingBackoff::enabled())
///     // one with longer pauses, once 32 events wait at each poll
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     .streaming_backoff(StreamingBackoff::new(Duration::from_micros(5)).min_batch(32))
///     .build()
///     .unwrap();
/// producer.publish(|e, _| *e = 7).unwrap();
/// producer.shutdown().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingBackoff {
    min_batch: i64,
    after: u32,
    interval: Duration,
}

impl StreamingBackoff {
    /// The longest interval the [`Builder`](crate::Builder) accepts: an hour. Pacing spaces a
    /// consumer's polls by microseconds, and a paced wait also ends as soon as the stream pauses,
    /// so even an hour only means "poll when the producer stops"; a longer one (`Duration::MAX`,
    /// seconds given as minutes) is taken for a mistake.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

    /// A back-off that polls at most once per `interval` while pacing, with the default
    /// thresholds (pacing starts after 8 polls in a row of 8 or more events).
    pub const fn new(interval: Duration) -> Self {
        Self {
            min_batch: 8,
            after: 8,
            interval,
        }
    }

    /// Pacing with the thresholds and interval it was tuned with: at most one poll a
    /// microsecond, after 8 polls in a row of 8 or more events.
    pub const fn enabled() -> Self {
        Self::new(Duration::from_micros(1))
    }

    /// No back-off: the consumer polls again as soon as it has handled a batch (the default).
    pub const fn disabled() -> Self {
        Self {
            min_batch: i64::MAX,
            after: u32::MAX,
            interval: Duration::ZERO,
        }
    }

    /// How many events a poll must find to count towards a stream (at least 1).
    pub const fn min_batch(mut self, events: usize) -> Self {
        self.min_batch = if events == 0 {
            1
        } else if events > i64::MAX as usize {
            i64::MAX
        } else {
            events as i64
        };
        self
    }

    /// How many polls in a row must find `min_batch` events before the back-off starts (at
    /// least 2: the arrival rate that pacing must beat is measured between them).
    pub const fn after_polls(mut self, polls: u32) -> Self {
        self.after = polls;
        self
    }

    /// The longest a pacing consumer waits between two polls.
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether this back-off can ever start.
    pub const fn is_enabled(&self) -> bool {
        self.min_batch != i64::MAX && !self.interval.is_zero()
    }
}

impl Default for StreamingBackoff {
    /// [`disabled`](Self::disabled): no pacing, no added latency.
    fn default() -> Self {
        Self::disabled()
    }
}

/// A consumer's pacing state.
#[derive(Debug)]
pub(crate) struct Pacer {
    config: StreamingBackoff,
    state: State,
    /// The producer's position at the last poll.
    seen: i64,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Polling at once. `run` polls in a row have found at least `min_batch` events; the
    /// first of them at `since`, and `events` were found by the ones after it.
    Chasing { run: u32, since: Instant, events: i64 },
    /// Pacing polls: the last one was at `last`, and while chasing, `chase_events` arrived in
    /// `chase_nanos`. Pacing lasts while it raises that rate.
    Pacing {
        last: Instant,
        chase_events: i64,
        chase_nanos: u128,
    },
}

/// Pacing must raise the arrival rate by this factor (11/10: 10%) to go on. A producer that a
/// chasing consumer slows down speeds up when paced; a feed with a rate of its own does not,
/// and then pacing would only add latency.
const GAIN: (u128, u128) = (11, 10);

/// How often a pacing consumer looks at the producer's position while it waits. If the producer
/// has published nothing since the last look, the stream has paused and the wait ends: the tail
/// of a burst waits about this long, not a whole interval. A look reads the cursor line, which
/// the producer must then take back, so it is a few times rarer than a chasing consumer's polls.
const LOOK_EVERY: Duration = Duration::from_nanos(250);

impl Pacer {
    pub(crate) fn new(config: StreamingBackoff) -> Self {
        Self {
            config,
            state: State::Chasing {
                run: 0,
                since: Instant::now(),
                events: 0,
            },
            seen: i64::MIN,
        }
    }

    /// Whether the consumer is pacing its polls.
    #[cfg(test)]
    pub(crate) fn is_streaming(&self) -> bool {
        matches!(self.state, State::Pacing { .. })
    }

    /// Before a poll: while pacing, waits until `interval` has passed since the last poll, or
    /// until `stop` returns true (the pipeline is shutting down). Otherwise returns at once.
    ///
    /// While it waits it looks at the producer's position (`look`) every [`LOOK_EVERY`]: if the
    /// producer has not moved since the last look (or the poll), the stream has paused, and
    /// waiting on would only delay the events already there.
    #[inline]
    pub(crate) fn before_poll(&self, mut look: impl FnMut() -> i64, stop: impl Fn() -> bool) {
        if let State::Pacing { last, .. } = self.state {
            // An interval too long to add to the clock has no deadline: the wait then ends when
            // the stream pauses or the pipeline stops, like every other wait here.
            let deadline = last.checked_add(self.config.interval);
            let mut seen = self.seen;
            let start = Instant::now();
            let mut next_look = start.checked_add(LOOK_EVERY).unwrap_or(start);
            loop {
                let now = Instant::now();
                if deadline.is_some_and(|deadline| now >= deadline) || stop() {
                    return;
                }
                if now >= next_look {
                    let position = look();
                    if position == seen {
                        return;
                    }
                    seen = position;
                    next_look = now.checked_add(LOOK_EVERY).unwrap_or(now);
                }
                sync::spin_loop();
            }
        }
    }

    /// After a poll found `found` (at least one) events.
    #[inline]
    pub(crate) fn found(&mut self, found: i64, position: i64) {
        self.seen = position;
        if found < self.config.min_batch {
            // Not a stream, or no longer one: the cheap path of a consumer that keeps up.
            match &mut self.state {
                State::Chasing { run, .. } => *run = 0,
                // `since` is only read once a run has started, which sets it: no clock read.
                State::Pacing { last, .. } => {
                    self.state = State::Chasing {
                        run: 0,
                        since: *last,
                        events: 0,
                    }
                }
            }
            return;
        }
        self.found_at(found, Instant::now());
    }

    /// [`found`](Self::found) with the clock read by the caller (`found >= min_batch`).
    fn found_at(&mut self, found: i64, now: Instant) {
        self.state = match self.state {
            State::Chasing { run: 0, .. } => State::Chasing {
                run: 1,
                since: now,
                events: 0,
            },
            State::Chasing { run, since, events } => {
                let events = events.saturating_add(found);
                // At least two polls, so that there is a rate to compare with.
                if run + 1 >= self.config.after.max(2) {
                    State::Pacing {
                        last: now,
                        chase_events: events,
                        chase_nanos: now.saturating_duration_since(since).as_nanos().max(1),
                    }
                } else {
                    State::Chasing {
                        run: run + 1,
                        since,
                        events,
                    }
                }
            }
            State::Pacing {
                last,
                chase_events,
                chase_nanos,
            } => {
                let nanos = now.saturating_duration_since(last).as_nanos();
                // found / nanos >= GAIN * chase_events / chase_nanos, without dividing.
                let faster = (found as u128).saturating_mul(chase_nanos).saturating_mul(GAIN.1)
                    >= (chase_events as u128)
                        .saturating_mul(nanos)
                        .saturating_mul(GAIN.0);
                if faster {
                    State::Pacing {
                        last: now,
                        chase_events,
                        chase_nanos,
                    }
                } else {
                    State::Chasing {
                        run: 0,
                        since: now,
                        events: 0,
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    /// A pacer that has chased 3 full polls after a first one: 24 events in 300 ns (80/µs).
    fn pacing_at_80_per_us() -> (Pacer, Instant) {
        let mut pacer = Pacer::new(StreamingBackoff::enabled().after_polls(4));
        let t0 = Instant::now();
        for i in 0..4 {
            pacer.found_at(8, t0 + ns(100 * i));
        }
        assert!(pacer.is_streaming());
        (pacer, t0 + ns(300))
    }

    #[test]
    fn pacing_starts_after_enough_full_polls_in_a_row() {
        let mut pacer = Pacer::new(StreamingBackoff::enabled());
        let t0 = Instant::now();
        for i in 0..7 {
            pacer.found_at(8, t0 + ns(i));
            assert!(!pacer.is_streaming());
        }
        pacer.found(7, 0); // one short poll breaks the run
        for i in 0..7 {
            pacer.found_at(8, t0 + ns(10 + i));
        }
        assert!(!pacer.is_streaming(), "the run restarted after the short poll");
        pacer.found_at(8, t0 + ns(20));
        assert!(pacer.is_streaming());
    }

    #[test]
    fn pacing_lasts_while_it_raises_the_arrival_rate() {
        let (mut pacer, t) = pacing_at_80_per_us();
        // 200 events in the next 1 µs: pacing let the producer speed up, so it goes on.
        pacer.found_at(200, t + ns(1000));
        assert!(pacer.is_streaming());
        // 88 in 1 µs is exactly 10% above the chasing rate: still worth it.
        pacer.found_at(88, t + ns(2000));
        assert!(pacer.is_streaming());
        // 85 in 1 µs: a feed with a pace of its own, which pacing only delays.
        pacer.found_at(85, t + ns(3000));
        assert!(!pacer.is_streaming());
    }

    #[test]
    fn a_short_poll_ends_pacing_at_once() {
        let (mut pacer, _) = pacing_at_80_per_us();
        pacer.found(1, 0);
        assert!(!pacer.is_streaming());
    }

    #[test]
    fn a_disabled_backoff_never_starts() {
        let mut pacer = Pacer::new(StreamingBackoff::disabled());
        for _ in 0..100 {
            pacer.found(1 << 40, 0);
        }
        assert!(!pacer.is_streaming());
        assert!(!StreamingBackoff::disabled().is_enabled());
        assert!(!StreamingBackoff::default().is_enabled());
        assert!(StreamingBackoff::enabled().is_enabled());
        assert!(!StreamingBackoff::new(Duration::ZERO).is_enabled());
    }

    /// A pacer pacing with `interval`, its last poll at the returned instant.
    fn pacing_with(interval: Duration) -> (Pacer, Instant) {
        let mut pacer = Pacer::new(StreamingBackoff::new(interval).after_polls(4));
        let t0 = Instant::now();
        for i in 0..4 {
            pacer.found_at(8, t0 + ns(i));
        }
        assert!(pacer.is_streaming());
        (pacer, t0 + ns(3))
    }

    #[test]
    fn a_consumer_that_is_not_pacing_polls_at_once() {
        let pacer = Pacer::new(StreamingBackoff::enabled());
        pacer.before_poll(|| panic!("no look"), || panic!("no wait"));
    }

    /// A producer position that moves at every look.
    fn moving() -> impl FnMut() -> i64 {
        let mut position = 0;
        move || {
            position += 1;
            position
        }
    }

    #[test]
    fn while_the_producer_moves_the_wait_lasts_the_interval() {
        // The producer moves at every look, so only the deadline can end this wait.
        let (pacer, last) = pacing_with(Duration::from_micros(50));
        pacer.before_poll(moving(), || false);
        assert!(
            Instant::now() >= last + Duration::from_micros(50),
            "waited out the interval"
        );
    }

    #[test]
    fn the_wait_ends_when_the_producer_stops_moving() {
        // An hour-long interval: only the look can end this wait (a hang fails the test run).
        let (pacer, _) = pacing_with(Duration::from_secs(3600));
        let mut looks = 0;
        pacer.before_poll(
            || {
                looks += 1;
                42
            },
            || false,
        );
        assert_eq!(
            looks, 2,
            "one look to see where it is, one to see it has not moved"
        );
    }

    #[test]
    fn an_interval_too_long_for_the_clock_waits_like_an_endless_one() {
        // `last + Duration::MAX` overflows the clock: the wait has no deadline, and ends as any
        // other does, when the producer stops moving or the pipeline stops.
        let (pacer, _) = pacing_with(Duration::MAX);
        pacer.before_poll(|| 42, || false);
        let (pacer, _) = pacing_with(Duration::MAX);
        pacer.before_poll(moving(), || true);
        let mut pacer = pacing_with(Duration::MAX).0;
        pacer.found_at(i64::MAX, Instant::now());
        pacer.found_at(i64::MAX, Instant::now());
    }

    #[test]
    fn the_wait_ends_when_the_pipeline_stops() {
        let (pacer, _) = pacing_with(Duration::from_secs(3600));
        pacer.before_poll(moving(), || true);
    }

    #[test]
    fn thresholds_are_clamped() {
        assert_eq!(StreamingBackoff::enabled().min_batch(0).min_batch, 1);
        assert_eq!(
            StreamingBackoff::enabled().min_batch(usize::MAX).min_batch,
            i64::MAX
        );
        // after_polls(0) and (1) still need two polls: the rate to beat is measured between them.
        let mut pacer = Pacer::new(StreamingBackoff::enabled().after_polls(0).min_batch(1));
        let t0 = Instant::now();
        pacer.found_at(1, t0);
        assert!(!pacer.is_streaming());
        pacer.found_at(1, t0 + ns(10));
        assert!(pacer.is_streaming());
    }
}
