//! The fleet source's own repository, which `commit` and the pre-commit hook read but never
//! write: what of the source is not committed, and the source as staged in the index. Its Git
//! directory also holds what one run keeps for the next ([`own_dir`]).

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Repository};

use crate::error::{Error, Result};
use crate::load::SOURCE_FOLDERS;

/// fleetgen's own folder in the Git directory of the repository the fleet source under `root`
/// is in, if it is in one: out of every branch and every working tree. Found from where the
/// source is, never from `repo.path` in fleet.yaml, which a change under review could point
/// anywhere.
pub fn own_dir(root: &Path) -> Option<PathBuf> {
    let repo = Repository::discover(root).ok()?;
    Some(repo.commondir().join("fleetgen"))
}

/// The fleet source's files with changes Git has not committed (modified, staged, new, or
/// deleted), relative to the fleet root: a commit rendered from them publishes what no
/// commit of the source records. Empty when the source is in no repository.
pub fn uncommitted_source(root: &Path) -> Result<Vec<String>> {
    let repo = match Repository::discover(root) {
        Ok(repo) => repo,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let prefix = relative_prefix(workdir, root);
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .disable_pathspec_match(false);
    for input in SOURCE_FOLDERS {
        options.pathspec(format!("{prefix}{input}/"));
    }
    let statuses = repo.statuses(Some(&mut options))?;
    let mut paths: Vec<String> = statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT)
        .filter_map(|entry| {
            entry
                .path()
                .map(|path| path.strip_prefix(&prefix).unwrap_or(path).to_owned())
                .ok()
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// The fleet source at `root` as staged in its repository's index, copied into a temporary
/// directory; `None` when the index holds no fleet source there (a checkout of a rendered
/// branch, or no repository at all). Honours `GIT_INDEX_FILE`, which git sets for hooks of
/// `git commit -a` and `git commit <path>`.
pub fn stage_index(root: &Path) -> Result<Option<tempfile::TempDir>> {
    let repo = match Repository::discover(root) {
        Ok(repo) => repo,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(None);
    };
    let prefix = relative_prefix(workdir, root);
    let index = match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) => git2::Index::open(&workdir.join(file))?,
        None => repo.index()?,
    };
    let fleet_file = format!("{prefix}{}", crate::load::FLEET_FILE);
    if index.get_path(Path::new(&fleet_file), 0).is_none() {
        return Ok(None);
    }
    let staged = tempfile::Builder::new()
        .prefix("fleetgen-staged-")
        .tempdir()
        .map_err(|source| Error::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    for entry in index.iter() {
        let Ok(path) = std::str::from_utf8(&entry.path) else {
            continue;
        };
        let Some(relative) = path.strip_prefix(&prefix) else {
            continue;
        };
        // Stage 0 only (a conflicted path has no staged content), blobs only (no submodules).
        let stage = (entry.flags >> 12) & 0x3;
        let kind = entry.mode & 0o170_000;
        if stage != 0 || (kind != 0o100_000 && kind != 0o120_000) {
            continue;
        }
        let valid = relative
            .split('/')
            .all(|part| !matches!(part, "" | "." | "..") && !part.eq_ignore_ascii_case(".git"));
        if !valid {
            continue;
        }
        let file = staged.path().join(relative);
        let blob = repo.find_blob(entry.id)?;
        let write_error = |source| Error::Write {
            path: file.clone(),
            source,
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        if kind == 0o120_000 {
            // A link is staged as its target; the loader decides whether it may follow it.
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(blob.content()), &file)
                    .map_err(write_error)?;
            }
        } else {
            std::fs::write(&file, blob.content()).map_err(write_error)?;
        }
    }
    Ok(Some(staged))
}

/// `root` relative to `workdir`, `/`-separated with a trailing `/`, or empty at the top.
fn relative_prefix(workdir: &Path, root: &Path) -> String {
    let canonical =
        |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let prefix = canonical(root)
        .strip_prefix(canonical(workdir))
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let prefix = prefix.to_string_lossy().replace('\\', "/");
    if prefix.is_empty() {
        prefix
    } else {
        format!("{prefix}/")
    }
}
