//! Scale benchmark: synthetic fleets of N = 10, 100 and 1000 clusters, each command timed as a
//! whole process (the release binary run as a child, its peak resident memory from
//! `/usr/bin/time`), and in the same run the yardsticks: `cp -r` of the rendered tree,
//! `helm template` of an equivalent chart and a bash + envsubst loop.
//!
//! `cargo bench --bench scale` (or `just bench`). Environment:
//! - `FLEETGEN_BENCH_N=10,100` picks the sizes (default 10,100,1000);
//! - `FLEETGEN_BENCH_ENVS`, `_TENANTS`, `_APPS`, `_REMOTE_EVERY`, `_CAPI_EVERY` shape the fleet;
//! - `FLEETGEN_BENCH_GENERATE=DIR` only writes the fleet of the first size to DIR;
//! - `FLEETGEN_BENCH_SCHEMAS=DIR` validates with DIR/crds and DIR/k8s-openapi/... (the layout
//!   of the vendored upstream schemas); unset, `check` validates with what the fleet carries.
//!
//! It prints figures and asserts nothing about time, which depends on the machine.

mod support;

// The render in memory is timed in this process: with the allocator the binary ships with, so
// that it measures what `fleetgen render` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::process::{Run, measure};
use support::synthetic::{Shape, write_fleet};

const BIN: &str = env!("CARGO_BIN_EXE_fleetgen");
const HERE: &str = env!("CARGO_MANIFEST_DIR");

fn validation_section() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("FLEETGEN_BENCH_SCHEMAS")?);
    Some(format!(
        "validation:\n  crds: [{:?}]\n  kubernetes: {:?}\n",
        dir.join("crds").display().to_string(),
        dir.join("k8s-openapi/kubernetes-validate-v1.33.0-strict/_definitions.json")
            .display()
            .to_string()
    ))
}

/// Files and bytes below `dir`.
fn tree_size(dir: &Path) -> (usize, u64) {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .fold((0, 0), |(files, bytes), entry| {
            (
                files + 1,
                bytes + entry.metadata().map_or(0, |meta| meta.len()),
            )
        })
}

/// One row of the table.
#[derive(Debug, Default)]
struct Row {
    n: usize,
    load: Duration,
    render: Duration,
    objects: usize,
    write: Run,
    noop: Run,
    check: Run,
    diff: Run,
    commit: Run,
    /// A no-op render and a `check --no-drift` that reuse an earlier passing validation.
    noop_reused: Run,
    check_reused: Run,
    files: usize,
    bytes: u64,
    copy: Duration,
    helm: Option<(Duration, usize)>,
    envsubst: Option<Duration>,
}

fn bench(n: usize) -> Row {
    let shape = Shape::from_env(n);
    eprintln!("N = {n}: {}", shape.describe());
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = dir.path();
    write_fleet(root, &shape, validation_section().as_deref());
    support::process::init_fleet_repo(root);

    let mut row = Row {
        n,
        ..Row::default()
    };
    // In process: the library's stages, without writing anything.
    let started = Instant::now();
    let fleet = fleetgen::pipeline::load_fleet(root).expect("the synthetic fleet loads");
    row.load = started.elapsed();
    let started = Instant::now();
    let plan = fleetgen::plan::plan(&fleet, &[]);
    let blueprints = fleetgen::render::blueprint::load_all(root).expect("blueprints");
    let rendered = fleetgen::render::render(&plan, &blueprints).expect("render");
    // Reading the files back for the value check is part of every render, as it is of
    // `helm template`, which parses what it renders.
    let values = &rendered.values;
    fleetgen::render::values::check(&rendered.branches, values, &fleetgen::progress::Quiet)
        .expect("the synthetic fleet's values pass");
    row.render = started.elapsed();
    row.objects = rendered
        .branches
        .iter()
        .flat_map(|(_, tree)| tree.iter())
        .map(|(_, content)| {
            content
                .split(|&byte| byte == b'\n')
                .filter(|line| line.starts_with(b"kind: "))
                .count()
        })
        .sum();
    drop((rendered, blueprints, plan, fleet));

    // Every command validates afresh, as the first run after a change does; then, apart, the
    // same commands finding an earlier run's passing validation.
    row.write = measure(root, BIN, &["render", "--no-cache"]);
    row.noop = measure(root, BIN, &["render", "--no-cache"]);
    (row.files, row.bytes) = tree_size(&root.join("out"));
    row.check = measure(root, BIN, &["check", "--no-drift", "--no-cache"]);
    row.diff = measure(root, BIN, &["diff", "--stat", "--no-cache"]);
    row.commit = measure(root, BIN, &["commit", "-m", "bench", "--no-cache"]);
    measure(root, BIN, &["check", "--no-drift"]);
    row.noop_reused = measure(root, BIN, &["render"]);
    row.check_reused = measure(root, BIN, &["check", "--no-drift"]);

    let started = Instant::now();
    let status = Command::new("cp")
        .args(["-r", "out", "copy"])
        .current_dir(root)
        .status()
        .expect("run cp");
    assert!(status.success());
    row.copy = started.elapsed();
    let _ = std::fs::remove_dir_all(root.join("copy"));

    row.helm = helm(root, &shape);
    row.envsubst = envsubst(root, &shape);
    row
}

fn helm_binary() -> Option<PathBuf> {
    let local = Path::new(HERE).join(".tools/bin/helm");
    if local.is_file() {
        return Some(local);
    }
    Command::new("helm")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
        .then(|| PathBuf::from("helm"))
}

/// `helm template` of a chart that renders the same app Kustomizations: time and objects.
fn helm(root: &Path, shape: &Shape) -> Option<(Duration, usize)> {
    let helm = helm_binary()?;
    let list = |prefix: &str, count: usize, name: &dyn Fn(usize) -> String| {
        let items: Vec<String> = (0..count)
            .map(|index| format!("  - {}", name(index)))
            .collect();
        format!("{prefix}:\n{}\n", items.join("\n"))
    };
    let values = [
        list("environments", shape.environments, &|env| format!("e{env}")),
        list(
            "clusters",
            shape.clusters,
            &support::synthetic::cluster_name,
        ),
        list("tenants", shape.tenants, &|tenant| format!("t{tenant:03}")),
        list("apps", shape.apps, &|app| format!("app{app}")),
    ]
    .concat();
    let values_file = root.join("helm-values.yaml");
    std::fs::write(&values_file, values).expect("write helm values");
    let chart = Path::new(HERE).join("benches/fixtures/tenant-apps");
    let run = measure(
        root,
        &helm.display().to_string(),
        &[
            "template",
            "apps",
            &chart.display().to_string(),
            "-f",
            &values_file.display().to_string(),
        ],
    );
    Some((run.time, shape.app_objects()))
}

/// The bash + envsubst loop over at most 10 clusters per environment, scaled linearly to all
/// of them: at N = 1000 the whole loop would run for many minutes.
fn envsubst(root: &Path, shape: &Shape) -> Option<Duration> {
    let fixtures = Path::new(HERE).join("benches/fixtures");
    let sample = shape.clusters.min(10);
    let out = root.join("envsubst-out");
    let run = measure(
        root,
        "bash",
        &[
            &fixtures.join("envsubst-apps.sh").display().to_string(),
            &root.display().to_string(),
            &out.display().to_string(),
            &fixtures
                .join("app-kustomization.yaml.tmpl")
                .display()
                .to_string(),
            &sample.to_string(),
        ],
    );
    Some(run.time.mul_f64(shape.clusters as f64 / sample as f64))
}

fn seconds(time: Duration) -> String {
    format!("{:.2}", time.as_secs_f64())
}

fn main() {
    let sizes: Vec<usize> = std::env::var("FLEETGEN_BENCH_N")
        .unwrap_or_else(|_| "10,100,1000".to_owned())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    if let Some(dir) = std::env::var_os("FLEETGEN_BENCH_GENERATE") {
        let shape = Shape::from_env(sizes.first().copied().unwrap_or(100));
        write_fleet(Path::new(&dir), &shape, validation_section().as_deref());
        eprintln!("wrote {}", shape.describe());
        return;
    }
    let rows: Vec<Row> = sizes.iter().map(|&n| bench(n)).collect();
    println!();
    println!(
        "| N | load s | render (memory) s | write s | no-op s | check s (CPU s) | diff s | commit s | files | MB | peak MiB render / no-op / check / diff / commit |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {:.1} | {:.0} / {:.0} / {:.0} / {:.0} / {:.0} |",
            row.n,
            seconds(row.load),
            seconds(row.render),
            seconds(row.write.time),
            seconds(row.noop.time),
            seconds(row.check.time),
            seconds(row.check.cpu),
            seconds(row.diff.time),
            seconds(row.commit.time),
            row.files,
            row.bytes as f64 / 1e6,
            row.write.peak_mib,
            row.noop.peak_mib,
            row.check.peak_mib,
            row.diff.peak_mib,
            row.commit.peak_mib,
        );
    }
    println!();
    println!(
        "| N | no-op s, validated afresh / reused | check s, validated afresh / reused | peak MiB, reused no-op / check |"
    );
    println!("|---:|---:|---:|---|");
    for row in &rows {
        println!(
            "| {} | {} / {} | {} / {} | {:.0} / {:.0} |",
            row.n,
            seconds(row.noop.time),
            seconds(row.noop_reused.time),
            seconds(row.check.time),
            seconds(row.check_reused.time),
            row.noop_reused.peak_mib,
            row.check_reused.peak_mib,
        );
    }
    println!();
    println!(
        "| N | render+write / cp -r (≤ 1.5) | no-op / render+write (< 0.5) | render objects/s | helm objects/s | render / helm (≥ 10) | check objects/s | envsubst loop / render+write |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let render_rate = row.objects as f64 / row.render.as_secs_f64();
        let helm_rate = row
            .helm
            .map(|(time, objects)| objects as f64 / time.as_secs_f64());
        println!(
            "| {} | {:.2} | {:.2} | {:.0} | {} | {} | {:.0} | {} |",
            row.n,
            row.write.time.as_secs_f64() / row.copy.as_secs_f64(),
            row.noop.time.as_secs_f64() / row.write.time.as_secs_f64(),
            render_rate,
            helm_rate.map_or("-".to_owned(), |rate| format!("{rate:.0}")),
            helm_rate.map_or("-".to_owned(), |rate| format!("{:.1}", render_rate / rate)),
            row.objects as f64 / row.check.time.as_secs_f64(),
            row.envsubst.map_or("-".to_owned(), |time| format!(
                "{:.1}",
                time.as_secs_f64() / row.write.time.as_secs_f64()
            )),
        );
    }
}
