//! Helpers shared by the integration tests: a copy of the example fleet in a temporary
//! directory, the fleetgen binary, and the real Kubernetes tools when they are installed.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleetgen::Tree;

pub mod capi;
pub mod git;
pub mod scaffold;

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

/// Adds blueprint `name` to the fleet under `root`: its `blueprint.yaml`, and each file below
/// its `files/`.
pub fn add_blueprint(root: &Path, name: &str, manifest: &str, files: &[(&str, &str)]) {
    let dir = root.join("blueprints").join(name);
    fs::create_dir_all(dir.join("files")).expect("make the blueprint's folder");
    fs::write(dir.join("blueprint.yaml"), manifest).expect("write blueprint.yaml");
    for (file, content) in files {
        fs::write(dir.join("files").join(file), content).expect("write a blueprint file");
    }
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

/// Where the real `kubectl`, `kustomize` and `helm` are: the PATH to run them with.
pub struct RealTools {
    pub path: std::ffi::OsString,
}

/// Finds the real tools, installing them into `.tools/bin` with the project's own
/// `.ci/install-tools` the first time (it does nothing once they are there). When they still
/// cannot be found the test fails, naming what is missing, unless FLEETGEN_SKIP_TOOL_TESTS=1
/// explicitly asks to skip (never honoured in CI).
pub fn real_tools() -> Option<RealTools> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    let local_bin = repo_root().join(".tools/bin");
    let mut paths = vec![local_bin.clone()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(&paths).expect("PATH");
    let has_kustomize = || paths.iter().any(|dir| dir.join("kustomize").is_file());
    if !has_kustomize() {
        INSTALL.call_once(|| {
            eprintln!(
                "installing kubectl, kustomize and helm into {} for the real-tool tests",
                local_bin.display()
            );
            let installer = repo_root().join(".ci/install-tools");
            let status = Command::new(&installer).arg(&local_bin).status();
            if !matches!(status, Ok(status) if status.success()) {
                eprintln!("{} failed: {status:?}", installer.display());
            }
        });
    }
    if has_kustomize() {
        return Some(RealTools { path });
    }
    let missing = "kustomize on PATH or in .tools/bin (.ci/install-tools installs it)";
    let skip = std::env::var("FLEETGEN_SKIP_TOOL_TESTS").is_ok_and(|value| value == "1");
    if skip && std::env::var_os("CI").is_none() {
        eprintln!("SKIPPED: real-tool test needs {missing}");
        return None;
    }
    panic!("real-tool test needs {missing}; set FLEETGEN_SKIP_TOOL_TESTS=1 to skip it locally");
}

/// Runs the real `kustomize build` on every kustomization of the rendered branch `dir` and
/// validates what it outputs (what Flux would apply) with fleetgen's embedded schemas. Returns
/// whether all passed and a report ending in `N passed, M failed`.
///
/// `clusters/<cluster>/flux-system` of a cluster with its own Flux lists
/// `gotk-components.yaml`, which the operator commits (`flux install --export`); a build that
/// fails only for that file is counted as skipped.
pub fn build_and_validate(tools: &RealTools, dir: &Path) -> (bool, String) {
    use fleetgen::validate::{Schemas, parse};
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| Schemas::embedded(None).expect("embedded schemas"));
    let mut report = String::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_name() != "kustomization.yaml" {
            continue;
        }
        let root = entry.path().parent().expect("a file has a parent");
        let output = Command::new("kustomize")
            .arg("build")
            .arg(root)
            .env("PATH", &tools.path)
            .output()
            .expect("kustomize runs");
        let name = root.strip_prefix(dir).unwrap_or(root).display().to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if stderr.contains("gotk-components.yaml") {
                skipped += 1;
                continue;
            }
            failed += 1;
            report.push_str(&format!("FAIL {name}: kustomize build: {stderr}\n"));
            continue;
        }
        let findings: Vec<String> = match parse::parse_file("build", &name, &output.stdout) {
            Ok(documents) => documents
                .iter()
                .filter(|document| document.is_object())
                .flat_map(|document| schemas.check(document, true))
                .filter(|finding| finding.is_error())
                .map(|finding| finding.to_string())
                .collect(),
            Err(error) => vec![format!("{error:?}")],
        };
        if findings.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            report.push_str(&format!("FAIL {name}:\n{}\n", findings.join("\n")));
        }
    }
    report.push_str(&format!(
        "kustomize build: {passed} passed, {failed} failed, {skipped} skipped\n"
    ));
    (failed == 0 && passed > 0, report)
}

/// Appends `text` to a file of the fleet source.
pub fn append(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    let mut content = fs::read_to_string(&path).unwrap();
    content.push_str(text);
    fs::write(path, content).unwrap();
}

/// Replaces `from` with `to` in a file of the fleet source, which must contain it.
pub fn replace(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let content = fs::read_to_string(&path).unwrap();
    assert!(content.contains(from), "{file} does not contain {from:?}");
    fs::write(path, content.replace(from, to)).unwrap();
}

/// Writes a file of the fleet source, creating its folders.
pub fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Renders the example fleet, applies `breakage`, renders again, and returns the second
/// render's stderr after checking that it failed with exit 1, printed nothing on stdout and
/// wrote nothing. The timeout turns a hang (a FIFO read as input) into a failure.
pub fn render_broken(breakage: impl FnOnce(&Path)) -> String {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let before = snapshot_dir(&out);
    breakage(fleet.path());
    let assert = fleetgen(fleet.path())
        .arg("render")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(1);
    assert_eq!(
        snapshot_dir(&out),
        before,
        "a failed render changed the output"
    );
    let output = assert.get_output();
    assert!(output.stdout.is_empty(), "errors go to stderr");
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The `node_modules` folder holding the real Mermaid parser (the npm `mermaid` package and
/// `jsdom`, which `.ci/run` installs into `.tools/npm`). When it is absent the test fails,
/// unless FLEETGEN_SKIP_TOOL_TESTS=1 explicitly asks to skip (never honoured in CI).
pub fn mermaid_parser() -> Option<PathBuf> {
    let modules = repo_root().join(".tools/npm/node_modules");
    if modules.join("mermaid").is_dir() && modules.join("jsdom").is_dir() {
        return Some(modules);
    }
    let missing = "the npm packages mermaid and jsdom in .tools/npm (.ci/run installs them)";
    let skip = std::env::var("FLEETGEN_SKIP_TOOL_TESTS").is_ok_and(|value| value == "1");
    if skip && std::env::var_os("CI").is_none() {
        eprintln!("SKIPPED: Mermaid test needs {missing}");
        return None;
    }
    panic!("Mermaid test needs {missing}; set FLEETGEN_SKIP_TOOL_TESTS=1 to skip it locally");
}

/// Parses each named diagram with `mermaid.parse()` under node; `Err` holds the parser's
/// report, one line per diagram, when any of them fails.
pub fn mermaid_parse(modules: &Path, diagrams: &[(&str, &str)]) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new("node");
    command
        .arg(repo_root().join("tests/tools/mermaid-parse.mjs"))
        .arg(modules);
    for (name, diagram) in diagrams {
        let file = dir.path().join(format!("{name}.mmd"));
        fs::write(&file, diagram).expect("write diagram");
        command.arg(file);
    }
    let output = command.output().expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout)
        .replace(&format!("{}/", dir.path().display()), "")
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}

/// 60 clusters (every fifth remote), 2 environments, 20 tenants: everything is new.
pub fn large_fleet(root: &Path) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "fleet/fleet.yaml",
        "repo:\n  url: https://example.com/fleet\n",
    );
    for cluster in 0..60 {
        let mut text = format!(
            "POD_CIDR=10.{}.{}.0/20\nSERVICE_CIDR=10.{}.{}.0/20\n",
            cluster / 16,
            (cluster % 16) * 16,
            128 + cluster / 16,
            (cluster % 16) * 16
        );
        if cluster % 5 == 4 {
            let _ = writeln!(text, "FLUX=remote\nMANAGED_BY=c{}", cluster - 1);
        }
        write(&format!("fleet/clusters/c{cluster}.env"), &text);
    }
    for tenant in 0..20 {
        write(
            &format!("fleet/tenants/t{tenant}.yaml"),
            &format!("repo: https://example.com/t{tenant}\napps: [web]\n"),
        );
    }
    for env in ["dev", "prod"] {
        write(&format!("environments/{env}/environment.yaml"), "");
        for cluster in 0..60 {
            write(&format!("environments/{env}/clusters/c{cluster}.env"), "");
        }
        for tenant in 0..20 {
            write(&format!("environments/{env}/tenants/t{tenant}.yaml"), "");
        }
    }
}
