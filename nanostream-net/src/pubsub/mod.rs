//! The pub/sub data layer: which clients receive a published message. No sockets, no threads.
//!
//! - [`pattern`]: glob matching exactly as Redis's `stringmatchlen`, with a bounded worst case.
//! - [`registry`]: every client's channel and pattern subscriptions, with Redis's reply counts.

pub mod pattern;
pub mod registry;

pub use pattern::{glob_match, Pattern};
pub use registry::{ClientId, Receivers, Registry, Subscribers};
