//! Checks a change before it is written: the fleet source is copied to a temporary folder, the
//! change applied there, and the copy loaded and rendered. The command is refused if the change
//! brings problems that were not there before — except placeholders left on purpose — and the
//! renders before and after tell what Flux will prune.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::load::ENVIRONMENTS_DIR;
use crate::pipeline::Compiled;

use super::changes::FileChange;

/// The rule of the loader's "fill in KEY" findings.
pub const FILL_IN: &str = "fill-in";

pub struct Staged {
    /// The fleet as it renders now; `None` when it does not.
    pub before: Option<Compiled>,
    /// The fleet as it will render after the change; `None` when it does not (placeholders).
    pub after: Option<Compiled>,
    /// Placeholders left to fill in after the change.
    pub fill_in: Vec<Diagnostic>,
}

pub fn check(root: &Path, changes: &[FileChange]) -> Result<Staged> {
    let (before, before_problems) = compile(root, root)?;
    let stage = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    for folder in ["fleet", ENVIRONMENTS_DIR] {
        copy_dir(&root.join(folder), &stage.path().join(folder))?;
    }
    for change in changes {
        let target = stage.path().join(&change.path);
        match &change.after {
            Some(text) => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|source| Error::Write {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                fs::write(&target, text).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
            }
            None => {
                let _ = fs::remove_file(&target);
            }
        }
    }
    let (after, after_problems) = compile(stage.path(), root)?;
    let known: BTreeSet<(&str, &str, Option<&Path>)> =
        before_problems.iter().map(identity).collect();
    let mut fill_in = Vec::new();
    let mut introduced = Diagnostics::new();
    for diagnostic in after_problems.iter().filter(|d| d.is_error()) {
        if diagnostic.rule == FILL_IN {
            fill_in.push(diagnostic.clone());
        } else if !known.contains(&identity(diagnostic)) {
            introduced.push(diagnostic.clone());
        }
    }
    if !introduced.is_empty() {
        introduced.sort();
        return Err(Error::Invalid(introduced));
    }
    Ok(Staged {
        before,
        after,
        fill_in,
    })
}

/// A finding without its line and column, which an edit may shift.
fn identity(diagnostic: &Diagnostic) -> (&str, &str, Option<&Path>) {
    (
        diagnostic.rule,
        diagnostic.message.as_str(),
        diagnostic
            .location
            .as_ref()
            .map(|location| location.file.as_path()),
    )
}

/// Loads and renders the fleet source under `source`, with the blueprints of `root` (a change
/// never edits blueprints, and `root` is where a fleet's relative paths point). Problems with
/// the fleet are returned, not raised.
fn compile(source: &Path, root: &Path) -> Result<(Option<Compiled>, Diagnostics)> {
    let result = crate::pipeline::compile_staged(source, root, &[]);
    match result {
        Ok(compiled) => Ok((Some(compiled), Diagnostics::new())),
        Err(Error::Invalid(diagnostics)) => Ok((None, diagnostics)),
        Err(other) => Err(other),
    }
}

/// Copies the folder `from` to `to`, its subfolders and regular files (links are left out).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(|error| Error::Read {
            path: from.to_path_buf(),
            source: error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop")),
        })?;
        let relative = entry
            .path()
            .strip_prefix(from)
            .expect("walkdir stays below its root");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).map_err(|source| Error::Write {
                path: target.clone(),
                source,
            })?;
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &target).map_err(|source| Error::Write {
                path: target.clone(),
                source,
            })?;
        }
    }
    Ok(())
}
