//! The command line: every flag also read from a `NANOSTREAM_LOADGEN_*` environment variable.

use std::path::PathBuf;

use clap::Parser;

use crate::payload::STAMP_LEN;

/// Publish/subscribe load against any RESP2 (Redis protocol) server: throughput, delivery
/// latency, order and loss.
///
/// Subscribers connect and subscribe first (spread over channels `loadgen:0` .. `loadgen:C-1`),
/// then publishers send PUBLISH round-robin over those channels. Each payload carries its send
/// time and a sequence per publisher and channel, so every subscriber measures
/// publish-to-delivery latency and checks that each publisher's messages arrive complete and in
/// order.
///
/// Exits non-zero on a connection or protocol error, or if any delivery was lost.
#[derive(Debug, Clone, Parser)]
#[command(name = "nanostream-loadgen", version)]
pub struct Args {
    /// Server host name or address.
    #[arg(long, env = "NANOSTREAM_LOADGEN_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Server port.
    #[arg(long, env = "NANOSTREAM_LOADGEN_PORT", default_value_t = 6380)]
    pub port: u16,

    /// Password sent with AUTH on every connection.
    #[arg(long, env = "NANOSTREAM_LOADGEN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Number of subscriber connections.
    #[arg(long, env = "NANOSTREAM_LOADGEN_SUBSCRIBERS", default_value_t = 1)]
    pub subscribers: usize,

    /// Number of publisher connections, one thread each.
    #[arg(long, env = "NANOSTREAM_LOADGEN_PUBLISHERS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub publishers: u32,

    /// Number of channels; subscribers are spread over them, publishers take them in turn.
    #[arg(long, env = "NANOSTREAM_LOADGEN_CHANNELS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub channels: u32,

    /// Bytes per message payload (at least 20: the send time and sequence ride in it).
    #[arg(long, env = "NANOSTREAM_LOADGEN_PAYLOAD", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(STAMP_LEN as i64..))]
    pub payload: u32,

    /// Messages per second across all publishers, on a fixed schedule; 0 publishes flat out.
    #[arg(long, env = "NANOSTREAM_LOADGEN_RATE", default_value_t = 0)]
    pub rate: u64,

    /// Seconds of publishing, the warmup included.
    #[arg(long, env = "NANOSTREAM_LOADGEN_DURATION", default_value_t = 10.0)]
    pub duration: f64,

    /// Stop after this many messages in total (or at the end of --duration, if sooner).
    #[arg(long, env = "NANOSTREAM_LOADGEN_MESSAGES")]
    pub messages: Option<u64>,

    /// PUBLISH commands in flight per publisher connection.
    #[arg(long, env = "NANOSTREAM_LOADGEN_PIPELINE", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub pipeline: u32,

    /// Seconds at the start whose messages are delivered and counted but left out of the
    /// latency histogram.
    #[arg(long, env = "NANOSTREAM_LOADGEN_WARMUP", default_value_t = 1.0)]
    pub warmup: f64,

    /// Append the result as one CSV row to this file (a header first if the file is empty).
    #[arg(long, env = "NANOSTREAM_LOADGEN_CSV")]
    pub csv: Option<PathBuf>,

    /// Also print the result as one JSON line on stdout.
    #[arg(long, env = "NANOSTREAM_LOADGEN_JSON")]
    pub json: bool,

    /// No progress line on stderr.
    #[arg(long, env = "NANOSTREAM_LOADGEN_QUIET")]
    pub quiet: bool,
}

impl Args {
    /// The channel name with index `i`.
    pub fn channel(i: u32) -> String {
        format!("loadgen:{i}")
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Args;

    #[test]
    fn definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_and_limits() {
        let args = Args::try_parse_from(["loadgen"]).expect("defaults");
        assert_eq!(
            (args.host.as_str(), args.port, args.payload, args.pipeline),
            ("127.0.0.1", 6380, 100, 1)
        );
        assert!(Args::try_parse_from(["loadgen", "--payload", "19"]).is_err());
        assert!(Args::try_parse_from(["loadgen", "--publishers", "0"]).is_err());
        assert!(Args::try_parse_from(["loadgen", "--payload", "20"]).is_ok());
    }
}
