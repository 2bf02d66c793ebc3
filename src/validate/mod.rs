//! Validation of a rendered fleet, offline and before anything is merged: every object against
//! the real API schemas ([`schema`]), the Flux reference graph of every cluster ([`graph`]),
//! and the fleet facts the model does not check on its own ([`input`]).
//!
//! The entry points are [`load_schemas`] (once per run) and [`validate`]; `fleetgen secrets`
//! uses [`secrets::needed`].

pub mod document;
pub mod embedded;
pub mod flux_fields;
pub mod fold;
mod gate;
pub mod graph;
pub mod input;
pub mod input_schema;
pub mod inputs;
pub mod kept;
pub mod kustomize_file;
mod locate;
pub mod parse;
pub mod reuse;
pub mod schema;
pub mod secrets;
pub mod server_rules;
pub mod sources;
pub mod strict;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::progress::{Progress, Quiet};
use crate::render::Rendered;
use crate::tree::{Branches, Tree};
pub use document::Document;
pub use gate::{Prepared, Settings, gate, gate_with, prepare, run, run_prepared, run_with};
pub use inputs::Inputs;
pub use reuse::Reuse;
pub use schema::{Ahead, Schemas, warm};
pub use sources::{Overrides, SchemaSources, load_schemas, load_schemas_with, load_without_fleet};

/// How strict validation is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Objects of a kind no schema describes are errors rather than warnings.
    pub strict: bool,
}

impl Options {
    /// The options `validation:` in fleet/fleet.yaml asks for.
    pub fn for_fleet(fleet: &Fleet) -> Self {
        Self {
            strict: fleet.validation.strict,
        }
    }
}

/// Loads the fleet's schemas and validates `rendered` with them: what `fleetgen check` runs.
/// `options.strict` adds to the fleet's own setting.
pub fn check(fleet: &Fleet, rendered: &Rendered, options: Options) -> Result<Diagnostics> {
    let (schemas, _) = load_schemas(fleet, Some(rendered))?;
    let options = Options {
        strict: options.strict || fleet.validation.strict,
    };
    Ok(validate(fleet, rendered, &schemas, options))
}

/// Every Secret the fleet needs, for `fleetgen secrets`.
pub fn needed_secrets(fleet: &Fleet, rendered: &Rendered) -> Result<Vec<secrets::Secret>> {
    let (schemas, _) = load_schemas(fleet, Some(rendered))?;
    let (documents, _) = parse::parse_branches(&rendered.branches);
    let simulation = graph::simulate(fleet, rendered, &documents, &schemas);
    Ok(secrets::needed(fleet, &simulation))
}

/// Up to how many rendered files validation checks objects with validators cut to the
/// documents of their kind rather than whole ones, unless the whole one has been made: a few
/// documents of a kind are checked sooner than a whole schema is compiled, while in a larger
/// fleet the whole validator, made while the fleet renders, serves thousands, and following
/// each document through its schema to see what its cut needs costs more than it saves
/// (measured: even at about 800 files).
pub const CUT_SCHEMAS_UP_TO: u64 = 1_000;

/// Validates the rendered fleet: schemas, the Flux graph and the fleet facts. Returns every
/// finding, sorted; the caller decides what errors mean for its exit code.
pub fn validate(
    fleet: &Fleet,
    rendered: &Rendered,
    schemas: &Schemas,
    options: Options,
) -> Diagnostics {
    validate_with(fleet, rendered, schemas, options, &Quiet)
}

/// [`validate`], telling `progress` of each file parsed and checked.
pub fn validate_with(
    fleet: &Fleet,
    rendered: &Rendered,
    schemas: &Schemas,
    options: Options,
    progress: &dyn Progress,
) -> Diagnostics {
    let files = rendered
        .branches
        .iter()
        .map(|(_, tree)| tree.len() as u64)
        .sum();
    progress.start("validating", files);
    let cuts = (files <= CUT_SCHEMAS_UP_TO).then(schema::Cuts::default);
    // Each document is parsed once and checked against its schema while its whole value is at
    // hand; the graph then reads only what it needs of it.
    let parsed = parse::parse_and_check(
        &rendered.branches,
        Some(&rendered.values),
        |document, value| check_document(document, value, schemas, options, cuts.as_ref()),
        &|| progress.advance(1),
    );
    progress.finish();
    let mut diagnostics: Diagnostics = parsed.syntax.into_iter().collect();
    if schemas.is_empty() {
        // One finding instead of one per object: the fleet did not ask for schema checks.
        diagnostics.push(
            Diagnostic::warning(
                "no-schemas",
                "no CustomResourceDefinitions or Kubernetes schemas are configured; objects were not checked against any schema",
            )
            .at_file(crate::load::FLEET_FILE)
            .with_hint("set `validation.crds` and `validation.kubernetes` in fleet/fleet.yaml"),
        );
    }
    // A template's mistake is in every file it renders: one finding each, listing the files.
    let mut per_document: Vec<Diagnostic> =
        merge_unknown_kinds(parsed.findings).into_iter().collect();
    per_document.extend(graph::check(fleet, rendered, &parsed.documents, schemas));
    diagnostics.extend(Diagnostics::from_iter(fold::by_template(
        per_document,
        &parsed.documents,
        &rendered.branches,
        &rendered.values,
    )));
    diagnostics.extend(input::check(fleet));
    diagnostics.extend(crate::render::values::fold(parsed.values));
    diagnostics.sort();
    // A large fleet keeps values for hundreds of thousands of documents: freeing them on one
    // core is a noticeable pause at the end of every validation.
    parsed.documents.into_par_iter().for_each(drop);
    diagnostics
}

/// Validates every document against its schema, the API server's own rules
/// ([`server_rules`]) and Flux's version constraints ([`flux_fields`]), and kustomization
/// files as kustomize reads them, in parallel. The documents must keep their values:
/// [`parse::parse_file`] keeps them, [`parse::parse_branches`] does not.
pub fn check_schemas(
    documents: &[Document<'_>],
    schemas: &Schemas,
    options: Options,
) -> Diagnostics {
    let findings = documents
        .par_iter()
        .flat_map_iter(|document| {
            check_document(document, document.full_value(), schemas, options, None)
        })
        .collect::<Vec<_>>();
    merge_unknown_kinds(findings)
}

/// The checks of one rendered document, whose whole value is `value`: a kustomization file's
/// fields, or an object's schema, the API server's rules and Flux's version constraints.
fn check_document(
    document: &Document<'_>,
    value: serde_json::Value,
    schemas: &Schemas,
    options: Options,
    cuts: Option<&schema::Cuts>,
) -> Vec<Diagnostic> {
    if kustomize_file::is_kustomization_file(document.path) {
        return kustomize_file::check(document, &value);
    }
    if !document.is_object() {
        return Vec::new();
    }
    let mut findings = server_rules::check(document, &value, schemas);
    findings.extend(flux_fields::check(document, &value));
    if !schemas.is_empty() {
        findings.extend(schemas.check_value_with(document, value, options.strict, cuts));
    }
    findings
}

/// A kind without a schema is usually missing for every object of that kind: one finding per
/// kind, with the count, pointing at its first object, says it without burying the others.
fn merge_unknown_kinds(findings: Vec<Diagnostic>) -> Diagnostics {
    let mut merged: Vec<(Diagnostic, usize)> = Vec::new();
    let is_unknown = |diagnostic: &Diagnostic| {
        diagnostic.rule == "unknown-kind" && diagnostic.message.starts_with("no schema for ")
    };
    // Per unknown kind's message, its place in `merged`: looked up, not searched for, since a
    // large fleet can have as many findings as files.
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for finding in findings {
        if !is_unknown(&finding) {
            merged.push((finding, 1));
            continue;
        }
        match kinds.get(&finding.message) {
            Some(&at) => {
                let (kept, count) = &mut merged[at];
                *count += 1;
                if finding.location < kept.location {
                    *kept = finding;
                }
            }
            None => {
                kinds.insert(finding.message.clone(), merged.len());
                merged.push((finding, 1));
            }
        }
    }
    merged
        .into_iter()
        .map(|(mut diagnostic, count)| {
            if is_unknown(&diagnostic) {
                diagnostic.message = match count {
                    1 => format!("{}; 1 object was not checked", diagnostic.message),
                    _ => format!("{}; {count} objects were not checked", diagnostic.message),
                };
            }
            diagnostic
        })
        .collect()
}

/// Reads rendered branches back from `dir/<branch>/` (the layout `render` writes), with the
/// bootstrap paths of the fleet's clusters, so that a tree on disk validates like a fresh one.
pub fn read_rendered(fleet: &Fleet, dir: &Path) -> Result<Rendered> {
    let mut rendered = Rendered::default();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut branch_dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    branch_dirs.sort();
    for branch_dir in branch_dirs {
        let branch = branch_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if branch.starts_with('.') {
            continue;
        }
        let mut tree = Tree::new();
        for entry in WalkDir::new(&branch_dir).sort_by_file_name() {
            let entry = entry.map_err(|error| Error::Read {
                path: branch_dir.clone(),
                source: error
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("directory loop")),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&branch_dir)
                .expect("walkdir stays below its root");
            let path = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let content = std::fs::read(entry.path()).map_err(|source| Error::Read {
                path: entry.path().to_path_buf(),
                source,
            })?;
            tree.insert(path, content);
        }
        rendered.branches.trees.insert(branch, tree);
    }
    rendered.bootstrap_paths = default_bootstrap_paths(fleet, &rendered.branches);
    Ok(rendered)
}

/// `clusters/<cluster>` on the main branch for every cluster whose Flux runs in it: where
/// `flux bootstrap --path` points.
pub fn default_bootstrap_paths(
    fleet: &Fleet,
    branches: &Branches,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths: BTreeMap<String, BTreeSet<String>> = branches
        .iter()
        .map(|(branch, _)| (branch.to_owned(), BTreeSet::new()))
        .collect();
    let main = paths.entry(fleet.repo.main_branch.clone()).or_default();
    for cluster in fleet
        .clusters
        .values()
        .filter(|cluster| !cluster.is_remote())
    {
        main.insert(format!("clusters/{}", cluster.name));
    }
    paths
}
