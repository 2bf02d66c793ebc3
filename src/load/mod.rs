//! Reading the fleet source: every input file of the layout below, parsed but not yet
//! interpreted. Positions are kept so that the model can point back at the exact line.
//!
//! ```text
//! fleet/fleet.yaml                            fleet-wide settings
//! fleet/clusters/<cluster>.env                one dotenv file per cluster
//! fleet/tenants/<tenant>.yaml                 one file per tenant
//! environments/<env>/environment.yaml         one folder per environment
//! environments/<env>/clusters/<cluster>.env   a cluster's membership in <env>, with overrides
//! environments/<env>/tenants/<tenant>.yaml    a tenant's membership in <env>
//! blueprints/<name>/…                         the fleet's own blueprints (read by `render`)
//! ```

pub mod dotenv;
pub mod files;
pub mod input;
pub mod yaml;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
pub use files::{EnvironmentFile, FleetFile, Scalar, TenantFile, TenantMembershipFile};

pub const FLEET_FILE: &str = "fleet/fleet.yaml";
pub const CLUSTERS_DIR: &str = "fleet/clusters";
pub const TENANTS_DIR: &str = "fleet/tenants";
pub const ENVIRONMENTS_DIR: &str = "environments";
pub const ENVIRONMENT_FILE: &str = "environment.yaml";
pub const BLUEPRINTS_DIR: &str = "blueprints";
/// The folders of the fleet source, below its root.
pub const SOURCE_FOLDERS: [&str; 3] = ["fleet", ENVIRONMENTS_DIR, BLUEPRINTS_DIR];

/// A file as read, with its path relative to the fleet root (the form used in messages).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub source: SourceFile,
    pub content: T,
}

/// A dotenv file of cluster keys.
#[derive(Debug, Clone)]
pub struct EnvFile {
    /// The cluster name, from the file name.
    pub name: String,
    pub source: SourceFile,
    pub entries: Vec<dotenv::Entry>,
}

#[derive(Debug, Clone)]
pub struct EnvironmentSource {
    pub name: String,
    pub dir: PathBuf,
    pub file: Parsed<EnvironmentFile>,
    pub clusters: Vec<EnvFile>,
    pub tenants: Vec<(String, Parsed<TenantMembershipFile>)>,
}

/// Every input file of a fleet, parsed.
#[derive(Debug, Clone)]
pub struct FleetSource {
    /// The fleet root, as given (absolute or relative to the working directory).
    pub root: PathBuf,
    pub fleet: Parsed<FleetFile>,
    pub clusters: Vec<EnvFile>,
    pub tenants: Vec<(String, Parsed<TenantFile>)>,
    pub environments: Vec<EnvironmentSource>,
}

impl FleetSource {
    /// Every file read, in the order it was read.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        let environments = self.environments.iter().flat_map(|environment| {
            std::iter::once(&environment.file.source)
                .chain(environment.clusters.iter().map(|cluster| &cluster.source))
                .chain(environment.tenants.iter().map(|(_, tenant)| &tenant.source))
        });
        std::iter::once(&self.fleet.source)
            .chain(self.clusters.iter().map(|cluster| &cluster.source))
            .chain(self.tenants.iter().map(|(_, tenant)| &tenant.source))
            .chain(environments)
    }
}

/// Whether anything is at `path`, be it a file, a folder, a FIFO or a link that leads nowhere:
/// all but a missing entry are read, and refused by what they are, so that the message names
/// the thing the user sees there.
pub(crate) fn is_there(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Reads and parses the fleet source under `root`. All syntax problems of all files are
/// reported together.
pub fn load(root: &Path) -> Result<FleetSource> {
    let mut diagnostics = Diagnostics::new();
    if !is_there(&root.join(FLEET_FILE)) {
        let mut diagnostic = Diagnostic::error(
            "missing-file",
            format!("no {FLEET_FILE} under {}", root.display()),
        );
        diagnostic = diagnostic.with_hint("run fleetgen in the fleet source root, pass -C DIR, or create one with `fleetgen init`");
        return Err(Error::Invalid([diagnostic].into_iter().collect()));
    }
    let fleet = parse_yaml::<FleetFile>(root, Path::new(FLEET_FILE), &mut diagnostics)?;

    let clusters = read_env_files(root, Path::new(CLUSTERS_DIR), &mut diagnostics)?;
    let tenants = read_yaml_dir::<TenantFile>(root, Path::new(TENANTS_DIR), &mut diagnostics)?;

    let mut environments = Vec::new();
    for (name, dir) in list_dir(
        root,
        Path::new(ENVIRONMENTS_DIR),
        Entry::Dirs,
        &mut diagnostics,
    )? {
        let file_path = dir.join(ENVIRONMENT_FILE);
        let file = if is_there(&root.join(&file_path)) {
            parse_yaml::<EnvironmentFile>(root, &file_path, &mut diagnostics)?
        } else {
            diagnostics.push(
                Diagnostic::error(
                    "missing-file",
                    format!(
                        "environment `{}` has no {ENVIRONMENT_FILE}",
                        crate::diagnostic::truncate(&name)
                    ),
                )
                .at_file(&dir)
                .with_hint(format!(
                    "create {} (it may be empty) or run `fleetgen init-environment {name}`",
                    file_path.display()
                )),
            );
            None
        };
        let clusters = read_env_files(root, &dir.join("clusters"), &mut diagnostics)?;
        let tenants =
            read_yaml_dir::<TenantMembershipFile>(root, &dir.join("tenants"), &mut diagnostics)?;
        if let Some(file) = file {
            environments.push(EnvironmentSource {
                name,
                dir,
                file,
                clusters,
                tenants,
            });
        }
    }

    match (fleet, diagnostics.has_errors()) {
        (Some(fleet), false) => Ok(FleetSource {
            root: root.to_path_buf(),
            fleet,
            clusters,
            tenants,
            environments,
        }),
        _ => Err(Error::Invalid(diagnostics)),
    }
}

pub fn read_source(root: &Path, relative: &Path) -> Result<SourceFile> {
    let text = input::read_text(root, relative)?;
    // An editor's byte-order mark is not part of the first key.
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    Ok(SourceFile {
        path: relative.to_path_buf(),
        text,
    })
}

fn parse_yaml<T: serde::de::DeserializeOwned>(
    root: &Path,
    relative: &Path,
    diagnostics: &mut Diagnostics,
) -> Result<Option<Parsed<T>>> {
    let source = read_source(root, relative)?;
    match yaml::from_str::<T>(&source.path, &source.text) {
        Ok(content) => Ok(Some(Parsed { source, content })),
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            Ok(None)
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Entry {
    Dirs,
    Files(&'static str),
}

/// Lists `dir` (relative to root) sorted by name. A missing directory is empty; entries of the
/// wrong kind are errors, so that a misplaced file is not silently ignored.
fn list_dir(
    root: &Path,
    dir: &Path,
    want: Entry,
    diagnostics: &mut Diagnostics,
) -> Result<Vec<(String, PathBuf)>> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(Vec::new());
    }
    if !input::check_folder(root, dir, diagnostics) {
        return Ok(Vec::new());
    }
    let mut found = BTreeMap::new();
    let entries = fs::read_dir(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: full.clone(),
            source,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let relative = dir.join(&file_name);
        let is_dir = entry.path().is_dir();
        match want {
            Entry::Dirs if is_dir => {
                found.insert(file_name, relative);
            }
            Entry::Files(extension) if !is_dir => match file_name.strip_suffix(extension) {
                Some(stem) => {
                    found.insert(stem.to_owned(), relative);
                }
                None if file_name.ends_with(".md") => {}
                None => diagnostics.push(
                    Diagnostic::error(
                        "unexpected-file",
                        format!(
                            "`{}` is not a {extension} file",
                            crate::diagnostic::truncate(&file_name)
                        ),
                    )
                    .at_file(&relative)
                    .with_hint(format!(
                        "files in {} must end in {extension}",
                        dir.display()
                    )),
                ),
            },
            _ => {
                let diagnostic = match want {
                    Entry::Dirs => Diagnostic::error(
                        "unexpected-file",
                        format!("`{}` should be a directory", crate::diagnostic::truncate(&file_name)),
                    )
                    .with_hint(format!("{} holds one folder per environment", dir.display())),
                    Entry::Files(extension) => Diagnostic::error(
                        "unexpected-file",
                        format!("`{}` should be a file, not a directory", crate::diagnostic::truncate(&file_name)),
                    )
                    .with_hint(format!(
                        "{} holds one <name>{extension} file each; names are DNS-1123 labels and cannot contain `/`",
                        dir.display()
                    )),
                };
                diagnostics.push(diagnostic.at_file(&relative));
            }
        }
    }
    Ok(found.into_iter().collect())
}

fn read_env_files(root: &Path, dir: &Path, diagnostics: &mut Diagnostics) -> Result<Vec<EnvFile>> {
    let mut files = Vec::new();
    for (name, relative) in list_dir(root, dir, Entry::Files(".env"), diagnostics)? {
        let source = read_source(root, &relative)?;
        match dotenv::parse(&source.path, &source.text) {
            Ok(entries) => files.push(EnvFile {
                name,
                source,
                entries,
            }),
            Err(found) => diagnostics.extend(found),
        }
    }
    Ok(files)
}

fn read_yaml_dir<T: serde::de::DeserializeOwned>(
    root: &Path,
    dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Result<Vec<(String, Parsed<T>)>> {
    let mut files = Vec::new();
    for (name, relative) in list_dir(root, dir, Entry::Files(".yaml"), diagnostics)? {
        if let Some(parsed) = parse_yaml::<T>(root, &relative, diagnostics)? {
            files.push((name, parsed));
        }
    }
    Ok(files)
}
