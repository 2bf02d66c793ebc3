//! Growth benchmark: one dimension of a fleet doubled at a time — tenants on one cluster, apps
//! of one tenant (files in one folder), remote and Cluster API clusters of one manager,
//! environments — with every command timed as a whole process at each size. Each time is
//! printed with its ratio to the size before: about 2 is linear, 4 would be quadratic.
//!
//! `cargo bench --bench growth`; `FLEETGEN_BENCH_GROWTH=tenants,apps` picks dimensions (all by
//! default). It prints figures and asserts nothing about time.

mod support;

use std::path::Path;
use std::time::Duration;

use support::process::{git, init_fleet_repo, measure};
use support::synthetic::{Shape, write_fleet};

const BIN: &str = env!("CARGO_BIN_EXE_fleetgen");

/// A dimension: its name, the sizes it is measured at, and the fleet of each size.
struct Dimension {
    name: &'static str,
    sizes: [usize; 3],
    shape: fn(usize) -> Shape,
}

const fn one_of_each() -> Shape {
    Shape {
        clusters: 1,
        environments: 1,
        tenants: 1,
        apps: 1,
        remote_every: 0,
        capi_every: 0,
        tenant_clusters: 0,
        tenant_repos: "https://git.example.com",
    }
}

const DIMENSIONS: [Dimension; 5] = [
    Dimension {
        name: "tenants",
        sizes: [1000, 2000, 4000],
        shape: |size| Shape {
            tenants: size,
            ..one_of_each()
        },
    },
    Dimension {
        name: "apps",
        sizes: [1000, 2000, 4000],
        shape: |size| Shape {
            apps: size,
            ..one_of_each()
        },
    },
    Dimension {
        name: "remote",
        sizes: [500, 1000, 2000],
        // Every cluster but the first is remote, driven by the first.
        shape: |size| Shape {
            clusters: size,
            remote_every: 1,
            ..one_of_each()
        },
    },
    Dimension {
        name: "capi",
        sizes: [250, 500, 1000],
        shape: |size| Shape {
            clusters: size,
            capi_every: 1,
            ..one_of_each()
        },
    },
    Dimension {
        name: "environments",
        sizes: [25, 50, 100],
        shape: |size| Shape {
            clusters: 10,
            environments: size,
            tenants: 10,
            ..one_of_each()
        },
    },
];

/// The commands timed at each size, in the order they run.
const COMMANDS: [&str; 5] = [
    "check",
    "render",
    "no-op render",
    "first commit",
    "one-tenant commit",
];

/// Every command's time on a fresh fleet of `shape`, validated afresh each time.
fn run(shape: &Shape) -> [Duration; 5] {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = dir.path();
    write_fleet(root, shape, None);
    init_fleet_repo(root);
    let time = |args: &[&str]| measure(root, BIN, args).time;
    let check = time(&["check", "--no-drift", "--no-cache"]);
    let render = time(&["render", "--no-cache"]);
    let noop = time(&["render", "--no-cache"]);
    let first = time(&["commit", "-m", "bench", "--no-cache"]);
    move_tenant_repo(root);
    let change = time(&["commit", "-m", "bench", "--no-cache"]);
    [check, render, noop, first, change]
}

/// Moves the first tenant's repository, and commits that to the fleet source.
fn move_tenant_repo(root: &Path) {
    let path = root.join("fleet/tenants/t000.yaml");
    let text = std::fs::read_to_string(&path).expect("read the first tenant");
    let moved = text.replace("git.example.com", "git.example.org");
    assert_ne!(text, moved, "the tenant names its repository");
    std::fs::write(&path, moved).expect("write the first tenant");
    git(root, &["commit", "-q", "-am", "move t000's repository"]);
}

fn main() {
    let picked = std::env::var("FLEETGEN_BENCH_GROWTH").ok();
    let picked: Option<Vec<&str>> = picked
        .as_deref()
        .map(|names| names.split(',').map(str::trim).collect());
    println!(
        "| dimension | size | {} |",
        COMMANDS.join(" s (×) | ") + " s (×)"
    );
    println!("|---|---:|{}", "---:|".repeat(COMMANDS.len()));
    for dimension in DIMENSIONS.iter().filter(|dimension| {
        picked
            .as_ref()
            .is_none_or(|names| names.contains(&dimension.name))
    }) {
        let mut previous: Option<[Duration; 5]> = None;
        for size in dimension.sizes {
            let shape = (dimension.shape)(size);
            eprintln!("{} = {size}: {}", dimension.name, shape.describe());
            let times = run(&shape);
            let cells: Vec<String> = times
                .iter()
                .enumerate()
                .map(|(index, time)| match previous {
                    Some(before) => format!(
                        "{:.2} ({:.1})",
                        time.as_secs_f64(),
                        time.as_secs_f64() / before[index].as_secs_f64()
                    ),
                    None => format!("{:.2}", time.as_secs_f64()),
                })
                .collect();
            println!("| {} | {size} | {} |", dimension.name, cells.join(" | "));
            previous = Some(times);
        }
    }
}
