//! `fleetgen diff` and the drift half of `fleetgen check`: the rendered branches compared with
//! the fleet repo's branches (read from the refs, no checkout) or with an output directory,
//! under the same ownership rules `commit` and `render` apply. A difference is exactly what the
//! next `commit` (or `render`) would change, and it is drift when CI expected none.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::builder::styling::{AnsiColor, Style};
use git2::Repository;
use rayon::prelude::*;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::printable;
use crate::sinks::changes::{self, ChangeKind, Conflict, Contents, FileChange};
use crate::sinks::dir_base::DirBase;
use crate::sinks::git;
use crate::sinks::summary::{BranchSummary, Counts, plural};
use crate::tree::{Branches, OWNED_LIST, Tree};

/// Lines of context around each change, as `git diff` shows.
const CONTEXT: usize = 3;
/// Paths named in one drift finding before the rest are counted.
const FOLD: usize = 20;
/// Width of the widest `--stat` bar.
const STAT_WIDTH: usize = 40;

/// What the rendered trees were compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "path")]
pub enum Compared {
    /// The branches of the Git repository at this path.
    Branches(PathBuf),
    /// `<dir>/<branch>/`, as `render` writes them.
    Directory(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchDrift {
    pub branch: String,
    /// Whether the branch (or its directory) exists at all.
    pub exists: bool,
    pub changes: Vec<FileChange>,
}

/// The differences between rendered and current branches, branch by branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub compared: Compared,
    pub branches: Vec<BranchDrift>,
}

impl Drift {
    /// No branch would change.
    pub fn is_empty(&self) -> bool {
        self.branches.iter().all(|branch| branch.changes.is_empty())
    }

    /// Every changed file, branch by branch, in path order.
    pub fn changes(&self) -> impl Iterator<Item = &FileChange> {
        self.branches.iter().flat_map(|branch| &branch.changes)
    }

    /// Every changed file, branch by branch, with each branch's ownership list last: it
    /// changes along with every other file and is bookkeeping, not what a reviewer looks for.
    pub fn changes_for_review(&self) -> impl Iterator<Item = &FileChange> {
        self.branches.iter().flat_map(|branch| {
            let (owned_list, files): (Vec<&FileChange>, Vec<&FileChange>) = branch
                .changes
                .iter()
                .partition(|change| change.path == OWNED_LIST);
            files.into_iter().chain(owned_list)
        })
    }

    /// Where a file of a branch is, for messages: `dev:path` on a branch (as `git show` takes
    /// it), the file itself in a directory.
    pub fn location(&self, change: &FileChange) -> PathBuf {
        match &self.compared {
            Compared::Branches(_) => PathBuf::from(format!("{}:{}", change.branch, change.path)),
            Compared::Directory(dir) => dir.join(&change.branch).join(&change.path),
        }
    }

    /// The findings of `check`: one per branch that differs (missing, or N files differ, the
    /// paths listed once), and one per file a hand edit on the branch puts in the way.
    pub fn diagnostics(&self) -> Diagnostics {
        let (update, command) = match self.compared {
            Compared::Branches(_) => ("branch", "fleetgen commit"),
            Compared::Directory(_) => ("output", "fleetgen render"),
        };
        let mut diagnostics = Diagnostics::new();
        for branch in &self.branches {
            let name = match &self.compared {
                Compared::Branches(_) => format!("branch {}", branch.branch),
                Compared::Directory(dir) => {
                    format!("output {}", dir.join(&branch.branch).display())
                }
            };
            // The ownership list changes with every other file; on its own, it is drift.
            let mut drifted: Vec<&FileChange> = branch
                .changes
                .iter()
                .filter(|change| change.conflict.is_none() && change.path != OWNED_LIST)
                .collect();
            if drifted.is_empty() {
                drifted.extend(
                    branch
                        .changes
                        .iter()
                        .filter(|change| change.conflict.is_none()),
                );
            }
            if !drifted.is_empty() {
                let diagnostic = if branch.exists {
                    let mut counts = Counts::default();
                    for change in &drifted {
                        counts.count(change.kind);
                    }
                    let paths: Vec<&str> =
                        drifted.iter().map(|change| change.path.as_str()).collect();
                    Diagnostic::error(
                        "drift",
                        format!(
                            "{name}: {} file{} differ{} from the rendered fleet ({counts}): {}",
                            drifted.len(),
                            plural(drifted.len()),
                            if drifted.len() == 1 { "s" } else { "" },
                            fold(&paths, FOLD)
                        ),
                    )
                    .with_hint(format!(
                        "`fleetgen diff` shows the changes, `{command}` brings the {update} up to date"
                    ))
                } else {
                    Diagnostic::error(
                        "drift",
                        format!(
                            "{name} does not exist; fleetgen renders {} file{} for it",
                            drifted.len(),
                            plural(drifted.len())
                        ),
                    )
                    .with_hint(format!("`{command}` creates it"))
                };
                diagnostics.push(diagnostic);
            }
            for change in branch
                .changes
                .iter()
                .filter(|change| change.conflict.is_some())
            {
                let location = Location::file(self.location(change));
                let (rule, message) = match change.conflict {
                    Some(Conflict::HandWritten) => (
                        "hand-written-in-the-way",
                        format!(
                            "a hand-written file is where fleetgen renders {}",
                            change.path
                        ),
                    ),
                    _ => (
                        "edited-by-hand",
                        "generated file was edited by hand".to_owned(),
                    ),
                };
                diagnostics.push(Diagnostic::error(rule, message).at(location).with_hint(format!(
                    "move the change into the fleet source or a blueprint; `{command} --force` discards it"
                )));
            }
        }
        diagnostics
    }

    /// One summary per changed branch; `environment` names the environment of a branch.
    pub fn summaries(&self, environment: impl Fn(&str) -> Option<String>) -> Vec<BranchSummary> {
        self.branches
            .iter()
            .filter(|branch| !branch.changes.is_empty())
            .map(|branch| {
                BranchSummary::new(
                    &branch.branch,
                    environment(&branch.branch).as_deref(),
                    &branch.changes,
                )
            })
            .collect()
    }
}

/// `a, b, c and 7 more`, in the order given.
fn fold(items: &[&str], keep: usize) -> String {
    let mut text = items[..items.len().min(keep)].join(", ");
    if items.len() > keep {
        text.push_str(&format!(" and {} more", items.len() - keep));
    }
    text
}

/// Compares `branches` with the branches of `repo`, after finishing a commit a killed
/// fleetgen left half done: the branches compared are all old or all new.
pub fn against_repo(repo: &Repository, branches: &Branches) -> Result<Drift> {
    if git::interrupted(repo) {
        let committer = repo
            .signature()
            .or_else(|_| git2::Signature::now("fleetgen", "fleetgen@localhost"))?;
        git::recover(repo, &committer)?;
    }
    compare_repo(repo, branches, Contents::Kept)
}

fn compare_repo(repo: &Repository, branches: &Branches, contents: Contents) -> Result<Drift> {
    let mut drift = Drift {
        compared: Compared::Branches(repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf()),
        branches: Vec::new(),
    };
    let mut planned = Vec::new();
    for (branch, tree) in branches.iter() {
        planned.push((branch, git::base(repo, branch)?, tree));
    }
    let changes = git::plan_branches(repo, &planned, contents)?;
    for ((branch, head, _), changes) in planned.into_iter().zip(changes) {
        drift.branches.push(BranchDrift {
            branch: branch.to_owned(),
            exists: head.is_some(),
            changes,
        });
    }
    Ok(drift)
}

/// Compares `branches` with `<out>/<branch>/`, as `render` would write them.
pub fn against_dir(out: &Path, branches: &Branches) -> Result<Drift> {
    compare_dir(out, branches, Contents::Kept)
}

fn compare_dir(out: &Path, branches: &Branches, contents: Contents) -> Result<Drift> {
    let mut drift = Drift {
        compared: Compared::Directory(out.to_path_buf()),
        branches: Vec::new(),
    };
    // A branch folder is walked and compared on a thread of its own; the first failure in
    // branch order wins, as when they were compared one after another.
    let branches: Vec<(&str, &Tree)> = branches.iter().collect();
    let compared: Vec<Result<BranchDrift>> = branches
        .par_iter()
        .map(|(branch, tree)| {
            let root = out.join(branch);
            changes::check_paths(branch, tree).map_err(Error::Git)?;
            let changes = changes::plan_with(branch, tree, &DirBase::open(&root)?, contents)?;
            Ok(BranchDrift {
                branch: (*branch).to_owned(),
                exists: root.is_dir(),
                changes,
            })
        })
        .collect();
    drift.branches = compared.into_iter().collect::<Result<_>>()?;
    Ok(drift)
}

/// What a fleet's rendered branches are compared with.
pub enum Against {
    Repo(Repository),
    Directory(PathBuf),
}

impl Against {
    /// `out` if given, else the fleet repo, else (no repo configured or found) the fleet's
    /// output directory.
    pub fn of(fleet: &Fleet, out: Option<&Path>) -> Result<Against> {
        if let Some(out) = out {
            return Ok(Against::Directory(out.to_path_buf()));
        }
        Ok(match git::locate(fleet)? {
            Some(repo) => Against::Repo(repo),
            None => Against::Directory(crate::sinks::output::resolve(
                &fleet.root,
                &fleet.output,
                None,
            )?),
        })
    }

    /// The drift of `branches`, each change's contents kept for patches.
    pub fn compare(&self, branches: &Branches) -> Result<Drift> {
        match self {
            Against::Repo(repo) => against_repo(repo, branches),
            Against::Directory(out) => against_dir(out, branches),
        }
    }

    /// The drift of `branches` without the changes' contents, writing nothing: what `check`
    /// reports, worked out while validation runs. `None` where a killed commit's journal must
    /// be finished first, which [`Against::compare`] does.
    pub fn findings(&self, branches: &Branches) -> Option<Result<Drift>> {
        match self {
            Against::Repo(repo) if git::interrupted(repo) => None,
            Against::Repo(repo) => Some(compare_repo(repo, branches, Contents::Omitted)),
            Against::Directory(out) => Some(compare_dir(out, branches, Contents::Omitted)),
        }
    }
}

/// Compares with `out` if given, else with the fleet repo, else (no repo configured or found)
/// with the fleet's output directory.
pub fn against_fleet(fleet: &Fleet, branches: &Branches, out: Option<&Path>) -> Result<Drift> {
    Against::of(fleet, out)?.compare(branches)
}

/// Terminal styles for diffs; all plain when colour is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Palette {
    header: Style,
    hunk: Style,
    removed: Style,
    added: Style,
    warning: Style,
}

impl Palette {
    pub fn new(color: bool) -> Self {
        if !color {
            return Self::default();
        }
        Palette {
            header: Style::new().bold(),
            hunk: AnsiColor::Cyan.on_default(),
            removed: AnsiColor::Red.on_default(),
            added: AnsiColor::Green.on_default(),
            warning: AnsiColor::Yellow.on_default().bold(),
        }
    }
}

/// Writes `text` in `style`, keeping the line end outside the escape codes so pagers that cut
/// lines do not carry colour over.
fn styled(out: &mut dyn Write, style: Style, text: &str) -> io::Result<()> {
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    write!(out, "{}{body}{}{end}", style.render(), style.render_reset())
}

/// The changes as a unified diff, paths as `a/<branch>/<path>` (so `git apply -p1` applies it
/// in a render output directory).
pub fn write_patch(drift: &Drift, out: &mut dyn Write, palette: Palette) -> io::Result<()> {
    for change in drift.changes_for_review() {
        // A file committed by hand may be named anything Git allows.
        let name = format!("{}/{}", change.branch, change.path);
        let name = printable::line(&name);
        styled(
            out,
            palette.header,
            &format!("diff --git a/{name} b/{name}\n"),
        )?;
        match change.kind {
            ChangeKind::Added => styled(out, palette.header, "new file mode 100644\n")?,
            ChangeKind::Deleted => styled(out, palette.header, "deleted file mode 100644\n")?,
            ChangeKind::Modified => {}
        }
        let old_name = if change.old.is_some() {
            format!("a/{name}")
        } else {
            "/dev/null".to_owned()
        };
        let new_name = if change.new.is_some() {
            format!("b/{name}")
        } else {
            "/dev/null".to_owned()
        };
        let old = std::str::from_utf8(change.old.as_deref().unwrap_or_default());
        let new = std::str::from_utf8(change.new.as_deref().unwrap_or_default());
        let (Ok(old), Ok(new)) = (old, new) else {
            writeln!(out, "Binary files {old_name} and {new_name} differ")?;
            continue;
        };
        styled(out, palette.header, &format!("--- {old_name}\n"))?;
        styled(out, palette.header, &format!("+++ {new_name}\n"))?;
        let diff = TextDiff::from_lines(old, new);
        for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
            styled(out, palette.hunk, &format!("{}\n", hunk.header()))?;
            for line in hunk.iter_changes() {
                let style = match line.tag() {
                    ChangeTag::Delete => palette.removed,
                    ChangeTag::Insert => palette.added,
                    ChangeTag::Equal => Style::new(),
                };
                let mut text = printable::content(line.value()).into_owned();
                // A line ended by a lone `\r` shows it escaped and still ends there.
                if !text.ends_with('\n') && !line.missing_newline() {
                    text.push('\n');
                }
                styled(out, style, &format!("{}{text}", line.tag()))?;
                if line.missing_newline() {
                    writeln!(out, "\n\\ No newline at end of file")?;
                }
            }
        }
    }
    Ok(())
}

/// Lines added and removed in one change.
fn line_counts(change: &FileChange) -> Option<(usize, usize)> {
    let old = std::str::from_utf8(change.old.as_deref().unwrap_or_default()).ok()?;
    let new = std::str::from_utf8(change.new.as_deref().unwrap_or_default()).ok()?;
    let diff = TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for line in diff.iter_all_changes() {
        match line.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    Some((added, removed))
}

/// `git diff --stat`: one line per file with a bar of `+` and `-`, then the totals.
pub fn write_stat(drift: &Drift, out: &mut dyn Write, palette: Palette) -> io::Result<()> {
    // Per file: its name, its added and removed lines (`None` when binary), the change.
    type Row<'a> = (String, Option<(usize, usize)>, &'a FileChange);
    let rows: Vec<Row<'_>> = drift
        .changes_for_review()
        .map(|change| {
            (
                printable::line(&format!("{}/{}", change.branch, change.path)).into_owned(),
                line_counts(change),
                change,
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let name_width = rows
        .iter()
        .map(|(name, ..)| name.chars().count())
        .max()
        .unwrap_or(0);
    let largest = rows
        .iter()
        .filter_map(|(_, counts, _)| counts.map(|(a, r)| a + r))
        .max()
        .unwrap_or(0);
    let number_width = largest.to_string().len();
    let (mut insertions, mut deletions) = (0, 0);
    for (name, counts, change) in &rows {
        write!(out, " {name:name_width$} | ")?;
        match counts {
            Some((added, removed)) => {
                insertions += added;
                deletions += removed;
                let total = added + removed;
                // Scale to the widest bar, but never hide a change entirely.
                let scale = |count: usize| match largest {
                    0 => 0,
                    _ if largest <= STAT_WIDTH => count,
                    _ => (count * STAT_WIDTH).div_ceil(largest),
                };
                write!(out, "{total:>number_width$}")?;
                if total > 0 {
                    write!(out, " ")?;
                    styled(out, palette.added, &"+".repeat(scale(*added)))?;
                    styled(out, palette.removed, &"-".repeat(scale(*removed)))?;
                }
            }
            None => write!(out, "Bin")?,
        }
        if let Some(conflict) = change.conflict {
            write!(
                out,
                " {}({conflict}){}",
                palette.warning.render(),
                palette.warning.render_reset()
            )?;
        }
        writeln!(out)?;
    }
    let files = rows.len();
    writeln!(
        out,
        " {files} file{} changed, {insertions} insertion{}(+), {deletions} deletion{}(-)",
        plural(files),
        plural(insertions),
        plural(deletions)
    )
}

/// What changed, per branch and cluster, or that nothing did.
pub fn write_summary(
    drift: &Drift,
    summaries: &[BranchSummary],
    out: &mut dyn Write,
) -> io::Result<()> {
    if summaries.is_empty() {
        let compared = match &drift.compared {
            Compared::Branches(_) => "the fleet repo's branches match",
            Compared::Directory(_) => "the output directory matches",
        };
        return writeln!(out, "no changes: {compared} the fleet source");
    }
    let mut total = Counts::default();
    for change in drift.changes() {
        total.count(change.kind);
    }
    for summary in summaries {
        writeln!(out, "{summary}")?;
    }
    let conflicts = drift
        .changes()
        .filter(|change| change.conflict.is_some())
        .count();
    if conflicts > 0 {
        writeln!(
            out,
            "{conflicts} file{} on the branches {} changed by hand; commit refuses to overwrite {} without --force",
            plural(conflicts),
            if conflicts == 1 { "was" } else { "were" },
            if conflicts == 1 { "it" } else { "them" },
        )?;
    }
    Ok(())
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
            trees: [("dev".to_owned(), tree)].into_iter().collect(),
        }
    }

    fn patch(drift: &Drift) -> String {
        let mut out = Vec::new();
        write_patch(drift, &mut out, Palette::new(false)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_directory_written_by_render_shows_no_drift_until_changed() {
        let out = tempfile::tempdir().unwrap();
        let rendered = branches(&[("a/x.yaml", "one\ntwo\n"), ("b.yaml", "b\n")]);
        crate::sinks::write::write(out.path(), &rendered, Default::default()).unwrap();
        fs::write(out.path().join("dev/notes.md"), "mine").unwrap();
        assert!(against_dir(out.path(), &rendered).unwrap().is_empty());

        let changed = branches(&[("a/x.yaml", "one\n2\n"), ("c.yaml", "c")]);
        let drift = against_dir(out.path(), &changed).unwrap();
        let kinds: Vec<(&str, ChangeKind)> = drift
            .changes()
            .filter(|c| !c.path.starts_with('.'))
            .map(|c| (c.path.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a/x.yaml", ChangeKind::Modified),
                ("b.yaml", ChangeKind::Deleted),
                ("c.yaml", ChangeKind::Added)
            ]
        );

        // One finding for the branch; the ownership list changes along with the files and
        // is not named.
        let diagnostics = drift.diagnostics();
        assert_eq!(diagnostics.len(), 1);
        let finding = diagnostics.iter().next().unwrap();
        assert_eq!(finding.rule, "drift");
        assert!(
            finding
                .message
                .ends_with(": 3 files differ from the rendered fleet (1 added, 1 modified, 1 deleted): a/x.yaml, b.yaml, c.yaml"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn branch_folders_compared_at_once_report_in_branch_order() {
        let tree = |files: &[&str]| {
            let mut tree = Tree::new();
            for path in files {
                tree.insert(*path, "x\n");
            }
            tree.seal();
            tree
        };
        let out = tempfile::tempdir().unwrap();
        let names = ["e1", "e2", "e3", "e4"];
        let rendered = Branches {
            trees: names
                .iter()
                .map(|name| ((*name).to_owned(), tree(&[&format!("{name}.yaml")])))
                .collect(),
        };
        crate::sinks::write::write(out.path(), &rendered, Default::default()).unwrap();
        let changed = Branches {
            trees: names
                .iter()
                .map(|name| ((*name).to_owned(), tree(&["new.yaml"])))
                .collect(),
        };
        let drift = against_dir(out.path(), &changed).unwrap();
        let order: Vec<&str> = drift.branches.iter().map(|b| b.branch.as_str()).collect();
        assert_eq!(order, names);
        for (branch, name) in drift.branches.iter().zip(names) {
            let paths: Vec<&str> = branch
                .changes
                .iter()
                .filter(|c| !c.path.starts_with('.'))
                .map(|c| c.path.as_str())
                .collect();
            assert_eq!(paths, [&format!("{name}.yaml"), "new.yaml"]);
        }

        // Two branches a tree cannot be written for: the first of them is named.
        let mut broken = changed;
        for name in ["e4", "e2"] {
            broken.trees.insert(name.to_owned(), tree(&["a", "a/b"]));
        }
        let error = against_dir(out.path(), &broken).unwrap_err().to_string();
        assert!(
            error.contains("branch e2: `a` is both a file and a directory"),
            "{error}"
        );
    }

    /// What the output folder holds may be anything: a link to a file outside, a link where
    /// a folder goes. Neither compare reads through them (only the link is reported, as a
    /// hand-written file in the way), and a tree naming a path outside its branch, or an
    /// absolute one, is refused before any folder is read.
    #[test]
    fn compares_never_read_through_links_nor_leave_the_branch() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "secret\n---\nkind: Secret\n").unwrap();
        let out = tempfile::tempdir().unwrap();
        let rendered = branches(&[("a.yaml", "a\n"), ("d/b.yaml", "b\n")]);
        crate::sinks::write::write(out.path(), &rendered, Default::default()).unwrap();
        fs::remove_file(out.path().join("dev/a.yaml")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), out.path().join("dev/a.yaml"))
            .unwrap();
        fs::remove_dir_all(out.path().join("dev/d")).unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("dev/d")).unwrap();
        let against = Against::Directory(out.path().to_path_buf());
        let full = against.compare(&rendered).unwrap();
        let early = against.findings(&rendered).unwrap().unwrap();
        for drift in [&full, &early] {
            let changes: Vec<(&str, Option<Conflict>)> = drift
                .changes()
                .filter(|c| !c.path.starts_with('.'))
                .map(|c| (c.path.as_str(), c.conflict))
                .collect();
            assert_eq!(
                changes,
                [
                    ("a.yaml", Some(Conflict::HandWritten)),
                    ("d/b.yaml", Some(Conflict::HandWritten))
                ]
            );
            assert!(
                drift
                    .changes()
                    .all(|c| c.old.as_deref() != Some(&b"secret\n---\nkind: Secret\n"[..]))
            );
        }

        for hostile in ["../escape.yaml", "/etc/passwd"] {
            let mut tree = Tree::new();
            tree.insert(hostile, "x\n");
            let escaping = Branches {
                trees: [("dev".to_owned(), tree)].into_iter().collect(),
            };
            let error = against.compare(&escaping).unwrap_err().to_string();
            assert!(error.contains("branch dev"), "{hostile}: {error}");
            let error = against
                .findings(&escaping)
                .unwrap()
                .unwrap_err()
                .to_string();
            assert!(error.contains("branch dev"), "{hostile}: {error}");
        }
    }

    #[test]
    fn hand_edits_in_a_directory_are_reported_not_refused() {
        let out = tempfile::tempdir().unwrap();
        let rendered = branches(&[("a.yaml", "a\n")]);
        crate::sinks::write::write(out.path(), &rendered, Default::default()).unwrap();
        fs::write(out.path().join("dev/a.yaml"), "edited\n").unwrap();
        let drift = against_dir(out.path(), &rendered).unwrap();
        let change = drift.changes().next().unwrap();
        assert_eq!(
            (change.kind, change.conflict),
            (ChangeKind::Modified, Some(Conflict::EditedByHand))
        );
        assert_eq!(
            drift.diagnostics().iter().next().unwrap().rule,
            "edited-by-hand"
        );
    }

    #[test]
    fn patches_mark_added_modified_and_deleted_files() {
        let drift = Drift {
            compared: Compared::Directory(PathBuf::from("out")),
            branches: vec![BranchDrift {
                branch: "dev".to_owned(),
                exists: true,
                changes: vec![
                    FileChange {
                        branch: "dev".to_owned(),
                        path: "a.yaml".to_owned(),
                        kind: ChangeKind::Modified,
                        conflict: None,
                        old: Some(b"one\ntwo\n".to_vec()),
                        new: Some(b"one\n2".to_vec()),
                    },
                    FileChange {
                        branch: "dev".to_owned(),
                        path: "b.yaml".to_owned(),
                        kind: ChangeKind::Added,
                        conflict: None,
                        old: None,
                        new: Some(b"b\n".to_vec()),
                    },
                    FileChange {
                        branch: "dev".to_owned(),
                        path: "c.yaml".to_owned(),
                        kind: ChangeKind::Deleted,
                        conflict: Some(Conflict::EditedByHand),
                        old: Some(b"c\n".to_vec()),
                        new: None,
                    },
                ],
            }],
        };
        insta::assert_snapshot!(patch(&drift), @r"
        diff --git a/dev/a.yaml b/dev/a.yaml
        --- a/dev/a.yaml
        +++ b/dev/a.yaml
        @@ -1,2 +1,2 @@
         one
        -two
        +2
        \ No newline at end of file
        diff --git a/dev/b.yaml b/dev/b.yaml
        new file mode 100644
        --- /dev/null
        +++ b/dev/b.yaml
        @@ -0,0 +1 @@
        +b
        diff --git a/dev/c.yaml b/dev/c.yaml
        deleted file mode 100644
        --- a/dev/c.yaml
        +++ /dev/null
        @@ -1 +0,0 @@
        -c
        ");
        let mut stat = Vec::new();
        write_stat(&drift, &mut stat, Palette::new(false)).unwrap();
        insta::assert_snapshot!(String::from_utf8(stat).unwrap(), @r"
         dev/a.yaml | 2 +-
         dev/b.yaml | 1 +
         dev/c.yaml | 1 - (generated file edited by hand)
         3 files changed, 2 insertions(+), 2 deletions(-)
        ");
    }

    #[test]
    fn colour_wraps_lines_without_their_newline() {
        let mut out = Vec::new();
        styled(&mut out, Palette::new(true).added, "+x\n").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("\u{1b}[") && text.ends_with("\u{1b}[0m\n"),
            "{text:?}"
        );
    }
}
