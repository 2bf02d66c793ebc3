//! `fleetgen render`: writes each branch's tree to `<out>/<branch>/`.
//!
//! The output directory is shared with people: they may keep hand-written files there, and they
//! may (wrongly) edit a generated one. So fleetgen only ever touches files listed in the
//! branch's ownership list, refuses to overwrite a generated file whose content no longer matches
//! what it wrote, and replaces files in three steps — stage every new file, move the old ones
//! aside, move the new ones in — undoing everything if any step fails. A file whose content is
//! unchanged is not rewritten at all, so timestamps and watchers stay quiet.

use std::path::{Path, PathBuf};

use crate::atomic::FileOp;
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

/// Computes the changes that writing `branches` under `out` would make, refusing hand edits.
pub fn changes(out: &Path, branches: &Branches, options: Options) -> Result<Report> {
    let (_, report) = plan(out, branches, options)?;
    Ok(report)
}

/// Writes `branches` under `out`, all or nothing.
pub fn write(out: &Path, branches: &Branches, options: Options) -> Result<Report> {
    let (ops, report) = plan(out, branches, options)?;
    crate::atomic::apply(out, &ops)?;
    Ok(report)
}

fn plan(out: &Path, branches: &Branches, options: Options) -> Result<(Vec<FileOp>, Report)> {
    let mut ops = Vec::new();
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
                    ops.push(FileOp {
                        path: relative,
                        content: None,
                        exists: true,
                    });
                }
                (kind, Some(content)) => {
                    let existed = kind == ChangeKind::Modified;
                    if existed {
                        report.modified.push(relative.clone());
                    } else {
                        report.added.push(relative.clone());
                    }
                    ops.push(FileOp {
                        path: relative,
                        content: Some(content),
                        exists: existed,
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
    Ok((ops, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Tree;
    use std::fs;

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
