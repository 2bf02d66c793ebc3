//! Validation throughput on a large synthetic fleet: 60 clusters (a fifth of them remote),
//! three environments, 30 tenants with three apps each, rendered with the default blueprints
//! and the example fleet's own, then validated against the embedded upstream schemas.
//!
//! Run with `cargo bench --bench validate`; it prints objects validated per second. It asserts
//! nothing about time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetgen::validate::{self, Options, Schemas};

const CLUSTERS: usize = 60;
const TENANTS: usize = 30;
const ENVIRONMENTS: [&str; 3] = ["dev", "qa", "prod"];
const ROUNDS: usize = 5;

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("files have a parent")).expect("create directory");
    std::fs::write(path, text).expect("write file");
}

fn synthetic_fleet(root: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fleet_file =
        std::fs::read_to_string(repo.join("fleet/fleet.yaml")).expect("the example fleet.yaml");
    write(root, "fleet/fleet.yaml", &fleet_file);
    for entry in walkdir::WalkDir::new(repo.join("blueprints")) {
        let entry = entry.expect("walk blueprints");
        if entry.file_type().is_file() {
            let relative = entry
                .path()
                .strip_prefix(&repo)
                .expect("below the repository");
            let text = std::fs::read_to_string(entry.path()).expect("read blueprint");
            write(root, &relative.to_string_lossy(), &text);
        }
    }
    for index in 0..CLUSTERS {
        let remote = index % 5 == 4;
        let mut text = format!("POD_CIDR=10.{index}.0.0/17\nSERVICE_CIDR=10.{index}.128.0/17\n");
        if remote {
            text.push_str(&format!("FLUX=remote\nMANAGED_BY=c{:03}\n", index - 1));
        }
        write(root, &format!("fleet/clusters/c{index:03}.env"), &text);
    }
    for tenant in 0..TENANTS {
        write(
            root,
            &format!("fleet/tenants/t{tenant:02}.yaml"),
            &format!(
                "repo: https://git.example.com/t{tenant:02}/apps\napps:\n  - api\n  - web\n  - worker\n"
            ),
        );
    }
    for env in ENVIRONMENTS {
        write(
            root,
            &format!("environments/{env}/environment.yaml"),
            "# defaults\n",
        );
        for index in 0..CLUSTERS {
            write(
                root,
                &format!("environments/{env}/clusters/c{index:03}.env"),
                "# member\n",
            );
        }
        for tenant in 0..TENANTS {
            // Each tenant runs on a slice of the clusters, managers included.
            let first = (tenant * 2) % (CLUSTERS - 10);
            let clusters: String = (first..first + 10)
                .map(|index| format!("  - c{index:03}\n"))
                .collect();
            write(
                root,
                &format!("environments/{env}/tenants/t{tenant:02}.yaml"),
                &format!("clusters:\n{clusters}"),
            );
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
                    validate::document::parse_file(branch, path, content).ok()
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
        validate::document::parse_branches(&compiled.rendered.branches)
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
    println!(
        "synthetic fleet: {CLUSTERS} clusters, {} environments, {TENANTS} tenants",
        ENVIRONMENTS.len()
    );
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
