//! The Cluster API test fleet (`tests/fixtures/capi-fleet`): its path, editable copies, its
//! render, what its Flux graph takes to each cluster, and the findings of a copy that must be
//! refused.

use std::collections::BTreeMap;
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
    copy_dir(&fixture(), dir.path());
    dir
}

/// Copies the directory `source` and everything in it to `target`.
pub fn copy_dir(source: &Path, target: &Path) {
    for entry in walkdir::WalkDir::new(source) {
        let entry = entry.expect("source is readable");
        let to = target.join(entry.path().strip_prefix(source).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
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

/// An object as the fleet's Flux graph, followed from every bootstrap path, takes it to a
/// cluster.
#[derive(Debug)]
pub struct Reached {
    pub api_version: String,
    pub kind: String,
    /// `namespace/name`.
    pub id: String,
    pub value: serde_json::Value,
    /// `namespace/name` of the Flux Kustomization that applies it.
    pub via: String,
    /// The cluster that Kustomization runs on.
    pub via_cluster: String,
    /// `<branch>/<path>` of the rendered file it comes from.
    pub file: String,
}

/// What reaches `cluster` in the fleet at `root`, which must compile.
pub fn reaching(root: &Path, cluster: &str) -> Vec<Reached> {
    use fleetgen::validate::{self, graph, parse};
    let compiled = fleetgen::pipeline::compile(root, &[]).expect("the fleet compiles");
    let (schemas, _) = validate::load_schemas(&compiled.fleet, Some(&compiled.rendered)).unwrap();
    let (documents, syntax) = parse::parse_branches(&compiled.rendered.branches);
    assert!(syntax.is_empty(), "{syntax:?}");
    let simulation = graph::simulate(&compiled.fleet, &compiled.rendered, &documents, &schemas);
    simulation.clusters[cluster]
        .iter()
        .map(|applied| {
            let document = applied.object.document;
            Reached {
                api_version: document.api_version().unwrap_or_default().to_owned(),
                kind: document.kind().unwrap_or_default().to_owned(),
                id: format!(
                    "{}/{}",
                    applied.object.namespace.as_deref().unwrap_or_default(),
                    applied.object.name
                ),
                value: document.full_value(),
                via: applied.via.to_string(),
                via_cluster: applied.via_cluster.to_string(),
                file: document.file(),
            }
        })
        .collect()
}

/// What the manager `mgmt`'s Flux applies, following the graph from its bootstrap path:
/// `namespace/name` of each Flux Kustomization, with its document and the Kustomization that
/// applies it.
pub fn manager_kustomizations(root: &Path) -> BTreeMap<String, (serde_json::Value, String)> {
    reaching(root, "mgmt")
        .into_iter()
        .filter(|reached| {
            reached.api_version == "kustomize.toolkit.fluxcd.io/v1"
                && reached.kind == "Kustomization"
        })
        .map(|reached| (reached.id, (reached.value, reached.via)))
        .collect()
}
