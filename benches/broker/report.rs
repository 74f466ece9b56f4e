//! The figures of a run: each row's rounds for both sides (redis-server and the broker, or RESP
//! and HTTP on one broker), medians, the ratio second ÷ first against its target, a markdown
//! table on stdout and a CSV file.

use std::fmt::Write as _;

/// A bound on `broker ÷ redis-server` for one row.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The ratio must be at least this.
    AtLeast(f64),
    /// The ratio must be at most this.
    AtMost(f64),
}

impl Target {
    fn text(self) -> String {
        match self {
            Target::AtLeast(x) => format!("≥ {x:.1}×"),
            Target::AtMost(x) => format!("≤ {x:.1}×"),
        }
    }

    fn met(self, ratio: f64) -> bool {
        match self {
            Target::AtLeast(x) => ratio >= x,
            Target::AtMost(x) => ratio <= x,
        }
    }
}

/// What one row measures.
#[derive(Clone, Debug)]
pub struct Metric {
    /// The scenario and figure, e.g. `fan-out 10 subscribers, delivery`.
    pub name: String,
    /// `req/s`, `msg/s`, `entries/s`, `µs`, `ms` or `KiB/conn`.
    pub unit: &'static str,
    /// The bound on the ratio, if the row has one.
    pub target: Option<Target>,
}

/// One row: a metric and every round's value for each side (index 0: the reference, e.g.
/// redis-server; 1: the one measured against it, e.g. the broker).
#[derive(Debug)]
struct Row {
    metric: Metric,
    values: [Vec<f64>; 2],
}

/// Every row of a run, in the order first recorded, and the failures met on the way.
#[derive(Debug)]
pub struct Results {
    columns: Columns,
    rows: Vec<Row>,
    failures: Vec<String>,
}

/// The names of the two sides of a table.
#[derive(Clone, Copy, Debug)]
pub struct Columns {
    /// The markdown headers of the two sides' columns.
    pub names: [&'static str; 2],
    /// The markdown header of the ratio column.
    pub ratio: &'static str,
    /// The prefixes of the CSV columns (`{prefix}_median`, `{prefix}_rounds`).
    pub csv: [&'static str; 2],
}

/// The column names of the two servers.
pub const SERVERS: [&str; 2] = ["redis-server", "broker"];

/// redis-server against the broker.
pub const SERVER_COLUMNS: Columns = Columns {
    names: SERVERS,
    ratio: "broker ÷ redis",
    csv: ["redis", "broker"],
};

impl Default for Results {
    fn default() -> Results {
        Results::new(SERVER_COLUMNS)
    }
}

impl Results {
    /// An empty table with these columns.
    pub fn new(columns: Columns) -> Results {
        Results {
            columns,
            rows: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.failures.is_empty()
    }

    /// Records `values` (one per metric) from side `server` (0 or 1) for `metrics`.
    pub fn record(&mut self, metrics: &[Metric], server: usize, values: &[f64]) {
        for (metric, value) in metrics.iter().zip(values) {
            self.row(metric).values[server].push(*value);
        }
    }

    /// Records that a run of `metrics` on `server` failed with `error`.
    pub fn fail(&mut self, metrics: &[Metric], server: usize, error: String) {
        for metric in metrics {
            self.row(metric);
        }
        let first = metrics.first().map_or("", |m| m.name.as_str());
        self.failures
            .push(format!("{} ({first} …): {error}", self.columns.names[server]));
    }

    fn row(&mut self, metric: &Metric) -> &mut Row {
        let at = match self.rows.iter().position(|r| r.metric.name == metric.name) {
            Some(at) => at,
            None => {
                self.rows.push(Row {
                    metric: metric.clone(),
                    values: [Vec::new(), Vec::new()],
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[at]
    }

    /// The table in markdown: median [min–max] per side, the ratio of medians, the target.
    pub fn markdown(&self) -> String {
        let [a, b] = self.columns.names;
        let mut out = format!(
            "| scenario | unit | {a} | {b} | {} | target |\n|---|---|---:|---:|---:|---|\n",
            self.columns.ratio
        );
        for row in &self.rows {
            let ratio = ratio(row);
            let target = match (row.metric.target, ratio) {
                (Some(t), Some(r)) => format!("{} {}", t.text(), if t.met(r) { "met" } else { "MISSED" }),
                (Some(t), None) => format!("{} (no figure)", t.text()),
                (None, _) => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.metric.name,
                row.metric.unit,
                cell(&row.values[0]),
                cell(&row.values[1]),
                ratio.map_or("—".into(), |r| format!("{r:.2}×")),
                target
            );
        }
        for failure in &self.failures {
            let _ = writeln!(out, "\nfailed: {failure}");
        }
        out
    }

    /// The rows as CSV: medians, ratio, target and whether it was met, then every round.
    pub fn csv(&self) -> String {
        let [a, b] = self.columns.csv;
        let mut out = format!("scenario,unit,{a}_median,{b}_median,ratio,target,met,{a}_rounds,{b}_rounds\n");
        for row in &self.rows {
            let ratio = ratio(row);
            let rounds = |v: &[f64]| v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" ");
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                quoted(&row.metric.name),
                row.metric.unit,
                median(&row.values[0]).map_or(String::new(), |m| format!("{m:.3}")),
                median(&row.values[1]).map_or(String::new(), |m| format!("{m:.3}")),
                ratio.map_or(String::new(), |r| format!("{r:.3}")),
                row.metric.target.map_or(String::new(), Target::text),
                match (row.metric.target, ratio) {
                    (Some(t), Some(r)) => t.met(r).to_string(),
                    _ => String::new(),
                },
                rounds(&row.values[0]),
                rounds(&row.values[1]),
            );
        }
        out
    }
}

/// A CSV field: quoted, with quotes doubled, if it holds a comma or a quote.
fn quoted(field: &str) -> String {
    if field.contains([',', '"']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn ratio(row: &Row) -> Option<f64> {
    let (reference, measured) = (median(&row.values[0])?, median(&row.values[1])?);
    (reference > 0.0).then(|| measured / reference)
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn cell(values: &[f64]) -> String {
    let Some(m) = median(values) else {
        return "failed".into();
    };
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.len() == 1 {
        figure(m)
    } else {
        format!("{} [{}–{}]", figure(m), figure(min), figure(max))
    }
}

/// Whole numbers from 100 up, one or two decimals below.
fn figure(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}
