//! Validation throughput on a large synthetic fleet: 60 clusters (a fifth of them remote),
//! three environments, 30 tenants with three apps each on ten clusters, rendered with the
//! default blueprints and the example fleet's own, then validated against the embedded
//! upstream schemas.
//!
//! Run with `cargo bench --bench validate`; it prints objects validated per second. It asserts
//! nothing about time.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetgen::validate::{self, Options, Schemas};
use support::synthetic::{Shape, write_fleet};

const SHAPE: Shape = Shape {
    clusters: 60,
    environments: 3,
    tenants: 30,
    apps: 3,
    remote_every: 5,
    capi_every: 0,
    // Each tenant runs on a slice of ten clusters, not on all sixty.
    tenant_clusters: 10,
    tenant_repos: "https://git.example.com",
};
const ROUNDS: usize = 5;

/// The synthetic fleet with the example fleet's own blueprints, and the defaults and keys they
/// rely on.
fn synthetic_fleet(root: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example =
        std::fs::read_to_string(repo.join("fleet/fleet.yaml")).expect("the example fleet.yaml");
    let settings = &example[example
        .find("\ndefaults:")
        .expect("the example has settings")..];
    write_fleet(root, &SHAPE, Some(settings));
    for entry in walkdir::WalkDir::new(repo.join("blueprints")) {
        let entry = entry.expect("walk blueprints");
        if entry.file_type().is_file() {
            let relative = entry
                .path()
                .strip_prefix(&repo)
                .expect("below the repository");
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().expect("files have a parent"))
                .expect("create directory");
            std::fs::copy(entry.path(), path).expect("copy blueprint");
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    synthetic_fleet(dir.path());
    let started = Instant::now();
    let compiled =
        fleetgen::pipeline::compile(dir.path(), &[]).unwrap_or_else(|error| panic!("{error}"));
    let render_time = started.elapsed();

    let started = Instant::now();
    let schemas = Schemas::embedded(None).expect("the embedded schemas load");
    let load_time = started.elapsed();

    // Whole documents, values kept, as the schema check sees them.
    let documents: Vec<_> = compiled
        .rendered
        .branches
        .iter()
        .flat_map(|(branch, tree)| {
            tree.iter()
                .filter(|(path, _)| fleetgen::render::is_yaml(path))
                .filter_map(move |(path, content)| {
                    validate::parse::parse_file(branch, path, content).ok()
                })
                .flatten()
        })
        .collect();
    let objects = documents
        .iter()
        .filter(|document| document.is_object())
        .count();
    let files: usize = compiled
        .rendered
        .branches
        .iter()
        .map(|(_, tree)| tree.len())
        .sum();

    let best = |run: &dyn Fn() -> usize| -> (Duration, usize) {
        (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                let findings = run();
                (started.elapsed(), findings)
            })
            .min_by_key(|(time, _)| *time)
            .expect("at least one round")
    };
    let (parse_time, _) = best(&|| {
        validate::parse::parse_branches(&compiled.rendered.branches)
            .0
            .len()
    });
    let (schema_time, _) =
        best(&|| validate::check_schemas(&documents, &schemas, Options::default()).len());
    let (full_time, findings) = best(&|| {
        validate::validate(
            &compiled.fleet,
            &compiled.rendered,
            &schemas,
            Options::default(),
        )
        .len()
    });

    let rate = |time: Duration| objects as f64 / time.as_secs_f64();
    println!("synthetic fleet: {}", SHAPE.describe());
    println!(
        "rendered {files} files, {objects} objects in {:.0?} (not measured below)",
        render_time
    );
    println!(
        "schemas loaded in {:.0?}; {} threads",
        load_time,
        rayon::current_num_threads()
    );
    println!(
        "parsing YAML only:    {:>8.1?}  {:>10.0} objects/s",
        parse_time,
        rate(parse_time)
    );
    println!(
        "schema checks only:   {:>8.1?}  {:>10.0} objects/s",
        schema_time,
        rate(schema_time)
    );
    println!(
        "full validation:      {:>8.1?}  {:>10.0} objects/s  ({findings} findings)",
        full_time,
        rate(full_time)
    );
}
