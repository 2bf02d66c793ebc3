//! The Git ids a rendered [`Tree`]'s directories would have once committed, computed in memory.
//!
//! Two Git trees with the same id hold the same files, so comparing these ids with a commit's
//! tree, top-down, tells which directories of a branch already hold exactly what was rendered
//! without reading them (see `git_base.rs`). The ids must be the ones Git itself computes:
//! every file as a plain blob (`100644`), every directory as a tree (`40000`), entries in
//! Git's order.

use std::cmp::Ordering;

use git2::Oid;
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use crate::tree::Tree;

/// One directory of a rendered tree, with the ids of everything in it.
#[derive(Debug)]
pub struct RenderedDir<'t> {
    /// The id of the Git tree holding this directory.
    pub id: Oid,
    /// Files directly in the directory, by name, in byte order.
    files: Vec<(&'t str, Oid)>,
    /// Directories directly in it, by name, in byte order.
    dirs: Vec<(&'t str, RenderedDir<'t>)>,
}

/// The root directory of `tree`, every file hashed once.
///
/// A path that is both a file and a directory gives a tree Git would not write; callers
/// refuse such trees first (`changes::check_paths`).
pub fn rendered(tree: &Tree) -> RenderedDir<'_> {
    let files: Vec<(&str, &[u8])> = tree.iter().collect();
    // Hashing is nearly all of the cost: a branch is tens of megabytes.
    let ids: Vec<(&str, Oid)> = files
        .par_iter()
        .map(|(path, content)| (*path, object_id("blob", content)))
        .collect();
    RenderedDir::of(&ids, 0)
}

/// The id Git gives an object of `kind` holding `content`.
///
/// Plain SHA-1, more than twice as fast as libgit2's, which also looks for the marks of a
/// collision attack. These ids are only compared with ids the repository holds, and every
/// object that gets there, written by fleetgen through libgit2 or by Git, went through that
/// detection: a file forged to collide with one on the branch is refused where it is written.
fn object_id(kind: &str, content: &[u8]) -> Oid {
    let mut hasher = Sha1::new();
    hasher.update(format!("{kind} {}\0", content.len()).as_bytes());
    hasher.update(content);
    Oid::from_bytes(&hasher.finalize()).expect("a SHA-1 digest is twenty bytes")
}

impl<'t> RenderedDir<'t> {
    /// The directory of `files` (paths in byte order, with their blob ids) whose paths all
    /// start with its own, `files[..][0][..start]`, and the ids of everything below it.
    ///
    /// In byte order the paths below a directory `d` follow each other: every one starts with
    /// `d/`, and no other path sorts among them. So each directory is one run of the list,
    /// found without a map or a copy.
    fn of(files: &[(&'t str, Oid)], start: usize) -> Self {
        let mut dir = RenderedDir {
            id: Oid::ZERO_SHA1,
            files: Vec::new(),
            dirs: Vec::new(),
        };
        let mut rest = files;
        while let Some(((path, id), after)) = rest.split_first() {
            let here = &path[start..];
            let Some((name, _)) = here.split_once('/') else {
                dir.files.push((here, *id));
                rest = after;
                continue;
            };
            // `d/` with the slash: what every path below `d` starts with.
            let prefix = &path[..start + name.len() + 1];
            let below = rest
                .iter()
                .position(|(path, _)| !path.starts_with(prefix))
                .unwrap_or(rest.len());
            dir.dirs
                .push((name, RenderedDir::of(&rest[..below], prefix.len())));
            rest = &rest[below..];
        }
        // `d.x/…` sorts before `d/…`: directories whose names extend another's come first.
        dir.dirs.sort_by_key(|(name, _)| *name);
        dir.id = dir.hash();
        dir
    }

    /// The blob id of file `name` directly in this directory.
    pub fn file(&self, name: &str) -> Option<Oid> {
        self.files
            .binary_search_by(|(file, _)| (*file).cmp(name))
            .ok()
            .map(|found| self.files[found].1)
    }

    /// Directory `name` directly in this one.
    pub fn dir(&self, name: &str) -> Option<&RenderedDir<'t>> {
        self.dirs
            .binary_search_by(|(dir, _)| (*dir).cmp(name))
            .ok()
            .map(|found| &self.dirs[found].1)
    }

    /// The id of the Git tree of this directory, those below it already made.
    fn hash(&self) -> Oid {
        let mut entries: Vec<(&str, bool, Oid)> = self
            .files
            .iter()
            .map(|(name, id)| (*name, false, *id))
            .chain(self.dirs.iter().map(|(name, dir)| (*name, true, dir.id)))
            .collect();
        entries.sort_by(|a, b| git_order((a.0, a.1), (b.0, b.1)));
        let mut object = Vec::with_capacity(entries.len() * 64);
        for (name, is_dir, id) in entries {
            object.extend_from_slice(if is_dir { b"40000 " } else { b"100644 " });
            object.extend_from_slice(name.as_bytes());
            object.push(0);
            object.extend_from_slice(id.as_bytes());
        }
        object_id("tree", &object)
    }
}

/// Git's order of the entries of a tree: by name, a directory compared as if its name ended
/// in `/` (so `a.b` comes before the directory `a`, and after a file `a`).
fn git_order((a, a_dir): (&str, bool), (b, b_dir): (&str, bool)) -> Ordering {
    let a = a.bytes().chain(a_dir.then_some(b'/'));
    a.cmp(b.bytes().chain(b_dir.then_some(b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::Repository;

    fn tree(paths: &[&str]) -> Tree {
        let mut tree = Tree::new();
        for path in paths {
            tree.insert(*path, format!("content of {path}\n"));
        }
        tree
    }

    /// The tree Git writes for the same files, through its index.
    fn written_by_git(repo: &Repository, tree: &Tree) -> Oid {
        let mut index = repo.index().unwrap();
        index.clear().unwrap();
        for (path, content) in tree.iter() {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100_644,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: repo.blob(content).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    #[test]
    fn object_ids_are_the_ones_libgit2_computes() {
        // Around SHA-1's 64-byte block, where padding changes, and an empty file.
        for size in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70_000] {
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            for (kind, object_type) in [
                ("blob", git2::ObjectType::Blob),
                ("tree", git2::ObjectType::Tree),
            ] {
                assert_eq!(
                    object_id(kind, &content),
                    Oid::hash_object(object_type, &content).unwrap(),
                    "{kind} of {size} bytes"
                );
            }
        }
    }

    #[test]
    fn tree_ids_are_the_ones_git_writes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        for paths in [
            &["a"][..],
            // A directory sorts as if named `a/`: after `a.b`, before `a0`.
            &["a.b", "a/x", "a0", "a-"],
            &[
                "a/b/c/d.yaml",
                "a/b/c.yaml",
                "a/b.c/d",
                "a/b-c",
                "b",
                ".fleetgen/owned.sha256",
            ],
            &["z/y/x/w/v", "z/y/x/w.v", "z/y.x/w", "Z", "é/ü", "a b/c"],
        ] {
            let tree = tree(paths);
            let rendered = rendered(&tree);
            let written = written_by_git(&repo, &tree);
            assert_eq!(rendered.id, written, "{paths:?}");
            // Every directory on the way down too, and every blob.
            let git_tree = repo.find_tree(written).unwrap();
            assert_same(&repo, &rendered, &git_tree);
        }
    }

    fn assert_same(repo: &Repository, rendered: &RenderedDir<'_>, git_tree: &git2::Tree<'_>) {
        assert_eq!(rendered.id, git_tree.id());
        assert_eq!(git_tree.len(), rendered.files.len() + rendered.dirs.len());
        for (name, id) in &rendered.files {
            assert_eq!(git_tree.get_name(name).unwrap().id(), *id, "{name}");
            assert_eq!(rendered.file(name), Some(*id));
        }
        for (name, dir) in &rendered.dirs {
            assert!(std::ptr::eq(rendered.dir(name).unwrap(), dir));
            let sub = repo
                .find_tree(git_tree.get_name(name).unwrap().id())
                .unwrap();
            assert_same(repo, dir, &sub);
        }
    }

    #[test]
    fn tree_ids_of_pseudo_random_trees_are_the_ones_git_writes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        // Names that sort around `/` (`.`, `-` before it, `0` after) and extend each other.
        let names = ["a", "a.b", "a-", "a0", "b", "ab", "a.b.c", "é"];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below as u64).unwrap()
        };
        for _ in 0..300 {
            let mut paths: Vec<String> = (0..1 + next(24))
                .map(|_| {
                    (0..1 + next(4))
                        .map(|_| names[next(names.len())])
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .collect();
            paths.sort();
            paths.dedup();
            // A path that is also a directory of another is refused before ids are asked for.
            let all = paths.clone();
            paths.retain(|path| {
                !all.iter()
                    .any(|other| other.len() > path.len() && other.starts_with(&format!("{path}/")))
            });
            let tree = tree(&paths.iter().map(String::as_str).collect::<Vec<_>>());
            let rendered = rendered(&tree);
            let written = written_by_git(&repo, &tree);
            assert_eq!(rendered.id, written, "{paths:?}");
            assert_same(&repo, &rendered, &repo.find_tree(written).unwrap());
        }
    }

    #[test]
    fn a_tree_builder_agrees_on_names_that_sort_differently_as_directories() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"x").unwrap();
        let mut inner = repo.treebuilder(None).unwrap();
        inner.insert("x", blob, 0o100_644).unwrap();
        let inner = inner.write().unwrap();
        let mut outer = repo.treebuilder(None).unwrap();
        outer.insert("a", inner, 0o040_000).unwrap();
        outer.insert("a.b", blob, 0o100_644).unwrap();
        outer.insert("a0", blob, 0o100_644).unwrap();
        let outer = outer.write().unwrap();

        let mut tree = Tree::new();
        for path in ["a/x", "a.b", "a0"] {
            tree.insert(path, "x");
        }
        assert_eq!(rendered(&tree).id, outer);
        // Sorting plain names would put `a/` last: a different (and invalid) tree.
        assert_eq!(
            git_order(("a", true), ("a.b", false)),
            Ordering::Greater,
            "a/ after a.b"
        );
        assert_eq!(git_order(("a", false), ("a.b", false)), Ordering::Less);
    }
}
