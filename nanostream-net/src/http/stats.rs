//! The dashboard's numbers: once a second a sample of the broker's metrics and of what it
//! holds (channels, topics, groups), with rates against the sample before, kept for the last
//! five minutes and sent to every `/ws/stats` subscriber.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast;

use super::access::Ctx;
use super::error::ApiError;
use super::HttpApi;
use crate::broker::BrokerView;
use crate::ops::{DisconnectReason, MetricsSnapshot};

/// How often a sample is taken.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);
/// Samples kept: five minutes.
pub(crate) const HISTORY: usize = 300;

/// The samples taken so far, and the feed of new ones.
#[derive(Debug)]
pub(crate) struct Stats {
    history: Mutex<VecDeque<Arc<str>>>,
    feed: broadcast::Sender<Arc<str>>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Stats {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            feed: broadcast::channel(16).0,
        }
    }

    /// The samples kept, oldest first.
    pub(crate) fn history(&self) -> Vec<Arc<str>> {
        self.history.lock().iter().cloned().collect()
    }

    /// New samples as they are taken.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.feed.subscribe()
    }

    fn push(&self, sample: Arc<str>) {
        let mut history = self.history.lock();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(sample.clone());
        drop(history);
        // No subscriber is not an error.
        let _ = self.feed.send(sample);
    }
}

/// `GET /stats`: the newest sample (one taken now if there is none yet).
pub(crate) async fn current(ctx: Ctx) -> Result<Response, ApiError> {
    let latest = ctx.api.stats().history.lock().back().cloned();
    let sample = match latest {
        Some(sample) => sample,
        None => {
            let mut sampler = Sampler::default();
            Arc::from(sampler.sample(&ctx.api).await?.to_string())
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        sample.to_string(),
    )
        .into_response())
}

/// Takes a sample every [`INTERVAL`] until the broker stops.
pub(crate) async fn run_sampler(api: Arc<HttpApi>) {
    let mut sampler = Sampler::default();
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sampler.sample(&api).await {
            Ok(sample) => api.stats().push(Arc::from(sample.to_string())),
            Err(_) => return, // the broker stopped
        }
    }
}

/// What the rates and watermarks are measured against.
#[derive(Default)]
struct Sampler {
    previous: Option<(Instant, MetricsSnapshot)>,
    /// Per channel: when, published, delivered.
    channels: HashMap<Vec<u8>, (Instant, u64, u64)>,
    /// Per topic: the newest ID seen durable.
    durable: HashMap<Vec<u8>, String>,
}

impl Sampler {
    async fn sample(&mut self, api: &HttpApi) -> Result<Value, ApiError> {
        let view = api.gateway().inspect().await?;
        let metrics = api.gateway().metrics().snapshot();
        let now = Instant::now();
        let rate = |current: u64, before: Option<(Instant, u64)>| -> f64 {
            match before {
                Some((at, value)) if now > at => {
                    current.saturating_sub(value) as f64 / now.duration_since(at).as_secs_f64()
                }
                _ => 0.0,
            }
        };
        let prev = self.previous.as_ref();
        let rates = json!({
            "commands": rate(metrics.commands, prev.map(|(t, m)| (*t, m.commands))),
            "messages_in": rate(metrics.messages_in, prev.map(|(t, m)| (*t, m.messages_in))),
            "messages_out": rate(metrics.messages_out, prev.map(|(t, m)| (*t, m.messages_out))),
            "bytes_in": rate(metrics.bytes_in, prev.map(|(t, m)| (*t, m.bytes_in))),
            "bytes_out": rate(metrics.bytes_out, prev.map(|(t, m)| (*t, m.bytes_out))),
        });
        let mut disconnections = Map::new();
        for reason in DisconnectReason::ALL {
            disconnections.insert(
                reason.as_str().to_owned(),
                Value::from(api.gateway().metrics().disconnections(reason)),
            );
        }
        let channels = self.channels_json(&view, now, &rate);
        let topics = self.topics_json(&view);
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let sample = json!({
            "time_ms": time_ms,
            "uptime_s": api.gateway().uptime().as_secs(),
            "clients": metrics.clients,
            "connections_total": metrics.connections_total,
            "commands": metrics.commands,
            "messages_in": metrics.messages_in,
            "messages_out": metrics.messages_out,
            "bytes_in": metrics.bytes_in,
            "bytes_out": metrics.bytes_out,
            "rates": rates,
            "ring": { "used": metrics.ring_used, "capacity": api.ring_size },
            "slowest_backlog": metrics.slowest_backlog,
            "output_limit": { "hard": api.output_limit.hard, "soft": api.output_limit.soft },
            "disconnections": disconnections,
            "channels": channels,
            "patterns": view.patterns,
            "topics": topics,
            "topic_count": view.topic_count,
        });
        self.previous = Some((now, metrics));
        Ok(sample)
    }

    fn channels_json(
        &mut self,
        view: &BrokerView,
        now: Instant,
        rate: &dyn Fn(u64, Option<(Instant, u64)>) -> f64,
    ) -> Vec<Value> {
        let mut seen = HashMap::with_capacity(view.channels.len());
        let out = view
            .channels
            .iter()
            .map(|c| {
                let before = self.channels.get(&c.name);
                let value = json!({
                    "name": String::from_utf8_lossy(&c.name),
                    "subscribers": c.subscribers,
                    "published": c.published,
                    "delivered": c.delivered,
                    "publish_rate": rate(c.published, before.map(|b| (b.0, b.1))),
                    "delivery_rate": rate(c.delivered, before.map(|b| (b.0, b.2))),
                });
                seen.insert(c.name.clone(), (now, c.published, c.delivered));
                value
            })
            .collect();
        self.channels = seen;
        out
    }

    fn topics_json(&mut self, view: &BrokerView) -> Vec<Value> {
        let mut durable = HashMap::with_capacity(view.topics.len());
        let out = view
            .topics
            .iter()
            .map(|t| {
                // Everything written is on disk: the newest ID is durable. Otherwise the
                // newest seen durable before still is.
                let id = if t.unsynced_bytes == 0 {
                    Some(t.last_id.to_string())
                } else {
                    self.durable.get(&t.name).cloned()
                };
                if let Some(id) = &id {
                    durable.insert(t.name.clone(), id.clone());
                }
                json!({
                    "name": String::from_utf8_lossy(&t.name),
                    "length": t.length,
                    "first_id": t.first_id.map(|id| id.to_string()),
                    "last_id": t.last_id.to_string(),
                    "durable_id": id,
                    "unsynced_bytes": t.unsynced_bytes,
                    "groups": t.groups.iter().map(|g| json!({
                        "name": String::from_utf8_lossy(&g.name),
                        "consumers": g.consumers,
                        "pending": g.pending,
                        "lag": g.lag,
                        "last_delivered_id": g.last_delivered_id.to_string(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        self.durable = durable;
        out
    }
}
