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
//! that `diff --out DIR`, `diff` against the branches and `commit` can never disagree. A base
//! may know directories that already hold exactly what was rendered ([`Known`]: a commit's
//! tree tells by ids, see `git_base.rs`); nothing below them can change, so the rules are
//! applied only to the rest.

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Location};
use crate::error::{Error, Result};
use crate::tree::{OWNED_LIST, Tree, check_tree_path, parse_owned_list, sha256_hex};

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

    /// What the base can tell about `tree` without reading its files (a Git tree knows the id
    /// of every blob and subtree); nothing known means "look at every path".
    fn known(&self, _tree: &Tree) -> Result<Known> {
        Ok(Known::default())
    }

    /// How messages name `path` of this base.
    fn describe(&self, path: &str) -> PathBuf {
        PathBuf::from(path)
    }

    /// Whether a file whose listed digest matches the new content may be taken as unchanged
    /// without reading it. The writer does (reading every file would cost as much as writing
    /// it, and a hand edit there is `check`'s to report); comparisons for review do not.
    fn trusts_digests(&self) -> bool {
        false
    }

    /// Whether a plain file is at `path`, without reading it.
    fn is_plain_file(&self, path: &str) -> Result<bool> {
        Ok(matches!(self.entry(path)?, Entry::File { plain: true, .. }))
    }
}

/// The parts of a rendered tree a [`Base`] already holds exactly, found without reading them.
///
/// A directory listed here holds the rendered files below it as plain files, with the same
/// contents, and nothing else: no file there can be added, modified, deleted or in conflict,
/// so [`plan`] looks at none of its paths, rendered or listed as owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// `a/b/`, or the empty string for the whole branch; none inside another.
    dirs: BTreeSet<String>,
    /// Rendered files outside those directories that are already there as plain files with
    /// the same content.
    files: HashSet<String>,
}

impl Known {
    /// Records `dir` (`a/b`, or empty for the whole branch) as holding exactly what was
    /// rendered below it. The caller records no directory inside another.
    pub fn add_dir(&mut self, dir: &str) {
        self.dirs.insert(match dir {
            "" => String::new(),
            dir => format!("{dir}/"),
        });
    }

    /// Records the rendered file at `path` as already there, unchanged and plain.
    pub fn add_file(&mut self, path: String) {
        self.files.insert(path);
    }

    /// The identical directories, each with a trailing `/` (the whole branch is the empty
    /// string), in path order.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.iter().map(String::as_str)
    }

    pub fn holds_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// Whether `path` lies in an identical directory.
    pub fn covers(&self, path: &str) -> bool {
        // Only the last directory not after `path` can hold it: one between it and `path`
        // would be inside it.
        self.dirs
            .range::<str, _>((Bound::Unbounded, Bound::Included(path)))
            .next_back()
            .is_some_and(|dir| path.starts_with(dir.as_str()))
    }
}

/// The ranges of paths outside the known directories, in order: what is left to look at.
fn gaps(known: &Known) -> Vec<(Bound<String>, Bound<String>)> {
    let mut gaps = Vec::with_capacity(known.dirs.len() + 1);
    let mut from = Some(Bound::Unbounded);
    for dir in &known.dirs {
        let Some(start) = from.take() else { break };
        gaps.push((start, Bound::Excluded(dir.clone())));
        // The paths in `a/b/` are those from `a/b/` up to, not including, `a/b0`; nothing
        // is outside the whole branch.
        from = dir
            .strip_suffix('/')
            .map(|name| Bound::Included(format!("{name}0")));
    }
    gaps.extend(from.map(|start| (start, Bound::Unbounded)));
    gaps
}

fn as_str(bound: &Bound<String>) -> Bound<&str> {
    bound.as_ref().map(String::as_str)
}

/// The entries of `map` outside the known directories, in order, found without walking the
/// entries inside them.
fn outside<'m, K: Borrow<str> + Ord, V>(
    map: &'m BTreeMap<K, V>,
    known: &Known,
) -> impl Iterator<Item = (&'m K, &'m V)> + use<'m, K, V> {
    gaps(known)
        .into_iter()
        .flat_map(move |(from, to)| map.range::<str, _>((as_str(&from), as_str(&to))))
}

/// The files of `tree` outside the known directories, in order, found without walking the
/// files inside them: a small change to a large branch looks at little more than itself.
fn files_outside<'t>(
    tree: &'t Tree,
    known: &Known,
) -> impl Iterator<Item = (&'t str, &'t [u8])> + use<'t> {
    gaps(known)
        .into_iter()
        .flat_map(move |(from, to)| tree.range(as_str(&from), as_str(&to)))
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

/// What a planned change carries besides its path, kind and conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// The old and new bytes, for patches.
    Kept,
    /// Neither: a commit takes the new bytes from the rendered tree and needs no old ones,
    /// and at a thousand clusters a fleet-wide change would hold the fleet twice more.
    Omitted,
}

/// The changes that putting `tree` onto `branch`, currently `base`, would make, in path order.
/// Conflicts are marked, not refused: callers decide.
pub fn plan(branch: &str, tree: &Tree, base: &dyn Base) -> Result<Vec<FileChange>> {
    plan_with(branch, tree, base, Contents::Kept)
}

/// [`plan`], keeping the changes' contents or not.
pub fn plan_with(
    branch: &str,
    tree: &Tree,
    base: &dyn Base,
    contents: Contents,
) -> Result<Vec<FileChange>> {
    let keep = contents == Contents::Kept;
    let tree = sealed(tree);
    let known = base.known(&tree)?;
    let owned_text = owned_list(base, &tree, &known)?;
    let owned = parse_owned(branch, base, owned_text.as_deref().unwrap_or_default())?;
    // The digests of the new contents, already computed when the tree was sealed.
    let new_digests = match base.trusts_digests() {
        true => tree
            .get(OWNED_LIST)
            .and_then(|list| parse_owned_list(list).ok())
            .unwrap_or_default(),
        false => BTreeMap::new(),
    };
    let change =
        |path: &str, kind, conflict, old: Option<Vec<u8>>, new: Option<Vec<u8>>| FileChange {
            branch: branch.to_owned(),
            path: path.to_owned(),
            kind,
            conflict,
            old: old.filter(|_| keep),
            new: new.filter(|_| keep),
        };
    let mut changes = Vec::new();
    for (path, content) in files_outside(&tree, &known) {
        if known.holds_file(path)
            || (new_digests
                .get(path)
                .is_some_and(|digest| owned.get(path) == Some(digest))
                && base.is_plain_file(path)?)
        {
            continue;
        }
        let new = keep.then(|| content.to_vec());
        match base.entry(path)? {
            Entry::Missing => changes.push(change(path, ChangeKind::Added, None, None, new)),
            Entry::Blocked(in_the_way) => {
                // An old generated file where a directory is now needed goes away with the
                // other stale files; whether it was edited is decided there.
                let stale = owned.contains_key(in_the_way.as_str()) && !tree.contains(&in_the_way);
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
    for (path, digest) in outside(&owned, &known) {
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

/// The text of a branch's ownership list, if it has one: read from `tree` when the base is
/// known to hold the same bytes.
fn owned_list<'t>(base: &dyn Base, tree: &'t Tree, known: &Known) -> Result<Option<Cow<'t, [u8]>>> {
    Ok(match tree.get(OWNED_LIST) {
        Some(rendered) if known.covers(OWNED_LIST) || known.holds_file(OWNED_LIST) => {
            Some(Cow::Borrowed(rendered))
        }
        _ => match base.entry(OWNED_LIST)? {
            Entry::File { content, .. } => Some(Cow::Owned(content)),
            _ => None,
        },
    })
}

/// The ownership list of a branch, path to digest, refused when it holds anything fleetgen
/// would not write.
fn parse_owned<'l>(
    branch: &str,
    base: &dyn Base,
    content: &'l [u8],
) -> Result<BTreeMap<&'l str, &'l str>> {
    parse_owned_list(content).map_err(|corrupt| {
        let diagnostic = Diagnostic::error(
            "corrupt-ownership-list",
            format!(
                "corrupt ownership list of branch {branch}: {}; fleetgen acts on none of it",
                corrupt.problem
            ),
        )
        .at(Location::new(base.describe(OWNED_LIST), corrupt.line, 1))
        .with_hint(
            "restore the list from an earlier commit, or delete it and render again with \
             --force once you have checked the generated files",
        );
        Error::Invalid([diagnostic].into_iter().collect())
    })
}

/// Refuses a rendered tree that a Git tree or a file system cannot hold: empty, `.` or `..`
/// components, `.git`, control characters, or a path that is both a file and a directory.
pub fn check_paths(branch: &str, tree: &Tree) -> std::result::Result<(), String> {
    let mut previous = "";
    for path in tree.paths() {
        if let Err(problem) = check_tree_path(path) {
            return Err(format!(
                "branch {branch}: `{}` is not a valid path in a Git tree ({problem})",
                path.escape_debug()
            ));
        }
        // Paths come in order, so most parents were the previous path's too, and checked
        // with it: looking each up again would cost a search per directory level per file.
        let shared = path
            .bytes()
            .zip(previous.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        previous = path;
        for (index, _) in path
            .match_indices('/')
            .filter(|(index, _)| *index >= shared)
        {
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
    fn paths_in_known_directories_are_skipped_and_no_others() {
        let mut known = Known::default();
        known.add_dir("a");
        known.add_dir("a.b");
        known.add_dir("c/d");
        let paths = [
            "a", "a.b", "a.b/x", "a.bc", "a/x", "a/y/z", "a0", "b", "c/d", "c/d/e", "c/d0",
        ];
        let map: BTreeMap<String, ()> = paths.iter().map(|path| ((*path).to_owned(), ())).collect();
        let outside_known: Vec<&str> = outside(&map, &known)
            .map(|(path, _)| path.as_str())
            .collect();
        assert_eq!(
            outside_known,
            ["a", "a.b", "a.bc", "a0", "b", "c/d", "c/d0"]
        );
        for path in map.keys() {
            assert_eq!(
                known.covers(path),
                !outside_known.contains(&path.as_str()),
                "{path}"
            );
        }
        let tree: Tree = paths
            .iter()
            .map(|path| ((*path).to_owned(), Vec::new()))
            .collect();
        let files: Vec<&str> = files_outside(&tree, &known).map(|(path, _)| path).collect();
        assert_eq!(files, outside_known);

        known.add_file("b".to_owned());
        assert!(known.holds_file("b") && !known.holds_file("a"));
        let mut whole = Known::default();
        whole.add_dir("");
        assert_eq!(outside(&map, &whole).count(), 0);
        assert_eq!(files_outside(&tree, &whole).count(), 0);
        assert!(paths.iter().all(|path| whole.covers(path)));
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
        for bad in [
            "a//b",
            "./a",
            "a/../b",
            ".git/config",
            "a/",
            "a\nb",
            "x/.Git/y",
        ] {
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
        // A parent found as a file below parents already checked with earlier paths.
        for (file, others) in [
            ("x/y", &["x/a", "x/y.b", "x/y/z"][..]),
            ("x/y/z", &["x/y/a", "x/y/z-", "x/y/z/w/v"][..]),
        ] {
            let mut tree = Tree::new();
            for path in others.iter().chain([&file]) {
                tree.insert(*path, "");
            }
            assert_eq!(
                check_paths("dev", &tree).unwrap_err(),
                format!("branch dev: `{file}` is both a file and a directory")
            );
        }
    }
}
