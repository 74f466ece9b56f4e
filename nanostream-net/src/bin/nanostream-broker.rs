//! `nanostream-broker`: the NanoStream broker as a service. Any Redis client can publish and
//! subscribe through it.
//!
//! ```text
//! nanostream-broker --port 6380 --http-port 9180
//! redis-cli -p 6380 SUBSCRIBE orders
//! ```
//!
//! Every flag can also be set through the environment variable named in `--help`. SIGTERM and
//! Ctrl-C stop it gracefully: it stops accepting, delivers what it accepted, closes its
//! clients and exits 0.

fn main() -> std::process::ExitCode {
    nanostream_net::cli::main()
}
