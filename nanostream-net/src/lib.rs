//! # nanostream-net
//!
//! The network layer of NanoStream: a broker that speaks RESP2, the Redis protocol, so that
//! redis-cli, redis-py, the `redis` crate and every other Redis client publish and subscribe
//! through it unchanged, with durable topics (Redis Streams) on the journal and an HTTP and
//! WebSocket API beside RESP; and the two bridges between a NanoStream pipeline and that
//! broker.
//!
//! A pipeline whose last stage publishes every event to the remote subscribers of a channel
//! (here a client subscribes, then reads what the pipeline published):
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
//! use nanostream_net::{Server, ServerConfig};
//!
//! let server = Server::start(ServerConfig::loopback())?; // 127.0.0.1, a free port
//!
//! // A remote subscriber, as `redis-cli SUBSCRIBE ticks` would be.
//! let client = std::net::TcpStream::connect(server.local_addr().unwrap())?;
//! (&client).write_all(b"SUBSCRIBE ticks\r\n")?;
//! let mut lines = BufReader::new(&client).lines();
//! assert_eq!(lines.nth(5).unwrap()?, ":1"); // the subscription is confirmed
//!
//! // The pipeline: its last stage is the network handler.
//! let ticks = server.network_handler("ticks", |price: &u64, out: &mut Vec<u8>| {
//!     out.extend_from_slice(price.to_string().as_bytes())
//! });
//! let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
//!     .handle_events_with(ticks)
//!     .build()?;
//! producer.publish(|price, _| *price = 101)?;
//!
//! // *3, $7, message, $5, ticks, $3, 101
//! assert_eq!(lines.nth(6).unwrap()?, "101");
//! producer.shutdown()?;
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The other way round, [`Server::add_source`] feeds remote `PUBLISH`es to a channel or
//! pattern into a ring of yours, with the back-pressure you choose ([`Backpressure`]).
//!
//! # The modules, in the order data walks through them
//!
//! socket → decode → ring → broker → output buffer → socket:
//!
//! - [`server`]: listeners, connections, the I/O thread, limits and TLS; its docs describe
//!   the threads, what each owns, and why.
//! - [`resp`]: request parsing with Redis's limits and error texts, argument cursors, and
//!   reply encoding.
//! - [`pubsub`]: who receives a published message (channels, Redis glob patterns), the
//!   [`NetworkHandler`] and the network source.
//! - [`ops`]: the counters behind `INFO` and `/metrics`, and the `--http-port` listener with
//!   `/health` and `/metrics`.
//! - [`http`]: the HTTP and WebSocket API on that listener (topics, consumer groups, channels;
//!   each request a client of the broker inside the process) and the live dashboard.
//! - [`cli`]: the `nanostream-broker` binary's flags and main loop.
//! - [`streams`]: Redis Streams on the journal: entry IDs with Redis's parsing rules, a
//!   stream key's directory under the data directory, one stream's entries stored on its
//!   journal, consumer-group state with its operation log, and the keyspace of every stream
//!   with the `--fsync` policy.
//!
//! The broker runs every command on one thread, in order: `PING`, `ECHO`, `QUIT`, `AUTH`,
//! `HELLO 2`, `CLIENT SETNAME | GETNAME | SETINFO | ID | LIST | INFO`, `SELECT 0`,
//! `CONFIG GET`, `COMMAND [COUNT | DOCS | INFO | LIST]`, `INFO`, `PUBLISH`, `SUBSCRIBE`,
//! `UNSUBSCRIBE`, `PSUBSCRIBE`, `PUNSUBSCRIBE`, `PUBSUB CHANNELS | NUMSUB | NUMPAT`, the stream
//! commands (`XADD`, `XLEN`, `XRANGE`, `XREVRANGE`, `XREAD`, `XDEL`, `XTRIM`, `XINFO`,
//! `XGROUP`, `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM`, `XAUTOCLAIM`) and `DEL`, `EXISTS`,
//! `TYPE`, `KEYS` and `SCAN` over the stream keys, with redis-server 7.0's replies. `HELLO 3` (RESP3) is answered `-NOPROTO`.
//!
//! The lower layers are usable on their own: parsing a request and encoding a reply,
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
//! and deciding who receives a message with the [`pubsub::Registry`]:
//!
//! ```
//! use nanostream_net::pubsub::{ClientId, Registry};
//!
//! let mut subs = Registry::new();
//! let (alice, bob) = (ClientId(7), ClientId(8));
//! assert_eq!(subs.subscribe(alice, b"news"), 1);
//! assert_eq!(subs.psubscribe(bob, b"ne*"), 1);
//! // PUBLISH news hello reaches alice by the channel and bob by the pattern.
//! let receivers = subs.receivers(b"news");
//! assert_eq!(receivers.subscribers(), [alice]);
//! let by_pattern: Vec<_> = receivers.collect();
//! assert_eq!(by_pattern, [(&b"ne*"[..], &[bob][..])]);
//! assert_eq!(subs.publish_count(b"news"), 2);
//! ```

mod broker;
pub mod cli;
mod commands;
pub mod http;
pub mod ops;
pub mod pubsub;
pub mod resp;
pub mod server;
pub mod streams;

pub use broker::BrokerWait;
pub use pubsub::{Backpressure, NetworkHandler, SourceStats, Subscription};
pub use server::{Server, ServerConfig, ServerError};
