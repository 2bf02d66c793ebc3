//! Checkouts of a branch that `commit` moves: updated with it, the way git's
//! `receive.denyCurrentBranch=updateInstead` updates a pushed-to checkout.
//!
//! A branch checked out in a working tree whose index and files were left at the previous
//! commit is a trap: `git status` lists every new rendered file as deleted, and the next
//! `git commit -a` there records the deletion. So before any ref moves, every checkout of a
//! branch about to move is checked for the paths the new commit changes: index and file must
//! hold the previous commit's content (or already the new one). If any does not, nothing moves
//! and the dirty paths are named. After the refs moved, exactly those paths are rewritten and
//! restaged; other uncommitted work in the checkout stays as it was.
//!
//! Each path is classified against both commits, so finishing an update that was interrupted
//! (see `journal`) is the same operation as making it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::{Delta, ObjectType, Oid, Repository};

use crate::error::{Error, Result};

const LINK_MODE: u32 = 0o120_000;
const EXECUTABLE_MODE: u32 = 0o100_755;
const COMMIT_MODE: u32 = 0o160_000;
/// The bits of an index entry's flags that hold its merge stage.
const STAGE_MASK: u16 = 0x3000;

/// One working tree with the branch checked out.
pub struct Checkout {
    pub workdir: PathBuf,
    repo: Repository,
}

/// The working trees (the main one and linked ones) whose HEAD is `refname`.
pub fn of_branch(repo: &Repository, refname: &str) -> Result<Vec<Checkout>> {
    let mut found: Vec<Checkout> = Vec::new();
    let mut consider = |candidate: Repository| -> Result<()> {
        let Some(workdir) = candidate.workdir().map(Path::to_path_buf) else {
            return Ok(());
        };
        let checked_out = candidate.find_reference("HEAD")?.symbolic_target()? == Some(refname);
        if checked_out && !found.iter().any(|checkout| checkout.workdir == workdir) {
            found.push(Checkout {
                workdir,
                repo: candidate,
            });
        }
        Ok(())
    };
    // Opened from a linked worktree, `repo` sees only that worktree's HEAD: start again from
    // the common directory, which is the main working tree's repository.
    let main = Repository::open(repo.commondir())?;
    for name in main.worktrees()?.iter().flatten().flatten() {
        let worktree = main.find_worktree(name)?;
        if worktree.validate().is_ok() {
            consider(Repository::open_from_worktree(&worktree)?)?;
        }
    }
    consider(main)?;
    Ok(found)
}

/// What one side of a change holds at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Side {
    id: Oid,
    mode: u32,
}

/// A path the move from one commit to the other changes.
struct Step {
    path: String,
    old: Option<Side>,
    new: Option<Side>,
}

/// Whether a path of the checkout is at the old commit, the new one, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Old,
    New,
    Dirty,
}

fn side(file: git2::DiffFile<'_>) -> Option<Side> {
    file.exists().then(|| Side {
        id: file.id(),
        mode: u32::from(file.mode()),
    })
}

/// The paths that differ between commit `old` (none: an unborn branch) and commit `new`.
fn steps(repo: &Repository, old: Option<Oid>, new: Oid) -> Result<Vec<Step>> {
    let old_tree = match old {
        Some(oid) => Some(repo.find_commit(oid)?.tree()?),
        None => None,
    };
    let new_tree = repo.find_commit(new)?.tree()?;
    let diff = repo.diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), None)?;
    let mut steps = Vec::new();
    for delta in diff.deltas() {
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .and_then(Path::to_str)
            .ok_or_else(|| Error::Git("a path in the fleet repo is not UTF-8".to_owned()))?
            .to_owned();
        let (old, new) = match delta.status() {
            Delta::Added => (None, side(delta.new_file())),
            Delta::Deleted => (side(delta.old_file()), None),
            _ => (side(delta.old_file()), side(delta.new_file())),
        };
        steps.push(Step { path, old, new });
    }
    Ok(steps)
}

impl Checkout {
    /// The paths of this checkout that hold neither `old`'s nor `new`'s content (staged or in
    /// the file), or that are in the way of a directory `new` needs.
    pub fn dirty_paths(&self, old: Option<Oid>, new: Oid) -> Result<Vec<String>> {
        let index = self.index()?;
        if index.has_conflicts() {
            return Ok(vec!["(the index has unmerged paths)".to_owned()]);
        }
        let mut dirty = Vec::new();
        for step in steps(&self.repo, old, new)? {
            if self.state(&index, &step)? == State::Dirty {
                dirty.push(step.path);
            }
        }
        Ok(dirty)
    }

    /// Brings the paths that differ between `old` and `new` to `new`, in the index and in the
    /// files, where they still hold `old`; returns the paths left alone because they hold
    /// neither (changed since [`Checkout::dirty_paths`] looked).
    pub fn update(&self, old: Option<Oid>, new: Oid) -> Result<Vec<String>> {
        // Taken before the read: if the index changes in between, more entries count as racy.
        let read_at = fs::metadata(self.repo.path().join("index"))
            .and_then(|metadata| metadata.modified())
            .ok();
        let mut index = self.index()?;
        let mut skipped = Vec::new();
        let mut todo = Vec::new();
        for step in steps(&self.repo, old, new)? {
            match self.state(&index, &step)? {
                State::Dirty => skipped.push(step.path),
                State::Old | State::New => todo.push(step),
            }
        }
        // Removals first: a file may be replaced by a directory of the same name.
        todo.sort_by_key(|step| step.new.is_some());
        for step in &todo {
            let file = self.workdir.join(&step.path);
            match step.new {
                None => {
                    remove(&file)?;
                    self.prune_empty_parents(&file);
                    if index.get_path(Path::new(&step.path), 0).is_some() {
                        index.remove_path(Path::new(&step.path))?;
                    }
                }
                Some(new) => {
                    self.write(&step.path, new)?;
                    index.add_path(Path::new(&step.path))?;
                }
            }
        }
        if let Some(read_at) = read_at {
            let written: Vec<&str> = todo.iter().map(|step| step.path.as_str()).collect();
            smudge_racy_entries(&mut index, read_at, &written)?;
        }
        // libgit2 would only say the lock exists; a killed fleetgen or git may have left it.
        self.clear_own_stale_lock();
        let lock = self.repo.path().join("index.lock");
        if lock.exists() {
            return Err(Error::Git(format!(
                "the index of {} is locked: {} exists\n  hint: a git command is using it, or one \
                 was killed; if no git command is running there, remove the file and run fleetgen \
                 again to finish updating the checkout",
                self.workdir.display(),
                lock.display()
            )));
        }
        self.write_index(&mut index)?;
        Ok(skipped)
    }

    /// Writes the index, naming this process as its writer meanwhile: libgit2 takes the
    /// index's lock, writes the new index beside it and renames it into place, and a kill in
    /// between leaves the lock, which git and fleetgen then refuse to touch. A lock this
    /// process left can be told apart by the next run (see `clear_own_stale_lock`).
    fn write_index(&self, index: &mut git2::Index) -> Result<()> {
        let owner = self.repo.path().join(INDEX_OWNER);
        fs::write(&owner, std::process::id().to_string()).map_err(|source| Error::Write {
            path: owner.clone(),
            source,
        })?;
        crate::crash::point("index-write");
        let written = index.write();
        let _ = fs::remove_file(&owner);
        Ok(written?)
    }

    /// Removes the index lock a killed fleetgen left while writing the index: one taken just
    /// after its owner file was written (libgit2 takes it at once), by a process that is gone.
    /// Any other lock is left alone, a git command's taken later included, and an owner file
    /// whose process is gone is removed with or without a lock.
    fn clear_own_stale_lock(&self) {
        let git = self.repo.path();
        let owner = git.join(INDEX_OWNER);
        let Ok(text) = fs::read_to_string(&owner) else {
            return;
        };
        if text
            .trim()
            .parse::<u32>()
            .is_ok_and(crate::sinks::journal::alive)
        {
            return;
        }
        let lock = git.join("index.lock");
        let modified = |path: &Path| fs::metadata(path).and_then(|metadata| metadata.modified());
        if let (Ok(owned), Ok(locked)) = (modified(&owner), modified(&lock))
            && locked
                .duration_since(owned)
                .is_ok_and(|after| after <= OWN_LOCK_WITHIN)
        {
            let _ = fs::remove_file(&lock);
        }
        let _ = fs::remove_file(&owner);
    }

    fn index(&self) -> Result<git2::Index> {
        let mut index = self.repo.index()?;
        index.read(true)?;
        Ok(index)
    }

    fn state(&self, index: &git2::Index, step: &Step) -> Result<State> {
        let staged = index.get_path(Path::new(&step.path), 0).map(|entry| Side {
            id: entry.id,
            mode: entry.mode,
        });
        let on_disk = self.on_disk(&step.path)?;
        let classify = |found: Option<Side>| {
            if found == step.old {
                State::Old
            } else if found == step.new {
                State::New
            } else {
                State::Dirty
            }
        };
        // A submodule is never fleetgen's to rewrite.
        let gitlink = [step.old, step.new]
            .iter()
            .flatten()
            .any(|side| side.mode == COMMIT_MODE);
        Ok(match (classify(staged), classify(on_disk)) {
            _ if gitlink => State::Dirty,
            (State::Dirty, _) | (_, State::Dirty) => State::Dirty,
            (State::New, State::New) => State::New,
            _ => State::Old,
        })
    }

    /// What the working tree holds at `path`, as git would stage it; a directory or a
    /// non-directory in the way of a parent counts as "something else" (a zero id).
    fn on_disk(&self, path: &str) -> Result<Option<Side>> {
        let file = self.workdir.join(path);
        let other = Some(Side {
            id: Oid::ZERO_SHA1,
            mode: 0,
        });
        let metadata = match fs::symlink_metadata(&file) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(self.parent_in_the_way(path).then_some(other).flatten());
            }
            // ENOTDIR: a parent is a file.
            Err(_) => return Ok(other),
        };
        if metadata.file_type().is_symlink() {
            let target = fs::read_link(&file).map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
            let id = Oid::hash_object(ObjectType::Blob, target.as_os_str().as_encoded_bytes())?;
            return Ok(Some(Side {
                id,
                mode: LINK_MODE,
            }));
        }
        if !metadata.is_file() {
            return Ok(other);
        }
        let content = fs::read(&file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        Ok(Some(Side {
            id: Oid::hash_object(ObjectType::Blob, &content)?,
            mode: file_mode(&metadata),
        }))
    }

    /// Whether some parent directory of `path` is a file or link in the working tree.
    fn parent_in_the_way(&self, path: &str) -> bool {
        let mut current = self.workdir.clone();
        let mut components = path.split('/').peekable();
        while let Some(name) = components.next() {
            if components.peek().is_none() {
                break;
            }
            current.push(name);
            match fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.is_dir() => {}
                Ok(_) => return true,
                Err(_) => return false,
            }
        }
        false
    }

    /// Writes `side`'s blob at `path`, creating real directories (never through a link).
    fn write(&self, path: &str, side: Side) -> Result<()> {
        let file = self.workdir.join(path);
        let mut current = self.workdir.clone();
        let components: Vec<&str> = path.split('/').collect();
        for name in &components[..components.len() - 1] {
            current.push(name);
            match fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.is_dir() => {}
                Ok(_) => {
                    return Err(Error::Git(format!(
                        "{} is in the way of a directory of the new commit",
                        crate::printable::path(&current)
                    )));
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&current).map_err(|source| Error::Write {
                        path: current.clone(),
                        source,
                    })?;
                }
                Err(source) => {
                    return Err(Error::Read {
                        path: current,
                        source,
                    });
                }
            }
        }
        let blob = self.repo.find_blob(side.id)?;
        // Written aside and renamed into place: a kill mid-write must leave the path holding
        // the old content or the new one, which the next run's roll-forward recognises; a
        // missing or half-written file would count as the user's and be left as it is. The
        // spare file lives in the git directory, where `git status` never lists it.
        let spare = self.repo.path().join("fleetgen-checkout.tmp");
        remove(&spare)?;
        put(blob.content(), side.mode, &spare).map_err(|source| Error::Write {
            path: spare.clone(),
            source,
        })?;
        crate::crash::point("checkout-file");
        match fs::rename(&spare, &file) {
            Ok(()) => Ok(()),
            // Another file system (a git directory mounted elsewhere): write in place.
            Err(error) if error.kind() == io::ErrorKind::CrossesDevices => {
                remove(&spare)?;
                remove(&file)?;
                put(blob.content(), side.mode, &file)
                    .map_err(|source| Error::Write { path: file, source })
            }
            Err(source) => Err(Error::Write { path: file, source }),
        }
    }

    /// Removes directories emptied by a removal, up to the working tree's root, as git does.
    fn prune_empty_parents(&self, file: &Path) {
        let mut dir = file.parent();
        while let Some(current) = dir {
            if current == self.workdir || fs::remove_dir(current).is_err() {
                break;
            }
            dir = current.parent();
        }
    }
}

/// Makes git re-read the files it could otherwise take as unchanged by mistake once the index
/// is rewritten.
///
/// git trusts an entry whose file has the recorded size and modification time, except when the
/// file is no older than the index (a "racily clean" entry: the file may have changed within
/// the second it was staged in), which it reads again. git compares whole seconds, libgit2
/// nanoseconds, so libgit2 rewrites such an entry as it is, and the new, later index makes git
/// trust it: an edit of the same size in that second, say a source file, vanishes from
/// `git status` and from the next `git commit -a`. A recorded size of zero (git's own mark for
/// such an entry) makes git compare the content; the paths just written are exact already.
fn smudge_racy_entries(
    index: &mut git2::Index,
    read_at: std::time::SystemTime,
    written: &[&str],
) -> Result<()> {
    let Ok(read_at) = read_at.duration_since(std::time::UNIX_EPOCH) else {
        return Ok(());
    };
    let racy: Vec<git2::IndexEntry> = index
        .iter()
        .filter(|entry| {
            // The index keeps the seconds as 32 unsigned bits.
            u64::from(entry.mtime.seconds() as u32) >= read_at.as_secs()
                && entry.file_size != 0
                && entry.mode != COMMIT_MODE
                && (entry.flags & STAGE_MASK) == 0
                && !std::str::from_utf8(&entry.path).is_ok_and(|path| written.contains(&path))
        })
        .collect();
    for mut entry in racy {
        entry.file_size = 0;
        index.add(&entry)?;
    }
    Ok(())
}

/// Creates `file` holding `content` as a blob of `mode` would be checked out.
fn put(content: &[u8], mode: u32, file: &Path) -> io::Result<()> {
    if mode == LINK_MODE {
        return write_link(content, file);
    }
    fs::write(file, content)?;
    if mode == EXECUTABLE_MODE {
        make_executable(file)?;
    }
    Ok(())
}

/// Removes a file or link if there is one.
fn remove(file: &Path) -> Result<()> {
    match fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Write {
            path: file.to_path_buf(),
            source,
        }),
    }
}

#[cfg(unix)]
fn file_mode(metadata: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if metadata.permissions().mode() & 0o111 != 0 {
        EXECUTABLE_MODE
    } else {
        0o100_644
    }
}

#[cfg(not(unix))]
fn file_mode(_metadata: &fs::Metadata) -> u32 {
    0o100_644
}

#[cfg(unix)]
fn make_executable(file: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(file)?.permissions().mode();
    fs::set_permissions(
        file,
        fs::Permissions::from_mode(mode | ((mode & 0o444) >> 2)),
    )
}

#[cfg(not(unix))]
fn make_executable(_file: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_link(target: &[u8], file: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), file)
}

#[cfg(not(unix))]
fn write_link(target: &[u8], file: &Path) -> io::Result<()> {
    fs::write(file, target)
}

/// Whether git is writing the checkout's index right now (its lock file exists), once a lock
/// a killed fleetgen left is gone.
pub fn index_locked(checkout: &Checkout) -> bool {
    checkout.clear_own_stale_lock();
    checkout.repo.path().join("index.lock").exists()
}

/// Beside the index's lock while fleetgen writes the index: the writer's process id.
const INDEX_OWNER: &str = "fleetgen-index.owner";

/// How soon after its owner file an index lock must have been taken to be fleetgen's own.
const OWN_LOCK_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);
