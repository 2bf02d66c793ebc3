//! All-or-nothing updates of a set of files below one root: the output directory (`render`)
//! and the fleet source (scaffolding) are both shared with people, and a failure halfway — a
//! full disk, a file where a folder should be — must leave them exactly as they were.
//!
//! New contents are staged next to their targets first (so the final rename stays on one file
//! system), then the old files are moved aside, then the staged ones moved in; if any step
//! fails, everything done so far is undone.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file to write or remove, relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOp {
    pub path: PathBuf,
    /// The new content; `None` removes the file.
    pub content: Option<Vec<u8>>,
    /// Whether something is at `path` now (it is moved aside first, and back on failure).
    pub exists: bool,
}

/// Applies every operation under `root`, creating `root` if needed, all or nothing. Folders
/// that removals leave empty are removed too, never `root` itself.
pub fn apply(root: &Path, ops: &[FileOp]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    create_dirs(root, &mut created_dirs)?;
    let backup_root = match tempfile::Builder::new()
        .prefix(".fleetgen-backup-")
        .tempdir_in(root)
    {
        Ok(dir) => dir,
        Err(source) => {
            remove_dirs(&created_dirs);
            return Err(Error::Write {
                path: root.to_path_buf(),
                source,
            });
        }
    };

    // 1. Stage every new content. Nothing visible has changed yet.
    let mut staged: Vec<(tempfile::NamedTempFile, PathBuf)> = Vec::new();
    let staging = (|| -> Result<()> {
        for op in ops {
            let Some(content) = &op.content else { continue };
            let target = root.join(&op.path);
            let parent = target.parent().expect("targets lie below the root");
            create_dirs(parent, &mut created_dirs)?;
            let write_error = |source| Error::Write {
                path: target.clone(),
                source,
            };
            let mut file = tempfile::Builder::new()
                .prefix(".fleetgen-new-")
                .tempfile_in(parent)
                .map_err(write_error)?;
            file.write_all(content).map_err(write_error)?;
            staged.push((file, target));
        }
        Ok(())
    })();
    if let Err(error) = staging {
        drop(staged);
        drop(backup_root);
        remove_dirs(&created_dirs);
        return Err(error);
    }

    // 2. Move old files aside, 3. move new ones in; on failure put everything back.
    let mut moved_aside: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut moved_in: Vec<PathBuf> = Vec::new();
    let swap = (|| -> Result<()> {
        for (index, op) in ops.iter().enumerate() {
            if op.exists {
                let target = root.join(&op.path);
                let backup = backup_root.path().join(index.to_string());
                fs::rename(&target, &backup).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                moved_aside.push((target, backup));
            }
        }
        for (file, target) in staged.drain(..) {
            file.persist(&target).map_err(|error| Error::Write {
                path: target.clone(),
                source: error.error,
            })?;
            moved_in.push(target);
        }
        Ok(())
    })();
    if let Err(error) = swap {
        for target in &moved_in {
            let _ = fs::remove_file(target);
        }
        for (target, backup) in moved_aside.iter().rev() {
            let _ = fs::rename(backup, target);
        }
        drop(staged);
        drop(backup_root);
        remove_dirs(&created_dirs);
        return Err(error);
    }
    drop(backup_root);

    // 4. Folders that removals emptied go too.
    for op in ops.iter().filter(|op| op.content.is_none()) {
        let mut dir = root.join(&op.path).parent().map(Path::to_path_buf);
        while let Some(current) = dir {
            if current == root || fs::remove_dir(&current).is_err() {
                break;
            }
            dir = current.parent().map(Path::to_path_buf);
        }
    }
    Ok(())
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        // A relative path's last parent is the empty path: the working directory, which exists.
        if path.as_os_str().is_empty() || path.is_dir() {
            break;
        }
        missing.push(path.to_path_buf());
        current = path.parent();
    }
    for path in missing.into_iter().rev() {
        fs::create_dir(&path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        created.push(path);
    }
    Ok(())
}

fn remove_dirs(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}
