//! Recovery: what opening a journal for writing checks, repairs and reports.
//!
//! * `recovery.rs`: scanning segments, rebuilding indexes, cutting a torn tail.
//! * `report.rs`: [`OpenReport`](crate::OpenReport) and [`Dropped`](crate::Dropped), what an
//!   open found and discarded.

pub(crate) mod recovery;
pub(crate) mod report;
