//! The pub/sub data layer: which clients receive a published message. No sockets, no threads.
//!
//! - [`pattern`]: glob matching exactly as Redis's `stringmatchlen`, with a bounded worst case.

pub mod pattern;

pub use pattern::{glob_match, Pattern};
