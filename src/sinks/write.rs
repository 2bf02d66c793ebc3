//! `fleetgen render`: writes each branch's tree to `<out>/<branch>/`.
//!
//! The output directory is shared with people: they may keep hand-written files there, and they
//! may (wrongly) edit a generated one. So fleetgen only ever touches files listed in the
//! branch's ownership list, refuses to overwrite a generated file whose content no longer matches
//! what it wrote, and replaces files in three steps — stage every new file, move the old ones
//! aside, move the new ones in — undoing everything if any step fails. A file whose content is
//! unchanged is not rewritten at all, so timestamps and watchers stay quiet.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sinks::changes::{self, ChangeKind, DirBase};
use crate::tree::Branches;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Overwrite or delete generated files even if they were edited by hand.
    pub force: bool,
}

/// What a write did (or, for [`changes`], would do), with paths relative to the output root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub added: Vec<PathBuf>,
    pub modified: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    pub unchanged: usize,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

enum Change {
    Write {
        relative: PathBuf,
        content: Vec<u8>,
        existed: bool,
    },
    Remove {
        relative: PathBuf,
    },
}

/// Computes the changes that writing `branches` under `out` would make, refusing hand edits.
pub fn changes(out: &Path, branches: &Branches, options: Options) -> Result<Report> {
    let (changes, report) = plan(out, branches, options)?;
    drop(changes);
    Ok(report)
}

/// Writes `branches` under `out`, all or nothing.
pub fn write(out: &Path, branches: &Branches, options: Options) -> Result<Report> {
    let (changes, report) = plan(out, branches, options)?;
    apply(out, &changes)?;
    Ok(report)
}

fn plan(out: &Path, branches: &Branches, options: Options) -> Result<(Vec<Change>, Report)> {
    let mut changes = Vec::new();
    let mut report = Report::default();
    let mut hand_edited = Vec::new();
    for (branch, tree) in branches.iter() {
        let branch_dir = Path::new(branch);
        let base = DirBase {
            root: out.join(branch_dir),
        };
        let planned = changes::plan(branch, tree, &base)?;
        report.unchanged += tree.len()
            - planned
                .iter()
                .filter(|change| change.kind != ChangeKind::Deleted)
                .count();
        for change in planned {
            let relative = branch_dir.join(&change.path);
            if change.conflict.is_some() && !options.force {
                hand_edited.push(relative.clone());
            }
            match (change.kind, change.new) {
                (ChangeKind::Deleted, _) | (_, None) => {
                    report.removed.push(relative.clone());
                    changes.push(Change::Remove { relative });
                }
                (kind, Some(content)) => {
                    let existed = kind == ChangeKind::Modified;
                    if existed {
                        report.modified.push(relative.clone());
                    } else {
                        report.added.push(relative.clone());
                    }
                    changes.push(Change::Write {
                        relative,
                        content,
                        existed,
                    });
                }
            }
        }
    }
    if !hand_edited.is_empty() {
        return Err(Error::HandEdited(
            hand_edited
                .into_iter()
                .map(|relative| out.join(relative))
                .collect(),
        ));
    }
    Ok((changes, report))
}

/// Staging name of a file, next to its target so the final rename stays on one file system.
fn staged(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.fleetgen-new"))
}

fn apply(out: &Path, changes: &[Change]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let backup_root = out.join(format!(".fleetgen-backup-{}", std::process::id()));
    let mut staged_files: Vec<PathBuf> = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();

    // 1. Stage every new content. Nothing visible has changed yet.
    let staging = (|| -> Result<()> {
        for change in changes {
            if let Change::Write {
                relative, content, ..
            } = change
            {
                let target = out.join(relative);
                let parent = target.parent().expect("targets lie below the output root");
                create_dirs(parent, &mut created_dirs)?;
                let temp = staged(&target);
                fs::write(&temp, content).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                staged_files.push(temp);
            }
        }
        Ok(())
    })();
    if let Err(error) = staging {
        discard(&staged_files, &created_dirs);
        return Err(error);
    }

    // 2. Move old files aside, 3. move new ones in; on failure put everything back.
    let mut moved_aside: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut moved_in: Vec<PathBuf> = Vec::new();
    let swap = (|| -> Result<()> {
        for change in changes {
            let (relative, existed) = match change {
                Change::Write {
                    relative, existed, ..
                } => (relative, *existed),
                Change::Remove { relative } => (relative, true),
            };
            if existed {
                let target = out.join(relative);
                let backup = backup_root.join(relative);
                let parent = backup.parent().expect("backups lie below the backup root");
                fs::create_dir_all(parent).map_err(|source| Error::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
                fs::rename(&target, &backup).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                moved_aside.push((target, backup));
            }
        }
        for change in changes {
            if let Change::Write { relative, .. } = change {
                let target = out.join(relative);
                fs::rename(staged(&target), &target).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                moved_in.push(target);
            }
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
        discard(&staged_files, &created_dirs);
        let _ = fs::remove_dir_all(&backup_root);
        return Err(error);
    }

    // 4. Done: drop the old contents and the folders that removals emptied.
    let _ = fs::remove_dir_all(&backup_root);
    for change in changes {
        if let Change::Remove { relative } = change {
            let mut dir = out.join(relative).parent().map(Path::to_path_buf);
            while let Some(current) = dir {
                if current == out || fs::remove_dir(&current).is_err() {
                    break;
                }
                dir = current.parent().map(Path::to_path_buf);
            }
        }
    }
    Ok(())
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        if path.is_dir() {
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

fn discard(staged_files: &[PathBuf], created_dirs: &[PathBuf]) {
    for temp in staged_files {
        let _ = fs::remove_file(temp);
    }
    for dir in created_dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Tree;

    fn branches(files: &[(&str, &str)]) -> Branches {
        let mut tree = Tree::new();
        for (path, content) in files {
            tree.insert(*path, *content);
        }
        tree.seal();
        Branches {
            trees: [("main".to_owned(), tree)].into_iter().collect(),
        }
    }

    fn snapshot(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                let relative = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (relative, fs::read_to_string(entry.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn second_write_changes_nothing() {
        let out = tempfile::tempdir().unwrap();
        let first = write(
            out.path(),
            &branches(&[("a/b.yaml", "x")]),
            Options::default(),
        )
        .unwrap();
        assert_eq!(first.added.len(), 2);
        let second = write(
            out.path(),
            &branches(&[("a/b.yaml", "x")]),
            Options::default(),
        )
        .unwrap();
        assert!(second.is_empty());
        assert_eq!(second.unchanged, 2);
    }

    #[test]
    fn stale_files_are_pruned_and_hand_written_ones_kept() {
        let out = tempfile::tempdir().unwrap();
        write(
            out.path(),
            &branches(&[("a/old.yaml", "x"), ("b/keep.yaml", "k")]),
            Options::default(),
        )
        .unwrap();
        fs::write(out.path().join("main/a/notes.md"), "mine").unwrap();
        fs::create_dir_all(out.path().join("main/c")).unwrap();
        let report = write(
            out.path(),
            &branches(&[("b/keep.yaml", "k")]),
            Options::default(),
        )
        .unwrap();
        assert_eq!(report.removed, [PathBuf::from("main/a/old.yaml")]);
        assert_eq!(
            fs::read_to_string(out.path().join("main/a/notes.md")).unwrap(),
            "mine"
        );
        assert!(!out.path().join("main/a/old.yaml").exists());
    }

    #[test]
    fn hand_edits_are_refused_unless_forced() {
        let out = tempfile::tempdir().unwrap();
        write(
            out.path(),
            &branches(&[("a.yaml", "x")]),
            Options::default(),
        )
        .unwrap();
        fs::write(out.path().join("main/a.yaml"), "edited").unwrap();
        let error = write(
            out.path(),
            &branches(&[("a.yaml", "y")]),
            Options::default(),
        )
        .unwrap_err();
        assert!(
            matches!(error, Error::HandEdited(ref paths) if paths.len() == 1),
            "{error}"
        );
        assert_eq!(
            fs::read_to_string(out.path().join("main/a.yaml")).unwrap(),
            "edited"
        );
        write(
            out.path(),
            &branches(&[("a.yaml", "y")]),
            Options { force: true },
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(out.path().join("main/a.yaml")).unwrap(),
            "y"
        );
    }

    #[test]
    fn a_hand_written_file_at_a_generated_path_is_refused() {
        let out = tempfile::tempdir().unwrap();
        fs::create_dir_all(out.path().join("main")).unwrap();
        fs::write(out.path().join("main/a.yaml"), "mine").unwrap();
        assert!(
            write(
                out.path(),
                &branches(&[("a.yaml", "y")]),
                Options::default()
            )
            .is_err()
        );
        assert_eq!(
            fs::read_to_string(out.path().join("main/a.yaml")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn failure_midway_leaves_the_previous_output() {
        let out = tempfile::tempdir().unwrap();
        write(
            out.path(),
            &branches(&[("a.yaml", "1"), ("z.yaml", "1")]),
            Options::default(),
        )
        .unwrap();
        let before = snapshot(out.path());
        // `blocked` is a file where the new tree needs a directory: staging fails after
        // other files were already staged.
        fs::write(out.path().join("main/blocked"), "").unwrap();
        let before_with_blocker = snapshot(out.path());
        let result = write(
            out.path(),
            &branches(&[("a.yaml", "2"), ("blocked/x.yaml", "2"), ("z.yaml", "2")]),
            Options::default(),
        );
        assert!(result.is_err());
        assert_eq!(snapshot(out.path()), before_with_blocker);
        assert_ne!(before, before_with_blocker);
    }
}
