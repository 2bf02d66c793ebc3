//! Fleet repositories for the Git tests: made in a temporary directory, committed to by hand
//! as someone else would, and read back.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use fleetgen::sinks::git::{self, CommitOptions, Outcome};
use fleetgen::tree::{Branches, Tree};
use git2::{Oid, Repository, Signature, Time};
use tempfile::TempDir;

pub fn head(repo: &Repository, branch: &str) -> Option<Oid> {
    git::head(repo, &git::branch_ref(branch)).unwrap()
}

pub fn files(repo: &Repository, branch: &str) -> BTreeMap<String, String> {
    let (_, tree) = git::read_branch(repo, branch)
        .unwrap()
        .expect("branch exists");
    tree.iter()
        .map(|(path, content)| {
            (
                path.to_owned(),
                String::from_utf8(content.to_vec()).unwrap(),
            )
        })
        .collect()
}

/// Everything `git status` looks at.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckoutState {
    /// Per path, the status flags.
    pub statuses: Vec<(String, u32)>,
    /// The raw index file.
    pub index: Vec<u8>,
    /// Every file of the working tree.
    pub files: BTreeMap<String, Vec<u8>>,
}

pub fn checkout_state(repo: &Repository) -> CheckoutState {
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true);
    let statuses = repo
        .statuses(Some(&mut options))
        .unwrap()
        .iter()
        .map(|entry| (entry.path().unwrap().to_owned(), entry.status().bits()))
        .collect();
    let index = fs::read(repo.path().join("index")).unwrap_or_default();
    let workdir = repo.workdir().unwrap();
    let files = walkdir::WalkDir::new(workdir)
        .into_iter()
        .filter_entry(|entry| entry.file_name() != ".git")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(workdir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, fs::read(entry.path()).unwrap())
        })
        .collect();
    CheckoutState {
        statuses,
        index,
        files,
    }
}

pub const TIME: i64 = 1_700_000_000;

pub fn signature() -> Signature<'static> {
    Signature::new("Fleet Bot", "bot@example.com", &Time::new(TIME, 60)).unwrap()
}

pub fn options() -> CommitOptions {
    let mut options = CommitOptions::new(signature(), signature());
    options
        .environments
        .insert("dev".to_owned(), "dev".to_owned());
    options
}

pub fn new_repo() -> (TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    (dir, repo)
}

pub fn tree(files: &[(&str, &str)]) -> Tree {
    let mut tree = Tree::new();
    for (path, content) in files {
        tree.insert(*path, *content);
    }
    tree.seal();
    tree
}

/// The rendered fleet of these tests: `main` with two clusters' entry points, `dev` with their
/// infrastructure and a tenant.
pub fn fleet(dev_changes: &[(&str, Option<&str>)]) -> Branches {
    let main = tree(&[
        ("clusters/a/sync.yaml", "kind: Kustomization\nname: a\n"),
        ("clusters/b/sync.yaml", "kind: Kustomization\nname: b\n"),
    ]);
    let mut dev: BTreeMap<&str, &str> = [
        ("clusters/a/infrastructure.yaml", "path: ./infra/a\n"),
        ("infra/a/redis/deployment.yaml", "replicas: 1\n"),
        ("tenants/a/team/sandbox.yaml", "namespace: dev-team\n"),
        ("tenants/a/team/apps/web.yaml", "path: ./web/a\n"),
    ]
    .into_iter()
    .collect();
    for (path, content) in dev_changes {
        match content {
            Some(content) => dev.insert(path, content),
            None => dev.remove(path),
        };
    }
    let dev: Vec<(&str, &str)> = dev.into_iter().collect();
    Branches {
        trees: [("main".to_owned(), main), ("dev".to_owned(), tree(&dev))]
            .into_iter()
            .collect(),
    }
}

/// Someone else commits onto `branch`, writing (or, with `None`, deleting) one file.
pub fn commit_by_hand(repo: &Repository, branch: &str, path: &str, content: Option<&str>) -> Oid {
    let parent = head(repo, branch).map(|oid| repo.find_commit(oid).unwrap());
    let mut index = git2::Index::new().unwrap();
    if let Some(parent) = &parent {
        index.read_tree(&parent.tree().unwrap()).unwrap();
    }
    match content {
        Some(content) => {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100_644,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: repo.blob(content.as_bytes()).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        None => index.remove_path(Path::new(path)).unwrap(),
    }
    let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
    let who = Signature::new("Someone", "someone@example.com", &Time::new(TIME + 10, 0)).unwrap();
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(
        Some(&git::branch_ref(branch)),
        &who,
        &who,
        "by hand",
        &tree,
        &parents,
    )
    .unwrap()
}

/// Checks `branch` out in the repository's work tree, as `git checkout -f` does.
pub fn check_out(repo: &Repository, branch: &str) {
    repo.set_head(&format!("refs/heads/{branch}")).unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
}

/// Adds the work tree's `path` to the index, as `git add` does.
pub fn stage(repo: &Repository, path: &str) {
    let mut index = repo.index().unwrap();
    index.add_path(Path::new(path)).unwrap();
    index.write().unwrap();
}

pub fn committed(outcome: &Outcome) -> Oid {
    match outcome {
        Outcome::Committed(oid) => *oid,
        other => panic!("expected a commit, got {other:?}"),
    }
}
