//! Reading a fleet repository the way the Git tests check it.

use std::collections::BTreeMap;
use std::fs;

use fleetgen::sinks::git;
use git2::{Oid, Repository};

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
