//! A command's edits to the fleet source, collected before anything is written: files created,
//! replaced or deleted. The set can be shown as a unified diff (`--dry-run`), checked on a
//! staged copy, and then applied all together or not at all.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::FileOp;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the fleet root.
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl FileChange {
    pub fn verb(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "deleted",
            _ => "edited",
        }
    }
}

#[derive(Debug)]
pub struct ChangeSet {
    root: PathBuf,
    files: BTreeMap<PathBuf, FileChange>,
}

impl ChangeSet {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            files: BTreeMap::new(),
        }
    }

    /// The file's content with this set's changes applied so far.
    pub fn text(&self, path: &Path) -> Result<Option<String>> {
        match self.files.get(path) {
            Some(change) => Ok(change.after.clone()),
            None => read_optional(&self.root.join(path)),
        }
    }

    /// Sets the content of `path` (`None` deletes it). Setting what is already there is not a
    /// change.
    pub fn put(&mut self, path: &Path, after: Option<String>) -> Result<()> {
        let before = match self.files.get(path) {
            Some(change) => change.before.clone(),
            None => read_optional(&self.root.join(path))?,
        };
        if before == after {
            self.files.remove(path);
        } else {
            self.files.insert(
                path.to_path_buf(),
                FileChange {
                    path: path.to_path_buf(),
                    before,
                    after,
                },
            );
        }
        Ok(())
    }

    pub fn write(&mut self, path: &Path, content: String) -> Result<()> {
        self.put(path, Some(content))
    }

    pub fn delete(&mut self, path: &Path) -> Result<()> {
        self.put(path, None)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn changes(&self) -> impl Iterator<Item = &FileChange> {
        self.files.values()
    }

    pub fn into_changes(self) -> Vec<FileChange> {
        self.files.into_values().collect()
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The changes as one unified diff, `a/` and `b/` prefixed like `git diff`.
pub fn unified_diff(changes: &[FileChange]) -> String {
    let mut out = String::new();
    for change in changes {
        let path = slash(&change.path);
        let old_name = match change.before {
            Some(_) => format!("a/{path}"),
            None => "/dev/null".to_owned(),
        };
        let new_name = match change.after {
            Some(_) => format!("b/{path}"),
            None => "/dev/null".to_owned(),
        };
        let before = change.before.as_deref().unwrap_or("");
        let after = change.after.as_deref().unwrap_or("");
        let diff = similar::TextDiff::from_lines(before, after);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string();
        // An empty file created or deleted has no hunk, but the change must still show.
        if text.is_empty() {
            out.push_str(&format!("--- {old_name}\n+++ {new_name}\n"));
        }
        out.push_str(&text);
    }
    out
}

pub fn slash(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes every change under `root`, all or nothing (see [`crate::atomic`]).
pub fn apply(root: &Path, changes: &[FileChange]) -> Result<()> {
    let ops: Vec<FileOp> = changes
        .iter()
        .map(|change| FileOp {
            path: change.path.clone(),
            content: change.after.as_ref().map(|text| text.clone().into_bytes()),
            exists: change.before.is_some(),
        })
        .collect();
    crate::atomic::apply(root, &ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_of_the_same_content_is_no_change() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), "x\n").unwrap();
        let mut set = ChangeSet::new(dir.path());
        set.write(Path::new("a"), "y\n".into()).unwrap();
        assert!(!set.is_empty());
        set.write(Path::new("a"), "x\n".into()).unwrap();
        assert!(set.is_empty());
        set.delete(Path::new("missing")).unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn applies_everything_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keep"), "old\n").unwrap();
        fs::write(dir.path().join("blocker"), "").unwrap();
        let mut set = ChangeSet::new(dir.path());
        set.write(Path::new("keep"), "new\n".into()).unwrap();
        set.write(Path::new("blocker/inside"), "x\n".into())
            .unwrap();
        assert!(apply(dir.path(), &set.into_changes()).is_err());
        assert_eq!(
            fs::read_to_string(dir.path().join("keep")).unwrap(),
            "old\n"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn deletes_and_prunes_emptied_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("e/clusters")).unwrap();
        fs::write(dir.path().join("e/clusters/a.env"), "").unwrap();
        fs::write(dir.path().join("e/env.yaml"), "").unwrap();
        let mut set = ChangeSet::new(dir.path());
        set.delete(Path::new("e/clusters/a.env")).unwrap();
        set.write(Path::new("n/new.yaml"), "x: 1\n".into()).unwrap();
        let changes = set.into_changes();
        assert_eq!(
            unified_diff(&changes).lines().next(),
            Some("--- a/e/clusters/a.env")
        );
        apply(dir.path(), &changes).unwrap();
        assert!(!dir.path().join("e/clusters").exists());
        assert!(dir.path().join("e/env.yaml").exists());
        assert_eq!(
            fs::read_to_string(dir.path().join("n/new.yaml")).unwrap(),
            "x: 1\n"
        );
    }
}
