//! Where the schemas come from, in layers: the embedded upstream schemas, then `validation:`
//! in fleet/fleet.yaml, then the CRDs vendored in the fleet source or rendered by it, then the
//! command line. A later layer wins per group/version/kind.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rayon::prelude::*;
use walkdir::WalkDir;

use super::schema::{Layer, Schemas, read_bounded};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::load::input::stays_inside;
use crate::model::Fleet;
use crate::render::Rendered;

/// Schema sources given on the command line, over the fleet's own.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--crds`: files or directories of CRDs.
    pub crds: Vec<PathBuf>,
    /// `--kubernetes-schemas`: a Kubernetes definitions document.
    pub kubernetes: Option<PathBuf>,
    /// `--kubernetes-version`: the embedded minor, instead of `validation.kubernetesVersion`.
    pub kubernetes_version: Option<String>,
}

/// Where the schemas come from, for messages and for `--format json`.
#[derive(Debug, Clone, Default)]
pub struct SchemaSources {
    pub crds: Vec<PathBuf>,
    pub kubernetes: Option<PathBuf>,
    /// Files of the fleet source that vendor CRDs (found by looking), in load order.
    pub discovered: Vec<PathBuf>,
}

/// Loads the schemas a fleet validates with, without command-line sources.
pub fn load_schemas(
    fleet: &Fleet,
    rendered: Option<&Rendered>,
) -> Result<(Schemas, SchemaSources)> {
    load_schemas_with(fleet, rendered, &Overrides::default())
}

/// Loads the schemas a fleet validates with, layer by layer: the embedded ones (of the
/// Kubernetes minor `validation.kubernetesVersion` names), the CRDs and Kubernetes definitions
/// named in `validation:` (paths relative to the fleet root), the CRDs vendored anywhere in
/// the fleet source (a `gotk-components.yaml`, provider components) and those the rendered
/// trees carry, then `overrides`.
pub fn load_schemas_with(
    fleet: &Fleet,
    rendered: Option<&Rendered>,
    overrides: &Overrides,
) -> Result<(Schemas, SchemaSources)> {
    let early = load_early(fleet, overrides.kubernetes_version.as_deref())?;
    load_rest(early, fleet, rendered, overrides)
}

/// The layers that do not depend on what the fleet renders, with the fleet source's files
/// that may vendor CRDs listed but not yet read: what validation can load while the fleet
/// renders (see [`load_rest`]).
#[derive(Debug)]
pub struct EarlySchemas {
    schemas: Schemas,
    sources: SchemaSources,
    /// Per folder searched, whether it is the fleet repo's checkout, and its YAML files in
    /// name order.
    candidates: Vec<(PathBuf, bool, Vec<PathBuf>)>,
}

/// The embedded layer (of `--kubernetes-version` `kubernetes_version` or else the fleet's
/// minor), the `validation:` layer, and the list of the fleet source's files to search for
/// vendored CRDs.
pub fn load_early(fleet: &Fleet, kubernetes_version: Option<&str>) -> Result<EarlySchemas> {
    let version = kubernetes_version.or(fleet.validation.kubernetes_version.as_deref());
    let mut schemas = Schemas::embedded(version).map_err(|message| {
        let diagnostic = Diagnostic::error("schema-source", message);
        let diagnostic = match kubernetes_version {
            Some(_) => diagnostic.with_hint("--kubernetes-version names an embedded minor"),
            None => diagnostic
                .at_file(crate::load::FLEET_FILE)
                .with_hint("validation.kubernetesVersion names an embedded minor; `fleetgen schemas` lists them"),
        };
        Error::Invalid([diagnostic].into_iter().collect())
    })?;
    let mut sources = SchemaSources::default();
    let mut diagnostics = Diagnostics::new();
    schemas.set_layer(Layer::FleetSettings);
    for crds in &fleet.validation.crds {
        let path = fleet.root.join(crds);
        if !path.exists() {
            diagnostics.push(missing_source(&path, crds, "crds"));
            continue;
        }
        if !stays_inside(&fleet.root, Path::new(crds)) {
            diagnostics.push(linked_out(crds, "crds"));
            continue;
        }
        schemas.add_crd_path(&path)?;
        sources.crds.push(path);
    }
    if let Some(kubernetes) = &fleet.validation.kubernetes {
        let path = fleet.root.join(kubernetes);
        if !path.is_file() {
            diagnostics.push(missing_source(&path, kubernetes, "kubernetes"));
        } else if !stays_inside(&fleet.root, Path::new(kubernetes)) {
            diagnostics.push(linked_out(kubernetes, "kubernetes"));
        } else {
            schemas.set_kubernetes_path(&path)?;
            sources.kubernetes = Some(path);
        }
    }
    if diagnostics.has_errors() {
        return Err(Error::Invalid(diagnostics));
    }
    // The fleet root, and the fleet repo's checkout when it is elsewhere. `repo.path` may name
    // a clone beside the fleet, so it is not confined like the paths above; it is searched only
    // when it is a Git checkout, as `diff` and `commit` need it to be, never whatever folder a
    // changed fleet.yaml names (`/`).
    let root = fs::canonicalize(&fleet.root).ok();
    let repo = fleet
        .repo
        .path
        .as_ref()
        .and_then(|repo| fs::canonicalize(fleet.root.join(repo)).ok());
    let root_is_checkout = fleet.repo.path.is_none() || (repo.is_some() && repo == root);
    let mut roots = vec![(fleet.root.clone(), root_is_checkout)];
    if let (Some(repo), Some(root)) = (repo, &root)
        && !repo.starts_with(root)
        && repo.join(".git").exists()
    {
        roots.push((repo, true));
    }
    let skip: BTreeSet<PathBuf> = [fleet.root.join(&fleet.output), fleet.root.join("target")]
        .into_iter()
        .collect();
    let candidates = roots
        .into_iter()
        .map(|(root, checkout)| {
            let found = vendored_candidates(&root, &skip);
            (root, checkout, found)
        })
        .collect();
    Ok(EarlySchemas {
        schemas,
        sources,
        candidates,
    })
}

/// The layers [`load_early`] left: the CRDs vendored in the fleet source, those the rendered
/// trees carry, then `overrides`.
pub fn load_rest(
    early: EarlySchemas,
    fleet: &Fleet,
    rendered: Option<&Rendered>,
    overrides: &Overrides,
) -> Result<(Schemas, SchemaSources)> {
    let EarlySchemas {
        mut schemas,
        mut sources,
        candidates,
    } = early;
    schemas.set_layer(Layer::FleetSource);
    // The fleet repo's folder is often a checkout of its main branch: the files fleetgen renders
    // there are searched below as rendered, and a copy on disk that differs is an old render,
    // not a CRD anyone vendored. Not reading them is most of this at a thousand clusters.
    let rendered_main =
        rendered.and_then(|rendered| rendered.branches.trees.get(&fleet.repo.main_branch));
    for (root, checkout, candidates) in candidates {
        let rendered_here = rendered_main.filter(|_| checkout);
        for (file, content) in read_vendored(&root, candidates, rendered_here) {
            if let Ok(text) = String::from_utf8(content) {
                // A file that does not parse is not ours to judge here; it is simply not a
                // schema source.
                if schemas
                    .add_crd_text(&text, &file.display().to_string())
                    .is_ok_and(|added| added > 0)
                {
                    sources.discovered.push(file);
                }
            }
        }
    }
    if let Some(rendered) = rendered {
        let files: Vec<(&str, &str, &[u8])> = rendered
            .branches
            .iter()
            .flat_map(|(branch, tree)| {
                tree.iter()
                    .map(move |(path, content)| (branch, path, content))
            })
            .collect();
        // Every rendered byte is searched, on every core; the few hits are added in order.
        let hits: Vec<_> = files
            .into_par_iter()
            .filter(|(_, path, content)| crate::render::is_yaml(path) && mentions_crd(content))
            .collect();
        for (branch, path, content) in hits {
            if let Ok(text) = std::str::from_utf8(content) {
                let _ = schemas.add_crd_text(text, &format!("{branch}/{path}"));
            }
        }
    }
    add_overrides(&mut schemas, &mut sources, overrides)?;
    Ok((schemas, sources))
}

/// The embedded schemas and `overrides`, for use outside a fleet.
pub fn load_without_fleet(overrides: &Overrides) -> Result<Schemas> {
    let mut schemas =
        Schemas::embedded(overrides.kubernetes_version.as_deref()).map_err(|message| {
            Error::Invalid(
                [Diagnostic::error("schema-source", message)]
                    .into_iter()
                    .collect(),
            )
        })?;
    add_overrides(&mut schemas, &mut SchemaSources::default(), overrides)?;
    Ok(schemas)
}

fn add_overrides(
    schemas: &mut Schemas,
    sources: &mut SchemaSources,
    overrides: &Overrides,
) -> Result<()> {
    schemas.set_layer(Layer::CommandLine);
    for path in &overrides.crds {
        if !path.exists() {
            return Err(Error::Usage(format!(
                "--crds {}: no such file or directory",
                path.display()
            )));
        }
        schemas.add_crd_path(path)?;
        sources.crds.push(path.clone());
    }
    if let Some(path) = &overrides.kubernetes {
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "--kubernetes-schemas {}: no such file",
                path.display()
            )));
        }
        schemas.set_kubernetes_path(path)?;
        sources.kubernetes = Some(path.clone());
    }
    Ok(())
}

fn linked_out(given: &str, field: &str) -> Diagnostic {
    source_finding(
        given,
        field,
        "which a link leads out of the fleet root; it was not read",
        "schema sources named in fleet.yaml stay in the fleet root; pass --crds or \
         --kubernetes-schemas for one elsewhere"
            .to_owned(),
    )
}

fn missing_source(path: &Path, given: &str, field: &str) -> Diagnostic {
    source_finding(
        given,
        field,
        "which does not exist",
        format!(
            "paths are relative to the fleet root; looked for {}",
            path.display()
        ),
    )
}

/// What is wrong with `given`, the schema source `validation.<field>` names, at fleet.yaml.
fn source_finding(given: &str, field: &str, problem: &str, hint: String) -> Diagnostic {
    Diagnostic::error(
        "schema-source",
        format!(
            "validation.{field} names `{}`, {problem}",
            crate::diagnostic::truncate(given)
        ),
    )
    .at_file(crate::load::FLEET_FILE)
    .with_hint(hint)
}

fn mentions_crd(content: &[u8]) -> bool {
    // Every rendered byte goes through this: a substring search, not a compare per position,
    // with its searcher built once; building it for each of a large fleet's half a million
    // files cost more than the searches.
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"kind: CustomResourceDefinition"));
    FINDER.find(content).is_some()
}

/// YAML files below `root` of at most
/// [`MAX_SCHEMA_FILE_BYTES`](super::schema::MAX_SCHEMA_FILE_BYTES) that contain a
/// CustomResourceDefinition, with their contents (read once), skipping hidden directories,
/// `skip`, and the paths of `rendered` (the tree rendered for the branch checked out at `root`).
#[cfg(test)]
fn vendored_crd_files(
    root: &Path,
    skip: &BTreeSet<PathBuf>,
    rendered: Option<&crate::tree::Tree>,
) -> Vec<(PathBuf, Vec<u8>)> {
    read_vendored(root, vendored_candidates(root, skip), rendered)
}

/// The YAML files below `root`, in name order, skipping hidden directories and `skip`; links
/// are not followed.
fn vendored_candidates(root: &Path, skip: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let walker = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let hidden = entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
            !hidden && !skip.contains(entry.path())
        });
    walker
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            // Their sizes are looked at when read: most are often the main branch's rendered
            // files, left out then without a look.
            entry.file_type().is_file()
                && crate::render::is_yaml(&entry.file_name().to_string_lossy())
        })
        .map(|entry| entry.into_path())
        .collect()
}

/// Those of `candidates` (below `root`) of at most
/// [`MAX_SCHEMA_FILE_BYTES`](super::schema::MAX_SCHEMA_FILE_BYTES) that contain a
/// CustomResourceDefinition, with their contents (read once), passing over the paths of
/// `rendered` (the tree rendered for the branch checked out at `root`).
fn read_vendored(
    root: &Path,
    candidates: Vec<PathBuf>,
    rendered: Option<&crate::tree::Tree>,
) -> Vec<(PathBuf, Vec<u8>)> {
    let rendered_there = |path: &Path| {
        rendered.is_some_and(|tree| {
            path.strip_prefix(root)
                .ok()
                .and_then(Path::to_str)
                .is_some_and(|relative| tree.contains(relative))
        })
    };
    // A fleet repo's root is often the checkout of its main branch, thousands of rendered
    // files: reading them is most of this, and it parallelises.
    candidates
        .into_par_iter()
        .filter(|path| !rendered_there(path))
        .filter_map(|path| {
            let content = read_bounded(&path).ok()??;
            mentions_crd(&content).then_some((path, content))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::schema::MAX_SCHEMA_FILE_BYTES;

    fn paths(found: Vec<(PathBuf, Vec<u8>)>) -> Vec<PathBuf> {
        found.into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn vendored_crds_are_found_in_order_and_never_through_a_link_or_a_skipped_folder() {
        let outside = tempfile::tempdir().unwrap();
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        std::fs::write(outside.path().join("crd.yaml"), crd).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for folder in ["a", "b/c", ".hidden", "out"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        for file in [
            "b/c/crd.yaml",
            "a/crd.yml",
            ".hidden/crd.yaml",
            "out/crd.yaml",
        ] {
            std::fs::write(root.join(file), crd).unwrap();
        }
        std::fs::write(root.join("a/other.yaml"), "kind: ConfigMap\n").unwrap();
        std::fs::write(root.join("a/crd.txt"), crd).unwrap();
        // A link to a file, and to a folder, outside the fleet: neither is followed.
        std::os::unix::fs::symlink(outside.path().join("crd.yaml"), root.join("linked.yaml"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
        let skip = BTreeSet::from([root.join("out")]);
        assert_eq!(
            paths(vendored_crd_files(root, &skip, None)),
            [root.join("a/crd.yml"), root.join("b/c/crd.yaml")]
        );
        // A path the branch checked out there is rendered with is fleetgen's, not vendored.
        let mut rendered = crate::tree::Tree::new();
        rendered.insert("b/c/crd.yaml", crd);
        rendered.insert("a", "a file where the folder is");
        assert_eq!(
            paths(vendored_crd_files(root, &skip, Some(&rendered))),
            [root.join("a/crd.yml")]
        );
    }

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.com\n  names: {kind: Widget}\n  scope: Namespaced\n  versions: [{name: v1, served: true}]\n";

    /// The example fleet, copied, with `validation:` set to `settings` and `prepare` run on it.
    fn example_with(settings: &str, prepare: impl FnOnce(&Path)) -> (tempfile::TempDir, Fleet) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fleet-root");
        let example = Path::new(env!("CARGO_MANIFEST_DIR"));
        for folder in crate::load::SOURCE_FOLDERS {
            crate::scaffold::copy_dir(&example.join(folder), &root.join(folder)).unwrap();
        }
        let fleet_file = root.join("fleet/fleet.yaml");
        let mut text = std::fs::read_to_string(&fleet_file).unwrap();
        text.push_str(settings);
        std::fs::write(&fleet_file, text).unwrap();
        prepare(&root);
        let fleet = crate::pipeline::load_fleet(&root).expect("the fleet loads");
        (dir, fleet)
    }

    fn refused(fleet: &Fleet) -> Vec<String> {
        match load_early(fleet, None) {
            Err(Error::Invalid(found)) => found
                .iter()
                .map(|finding| finding.message.clone())
                .collect(),
            Err(other) => vec![other.to_string()],
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn schema_sources_that_a_link_leads_out_of_the_fleet_are_not_read() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("widgets.yaml"), CRD).unwrap();
        let (_dir, fleet) = example_with(
            "validation:\n  crds: [crds, one.yaml]\n  kubernetes: defs.json\n",
            |root| {
                std::os::unix::fs::symlink(outside.path(), root.join("crds")).unwrap();
                std::os::unix::fs::symlink(
                    outside.path().join("widgets.yaml"),
                    root.join("one.yaml"),
                )
                .unwrap();
                std::os::unix::fs::symlink(
                    outside.path().join("widgets.yaml"),
                    root.join("defs.json"),
                )
                .unwrap();
            },
        );
        let found = refused(&fleet);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found
                .iter()
                .all(|message| message.contains("a link leads out of the fleet root")),
            "{found:?}"
        );
        // Inside the root, the same files are read.
        let (_dir, fleet) = example_with("validation:\n  crds: [crds]\n", |root| {
            std::fs::create_dir(root.join("crds")).unwrap();
            std::fs::write(root.join("crds/widgets.yaml"), CRD).unwrap();
        });
        let early = load_early(&fleet, None).unwrap();
        assert_eq!(early.sources.crds, [fleet.root.join("crds")]);
    }

    #[test]
    fn a_schema_source_too_large_to_read_is_refused_unread() {
        let (_dir, fleet) = example_with("validation:\n  crds: [huge.yaml]\n", |root| {
            let huge = root.join("huge.yaml");
            std::fs::write(&huge, CRD).unwrap();
            let file = std::fs::File::options().write(true).open(&huge).unwrap();
            file.set_len(MAX_SCHEMA_FILE_BYTES + 1).unwrap();
        });
        let found = refused(&fleet);
        assert!(
            found.len() == 1 && found[0].contains("larger than 64 MiB"),
            "{found:?}"
        );
    }

    #[test]
    fn the_fleet_repo_named_elsewhere_is_searched_only_as_a_git_checkout() {
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("widgets.yaml"), CRD).unwrap();
        let (_dir, mut fleet) = example_with("", |_| ());
        fleet.repo.path = Some(elsewhere.path().to_path_buf());
        let (_, sources) = load_schemas(&fleet, None).unwrap();
        assert!(sources.discovered.is_empty(), "{:?}", sources.discovered);

        std::fs::create_dir(elsewhere.path().join(".git")).unwrap();
        let (_, sources) = load_schemas(&fleet, None).unwrap();
        assert_eq!(
            sources.discovered,
            [std::fs::canonicalize(elsewhere.path())
                .unwrap()
                .join("widgets.yaml")]
        );
    }

    #[test]
    fn files_too_large_to_be_a_bundle_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        for (name, size) in [
            ("largest.yaml", MAX_SCHEMA_FILE_BYTES),
            ("huge.yaml", MAX_SCHEMA_FILE_BYTES + 1),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, crd).unwrap();
            // Sparse: the size without the writing.
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(size)
                .unwrap();
        }
        assert_eq!(
            paths(vendored_crd_files(dir.path(), &BTreeSet::new(), None)),
            [dir.path().join("largest.yaml")]
        );
    }
}
