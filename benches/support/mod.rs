//! Shared by the benchmarks.

pub mod synthetic;
