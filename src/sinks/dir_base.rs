//! `<out>/<branch>/` as the [`Base`] a rendered tree is compared with, for `render` and
//! `diff --out`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sinks::changes::{Base, Entry};

/// What the walk of a directory found at a path, without following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

/// `<out>/<branch>/` as the [`Base`] of a planned change.
///
/// The directory is walked once, without following symlinks, into an index of what is where;
/// files are read only when a rule needs their content. So a symlink inside the branch is
/// never followed out of it, a FIFO never blocks a read, and a path's lookup costs no system
/// call.
pub struct DirBase {
    root: PathBuf,
    index: BTreeMap<String, Kind>,
    /// Entries whose names are not UTF-8, in walk order (parents first): never fleetgen's,
    /// but kept like every other hand-written file.
    foreign: Vec<(PathBuf, Kind)>,
    trust_digests: bool,
}

impl DirBase {
    /// Indexes `root`; a missing `root` is an empty branch.
    pub fn open(root: &Path) -> Result<Self> {
        let read_error = |path: &Path, source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut index = BTreeMap::new();
        let mut foreign = Vec::new();
        match fs::symlink_metadata(root) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(read_error(root, source)),
            Ok(metadata) if !metadata.is_dir() => {
                return Err(read_error(root, not_a_directory(&metadata)));
            }
            Ok(_) => {
                for entry in walkdir::WalkDir::new(root).min_depth(1) {
                    let entry = entry.map_err(|error| {
                        let path = error.path().unwrap_or(root).to_path_buf();
                        read_error(&path, error.into())
                    })?;
                    let relative = entry
                        .path()
                        .strip_prefix(root)
                        .expect("the walk stays below its root");
                    let file_type = entry.file_type();
                    let kind = if file_type.is_dir() {
                        Kind::Dir
                    } else if file_type.is_file() {
                        Kind::File
                    } else if file_type.is_symlink() {
                        Kind::Symlink
                    } else {
                        Kind::Special
                    };
                    match relative.to_str() {
                        Some(relative) => {
                            index.insert(relative.replace(std::path::MAIN_SEPARATOR, "/"), kind);
                        }
                        None => foreign.push((relative.to_path_buf(), kind)),
                    }
                }
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            index,
            foreign,
            trust_digests: false,
        })
    }

    /// Takes a file as unchanged when its listed digest matches (see [`Base::trusts_digests`]).
    pub fn trusting_digests(mut self) -> Self {
        self.trust_digests = true;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Everything below the root, parents before children.
    pub fn index(&self) -> &BTreeMap<String, Kind> {
        &self.index
    }

    /// Entries with names that are not UTF-8, parents first.
    pub fn foreign(&self) -> &[(PathBuf, Kind)] {
        &self.foreign
    }

    pub fn kind(&self, path: &str) -> Option<Kind> {
        self.index.get(path).copied()
    }

    /// The first parent of `path` that is not a directory, with what it is.
    pub fn in_the_way(&self, path: &str) -> Option<(&str, Kind)> {
        path.match_indices('/').find_map(|(end, _)| {
            let parent = &path[..end];
            match self.index.get_key_value(parent) {
                Some((_, Kind::Dir)) | None => None,
                Some((key, kind)) => Some((key.as_str(), *kind)),
            }
        })
    }

    /// The content of the regular file at `path`, read without following a symlink.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        read_regular(&self.root.join(path))
    }
}

/// Reads a regular file, refusing a symlink (`O_NOFOLLOW`) and anything else that is not a
/// regular file, so that a swap after the walk cannot redirect or block the read.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(read_error(not_a_directory(&metadata)));
    }
    let mut content = Vec::with_capacity(metadata.len() as usize);
    file.read_to_end(&mut content).map_err(read_error)?;
    Ok(content)
}

fn not_a_directory(metadata: &fs::Metadata) -> io::Error {
    let what = if metadata.is_symlink() {
        "a symbolic link, which fleetgen does not follow"
    } else if metadata.is_dir() {
        "a directory"
    } else if metadata.is_file() {
        "a file"
    } else {
        "a special file"
    };
    io::Error::other(format!("unexpected: it is {what}"))
}

impl Base for DirBase {
    fn entry(&self, path: &str) -> Result<Entry> {
        if let Some((in_the_way, _)) = self.in_the_way(path) {
            return Ok(Entry::Blocked(in_the_way.to_owned()));
        }
        match self.index.get(path) {
            None => Ok(Entry::Missing),
            Some(Kind::File) => Ok(Entry::File {
                content: self.read(path)?,
                plain: true,
            }),
            Some(_) => Ok(Entry::Other),
        }
    }

    fn describe(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    fn trusts_digests(&self) -> bool {
        self.trust_digests
    }

    fn is_plain_file(&self, path: &str) -> Result<bool> {
        Ok(self.in_the_way(path).is_none() && self.index.get(path) == Some(&Kind::File))
    }
}
