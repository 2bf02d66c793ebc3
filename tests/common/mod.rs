//! Helpers shared by the integration tests: a copy of the example fleet in a temporary
//! directory, the fleetgen binary, and the real Kubernetes tools when they are installed.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleetgen::Tree;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary copy of the example fleet (fleet/, environments/, blueprints/).
pub fn example_fleet() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for folder in ["fleet", "environments", "blueprints"] {
        copy_dir(&repo_root().join(folder), &dir.path().join(folder));
    }
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("below root"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn fleetgen(root: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("fleetgen").expect("binary");
    command.arg("-C").arg(root).env("NO_COLOR", "1");
    command
}

/// Every file under `dir` with its content, sorted, as one string: a stable picture of a
/// directory to compare before and after a command.
pub fn snapshot_dir(dir: &Path) -> String {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(path, content)| format!("=== {path}\n{}", String::from_utf8_lossy(&content)))
        .collect()
}

/// A tree as text: each file under a `=== path` line.
pub fn tree_text(tree: &Tree) -> String {
    tree.iter()
        .map(|(path, content)| format!("=== {path}\n{}", String::from_utf8_lossy(content)))
        .collect()
}

/// Where the real `kubectl`/`kustomize` and the validate-tree script are, if present.
pub struct RealTools {
    pub validate_tree: PathBuf,
    pub path: std::ffi::OsString,
}

/// Finds the real tools, installing kubectl and the kustomize shim into `.tools/bin` with
/// `shared/tools/install-k8s-tools` the first time (it is idempotent and quick once done). When
/// they still cannot be found the test fails, naming what is missing, unless
/// FLEETGEN_SKIP_TOOL_TESTS=1 explicitly asks to skip (never honoured in CI).
pub fn real_tools() -> Option<RealTools> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    let shared = std::env::var_os("FLEETGEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    let validate_tree = shared.join("tools/validate-tree");
    let local_bin = repo_root().join(".tools/bin");
    let mut paths = vec![local_bin.clone()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(&paths).expect("PATH");
    let has_kustomize = || paths.iter().any(|dir| dir.join("kustomize").is_file());
    let installer = shared.join("tools/install-k8s-tools");
    if !has_kustomize() && installer.is_file() {
        INSTALL.call_once(|| {
            eprintln!(
                "installing kubectl and kustomize into {} for the real-tool tests",
                local_bin.display()
            );
            let status = Command::new(&installer).arg(&local_bin).status();
            if !matches!(status, Ok(status) if status.success()) {
                eprintln!("{} failed: {status:?}", installer.display());
            }
        });
    }
    let mut missing = Vec::new();
    if !validate_tree.is_file() {
        missing.push(format!(
            "{} (set FLEETGEN_SHARED to the shared/ folder)",
            validate_tree.display()
        ));
    }
    if !has_kustomize() {
        missing.push(
            "kustomize on PATH or in .tools/bin (see ../shared/tools/install-k8s-tools)".to_owned(),
        );
    }
    if missing.is_empty() {
        return Some(RealTools {
            validate_tree,
            path,
        });
    }
    let skip = std::env::var("FLEETGEN_SKIP_TOOL_TESTS").is_ok_and(|value| value == "1");
    if skip && std::env::var_os("CI").is_none() {
        eprintln!("SKIPPED: real-tool test needs {}", missing.join(" and "));
        return None;
    }
    panic!(
        "real-tool test needs {}; set FLEETGEN_SKIP_TOOL_TESTS=1 to skip it locally",
        missing.join(" and ")
    );
}

/// Runs validate-tree on `dir`; returns its output and whether it passed.
pub fn validate_tree(tools: &RealTools, dir: &Path) -> (bool, String) {
    let output = Command::new(&tools.validate_tree)
        .arg(dir)
        .env("PATH", &tools.path)
        .output()
        .expect("run validate-tree");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
