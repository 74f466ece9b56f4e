//! `Metrics`: every update reaches its metric, in `snapshot()` and in the Prometheus text that
//! `encode()` writes, and that text is well-formed OpenMetrics.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nanostream_net::ops::{DisconnectReason, Metrics, MetricsSnapshot};

/// One parsed exposition: the type and help of each family, and every sample's value by its
/// series (name and labels as written).
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    units: BTreeMap<String, String>,
    samples: BTreeMap<String, f64>,
}

impl Exposition {
    fn value(&self, series: &str) -> f64 {
        match self.samples.get(series) {
            Some(v) => *v,
            None => panic!("no sample {series:?} in {:?}", self.samples.keys()),
        }
    }
}

/// Parses the OpenMetrics text format as far as the broker uses it, panicking on anything a
/// Prometheus scrape would reject: a sample before its family's `# TYPE`, a counter sample not
/// named `<family>_total`, a duplicate series, a value that is not a number, text after
/// `# EOF` or no `# EOF` at all.
fn parse(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let body = &text[..text.len() - "# EOF\n".len()];
    assert!(!body.contains("# EOF"), "{text}");
    for line in body.lines() {
        assert!(!line.is_empty(), "empty line in {text}");
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, family, value) = (parts.next(), parts.next(), parts.next());
            let (Some(keyword), Some(family), Some(value)) = (keyword, family, value) else {
                panic!("malformed descriptor {line:?}");
            };
            assert!(valid_name(family), "{line:?}");
            let map = match keyword {
                "TYPE" => &mut exposition.types,
                "HELP" => &mut exposition.helps,
                "UNIT" => &mut exposition.units,
                _ => panic!("unknown descriptor {line:?}"),
            };
            assert!(
                map.insert(family.to_string(), value.to_string()).is_none(),
                "{line:?} twice"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(valid_name(name), "{line:?}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}'));
            let inner = inner.unwrap_or_else(|| panic!("labels of {line:?}"));
            for pair in inner.split(',') {
                let (key, quoted) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("label in {line:?}"));
                assert!(valid_name(key), "{line:?}");
                assert!(
                    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                    "{line:?}"
                );
            }
        }
        let family = match name.strip_suffix("_total") {
            Some(family) if exposition.types.get(family).is_some_and(|t| t == "counter") => family,
            _ => name,
        };
        let kind = exposition.types.get(family);
        let kind = kind.unwrap_or_else(|| panic!("sample {line:?} before its # TYPE"));
        assert!(kind != "counter" || name.ends_with("_total"), "{line:?}");
        assert!(value >= 0.0, "{line:?}");
        assert!(
            exposition.samples.insert(series.to_string(), value).is_none(),
            "{line:?} twice"
        );
    }
    for family in exposition.types.keys() {
        assert!(exposition.helps.contains_key(family), "{family} has no # HELP");
    }
    exposition
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn disconnections(reason: DisconnectReason) -> String {
    format!(
        "nanostream_disconnections_total{{reason=\"{}\"}}",
        reason.as_str()
    )
}

#[test]
fn a_new_registry_has_every_metric_at_zero() {
    let metrics = Metrics::new();
    assert_eq!(metrics.snapshot(), MetricsSnapshot::default());
    assert_eq!(Metrics::default().snapshot(), MetricsSnapshot::default());

    let exposition = parse(&metrics.encode());
    let families: BTreeMap<&str, &str> = [
        ("nanostream_clients", "gauge"),
        ("nanostream_connections", "counter"),
        ("nanostream_disconnections", "counter"),
        ("nanostream_commands", "counter"),
        ("nanostream_messages_in", "counter"),
        ("nanostream_messages_out", "counter"),
        ("nanostream_bytes_in", "counter"),
        ("nanostream_bytes_out", "counter"),
        ("nanostream_ring_used", "gauge"),
        ("nanostream_ring_capacity", "gauge"),
        ("nanostream_slowest_subscriber_backlog_bytes", "gauge"),
    ]
    .into_iter()
    .collect();
    let types: BTreeMap<&str, &str> = exposition
        .types
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(types, families);
    assert_eq!(
        exposition
            .units
            .get("nanostream_slowest_subscriber_backlog_bytes")
            .map(String::as_str),
        Some("bytes")
    );

    let mut series: BTreeSet<String> = [
        "nanostream_clients",
        "nanostream_connections_total",
        "nanostream_commands_total",
        "nanostream_messages_in_total",
        "nanostream_messages_out_total",
        "nanostream_bytes_in_total",
        "nanostream_bytes_out_total",
        "nanostream_ring_used",
        "nanostream_ring_capacity",
        "nanostream_slowest_subscriber_backlog_bytes",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    series.extend(DisconnectReason::ALL.into_iter().map(disconnections));
    assert_eq!(
        exposition.samples.keys().cloned().collect::<BTreeSet<_>>(),
        series
    );
    assert!(
        exposition.samples.values().all(|v| *v == 0.0),
        "{:?}",
        exposition.samples
    );
}

#[test]
fn every_update_reaches_its_metric() {
    let metrics = Metrics::new();
    for _ in 0..5 {
        metrics.client_connected();
    }
    metrics.client_disconnected(DisconnectReason::Quit);
    metrics.client_disconnected(DisconnectReason::OutputLimit);
    metrics.client_disconnected(DisconnectReason::OutputLimit);
    metrics.rejected(DisconnectReason::MaxClients);
    metrics.rejected(DisconnectReason::MaxClients);
    metrics.rejected(DisconnectReason::MaxClients);
    metrics.commands(7);
    metrics.commands(1);
    metrics.messages_in(11);
    metrics.messages_out(13);
    metrics.messages_out(2);
    metrics.bytes_in(1_000);
    metrics.bytes_out(1 << 40);
    metrics.set_ring(100, 1024);
    metrics.set_ring(17, 1024);
    metrics.set_slowest_backlog(4096);
    metrics.set_slowest_backlog(512);

    assert_eq!(
        metrics.snapshot(),
        MetricsSnapshot {
            clients: 2,
            connections_total: 5,
            commands: 8,
            messages_in: 11,
            messages_out: 15,
            bytes_in: 1_000,
            bytes_out: 1 << 40,
            ring_used: 17,
            ring_capacity: 1024,
            slowest_backlog: 512,
            rejected_connections: 3,
        }
    );

    let text = metrics.encode();
    let exposition = parse(&text);
    for (series, value) in [
        ("nanostream_clients", 2.0),
        ("nanostream_connections_total", 5.0),
        ("nanostream_commands_total", 8.0),
        ("nanostream_messages_in_total", 11.0),
        ("nanostream_messages_out_total", 15.0),
        ("nanostream_bytes_in_total", 1_000.0),
        ("nanostream_bytes_out_total", (1u64 << 40) as f64),
        ("nanostream_ring_used", 17.0),
        ("nanostream_ring_capacity", 1024.0),
        ("nanostream_slowest_subscriber_backlog_bytes", 512.0),
    ] {
        assert_eq!(exposition.value(series), value, "{series} in\n{text}");
    }
    for reason in DisconnectReason::ALL {
        let expected = match reason {
            DisconnectReason::Quit => 1.0,
            DisconnectReason::OutputLimit => 2.0,
            DisconnectReason::MaxClients => 3.0,
            _ => 0.0,
        };
        assert_eq!(
            exposition.value(&disconnections(reason)),
            expected,
            "{reason:?} in\n{text}"
        );
    }
    // Integers are written as integers, which is what a reader of the page expects.
    assert!(
        text.contains("\nnanostream_bytes_out_total 1099511627776\n"),
        "{text}"
    );
}

#[test]
fn reasons_have_distinct_label_values() {
    let names: Vec<&str> = DisconnectReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "quit",
            "closed_by_client",
            "protocol_error",
            "output_limit",
            "max_clients",
            "io_error",
            "shutdown",
            "auth_failure"
        ]
    );
    for reason in DisconnectReason::ALL {
        assert_eq!(reason.to_string(), reason.as_str());
    }
}

#[test]
fn every_reason_is_counted_on_its_own() {
    for (i, reason) in DisconnectReason::ALL.into_iter().enumerate() {
        let metrics = Metrics::new();
        metrics.client_connected();
        metrics.client_disconnected(reason);
        let exposition = parse(&metrics.encode());
        for other in DisconnectReason::ALL {
            let expected = if other == reason { 1.0 } else { 0.0 };
            assert_eq!(
                exposition.value(&disconnections(other)),
                expected,
                "{reason:?}, {other:?}"
            );
        }
        assert_eq!(exposition.value("nanostream_clients"), 0.0);
        assert_eq!(
            metrics.snapshot().rejected_connections,
            u64::from(i == 4),
            "{reason:?}"
        );
    }
}

#[test]
fn concurrent_updates_from_shared_threads_all_count() {
    const PER_THREAD: u64 = if cfg!(miri) { 100 } else { 20_000 };
    let metrics = Arc::new(Metrics::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            let metrics = Arc::clone(&metrics);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    metrics.client_connected();
                    metrics.commands(1);
                    metrics.bytes_in(3);
                    metrics.bytes_out(5);
                    metrics.messages_in(1);
                    metrics.messages_out(2);
                    if i % 2 == 0 {
                        metrics.client_disconnected(DisconnectReason::ClosedByClient);
                    } else {
                        metrics.rejected(DisconnectReason::MaxClients);
                    }
                }
            });
        }
    });
    let now = metrics.snapshot();
    let n = 2 * PER_THREAD;
    assert_eq!(now.connections_total, n);
    assert_eq!(now.clients, n / 2);
    assert_eq!((now.commands, now.bytes_in, now.bytes_out), (n, 3 * n, 5 * n));
    assert_eq!((now.messages_in, now.messages_out), (n, 2 * n));
    assert_eq!(now.rejected_connections, n / 2);
    let exposition = parse(&metrics.encode());
    assert_eq!(
        exposition.value(&disconnections(DisconnectReason::ClosedByClient)),
        (n / 2) as f64
    );
}

#[test]
fn clients_never_reads_below_zero() {
    // A disconnection reported twice must not show as 18 quintillion clients in INFO.
    let metrics = Metrics::new();
    metrics.client_disconnected(DisconnectReason::IoError);
    assert_eq!(metrics.snapshot().clients, 0);
}
