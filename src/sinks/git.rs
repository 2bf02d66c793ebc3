//! The fleet repo's branches, read and written straight in the object database with git2.
//!
//! Nothing here checks anything out: a branch is read from its ref, and a new commit is built
//! from blobs and trees (bottom-up, leaving every untouched subtree as it was) and then
//! published by moving the ref. The working tree and the index are never touched, so
//! committing works in bare repositories, in CI and next to a user's uncommitted work.
//!
//! Refs move by compare-and-swap: all branches of one `commit` are locked together, checked
//! against the heads the new commits were built on, and only then updated. If anyone moved a
//! branch meanwhile, no ref changes at all and the error names the branch; the commits built
//! for the others are left unreferenced, for `git gc` to collect. A journal makes the update
//! all or nothing across a kill too (`journal.rs`), and a checkout of a moving branch moves
//! with it, as git's `updateInstead` does (`checkout.rs`): that is the one exception to "the
//! working tree is never touched", and it only ever touches the paths the commit changes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::{ErrorCode, ObjectType, Oid, Repository, Signature, Time, TreeWalkMode, TreeWalkResult};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::sinks::changes::{self, ChangeKind, Contents, FileChange};
use crate::sinks::git_base::GitBase;
use crate::sinks::journal::{self, Recovered, RefUpdate};
use crate::sinks::pack::{self, Objects};
use crate::sinks::{checkout, summary};
use crate::tree::{Branches, Tree};

pub(crate) const FILE_MODE: i32 = 0o100_644;
const TREE_MODE: i32 = 0o040_000;

/// The fleet repo of `fleet`, if there is one: `repo.path` in fleet.yaml (relative to the fleet
/// root), else the repository the fleet source lives in.
pub fn locate(fleet: &Fleet) -> Result<Option<Repository>> {
    read_objects_as_git_does();
    match &fleet.repo.path {
        Some(path) => {
            let path = fleet.root.join(path);
            // `open`, not `discover`: a mistyped path must not silently resolve to whatever
            // repository happens to contain it.
            Repository::open(&path).map(Some).map_err(|error| {
                Error::Git(format!(
                    "cannot open the fleet repo {} (repo.path in fleet.yaml): {}",
                    crate::printable::path(&path),
                    error.message()
                ))
            })
        }
        None => match Repository::discover(&fleet.root) {
            Ok(repo) => Ok(Some(repo)),
            Err(error) if error.code() == ErrorCode::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        },
    }
}

/// Stops libgit2 from hashing every object it reads again to compare with its id, as Git itself
/// does not: objects are hashed when they are written (by libgit2, with collision detection)
/// and when they are received, and their compressed form carries a checksum. At a thousand
/// clusters a commit reads three 16 MB ownership lists, and this hashing was a twentieth of
/// its CPU time.
fn read_objects_as_git_does() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Like [`locate`], for commands that cannot work without a fleet repo.
pub fn open(fleet: &Fleet) -> Result<Repository> {
    locate(fleet)?.ok_or_else(|| Error::NoFleetRepo(fleet.root.clone()))
}

/// `refs/heads/<branch>`.
pub fn branch_ref(branch: &str) -> String {
    format!("refs/heads/{branch}")
}

/// The commit a ref points at, if the ref exists. Only plain branches are accepted: moving a
/// symbolic ref would silently turn it into a plain one.
pub fn head(repo: &Repository, refname: &str) -> Result<Option<Oid>> {
    let reference = match repo.find_reference(refname) {
        Ok(reference) => reference,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    match reference.target() {
        Some(oid) => Ok(Some(oid)),
        None => Err(Error::Git(format!(
            "{refname} is a symbolic reference; fleetgen only updates plain branches"
        ))),
    }
}

/// The commit `branch` continues from: its head or, for a branch that exists only as
/// `origin/<branch>` (as in a fresh clone, where only the default branch is local), the
/// remote-tracking head. Without this a fresh clone would grow a second, unrelated history.
pub fn base(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match head(repo, &branch_ref(branch))? {
        Some(oid) => Ok(Some(oid)),
        None => head(repo, &format!("refs/remotes/origin/{branch}")),
    }
}

/// The files of `branch` and the commit they were read from (see [`base`]), or `None` if there
/// is no such branch. Submodules are skipped; a symlink reads as its target path.
pub fn read_branch(repo: &Repository, branch: &str) -> Result<Option<(Oid, Tree)>> {
    let Some(oid) = base(repo, branch)? else {
        return Ok(None);
    };
    let git_tree = repo.find_commit(oid)?.tree()?;
    let mut tree = Tree::new();
    let mut failure = None;
    git_tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let name = String::from_utf8_lossy(entry.name_bytes());
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                tree.insert(format!("{dir}{name}"), blob.content());
                TreeWalkResult::Ok
            }
            Err(error) => {
                failure = Some(error);
                TreeWalkResult::Abort
            }
        }
    })?;
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(Some((oid, tree))),
    }
}

/// The changes that committing `tree` onto `branch` (as it is at `commit`) would make.
pub fn changes(
    repo: &Repository,
    branch: &str,
    commit: Option<Oid>,
    tree: &Tree,
) -> Result<Vec<FileChange>> {
    changes_with(repo, branch, commit, tree, Contents::Kept)
}

fn changes_with(
    repo: &Repository,
    branch: &str,
    commit: Option<Oid>,
    tree: &Tree,
    contents: Contents,
) -> Result<Vec<FileChange>> {
    changes::check_paths(branch, tree).map_err(Error::Git)?;
    changes::plan_with(branch, tree, &GitBase::new(repo, commit)?, contents)
}

/// Where one branch's commit goes, and what the refs held when fleetgen read them. Reading
/// these first and building on them is what makes the later ref update a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The fleet branch, e.g. `dev`.
    pub branch: String,
    /// The ref to update: `refs/heads/<branch>`, or `refs/heads/<prefix>/<branch>`.
    pub refname: String,
    /// Head of `refs/heads/<branch>` (see [`base`]): the parent of the new commit and the tree
    /// it is compared with. `None` when the branch does not exist yet.
    pub base: Option<Oid>,
    /// What `refname` held; the update fails if it holds anything else by then.
    pub expected: Option<Oid>,
}

impl Target {
    /// Reads the refs for committing `branch`, to a branch of its own under `prefix` if given.
    pub fn read(repo: &Repository, branch: &str, prefix: Option<&str>) -> Result<Target> {
        let real = branch_ref(branch);
        let refname = match prefix.map(|prefix| prefix.trim_end_matches('/')) {
            Some(prefix) => format!("refs/heads/{prefix}/{branch}"),
            None => real.clone(),
        };
        for name in [&real, &refname] {
            if !git2::Reference::is_valid_name(name) {
                return Err(Error::Usage(format!(
                    "`{}` is not a valid branch name",
                    crate::diagnostic::truncate(name)
                )));
            }
        }
        let base = base(repo, branch)?;
        let expected = head(repo, &refname)?;
        Ok(Target {
            branch: branch.to_owned(),
            refname,
            base,
            expected,
        })
    }
}

/// Who commits, and how.
#[derive(Clone)]
pub struct CommitOptions {
    /// Overwrite generated files edited by hand, and hand-written files in the way.
    pub force: bool,
    /// Plan and describe the commits, write nothing.
    pub dry_run: bool,
    /// Commit to `<prefix>/<branch>` (based on `<branch>`) instead of `<branch>`.
    pub prefix: Option<String>,
    /// Replaces the subject line of the generated message.
    pub subject: Option<String>,
    /// Environment name per environment branch, for messages.
    pub environments: BTreeMap<String, String>,
    pub author: Signature<'static>,
    pub committer: Signature<'static>,
}

impl CommitOptions {
    pub fn new(author: Signature<'static>, committer: Signature<'static>) -> Self {
        Self {
            force: false,
            dry_run: false,
            prefix: None,
            subject: None,
            environments: BTreeMap::new(),
            author,
            committer,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The branch already holds the rendered tree; nothing was written.
    UpToDate,
    /// Dry run: these changes would be committed.
    WouldCommit,
    /// A new commit, now the head of the target ref.
    Committed(Oid),
}

/// What `commit` did for one branch.
#[derive(Debug, Clone)]
pub struct BranchCommit {
    pub target: Target,
    pub outcome: Outcome,
    pub changes: Vec<FileChange>,
    /// The commit message (also for a dry run); empty when up to date.
    pub message: String,
}

/// Commits every branch of `branches` onto the fleet repo: all of them, or none if any
/// refuses (hand edits) or moved meanwhile.
pub fn commit(
    repo: &Repository,
    branches: &Branches,
    options: &CommitOptions,
) -> Result<Vec<BranchCommit>> {
    if !options.dry_run {
        recover(repo, &options.committer)?;
    }
    let targets = read_targets(repo, branches, options.prefix.as_deref())?;
    commit_targets(repo, &targets, options)
}

fn read_targets<'b>(
    repo: &Repository,
    branches: &'b Branches,
    prefix: Option<&str>,
) -> Result<Vec<(Target, &'b Tree)>> {
    branches
        .iter()
        .map(|(branch, tree)| Ok((Target::read(repo, branch, prefix)?, tree)))
        .collect()
}

/// A commit run read and planned, nothing written yet: the refs as they were read, and what
/// each branch's commit will change.
#[derive(Debug)]
pub struct Plan {
    targets: Vec<Target>,
    changes: Vec<Vec<FileChange>>,
}

/// Reads the refs of a commit of `branches` (under `prefix`, as `--branch-prefix`) and plans
/// its changes, writing nothing, so that it can run while the rendered trees are being
/// validated. `None` when a killed commit's journal is there: [`commit`] finishes or undoes
/// it first, and the plan would be of refs about to move.
pub fn plan(repo: &Repository, branches: &Branches, prefix: Option<&str>) -> Result<Option<Plan>> {
    if interrupted(repo) {
        return Ok(None);
    }
    let targets = read_targets(repo, branches, prefix)?;
    let changes = plan_targets(repo, &targets)?;
    Ok(Some(Plan {
        targets: targets.into_iter().map(|(target, _)| target).collect(),
        changes,
    }))
}

/// Commits `branches` as [`plan`] planned them. The refs move only if each still holds what
/// the plan read (see [`Target`]); the plan must be of these same branches.
pub fn commit_planned(
    repo: &Repository,
    branches: &Branches,
    plan: Plan,
    options: &CommitOptions,
) -> Result<Vec<BranchCommit>> {
    let targets: Vec<(Target, &Tree)> = plan
        .targets
        .into_iter()
        .zip(branches.iter())
        .map(|(target, (branch, tree))| {
            assert_eq!(target.branch, branch, "a plan of other branches");
            (target, tree)
        })
        .collect();
    assert_eq!(
        targets.len(),
        plan.changes.len(),
        "a plan of other branches"
    );
    commit_changes(repo, &targets, plan.changes, options)
}

/// Commits one branch onto `target`, read earlier with [`Target::read`].
pub fn commit_branch(
    repo: &Repository,
    target: &Target,
    tree: &Tree,
    options: &CommitOptions,
) -> Result<BranchCommit> {
    let mut done = commit_targets(repo, &[(target.clone(), tree)], options)?;
    Ok(done.remove(0))
}

/// Commits each tree onto its target; the ref updates succeed or fail together.
pub fn commit_targets(
    repo: &Repository,
    targets: &[(Target, &Tree)],
    options: &CommitOptions,
) -> Result<Vec<BranchCommit>> {
    let changes = plan_targets(repo, targets)?;
    commit_changes(repo, targets, changes, options)
}

fn commit_changes(
    repo: &Repository,
    targets: &[(Target, &Tree)],
    changes: Vec<Vec<FileChange>>,
    options: &CommitOptions,
) -> Result<Vec<BranchCommit>> {
    let mut planned = Vec::new();
    let mut conflicts = Vec::new();
    for ((target, tree), changes) in targets.iter().zip(changes) {
        conflicts.extend(
            changes
                .iter()
                .filter(|change| change.conflict.is_some())
                .map(|change| PathBuf::from(format!("{}:{}", target.branch, change.path))),
        );
        planned.push((target, changes::sealed(tree), changes));
    }
    if !conflicts.is_empty() && !options.force {
        return Err(Error::HandEdited(conflicts));
    }

    // Every object of the run goes into packs, not a file each (see `pack`); the refs move
    // only once they are written.
    let (done, updates) = pack::with_pack(repo, |objects| {
        let mut done = Vec::new();
        let mut updates = Vec::new();
        for (target, tree, changes) in planned {
            let mut result = BranchCommit {
                target: target.clone(),
                outcome: Outcome::UpToDate,
                changes,
                message: String::new(),
            };
            if result.changes.is_empty() {
                done.push(result);
                continue;
            }
            let environment = options.environments.get(&target.branch).map(String::as_str);
            result.message = summary::commit_message(
                &target.branch,
                environment,
                &result.changes,
                options.subject.as_deref(),
            );
            if options.dry_run {
                result.outcome = Outcome::WouldCommit;
                done.push(result);
                continue;
            }
            let base_tree = match target.base {
                Some(oid) => Some(objects.repo().find_commit(oid)?.tree()?),
                None => None,
            };
            let tree_id = build_tree(objects, base_tree.as_ref(), &tree, &result.changes)?;
            if Some(tree_id) == base_tree.as_ref().map(git2::Tree::id)
                || already_there(repo, target, tree_id)?
            {
                result.changes.clear();
                result.message.clear();
                done.push(result);
                continue;
            }
            let writer = objects.repo();
            let tree = writer.find_tree(tree_id)?;
            let parents = match target.base {
                Some(oid) => vec![writer.find_commit(oid)?],
                None => Vec::new(),
            };
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let oid = objects.commit(
                &options.author,
                &options.committer,
                &result.message,
                &tree,
                &parents,
            )?;
            result.outcome = Outcome::Committed(oid);
            updates.push((target, oid));
            done.push(result);
        }
        Ok((done, updates))
    })?;
    update_refs(repo, &updates, &options.committer)?;
    Ok(done)
}

/// The changes of each target, in the targets' order, the first failure in that order
/// winning; without their contents, which the rendered trees hold.
fn plan_targets(repo: &Repository, targets: &[(Target, &Tree)]) -> Result<Vec<Vec<FileChange>>> {
    let branches: Vec<_> = targets
        .iter()
        .map(|(target, tree)| (target.branch.as_str(), target.base, *tree))
        .collect();
    plan_branches(repo, &branches, Contents::Omitted)
}

/// [`changes()`] of each branch onto its base, in the order given, the first failure in that
/// order winning. Reading a branch's base (its ownership list alone is 16 MB at a thousand
/// clusters) is one thread's work per branch, so the branches are planned at once, each on a
/// repository handle of its own: a `Repository` may move between threads but not be shared.
pub fn plan_branches(
    repo: &Repository,
    branches: &[(&str, Option<Oid>, &Tree)],
    contents: Contents,
) -> Result<Vec<Vec<FileChange>>> {
    if branches.len() < 2 {
        return branches
            .iter()
            .map(|(branch, base, tree)| changes_with(repo, branch, *base, tree, contents))
            .collect();
    }
    let path = repo.path().to_path_buf();
    let planned: Vec<Result<Vec<FileChange>>> = branches
        .par_iter()
        .map(|(branch, base, tree)| {
            let own = Repository::open(&path)?;
            changes_with(&own, branch, *base, tree, contents)
        })
        .collect();
    planned.into_iter().collect()
}

/// A `--branch-prefix` branch that already holds exactly this tree on top of the real branch
/// needs no new commit: running `commit` twice must not pile up identical commits.
fn already_there(repo: &Repository, target: &Target, tree_id: Oid) -> Result<bool> {
    let prefixed = target.refname != branch_ref(&target.branch);
    let (Some(expected), true) = (target.expected, prefixed) else {
        return Ok(false);
    };
    let commit = repo.find_commit(expected)?;
    Ok(commit.tree_id() == tree_id && commit.parent_ids().eq(target.base))
}

/// The edits below one directory, so that each tree is built once, children first.
#[derive(Default)]
struct Edits<'a> {
    /// Name → new blob content, or `None` to remove.
    files: BTreeMap<&'a str, Option<&'a [u8]>>,
    dirs: BTreeMap<&'a str, Edits<'a>>,
}

impl<'a> Edits<'a> {
    fn add(&mut self, path: &'a str, content: Option<&'a [u8]>) {
        match path.split_once('/') {
            Some((dir, rest)) => self.dirs.entry(dir).or_default().add(rest, content),
            None => {
                self.files.insert(path, content);
            }
        }
    }
}

/// Writes the tree `base` becomes with `changes` applied and returns its id. Directories
/// without edits are not visited, so they keep their ids; a directory left empty disappears.
fn build_tree(
    objects: &mut Objects<'_>,
    base: Option<&git2::Tree<'_>>,
    tree: &Tree,
    changes: &[FileChange],
) -> Result<Oid> {
    let mut edits = Edits::default();
    for change in changes {
        let content = match change.kind {
            ChangeKind::Deleted => None,
            ChangeKind::Added | ChangeKind::Modified => Some(
                tree.get(&change.path)
                    .expect("a change adds or modifies a rendered file"),
            ),
        };
        edits.add(&change.path, content);
    }
    match write_edits(objects, base, &edits)? {
        Some(oid) => Ok(oid),
        None => objects.tree(&objects.repo().treebuilder(None)?),
    }
}

fn write_edits(
    objects: &mut Objects<'_>,
    base: Option<&git2::Tree<'_>>,
    edits: &Edits<'_>,
) -> Result<Option<Oid>> {
    let mut builder = objects.repo().treebuilder(base)?;
    for (name, content) in &edits.files {
        match content {
            Some(content) => {
                builder.insert(name, objects.blob(content)?, FILE_MODE)?;
            }
            None if builder.get(name)?.is_some() => builder.remove(name)?,
            None => {}
        }
    }
    for (name, child) in &edits.dirs {
        // A file (hand-written, when forced) where a directory is needed is replaced by it.
        let child_base = match base.and_then(|tree| tree.get_name(name)) {
            Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                Some(objects.repo().find_tree(entry.id())?)
            }
            _ => None,
        };
        match write_edits(objects, child_base.as_ref(), child)? {
            Some(oid) => {
                builder.insert(name, oid, TREE_MODE)?;
            }
            None if builder.get(name)?.is_some() => builder.remove(name)?,
            None => {}
        }
    }
    if builder.is_empty() {
        Ok(None)
    } else {
        Ok(Some(objects.tree(&builder)?))
    }
}

/// Moves every ref to its new commit if, with all of them locked, each still holds what it
/// held when read; all of them or none, also across a kill (see [`journal`]). Checkouts of a
/// moving branch are checked first and updated along (see [`checkout`]).
fn update_refs(
    repo: &Repository,
    updates: &[(&Target, Oid)],
    committer: &Signature<'_>,
) -> Result<()> {
    let updates: Vec<RefUpdate> = updates
        .iter()
        .map(|(target, oid)| RefUpdate {
            refname: target.refname.clone(),
            old: target.expected,
            new: *oid,
        })
        .collect();
    refuse_dirty_checkouts(repo, &updates)?;
    journal::apply(repo, &updates, committer, |update| {
        let subject = repo
            .find_commit(update.new)
            .ok()
            .and_then(|commit| commit.summary().ok().flatten().map(str::to_owned))
            .unwrap_or_default();
        format!("fleetgen commit: {subject}")
    })
}

/// Refuses, before anything moves, an update that would leave a checkout of a moving branch
/// behind: a path the new commit changes holds something else there, or git is busy with
/// that checkout's index.
fn refuse_dirty_checkouts(repo: &Repository, updates: &[RefUpdate]) -> Result<()> {
    let mut problems = Vec::new();
    for update in updates {
        for checkout in checkout::of_branch(repo, &update.refname)? {
            let dir = checkout.workdir.display().to_string();
            let dir = dir.trim_end_matches('/').to_owned();
            if checkout::index_locked(&checkout) {
                problems.push(format!("{dir}: git is using the index (index.lock exists)"));
                continue;
            }
            let dirty = checkout.dirty_paths(update.old, update.new)?;
            if !dirty.is_empty() {
                problems.push(format!(
                    "{dir} ({} checked out): {}",
                    update.refname.trim_start_matches("refs/heads/"),
                    fold(&dirty, 10)
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckoutDirty(problems))
    }
}

/// `a, b, c and 7 more`: long lists of paths stay readable in one message.
fn fold(paths: &[String], keep: usize) -> String {
    let mut text = paths
        .iter()
        .take(keep)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > keep {
        text.push_str(&format!(" and {} more", paths.len() - keep));
    }
    text
}

/// Working trees that have `refname` checked out.
pub fn checked_out(repo: &Repository, refname: &str) -> Result<Vec<PathBuf>> {
    Ok(checkout::of_branch(repo, refname)?
        .into_iter()
        .map(|checkout| checkout.workdir)
        .collect())
}

/// Whether a commit was interrupted (or is running): its journal exists.
pub fn interrupted(repo: &Repository) -> bool {
    journal::path(repo).exists()
}

/// The refs of a journal, for a note: the journal is a file anyone with the repository could
/// have written, so its names are printed escaped.
fn refnames(updates: &[journal::RefUpdate]) -> String {
    let names: Vec<&str> = updates
        .iter()
        .map(|update| update.refname.as_str())
        .collect();
    crate::printable::line(&names.join(", ")).into_owned()
}

/// Finishes a commit a killed fleetgen left half done (see [`journal`]); says so on stderr.
pub fn recover(repo: &Repository, committer: &Signature<'_>) -> Result<()> {
    match journal::recover(repo, committer)? {
        Recovered::Nothing => {}
        Recovered::Forward(updates) => eprintln!(
            "note: finished an interrupted fleetgen commit: {} moved",
            refnames(&updates)
        ),
        Recovered::Back(updates) => eprintln!(
            "note: undid an interrupted fleetgen commit: {} left as they were",
            refnames(&updates)
        ),
    }
    Ok(())
}

/// The author and committer of fleetgen's commits.
///
/// Like git: `GIT_AUTHOR_NAME`, `GIT_AUTHOR_EMAIL`, `GIT_AUTHOR_DATE` (and the `GIT_COMMITTER_*`
/// ones) over `user.name` and `user.email`; `name` and `email` (the `--author-*` flags) over
/// both for the author. A committer git cannot find defaults to the author.
pub fn signatures(
    repo: &Repository,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<(Signature<'static>, Signature<'static>)> {
    let author = match repo.author_from_env() {
        Ok(found) if name.is_none() && email.is_none() => found,
        Ok(found) => {
            let found_name = String::from_utf8_lossy(found.name_bytes()).into_owned();
            let found_email = String::from_utf8_lossy(found.email_bytes()).into_owned();
            Signature::new(
                name.unwrap_or(&found_name),
                email.unwrap_or(&found_email),
                &found.when(),
            )?
        }
        Err(error) if error.code() == ErrorCode::NotFound => match (name, email) {
            (Some(name), Some(email)) => {
                Signature::new(name, email, &fallback_time("GIT_AUTHOR_DATE")?)?
            }
            _ => {
                return Err(Error::Git(
                    "no identity to commit with: set user.name and user.email in git config, GIT_AUTHOR_NAME and \
                     GIT_AUTHOR_EMAIL, or pass --author-name and --author-email"
                        .to_owned(),
                ));
            }
        },
        Err(error) => {
            return Err(Error::Git(format!(
                "cannot use the author from the environment: {}",
                error.message()
            )));
        }
    };
    let committer = match repo.committer_from_env() {
        Ok(found) => found,
        Err(error) if error.code() == ErrorCode::NotFound => author.clone(),
        Err(error) => {
            return Err(Error::Git(format!(
                "cannot use the committer from the environment: {}",
                error.message()
            )));
        }
    };
    Ok((author, committer))
}

/// The commit time when git found no identity (so it never read `GIT_AUTHOR_DATE` itself):
/// now, or the variable in git's internal format `<unix seconds> <+hhmm>`, which is what
/// scripts wanting a fixed time use.
fn fallback_time(variable: &str) -> Result<Time> {
    let Ok(value) = std::env::var(variable) else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(Time::new(
            i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            0,
        ));
    };
    parse_raw_time(&value).ok_or_else(|| {
        Error::Usage(format!(
            "{variable}=`{}`: without a git identity configured, only `<unix seconds> <+hhmm>` is understood",
            crate::diagnostic::truncate(&value)
        ))
    })
}

fn parse_raw_time(value: &str) -> Option<Time> {
    let (seconds, zone) = value.trim().trim_start_matches('@').split_once(' ')?;
    let seconds: i64 = seconds.parse().ok()?;
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Some(Time::new(seconds, sign * (hours * 60 + minutes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_git_times_parse() {
        let time = parse_raw_time("1700000000 +0130").unwrap();
        assert_eq!((time.seconds(), time.offset_minutes()), (1_700_000_000, 90));
        let time = parse_raw_time("@1700000000 -0500").unwrap();
        assert_eq!(time.offset_minutes(), -300);
        for bad in [
            "",
            "1700000000",
            "x +0000",
            "1700000000 0000",
            "1700000000 +01",
        ] {
            assert!(parse_raw_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prefixed_targets_are_based_on_the_real_branch() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let target = Target::read(&repo, "dev", Some("review/")).unwrap();
        assert_eq!(target.refname, "refs/heads/review/dev");
        assert_eq!((target.base, target.expected), (None, None));
        assert!(matches!(
            Target::read(&repo, "dev", Some("bad..name")),
            Err(Error::Usage(_))
        ));
    }
}
