//! All-or-nothing updates on disk, for the two places fleetgen writes: the output directory
//! (`render`, a whole branch directory at a time) and the fleet source (scaffolding, a set of
//! files). Both are shared with people, and neither a failure halfway (a full disk, a file
//! where a folder should be) nor a kill at any instant may leave a mix of old and new.
//!
//! - Branches ([`lock_dir`], [`stage_dir`], [`swap_in`], [`recover_branches`]): the new tree
//!   is built in `<out>/.fleetgen-stage-<hex branch>` and traded with the old one by a single
//!   `renameat2(RENAME_EXCHANGE)`. Where the file system lacks it, the old tree is first renamed
//!   to `<out>/.fleetgen-old-<hex branch>`; a run that finds such a folder with no branch
//!   beside it puts it back. A stage folder is always debris: before the exchange it is an
//!   unfinished new tree, after it the old one.
//! - Files ([`apply`], [`recover`]): new contents are staged in `<root>/.fleetgen-txn/`, each
//!   written and closed in turn, then a journal naming every step is renamed into place (the
//!   commit point), then every file is renamed onto its target. An error before the commit
//!   point, or a failure while applying, undoes what was done; a kill after it is rolled
//!   forward by the next run, a kill before it rolled back.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const STAGE_PREFIX: &str = ".fleetgen-stage-";
const OLD_PREFIX: &str = ".fleetgen-old-";
const LOCK_FILE: &str = ".fleetgen.lock";
const TXN_DIR: &str = ".fleetgen-txn";
const JOURNAL: &str = "journal";

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// An exclusive lock on `dir`, held until the returned file is dropped (or the process dies).
/// A second writer fails at once instead of interleaving its swaps with the first one's.
/// Whether `dir` has the lock file of an earlier run (which [`lock_dir`] leaves in place).
pub fn has_lock_file(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(LOCK_FILE)).is_ok_and(|metadata| metadata.is_file())
}

pub fn lock_dir(dir: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&path)
        .map_err(write_error(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Write {
            path: dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another fleetgen is writing here (it holds {LOCK_FILE}); run again once it has finished"
                ),
            ),
        }),
        Err(fs::TryLockError::Error(source)) => Err(Error::Write { path, source }),
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// A new, empty folder in `out` in which to build the tree that will replace `target`.
pub fn stage_dir(out: &Path, target: &Path) -> Result<PathBuf> {
    let branch = target
        .strip_prefix(out)
        .expect("branches lie below the output");
    let stage = out.join(format!("{STAGE_PREFIX}{}", hex(&branch.to_string_lossy())));
    fs::create_dir(&stage).map_err(write_error(&stage))?;
    Ok(stage)
}

/// Removes what a killed run left in `out`, putting back a branch that was moved aside.
/// Call with the lock held.
pub fn recover_branches(out: &Path) -> Result<()> {
    let entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Read {
                path: out.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: out.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name.starts_with(STAGE_PREFIX) {
            remove_tree(&path)?;
        } else if let Some(encoded) = name.strip_prefix(OLD_PREFIX) {
            let branch = unhex(encoded)
                .filter(|branch| crate::tree::check_tree_path(branch).is_ok())
                .map(|branch| out.join(branch));
            match branch {
                Some(branch) if !exists(&branch)? => {
                    fs::rename(&path, &branch).map_err(write_error(&branch))?
                }
                _ => remove_tree(&path)?,
            }
        }
    }
    Ok(())
}

fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Removes a folder and everything in it, never following a symlink out of it.
fn remove_tree(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
    .map_err(write_error(path))
}

/// Where a swapped-out tree went.
enum Swapped {
    /// `target` did not exist; the stage is now `target`.
    Moved,
    /// The old tree is at this path, to be deleted.
    Exchanged(PathBuf),
}

/// Puts every `(stage, target)` in place: all of them or, on an error, none.
pub fn swap_in(staged: &[(PathBuf, PathBuf)]) -> Result<()> {
    let mut done: Vec<(&Path, &Path, Swapped)> = Vec::new();
    for (stage, target) in staged {
        match swap(stage, target) {
            Ok(swapped) => done.push((stage, target, swapped)),
            Err(error) => {
                for (stage, target, swapped) in done.iter().rev() {
                    let _ = match swapped {
                        Swapped::Moved => fs::rename(target, stage),
                        Swapped::Exchanged(old) => {
                            fs::rename(target, stage).and_then(|()| fs::rename(old, target))
                        }
                    };
                }
                for (stage, _) in staged {
                    let _ = remove_tree(stage);
                }
                return Err(error);
            }
        }
    }
    for (_, _, swapped) in done {
        if let Swapped::Exchanged(old) = swapped {
            remove_tree(&old)?;
        }
    }
    Ok(())
}

fn swap(stage: &Path, target: &Path) -> Result<Swapped> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    if !exists(target)? {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        fs::rename(stage, target).map_err(write_error(target))?;
        return Ok(Swapped::Moved);
    }
    match renameat_with(CWD, stage, CWD, target, RenameFlags::EXCHANGE) {
        Ok(()) => return Ok(Swapped::Exchanged(stage.to_path_buf())),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {
        }
        Err(errno) => {
            return Err(Error::Write {
                path: target.to_path_buf(),
                source: errno.into(),
            });
        }
    }
    // No exchange here: two renames, with the old tree parked where the next run finds it.
    let out = stage.parent().expect("the stage lies in the output");
    let name = stage.file_name().expect("the stage has a name");
    let encoded = &name.to_string_lossy()[STAGE_PREFIX.len()..];
    let old = out.join(format!("{OLD_PREFIX}{encoded}"));
    fs::rename(target, &old).map_err(write_error(target))?;
    if let Err(source) = fs::rename(stage, target) {
        let _ = fs::rename(&old, target);
        return Err(Error::Write {
            path: target.to_path_buf(),
            source,
        });
    }
    Ok(Swapped::Exchanged(old))
}

/// One file to write or remove, relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOp {
    pub path: PathBuf,
    /// The new content; `None` removes the file.
    pub content: Option<Vec<u8>>,
    /// Whether something is at `path` now (it is moved aside first, and back on failure).
    pub exists: bool,
}

/// Applies every operation under `root`, creating `root` if needed, all or nothing. Folders
/// that removals leave empty are removed too, never `root` itself.
pub fn apply(root: &Path, ops: &[FileOp]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    create_dirs(root, &mut created_dirs)?;
    let result = recover(root).and_then(|()| transact(root, ops, &mut created_dirs));
    if result.is_err() {
        remove_dirs(&created_dirs);
    }
    result
}

fn transact(root: &Path, ops: &[FileOp], created_dirs: &mut Vec<PathBuf>) -> Result<()> {
    let txn = root.join(TXN_DIR);
    fs::create_dir(&txn).map_err(write_error(&txn))?;
    let prepared = prepare(root, &txn, ops);
    if let Err(error) = prepared {
        let _ = fs::remove_dir_all(&txn);
        return Err(error);
    }
    // The commit point: from here on a kill is rolled forward.
    let journal = txn.join(JOURNAL);
    let pending = txn.join("journal.new");
    let mut text = String::new();
    for (index, op) in ops.iter().enumerate() {
        let kind = if op.content.is_some() { 'W' } else { 'D' };
        text.push_str(&format!(
            "{index} {kind} {}\n",
            hex(&op.path.to_string_lossy())
        ));
    }
    let committed = (|| -> io::Result<()> {
        let mut file = fs::File::create(&pending)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&pending, &journal)
    })();
    if let Err(source) = committed {
        let _ = fs::remove_dir_all(&txn);
        return Err(Error::Write {
            path: journal,
            source,
        });
    }
    let steps = parse_journal(&text).expect("fleetgen reads the journal it wrote");
    match roll_forward(root, &txn, &steps, created_dirs) {
        Ok(()) => finish(root, &txn, &steps),
        Err(error) => {
            roll_back(root, &txn, &steps);
            let _ = fs::remove_dir_all(&txn);
            Err(error)
        }
    }
}

/// Stages every new content in `txn` and keeps a hard link to every file to be replaced or
/// removed, so that a failure can put it back.
fn prepare(root: &Path, txn: &Path, ops: &[FileOp]) -> Result<()> {
    for (index, op) in ops.iter().enumerate() {
        let target = root.join(&op.path);
        refuse_links_below(root, &op.path)?;
        if exists(&target)? {
            let backup = txn.join(format!("{index}.old"));
            fs::hard_link(&target, &backup).map_err(write_error(&target))?;
        }
        let Some(content) = &op.content else { continue };
        let staged = txn.join(index.to_string());
        crate::sinks::write::write_new(&staged, content)?;
        // A file keeps its mode (an executable hook stays executable); a new one gets the umask.
        if let Ok(metadata) = fs::symlink_metadata(&target)
            && metadata.is_file()
        {
            let _ = fs::set_permissions(&staged, metadata.permissions());
        }
    }
    Ok(())
}

/// Refuses a symlink or a file among the parents of `relative` below `root`: a write there
/// would land wherever the link points.
fn refuse_links_below(root: &Path, relative: &Path) -> Result<()> {
    let mut current = root.to_path_buf();
    let parents: Vec<_> = relative.components().collect();
    for component in &parents[..parents.len().saturating_sub(1)] {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(metadata) => {
                let what = match metadata.is_symlink() {
                    true => "is a symbolic link; fleetgen never writes through one",
                    false => "is not a directory",
                };
                return Err(Error::Write {
                    path: root.join(relative),
                    source: io::Error::other(format!("{} {what}", current.display())),
                });
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => break,
            Err(source) => {
                return Err(Error::Read {
                    path: current,
                    source,
                });
            }
        }
    }
    Ok(())
}

struct Step {
    index: usize,
    write: bool,
    path: PathBuf,
}

fn parse_journal(text: &str) -> Option<Vec<Step>> {
    text.lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let index = fields.next()?.parse().ok()?;
            let write = match fields.next()? {
                "W" => true,
                "D" => false,
                _ => return None,
            };
            let path = unhex(fields.next()?)?;
            // The journal lies in the fleet source too: never act on a path leaving it.
            crate::tree::check_tree_path(&path).ok()?;
            fields.next().is_none().then(|| Step {
                index,
                write,
                path: PathBuf::from(path),
            })
        })
        .collect()
}

/// Does every step not yet done; each step can be repeated, so this also finishes the work of
/// a killed run.
fn roll_forward(
    root: &Path,
    txn: &Path,
    steps: &[Step],
    created_dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    for step in steps {
        let target = root.join(&step.path);
        if step.write {
            let staged = txn.join(step.index.to_string());
            if !exists(&staged)? {
                continue;
            }
            if let Some(parent) = target.parent() {
                create_dirs(parent, created_dirs)?;
            }
            fs::rename(&staged, &target).map_err(write_error(&target))?;
        } else {
            match fs::symlink_metadata(&target) {
                Ok(metadata) if !metadata.is_dir() => {
                    fs::remove_file(&target).map_err(write_error(&target))?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Puts back what [`roll_forward`] changed, from the links [`prepare`] kept.
fn roll_back(root: &Path, txn: &Path, steps: &[Step]) {
    for step in steps.iter().rev() {
        let target = root.join(&step.path);
        let backup = txn.join(format!("{}.old", step.index));
        if exists(&backup).unwrap_or(false) {
            let _ = fs::rename(&backup, &target);
        } else if step.write && !exists(&txn.join(step.index.to_string())).unwrap_or(true) {
            let _ = fs::remove_file(&target);
        }
    }
}

/// Removes the folders that deletions emptied, then the transaction.
fn finish(root: &Path, txn: &Path, steps: &[Step]) -> Result<()> {
    for step in steps.iter().filter(|step| !step.write) {
        let mut dir = root.join(&step.path).parent().map(Path::to_path_buf);
        while let Some(current) = dir {
            if current == root || fs::remove_dir(&current).is_err() {
                break;
            }
            dir = current.parent().map(Path::to_path_buf);
        }
    }
    fs::remove_dir_all(txn).map_err(write_error(txn))
}

/// Completes or discards a transaction a killed run left under `root`: with its journal it is
/// rolled forward, without one nothing had changed yet and it is removed.
pub fn recover(root: &Path) -> Result<()> {
    let txn = root.join(TXN_DIR);
    match fs::symlink_metadata(&txn) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(Error::Read { path: txn, source }),
        Ok(metadata) if !metadata.is_dir() => return remove_tree(&txn),
        Ok(_) => {}
    }
    let journal = txn.join(JOURNAL);
    let text = match fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return remove_tree(&txn),
        Err(source) => {
            return Err(Error::Read {
                path: journal,
                source,
            });
        }
    };
    let Some(steps) = parse_journal(&text) else {
        return Err(Error::Write {
            path: journal,
            source: io::Error::other(
                "unreadable journal of an interrupted change; inspect and remove the folder",
            ),
        });
    };
    roll_forward(root, &txn, &steps, &mut Vec::new())?;
    finish(root, &txn, &steps)
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        // A relative path's last parent is the empty path: the working directory, which exists.
        if path.as_os_str().is_empty() || path.is_dir() {
            break;
        }
        missing.push(path.to_path_buf());
        current = path.parent();
    }
    for path in missing.into_iter().rev() {
        fs::create_dir(&path).map_err(write_error(&path))?;
        created.push(path);
    }
    Ok(())
}

fn remove_dirs(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(path: &str, content: Option<&str>, exists: bool) -> FileOp {
        FileOp {
            path: PathBuf::from(path),
            content: content.map(|text| text.as_bytes().to_vec()),
            exists,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_change_killed_after_its_journal_is_finished_by_the_next_run() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("old"), "old").unwrap();
        fs::write(root.path().join("gone"), "gone").unwrap();
        // What a kill right after the commit point leaves: staged files and the journal.
        let txn = root.path().join(TXN_DIR);
        fs::create_dir(&txn).unwrap();
        fs::write(txn.join("0"), "new").unwrap();
        fs::write(txn.join("1"), "added").unwrap();
        fs::write(
            txn.join(JOURNAL),
            format!(
                "0 W {}\n1 W {}\n2 D {}\n",
                hex("old"),
                hex("sub/added"),
                hex("gone")
            ),
        )
        .unwrap();
        recover(root.path()).unwrap();
        assert_eq!(fs::read_to_string(root.path().join("old")).unwrap(), "new");
        assert_eq!(
            fs::read_to_string(root.path().join("sub/added")).unwrap(),
            "added"
        );
        assert_eq!(names(root.path()), ["old", "sub"]);
    }

    #[test]
    fn a_change_killed_before_its_journal_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("old"), "old").unwrap();
        let txn = root.path().join(TXN_DIR);
        fs::create_dir(&txn).unwrap();
        fs::write(txn.join("0"), "new").unwrap();
        recover(root.path()).unwrap();
        assert_eq!(fs::read_to_string(root.path().join("old")).unwrap(), "old");
        assert_eq!(names(root.path()), ["old"]);
    }

    #[test]
    fn a_journal_naming_a_path_outside_the_root_is_never_acted_upon() {
        let root = tempfile::tempdir().unwrap();
        let txn = root.path().join(TXN_DIR);
        fs::create_dir(&txn).unwrap();
        fs::write(txn.join(JOURNAL), format!("0 D {}\n", hex("../victim"))).unwrap();
        assert!(recover(root.path()).is_err());
    }

    #[test]
    fn applied_files_get_the_umask_or_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let script = root.path().join("hook");
        fs::write(&script, "old").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o750)).unwrap();
        apply(
            root.path(),
            &[op("hook", Some("new"), true), op("a/new", Some("x"), false)],
        )
        .unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&script), 0o750);
        let umask = {
            let probe = root.path().join("probe");
            fs::write(&probe, "").unwrap();
            mode(&probe)
        };
        assert_eq!(mode(&root.path().join("a/new")), umask);
        assert_ne!(umask, 0o600, "the test needs a umask other than 077");
        assert_eq!(names(root.path()), ["a", "hook", "probe"]);
    }

    #[test]
    fn a_symlinked_folder_in_the_source_is_not_written_through() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("fleet")).unwrap();
        let error = apply(root.path(), &[op("fleet/x.yaml", Some("x"), false)]).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(names(elsewhere.path()), Vec::<String>::new());
        assert_eq!(names(root.path()), ["fleet"]);
    }
}
