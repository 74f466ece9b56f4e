//! The broker's command line: the flags of `nanostream-broker`, and running a broker from
//! them until SIGTERM or Ctrl-C. The binary and `examples/broker.rs` share this code.

mod args;
mod open_files;
mod run;

pub use args::{BrokerArgs, ProtectedMode};
pub use open_files::raise_open_file_limit;
pub use run::{config, main, run, run_until, RunError};
