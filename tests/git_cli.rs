//! `commit`, `diff`, `check` and `hook` run as the binary, on the example fleet in a
//! repository of its own: its source committed on `main`, which is therefore also the fleet
//! repo (the default when fleet.yaml sets no path). `tests/git.rs` drives the library on
//! repositories built by hand.

mod common;

use std::fs;
use std::path::Path;

use common::git::{checkout_state, files, head};
use fleetgen::sinks::git;
use git2::{Repository, Signature, Time};
use tempfile::TempDir;

const TIME: i64 = 1_700_000_000;

/// Fixed identity and time for every commit the binary makes.
const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_AUTHOR_NAME", "Fleet Bot"),
    ("GIT_AUTHOR_EMAIL", "bot@example.com"),
    ("GIT_AUTHOR_DATE", "1700000000 +0000"),
    ("GIT_COMMITTER_NAME", "Fleet Bot"),
    ("GIT_COMMITTER_EMAIL", "bot@example.com"),
    ("GIT_COMMITTER_DATE", "1700000000 +0000"),
];

fn example_repo() -> (TempDir, Repository) {
    source_repo(common::example_fleet())
}

/// `dir` as a repository whose `main` holds the fleet source in `dir`.
fn source_repo(dir: TempDir) -> (TempDir, Repository) {
    let repo = Repository::init_opts(
        dir.path(),
        git2::RepositoryInitOptions::new().initial_head("main"),
    )
    .unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    {
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let who = Signature::new("Someone", "someone@example.com", &Time::new(TIME, 0)).unwrap();
        repo.commit(Some("HEAD"), &who, &who, "fleet source", &tree, &[])
            .unwrap();
    }
    (dir, repo)
}

fn fleetgen(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut command = common::fleetgen(root);
    command.envs(GIT_ENV).args(args);
    command.assert()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[test]
fn cli_commit_creates_the_branches_once_and_updates_the_clean_checkout() {
    let (dir, repo) = example_repo();
    let before = checkout_state(&repo);

    let first = fleetgen(dir.path(), &["commit"]).success();
    let refs: Vec<String> = stdout(&first)
        .lines()
        .map(|line| line.split_once(' ').unwrap().1.to_owned())
        .collect();
    assert_eq!(refs, ["refs/heads/dev", "refs/heads/main", "refs/heads/qa"]);
    for line in stdout(&first).lines() {
        let (oid, refname) = line.split_once(' ').unwrap();
        assert_eq!(git::head(&repo, refname).unwrap().unwrap().to_string(), oid);
    }
    // The source stays on main, next to the rendered files.
    let main = files(&repo, "main");
    assert!(
        main.contains_key("fleet/fleet.yaml")
            && main
                .keys()
                .any(|path| path.starts_with("clusters/k3d-america/"))
    );
    let dev = repo.find_commit(head(&repo, "dev").unwrap()).unwrap();
    assert_eq!(
        (dev.author().name(), dev.time().seconds()),
        (Ok("Fleet Bot"), TIME)
    );

    // main is checked out here and was clean: its files and index moved with it.
    let after = checkout_state(&repo);
    assert_eq!(after.statuses, before.statuses);
    assert!(after.files.len() > before.files.len());
    assert_eq!(
        after.files.get("clusters/k3d-america/infrastructure.yaml"),
        main.get("clusters/k3d-america/infrastructure.yaml")
            .map(|content| content.as_bytes().to_vec())
            .as_ref()
    );
    assert!(
        stderr(&first).contains("updated the checkout in"),
        "{}",
        stderr(&first)
    );

    let heads = (head(&repo, "main"), head(&repo, "dev"), head(&repo, "qa"));
    let second = fleetgen(dir.path(), &["commit"]).success();
    assert_eq!(stdout(&second), "");
    assert_eq!(
        (head(&repo, "main"), head(&repo, "dev"), head(&repo, "qa")),
        heads
    );

    let diff = fleetgen(dir.path(), &["diff", "--exit-code"]).success();
    assert_eq!(stdout(&diff), "");
    assert!(
        stderr(&diff).contains("no changes: the fleet repo's branches match"),
        "{}",
        stderr(&diff)
    );
    fleetgen(dir.path(), &["check"]).success();
}

#[test]
fn cli_a_changed_tenant_shows_in_diff_and_lands_on_its_branch_only() {
    let (dir, repo) = example_repo();
    fleetgen(dir.path(), &["commit"]).success();
    let (main, dev, qa) = (
        head(&repo, "main"),
        head(&repo, "dev").unwrap(),
        head(&repo, "qa"),
    );

    let membership = dir.path().join("environments/dev/tenants/kaizentm.yaml");
    let mut text = fs::read_to_string(&membership).unwrap();
    text.push_str("branch: feature-x\n");
    fs::write(&membership, text).unwrap();

    // Without --exit-code a difference is not a failure; with it, it is.
    fleetgen(dir.path(), &["diff"]).success();
    let diff = fleetgen(dir.path(), &["diff", "--exit-code"]).code(1);
    let patch = stdout(&diff);
    assert!(
        patch.contains("+++ b/dev/tenants/k3d-america/kaizentm/gitrepository.yaml"),
        "{patch}"
    );
    assert!(
        patch.contains("-    branch: \"dev\"\n+    branch: \"feature-x\"\n"),
        "{patch}"
    );
    assert!(!patch.contains("\u{1b}["), "NO_COLOR is set");
    assert!(
        stderr(&diff).contains("clusters k3d-america, k3d-emea: tenant kaizentm"),
        "{}",
        stderr(&diff)
    );
    let stat = stdout(&fleetgen(dir.path(), &["diff", "--stat", "--exit-code"]).code(1));
    assert!(
        stat.ends_with(" 3 files changed, 4 insertions(+), 4 deletions(-)\n"),
        "{stat}"
    );
    let coloured = stdout(&fleetgen(dir.path(), &["diff", "--color", "always"]).success());
    assert!(coloured.contains("\u{1b}["), "{coloured}");

    // check: one finding per drifted branch, machine-readable.
    let check = fleetgen(dir.path(), &["check", "--format", "json"]).code(1);
    let findings: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    let errors: Vec<(&str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| (f["rule"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(
            "drift",
            "branch dev: 2 files differ from the rendered fleet (2 modified): \
             tenants/k3d-america/kaizentm/gitrepository.yaml, tenants/k3d-emea/kaizentm/gitrepository.yaml"
        )]
    );
    // The example fleet validates cleanly against the embedded schemas: drift is the only finding.
    let human = fleetgen(dir.path(), &["check"]).code(1);
    assert!(
        stderr(&human).ends_with("fleetgen: 1 error found\n"),
        "{}",
        stderr(&human)
    );
    fleetgen(dir.path(), &["check", "--no-drift"]).success();

    let commit = fleetgen(dir.path(), &["commit", "-m", "Move kaizentm to feature-x"]).success();
    let new_dev = head(&repo, "dev").unwrap();
    assert_eq!(stdout(&commit), format!("{new_dev} refs/heads/dev\n"));
    assert_eq!((head(&repo, "main"), head(&repo, "qa")), (main, qa));
    let commit = repo.find_commit(new_dev).unwrap();
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), [dev]);
    assert_eq!(commit.summary(), Ok(Some("Move kaizentm to feature-x")));
    assert!(
        commit
            .message()
            .unwrap()
            .contains("clusters k3d-america, k3d-emea: tenant kaizentm")
    );
    fleetgen(dir.path(), &["check"]).success();
}

#[test]
fn cli_check_reports_an_invalid_fleet_as_json_findings() {
    let (dir, _repo) = example_repo();
    let cluster = dir.path().join("fleet/clusters/k3d-emea.env");
    let mut text = fs::read_to_string(&cluster).unwrap();
    text.push_str("NODE_CDIR=10.0.0.0/16\n");
    fs::write(&cluster, text).unwrap();
    let check = fleetgen(dir.path(), &["check", "--format", "json"]).code(1);
    let findings: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    let finding = &findings[0];
    assert_eq!(finding["rule"], "unknown-key");
    assert_eq!(
        finding["file"]
            .as_str()
            .map(|file| file.ends_with("fleet/clusters/k3d-emea.env")),
        Some(true)
    );
    assert!(finding["line"].as_u64().unwrap() > 1);
    // Nothing is committed from an invalid fleet.
    fleetgen(dir.path(), &["commit"]).code(1);
}

#[test]
fn cli_require_clean_refuses_uncommitted_source_after_the_gate() {
    let (dir, repo) = example_repo();
    let cluster = dir.path().join("fleet/clusters/k3d-emea.env");
    let clean = fs::read_to_string(&cluster).unwrap();

    // A valid edit not committed: refused, naming the file, with nothing committed.
    fs::write(&cluster, format!("{clean}SYNC_INTERVAL=7m\n")).unwrap();
    let refused = fleetgen(dir.path(), &["commit", "--require-clean"]).code(2);
    assert!(
        stderr(&refused).contains("uncommitted changes (fleet/clusters/k3d-emea.env)"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(head(&repo, "dev"), None);

    // An invalid one: the gate's finding is the error, not the uncommitted source.
    fs::write(&cluster, format!("{clean}NODE_CDIR=10.0.0.0/16\n")).unwrap();
    let invalid = fleetgen(dir.path(), &["commit", "--require-clean"]).code(1);
    assert!(
        stderr(&invalid).contains("[unknown-key]"),
        "{}",
        stderr(&invalid)
    );
    assert!(
        !stderr(&invalid).contains("uncommitted"),
        "{}",
        stderr(&invalid)
    );
    assert_eq!(head(&repo, "dev"), None);

    // Without --require-clean the valid edit is committed, with a note.
    fs::write(&cluster, format!("{clean}SYNC_INTERVAL=7m\n")).unwrap();
    let noted = fleetgen(dir.path(), &["commit"]).success();
    assert!(
        stderr(&noted).contains("rendered with uncommitted changes of the fleet source"),
        "{}",
        stderr(&noted)
    );
    assert!(head(&repo, "dev").is_some());
}

#[test]
fn cli_usage_errors_exit_with_2() {
    let (dir, repo) = example_repo();
    fleetgen(dir.path(), &["diff", "--color", "sometimes"]).code(2);
    fleetgen(dir.path(), &["commit", "--branch-prefix", "bad..prefix"]).code(2);
    let itself = fleetgen(dir.path(), &["diff", "--env", "qa", "--against", "qa"]).code(2);
    assert_eq!(
        stderr(&itself),
        "error: --against qa compares qa with itself: name the environment to promote from\n"
    );
    assert_eq!(head(&repo, "dev"), None);
}

#[test]
fn cli_branch_prefix_and_dry_run_leave_the_branches_alone() {
    let (dir, repo) = example_repo();
    let dry = fleetgen(dir.path(), &["commit", "--dry-run"]).success();
    assert_eq!(stdout(&dry), "");
    assert!(
        stderr(&dry).contains("refs/heads/dev: would commit"),
        "{}",
        stderr(&dry)
    );
    assert_eq!(head(&repo, "dev"), None);

    fleetgen(dir.path(), &["commit", "--env", "dev"]).success();
    assert_eq!(
        head(&repo, "qa"),
        None,
        "--env restricts the environment branches"
    );
    let dev = head(&repo, "dev");
    fs::write(
        dir.path().join("environments/dev/tenants/yakuza.yaml"),
        "clusters: [k3d-america]\n",
    )
    .unwrap();
    let proposal = fleetgen(
        dir.path(),
        &[
            "commit",
            "--env",
            "dev",
            "--branch-prefix",
            "fleetgen/review",
        ],
    )
    .success();
    assert!(
        stdout(&proposal).ends_with(" refs/heads/fleetgen/review/dev\n"),
        "{}",
        stdout(&proposal)
    );
    assert_eq!(head(&repo, "dev"), dev);
    let proposed = repo
        .find_commit(head(&repo, "fleetgen/review/dev").unwrap())
        .unwrap();
    assert_eq!(proposed.parent_ids().next(), dev);
}

#[test]
fn cli_without_a_repository_diff_compares_with_the_output_directory() {
    let dir = common::example_fleet();
    let out = dir.path().join("rendered");
    fleetgen(dir.path(), &["render", "--out", out.to_str().unwrap()]).success();
    let diff = fleetgen(
        dir.path(),
        &["diff", "--exit-code", "--out", out.to_str().unwrap()],
    )
    .success();
    assert!(
        stderr(&diff).contains("no changes: the output directory matches"),
        "{}",
        stderr(&diff)
    );

    // A hand-written file is nobody's business; an edited generated one is a finding.
    fs::write(out.join("dev/notes.md"), "hand-written\n").unwrap();
    fleetgen(dir.path(), &["check", "--out", out.to_str().unwrap()]).success();
    let edited = "main/clusters/k3d-emea/environments/dev/sync.yaml";
    fs::write(out.join(edited), "edited by hand\n").unwrap();
    let check = fleetgen(
        dir.path(),
        &["check", "--out", out.to_str().unwrap(), "--format", "json"],
    )
    .code(1);
    let findings: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    // Without schema sources, validation adds one `no-schemas` warning; the errors are drift.
    let findings: Vec<&serde_json::Value> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "edited-by-hand");
    assert_eq!(findings[0]["file"], out.join(edited).to_str().unwrap());

    // With neither a repository nor --out, the output directory of fleet.yaml stands in.
    let fallback = fleetgen(dir.path(), &["diff"]).success();
    assert!(
        stderr(&fallback).contains("note: no fleet repo configured or found"),
        "{}",
        stderr(&fallback)
    );
}

#[test]
fn cli_hook_install_writes_the_hook_once() {
    let (dir, _repo) = example_repo();
    fleetgen(dir.path(), &["hook", "install"]).success();
    let hook = fs::read_to_string(dir.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(
        hook.starts_with("#!/bin/sh\n") && hook.contains(" check --staged\n"),
        "{hook}"
    );
    let again = fleetgen(dir.path(), &["hook", "install"]).success();
    assert!(
        stderr(&again).contains("already installed"),
        "{}",
        stderr(&again)
    );
}

/// `--quiet` keeps the new heads on stdout (data) and drops the status lines; `--verbose`
/// lists each file a commit changes, as `git status --short` marks it.
#[test]
fn cli_commit_quiet_and_verbose() {
    let (dir, _repo) = example_repo();
    let quiet = fleetgen(dir.path(), &["commit", "-q"]).success();
    assert_eq!(stderr(&quiet), "");
    assert_eq!(stdout(&quiet).lines().count(), 3, "{}", stdout(&quiet));

    common::replace(
        dir.path(),
        "fleet/fleet.yaml",
        "SYNC_INTERVAL: 10m",
        "SYNC_INTERVAL: 11m",
    );
    let verbose = fleetgen(dir.path(), &["commit", "-v"]).success();
    let said = stderr(&verbose);
    assert!(
        said.lines().any(|line| line.starts_with("commit: ")),
        "{said}"
    );
    let listed: Vec<&str> = said
        .lines()
        .filter(|line| line.starts_with("  M "))
        .collect();
    assert!(!listed.is_empty(), "{said}");
    assert!(listed.iter().all(|line| line.contains(':')), "{said}");
}

/// The commit messages of a 60-cluster fleet committed from scratch stay within the bound the
/// summary states ([`fleetgen::sinks::summary::MESSAGE_LINES`]); one such message used to be
/// 1,387 lines. Clusters are named in natural order.
#[test]
fn cli_commit_messages_of_a_sixty_cluster_fleet_stay_short() {
    let dir = tempfile::tempdir().unwrap();
    common::large_fleet(dir.path());
    let (dir, repo) = source_repo(dir);
    fleetgen(dir.path(), &["commit", "-q"]).success();
    for branch in ["main", "dev", "prod"] {
        let commit = repo.find_commit(head(&repo, branch).unwrap()).unwrap();
        let message = commit.message().unwrap();
        let lines = message.lines().count();
        assert!(
            lines <= fleetgen::sinks::summary::MESSAGE_LINES,
            "{branch}: {lines} lines:\n{message}"
        );
        assert!(message.contains("60 clusters"), "{branch}:\n{message}");
        // Natural order: text order would list c10 after c1.
        assert!(
            message.contains("clusters c0, c1, c2, c3, "),
            "{branch}:\n{message}"
        );
    }
}

/// `diff` pages its patch through the pager only when stdout is a terminal, as git does: run
/// under `script` for a terminal, the pager (a command line, as `$PAGER` is) gets the patch and
/// the summary stays on stderr; piped, the patch goes straight to stdout.
#[test]
fn cli_diff_pages_through_the_pager_on_a_terminal_only() {
    let fleet = common::example_fleet();
    let binary = assert_cmd::cargo::cargo_bin("fleetgen");
    let paged = fleet.path().join("paged.txt");
    let pager = format!("cat > '{}'", paged.display());
    let status = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!("'{}' diff", binary.display()))
        .arg("/dev/null")
        .current_dir(fleet.path())
        .env("FLEETGEN_PAGER", &pager)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script(1) runs");
    assert!(status.success());
    let text = fs::read_to_string(&paged).unwrap();
    assert!(
        text.starts_with("diff --git a/dev/clusters/"),
        "{}",
        &text[..text.len().min(300)]
    );
    fs::remove_file(&paged).unwrap();

    let piped = common::fleetgen(fleet.path())
        .arg("diff")
        .env("FLEETGEN_PAGER", &pager)
        .assert()
        .success();
    assert!(!paged.exists());
    assert!(stdout(&piped).starts_with("diff --git a/dev/clusters/"));
}
