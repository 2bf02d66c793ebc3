//! Render benchmark: a synthetic fleet of many clusters, environments, tenants and apps,
//! timed stage by stage, with the peak memory of the process. Run with
//! `cargo bench --bench render` (sizes: FLEETGEN_BENCH_CLUSTERS, _TENANTS, _APPS, _ENVS).
//!
//! This prints figures; it asserts nothing about time, which depends on the machine.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

use fleetgen::model::Fleet;
use fleetgen::render::{self, blueprint};
use fleetgen::sinks::write;
use fleetgen::{load, plan};

fn size(name: &str, default: usize) -> usize {
    std::env::var(format!("FLEETGEN_BENCH_{name}"))
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Writes a fleet where every fifth cluster is remote (driven by its predecessor) and every
/// tenant is in every environment on every cluster.
fn synthetic_fleet(root: &Path, clusters: usize, tenants: usize, apps: usize, envs: usize) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "fleet/fleet.yaml",
        "repo:\n  url: https://example.com/fleet\n",
    );
    for cluster in 0..clusters {
        let mut text = format!(
            "POD_CIDR=10.{}.{}.0/20\n",
            cluster / 16,
            (cluster % 16) * 16
        );
        let _ = writeln!(
            text,
            "SERVICE_CIDR=10.{}.{}.0/20",
            128 + cluster / 16,
            (cluster % 16) * 16
        );
        if cluster % 5 == 4 {
            let _ = writeln!(text, "FLUX=remote\nMANAGED_BY=c{}", cluster - 1);
        }
        write(&format!("fleet/clusters/c{cluster}.env"), &text);
    }
    let app_list: Vec<String> = (0..apps).map(|app| format!("a{app}")).collect();
    for tenant in 0..tenants {
        write(
            &format!("fleet/tenants/t{tenant}.yaml"),
            &format!(
                "repo: https://example.com/t{tenant}\napps: [{}]\n",
                app_list.join(", ")
            ),
        );
    }
    for env in 0..envs {
        write(&format!("environments/e{env}/environment.yaml"), "");
        for cluster in 0..clusters {
            write(&format!("environments/e{env}/clusters/c{cluster}.env"), "");
        }
        for tenant in 0..tenants {
            write(&format!("environments/e{env}/tenants/t{tenant}.yaml"), "");
        }
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let (clusters, tenants, apps, envs) = (
        size("CLUSTERS", 60),
        size("TENANTS", 100),
        size("APPS", 3),
        size("ENVS", 3),
    );
    let dir = tempfile::tempdir().unwrap();
    synthetic_fleet(dir.path(), clusters, tenants, apps, envs);
    println!("fleet: {clusters} clusters, {tenants} tenants x {apps} apps, {envs} environments");

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
    if let Some(peak) = peak_rss_mib() {
        println!("peak resident memory: {peak:.0} MiB");
    }
}
