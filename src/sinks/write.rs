//! `fleetgen render`: writes each branch's tree to `<out>/<branch>/`.
//!
//! The output directory is shared with people: they may keep hand-written files there, and they
//! may (wrongly) edit a generated one. So fleetgen only ever touches files listed in the
//! branch's ownership list and refuses to overwrite a generated file whose content no longer
//! matches what it wrote (see [`super::changes`]).
//!
//! A branch is replaced as a whole, so that a kill at any instant leaves it old or new, never a
//! mix: the new tree is built beside the old one in `<out>/.fleetgen-stage-…` (unchanged and
//! hand-written files hard-linked, symlinks recreated as links, changed files written and
//! closed one at a time), then the two directories trade places in one
//! `renameat2(RENAME_EXCHANGE)`, and the old tree is deleted. Anything a killed run left behind
//! is cleaned up by the next one (see [`crate::atomic::recover_branches`]). A lock on the output
//! directory keeps two runs from interleaving.
//!
//! Nothing is written through a symlink: the stage is a fresh directory, and a symlink where
//! the new tree needs a directory is refused.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::atomic;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::sinks::changes::{self, ChangeKind, FileChange};
use crate::sinks::dir_base::{self, DirBase, Kind};
use crate::tree::{Branches, Tree};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Overwrite or delete generated files even if they were edited by hand.
    pub force: bool,
}

/// What a write did (or, for [`changes()`], would do), with paths relative to the output root.
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

/// Writes `branches` under `out`: each branch all or nothing, and every branch only once all of
/// them are staged.
pub fn write(out: &Path, branches: &Branches, options: Options) -> Result<Report> {
    write_with(out, branches, options, &crate::progress::Quiet)
}

/// [`write()`], telling `progress` of each file of a changed branch as it is staged.
pub fn write_with(
    out: &Path,
    branches: &Branches,
    options: Options,
    progress: &dyn Progress,
) -> Result<Report> {
    fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let planned = Planned::new(out, branches, options)?;
    planned.write(out, branches, progress)
}

/// What writing `branches` under an output directory that already exists will change, worked
/// out under its lock before anything is written: so that it can be, while validation runs
/// (see [`plan_ahead`]).
pub struct Ahead {
    planned: Option<Planned>,
}

struct Planned {
    _lock: fs::File,
    /// Per branch, in branch order: its directory as it was read, and what changes.
    plans: Vec<(String, DirBase, Vec<FileChange>)>,
    report: Report,
}

/// Plans writing `branches` under `out`, if fleetgen has written there before (its lock file
/// is there): this takes the lock, finishes or undoes what a killed run left, and reads the
/// branch directories, but writes nothing new, so that it can run before validation has
/// passed. The lock is held until the write. Anywhere else, [`Ahead::write`] does it all.
pub fn plan_ahead(out: &Path, branches: &Branches, options: Options) -> Result<Ahead> {
    let written_before = fs::symlink_metadata(out).is_ok_and(|metadata| metadata.is_dir())
        && atomic::has_lock_file(out);
    let planned = match written_before {
        true => Some(Planned::new(out, branches, options)?),
        false => None,
    };
    Ok(Ahead { planned })
}

impl Planned {
    /// Takes the lock of `out`, which exists, finishes or undoes what a killed run left, and
    /// works out what writing `branches` there changes.
    fn new(out: &Path, branches: &Branches, options: Options) -> Result<Self> {
        let lock = atomic::lock_dir(out)?;
        atomic::recover_branches(out)?;
        let (plans, report) = plan(out, branches, options)?;
        let plans = branches
            .iter()
            .zip(plans)
            .map(|((branch, _), plan)| (branch.to_owned(), plan.base, plan.changes))
            .collect();
        Ok(Self {
            _lock: lock,
            plans,
            report,
        })
    }

    /// Stages and swaps in `branches`, the ones it was planned for, as planned.
    fn write(self, out: &Path, branches: &Branches, progress: &dyn Progress) -> Result<Report> {
        let plans: Vec<BranchPlan<'_>> = self
            .plans
            .into_iter()
            .map(|(branch, base, changes)| BranchPlan {
                tree: branches
                    .trees
                    .get(&branch)
                    .expect("written with the branches it was planned for"),
                base,
                changes,
            })
            .collect();
        stage_and_swap(out, &plans, progress)?;
        Ok(self.report)
    }
}

impl Ahead {
    /// Writes `branches`, the ones it was planned for, as planned.
    pub fn write(
        self,
        out: &Path,
        branches: &Branches,
        options: Options,
        progress: &dyn Progress,
    ) -> Result<Report> {
        match self.planned {
            Some(planned) => planned.write(out, branches, progress),
            None => write_with(out, branches, options, progress),
        }
    }
}

/// Stages every changed branch, then swaps them all in.
fn stage_and_swap(out: &Path, plans: &[BranchPlan<'_>], progress: &dyn Progress) -> Result<()> {
    let changed: Vec<&BranchPlan<'_>> = plans
        .iter()
        .filter(|plan| !plan.changes.is_empty())
        .collect();
    progress.start(
        "writing",
        changed.iter().map(|plan| plan.tree.len() as u64).sum(),
    );
    // Branches are staged side by side: creating files is the floor of a cold render, and
    // the file system creates them in separate folders in parallel. Nothing is swapped in
    // before every branch is staged, so a failure anywhere leaves the output as it was.
    let results: Vec<Result<PathBuf>> = changed
        .par_iter()
        .map(|branch| stage(out, branch, progress))
        .collect();
    let mut staged = Vec::new();
    let mut failure = None;
    for (branch, result) in changed.iter().zip(results) {
        match result {
            Ok(stage) => staged.push((stage, branch.base.root().to_path_buf())),
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
    if let Some(error) = failure {
        for (stage, _) in &staged {
            let _ = fs::remove_dir_all(stage);
        }
        return Err(error);
    }
    progress.finish();
    atomic::swap_in(&staged)
}

/// One branch: its directory, what is in it, and what changes.
struct BranchPlan<'a> {
    tree: &'a Tree,
    base: DirBase,
    changes: Vec<FileChange>,
}

fn plan<'a>(
    out: &Path,
    branches: &'a Branches,
    options: Options,
) -> Result<(Vec<BranchPlan<'a>>, Report)> {
    // Each branch folder is walked and compared on its own, all at once; the results are
    // taken in branch order, so the report, the refusals and the first failure are those of
    // planning one branch after another.
    let listed: Vec<(&str, &'a Tree)> = branches.iter().collect();
    let planned: Vec<Result<(DirBase, Vec<FileChange>)>> = listed
        .par_iter()
        .map(|(branch, tree)| plan_branch(out, branch, tree))
        .collect();
    let mut plans = Vec::new();
    let mut report = Report::default();
    let mut hand_edited = Vec::new();
    for ((branch, tree), planned) in listed.into_iter().zip(planned) {
        let (base, planned) = planned?;
        let branch_dir = Path::new(branch);
        report.unchanged += tree.len()
            - planned
                .iter()
                .filter(|change| change.kind != ChangeKind::Deleted)
                .count();
        for change in &planned {
            let relative = branch_dir.join(&change.path);
            if change.conflict.is_some() && !options.force {
                hand_edited.push(out.join(&relative));
            }
            match change.kind {
                ChangeKind::Deleted => report.removed.push(relative),
                ChangeKind::Modified => report.modified.push(relative),
                ChangeKind::Added => report.added.push(relative),
            }
        }
        plans.push(BranchPlan {
            tree,
            base,
            changes: planned,
        });
    }
    if !hand_edited.is_empty() {
        return Err(Error::HandEdited(hand_edited));
    }
    Ok((plans, report))
}

/// Reads the folder of `branch` under `out` and works out what writing `tree` there changes.
fn plan_branch(out: &Path, branch: &str, tree: &Tree) -> Result<(DirBase, Vec<FileChange>)> {
    changes::check_paths(branch, tree).map_err(|problem| Error::Write {
        path: out.join(branch),
        source: io::Error::other(problem),
    })?;
    let branch_dir = Path::new(branch);
    let root = out.join(branch_dir);
    refuse_links_to(out, branch_dir)?;
    let base = DirBase::open(&root)?.trusting_digests();
    for path in tree.paths() {
        if let Some((in_the_way, Kind::Symlink)) = base.in_the_way(path) {
            return Err(Error::Write {
                path: root.join(path),
                source: io::Error::other(format!(
                    "{} is a symbolic link; fleetgen never writes through one \
                     (remove it, or render somewhere else with --out)",
                    root.join(in_the_way).display()
                )),
            });
        }
    }
    let planned = changes::plan(branch, tree, &base)?;
    Ok((base, planned))
}

/// Refuses a symlink or a file on the way from `out` to a branch directory: the branch would
/// be written wherever it points.
fn refuse_links_to(out: &Path, branch_dir: &Path) -> Result<()> {
    let mut current = out.to_path_buf();
    for component in branch_dir.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(Error::Read {
                    path: current,
                    source,
                });
            }
            Ok(metadata) if metadata.is_dir() => {}
            Ok(metadata) => {
                let what = match metadata.is_symlink() {
                    true => "a symbolic link; fleetgen never writes through one",
                    false => "not a directory",
                };
                return Err(Error::Write {
                    path: current,
                    source: io::Error::other(format!("it is {what}")),
                });
            }
        }
    }
    Ok(())
}

/// Builds the branch's new tree in a fresh directory beside it and returns that directory.
fn stage(out: &Path, plan: &BranchPlan<'_>, progress: &dyn Progress) -> Result<PathBuf> {
    let branch_root = plan.base.root();
    let stage = atomic::stage_dir(out, branch_root)?;
    let result = fill_stage(&stage, plan, progress).map_err(|error| match error {
        // The stage is an implementation detail: name the file where the user will look.
        Error::Write { path, source } => Error::Write {
            path: match path.strip_prefix(&stage) {
                Ok(inside) => branch_root.join(inside),
                Err(_) => path,
            },
            source,
        },
        other => other,
    });
    if let Err(error) = result {
        let _ = fs::remove_dir_all(&stage);
        return Err(error);
    }
    Ok(stage)
}

fn fill_stage(stage: &Path, plan: &BranchPlan<'_>, progress: &dyn Progress) -> Result<()> {
    let old_root = plan.base.root();
    let write_error = |path: &Path, source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let replaced: BTreeSet<&str> = plan
        .changes
        .iter()
        .map(|change| change.path.as_str())
        .collect();
    if let Ok(metadata) = fs::symlink_metadata(old_root) {
        let _ = fs::set_permissions(stage, metadata.permissions());
    }
    // Folders the deletions may empty; they go if nothing else is left in them.
    let mut emptied: BTreeSet<&str> = BTreeSet::new();
    // UTF-8 names sort parents first; the others come parents first from the walk. None of
    // the latter is planned to change: no tree path can name them.
    let entries = plan
        .base
        .index()
        .iter()
        .map(|(path, kind)| (Path::new(path.as_str()), Some(path.as_str()), *kind))
        .chain(
            plan.base
                .foreign()
                .iter()
                .map(|(path, kind)| (path.as_path(), None, *kind)),
        );
    for (path, name, kind) in entries {
        let old = old_root.join(path);
        let new = stage.join(path);
        let replaced_here = name.is_some_and(|name| replaced.contains(name));
        match kind {
            Kind::Dir => {
                fs::create_dir(&new).map_err(|source| write_error(&new, source))?;
                if let Ok(metadata) = fs::symlink_metadata(&old) {
                    let _ = fs::set_permissions(&new, metadata.permissions());
                }
            }
            Kind::Symlink => {
                let target = fs::read_link(&old).map_err(|source| Error::Read {
                    path: old.clone(),
                    source,
                })?;
                std::os::unix::fs::symlink(&target, &new)
                    .map_err(|source| write_error(&new, source))?;
            }
            Kind::File | Kind::Special if replaced_here => {
                if let Some((parent, _)) = name.and_then(|name| name.rsplit_once('/')) {
                    emptied.insert(parent);
                }
            }
            Kind::File | Kind::Special => {
                link_or_copy(&old, &new, kind)?;
                progress.advance(1);
            }
        }
    }
    // Folders the new files need, created once each: a `create_dir_all` per file would cost
    // two failing system calls for every file of a folder after the first.
    let mut made: BTreeSet<&str> = BTreeSet::new();
    for change in &plan.changes {
        let Some(content) = plan.tree.get(&change.path) else {
            continue;
        };
        for (end, _) in change.path.match_indices('/') {
            let dir = &change.path[..end];
            if plan.base.kind(dir) == Some(Kind::Dir) || !made.insert(dir) {
                continue;
            }
            let new = stage.join(dir);
            fs::create_dir(&new).map_err(|source| write_error(&new, source))?;
        }
        write_new(&stage.join(&change.path), content)?;
        progress.advance(1);
    }
    for dir in emptied.iter().rev() {
        let mut dir = Some(*dir);
        while let Some(current) = dir {
            if fs::remove_dir(stage.join(current)).is_err() {
                break;
            }
            dir = current.rsplit_once('/').map(|(parent, _)| parent);
        }
    }
    Ok(())
}

/// Creates `path` (never opening an existing file or a symlink) with the user's umask, writes
/// it and closes it.
pub(crate) fn write_new(path: &Path, content: &[u8]) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write_error)?;
    file.write_all(content).map_err(write_error)
}

/// A file kept from the old tree: a hard link costs no copy, and keeps its inode so that an
/// unchanged file looks untouched. Where links are not possible, a copy.
fn link_or_copy(old: &Path, new: &Path, kind: Kind) -> Result<()> {
    match fs::hard_link(old, new) {
        Ok(()) => Ok(()),
        Err(_) if kind == Kind::File => {
            let content = dir_base::read_regular(old)?;
            write_new(new, &content)?;
            let permissions = fs::symlink_metadata(old)
                .map_err(|source| Error::Read {
                    path: old.to_path_buf(),
                    source,
                })?
                .permissions();
            fs::set_permissions(new, permissions).map_err(|source| Error::Write {
                path: new.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(Error::Write {
            path: new.to_path_buf(),
            source,
        }),
    }
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

    fn fleet(branches: &[(&str, Vec<(String, String)>)]) -> Branches {
        let trees = branches
            .iter()
            .map(|(branch, files)| {
                let mut tree = Tree::new();
                for (path, content) in files {
                    tree.insert(path.as_str(), content.as_str());
                }
                tree.seal();
                ((*branch).to_owned(), tree)
            })
            .collect();
        Branches { trees }
    }

    /// Branch folders are planned at once; the report still lists branch after branch, each
    /// branch's paths in order, as planning them one by one did.
    #[test]
    fn branches_planned_at_once_are_reported_in_branch_order() {
        let names = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
        let files = |round: usize, branch: usize| -> Vec<(String, String)> {
            (0..5)
                .filter(|file| round == 0 || !(file + branch).is_multiple_of(3))
                .map(|file| {
                    let edit = round * usize::from((file + branch) % 3 == 1);
                    (format!("d{file}/f.yaml"), format!("{branch} {file} {edit}"))
                })
                .chain((round == 1).then(|| ("new.yaml".to_owned(), branch.to_string())))
                .collect()
        };
        let rendered = |round: usize| {
            let branches: Vec<(&str, Vec<(String, String)>)> = names
                .iter()
                .enumerate()
                .map(|(branch, name)| (*name, files(round, branch)))
                .collect();
            fleet(&branches)
        };
        let out = tempfile::tempdir().unwrap();
        write(out.path(), &rendered(0), Options::default()).unwrap();
        let report = changes(out.path(), &rendered(1), Options::default()).unwrap();
        let expected = |pick: &dyn Fn(usize, usize) -> bool, extra: Option<&str>| {
            let mut paths = Vec::new();
            for (branch, name) in names.iter().enumerate() {
                let mut listed: Vec<String> = (0..5)
                    .filter(|file| pick(branch, *file))
                    .map(|file| format!("d{file}/f.yaml"))
                    .chain(extra.map(str::to_owned))
                    .collect();
                listed.sort();
                paths.extend(listed.into_iter().map(|path| Path::new(name).join(path)));
            }
            paths
        };
        assert_eq!(
            report.added,
            expected(&|_, _| false, Some("new.yaml")),
            "added"
        );
        assert_eq!(
            report.modified,
            // The ownership list changes with the files.
            expected(
                &|branch, file| (file + branch) % 3 == 1,
                Some(".fleetgen/owned.sha256")
            ),
            "modified"
        );
        assert_eq!(
            report.removed,
            expected(&|branch, file| (file + branch).is_multiple_of(3), None),
            "removed"
        );
        let modified_files = report.modified.len() - names.len();
        assert_eq!(
            report.unchanged,
            8 * 5 - modified_files - report.removed.len()
        );
    }

    #[test]
    fn hand_edits_in_several_branches_are_refused_together_and_forced_per_branch() {
        let rendered = |content: &str| {
            let files = |name: &str| vec![(format!("{name}.yaml"), content.to_owned())];
            fleet(&[
                ("dev", files("a")),
                ("main", files("b")),
                ("qa", files("c")),
            ])
        };
        let out = tempfile::tempdir().unwrap();
        write(out.path(), &rendered("x"), Options::default()).unwrap();
        fs::write(out.path().join("qa/c.yaml"), "edited").unwrap();
        fs::write(out.path().join("dev/a.yaml"), "edited").unwrap();
        let error = write(out.path(), &rendered("y"), Options::default()).unwrap_err();
        match &error {
            Error::HandEdited(paths) => assert_eq!(
                paths,
                &[out.path().join("dev/a.yaml"), out.path().join("qa/c.yaml")]
            ),
            other => panic!("expected HandEdited, got {other}"),
        }
        let now = |path: &str| fs::read_to_string(out.path().join(path)).unwrap();
        assert_eq!(
            (now("dev/a.yaml"), now("main/b.yaml"), now("qa/c.yaml")),
            ("edited".to_owned(), "x".to_owned(), "edited".to_owned())
        );
        write(out.path(), &rendered("y"), Options { force: true }).unwrap();
        assert_eq!(
            (now("dev/a.yaml"), now("main/b.yaml"), now("qa/c.yaml")),
            ("y".to_owned(), "y".to_owned(), "y".to_owned())
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
