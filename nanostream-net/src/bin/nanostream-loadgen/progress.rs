//! The progress line printed to stderr once a second while a run goes on.

use std::time::Instant;

/// Counts seen at the previous line, to print rates over the last second.
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    last: Instant,
    published: u64,
    received: u64,
}

impl Progress {
    /// Progress of a run that started at `start`.
    pub fn new(start: Instant) -> Progress {
        Progress {
            start,
            last: start,
            published: 0,
            received: 0,
        }
    }

    /// One line with the totals so far and the rates since the previous line.
    pub fn line(&mut self, published: u64, received: u64) -> String {
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64().max(1e-9);
        let line = format!(
            "[{:6.1} s] published {published} ({:.0}/s), delivered {received} ({:.0}/s)",
            now.duration_since(self.start).as_secs_f64(),
            published.saturating_sub(self.published) as f64 / secs,
            received.saturating_sub(self.received) as f64 / secs,
        );
        self.last = now;
        self.published = published;
        self.received = received;
        line
    }
}
