//! Writer benchmark: how `render`'s write compares with `cp -r` of the finished tree, what a
//! no-op and a fleet-wide change cost, and how many files are read. Run with
//! `cargo bench --bench writer` (FLEETGEN_BENCH_CLUSTERS, default 100), ideally under
//! `ulimit -n 256` to show that the writer holds no descriptor per file.
//!
//! The fleet has the shape of the scale issue: N clusters × 3 environments × 20 tenants × 2
//! apps, every tenant on every cluster, every fifth cluster remote. Figures only; nothing
//! about time is asserted.

mod support;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use fleetgen::pipeline;
use fleetgen::sinks::write;
use support::synthetic::{Shape, setting, write_fleet};

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = work();
    (value, start.elapsed())
}

fn main() {
    let n = setting("CLUSTERS", 100);
    let shape = Shape {
        clusters: n,
        environments: 3,
        tenants: 20,
        apps: 2,
        remote_every: 5,
        capi_every: 0,
        tenant_clusters: 0,
        tenant_repos: "https://git.example.com/a",
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_fleet(&a, &shape, None);
    // The same fleet with every tenant's repository moved: a change to every tenant's files.
    let moved = Shape {
        tenant_repos: "https://git.example.com/b",
        ..shape
    };
    write_fleet(&b, &moved, None);
    let out = dir.path().join("out");

    let (compiled, compile) = timed(|| pipeline::compile(&a, &[]).unwrap());
    let branches = &compiled.rendered.branches;
    let files: usize = branches.iter().map(|(_, tree)| tree.len()).sum();
    let bytes: usize = branches
        .iter()
        .flat_map(|(_, tree)| tree.iter())
        .map(|(_, content)| content.len())
        .sum();
    let (_, cold) = timed(|| write::write(&out, branches, write::Options::default()).unwrap());
    let copy = dir.path().join("copy");
    let (status, cp) = timed(|| Command::new("cp").arg("-r").arg(&out).arg(&copy).status());
    assert!(status.unwrap().success());
    fs::remove_dir_all(&copy).unwrap();
    let (report, noop) = timed(|| write::write(&out, branches, write::Options::default()).unwrap());
    assert!(report.is_empty());
    drop(compiled);

    let (other, _) = timed(|| pipeline::compile(&b, &[]).unwrap());
    let (report, change) =
        timed(|| write::write(&out, &other.rendered.branches, write::Options::default()).unwrap());

    println!("fleet: {n} clusters x 3 environments x 20 tenants x 2 apps");
    println!(
        "{files} files, {:.1} MiB; compile (load+render in memory) {compile:.2?}",
        bytes as f64 / 1048576.0
    );
    println!(
        "cold write {cold:.2?}  cp -r {cp:.2?}  ratio {:.2}",
        cold.as_secs_f64() / cp.as_secs_f64()
    );
    println!(
        "compile + cold write {:.2?}  ratio to cp -r {:.2}",
        compile + cold,
        (compile + cold).as_secs_f64() / cp.as_secs_f64()
    );
    println!(
        "no-op write {noop:.2?}; no-op render {:.2?} = {:.2} of a full render",
        compile + noop,
        (compile + noop).as_secs_f64() / (compile + cold).as_secs_f64()
    );
    println!(
        "fleet-wide change: {} modified, {} unchanged, write {change:.2?}",
        report.modified.len(),
        report.unchanged
    );
    println!(
        "peak resident memory {:.0} MiB",
        support::peak_rss_mib().unwrap_or(0.0)
    );
}
