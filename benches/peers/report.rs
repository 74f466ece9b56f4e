//! The figures of a run: medians with min–max over rounds, ratios against NanoStream, the
//! targets, a markdown table on stdout and `target/peers.csv`.

use std::fmt::Write as _;

use crate::scenarios::Figures;

/// Every round's value of one metric of one implementation in one scenario.
struct Row {
    scenario: &'static str,
    implementation: String,
    metric: &'static str,
    unit: &'static str,
    values: Vec<f64>,
}

impl Row {
    fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
    fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// A target: `NanoStream ÷ peer` on `metric` of `scenario` must be `>=` (or `<=`) `bound`.
pub struct Target {
    /// What the issue says.
    pub text: &'static str,
    /// The scenario's name.
    pub scenario: &'static str,
    /// The metric compared.
    pub metric: &'static str,
    /// A unique part of the NanoStream row's name; `None`: the first row (the default
    /// configuration).
    pub nano: Option<&'static str>,
    /// A unique part of the peer's implementation name.
    pub peer: &'static str,
    /// `true`: the ratio must be at least `bound`; `false`: at most.
    pub at_least: bool,
    /// The bound on the ratio.
    pub bound: f64,
}

/// All figures of a run, in the order they were first recorded.
#[derive(Default)]
pub struct Results {
    rows: Vec<Row>,
    /// Notes printed under a scenario's table.
    notes: Vec<(&'static str, String)>,
}

impl Results {
    /// Adds one trial's figures.
    pub fn record(&mut self, scenario: &'static str, implementation: &str, figures: Figures) {
        for (metric, unit, value) in figures {
            match self
                .rows
                .iter_mut()
                .find(|r| r.scenario == scenario && r.implementation == implementation && r.metric == metric)
            {
                Some(row) => row.values.push(value),
                None => self.rows.push(Row {
                    scenario,
                    implementation: implementation.to_owned(),
                    metric,
                    unit,
                    values: vec![value],
                }),
            }
        }
    }

    /// Adds a note printed under `scenario`'s table.
    pub fn note(&mut self, scenario: &'static str, text: impl Into<String>) {
        self.notes.push((scenario, text.into()));
    }

    fn scenarios(&self) -> Vec<&'static str> {
        let mut s: Vec<&'static str> = Vec::new();
        for r in &self.rows {
            if !s.contains(&r.scenario) {
                s.push(r.scenario);
            }
        }
        s
    }

    fn find(&self, scenario: &str, implementation: &str, metric: &str) -> Option<&Row> {
        self.rows.iter().find(|r| {
            r.scenario == scenario && r.implementation.contains(implementation) && r.metric == metric
        })
    }

    /// NanoStream's row of `metric` in `scenario`: the first implementation recorded.
    fn nano(&self, scenario: &str, metric: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.scenario == scenario && r.metric == metric)
    }

    fn ratio(&self, row: &Row) -> Option<f64> {
        let nano = self.nano(row.scenario, row.metric)?;
        (nano.implementation != row.implementation).then(|| nano.median() / row.median())
    }

    /// The markdown tables, one per scenario.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for scenario in self.scenarios() {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.scenario == scenario).collect();
            let mut metrics: Vec<(&str, &str)> = Vec::new();
            let mut implementations: Vec<&str> = Vec::new();
            for r in &rows {
                if !metrics.iter().any(|(m, _)| *m == r.metric) {
                    metrics.push((r.metric, r.unit));
                }
                if !implementations.contains(&r.implementation.as_str()) {
                    implementations.push(&r.implementation);
                }
            }
            let rounds = rows.first().map_or(0, |r| r.values.len());
            let _ = writeln!(out, "\n### {scenario}\n\nmedian [min–max] of {rounds} rounds\n");
            let _ = writeln!(out, "{}\n", direction(&metrics));
            let mut header = "| implementation |".to_owned();
            let mut rule = "|---|".to_owned();
            for (metric, unit) in &metrics {
                let _ = write!(header, " {metric} ({}) |", display_unit(unit));
                rule.push_str("---:|");
            }
            for (metric, unit) in &metrics {
                if *unit != "allocs" {
                    let _ = write!(header, " NanoStream ÷ this, {metric} |");
                    rule.push_str("---:|");
                }
            }
            let _ = writeln!(out, "{header}\n{rule}");
            for implementation in implementations {
                let mut line = format!("| {implementation} |");
                let mut ratios = String::new();
                for (metric, unit) in &metrics {
                    match rows
                        .iter()
                        .find(|r| r.implementation == implementation && r.metric == *metric)
                    {
                        Some(r) => {
                            let _ = write!(
                                line,
                                " {} [{}–{}] |",
                                fmt(r.median(), unit),
                                fmt(r.min(), unit),
                                fmt(r.max(), unit)
                            );
                            if *unit != "allocs" {
                                match self.ratio(r) {
                                    Some(x) => {
                                        let _ = write!(ratios, " {x:.2}× |");
                                    }
                                    None => ratios.push_str(" — |"),
                                }
                            }
                        }
                        None => {
                            line.push_str(" |");
                            if *unit != "allocs" {
                                ratios.push_str(" |");
                            }
                        }
                    }
                }
                let _ = writeln!(out, "{line}{ratios}");
            }
            for (_, note) in self.notes.iter().filter(|(s, _)| *s == scenario) {
                let _ = writeln!(out, "\n{note}");
            }
        }
        out
    }

    /// The targets as a markdown table: the ratio, the bound, met or not.
    pub fn targets(&self, targets: &[Target]) -> String {
        let mut out = String::from(
            "\n### Targets (NanoStream ÷ peer, medians of this run)\n\n\
             NanoStream's default configuration, unless the line says otherwise. Throughput ratios: higher is \
             better for NanoStream; latency ratios: lower is better.\n\n\
             | target | ratio | bound | |\n|---|---:|---:|---|\n",
        );
        for t in targets {
            let nano = match t.nano {
                Some(name) => self.find(t.scenario, name, t.metric),
                None => self.nano(t.scenario, t.metric),
            };
            let ratio = nano
                .zip(self.find(t.scenario, t.peer, t.metric))
                .map(|(n, p)| n.median() / p.median());
            let (ratio, verdict) = match ratio {
                Some(r) if (t.at_least && r >= t.bound) || (!t.at_least && r <= t.bound) => {
                    (format!("{r:.2}×"), "met")
                }
                Some(r) => (format!("{r:.2}×"), "**not met**"),
                None => ("—".to_owned(), "not run"),
            };
            let bound = format!("{} {:.2}×", if t.at_least { "≥" } else { "≤" }, t.bound);
            let _ = writeln!(out, "| {} | {ratio} | {bound} | {verdict} |", t.text);
        }
        out
    }

    /// The figures as CSV: scenario, implementation, metric, value, unit.
    pub fn csv(&self) -> String {
        let mut out = String::from("scenario,implementation,metric,value,unit\n");
        for r in &self.rows {
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            for (what, value) in [("median", r.median()), ("min", r.min()), ("max", r.max())] {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{}",
                    q(r.scenario),
                    q(&r.implementation),
                    q(&format!("{} {what}", r.metric)),
                    value,
                    q(r.unit)
                );
            }
            if r.unit != "allocs" {
                if let Some(x) = self.ratio(r) {
                    let _ = writeln!(
                        out,
                        "{},{},{},{x},x",
                        q(r.scenario),
                        q(&r.implementation),
                        q(&format!("{} NanoStream/this", r.metric)),
                    );
                }
            }
        }
        out
    }
}

/// How to read the ratio columns of a table with `metrics`.
fn direction(metrics: &[(&str, &str)]) -> &'static str {
    let latency = metrics.iter().any(|(_, unit)| *unit == "ns");
    let throughput = metrics.iter().any(|(_, unit)| *unit == "events/s");
    match (throughput, latency) {
        (true, false) => {
            "NanoStream ÷ this: NanoStream's first row's median ÷ this row's; throughput, so higher is better \
             for NanoStream."
        }
        (false, true) => {
            "NanoStream ÷ this: NanoStream's first row's median ÷ this row's; latency, so lower is better for \
             NanoStream."
        }
        _ => "NanoStream ÷ this: NanoStream's first row's median ÷ this row's.",
    }
}

fn display_unit(unit: &str) -> &str {
    match unit {
        "events/s" => "M events/s",
        "allocs" => "allocs/event",
        other => other,
    }
}

fn fmt(value: f64, unit: &str) -> String {
    match unit {
        "events/s" => format!("{:.1}", value / 1e6),
        "ns" => format!("{value:.0}"),
        _ => format!("{value}"),
    }
}
