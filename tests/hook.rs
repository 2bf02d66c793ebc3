//! The pre-commit hook on real commits: it judges what is staged, not the working tree, and
//! stays out of the way where there is no fleet source (a checkout of a rendered branch).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("fleetgen");
    Command::new("git")
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Fleet Bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.com")
        .env("GIT_COMMITTER_NAME", "Fleet Bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.com")
        .env("FLEETGEN", bin)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("git runs")
}

fn ok(dir: &Path, args: &[&str]) {
    let output = git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The example fleet committed on `main`, with the hook installed.
fn repo() -> tempfile::TempDir {
    let dir = common::example_fleet();
    ok(dir.path(), &["init", "-q", "-b", "main"]);
    ok(dir.path(), &["add", "-A"]);
    ok(dir.path(), &["commit", "-qm", "fleet source"]);
    common::fleetgen(dir.path())
        .args(["hook", "install"])
        .assert()
        .success();
    dir
}

const CLUSTER: &str = "fleet/clusters/k3d-emea.env";

fn broken(text: &str) -> String {
    format!("{text}NODE_CDIR=10.0.0.0/16\n")
}

fn edited(text: &str) -> String {
    format!("{text}SYNC_INTERVAL=3m\n")
}

#[test]
fn a_broken_file_staged_and_fixed_only_in_the_working_tree_is_refused() {
    let dir = repo();
    let file = dir.path().join(CLUSTER);
    let original = fs::read_to_string(&file).unwrap();
    fs::write(&file, broken(&original)).unwrap();
    ok(dir.path(), &["add", CLUSTER]);
    fs::write(&file, edited(&original)).unwrap();
    let output = git(dir.path(), &["commit", "-qm", "broken"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("NODE_CDIR"), "{stderr}");
}

#[test]
fn a_fixed_file_staged_and_broken_only_in_the_working_tree_passes_quietly() {
    let dir = repo();
    let file = dir.path().join(CLUSTER);
    let original = fs::read_to_string(&file).unwrap();
    fs::write(&file, edited(&original)).unwrap();
    ok(dir.path(), &["add", CLUSTER]);
    fs::write(&file, broken(&original)).unwrap();
    let output = git(dir.path(), &["commit", "-qm", "fixed"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "", "quiet on success");
}

#[test]
fn commit_all_is_judged_on_what_it_records() {
    // `git commit -a` stages into a temporary index (GIT_INDEX_FILE): the broken edit is
    // what would be recorded, so it is refused.
    let dir = repo();
    let file = dir.path().join(CLUSTER);
    let original = fs::read_to_string(&file).unwrap();
    fs::write(&file, broken(&original)).unwrap();
    let output = git(dir.path(), &["commit", "-qam", "broken"]);
    assert!(!output.status.success());
}

#[test]
fn a_commit_on_a_checkout_of_a_rendered_branch_passes() {
    let dir = repo();
    common::fleetgen(dir.path())
        .env("GIT_AUTHOR_NAME", "Fleet Bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.com")
        .arg("commit")
        .assert()
        .success();
    let worktree = tempfile::tempdir().unwrap();
    let checkout = worktree.path().join("dev");
    ok(
        dir.path(),
        &["worktree", "add", "-q", checkout.to_str().unwrap(), "dev"],
    );
    fs::write(checkout.join("README.md"), "notes\n").unwrap();
    ok(&checkout, &["add", "README.md"]);
    let output = git(&checkout, &["commit", "-qm", "notes"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "");
}
