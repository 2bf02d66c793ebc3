//! Validation of rendered trees against the real upstream schemas in `../shared/` (next to the
//! repository): a clean fleet has no findings, and each broken fleet under
//! `tests/fixtures/broken/<defect>/` has exactly the findings in its snapshot.
//!
//! A broken fleet is the base fleet (`tests/fixtures/validate/base/`) with the files of its
//! directory laid over it; `remove.txt` lists base files to delete.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fleetgen::validate::{self, Options, Schemas};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared`, or `None` (with a loud message) when it is missing outside CI. In CI a
/// missing schema directory fails the run: a validator tested against nothing proves nothing.
fn shared() -> Option<PathBuf> {
    let shared = repo().join("..").join("shared");
    let present = shared.join("crds").is_dir() && shared.join("k8s-openapi").is_dir();
    if present {
        return Some(shared);
    }
    let message = format!(
        "the upstream schemas are missing: expected {} and {} (the repository is checked out next to shared/)",
        shared.join("crds").display(),
        shared.join("k8s-openapi").display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
    None
}

fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Option<Schemas>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let shared = shared()?;
            let mut schemas = Schemas::new();
            schemas
                .add_crd_path(&shared.join("crds"))
                .expect("the shared CRDs load");
            schemas
                .set_kubernetes_path(
                    &shared
                        .join("k8s-openapi/kubernetes-validate-v1.33.0-strict/_definitions.json"),
                )
                .expect("the shared Kubernetes definitions load");
            Some(schemas)
        })
        .as_ref()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(from).unwrap();
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if relative != Path::new("README.md") && relative != Path::new("remove.txt") {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The base fleet with `case` laid over it, in a temporary directory.
fn fleet_with(case: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/fixtures/validate/base"), dir.path());
    if let Some(case) = case {
        copy_dir(case, dir.path());
        if let Ok(list) = std::fs::read_to_string(case.join("remove.txt")) {
            for line in list
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
            {
                std::fs::remove_file(dir.path().join(line))
                    .unwrap_or_else(|error| panic!("remove {line}: {error}"));
            }
        }
    }
    dir
}

/// Every finding for the fleet in `root`, one per line as `check` prints them.
fn findings(root: &Path, schemas: &Schemas) -> String {
    let fleet = match fleetgen::pipeline::load_fleet(root) {
        Ok(fleet) => fleet,
        Err(fleetgen::Error::Invalid(diagnostics)) => return format!("{diagnostics}\n"),
        Err(error) => panic!("{error}"),
    };
    let rendered = validate::read_rendered(&fleet, &root.join("tree")).unwrap();
    let options = Options {
        strict: fleet.validation.strict,
    };
    let diagnostics = validate::validate(&fleet, &rendered, schemas, options);
    diagnostics
        .iter()
        .map(|diagnostic| format!("{diagnostic}\n"))
        .collect()
}

#[test]
fn base_fleet_is_clean() {
    let Some(schemas) = schemas() else { return };
    let dir = fleet_with(None);
    assert_eq!(findings(dir.path(), schemas), "");
}

#[test]
fn broken_fleets() {
    let Some(schemas) = schemas() else { return };
    insta::glob!("fixtures/broken/*/README.md", |readme| {
        let case = readme.parent().unwrap();
        let dir = fleet_with(Some(case));
        let found = findings(dir.path(), schemas);
        assert!(!found.is_empty(), "{} has no findings", case.display());
        insta::assert_snapshot!(found);
    });
}
