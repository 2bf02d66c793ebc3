//! A commit's tree as the [`Base`] a rendered tree is compared with.
//!
//! A branch of a large fleet holds a great many files, and a change touches a few
//! directories. So the comparison starts from the ids: the rendered tree's directories are
//! hashed in memory as Git would store them (`tree_ids.rs`), and the commit's tree is walked
//! top-down, reading only the subtrees whose ids differ from the rendered ones. Everything
//! below an equal id is known identical and never read; the per-file rules of
//! [`crate::sinks::changes::plan`] see only the rest.

use std::cell::RefCell;
use std::collections::HashMap;

use git2::{ObjectType, Oid, Repository};

use crate::error::Result;
use crate::sinks::changes::{Base, Entry, Known};
use crate::sinks::git::FILE_MODE;
use crate::sinks::tree_ids::{self, RenderedDir};
use crate::tree::Tree;

/// A commit's tree as the [`Base`] of a planned change.
pub struct GitBase<'repo> {
    repo: &'repo Repository,
    tree: Option<git2::Tree<'repo>>,
    /// The subtrees read so far, by path: the per-file rules look at paths in the directories
    /// the comparison read, and a large directory (`clusters/`) would otherwise be read again
    /// for every file below it.
    read: RefCell<HashMap<String, git2::Tree<'repo>>>,
}

impl<'repo> GitBase<'repo> {
    /// The tree of `commit`, or an empty base for a branch that does not exist yet.
    pub fn new(repo: &'repo Repository, commit: Option<Oid>) -> Result<Self> {
        let tree = match commit {
            Some(oid) => Some(repo.find_commit(oid)?.tree()?),
            None => None,
        };
        Ok(Self {
            repo,
            tree,
            read: RefCell::default(),
        })
    }

    /// The subtree `id` at `dir`, read once.
    fn subtree(&self, dir: &str, id: Oid) -> Result<git2::Tree<'repo>> {
        if let Some(tree) = self.read.borrow().get(dir) {
            return Ok(tree.clone());
        }
        let tree = self.repo.find_tree(id)?;
        self.read.borrow_mut().insert(dir.to_owned(), tree.clone());
        Ok(tree)
    }

    /// Records what of `rendered` the directory `dir` of the base (at `prefix`, empty or
    /// ending in `/`) already holds, reading only subtrees that differ.
    fn compare(
        &self,
        dir: &git2::Tree<'_>,
        rendered: &RenderedDir<'_>,
        prefix: &mut String,
        known: &mut Known,
    ) -> Result<()> {
        for entry in dir.iter() {
            // A name that is not UTF-8 is never rendered: a hand-written file, kept.
            let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
                continue;
            };
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let Some(sub) = rendered.dir(name) else {
                        continue;
                    };
                    let len = prefix.len();
                    prefix.push_str(name);
                    if entry.id() == sub.id {
                        known.add_dir(prefix);
                    } else {
                        let base = self.subtree(prefix, entry.id())?;
                        prefix.push('/');
                        self.compare(&base, sub, prefix, known)?;
                    }
                    prefix.truncate(len);
                }
                Some(ObjectType::Blob)
                    if entry.filemode() == FILE_MODE && rendered.file(name) == Some(entry.id()) =>
                {
                    known.add_file(format!("{prefix}{name}"));
                }
                // Executable files, symlinks and submodules are never the same as a rendered
                // file: the per-file rules decide what they mean.
                _ => {}
            }
        }
        Ok(())
    }
}

impl Base for GitBase<'_> {
    fn known(&self, tree: &Tree) -> Result<Known> {
        let mut known = Known::default();
        let Some(root) = &self.tree else {
            return Ok(known);
        };
        let rendered = tree_ids::rendered(tree);
        if root.id() == rendered.id {
            known.add_dir("");
        } else {
            self.compare(root, &rendered, &mut String::new(), &mut known)?;
        }
        Ok(known)
    }

    fn entry(&self, path: &str) -> Result<Entry> {
        let Some(root) = &self.tree else {
            return Ok(Entry::Missing);
        };
        let mut current = root.clone();
        let mut start = 0;
        loop {
            let (name, end) = match path[start..].find('/') {
                Some(offset) => (&path[start..start + offset], Some(start + offset)),
                None => (&path[start..], None),
            };
            let (kind, id, mode) = match current.get_name(name) {
                Some(entry) => (entry.kind(), entry.id(), entry.filemode()),
                None => return Ok(Entry::Missing),
            };
            let Some(end) = end else {
                return Ok(match kind {
                    Some(ObjectType::Blob) => Entry::File {
                        content: self.repo.find_blob(id)?.content().to_vec(),
                        plain: mode == FILE_MODE,
                    },
                    _ => Entry::Other,
                });
            };
            let walked = &path[..end];
            match kind {
                Some(ObjectType::Tree) => current = self.subtree(walked, id)?,
                _ => return Ok(Entry::Blocked(walked.to_owned())),
            }
            start = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::sinks::changes::{self, ChangeKind, Conflict, FileChange};
    use crate::tree::OWNED_LIST;

    const PLAIN: u32 = 0o100_644;
    const EXECUTABLE: u32 = 0o100_755;
    const SYMLINK: u32 = 0o120_000;
    const SUBMODULE: u32 = 0o160_000;

    /// The same commit, compared path by path: nothing known in advance.
    struct PerFile<'repo>(GitBase<'repo>);

    impl Base for PerFile<'_> {
        fn entry(&self, path: &str) -> Result<Entry> {
            self.0.entry(path)
        }
    }

    /// The commit with its ids, recording every path the per-file rules look at.
    struct Watched<'repo> {
        base: GitBase<'repo>,
        looked_at: std::cell::RefCell<Vec<String>>,
    }

    impl Base for Watched<'_> {
        fn known(&self, tree: &Tree) -> Result<Known> {
            self.base.known(tree)
        }

        fn entry(&self, path: &str) -> Result<Entry> {
            self.looked_at.borrow_mut().push(path.to_owned());
            self.base.entry(path)
        }
    }

    /// A small fleet, sealed: a few clusters, each with tenants a few levels down.
    fn rendered(edit: impl FnOnce(&mut Tree)) -> Tree {
        let mut tree = Tree::new();
        for cluster in ["c1", "c2", "c3"] {
            tree.insert(format!("clusters/{cluster}/kustomization.yaml"), cluster);
            for tenant in ["t1", "t2"] {
                for app in ["a", "b"] {
                    let path = format!("clusters/{cluster}/tenants/{tenant}/{app}.yaml");
                    tree.insert(path.clone(), format!("{path}\n"));
                }
            }
        }
        tree.insert("README.md", "fleet\n");
        edit(&mut tree);
        tree.seal();
        tree
    }

    /// A branch holding `files` (path → mode and content), committed through the index.
    fn commit(repo: &Repository, files: &BTreeMap<String, (u32, Vec<u8>)>) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, (mode, content)) in files {
            let id = match *mode {
                // A submodule records a commit of another repository, not stored here.
                SUBMODULE => Oid::hash_object(ObjectType::Commit, content).unwrap(),
                _ => repo.blob(content).unwrap(),
            };
            index
                .add(&git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode: *mode,
                    uid: 0,
                    gid: 0,
                    file_size: 0,
                    id,
                    flags: 0,
                    flags_extended: 0,
                    path: path.as_bytes().to_vec(),
                })
                .unwrap();
        }
        let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
        let signature = git2::Signature::new("t", "t@example.com", &git2::Time::new(0, 0)).unwrap();
        repo.commit(None, &signature, &signature, "branch", &tree, &[])
            .unwrap()
    }

    fn files(tree: &Tree) -> BTreeMap<String, (u32, Vec<u8>)> {
        tree.iter()
            .map(|(path, content)| (path.to_owned(), (PLAIN, content.to_vec())))
            .collect()
    }

    /// The changes from the branch `on_branch` to `tree`, checked to be the same as those of
    /// the per-file comparison; with the directories that comparison skipped.
    fn compare(
        tree: &Tree,
        on_branch: &BTreeMap<String, (u32, Vec<u8>)>,
    ) -> (Vec<FileChange>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let head = commit(&repo, on_branch);
        let fast = Watched {
            base: GitBase::new(&repo, Some(head)).unwrap(),
            looked_at: Default::default(),
        };
        let skipped: Vec<String> = fast
            .known(tree)
            .unwrap()
            .dirs()
            .map(str::to_owned)
            .collect();
        let changes = changes::plan("dev", tree, &fast).unwrap();
        for path in fast.looked_at.borrow().iter() {
            assert!(
                !skipped.iter().any(|dir| path.starts_with(dir.as_str())),
                "{path} was looked at, in a directory known identical"
            );
        }
        let per_file = PerFile(GitBase::new(&repo, Some(head)).unwrap());
        assert_eq!(changes, changes::plan("dev", tree, &per_file).unwrap());
        (changes, skipped)
    }

    fn summary(changes: &[FileChange]) -> Vec<(&str, ChangeKind, Option<Conflict>)> {
        changes
            .iter()
            .map(|change| (change.path.as_str(), change.kind, change.conflict))
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn an_identical_branch_is_skipped_whole() {
        let tree = rendered(|_| {});
        let (changes, skipped) = compare(&tree, &files(&tree));
        assert_eq!(changes, []);
        assert_eq!(skipped, [""]);
    }

    #[test]
    fn a_file_changed_deep_down_is_the_only_directory_read() {
        let old = rendered(|_| {});
        let tree = rendered(|tree| {
            tree.insert("clusters/c2/tenants/t1/b.yaml", "new\n");
        });
        let (changes, skipped) = compare(&tree, &files(&old));
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST, ChangeKind::Modified, None),
                ("clusters/c2/tenants/t1/b.yaml", ChangeKind::Modified, None),
            ]
        );
        assert_eq!(
            skipped,
            strings(&["clusters/c1/", "clusters/c2/tenants/t2/", "clusters/c3/"])
        );
    }

    #[test]
    fn a_hand_written_file_keeps_its_directory_from_being_skipped_and_is_kept() {
        let tree = rendered(|_| {});
        let mut on_branch = files(&tree);
        on_branch.insert(
            "clusters/c3/tenants/t2/notes.md".to_owned(),
            (PLAIN, b"mine".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(changes, []);
        assert_eq!(
            skipped,
            strings(&[
                ".fleetgen/",
                "clusters/c1/",
                "clusters/c2/",
                "clusters/c3/tenants/t1/"
            ])
        );
    }

    #[test]
    fn an_executable_file_or_a_symlink_with_the_rendered_bytes_is_rewritten() {
        let tree = rendered(|_| {});
        for (mode, path) in [
            (EXECUTABLE, "clusters/c1/tenants/t1/a.yaml"),
            (SYMLINK, "clusters/c1/tenants/t1/a.yaml"),
        ] {
            let mut on_branch = files(&tree);
            on_branch.get_mut(path).unwrap().0 = mode;
            let (changes, skipped) = compare(&tree, &on_branch);
            assert_eq!(
                summary(&changes),
                [(path, ChangeKind::Modified, None)],
                "{mode:o}"
            );
            assert!(!skipped.iter().any(|dir| path.starts_with(dir.as_str())));
            assert!(skipped.contains(&"clusters/c1/tenants/t2/".to_owned()));
        }
    }

    #[test]
    fn a_symlink_where_a_file_is_rendered_is_a_conflict() {
        let tree = rendered(|_| {});
        let mut on_branch = files(&tree);
        on_branch.insert(
            "clusters/c2/tenants/t1/a.yaml".to_owned(),
            (SYMLINK, b"../../../../README.md".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(
            summary(&changes),
            [(
                "clusters/c2/tenants/t1/a.yaml",
                ChangeKind::Modified,
                Some(Conflict::EditedByHand)
            )]
        );
        assert!(skipped.contains(&"clusters/c2/tenants/t2/".to_owned()));
        assert!(!skipped.contains(&"clusters/c2/tenants/t1/".to_owned()));
    }

    #[test]
    fn a_generated_file_edited_by_hand_is_a_conflict() {
        let tree = rendered(|_| {});
        let mut on_branch = files(&tree);
        on_branch.insert(
            "clusters/c3/kustomization.yaml".to_owned(),
            (PLAIN, b"edited".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(
            summary(&changes),
            [(
                "clusters/c3/kustomization.yaml",
                ChangeKind::Modified,
                Some(Conflict::EditedByHand)
            )]
        );
        assert_eq!(changes[0].old.as_deref(), Some(&b"edited"[..]));
        // The ownership list is the rendered one: read from the tree, not the branch.
        assert!(skipped.contains(&".fleetgen/".to_owned()));
        assert!(skipped.contains(&"clusters/c3/tenants/".to_owned()));
    }

    #[test]
    fn owned_files_no_longer_rendered_are_deleted_and_skipped_ones_are_not() {
        let old = rendered(|tree| {
            tree.insert("clusters/c2/tenants/t3/a.yaml", "gone\n");
            tree.insert("clusters/c4/kustomization.yaml", "gone too\n");
        });
        let tree = rendered(|_| {});
        let mut on_branch = files(&old);
        on_branch.insert(
            "clusters/c4/kustomization.yaml".to_owned(),
            (PLAIN, b"edited".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST, ChangeKind::Modified, None),
                ("clusters/c2/tenants/t3/a.yaml", ChangeKind::Deleted, None),
                (
                    "clusters/c4/kustomization.yaml",
                    ChangeKind::Deleted,
                    Some(Conflict::EditedByHand)
                ),
            ]
        );
        assert_eq!(
            skipped,
            strings(&[
                "clusters/c1/",
                "clusters/c2/tenants/t1/",
                "clusters/c2/tenants/t2/",
                "clusters/c3/"
            ])
        );
    }

    #[test]
    fn files_and_directories_in_each_others_place() {
        // A generated file where a directory is now rendered goes away; a hand-written one
        // is in the way.
        let old = rendered(|tree| {
            tree.remove("clusters/c1/tenants/t1/a.yaml");
            tree.remove("clusters/c1/tenants/t1/b.yaml");
            tree.insert("clusters/c1/tenants/t1", "was a file\n");
        });
        let tree = rendered(|tree| {
            tree.insert("clusters/c3/notes", "a file now\n");
        });
        let mut on_branch = files(&old);
        on_branch.insert(
            "clusters/c3/notes/mine.md".to_owned(),
            (PLAIN, b"mine".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST, ChangeKind::Modified, None),
                ("clusters/c1/tenants/t1", ChangeKind::Deleted, None),
                ("clusters/c1/tenants/t1/a.yaml", ChangeKind::Added, None),
                ("clusters/c1/tenants/t1/b.yaml", ChangeKind::Added, None),
                (
                    "clusters/c3/notes",
                    ChangeKind::Modified,
                    Some(Conflict::HandWritten)
                ),
            ]
        );
        assert_eq!(
            skipped,
            strings(&[
                "clusters/c1/tenants/t2/",
                "clusters/c2/",
                "clusters/c3/tenants/"
            ])
        );
    }

    #[test]
    fn a_submodule_where_a_file_or_a_directory_is_rendered_is_a_conflict() {
        let tree = rendered(|_| {});
        let mut on_branch = files(&tree);
        on_branch.insert(
            "clusters/c1/kustomization.yaml".to_owned(),
            (SUBMODULE, b"elsewhere".to_vec()),
        );
        on_branch.retain(|path, _| !path.starts_with("clusters/c2/tenants/t2/"));
        on_branch.insert(
            "clusters/c2/tenants/t2".to_owned(),
            (SUBMODULE, b"elsewhere".to_vec()),
        );
        let (changes, skipped) = compare(&tree, &on_branch);
        assert_eq!(
            summary(&changes),
            [
                (
                    "clusters/c1/kustomization.yaml",
                    ChangeKind::Modified,
                    Some(Conflict::HandWritten)
                ),
                (
                    "clusters/c2/tenants/t2/a.yaml",
                    ChangeKind::Added,
                    Some(Conflict::HandWritten)
                ),
                (
                    "clusters/c2/tenants/t2/b.yaml",
                    ChangeKind::Added,
                    Some(Conflict::HandWritten)
                ),
            ]
        );
        assert_eq!(
            skipped,
            strings(&[
                ".fleetgen/",
                "clusters/c1/tenants/",
                "clusters/c2/tenants/t1/",
                "clusters/c3/"
            ])
        );
    }

    #[test]
    fn identical_subtrees_are_not_read() {
        let old = rendered(|_| {});
        let tree = rendered(|tree| {
            tree.insert("clusters/c1/kustomization.yaml", "changed");
        });
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let head = commit(&repo, &files(&old));
        // Gone from the object database: reading them would fail.
        let root = repo.find_commit(head).unwrap().tree().unwrap();
        for skipped in ["clusters/c2", "clusters/c1/tenants"] {
            let id = root.get_path(Path::new(skipped)).unwrap().id().to_string();
            std::fs::remove_file(dir.path().join("objects").join(&id[..2]).join(&id[2..])).unwrap();
        }
        // A fresh handle: no cached copy of them either.
        let repo = Repository::open_bare(dir.path()).unwrap();
        let changes = changes::plan("dev", &tree, &GitBase::new(&repo, Some(head)).unwrap());
        assert_eq!(
            summary(&changes.unwrap()),
            [
                (OWNED_LIST, ChangeKind::Modified, None),
                ("clusters/c1/kustomization.yaml", ChangeKind::Modified, None),
            ]
        );
        let per_file = PerFile(GitBase::new(&repo, Some(head)).unwrap());
        assert!(changes::plan("dev", &tree, &per_file).is_err());
    }

    #[test]
    fn each_subtree_is_read_once() {
        // A directory too large for Git's own object cache.
        let fleet = |changed: &str| {
            let mut tree = Tree::new();
            for cluster in 0..300 {
                tree.insert(format!("clusters/c{cluster}/k.yaml"), "k");
            }
            tree.insert("clusters/c7/k.yaml", changed);
            tree.seal();
            tree
        };
        let (old, tree) = (fleet("k"), fleet("changed"));
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let head = commit(&repo, &files(&old));
        let clusters = repo.find_commit(head).unwrap().tree().unwrap();
        let clusters = clusters.get_name("clusters").unwrap().id().to_string();
        assert_eq!(
            repo.find_tree(clusters.parse().unwrap()).unwrap().len(),
            300
        );

        let repo = Repository::open_bare(dir.path()).unwrap();
        let base = GitBase::new(&repo, Some(head)).unwrap();
        base.known(&tree).unwrap();
        // Gone once read: the plan must not need it again.
        let loose = dir.path().join("objects").join(&clusters[..2]);
        std::fs::remove_file(loose.join(&clusters[2..])).unwrap();
        let changes = changes::plan("dev", &tree, &base).unwrap();
        assert_eq!(
            summary(&changes),
            [
                (OWNED_LIST, ChangeKind::Modified, None),
                ("clusters/c7/k.yaml", ChangeKind::Modified, None),
            ]
        );
    }

    #[test]
    fn a_new_branch_knows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let base = GitBase::new(&repo, None).unwrap();
        assert_eq!(base.known(&rendered(|_| {})).unwrap(), Known::default());
    }
}
