//! Blueprints: minijinja template trees, each rendered once per unit of its scope.
//!
//! ```text
//! blueprints/<name>/blueprint.yaml   scope, target directory, optional condition
//! blueprints/<name>/files/…          templates; their paths are templates too
//! ```
//!
//! fleetgen ships default blueprints (compiled into the binary from `default-blueprints/`);
//! a fleet's `blueprints/<name>` with the same name replaces the default one, and any other
//! name adds a blueprint.

use std::fs;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde::Deserialize;
use walkdir::WalkDir;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::error::{Error, Result};
use crate::load::input::check_folder;
use crate::load::{BLUEPRINTS_DIR, yaml};
use crate::plan::Scope;

static DEFAULT_BLUEPRINTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/default-blueprints");

pub const MANIFEST: &str = "blueprint.yaml";
pub const FILES_DIR: &str = "files";

/// `blueprint.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub description: String,
    pub scope: Scope,
    /// Directory (a template) the files are rendered under, relative to the branch root.
    pub target: String,
    /// A template expression; the blueprint renders only for units where it is true.
    #[serde(default)]
    pub when: Option<String>,
    /// Directories (templates) that must exist with a kustomization.yaml even when nothing is
    /// rendered into them, because a Flux Kustomization points at them.
    #[serde(default)]
    pub directories: Vec<String>,
    /// Directory (a template) that is a cluster's `flux bootstrap --path`. fleetgen writes no
    /// kustomization.yaml there: Flux generates one that also takes in the `flux-system/`
    /// folder that `flux bootstrap` commits.
    #[serde(default)]
    pub bootstrap_path: Option<String>,
    /// Files (templates of paths relative to the branch root) that the blueprint's output refers
    /// to but the operator commits by hand, with the instruction to give them. Validation reports
    /// one that is missing as a warning carrying that instruction, not as an error.
    #[serde(default)]
    pub provided_by_operator: Vec<OperatorFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperatorFile {
    pub path: String,
    pub how: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    Fleet,
}

#[derive(Debug, Clone)]
pub struct Blueprint {
    pub name: String,
    pub origin: Origin,
    /// Where the blueprint lives, for messages: `blueprints/<name>` or `<default>/<name>`.
    pub location: PathBuf,
    pub manifest: Manifest,
    /// The text of `blueprint.yaml`, to point at one of its fields.
    pub manifest_source: String,
    /// Template files: path below `files/` and source.
    pub files: Vec<(String, String)>,
}

impl Blueprint {
    /// Path of one of the blueprint's files, for messages.
    pub fn file_location(&self, file: &str) -> PathBuf {
        self.location.join(FILES_DIR).join(file)
    }

    pub fn manifest_location(&self) -> PathBuf {
        self.location.join(MANIFEST)
    }

    /// Where a field of `blueprint.yaml` is written (its file's start when it cannot be found).
    pub fn field_location(&self, field: &str) -> Location {
        match yaml::locate(&self.manifest_source, &[yaml::Seg::Key(field)]) {
            Some((line, column)) => Location::new(self.manifest_location(), line, column),
            None => Location::file(self.manifest_location()),
        }
    }
}

/// The default blueprints, then the fleet's (replacing defaults of the same name), by name.
pub fn load_all(root: &Path) -> Result<Vec<Blueprint>> {
    let mut diagnostics = Diagnostics::new();
    let mut blueprints = defaults(&mut diagnostics);
    let fleet_dir = root.join(BLUEPRINTS_DIR);
    if fleet_dir.is_dir() {
        if !check_folder(root, Path::new(BLUEPRINTS_DIR), &mut diagnostics) {
            return Err(Error::Invalid(diagnostics));
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(&fleet_dir)
            .map_err(|source| Error::Read {
                path: fleet_dir.clone(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_dir() && !is_hidden(path))
            .collect();
        entries.sort();
        for dir in entries {
            let name = dir
                .file_name()
                .expect("read_dir entries have names")
                .to_string_lossy()
                .into_owned();
            if let Some(blueprint) = read_fleet_blueprint(root, &name, &mut diagnostics)? {
                blueprints.retain(|existing| existing.name != blueprint.name);
                blueprints.push(blueprint);
            }
        }
    }
    if diagnostics.has_errors() {
        return Err(Error::Invalid(diagnostics));
    }
    blueprints.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(blueprints)
}

/// The default blueprints alone, as compiled in.
pub fn defaults(diagnostics: &mut Diagnostics) -> Vec<Blueprint> {
    let mut blueprints = Vec::new();
    for dir in DEFAULT_BLUEPRINTS.dirs() {
        let name = dir.path().to_string_lossy().into_owned();
        let location = PathBuf::from("<default>").join(&name);
        let manifest_text = dir
            .get_file(dir.path().join(MANIFEST))
            .and_then(|file| file.contents_utf8())
            .expect("every default blueprint has a blueprint.yaml");
        let manifest = match yaml::from_str::<Manifest>(&location.join(MANIFEST), manifest_text) {
            Ok(manifest) => manifest,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let mut files = Vec::new();
        if let Some(files_dir) = dir.get_dir(dir.path().join(FILES_DIR)) {
            collect_embedded(files_dir, &dir.path().join(FILES_DIR), &mut files);
        }
        files.sort();
        blueprints.push(Blueprint {
            name,
            origin: Origin::Default,
            location,
            manifest,
            manifest_source: manifest_text.to_owned(),
            files,
        });
    }
    blueprints
}

/// Source files of the default blueprints, by path below `default-blueprints/`, for `init`.
pub fn default_sources() -> Vec<(PathBuf, &'static [u8])> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(PathBuf, &'static [u8])>) {
        for file in dir.files() {
            out.push((file.path().to_path_buf(), file.contents()));
        }
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&DEFAULT_BLUEPRINTS, &mut out);
    out.sort();
    out
}

fn collect_embedded(dir: &Dir<'static>, base: &Path, files: &mut Vec<(String, String)>) {
    for file in dir.files() {
        let relative = file
            .path()
            .strip_prefix(base)
            .expect("embedded files lie below their directory");
        let text = file.contents_utf8().expect("default blueprints are UTF-8");
        files.push((to_slash(relative), text.to_owned()));
    }
    for sub in dir.dirs() {
        collect_embedded(sub, base, files);
    }
}

fn read_fleet_blueprint(
    root: &Path,
    name: &str,
    diagnostics: &mut Diagnostics,
) -> Result<Option<Blueprint>> {
    let location = Path::new(BLUEPRINTS_DIR).join(name);
    let manifest_path = location.join(MANIFEST);
    if !crate::load::is_there(&root.join(&manifest_path)) {
        diagnostics.push(
            Diagnostic::error("missing-file", format!("blueprint `{name}` has no {MANIFEST}"))
                .at_file(&location)
                .with_hint("a blueprint needs at least `scope:` and `target:`; see the default blueprints (`fleetgen init`)"),
        );
        return Ok(None);
    }
    let source = crate::load::read_source(root, &manifest_path)?;
    let manifest = match yaml::from_str::<Manifest>(&manifest_path, &source.text) {
        Ok(manifest) => manifest,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Ok(None);
        }
    };
    let files_dir = root.join(&location).join(FILES_DIR);
    let mut files = Vec::new();
    if files_dir.is_dir() {
        // Checked before the walk, which would list a folder outside however large.
        if !check_folder(root, &location.join(FILES_DIR), diagnostics) {
            return Ok(None);
        }
        for entry in WalkDir::new(&files_dir).sort_by_file_name() {
            let entry = entry.map_err(|error| Error::Read {
                path: files_dir.clone(),
                source: error
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("directory loop")),
            })?;
            // Links are not skipped: reading refuses those that leave the fleet.
            if entry.file_type().is_dir() || is_hidden(entry.path()) {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&files_dir)
                .expect("walkdir stays below its root");
            let text = crate::load::input::read_text(
                root,
                &crate::load::input::relative_to(root, entry.path()),
            )?;
            files.push((to_slash(relative), text));
        }
    }
    Ok(Some(Blueprint {
        name: name.to_owned(),
        origin: Origin::Fleet,
        location,
        manifest,
        manifest_source: source.text,
        files,
    }))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

fn to_slash(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
