//! The bundled broker, embedded: the same code as the `nanostream-broker` binary, with the
//! same flags and environment variables.
//!
//! ```sh
//! cargo run --release --example broker -- --port 6380
//! redis-cli -p 6380 SUBSCRIBE orders                                   # terminal 2
//! redis-cli -p 6380 PUBLISH orders '{"symbol":"AAPL","qty":100}'        # terminal 3
//! ```
//!
//! To embed the broker in a program of your own with settings from code rather than flags,
//! start a `nanostream_net::Server` with a `ServerConfig` (see `examples/market_data.rs`).

fn main() -> std::process::ExitCode {
    nanostream_net::cli::main()
}
