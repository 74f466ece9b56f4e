//! Pub/sub: which clients receive a published message, and the two bridges between a user's
//! pipeline and the broker.
//!
//! - [`pattern`]: glob matching exactly as Redis's `stringmatchlen`, with a bounded worst case.
//! - [`registry`]: every client's channel and pattern subscriptions, with Redis's reply counts.
//! - [`handler`]: the network handler, publishing a pipeline's events to remote subscribers.
//! - [`source`]: the network source, feeding remote publishes into a pipeline's ring.

pub mod handler;
pub mod pattern;
pub mod registry;
pub mod source;

pub use handler::NetworkHandler;
pub use pattern::{glob_match, Pattern};
pub use registry::{ClientId, Receivers, Registry, Subscribers};
pub use source::{Backpressure, SourceStats, Subscription};
