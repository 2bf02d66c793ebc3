//! The Cluster API test fleet (`tests/fixtures/capi-fleet`): its path, editable copies, its
//! render, and the findings of a copy that must be refused.

use std::fs;
use std::path::{Path, PathBuf};

use fleetgen::{Branches, Error};

pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The test fleet, which tests read but never edit.
pub fn fixture() -> PathBuf {
    crate_root().join("tests/fixtures/capi-fleet")
}

/// The branches of `root`, which must render.
pub fn render(root: &Path) -> Branches {
    match fleetgen::pipeline::compile(root, &[]) {
        Ok(compiled) => compiled.rendered.branches,
        Err(error) => panic!("rendering {} failed:\n{error}", root.display()),
    }
}

/// A rendered file of `branch`, if there is one.
pub fn text(branches: &Branches, branch: &str, path: &str) -> Option<String> {
    branches.trees[branch]
        .get(path)
        .map(|bytes| String::from_utf8(bytes.to_vec()).expect("rendered files are UTF-8"))
}

/// A copy of the test fleet that a test may edit.
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = fixture();
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.expect("fixture is readable");
        let target = dir.path().join(entry.path().strip_prefix(&source).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
    dir
}

/// Replaces `from`, which must be there, in the file at `path`.
pub fn replace_in(path: &Path, from: &str, to: &str) {
    let content = fs::read_to_string(path).unwrap();
    assert!(content.contains(from), "{} has no `{from}`", path.display());
    fs::write(path, content.replace(from, to)).unwrap();
}

/// The diagnostics of compiling `fleet`, which must fail.
pub fn refused(fleet: &Path, what: &str) -> fleetgen::diagnostic::Diagnostics {
    match fleetgen::pipeline::compile(fleet, &[]) {
        Err(Error::Invalid(diagnostics)) => diagnostics,
        Err(error) => panic!("{what}: {error}"),
        Ok(_) => panic!("{what} was accepted"),
    }
}

/// The one finding of `rule`, rendered as the user sees it.
pub fn finding(diagnostics: &fleetgen::diagnostic::Diagnostics, rule: &str) -> String {
    let found: Vec<String> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.rule == rule)
        .map(ToString::to_string)
        .collect();
    assert_eq!(found.len(), 1, "{rule}: {diagnostics}");
    found[0].clone()
}
