//! Validation of rendered trees against the upstream schemas fleetgen embeds: a clean fleet has
//! no findings, and each broken fleet under
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

/// The embedded schemas, loaded once for every test here.
fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    Some(SCHEMAS.get_or_init(|| Schemas::embedded(None).expect("the embedded schemas load")))
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

/// `paths`, each relative to `root`.
fn relative(paths: &[PathBuf], root: &Path) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|path| path.strip_prefix(root).unwrap().to_owned())
        .collect()
}

#[test]
fn vendored_crds_are_found_and_used() {
    let dir = fleet_with(Some(&repo().join("tests/fixtures/validate/vendored")));
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    let (schemas, sources) = validate::load_schemas(&fleet, Some(&rendered)).unwrap();
    let discovered = relative(&sources.discovered, dir.path());
    assert_eq!(discovered, [PathBuf::from("vendor/widgets.yaml")]);
    let diagnostics = validate::validate(&fleet, &rendered, &schemas, Options::default());
    let schema_findings: Vec<String> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.rule == "schema")
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        schema_findings,
        [
            "dev/infra/mgmt/widget.yaml:8:1: error: example.com/v1 Widget dev-flux-system/big: /spec/colour: unknown field `colour` [schema]\n  hint: the API has no such field in this version; remove it or move it to where the schema has it"
        ]
    );
    // The embedded schemas check every other kind.
    assert!(
        !diagnostics
            .iter()
            .any(|diagnostic| diagnostic.rule == "unknown-kind"),
        "{diagnostics}"
    );
}

/// The fleet repo's folder is often a checkout of its main branch. A file there at a path the
/// main branch is rendered with is fleetgen's own (an old render when it differs), searched as
/// rendered, and never a vendored CRD; one beside it is.
/// A CRD may come from a pull request: one whose schema nests deeper than compiling can
/// follow (here a chain of definitions, each referring to the next) is refused with a finding.
/// Compiling it overflowed the stack of the validating thread and aborted the process.
#[test]
fn a_vendored_crd_nested_too_deep_is_refused_with_a_finding() {
    let dir = fleet_with(Some(&repo().join("tests/fixtures/validate/vendored")));
    let crd = dir.path().join("vendor/widgets.yaml");
    let text = std::fs::read_to_string(&crd).unwrap();
    let links = 50_000;
    let mut chain = String::from("          $defs:\n");
    for at in 0..links {
        chain.push_str(&format!(
            "            d{at}: {{$ref: '#/$defs/d{}'}}\n",
            at + 1
        ));
    }
    chain.push_str(&format!("            d{links}: {{type: object}}\n"));
    let deep = text.replace(
        "          properties:\n            spec:\n              type: object\n",
        &format!("{chain}          properties:\n            spec:\n              $ref: '#/$defs/d0'\n              type: object\n"),
    );
    assert_ne!(deep, text);
    std::fs::write(&crd, deep).unwrap();
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    let (schemas, _) = validate::load_schemas(&fleet, Some(&rendered)).unwrap();
    let diagnostics = validate::validate(&fleet, &rendered, &schemas, Options::default());
    let refused: Vec<String> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.rule == "schema-source")
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        refused,
        [
            "dev/infra/mgmt/widget.yaml:1:1: warning: example.com/v1 Widget dev-flux-system/big: its schema does not compile, so it was not checked: it nests more than 256 schemas deep, references followed [schema-source]"
        ]
    );
}

/// Templates can chain directories through `resources` as long as they like. kustomize would
/// follow; the walk reports a chain deeper than it follows, where it stops. Following 5,000
/// overflowed the validating thread's stack and aborted the process.
#[test]
fn kustomize_builds_nested_too_deep_are_a_finding() {
    let dir = fleet_with(None);
    let infra = dir.path().join("tree/dev/infra/mgmt");
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
    std::fs::write(
        infra.join("kustomization.yaml"),
        format!("{kustomization}resources:\n  - config.yaml\n  - chain/0\n"),
    )
    .unwrap();
    let links = 5_000;
    for at in 0..=links {
        let link = infra.join(format!("chain/{at}"));
        std::fs::create_dir_all(&link).unwrap();
        let next = match at < links {
            true => format!("resources:\n  - ../{}\n", at + 1),
            false => "resources: []\n".to_owned(),
        };
        std::fs::write(
            link.join("kustomization.yaml"),
            format!("{kustomization}{next}"),
        )
        .unwrap();
    }
    let found = findings(dir.path(), schemas().unwrap());
    let deep: Vec<&str> = found
        .lines()
        .filter(|line| line.contains("[build-depth]"))
        .collect();
    assert_eq!(
        deep,
        [
            "dev/infra/mgmt/chain/99/kustomization.yaml:1:1: error: kustomize builds nest more than 100 deep at `infra/mgmt/chain/99` on branch dev; not followed further [build-depth]"
        ],
        "{found}"
    );
}

#[test]
fn a_checkout_of_the_rendered_main_branch_vendors_nothing() {
    let dir = fleet_with(Some(&repo().join("tests/fixtures/validate/vendored")));
    let widgets = std::fs::read_to_string(dir.path().join("vendor/widgets.yaml")).unwrap();
    let stale = widgets
        .replace("kind: Widget", "kind: Gadget")
        .replace("widgets", "gadgets");
    std::fs::create_dir_all(dir.path().join("clusters/mgmt")).unwrap();
    std::fs::write(dir.path().join("clusters/mgmt/infrastructure.yaml"), &stale).unwrap();
    let beside = stale
        .replace("Gadget", "Gizmo")
        .replace("gadgets", "gizmos");
    std::fs::write(dir.path().join("clusters/mgmt/crds.yaml"), &beside).unwrap();
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    assert!(
        rendered.branches.trees[&fleet.repo.main_branch]
            .contains("clusters/mgmt/infrastructure.yaml")
    );
    let (schemas, sources) = validate::load_schemas(&fleet, Some(&rendered)).unwrap();
    let discovered = relative(&sources.discovered, dir.path());
    assert_eq!(
        discovered,
        [
            PathBuf::from("clusters/mgmt/crds.yaml"),
            PathBuf::from("vendor/widgets.yaml")
        ]
    );
    let known: Vec<String> = schemas
        .entries()
        .into_iter()
        .filter(|entry| entry.api_version == "example.com/v1")
        .map(|entry| entry.kind)
        .collect();
    assert_eq!(known, ["Gizmo", "Widget"]);
}

#[test]
fn configured_schema_sources_must_exist() {
    let dir = fleet_with(None);
    let fleet_file = dir.path().join("fleet/fleet.yaml");
    let text = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(
        &fleet_file,
        format!("{text}validation:\n  crds: [schemas/crds]\n"),
    )
    .unwrap();
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let error = validate::load_schemas(&fleet, None).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("fleet/fleet.yaml:1:1: error: validation.crds names `schemas/crds`, which does not exist [schema-source]"), "{message}");
}

#[test]
fn no_schemas_is_one_warning_not_one_per_object() {
    let dir = fleet_with(None);
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    let diagnostics = validate::validate(&fleet, &rendered, &Schemas::new(), Options::default());
    assert_eq!(
        diagnostics.to_string(),
        "fleet/fleet.yaml:1:1: warning: no CustomResourceDefinitions or Kubernetes schemas are configured; objects were not checked against any schema [no-schemas]\n  hint: set `validation.crds` and `validation.kubernetes` in fleet/fleet.yaml"
    );
}

#[test]
fn strict_makes_unknown_kinds_errors() {
    let Some(schemas) = schemas() else { return };
    let dir = fleet_with(Some(&repo().join("tests/fixtures/validate/vendored")));
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    let lenient = validate::validate(&fleet, &rendered, schemas, Options::default());
    let strict = validate::validate(&fleet, &rendered, schemas, Options { strict: true });
    let widget = |diagnostics: &fleetgen::Diagnostics| {
        diagnostics
            .iter()
            .find(|diagnostic| diagnostic.rule == "unknown-kind")
            .map(|diagnostic| diagnostic.is_error())
    };
    assert_eq!(widget(&lenient), Some(false));
    assert_eq!(widget(&strict), Some(true));
}

#[test]
fn secrets_of_the_base_fleet() {
    let dir = fleet_with(None);
    let fleet = fleetgen::pipeline::load_fleet(dir.path()).unwrap();
    let rendered = validate::read_rendered(&fleet, &dir.path().join("tree")).unwrap();
    let (documents, _) = validate::parse::parse_branches(&rendered.branches);
    let schemas = Schemas::new();
    let simulation = validate::graph::simulate(&fleet, &rendered, &documents, &schemas);
    let secrets = validate::secrets::needed(&fleet, &simulation);
    insta::assert_snapshot!(serde_json::to_string_pretty(&secrets).unwrap());
}

/// The example fleet of this repository, rendered, has no findings at all.
#[test]
fn example_fleet_is_clean() {
    let compiled = fleetgen::pipeline::compile(&repo(), &[]).unwrap();
    let (schemas, _) = validate::load_schemas(&compiled.fleet, Some(&compiled.rendered)).unwrap();
    let diagnostics = validate::validate(
        &compiled.fleet,
        &compiled.rendered,
        &schemas,
        Options::for_fleet(&compiled.fleet),
    );
    assert_eq!(diagnostics.to_string(), "");
}
