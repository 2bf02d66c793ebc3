//! Render benchmark: a synthetic fleet of many clusters, environments, tenants and apps,
//! timed stage by stage, with the peak memory of the process. Run with
//! `cargo bench --bench render` (sizes: FLEETGEN_BENCH_CLUSTERS, default 60, _TENANTS, default
//! 100, _APPS, default 3, and the other settings of `support::synthetic`; no Cluster API
//! clusters unless _CAPI_EVERY asks).
//!
//! This prints figures; it asserts nothing about time, which depends on the machine.

mod support;

use std::time::Instant;

use fleetgen::model::Fleet;
use fleetgen::render::{self, blueprint};
use fleetgen::sinks::write;
use fleetgen::{load, plan};
use support::synthetic::{Shape, setting, write_fleet};

fn main() {
    let shape = Shape {
        tenants: setting("TENANTS", 100),
        apps: setting("APPS", 3),
        capi_every: setting("CAPI_EVERY", 0),
        ..Shape::from_env(setting("CLUSTERS", 60))
    };
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), &shape, None);
    println!("fleet: {}", shape.describe());

    let start = Instant::now();
    let source = load::load(dir.path()).unwrap();
    let loaded = start.elapsed();
    let fleet = Fleet::from_source(&source).unwrap();
    let modelled = start.elapsed();
    let plan = plan::plan(&fleet, &[]);
    let planned = start.elapsed();
    let blueprints = blueprint::load_all(dir.path()).unwrap();
    let rendered = render::render(&plan, &blueprints).unwrap();
    let done = start.elapsed();
    let files: usize = rendered.branches.iter().map(|(_, tree)| tree.len()).sum();
    let bytes: usize = rendered
        .branches
        .iter()
        .flat_map(|(_, tree)| tree.iter())
        .map(|(_, content)| content.len())
        .sum();
    println!(
        "load {:>8.1?}  model {:>8.1?}  plan {:>8.1?}  render {:>8.1?}",
        loaded,
        modelled - loaded,
        planned - modelled,
        done - planned
    );
    println!(
        "{} units, {files} files, {:.1} MiB rendered: {:.0} files/s end to end",
        plan.units.len(),
        bytes as f64 / 1048576.0,
        files as f64 / done.as_secs_f64()
    );

    let out = dir.path().join("out");
    let start = Instant::now();
    write::write(&out, &rendered.branches, write::Options::default()).unwrap();
    let first = start.elapsed();
    let start = Instant::now();
    let report = write::write(&out, &rendered.branches, write::Options::default()).unwrap();
    let second = start.elapsed();
    assert!(report.is_empty());
    println!("write: first {first:.1?}, unchanged re-write {second:.1?}");
    if let Some(peak) = support::peak_rss_mib() {
        println!("peak resident memory: {peak:.0} MiB");
    }
}
