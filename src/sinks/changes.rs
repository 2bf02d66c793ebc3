//! What putting a rendered [`Tree`] onto a branch would change, under fleetgen's ownership rules.
//!
//! A branch (or an output directory) is shared with people. fleetgen only touches the files in
//! the branch's ownership list (`.fleetgen/owned.sha256`, written with every tree): those no
//! longer rendered are deleted, and every other file on the branch is hand-written and kept. A
//! generated file whose content no longer matches its recorded digest was edited by hand, and a
//! hand-written file where fleetgen wants to write is someone else's: both are conflicts, which
//! `commit` refuses without `--force` and `diff`/`check` report.
//!
//! The rules live here once, over a [`Base`] that is either a commit's tree or a directory, so
//! that `diff --out DIR`, `diff` against the branches and `commit` can never disagree.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::tree::{OWNED_LIST, Tree, parse_owned_list, sha256_hex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    /// One-letter code, as `git status --short` prints it.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'M',
            ChangeKind::Deleted => 'D',
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
        })
    }
}

/// Why a change would destroy someone's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conflict {
    /// A generated file whose content no longer matches what fleetgen wrote.
    EditedByHand,
    /// A file fleetgen did not write is at the path (or in the way of its directory).
    HandWritten,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::EditedByHand => "generated file edited by hand",
            Conflict::HandWritten => "hand-written file in the way",
        })
    }
}

/// One file that differs between a branch and its rendered tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub branch: String,
    /// Relative to the branch root, `/`-separated.
    pub path: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// Content on the branch; `None` when added, or when something other than a file is there.
    #[serde(skip)]
    pub old: Option<Vec<u8>>,
    /// Rendered content; `None` when deleted.
    #[serde(skip)]
    pub new: Option<Vec<u8>>,
}

/// What is at a path of the base a tree is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File {
        content: Vec<u8>,
        /// A regular, non-executable file: the only kind fleetgen writes. Anything else with the
        /// same bytes still needs rewriting.
        plain: bool,
    },
    /// A directory, submodule or other non-file.
    Other,
    /// A parent directory of the path is a file (or other non-directory): the named one.
    Blocked(String),
}

/// The current content of a branch: a commit's tree, or `<out>/<branch>/`.
pub trait Base {
    fn entry(&self, path: &str) -> Result<Entry>;

    /// Whether `path` already holds exactly `content` as a plain file, when the base can tell
    /// without reading it (a Git tree knows each blob's id); `false` means "look".
    fn holds(&self, _path: &str, _content: &[u8]) -> Result<bool> {
        Ok(false)
    }
}

/// The tree as it will be written: with an ownership list, so that fleetgen can tell its files
/// from hand-written ones next time. Rendered trees are already sealed; this only matters for
/// trees built by other callers.
pub fn sealed(tree: &Tree) -> Cow<'_, Tree> {
    if tree.contains(OWNED_LIST) {
        Cow::Borrowed(tree)
    } else {
        let mut tree = tree.clone();
        tree.seal();
        Cow::Owned(tree)
    }
}

/// The changes that putting `tree` onto `branch`, currently `base`, would make, in path order.
/// Conflicts are marked, not refused: callers decide.
pub fn plan(branch: &str, tree: &Tree, base: &dyn Base) -> Result<Vec<FileChange>> {
    let tree = sealed(tree);
    let owned: BTreeMap<String, String> = match base.entry(OWNED_LIST)? {
        Entry::File { content, .. } => parse_owned_list(&String::from_utf8_lossy(&content)),
        _ => BTreeMap::new(),
    };
    let change = |path: &str, kind, conflict, old, new| FileChange {
        branch: branch.to_owned(),
        path: path.to_owned(),
        kind,
        conflict,
        old,
        new,
    };
    let mut changes = Vec::new();
    for (path, content) in tree.iter() {
        if base.holds(path, content)? {
            continue;
        }
        let new = Some(content.to_vec());
        match base.entry(path)? {
            Entry::Missing => changes.push(change(path, ChangeKind::Added, None, None, new)),
            Entry::Blocked(in_the_way) => {
                // An old generated file where a directory is now needed goes away with the
                // other stale files; whether it was edited is decided there.
                let stale = owned.contains_key(&in_the_way) && !tree.contains(&in_the_way);
                let conflict = (!stale).then_some(Conflict::HandWritten);
                changes.push(change(path, ChangeKind::Added, conflict, None, new));
            }
            Entry::File {
                content: old,
                plain,
            } if plain && old == content => {}
            Entry::File { content: old, .. } => {
                let conflict = if path == OWNED_LIST {
                    // Always ours to rewrite: it is how fleetgen knows what it owns.
                    None
                } else {
                    match owned.get(path) {
                        Some(digest) if *digest == sha256_hex(&old) => None,
                        Some(_) => Some(Conflict::EditedByHand),
                        None => Some(Conflict::HandWritten),
                    }
                };
                changes.push(change(path, ChangeKind::Modified, conflict, Some(old), new));
            }
            Entry::Other => changes.push(change(
                path,
                ChangeKind::Modified,
                Some(Conflict::HandWritten),
                None,
                new,
            )),
        }
    }
    for (path, digest) in &owned {
        if tree.contains(path) {
            continue;
        }
        // Only a file can still be ours; whatever replaced it since was put there by hand.
        if let Entry::File { content, .. } = base.entry(path)? {
            let conflict = (sha256_hex(&content) != *digest).then_some(Conflict::EditedByHand);
            changes.push(change(
                path,
                ChangeKind::Deleted,
                conflict,
                Some(content),
                None,
            ));
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes)
}

/// `<out>/<branch>/` as the [`Base`] of a planned change.
pub struct DirBase {
    pub root: PathBuf,
}

impl Base for DirBase {
    fn entry(&self, path: &str) -> Result<Entry> {
        let mut current = self.root.clone();
        let mut walked = String::new();
        let mut components = path.split('/').peekable();
        while let Some(name) = components.next() {
            current.push(name);
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(name);
            // Following symlinks, as writing through the path would.
            let metadata = match fs::metadata(&current) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Entry::Missing),
                Err(source) => {
                    return Err(Error::Read {
                        path: current,
                        source,
                    });
                }
            };
            if components.peek().is_none() {
                if metadata.is_dir() {
                    return Ok(Entry::Other);
                }
                let content = fs::read(&current).map_err(|source| Error::Read {
                    path: current.clone(),
                    source,
                })?;
                return Ok(Entry::File {
                    content,
                    plain: true,
                });
            }
            if !metadata.is_dir() {
                return Ok(Entry::Blocked(walked));
            }
        }
        Ok(Entry::Missing)
    }
}

/// Refuses a rendered tree that a Git tree or a file system cannot hold: empty, `.` or `..`
/// components, `.git`, or a path that is both a file and a directory.
pub fn check_paths(branch: &str, tree: &Tree) -> std::result::Result<(), String> {
    for path in tree.paths() {
        let bad_component = path.split('/').any(|component| {
            matches!(component, "" | "." | "..") || component.eq_ignore_ascii_case(".git")
        });
        if bad_component || path.contains('\0') {
            return Err(format!(
                "branch {branch}: `{path}` is not a valid path in a Git tree"
            ));
        }
        for (index, _) in path.match_indices('/') {
            let parent = &path[..index];
            if tree.contains(parent) {
                return Err(format!(
                    "branch {branch}: `{parent}` is both a file and a directory"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base held in memory: path → content, with directories implied.
    struct Memory(BTreeMap<String, Vec<u8>>);

    impl Base for Memory {
        fn entry(&self, path: &str) -> Result<Entry> {
            let mut prefix = String::new();
            for component in path.split('/') {
                if !prefix.is_empty() {
                    if self.0.contains_key(&prefix) {
                        return Ok(Entry::Blocked(prefix));
                    }
                    prefix.push('/');
                }
                prefix.push_str(component);
            }
            Ok(match self.0.get(path) {
                Some(content) => Entry::File {
                    content: content.clone(),
                    plain: true,
                },
                None if self
                    .0
                    .keys()
                    .any(|key| key.starts_with(&format!("{path}/"))) =>
                {
                    Entry::Other
                }
                None => Entry::Missing,
            })
        }
    }

    fn tree(files: &[(&str, &str)]) -> Tree {
        let mut tree = Tree::new();
        for (path, content) in files {
            tree.insert(*path, *content);
        }
        tree.seal();
        tree
    }

    fn base(tree: &Tree, extra: &[(&str, &str)]) -> Memory {
        let mut files: BTreeMap<String, Vec<u8>> = tree
            .iter()
            .map(|(path, content)| (path.to_owned(), content.to_vec()))
            .collect();
        for (path, content) in extra {
            files.insert((*path).to_owned(), content.as_bytes().to_vec());
        }
        Memory(files)
    }

    fn summary(changes: &[FileChange]) -> Vec<(String, ChangeKind, Option<Conflict>)> {
        changes
            .iter()
            .map(|change| (change.path.clone(), change.kind, change.conflict))
            .collect()
    }

    #[test]
    fn an_empty_base_gets_every_file_added() {
        let changes = plan("dev", &tree(&[("a.yaml", "a")]), &Memory(BTreeMap::new())).unwrap();
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST.to_owned(), ChangeKind::Added, None),
                ("a.yaml".to_owned(), ChangeKind::Added, None),
            ]
        );
    }

    #[test]
    fn the_same_tree_changes_nothing_and_hand_written_files_are_kept() {
        let rendered = tree(&[("a.yaml", "a"), ("b/c.yaml", "c")]);
        let changes = plan(
            "dev",
            &rendered,
            &base(&rendered, &[("README.md", "mine"), ("b/notes.md", "mine")]),
        )
        .unwrap();
        assert_eq!(changes, []);
    }

    #[test]
    fn stale_generated_files_are_deleted() {
        let old = tree(&[("a.yaml", "a"), ("b/c.yaml", "c")]);
        let changes = plan("dev", &tree(&[("a.yaml", "a2")]), &base(&old, &[])).unwrap();
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST.to_owned(), ChangeKind::Modified, None),
                ("a.yaml".to_owned(), ChangeKind::Modified, None),
                ("b/c.yaml".to_owned(), ChangeKind::Deleted, None),
            ]
        );
        assert_eq!(changes[2].old.as_deref(), Some(&b"c"[..]));
    }

    #[test]
    fn hand_edits_and_hand_written_files_are_conflicts() {
        let old = tree(&[("edited.yaml", "x"), ("gone.yaml", "g")]);
        let mut on_branch = base(&old, &[("mine.yaml", "mine")]);
        on_branch
            .0
            .insert("edited.yaml".to_owned(), b"edited".to_vec());
        on_branch
            .0
            .insert("gone.yaml".to_owned(), b"edited".to_vec());
        let changes = plan(
            "dev",
            &tree(&[("edited.yaml", "y"), ("mine.yaml", "ours")]),
            &on_branch,
        )
        .unwrap();
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST.to_owned(), ChangeKind::Modified, None),
                (
                    "edited.yaml".to_owned(),
                    ChangeKind::Modified,
                    Some(Conflict::EditedByHand)
                ),
                (
                    "gone.yaml".to_owned(),
                    ChangeKind::Deleted,
                    Some(Conflict::EditedByHand)
                ),
                (
                    "mine.yaml".to_owned(),
                    ChangeKind::Modified,
                    Some(Conflict::HandWritten)
                ),
            ]
        );
    }

    #[test]
    fn a_file_in_the_way_is_a_conflict_unless_it_is_a_stale_generated_one() {
        let hand = Memory([("a".to_owned(), b"mine".to_vec())].into_iter().collect());
        let changes = plan("dev", &tree(&[("a/b.yaml", "b")]), &hand).unwrap();
        assert_eq!(changes[1].conflict, Some(Conflict::HandWritten));

        let generated = base(&tree(&[("a", "old")]), &[]);
        let changes = plan("dev", &tree(&[("a/b.yaml", "b")]), &generated).unwrap();
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST.to_owned(), ChangeKind::Modified, None),
                ("a".to_owned(), ChangeKind::Deleted, None),
                ("a/b.yaml".to_owned(), ChangeKind::Added, None),
            ]
        );
    }

    #[test]
    fn a_directory_at_a_generated_path_is_a_conflict() {
        let on_branch = Memory(
            [("a/notes.md".to_owned(), b"mine".to_vec())]
                .into_iter()
                .collect(),
        );
        let changes = plan("dev", &tree(&[("a", "file")]), &on_branch).unwrap();
        assert_eq!(changes[1].path, "a");
        assert_eq!(changes[1].conflict, Some(Conflict::HandWritten));
    }

    #[test]
    fn unsealed_trees_get_an_ownership_list() {
        let mut unsealed = Tree::new();
        unsealed.insert("a.yaml", "a");
        let changes = plan("dev", &unsealed, &Memory(BTreeMap::new())).unwrap();
        assert!(changes.iter().any(|change| change.path == OWNED_LIST));
    }

    #[test]
    fn paths_git_cannot_hold_are_refused() {
        for bad in ["a//b", "./a", "a/../b", ".git/config", "a/"] {
            let mut tree = Tree::new();
            tree.insert(bad, "");
            assert!(check_paths("dev", &tree).is_err(), "{bad}");
        }
        let mut tree = Tree::new();
        tree.insert("a", "");
        tree.insert("a-b", "");
        tree.insert("a/b", "");
        assert_eq!(
            check_paths("dev", &tree).unwrap_err(),
            "branch dev: `a` is both a file and a directory"
        );
        tree.remove("a");
        assert!(check_paths("dev", &tree).is_ok());
    }
}
