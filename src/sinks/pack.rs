//! The objects of a commit run, written as packs instead of one file each.
//!
//! Git stores a new object as a file of its own; a first commit of a large fleet makes
//! hundreds of thousands of them, and creating those files is most of its time. The objects
//! are gathered in memory instead (libgit2's in-memory backend, on a repository handle of
//! their own so that no later write of the caller's can land there and be lost), and written
//! out as packs whenever enough have gathered, and at the end. A ref only ever moves after
//! [`with_pack`] has returned, so a run that stops midway leaves at most unused packs.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use git2::{ObjectType, OdbLookupFlags, Oid, Repository};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// An object's type and bytes, as Git hashes them.
type Object = (ObjectType, Vec<u8>);

/// Bytes of content gathered in memory before they are written out: a first commit
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
        stored: repo.odb()?,
        pending: Vec::new(),
        queued: HashSet::new(),
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
    /// The repository's object database without the in-memory backend: what it holds, from
    /// before the run or from its earlier packs, is not packed again.
    stored: git2::Odb<'a>,
    /// What the next pack holds: every object written since the last flush that the
    /// repository did not have, with its bytes, kept as written rather than read back. (The
    /// in-memory backend's own dump packs what its commits reach, whole trees included.)
    pending: Vec<Object>,
    queued: HashSet<Oid>,
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
        // Written to the in-memory backend too: a tree may only name objects the object
        // database has.
        let id = self.repo.blob(content)?;
        if self.is_new(id) {
            self.queue(id, ObjectType::Blob, content.to_vec());
            if self.gathered >= FLUSH_BYTES {
                self.flush()?;
            }
        }
        Ok(id)
    }

    /// Stores the tree `builder` holds.
    pub fn tree(&mut self, builder: &git2::TreeBuilder<'_>) -> Result<Oid> {
        let id = builder.write()?;
        self.queue_written(id, ObjectType::Tree)?;
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
        self.queue_written(id, ObjectType::Commit)?;
        Ok(id)
    }

    /// Whether `id` belongs in the next pack: neither queued for it already (equal files are
    /// one object) nor stored. Git would take a pack repeating a stored object, but every
    /// byte of it is compressed, written and hashed again by the indexer for nothing.
    fn is_new(&self, id: Oid) -> bool {
        // No refresh on a miss (libgit2 rereads the pack folder then): the packs this run
        // adds are made known by `flush`, and another writer's are none of its business.
        !self.queued.contains(&id) && !self.stored.exists_ext(id, OdbLookupFlags::NO_REFRESH)
    }

    fn queue(&mut self, id: Oid, kind: ObjectType, data: Vec<u8>) {
        self.queued.insert(id);
        self.gathered += data.len();
        self.pending.push((kind, data));
    }

    /// Queues an object libgit2 wrote itself, read back from memory: trees and commits are
    /// small.
    fn queue_written(&mut self, id: Oid, kind: ObjectType) -> Result<()> {
        if self.is_new(id) {
            let data = self.odb.read(id)?.data().to_vec();
            self.queue(id, kind, data);
        }
        Ok(())
    }

    /// Writes what has gathered as packs. It stays readable, from the packs, so a tree can
    /// be built on blobs flushed before it.
    fn flush(&mut self) -> Result<()> {
        self.gathered = 0;
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.queued.clear();
        // libgit2's indexer (which hashes and inflates every object again) runs on one
        // thread per pack: a large run is split into packs written side by side.
        let path = self.repo.path();
        let packs = split(pending, rayon::current_num_threads(), MIN_PACK_BYTES);
        let stored: Vec<Result<()>> = packs
            .into_par_iter()
            .map(|objects| store(path, &objects))
            .collect();
        stored.into_iter().collect::<Result<()>>()?;
        self.odb.refresh()?;
        self.stored.refresh()?;
        self.mempack.reset()?;
        Ok(())
    }
}

/// The least a pack of a split run holds: below it, another pack (and its index, and the
/// lookups in it ever after) costs more than indexing in parallel saves.
const MIN_PACK_BYTES: usize = 16 << 20;

/// `objects` in at most `parts` groups of similar size, and in no more than groups of `least`
/// bytes on average would make.
fn split(objects: Vec<Object>, parts: usize, least: usize) -> Vec<Vec<Object>> {
    let total: usize = objects.iter().map(|(_, data)| data.len()).sum();
    let parts = parts.min(total / least.max(1)).max(1);
    if parts == 1 {
        return vec![objects];
    }
    // Largest first, each to the lightest group: an ownership list is one large blob.
    let mut objects = objects;
    objects.sort_by_key(|(_, data)| std::cmp::Reverse(data.len()));
    let mut groups: Vec<(usize, Vec<Object>)> = (0..parts).map(|_| (0, Vec::new())).collect();
    for object in objects {
        let lightest = groups
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("at least one group");
        lightest.0 += object.1.len();
        lightest.1.push(object);
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// Writes `objects` as one pack into the repository at `path`, through a handle of its own
/// so that packs can be written side by side.
fn store(path: &Path, objects: &[Object]) -> Result<()> {
    let repo = Repository::open(path)?;
    let odb = repo.odb()?;
    let mut writer = odb.packwriter()?;
    // The indexer behind the writer hashes every object again and checks the pack's
    // checksum: a pack it takes is one Git reads.
    write_pack(objects, &mut writer).map_err(|source| Error::Write {
        path: path.join("objects/pack"),
        source,
    })?;
    writer.commit()?;
    Ok(())
}

/// Writes a pack of `objects` to `out`, each stored whole (no deltas: finding them costs more
/// than a commit run saves by them; `git gc` finds them later), compressed in parallel.
fn write_pack(objects: &[Object], out: &mut impl Write) -> std::io::Result<()> {
    let entries: Vec<Vec<u8>> = objects
        .par_iter()
        .map(|(kind, data)| {
            let mut entry = entry_header(*kind, data.len());
            entry.extend(miniz_oxide::deflate::compress_to_vec_zlib(data, 1));
            entry
        })
        .collect();
    // Few large writes: the indexer takes each one as it comes.
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut checksum = Sha1::new();
    let count = u32::try_from(objects.len()).expect("fewer than 2^32 objects in one pack");
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(b"PACK");
    header.extend_from_slice(&2u32.to_be_bytes());
    header.extend_from_slice(&count.to_be_bytes());
    for part in std::iter::once(&header).chain(&entries) {
        checksum.update(part);
        out.write_all(part)?;
    }
    out.write_all(&checksum.finalize())?;
    out.flush()
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

    fn blob(size: usize, byte: u8) -> Object {
        (ObjectType::Blob, vec![byte; size])
    }

    #[test]
    fn a_run_is_split_into_packs_of_similar_size_and_not_too_small() {
        let sizes = |groups: &[Vec<Object>]| -> Vec<usize> {
            groups
                .iter()
                .map(|group| group.iter().map(|(_, data)| data.len()).sum())
                .collect()
        };
        let objects = || vec![blob(5, 1), blob(20, 2), blob(5, 3), blob(5, 4), blob(5, 5)];
        let two = split(objects(), 2, 10);
        assert_eq!(sizes(&two), [20, 20]);
        assert_eq!(two.iter().map(Vec::len).sum::<usize>(), 5);
        // Three parts would hold less than the least on average.
        assert_eq!(sizes(&split(objects(), 4, 14)), [20, 20]);
        assert_eq!(sizes(&split(objects(), 4, 21)), [40]);
        assert_eq!(sizes(&split(objects(), 1, 1)), [40]);
    }

    #[test]
    fn packs_written_side_by_side_are_all_readable() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let objects: Vec<Object> = (0..8).map(|byte| blob(100 + byte, byte as u8)).collect();
        let ids: Vec<Oid> = objects
            .iter()
            .map(|(kind, data)| Oid::hash_object(*kind, data).unwrap())
            .collect();
        let packs = split(objects, 2, 1);
        assert_eq!(packs.len(), 2);
        let path = repo.path();
        let stored: Vec<Result<()>> = packs
            .into_par_iter()
            .map(|objects| store(path, &objects))
            .collect();
        stored.into_iter().collect::<Result<()>>().unwrap();
        let written = std::fs::read_dir(repo.path().join("objects/pack"))
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("idx".as_ref()))
            .count();
        assert_eq!(written, 2);
        let odb = repo.odb().unwrap();
        odb.refresh().unwrap();
        for (byte, id) in ids.iter().enumerate() {
            assert_eq!(odb.read(*id).unwrap().data(), vec![byte as u8; 100 + byte]);
        }
    }
}
