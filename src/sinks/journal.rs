//! Moving several branch refs so that a kill leaves all of them old or all of them new, as
//! the next fleetgen run sees them.
//!
//! libgit2's transaction locks every ref first, but commits them one rename at a time: a kill
//! in between leaves some refs new, some old, and the `.lock` files of the rest. So before
//! the first ref moves, the intended update (every ref's old and new value, and the process
//! making it) is written to a journal in the repository's common git directory, complete and
//! synced before it appears under its name. The journal is removed once every ref moved and
//! every checkout of a moved branch was updated. A run that finds a journal left by a process
//! that no longer exists finishes that update first: forward when every new commit is in the
//! object database and every ref still holds its old or new value, back otherwise. Lock
//! files of the journal's refs are removed only when the journal's process is gone and the
//! lock holds nothing or the value that process was writing; a lock of a live git is never
//! touched.
//!
//! The journal is also what keeps two fleetgen runs from updating one repository at once: it
//! is created with a hard link, which fails when it exists.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature};

use crate::error::{Error, Result};
use crate::sinks::checkout;

const HEADER: &str = "fleetgen ref journal 1";

/// One ref of an update: what it held and what it is to hold (`None`: no such ref).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub refname: String,
    pub old: Option<Oid>,
    pub new: Oid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Journal {
    pid: u32,
    updates: Vec<RefUpdate>,
}

/// Where the journal of `repo` lives: beside its refs, shared by all its worktrees.
pub fn path(repo: &Repository) -> PathBuf {
    repo.commondir().join("fleetgen-refs.journal")
}

fn lock_path(repo: &Repository, refname: &str) -> PathBuf {
    repo.commondir().join(format!("{refname}.lock"))
}

impl Journal {
    fn to_text(&self) -> String {
        let mut text = format!("{HEADER}\npid {}\n", self.pid);
        for update in &self.updates {
            let old = update.old.unwrap_or(Oid::ZERO_SHA1);
            text.push_str(&format!("{} {} {}\n", old, update.new, update.refname));
        }
        text.push_str("end\n");
        text
    }

    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let pid = lines.next()?.strip_prefix("pid ")?.parse().ok()?;
        let mut updates = Vec::new();
        for line in lines.by_ref() {
            if line == "end" {
                return lines.next().is_none().then_some(Journal { pid, updates });
            }
            let mut fields = line.splitn(3, ' ');
            let old = Oid::from_str(fields.next()?).ok()?;
            let new = Oid::from_str(fields.next()?).ok()?;
            let refname = fields.next()?;
            if !refname.starts_with("refs/heads/") || !git2::Reference::is_valid_name(refname) {
                return None;
            }
            updates.push(RefUpdate {
                refname: refname.to_owned(),
                old: (!old.is_zero()).then_some(old),
                new,
            });
        }
        None
    }
}

/// Creates the journal, or fails when one exists (another run is updating, or one was
/// killed and [`recover`] has not run).
fn create(repo: &Repository, updates: &[RefUpdate]) -> Result<()> {
    let journal = path(repo);
    let text = Journal {
        pid: std::process::id(),
        updates: updates.to_vec(),
    }
    .to_text();
    let dir = repo.commondir();
    let mut staged = tempfile::Builder::new()
        .prefix("fleetgen-refs.journal.")
        .tempfile_in(dir)
        .map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    let write_error = |source| Error::Write {
        path: journal.clone(),
        source,
    };
    staged.write_all(text.as_bytes()).map_err(write_error)?;
    staged.as_file().sync_all().map_err(write_error)?;
    match fs::hard_link(staged.path(), &journal) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(busy(repo)?);
        }
        Err(source) => return Err(write_error(source)),
    }
    sync_dir(dir);
    Ok(())
}

/// The error for a journal that belongs to a live process.
fn busy(repo: &Repository) -> Result<Error> {
    let journal = path(repo);
    let pid = fs::read_to_string(&journal)
        .ok()
        .and_then(|text| Journal::parse(&text))
        .map(|journal| journal.pid.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Error::Git(format!(
        "another fleetgen (pid {pid}) is updating the branches of this repository\n  hint: wait for it; if no \
         fleetgen is running, the next run finishes its update (or remove {})",
        journal.display()
    )))
}

fn remove(repo: &Repository) -> Result<()> {
    let journal = path(repo);
    match fs::remove_file(&journal) {
        Ok(()) => {
            sync_dir(repo.commondir());
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Write {
            path: journal,
            source,
        }),
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: not every platform can sync a directory.
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Whether process `pid` exists. Unknown counts as alive: a lock must never be taken from a
/// process that may still hold it.
pub(super) fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // Signal 0 checks for existence; EPERM means it exists under another user.
        // SAFETY: kill with signal 0 sends nothing and has no memory effects.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// No interrupted update.
    Nothing,
    /// An interrupted update was finished: every ref now holds its new value.
    Forward(Vec<RefUpdate>),
    /// An interrupted update was undone: every ref holds its old value again.
    Back(Vec<RefUpdate>),
}

/// Finishes an update a killed fleetgen left behind, if any. Fails, touching nothing, when
/// the journal belongs to a running process or a ref is locked by someone else.
pub fn recover(repo: &Repository, committer: &Signature<'_>) -> Result<Recovered> {
    let journal_path = path(repo);
    let text = match fs::read_to_string(&journal_path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Recovered::Nothing),
        Err(source) => {
            return Err(Error::Read {
                path: journal_path,
                source,
            });
        }
    };
    let Some(journal) = Journal::parse(&text) else {
        return Err(Error::Git(format!(
            "{} is not a journal fleetgen can read; fleetgen will not move any branch until it is \
             examined and removed",
            journal_path.display()
        )));
    };
    if alive(journal.pid) {
        return Err(busy(repo)?);
    }
    for update in &journal.updates {
        let lock = lock_path(repo, &update.refname);
        let Ok(content) = fs::read(&lock) else {
            continue;
        };
        let ours = content.is_empty()
            || String::from_utf8_lossy(&content).trim() == update.new.to_string();
        if !ours {
            return Err(stale_lock(&lock, &update.refname));
        }
        fs::remove_file(&lock).map_err(|source| Error::Write {
            path: lock.clone(),
            source,
        })?;
    }

    let objects_present = journal.updates.iter().all(|update| {
        repo.find_commit(update.new)
            .and_then(|commit| commit.tree())
            .is_ok()
    });
    let mut current = Vec::new();
    for update in &journal.updates {
        current.push(crate::sinks::git::head(repo, &update.refname)?);
    }
    let consistent = journal
        .updates
        .iter()
        .zip(&current)
        .all(|(update, found)| *found == update.old || *found == Some(update.new));
    let forward = objects_present && consistent;

    let mut transaction = repo.transaction()?;
    for update in &journal.updates {
        transaction
            .lock_ref(&update.refname)
            .map_err(|_| stale_lock(&lock_path(repo, &update.refname), &update.refname))?;
    }
    for (update, found) in journal.updates.iter().zip(&current) {
        if forward && *found == update.old {
            transaction.set_target(
                &update.refname,
                update.new,
                Some(committer),
                "fleetgen commit: finished after an interruption",
            )?;
        } else if !forward && *found == Some(update.new) {
            match update.old {
                Some(old) => transaction.set_target(
                    &update.refname,
                    old,
                    Some(committer),
                    "fleetgen commit: undone after an interruption",
                )?,
                None => transaction.remove(&update.refname)?,
            }
        }
    }
    transaction.commit()?;
    if forward {
        finish_checkouts(repo, &journal.updates)?;
    }
    remove(repo)?;
    Ok(if forward {
        Recovered::Forward(journal.updates)
    } else {
        Recovered::Back(journal.updates)
    })
}

fn stale_lock(lock: &Path, refname: &str) -> Error {
    Error::Git(format!(
        "{refname} is locked: {} exists\n  hint: another git command is updating it, or one was killed; if no git \
         command is running in this repository, remove the file",
        lock.display()
    ))
}

/// Brings the checkouts of the moved branches to the new commits; paths changed there since
/// are left alone and reported.
fn finish_checkouts(repo: &Repository, updates: &[RefUpdate]) -> Result<()> {
    for update in updates {
        for checkout in checkout::of_branch(repo, &update.refname)? {
            let skipped = checkout.update(update.old, update.new)?;
            if !skipped.is_empty() {
                let warning = format!(
                    "warning: {} changed in {} while fleetgen was committing; left as they are: {}",
                    update.refname,
                    checkout.workdir.display(),
                    skipped.join(", ")
                );
                eprintln!("{}", crate::printable::line(&warning));
            }
        }
    }
    Ok(())
}

/// Moves every ref of `updates` from its old to its new value, all or none as the next run
/// sees it, then updates the checkouts of the moved branches. `check` runs with every ref
/// locked, before any moves; it is where a compare-and-swap refuses.
pub fn apply(
    repo: &Repository,
    updates: &[RefUpdate],
    committer: &Signature<'_>,
    message: impl Fn(&RefUpdate) -> String,
) -> Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    create(repo, updates)?;
    let moved = (|| -> Result<()> {
        let mut transaction = repo.transaction()?;
        for update in updates {
            transaction
                .lock_ref(&update.refname)
                .map_err(|_| stale_lock(&lock_path(repo, &update.refname), &update.refname))?;
        }
        for update in updates {
            let found = crate::sinks::git::head(repo, &update.refname)?;
            if found != update.old {
                return Err(Error::BranchMoved {
                    branch: update
                        .refname
                        .strip_prefix("refs/heads/")
                        .unwrap_or(&update.refname)
                        .to_owned(),
                    expected: update.old,
                    found,
                });
            }
        }
        for update in updates {
            transaction.set_target(
                &update.refname,
                update.new,
                Some(committer),
                &message(update),
            )?;
        }
        crate::crash::point("refs");
        transaction.commit()?;
        Ok(())
    })();
    if let Err(error) = moved {
        // Some refs may have moved before the failure: put them back, then forget the update.
        undo(repo, updates, committer)?;
        remove(repo)?;
        return Err(error);
    }
    crate::crash::point("checkouts");
    finish_checkouts(repo, updates)?;
    remove(repo)
}

/// Puts back the refs of `updates` that already hold their new value.
fn undo(repo: &Repository, updates: &[RefUpdate], committer: &Signature<'_>) -> Result<()> {
    let mut transaction = repo.transaction()?;
    let mut any = false;
    for update in updates {
        if crate::sinks::git::head(repo, &update.refname)? != Some(update.new) {
            continue;
        }
        transaction.lock_ref(&update.refname)?;
        any = true;
        match update.old {
            Some(old) => transaction.set_target(
                &update.refname,
                old,
                Some(committer),
                "fleetgen commit: undone after a failure",
            )?,
            None => transaction.remove(&update.refname)?,
        }
    }
    if any {
        transaction.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journals_round_trip_and_torn_ones_are_refused() {
        let journal = Journal {
            pid: 42,
            updates: vec![
                RefUpdate {
                    refname: "refs/heads/main".to_owned(),
                    old: None,
                    new: Oid::from_str("1111111111111111111111111111111111111111").unwrap(),
                },
                RefUpdate {
                    refname: "refs/heads/dev".to_owned(),
                    old: Some(Oid::from_str("2222222222222222222222222222222222222222").unwrap()),
                    new: Oid::from_str("3333333333333333333333333333333333333333").unwrap(),
                },
            ],
        };
        let text = journal.to_text();
        assert_eq!(Journal::parse(&text), Some(journal));
        let torn = &text[..text.len() - 4];
        assert_eq!(Journal::parse(torn), None);
        assert_eq!(
            Journal::parse(&text.replace("refs/heads/dev", "../../etc")),
            None
        );
    }
}
