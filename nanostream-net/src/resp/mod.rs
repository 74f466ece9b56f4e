//! RESP2, the Redis protocol: requests in, replies out.
//!
//! - [`limits`]: the lengths a client may claim, with Redis's defaults.
//! - [`error`]: protocol errors, displayed as redis-server 7 words them.
//! - [`number`]: Redis's `string2ll`, the one integer syntax used everywhere.
//! - [`frame`]: a parsed request, its arguments borrowed from the read buffer.
//! - [`inline`]: inline commands, split with Redis's quoting rules.
//! - [`decode`]: incremental parsing of requests from a read buffer.
//! - [`args`]: a cursor over a command's arguments, with Redis's arity and integer errors.
//! - [`encode`]: replies, including the pub/sub frames, written into a `Vec<u8>`.

pub mod args;
pub mod decode;
pub mod encode;
pub mod error;
pub mod frame;
pub mod inline;
pub mod limits;
pub mod number;

pub use args::{Args, CommandError};
pub use decode::{parse_request, RequestDecoder};
pub use error::ProtocolError;
pub use frame::{Request, RequestKind};
pub use limits::{Limits, LimitsError};
