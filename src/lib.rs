//! Examples, benchmarks and cross-crate tests for NanoStream live beside this crate.

/// The root `README.md`: `cargo test --doc` compiles and runs each of its Rust code blocks, so
/// the README's examples stay in step with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
