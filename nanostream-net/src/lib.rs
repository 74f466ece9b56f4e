//! # nanostream-net
//!
//! The network layer of NanoStream: a broker that speaks RESP2, the Redis protocol, so that
//! redis-cli, redis-py and every Redis client work against it. This crate holds its
//! foundation:
//!
//! - [`resp`]: incremental request parsing with Redis's limits and error texts, a cursor over
//!   command arguments, and reply encoding, pub/sub frames included.
//! - [`pubsub`]: who receives a published message: every client's channel and pattern
//!   subscriptions with the counts Redis replies, and glob matching exactly as Redis does it.
//!
//! ```
//! use nanostream_net::resp::{encode, parse_request, Args, Limits};
//!
//! let limits = Limits::default();
//! // What `redis-cli publish news hello` sends.
//! let input = b"*3\r\n$7\r\npublish\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
//!
//! let mut out = Vec::new();
//! match parse_request(input, &limits) {
//!     Ok(Some((request, consumed))) => {
//!         assert_eq!(consumed, input.len());
//!         let mut args = Args::new(request.args()).expect("a command").command("publish");
//!         assert!(args.name_is("PUBLISH"));
//!         let channel = args.next_bytes()?;
//!         let payload = args.next_bytes()?;
//!         args.finish()?;
//!         assert_eq!((channel, payload), (&b"news"[..], &b"hello"[..]));
//!         encode::integer(&mut out, 1); // one subscriber received it
//!     }
//!     Ok(None) => unreachable!("the request is complete"),
//!     Err(e) => e.write_reply(&mut out), // then close the connection, as Redis does
//! }
//! assert_eq!(out, b":1\r\n");
//! # Ok::<(), nanostream_net::resp::CommandError>(())
//! ```
//!
//! The [`pubsub`] registry decides who receives a message; [`resp::encode`] writes the frames:
//!
//! ```
//! use std::collections::HashMap;
//!
//! use nanostream_net::pubsub::{ClientId, Registry};
//! use nanostream_net::resp::encode;
//!
//! let mut subs = Registry::new();
//! let mut out: HashMap<ClientId, Vec<u8>> = HashMap::new(); // each client's write buffer
//! let (alice, bob) = (ClientId(7), ClientId(8));
//!
//! let count = subs.subscribe(alice, b"news");
//! encode::subscribe(out.entry(alice).or_default(), b"news", count);
//! let count = subs.psubscribe(bob, b"ne*");
//! encode::psubscribe(out.entry(bob).or_default(), b"ne*", count);
//!
//! // PUBLISH news hello: a `message` to each subscriber of the channel, a `pmessage` to each
//! // subscriber of each matching pattern, and the number of frames as the reply.
//! let receivers = subs.receivers(b"news");
//! let mut sent = 0;
//! for client in receivers.subscribers() {
//!     encode::message(out.entry(*client).or_default(), b"news", b"hello");
//!     sent += 1;
//! }
//! for (pattern, clients) in receivers {
//!     for client in clients {
//!         encode::pmessage(out.entry(*client).or_default(), pattern, b"news", b"hello");
//!         sent += 1;
//!     }
//! }
//! assert_eq!(sent, subs.publish_count(b"news"));
//! assert!(out[&bob].ends_with(b"$8\r\npmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n$5\r\nhello\r\n"));
//!
//! subs.remove_client(alice); // disconnected
//! assert_eq!(subs.numsub(b"news"), 0);
//! ```

mod broker;
pub mod cli;
mod commands;
pub mod ops;
pub mod pubsub;
pub mod resp;
pub mod server;

pub use broker::BrokerWait;
pub use pubsub::{Backpressure, NetworkHandler, SourceStats, Subscription};
pub use server::{Server, ServerConfig, ServerError};
