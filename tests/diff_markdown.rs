//! `fleetgen diff --format markdown` and the bounds on what `diff` and `commit` say about a
//! large change.

mod common;

use std::fs;

use common::{example_fleet, fleetgen, large_fleet};

fn output(assert: &assert_cmd::assert::Assert) -> (String, String) {
    let output = assert.get_output();
    (
        String::from_utf8(output.stdout.clone()).unwrap(),
        String::from_utf8(output.stderr.clone()).unwrap(),
    )
}

#[test]
fn the_example_fleet_change_as_a_pull_request_comment() {
    let fleet = example_fleet();
    let out = fleet.path().join("out");
    fleetgen(fleet.path())
        .args(["render", "--out"])
        .arg(&out)
        .assert()
        .success();
    let env_file = fleet
        .path()
        .join("environments/dev/clusters/k3d-america.env");
    let text = fs::read_to_string(&env_file).unwrap();
    fs::write(&env_file, text.replace("128mb", "256mb")).unwrap();
    fs::remove_file(out.join("qa/infra/k3d-emea/kustomization.yaml")).unwrap();
    let assert = fleetgen(fleet.path())
        .args(["diff", "-o", "markdown", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (markdown, _) = output(&assert);
    // The folded patch holds the ownership list's hashes, which every rendering change moves;
    // the snapshot is of what a reviewer reads first.
    let (summary, patch) = markdown.split_once("<details>").unwrap();
    insta::assert_snapshot!("example_markdown", summary);
    assert!(
        patch.contains("\n-            - \"128mb\"\n+            - \"256mb\"\n"),
        "{patch}"
    );
    assert!(markdown.contains("| environment dev | k3d-america | infrastructure | 0 | 1 | 0 |"));
    assert!(markdown.contains("```mermaid\nflowchart LR\n"));
    assert!(markdown.contains("<details><summary>Full diff"));
}

/// The ```mermaid block of a comment.
fn mermaid_block(markdown: &str) -> &str {
    let start = markdown.find("```mermaid\n").expect("a Mermaid block") + "```mermaid\n".len();
    let end = markdown[start..].find("```").expect("the block ends") + start;
    &markdown[start..end]
}

/// The comment's picture of the affected clusters reads with the real Mermaid parser, for the
/// example fleet and for a 60-cluster fleet whose picture is cut.
#[test]
fn the_comment_picture_parses_with_mermaid() {
    let Some(parser) = common::mermaid_parser() else {
        return;
    };
    let fleet = example_fleet();
    let env_file = fleet
        .path()
        .join("environments/dev/clusters/k3s-america-south.env");
    fs::write(&env_file, "REDIS_REPLICAS=2\n").unwrap();
    let assert = fleetgen(fleet.path())
        .args(["diff", "-o", "markdown", "--out"])
        .arg(fleet.path().join("empty"))
        .assert()
        .success();
    let (example, _) = output(&assert);

    let dir = tempfile::tempdir().unwrap();
    large_fleet(dir.path());
    let out = dir.path().join("empty");
    fs::create_dir_all(&out).unwrap();
    let assert = fleetgen(dir.path())
        .args(["diff", "-o", "markdown", "--env", "dev", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (large, _) = output(&assert);
    assert!(mermaid_block(&large).contains("more"), "{large}");

    let report = common::mermaid_parse(
        &parser,
        &[
            ("example", mermaid_block(&example)),
            ("large", mermaid_block(&large)),
        ],
    )
    .unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(
        report,
        "example.mmd: flowchart-v2\nlarge.mmd: flowchart-v2\n"
    );
}

/// The comment outside the folded patch, and the human summary, stay within their bounds
/// for a 60-cluster fleet rendered from scratch; the whole comment fits a GitHub comment.
#[test]
fn a_sixty_cluster_change_stays_short() {
    let dir = tempfile::tempdir().unwrap();
    large_fleet(dir.path());
    let out = dir.path().join("empty");
    fs::create_dir_all(&out).unwrap();
    let assert = fleetgen(dir.path())
        .args(["diff", "--format", "markdown", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (markdown, _) = output(&assert);
    let (summary, _) = markdown.split_once("<details>").unwrap();
    let lines = summary.lines().count();
    assert!(
        lines <= fleetgen::view::markdown::SUMMARY_LINES,
        "{lines} lines:\n{summary}"
    );
    assert!(markdown.len() < 65_536, "{} characters", markdown.len());
    // Natural order: c2 before c10.
    let c2 = summary.find("| c2 |").unwrap();
    let c10 = summary.find("| c10 |").unwrap_or(usize::MAX);
    assert!(c2 < c10, "{summary}");

    let assert = fleetgen(dir.path())
        .args(["diff", "--stat", "--out"])
        .arg(&out)
        .assert()
        .success();
    let (_, stderr) = output(&assert);
    let branches = 3;
    let bound = branches * fleetgen::sinks::summary::SUMMARY_LINES + 2;
    let lines = stderr.lines().count();
    assert!(lines <= bound, "{lines} lines:\n{stderr}");
}

/// The bounds the README promises are the ones the code keeps.
#[test]
fn the_readme_states_the_bounds_kept() {
    let readme = fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for stated in [
        format!(
            "the summary has at most {} lines per branch",
            fleetgen::sinks::summary::SUMMARY_LINES
        ),
        format!(
            "a commit message at most {} lines",
            fleetgen::sinks::summary::MESSAGE_LINES
        ),
        format!(
            "outside the patch the comment has at most {} lines",
            fleetgen::view::markdown::SUMMARY_LINES
        ),
    ] {
        assert!(readme.contains(&stated), "README does not say: {stated}");
    }
}
