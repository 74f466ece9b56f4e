//! # nanostream-net
//!
//! The network layer of NanoStream: a broker that speaks RESP2, the Redis protocol, so that
//! redis-cli, redis-py and every Redis client work against it. This crate holds its
//! foundation, the [`resp`] module: incremental request parsing with Redis's limits and error
//! texts, a cursor over command arguments, and reply encoding, pub/sub frames included.
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

pub mod pubsub;
pub mod resp;
