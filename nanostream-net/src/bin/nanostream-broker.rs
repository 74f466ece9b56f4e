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

use std::process::ExitCode;

use clap::Parser;
use nanostream_net::cli::BrokerArgs;

fn main() -> ExitCode {
    let args = BrokerArgs::parse();
    match nanostream_net::cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanostream-broker: {e}");
            ExitCode::FAILURE
        }
    }
}
