//! The objects of a commit run, written as packs instead of one file each.
//!
//! Git stores a new object as a file of its own; a first commit of a large fleet makes
//! hundreds of thousands of them, and creating those files is most of its time. The objects
//! are gathered in memory instead (libgit2's in-memory backend, on a repository handle of
//! their own so that no later write of the caller's can land there and be lost), and written
//! out as a pack whenever enough have gathered, and at the end. A ref only ever moves after
//! [`with_pack`] has returned, so a run that stops midway leaves at most an unused pack.

use std::collections::HashSet;
use std::io::Write;

use git2::{ObjectType, Oid, Repository};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// Bytes of content gathered in memory before they are written out as a pack: a first commit
/// of a large fleet would otherwise hold all of it at once.
const FLUSH_BYTES: usize = 64 << 20;

/// Runs `build` with a place to write objects into, then writes them out as packs and makes
/// them visible to `repo`. Nothing `build` writes is stored if it fails.
pub fn with_pack<T>(
    repo: &Repository,
    build: impl FnOnce(&mut Objects<'_>) -> Result<T>,
) -> Result<T> {
    // A handle of its own on the repository: its object database gets the in-memory backend,
    // the caller's does not, so that no later write of the caller's can land there and be lost.
    let own = Repository::open(repo.path())?;
    let odb = own.odb()?;
    // Above the loose and pack backends, so that every write lands in memory.
    let mempack = odb.add_new_mempack_backend(1000)?;
    let mut objects = Objects {
        repo: &own,
        odb: &odb,
        mempack,
        written: Vec::new(),
        gathered: 0,
    };
    let result = build(&mut objects)?;
    objects.flush()?;
    repo.odb()?.refresh()?;
    Ok(result)
}

/// Where [`with_pack`]'s `build` writes objects.
pub struct Objects<'a> {
    repo: &'a Repository,
    odb: &'a git2::Odb<'a>,
    mempack: git2::Mempack<'a>,
    /// Every object written since the last flush: what the next pack holds. (The in-memory
    /// backend's own dump packs what its commits reach, whole trees included.)
    written: Vec<Oid>,
    gathered: usize,
}

impl<'a> Objects<'a> {
    /// The repository to read objects from, and to build trees in for [`Objects::tree`].
    pub fn repo(&self) -> &'a Repository {
        self.repo
    }

    /// Stores `content` as a blob, writing every gathered object out once enough have
    /// gathered.
    pub fn blob(&mut self, content: &[u8]) -> Result<Oid> {
        let id = self.repo.blob(content)?;
        self.written.push(id);
        self.gathered += content.len();
        if self.gathered >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(id)
    }

    /// Stores the tree `builder` holds.
    pub fn tree(&mut self, builder: &git2::TreeBuilder<'_>) -> Result<Oid> {
        let id = builder.write()?;
        self.written.push(id);
        Ok(id)
    }

    /// Stores a commit.
    pub fn commit(
        &mut self,
        author: &git2::Signature<'_>,
        committer: &git2::Signature<'_>,
        message: &str,
        tree: &git2::Tree<'_>,
        parents: &[&git2::Commit<'_>],
    ) -> Result<Oid> {
        let id = self
            .repo
            .commit(None, author, committer, message, tree, parents)?;
        self.written.push(id);
        Ok(id)
    }

    /// Writes what has gathered as one pack. It stays readable, from the pack, so a tree can
    /// be built on blobs flushed before it.
    fn flush(&mut self) -> Result<()> {
        self.gathered = 0;
        if self.written.is_empty() {
            return Ok(());
        }
        // Equal files are one object, and a pack holds each object once.
        let mut seen = HashSet::with_capacity(self.written.len());
        let mut read = Vec::with_capacity(self.written.len());
        for id in self.written.drain(..).filter(|id| seen.insert(*id)) {
            let object = self.odb.read(id)?;
            read.push((object.kind(), object.data().to_vec()));
        }
        let pack = pack(&read);
        let mut writer = self.odb.packwriter()?;
        // The indexer behind the writer hashes every object again and checks the pack's
        // checksum: a pack it takes is one Git reads.
        writer.write_all(&pack).map_err(|source| Error::Write {
            path: self.repo.path().join("objects/pack"),
            source,
        })?;
        writer.commit()?;
        self.odb.refresh()?;
        self.mempack.reset()?;
        Ok(())
    }
}

/// A pack of `objects`, each stored whole (no deltas: finding them costs more than a commit
/// run saves by them; `git gc` finds them later), compressed in parallel.
fn pack(objects: &[(ObjectType, Vec<u8>)]) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = objects
        .par_iter()
        .map(|(kind, data)| {
            let mut entry = entry_header(*kind, data.len());
            entry.extend(miniz_oxide::deflate::compress_to_vec_zlib(data, 1));
            entry
        })
        .collect();
    let mut pack = Vec::with_capacity(12 + entries.iter().map(Vec::len).sum::<usize>() + 20);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    let count = u32::try_from(objects.len()).expect("fewer than 2^32 objects in one pack");
    pack.extend_from_slice(&count.to_be_bytes());
    for entry in entries {
        pack.extend(entry);
    }
    let checksum = Sha1::digest(&pack);
    pack.extend_from_slice(&checksum);
    pack
}

/// An entry's type and uncompressed size: the type in bits 4–6 of the first byte with the low
/// four bits of the size, then seven bits of size per byte, the high bit saying more follow.
fn entry_header(kind: ObjectType, size: usize) -> Vec<u8> {
    let code: u8 = match kind {
        ObjectType::Commit => 1,
        ObjectType::Tree => 2,
        ObjectType::Blob => 3,
        ObjectType::Tag => 4,
        ObjectType::Any => unreachable!("a stored object has a type"),
    };
    let mut header = Vec::with_capacity(10);
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest > 0 {
        header.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    header.push(byte);
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_flushed_midway_stay_usable() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let id = with_pack(&repo, |objects| {
            let a = objects.blob(b"a\n")?;
            // Equal files are one object.
            assert_eq!(objects.blob(b"a\n")?, a);
            objects.flush()?;
            let b = objects.blob(b"b\n")?;
            let mut builder = objects.repo().treebuilder(None)?;
            builder.insert("a", a, 0o100_644)?;
            builder.insert("b", b, 0o100_644)?;
            objects.tree(&builder)
        })
        .unwrap();
        let tree = repo.find_tree(id).unwrap();
        assert_eq!(tree.len(), 2);
    }
}
