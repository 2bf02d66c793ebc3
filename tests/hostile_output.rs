//! What fleetgen prints when names, values and file names of the fleet source are hostile: a
//! line break followed by a CI workflow command, an ANSI escape, a carriage return, a Markdown
//! fence. Whatever the command and the format, no escape or carriage return reaches stdout or
//! stderr, no line starts with what a CI runner would obey (`::error::…`; the runner trims
//! leading spaces first, and so does the check here), and no line holds the older form
//! `##[command]`, which the runner obeys anywhere in a line.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{append, example_fleet, replace};

const FORGED: &str = "::error::forged";

/// Fails when `bytes` could repaint a terminal, hide text or forge a CI annotation.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!bytes.contains(&0x1b), "{what} carries an escape:\n{text}");
    assert!(
        !bytes.contains(&b'\r'),
        "{what} carries a carriage return:\n{text}"
    );
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::") && !line.contains("##["),
            "{what} has a line a CI runner would obey: {line:?}\n{text}"
        );
    }
}

/// Runs fleetgen in `root` and checks both of its streams.
fn run(root: &Path, args: &[&str]) -> Output {
    let output = common::fleetgen(root)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("fleetgen runs");
    let command = args.join(" ");
    assert_inert(&format!("stdout of {command}"), &output.stdout);
    assert_inert(&format!("stderr of {command}"), &output.stderr);
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_hostile_app_name_is_quoted_on_one_line_in_every_format() {
    let fleet = example_fleet();
    replace(
        fleet.path(),
        "fleet/tenants/kaizentm.yaml",
        "  - azure-vote",
        "  - \"azure\\n::error::forged\\e[31m\\r```\"",
    );
    for command in ["check", "render"] {
        let output = run(fleet.path(), &[command]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("app name `azure\\n::error::forged\\u{1b}[31m\\r````"),
            "{}",
            stderr(&output)
        );
    }
    // JSON escapes what it carries; the value is intact for whoever reads it.
    let output = run(fleet.path(), &["check", "-o", "json"]);
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = findings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("azure\\n::error::forged\\u{1b}[31m"),
        "{message}"
    );
}

#[test]
fn a_name_holding_a_command_anywhere_is_shown_escaped() {
    let fleet = example_fleet();
    replace(
        fleet.path(),
        "fleet/tenants/kaizentm.yaml",
        "  - azure-vote",
        "  - \"::add-mask::x ##[stop-commands]t\"",
    );
    for args in [&["check"][..], &["check", "-o", "json"], &["render"]] {
        let output = run(fleet.path(), args);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    }
    let output = run(fleet.path(), &["check"]);
    assert!(
        stderr(&output).contains("app name `::add-mask::x ##\\u{5b}stop-commands]t`"),
        "{}",
        stderr(&output)
    );
    let output = run(fleet.path(), &["check", "-o", "json"]);
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("##[stop-commands]t"), "{message}");
}

#[test]
fn a_file_name_with_a_line_break_and_an_escape_stays_in_its_location() {
    let fleet = example_fleet();
    let clusters = fleet.path().join("fleet/clusters");
    fs::rename(
        clusters.join("k3d-emea.env"),
        clusters.join(format!("k3d\n{FORGED}\x1b[2J\r.env")),
    )
    .unwrap();
    for args in [&["check"][..], &["render"], &["check", "-o", "json"]] {
        let output = run(fleet.path(), args);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    }
    let output = run(fleet.path(), &["check"]);
    assert!(
        stderr(&output)
            .contains("fleet/clusters/k3d\\n::error::forged\\u{1b}[2J\\r.env:1:1: error:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_hostile_env_key_and_value_are_refused_without_reaching_the_terminal() {
    let fleet = example_fleet();
    append(
        fleet.path(),
        "environments/dev/clusters/k3d-emea.env",
        "K\x1b[2J=1\n",
    );
    append(
        fleet.path(),
        "environments/dev/clusters/k3d-america.env",
        &format!("REDIS_MAX_MEMORY=\"64mb\\n{FORGED}\"\n"),
    );
    for command in ["check", "render"] {
        let output = run(fleet.path(), &[command]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    }
    let output = run(fleet.path(), &["render"]);
    assert!(
        stderr(&output).contains("expected `=` after K, found the character U+001B"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_tenant_named_by_a_hostile_file_is_refused_by_commit_on_one_line() {
    let fleet = example_fleet();
    let tenants = fleet.path().join("fleet/tenants");
    fs::copy(
        tenants.join("yakuza.yaml"),
        tenants.join(format!("evil\n{FORGED}\x1b]8;;x\x07.yaml")),
    )
    .unwrap();
    let repo = git2::Repository::init_opts(
        fleet.path(),
        git2::RepositoryInitOptions::new().initial_head("main"),
    )
    .unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let who = git2::Signature::now("Someone", "someone@example.com").unwrap();
    repo.commit(Some("HEAD"), &who, &who, "fleet source", &tree, &[])
        .unwrap();
    for args in [&["commit"][..], &["diff"], &["commit", "--dry-run"]] {
        let output = run(fleet.path(), args);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("tenant name `evil\\n::error::forged\\u{1b}]8;;"),
            "{}",
            stderr(&output)
        );
    }
    assert!(repo.find_branch("dev", git2::BranchType::Local).is_err());
}

#[test]
fn the_pull_request_comment_keeps_a_hostile_rendered_file_inside_its_fence() {
    let fleet = example_fleet();
    let namespace = fleet.path().join("blueprints/redis/files/namespace.yaml");
    let template = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ env.name }}-redis\n  \
                    annotations:\n    script: |\n      ::warning::forged\n";
    fs::write(&namespace, template).unwrap();
    assert!(run(fleet.path(), &["render", "-q"]).status.success());
    // The block scalar's line is unchanged, so the patch shows it as context: ` ` and spaces.
    fs::write(
        &namespace,
        format!(
            "{template}    note: \"```</details> [x](https://example.com) <img src=x>\"\n\
             # a\r# ::error::forged\n"
        ),
    )
    .unwrap();
    let output = run(fleet.path(), &["diff", "--format", "markdown"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let markdown = String::from_utf8(output.stdout).unwrap();
    assert!(
        markdown.contains("+# a\\r\n+# ::error::forged\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n       \\u{3a}:warning::forged\n"),
        "{markdown}"
    );
    // The note stays inside the patch's fence: the fence is longer than any backtick run in
    // it, and the folded part ends once.
    let fence = markdown
        .lines()
        .find(|line| line.ends_with("diff") && line.starts_with("```"))
        .expect("a fenced patch");
    assert_eq!(fence, "````diff", "{markdown}");
    let closing: Vec<usize> = markdown
        .lines()
        .enumerate()
        .filter(|(_, line)| *line == "````")
        .map(|(index, _)| index)
        .collect();
    assert_eq!(closing.len(), 1, "{markdown}");
    assert_eq!(
        markdown
            .lines()
            .filter(|line| *line == "</details>")
            .count(),
        1,
        "{markdown}"
    );
    // The patch on a terminal shows the same.
    let output = run(fleet.path(), &["diff"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_scaffolding_dry_run_shows_the_hostile_lines_around_its_change_escaped() {
    let fleet = example_fleet();
    replace(
        fleet.path(),
        "fleet/tenants/kaizentm.yaml",
        "\napps:",
        "\n# note\r##[error]forged\napps:",
    );
    let output = run(
        fleet.path(),
        &["add-app", "kaizentm", "web", "--env", "dev", "--dry-run"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let diff = String::from_utf8(output.stdout).unwrap();
    assert!(
        diff.contains("\n ##\\u{5b}error]forged\n apps:\n"),
        "{diff}"
    );
}
