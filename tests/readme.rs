//! The README's "Install" and "Your first fleet" sections, run as written: the commands a new
//! user copies must work.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The lines of the first `sh` block after the heading `## <section>`.
fn commands(section: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("README has a section {section}"));
    let block = &readme[start..];
    let block = &block[block.find("```sh\n").expect("an sh block") + 6..];
    let block = &block[..block.find("```").unwrap()];
    block
        .lines()
        .map(|line| line.split("   #").next().unwrap().trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

fn bash(dir: &Path, path: &str, script: &str) -> String {
    let output = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("GIT_AUTHOR_NAME", "New User")
        .env("GIT_AUTHOR_EMAIL", "user@example.com")
        .env("GIT_COMMITTER_NAME", "New User")
        .env("GIT_COMMITTER_EMAIL", "user@example.com")
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The target directory this test was built in, so that `cargo install` reuses the build.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "debug"))
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf()
}

#[test]
fn install_then_the_first_fleet_walkthrough() {
    let install = commands("Install");
    assert!(install[0].starts_with("cargo install --git "));
    assert_eq!(install[1], "cargo install --path . --locked");
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("cargo");
    // The clone's command, into a folder of its own; `--debug` reuses this test's build
    // instead of a release build from scratch.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(install[1].split(' ').skip(1))
        .args(["--debug", "--offline", "--root"])
        .arg(&root)
        .current_dir(common::repo_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .unwrap();
    assert!(status.success());
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let walkthrough = commands("Your first fleet");
    assert!(walkthrough[0].starts_with("git init"));
    let mut status = String::new();
    for line in &walkthrough {
        let dir = if line.starts_with("git init") {
            top.path().to_path_buf()
        } else {
            top.path().join("my-fleet")
        };
        let line = line.replace("&& cd my-fleet", "");
        let out = bash(&dir, &path, &line);
        if line == "git status --short" {
            status = out;
        }
    }
    assert_eq!(status, "", "commit leaves the checkout clean");
    let fleet = top.path().join("my-fleet");
    assert!(fleet.join("clusters/edge1").is_dir());
    assert!(fleet.join(".github/workflows/fleet.yaml").is_file());
    assert!(fleet.join(".git/hooks/pre-commit").is_file());
}
