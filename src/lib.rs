//! Examples, benchmarks and cross-crate tests for NanoStream live beside this crate.
