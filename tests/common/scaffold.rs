//! The scaffolding commands run as a user would, for the `scaffold_*` tests: every
//! successful command must leave a fleet that renders and passes `check`, and every refused one
//! must leave the fleet source as it was.

use std::fs;
use std::path::Path;

use fleetgen::pipeline;

/// `add-cluster` of `ci-1`, a Cluster API (Docker) cluster with its own Flux in dev, managed
/// by the example fleet's `k3d-america`: the cluster the hand-over tests add.
pub const ADD_DOCKER_CI_1: &[&str] = &[
    "add-cluster",
    "ci-1",
    "--provider",
    "docker",
    "--managed-by",
    "k3d-america",
    "--flux",
    "local",
    "--env",
    "dev",
    "--set",
    "KUBERNETES_VERSION=v1.33.1",
    "--set",
    "POD_CIDR=10.70.0.0/16",
    "--set",
    "SERVICE_CIDR=10.71.0.0/16",
];

/// What a command printed, and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(root: &Path, args: &[&str]) -> Run {
    let output = super::fleetgen(root)
        .args(args)
        .output()
        .expect("run fleetgen");
    let run = Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "fleetgen panicked:\n{}",
        run.stderr
    );
    run
}

/// Runs a command that must succeed and returns its stderr.
pub fn ok(root: &Path, args: &[&str]) -> String {
    let run = run(root, args);
    assert_eq!(
        run.code,
        0,
        "fleetgen {} failed:\n{}",
        args.join(" "),
        run.stderr
    );
    run.stderr
}

/// Runs a command that must be refused; checks nothing was written and returns its stderr.
pub fn refused(root: &Path, args: &[&str]) -> String {
    let before = source_snapshot(root);
    let run = run(root, args);
    assert_eq!(
        run.code,
        1,
        "fleetgen {} should fail with exit 1:\n{}",
        args.join(" "),
        run.stderr
    );
    assert_eq!(
        source_snapshot(root),
        before,
        "a refused command changed the fleet source"
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    run.stderr
}

/// The fleet source files (not the output), for before/after comparisons.
pub fn source_snapshot(root: &Path) -> String {
    let mut text = String::new();
    for folder in ["fleet", "environments", "blueprints"] {
        let dir = root.join(folder);
        if dir.exists() {
            text.push_str(&super::snapshot_dir(&dir).replace("=== ", &format!("=== {folder}/")));
        }
    }
    text
}

/// The fleet must load, render and pass `check` (without comparing with branches, which a
/// fleet under construction has not got yet) after every successful command.
pub fn assert_renders(root: &Path) {
    if let Err(error) = pipeline::compile(root, &[]) {
        panic!("the fleet does not render:\n{error}");
    }
    let check = run(root, &["check", "--no-drift"]);
    assert_eq!(
        check.code, 0,
        "check is not clean:\n{}{}",
        check.stdout, check.stderr
    );
}

/// Runs a command three times: as a dry run (prints a diff, writes nothing), for real, and
/// again (nothing to do, nothing written). Returns the real run's stderr.
pub fn first_dry_second(root: &Path, args: &[&str]) -> String {
    let before = source_snapshot(root);
    let mut dry_args = args.to_vec();
    dry_args.push("--dry-run");
    let dry = run(root, &dry_args);
    assert_eq!(dry.code, 0, "dry run failed:\n{}", dry.stderr);
    assert!(dry.stdout.starts_with("--- "), "no diff:\n{}", dry.stdout);
    assert!(dry.stderr.contains("dry run: nothing was written"));
    assert_eq!(source_snapshot(root), before, "the dry run wrote files");

    let first = ok(root, args);
    assert_ne!(source_snapshot(root), before, "the command changed nothing");
    assert_renders(root);

    let after_first = source_snapshot(root);
    let second = ok(root, args);
    assert!(
        second.starts_with("nothing to do"),
        "second run of {}:\n{second}",
        args.join(" ")
    );
    assert_eq!(
        source_snapshot(root),
        after_first,
        "the second run changed files"
    );
    first
}

/// `file:line:column` of the value of `key` in a dotenv file, as the loader reports it.
pub fn value_location(root: &Path, file: &str, key: &str) -> String {
    let text = read(root, file);
    let prefix = format!("{key}=");
    let index = text
        .lines()
        .position(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{key} is not set in {file}"));
    format!("{file}:{}:{}", index + 1, prefix.len() + 1)
}

pub fn read(root: &Path, file: &str) -> String {
    fs::read_to_string(root.join(file)).unwrap_or_else(|_| panic!("{file} is missing"))
}
