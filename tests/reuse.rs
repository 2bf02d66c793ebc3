//! A passing validation is kept in the fleet repo's Git directory and reused by the next
//! command that validates exactly the same thing: `render`, then `diff`, then `commit` of one
//! fleet validate it once. Anything validation reads, and fleetgen itself, is part of what must
//! be the same.

mod common;

use std::fs;
use std::path::Path;

use common::capi::replace_in;
use common::{add_blueprint, example_fleet, fleetgen, snapshot_dir};

const REUSED: &str = "its findings are reused";

/// What `--verbose` says when a run's inputs passed validation lately.
const FORESEEN: &str = "the same inputs passed lately; no validators made ahead";

/// An object of a kind no schema knows: a warning on every run, which a reused result must
/// print as a fresh one does.
fn plant_unknown_kind(root: &Path) {
    add_blueprint(
        root,
        "widgets",
        "scope: cluster\nwhen: not cluster.remote\ntarget: infra/{{ cluster.name }}/widgets\n",
        &[(
            "widget.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: widget\n  namespace: default\n",
        )],
    );
}

/// Exit code and stderr of `fleetgen --verbose <args>`, outside CI (where nothing is reused).
fn run(root: &Path, args: &[&str]) -> (i32, String) {
    let output = fleetgen(root)
        .env_remove("CI")
        .arg("--verbose")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The findings and the verdict of a run, without its timings.
fn findings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            line.contains("warning:") || line.contains("error:") || line.starts_with("fleetgen:")
        })
        .collect()
}

/// How many results are kept.
fn kept(root: &Path) -> usize {
    kept_named(root, ".json")
}

/// How many notes of the inputs of runs that passed are kept.
fn noted(root: &Path) -> usize {
    kept_named(root, ".inputs")
}

fn kept_named(root: &Path, suffix: &str) -> usize {
    fs::read_dir(root.join(".git/fleetgen/validated")).map_or(0, |entries| {
        entries
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(suffix)
            })
            .count()
    })
}

#[test]
fn a_passing_validation_is_reused_until_anything_it_reads_changes() {
    let fleet = example_fleet();
    let root = fleet.path();
    git2::Repository::init(root).unwrap();
    plant_unknown_kind(root);

    let (code, fresh) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 0, "{fresh}");
    assert!(!fresh.contains(REUSED), "{fresh}");
    assert!(!fresh.contains(FORESEEN), "{fresh}");
    assert!(
        fresh.contains("no schema for example.com/v1 Widget"),
        "{fresh}"
    );
    assert_eq!(kept(root), 1);
    assert_eq!(noted(root), 1);

    for args in [&["check", "--no-drift"][..], &["render"], &["diff"]] {
        let (code, again) = run(root, args);
        assert_eq!(code, 0, "{args:?}: {again}");
        assert!(again.contains(REUSED), "{args:?}: {again}");
        assert!(again.contains(FORESEEN), "{args:?}: {again}");
        let warnings = |stderr| -> Vec<&str> {
            findings(stderr)
                .into_iter()
                .filter(|line| line.contains("warning:"))
                .collect()
        };
        assert_eq!(warnings(&again), warnings(&fresh), "{args:?}");
    }
    let (_, again) = run(root, &["check", "--no-drift"]);
    assert_eq!(findings(&again), findings(&fresh));

    // A defect: validated afresh, found, and the failing result is not kept.
    let release = root.join("blueprints/nginx/files/release.yaml");
    let text = fs::read_to_string(&release).unwrap();
    replace_in(&release, "\n  values:", "\n  valuez: {}\n  values:");
    for args in [&["check", "--no-drift"][..], &["render"]] {
        let (code, broken) = run(root, args);
        assert_eq!(code, 1, "{args:?}: {broken}");
        assert!(!broken.contains(REUSED), "{args:?}: {broken}");
        assert!(!broken.contains(FORESEEN), "{args:?}: {broken}");
        assert!(
            broken.contains("/spec/valuez: unknown field"),
            "{args:?}: {broken}"
        );
    }
    assert_eq!(kept(root), 1);
    assert_eq!(noted(root), 1);

    // Mended, it is the first fleet again.
    fs::write(&release, &text).unwrap();
    let (code, mended) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 0, "{mended}");
    assert!(mended.contains(REUSED), "{mended}");
    assert!(mended.contains(FORESEEN), "{mended}");

    // A change validation reads that renders nothing new: the fleet's own strictness.
    let settings = root.join("fleet/fleet.yaml");
    let before = fs::read_to_string(&settings).unwrap();
    fs::write(&settings, format!("{before}\n# a comment moves nothing\n")).unwrap();
    let (code, commented) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 0, "{commented}");
    fs::write(
        &settings,
        format!("{before}\nvalidation:\n  strict: true\n"),
    )
    .unwrap();
    let (code, strict) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 1, "strict makes the Widget an error: {strict}");
    assert!(!strict.contains(REUSED), "{strict}");
    fs::write(&settings, &before).unwrap();

    // `--no-cache` validates afresh.
    let (code, afresh) = run(root, &["check", "--no-drift", "--no-cache"]);
    assert_eq!(code, 0, "{afresh}");
    assert!(!afresh.contains(REUSED), "{afresh}");

    // Another fleetgen, even a copy of this one, validates afresh.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("fleetgen");
    fs::copy(assert_cmd::cargo::cargo_bin("fleetgen"), &copy).unwrap();
    let output = std::process::Command::new(&copy)
        .env_remove("CI")
        .args([
            "-C",
            root.to_str().unwrap(),
            "--verbose",
            "check",
            "--no-drift",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(REUSED), "{stderr}");
}

#[test]
fn nothing_is_kept_outside_a_fleet_repo_or_with_no_cache_or_in_ci() {
    let fleet = example_fleet();
    let root = fleet.path();
    let before = snapshot_dir(root);
    for _ in 0..2 {
        let (code, stderr) = run(root, &["check", "--no-drift"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains(REUSED), "{stderr}");
    }
    assert_eq!(snapshot_dir(root), before, "no repo: nothing written");

    git2::Repository::init(root).unwrap();
    let before = snapshot_dir(root);
    for _ in 0..2 {
        let (code, stderr) = run(root, &["check", "--no-drift", "--no-cache"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains(REUSED), "{stderr}");
    }
    assert_eq!(snapshot_dir(root), before, "--no-cache: nothing written");

    for _ in 0..2 {
        let output = fleetgen(root)
            .env("CI", "true")
            .args(["--verbose", "check", "--no-drift"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains(REUSED), "{stderr}");
    }
    assert_eq!(snapshot_dir(root), before, "in CI: nothing written");
}

/// A run killed while it keeps its result leaves no result, only its unfinished file: the next
/// run validates afresh and keeps its own, and once that unfinished file is old, a later run
/// removes it.
#[test]
fn a_run_killed_while_keeping_its_result_leaves_none() {
    let fleet = example_fleet();
    let root = fleet.path();
    git2::Repository::init(root).unwrap();
    let output = fleetgen(root)
        .env_remove("CI")
        .env("FLEETGEN_TEST_STOP_AT", "validation-result")
        .args(["check", "--no-drift"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), None, "killed");
    let store = root.join(".git/fleetgen/validated");
    let left: Vec<_> = fs::read_dir(&store)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(".keeping-"),
        "{left:?}"
    );

    let (code, stderr) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(REUSED), "{stderr}");
    let (code, stderr) = run(root, &["check", "--no-drift"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(REUSED), "{stderr}");

    // An hour later, the next result kept takes the unfinished one away.
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .append(true)
        .open(&left[0])
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let (code, stderr) = run(root, &["check", "--no-drift", "--strict"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(REUSED), "another key: {stderr}");
    assert!(!left[0].exists());
    assert_eq!(kept(root), 2);
}
