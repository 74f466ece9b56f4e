//! The result of a run: printed for people, as one JSON line, and as one CSV row.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

/// Everything a run measured, with the settings that produced it.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Subscriber connections.
    pub subscribers: usize,
    /// Publisher connections.
    pub publishers: u32,
    /// Channels.
    pub channels: u32,
    /// Payload bytes.
    pub payload: u32,
    /// Requested rate (0: flat out).
    pub rate: u64,
    /// PUBLISH commands in flight per publisher.
    pub pipeline: u32,
    /// Messages published.
    pub published: u64,
    /// Seconds from the first PUBLISH to the last reply.
    pub publish_secs: f64,
    /// Deliveries expected: each message times the subscribers of its channel.
    pub expected: u64,
    /// Deliveries received.
    pub received: u64,
    /// Seconds from the first PUBLISH to the last delivery.
    pub delivery_secs: f64,
    /// Deliveries that came after a later message from the same publisher.
    pub out_of_order: u64,
    /// Latencies in ns of the deliveries after the warmup.
    pub latency: Histogram<u64>,
}

impl Summary {
    /// Messages published per second.
    pub fn publish_rate(&self) -> f64 {
        per_sec(self.published, self.publish_secs)
    }

    /// Deliveries per second over all subscribers.
    pub fn delivery_rate(&self) -> f64 {
        per_sec(self.received, self.delivery_secs)
    }

    /// Deliveries expected but not received.
    pub fn missing(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }

    fn micros(&self, quantile: f64) -> f64 {
        if self.latency.is_empty() {
            return 0.0;
        }
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// `(name, value)` of every figure, in the order of the JSON and CSV outputs.
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            ("subscribers", self.subscribers.to_string()),
            ("publishers", self.publishers.to_string()),
            ("channels", self.channels.to_string()),
            ("payload", self.payload.to_string()),
            ("rate", self.rate.to_string()),
            ("pipeline", self.pipeline.to_string()),
            ("published", self.published.to_string()),
            ("publish_secs", format!("{:.3}", self.publish_secs)),
            ("publish_rate", format!("{:.0}", self.publish_rate())),
            ("expected", self.expected.to_string()),
            ("received", self.received.to_string()),
            ("delivery_secs", format!("{:.3}", self.delivery_secs)),
            ("delivery_rate", format!("{:.0}", self.delivery_rate())),
            ("missing", self.missing().to_string()),
            ("out_of_order", self.out_of_order.to_string()),
            ("latency_samples", self.latency.len().to_string()),
            ("p50_us", format!("{:.1}", self.micros(0.5))),
            ("p99_us", format!("{:.1}", self.micros(0.99))),
            ("p999_us", format!("{:.1}", self.micros(0.999))),
            ("max_us", format!("{:.1}", self.latency.max() as f64 / 1000.0)),
        ]
    }

    /// The result for people, several lines.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "published  {} messages in {:.2} s: {:.0} msg/s",
            self.published,
            self.publish_secs,
            self.publish_rate()
        );
        let _ = writeln!(
            s,
            "delivered  {} of {} expected in {:.2} s: {:.0} msg/s",
            self.received,
            self.expected,
            self.delivery_secs,
            self.delivery_rate()
        );
        let _ = writeln!(
            s,
            "latency    p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs  ({} samples after the warmup)",
            self.micros(0.5),
            self.micros(0.99),
            self.micros(0.999),
            self.latency.max() as f64 / 1000.0,
            self.latency.len()
        );
        let _ = writeln!(
            s,
            "order      {} out of order, {} missing",
            self.out_of_order,
            self.missing()
        );
        s
    }

    /// The result as one JSON object on one line; numbers as numbers.
    pub fn json(&self) -> String {
        let body: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(name, value)| {
                if name == "host" {
                    format!("\"{name}\":\"{}\"", escape_json(&value))
                } else {
                    format!("\"{name}\":{value}")
                }
            })
            .collect();
        format!("{{{}}}", body.join(","))
    }

    /// Appends the result to the CSV file at `path`, with a header line if the file is empty.
    pub fn append_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let fields = self.fields();
        let mut lines = String::new();
        if file.metadata()?.len() == 0 {
            let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
            lines.push_str(&names.join(","));
            lines.push('\n');
        }
        let values: Vec<String> = fields.iter().map(|(_, value)| escape_csv(value)).collect();
        lines.push_str(&values.join(","));
        lines.push('\n');
        file.write_all(lines.as_bytes())
    }
}

fn per_sec(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn escape_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn escape_csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{escape_csv, escape_json};

    #[test]
    fn escapes() {
        assert_eq!(escape_json("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
        assert_eq!(escape_csv("a,b"), "\"a,b\"");
        assert_eq!(escape_csv("plain"), "plain");
    }
}
