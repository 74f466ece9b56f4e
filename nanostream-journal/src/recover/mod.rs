//! Recovery: what opening a journal for writing checks, repairs and reports.
//!
//! * `open.rs`: what an open does to the directory: removes leftovers, checks sealed segments and
//!   rebuilds their indexes, cuts a torn tail, drops a newest segment whose header never reached
//!   the disk and, with `JournalConfig::repair`, sets aside an unreadable one.
//! * `report.rs`: [`OpenReport`](crate::OpenReport) and [`Dropped`](crate::Dropped), what an
//!   open found and discarded.

pub(crate) mod open;
pub(crate) mod report;
