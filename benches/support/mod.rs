//! Shared by the benchmarks. Each benchmark is its own crate and uses only part of this.

#![allow(dead_code)]

pub mod process;
pub mod synthetic;

/// The peak resident memory of this process so far, where `/proc` tells it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
