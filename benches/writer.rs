//! Writer benchmark: how `render`'s write compares with `cp -r` of the finished tree, what a
//! no-op and a fleet-wide change cost, and how many files are read. Run with
//! `cargo bench --bench writer` (FLEETGEN_BENCH_CLUSTERS, default 100), ideally under
//! `ulimit -n 256` to show that the writer holds no descriptor per file.
//!
//! The fleet has the shape of the scale issue: N clusters × 3 environments × 20 tenants × 2
//! apps, every tenant on every cluster, every fifth cluster remote. Figures only; nothing
//! about time is asserted.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fleetgen::pipeline;
use fleetgen::sinks::write;

fn clusters() -> usize {
    std::env::var("FLEETGEN_BENCH_CLUSTERS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100)
}

fn fleet(root: &Path, clusters: usize, flavour: &str) {
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
    for tenant in 0..20 {
        write(
            &format!("fleet/tenants/t{tenant}.yaml"),
            &format!("repo: https://example.com/{flavour}/t{tenant}\napps: [a0, a1]\n"),
        );
    }
    for env in 0..3 {
        write(&format!("environments/e{env}/environment.yaml"), "");
        for cluster in 0..clusters {
            write(&format!("environments/e{env}/clusters/c{cluster}.env"), "");
        }
        for tenant in 0..20 {
            write(&format!("environments/e{env}/tenants/t{tenant}.yaml"), "");
        }
    }
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = work();
    (value, start.elapsed())
}

fn peak_rss_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let n = clusters();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fleet(&a, n, "a");
    fleet(&b, n, "b");
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
    println!("peak resident memory {:.0} MiB", peak_rss_mib());
}
