//! Reusing an earlier validation's findings when nothing validation reads has changed: the
//! usual loop is `render`, then `diff`, then `commit` of the same fleet, and each of them
//! validates the same rendered trees with the same schemas.
//!
//! A run's findings are kept under a [`Key`]: a SHA-256 digest of everything validation reads
//! and of the program that validates. Any difference gives another key, so a stored result is
//! only ever reused for exactly the inputs it was found for; at worst a change nobody can see
//! (a moved comment) costs a fresh validation.
//!
//! The store is a folder in the Git directory of the repository the fleet source is in, which
//! a change under review cannot write to: a pull request's files are inputs to the key, never
//! the store itself. Only passing results are kept. A store that cannot be read or written
//! costs the reuse, never the run.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Options;
use super::inputs::Inputs;
use super::schema::Schemas;
use crate::diagnostic::{Also, Diagnostic, Diagnostics, Location, Severity};
use crate::model::Fleet;
use crate::render::Rendered;
use crate::tree::Tree;

/// Stored results kept; the oldest used beyond these are removed.
const KEPT: usize = 16;

/// Largest stored result read back: a result is findings, and even a fleet that fails every
/// check stays well below this.
const MAX_STORED_BYTES: u64 = 256 * 1024 * 1024;

/// How a result being written is named until it is whole.
const KEEPING: &str = ".keeping-";

/// How a stored result is named after its key.
const RESULT: &str = ".json";

/// How the note of a validated run's [`Inputs`] is named after them.
const INPUTS: &str = ".inputs";

/// A result being written for longer than this was left by a run that was killed.
const ABANDONED: std::time::Duration = std::time::Duration::from_secs(600);

/// Bumped whenever what goes into a key or a stored result changes shape.
const FORMAT: &str = "fleetgen validation results 1";

/// A digest of everything one validation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; 32]);

/// The digest of a fleet's `Debug` form, its share of a [`Key`]: at a thousand clusters it
/// takes a good part of the key's time, and it can be taken while the fleet renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetDigest([u8; 32]);

impl FleetDigest {
    pub fn of(fleet: &Fleet) -> Self {
        Self(debug_digest(fleet))
    }
}

impl Key {
    /// The key of validating `rendered` of `fleet` with `schemas`: `None` when the program's
    /// own file cannot be looked at, since a rebuilt fleetgen could then go unnoticed.
    /// `digest`, when given, is [`FleetDigest::of`] `fleet`, taken earlier.
    pub fn of(
        fleet: &Fleet,
        digest: Option<FleetDigest>,
        rendered: &Rendered,
        schemas: &Schemas,
        options: Options,
    ) -> Option<Self> {
        let program = program()?;
        let mut key = Framed::default();
        key.part(FORMAT.as_bytes());
        key.part(&program);
        key.part(&[u8::from(options.strict)]);
        key.part(&schemas.fingerprint());
        let branches: Vec<(&str, &Tree)> = rendered.branches.iter().collect();
        let (described, digests) = rayon::join(
            || {
                let mut described = Framed::default();
                // The model as loaded, positions included: the findings point into the source.
                let fleet = digest.unwrap_or_else(|| FleetDigest::of(fleet));
                described.part(&fleet.0);
                described.debug(&rendered.bootstrap_paths);
                described.debug(&rendered.operator_files);
                described.debug(&rendered.environment_files);
                described.debug(&rendered.values);
                described.0.finalize()
            },
            || {
                branches
                    .par_iter()
                    .map(|(branch, tree)| tree_digest(branch, tree))
                    .collect::<Vec<[u8; 32]>>()
            },
        );
        key.part(&described);
        key.part(&(digests.len() as u64).to_le_bytes());
        for digest in digests {
            key.part(&digest);
        }
        Some(Self(key.0.finalize().into()))
    }

    fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// A digest fed with length-prefixed parts, so that no two sequences of parts feed it alike.
#[derive(Default)]
pub(super) struct Framed(pub(super) Sha256);

impl Framed {
    pub(super) fn part(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// A value's `Debug` form, as a digest of its own: the form is hashed as it is written,
    /// never held whole. Within one build of fleetgen (and the build is in every key) equal
    /// values print alike, since nothing printed is kept in a hashed order.
    fn debug(&mut self, value: &impl std::fmt::Debug) {
        self.part(&debug_digest(value));
    }
}

/// The digest of `value`'s `Debug` form, hashed as it is written, never held whole.
fn debug_digest(value: &impl std::fmt::Debug) -> [u8; 32] {
    struct Feed(Sha256);
    impl std::fmt::Write for Feed {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0.update(text.as_bytes());
            Ok(())
        }
    }
    let mut feed = Feed(Sha256::new());
    let _ = std::fmt::write(&mut feed, format_args!("{value:?}"));
    feed.0.finalize().into()
}

/// Every file of a branch: its path, bytes and origin. A sealed tree's ownership list already
/// holds a digest of each file's bytes; any other tree's files are hashed here, on every core.
fn tree_digest(branch: &str, tree: &Tree) -> [u8; 32] {
    let mut all = Framed::default();
    all.part(branch.as_bytes());
    all.part(&(tree.len() as u64).to_le_bytes());
    if let Some(list) = tree.sealed_list() {
        // The list's lines are `digest  path`; with every path framed here, they can be read
        // only one way, even where a path holds a line break.
        for (path, _, origin) in tree.iter_with_origins() {
            all.part(path.as_bytes());
            all.0
                .update(origin.map_or(0, |origin| origin.get()).to_le_bytes());
        }
        all.part(list);
        return all.0.finalize().into();
    }
    let files: Vec<_> = tree.iter_with_origins().collect();
    let digests: Vec<[u8; 32]> = files
        .par_iter()
        .map(|(path, content, origin)| {
            let mut file = Framed::default();
            file.part(path.as_bytes());
            file.part(content);
            file.part(&origin.map_or(0, |origin| origin.get()).to_le_bytes());
            file.0.finalize().into()
        })
        .collect();
    all.part(b"unsealed");
    for digest in digests {
        all.0.update(digest);
    }
    all.0.finalize().into()
}

/// The running program's file as the file system knows it: a rebuilt, upgraded or replaced
/// fleetgen has another, and may validate differently.
pub(super) fn program() -> Option<Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let path = std::env::current_exe().ok()?;
    let metadata = fs::metadata(&path).ok()?;
    let mut identity = path.as_os_str().as_encoded_bytes().to_vec();
    for number in [
        metadata.dev(),
        metadata.ino(),
        metadata.size(),
        metadata.mtime() as u64,
        metadata.mtime_nsec() as u64,
        metadata.ctime() as u64,
        metadata.ctime_nsec() as u64,
    ] {
        identity.extend(number.to_le_bytes());
    }
    Some(identity)
}

/// Where validation results are kept, and whether this run reused one.
#[derive(Debug)]
pub struct Reuse {
    dir: PathBuf,
    reused: AtomicBool,
    /// Whether a result of this run was kept.
    kept: AtomicBool,
}

impl Reuse {
    /// A store in `dir`, made on first use.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            reused: AtomicBool::new(false),
            kept: AtomicBool::new(false),
        }
    }

    /// Whether a validation through this store reused an earlier run's findings.
    pub fn reused(&self) -> bool {
        self.reused.load(Ordering::Relaxed)
    }

    /// Whether a run from `inputs` passed validation lately (see [`Reuse::remember`]): its
    /// findings are then likely to be reused.
    pub fn expects(&self, inputs: &Inputs) -> bool {
        fs::symlink_metadata(self.inputs_path(inputs)).is_ok_and(|metadata| metadata.is_file())
    }

    /// Notes that this run, from `inputs`, passed validation and that its findings are kept,
    /// whether reused or stored now; nothing when they are not.
    pub fn remember(&self, inputs: &Inputs) {
        if !self.reused() && !self.kept.load(Ordering::Relaxed) {
            return;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.inputs_path(inputs);
        // An empty file: whole as soon as it exists. Written again, it is used again. Never
        // through a link: nothing outside the folder is touched.
        let noted = fs::create_dir_all(&self.dir)
            .and_then(|()| {
                fs::File::options()
                    .write(true)
                    .create(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
            })
            .and_then(|file| file.set_modified(std::time::SystemTime::now()));
        if noted.is_ok() {
            self.prune();
        }
    }

    fn inputs_path(&self, inputs: &Inputs) -> PathBuf {
        self.dir.join(format!("{}{INPUTS}", inputs.hex()))
    }

    /// The findings stored under `key`, if any can be read back whole.
    pub fn get(&self, key: &Key) -> Option<Diagnostics> {
        let path = self.path(key);
        let metadata = fs::symlink_metadata(&path).ok()?;
        if !metadata.is_file() || metadata.len() > MAX_STORED_BYTES {
            return None;
        }
        let text = fs::read(&path).ok()?;
        let stored: Stored = serde_json::from_slice(&text).ok()?;
        if stored.format != FORMAT || stored.key != key.hex() {
            return None;
        }
        // Its time of use, so that what is pruned is what was used least recently.
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        self.reused.store(true, Ordering::Relaxed);
        Some(
            stored
                .diagnostics
                .into_iter()
                .map(Diagnostic::from)
                .collect(),
        )
    }

    /// Stores `diagnostics` under `key`, whole or not at all; a store that cannot be written
    /// is left as it is.
    pub fn put(&self, key: &Key, diagnostics: &Diagnostics) {
        let stored = Stored {
            format: FORMAT.to_owned(),
            key: key.hex(),
            diagnostics: diagnostics.iter().map(StoredDiagnostic::from).collect(),
        };
        let Ok(text) = serde_json::to_vec(&stored) else {
            return;
        };
        let written = fs::create_dir_all(&self.dir).and_then(|()| {
            let mut file = tempfile::Builder::new()
                .prefix(KEEPING)
                .tempfile_in(&self.dir)?;
            file.write_all(&text)?;
            crate::crash::point("validation-result");
            file.persist(self.path(key))
                .map(drop)
                .map_err(|error| error.error)
        });
        if written.is_ok() {
            self.kept.store(true, Ordering::Relaxed);
            self.prune();
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}{RESULT}", key.hex()))
    }

    /// Removes the results used least recently beyond [`KEPT`], and what killed runs left.
    fn prune(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = std::time::SystemTime::now();
        // Results and notes of inputs, each pruned on its own.
        let mut kept: [Vec<(std::time::SystemTime, PathBuf)>; 2] = Default::default();
        for entry in entries.filter_map(|entry| entry.ok()) {
            let path = entry.path();
            let Some(modified) = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
            else {
                continue;
            };
            if is_kept(&path, RESULT) {
                kept[0].push((modified, path));
            } else if is_kept(&path, INPUTS) {
                kept[1].push((modified, path));
            } else if is_abandoned(&path, modified, now) {
                let _ = fs::remove_file(&path);
            }
        }
        for mut files in kept {
            if files.len() <= KEPT {
                continue;
            }
            files.sort();
            for (_, path) in &files[..files.len() - KEPT] {
                let _ = fs::remove_file(path);
            }
        }
    }
}

fn is_abandoned(path: &Path, modified: std::time::SystemTime, now: std::time::SystemTime) -> bool {
    let named = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with(KEEPING));
    named
        && now
            .duration_since(modified)
            .is_ok_and(|age| age > ABANDONED)
}

/// A kept file's name: 64 hex digits and `suffix` ([`RESULT`] or [`INPUTS`]); nothing else
/// in the folder is ever removed.
fn is_kept(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(suffix))
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// A stored result. Its own shape rather than `check --format json`'s, which is made for
/// readers and may change for them.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    key: String,
    diagnostics: Vec<StoredDiagnostic>,
}

/// File, line and column.
type Place = (PathBuf, usize, usize);

#[derive(Serialize, Deserialize)]
struct StoredDiagnostic {
    error: bool,
    rule: String,
    location: Option<Place>,
    message: String,
    hint: Option<String>,
    /// The template and the other places of a folded finding.
    also: Option<(PathBuf, Vec<Place>)>,
}

impl From<&Diagnostic> for StoredDiagnostic {
    fn from(diagnostic: &Diagnostic) -> Self {
        let place = |location: &Location| (location.file.clone(), location.line, location.column);
        Self {
            error: diagnostic.severity == Severity::Error,
            rule: diagnostic.rule.to_owned(),
            location: diagnostic.location.as_ref().map(place),
            message: diagnostic.message.clone(),
            hint: diagnostic.hint.clone(),
            also: diagnostic.also.as_ref().map(|also| {
                (
                    also.template.clone(),
                    also.locations.iter().map(place).collect(),
                )
            }),
        }
    }
}

impl From<StoredDiagnostic> for Diagnostic {
    fn from(stored: StoredDiagnostic) -> Self {
        let place = |(file, line, column)| Location::new(file, line, column);
        Diagnostic {
            severity: match stored.error {
                true => Severity::Error,
                false => Severity::Warning,
            },
            rule: rule_name(stored.rule),
            location: stored.location.map(place),
            message: stored.message,
            hint: stored.hint,
            also: stored.also.map(|(template, locations)| {
                Box::new(Also {
                    template,
                    locations: locations.into_iter().map(place).collect(),
                })
            }),
        }
    }
}

/// Rules are names the program holds for its whole run; one read back is kept once, for the
/// rest of the run, like them.
fn rule_name(rule: String) -> &'static str {
    static RULES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut rules = RULES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = rules.get(rule.as_str()) {
        return known;
    }
    let kept: &'static str = Box::leak(rule.into_boxed_str());
    rules.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::pipeline::{Compiled, compile};
    use crate::tree::Origin;
    use crate::validate::load_schemas;

    fn example() -> Compiled {
        compile(Path::new(env!("CARGO_MANIFEST_DIR")), &[]).expect("the example fleet compiles")
    }

    fn key(compiled: &Compiled, schemas: &Schemas, strict: bool) -> Key {
        Key::of(
            &compiled.fleet,
            None,
            &compiled.rendered,
            schemas,
            Options { strict },
        )
        .expect("the test binary can be looked at")
    }

    fn main_tree(compiled: &mut Compiled) -> &mut Tree {
        let main = compiled.fleet.repo.main_branch.clone();
        compiled.rendered.branches.trees.get_mut(&main).unwrap()
    }

    #[test]
    fn equal_inputs_give_one_key_and_every_change_another() {
        let base = example();
        let (schemas, _) = load_schemas(&base.fleet, Some(&base.rendered)).unwrap();
        let first = key(&base, &schemas, false);
        assert_eq!(key(&example(), &schemas, false), first, "a second compile");

        let mut changed: Vec<(&str, Key)> = vec![("strict", key(&base, &schemas, true))];
        let mut more = Schemas::embedded(None).unwrap();
        more.add_crd_text(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.com\n  names: {kind: Widget}\n  scope: Namespaced\n  versions: [{name: v1, served: true}]\n",
            "widgets.yaml",
        )
        .unwrap();
        changed.push(("one more CRD", key(&base, &more, false)));

        let mut content = example();
        let tree = main_tree(&mut content);
        let (path, old) = tree
            .iter()
            .find(|(path, _)| path.ends_with(".yaml"))
            .map(|(path, content)| (path.to_owned(), content.to_vec()))
            .unwrap();
        let origin = tree.origin(&path);
        let mut new = old.clone();
        new.push(b'\n');
        tree.insert_from(&path, new.clone(), origin);
        changed.push((
            "a file changed after sealing",
            key(&content, &schemas, false),
        ));
        main_tree(&mut content).seal();
        changed.push(("a file changed and sealed", key(&content, &schemas, false)));

        let mut origins = example();
        main_tree(&mut origins).insert_from(&path, old, Origin::new(u64::MAX));
        main_tree(&mut origins).seal();
        changed.push(("another origin", key(&origins, &schemas, false)));

        let mut fleet = example();
        fleet.fleet.validation.strict = !fleet.fleet.validation.strict;
        changed.push(("the fleet", key(&fleet, &schemas, false)));

        let mut paths = example();
        let main = paths.fleet.repo.main_branch.clone();
        paths
            .rendered
            .bootstrap_paths
            .get_mut(&main)
            .unwrap()
            .insert("elsewhere".to_owned());
        changed.push(("a bootstrap path", key(&paths, &schemas, false)));

        for (what, changed) in &changed {
            assert_ne!(*changed, first, "{what}");
        }
    }

    #[test]
    fn the_fleet_digest_taken_ahead_is_the_fleets_share_of_the_key() {
        let base = example();
        let (schemas, _) = load_schemas(&base.fleet, Some(&base.rendered)).unwrap();
        let key_with = |digest| {
            Key::of(
                &base.fleet,
                digest,
                &base.rendered,
                &schemas,
                Options { strict: false },
            )
            .unwrap()
        };
        let fresh = key_with(None);
        assert_eq!(key_with(Some(FleetDigest::of(&base.fleet))), fresh);
        let mut other = example().fleet;
        other.validation.strict = !other.validation.strict;
        assert_ne!(FleetDigest::of(&other), FleetDigest::of(&base.fleet));
        assert_ne!(
            key_with(Some(FleetDigest::of(&other))),
            fresh,
            "the digest given is the one used"
        );
    }

    /// A sealed tree's ownership list lines are `digest  path`: a path with a line break in it
    /// can make two different trees write the same list. The key must still tell them apart.
    #[test]
    fn trees_whose_ownership_lists_read_alike_get_different_keys() {
        let digest = |content: &str| crate::tree::sha256_hex(content.as_bytes());
        let mut one = Tree::new();
        one.insert(format!("a\n{}  b", digest("B")), "A");
        one.insert("c", "C");
        one.seal();
        let mut other = Tree::new();
        other.insert("a", "A");
        other.insert(format!("b\n{}  c", digest("C")), "B");
        other.seal();
        assert_eq!(
            one.sealed_list(),
            other.sealed_list(),
            "the lists read alike"
        );
        assert_ne!(tree_digest("main", &one), tree_digest("main", &other));
    }

    fn findings() -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(
            Diagnostic::warning("unknown-kind", "no schema for example.com/v1 Widget")
                .at(Location::new("main/a.yaml", 3, 1))
                .with_hint("set `validation.crds`"),
        );
        let mut folded = Diagnostic::error("schema", "/spec/x: unknown field `x`")
            .at(Location::new("e0/b.yaml", 7, 2));
        folded.also = Some(Box::new(Also {
            template: "blueprints/x/files/b.yaml".into(),
            locations: vec![Location::new("e1/b.yaml", 7, 2)],
        }));
        diagnostics.push(folded);
        diagnostics.push(Diagnostic::warning("no-schemas", "nowhere"));
        diagnostics
    }

    #[test]
    fn a_result_comes_back_as_it_was_kept_and_only_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Reuse::new(dir.path().join("validated"));
        let key = Key([7; 32]);
        assert_eq!(store.get(&key), None);
        assert!(!store.reused());
        store.put(&key, &findings());
        assert_eq!(store.get(&key), Some(findings()));
        assert!(store.reused());
        assert_eq!(store.get(&Key([8; 32])), None);

        // A result renamed to another key, a damaged one and a link are not read.
        let other = Key([9; 32]);
        fs::copy(store.path(&key), store.path(&other)).unwrap();
        assert_eq!(store.get(&other), None, "renamed");
        fs::write(store.path(&other), b"{\"format\":").unwrap();
        assert_eq!(store.get(&other), None, "damaged");
        fs::remove_file(store.path(&other)).unwrap();
        std::os::unix::fs::symlink(store.path(&key), store.path(&other)).unwrap();
        assert_eq!(store.get(&other), None, "a link");
    }

    /// A finding quotes the fleet source, which a pull request writes: a line break and a
    /// document separator, paths leaving the fleet, escape sequences. Kept and read back, it is
    /// the same data, printed as the fresh one is, and nothing is written but the result.
    #[test]
    fn hostile_text_in_a_finding_comes_back_as_data() {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(
            Diagnostic::error(
                "made-up-rule",
                "value `x\n---\nkind: Secret\n` is not allowed",
            )
            .at(Location::new("../../etc/passwd", 2, 1))
            .with_hint("\u{1b}[2J::error::cleared\r\n"),
        );
        let mut folded = Diagnostic::warning("schema", "a\0b");
        folded.also = Some(Box::new(Also {
            template: "/etc/shadow".into(),
            locations: vec![Location::new("main/../../x.yaml\n---", 1, 1)],
        }));
        diagnostics.push(folded);
        let dir = tempfile::tempdir().unwrap();
        let store = Reuse::new(dir.path().join("validated"));
        store.put(&Key([3; 32]), &diagnostics);
        let back = store.get(&Key([3; 32])).unwrap();
        assert_eq!(back, diagnostics);
        let printed = |diagnostics: &Diagnostics| -> Vec<String> {
            diagnostics.iter().map(ToString::to_string).collect()
        };
        assert_eq!(printed(&back), printed(&diagnostics));
        let written: Vec<_> = walkdir::WalkDir::new(dir.path())
            .into_iter()
            .map(|entry| entry.unwrap().into_path())
            .filter(|path| path.is_file())
            .collect();
        assert_eq!(written, [store.path(&Key([3; 32]))]);
    }

    #[test]
    fn a_store_that_cannot_be_written_costs_only_the_reuse() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("validated"),
            "a file where the folder would be",
        )
        .unwrap();
        let store = Reuse::new(dir.path().join("validated"));
        store.put(&Key([1; 32]), &findings());
        assert_eq!(store.get(&Key([1; 32])), None);
    }

    /// Marks a kept file as last used `seconds` after `start`.
    fn used_at(path: &Path, start: std::time::SystemTime, seconds: u8) {
        let file = fs::File::options().append(true).open(path).unwrap();
        file.set_modified(start + std::time::Duration::from_secs(u64::from(seconds)))
            .unwrap();
    }

    #[test]
    fn the_results_used_least_recently_and_abandoned_writes_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = Reuse::new(dir.path());
        fs::write(dir.path().join("notes.json"), "mine").unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        // One left by a killed run, and one another run is writing.
        for (name, modified) in [
            ("killed", long_ago),
            ("writing", std::time::SystemTime::now()),
        ] {
            let file = fs::File::create(dir.path().join(format!("{KEEPING}{name}"))).unwrap();
            file.set_modified(modified).unwrap();
        }
        for number in 0..KEPT as u8 {
            store.put(&Key([number; 32]), &findings());
            used_at(&store.path(&Key([number; 32])), long_ago, number);
        }
        // The oldest is used again, so the second oldest goes when one more is kept.
        assert!(store.get(&Key([0; 32])).is_some());
        store.put(&Key([200; 32]), &findings());
        assert!(store.path(&Key([0; 32])).exists());
        assert!(!store.path(&Key([1; 32])).exists());
        assert!(store.path(&Key([2; 32])).exists());
        assert!(store.path(&Key([200; 32])).exists());
        assert!(dir.path().join("notes.json").exists());
        assert!(!dir.path().join(format!("{KEEPING}killed")).exists());
        assert!(dir.path().join(format!("{KEEPING}writing")).exists());
        let kept = fs::read_dir(dir.path())
            .unwrap()
            .filter(|entry| is_kept(&entry.as_ref().unwrap().path(), RESULT))
            .count();
        assert_eq!(kept, KEPT);
    }

    #[test]
    fn inputs_are_noted_only_for_a_run_whose_findings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = Inputs([5; 32]);
        let nothing_kept = Reuse::new(dir.path().join("validated"));
        nothing_kept.remember(&inputs);
        assert!(!nothing_kept.expects(&inputs));
        assert!(!dir.path().join("validated").exists());

        let storing = Reuse::new(dir.path().join("validated"));
        storing.put(&Key([1; 32]), &findings());
        storing.remember(&inputs);
        assert!(storing.expects(&inputs));
        assert!(!storing.expects(&Inputs([6; 32])));
        assert_eq!(fs::read(storing.inputs_path(&inputs)).unwrap(), b"");

        let reusing = Reuse::new(dir.path().join("validated"));
        assert!(reusing.get(&Key([1; 32])).is_some());
        let other = Inputs([6; 32]);
        reusing.remember(&other);
        assert!(reusing.expects(&other));

        // A link where a note would be is not one, and noting those inputs leaves what it
        // points to alone.
        let linked = Inputs([7; 32]);
        let outside = dir.path().join("outside");
        fs::write(&outside, "keep").unwrap();
        std::os::unix::fs::symlink(&outside, storing.inputs_path(&linked)).unwrap();
        assert!(!storing.expects(&linked));
        storing.remember(&linked);
        assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
        assert!(!storing.expects(&linked));
    }

    #[test]
    fn notes_of_inputs_are_pruned_apart_from_results() {
        let dir = tempfile::tempdir().unwrap();
        let store = Reuse::new(dir.path());
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        store.put(&Key([0; 32]), &findings());
        for number in 0..=KEPT as u8 {
            store.remember(&Inputs([number; 32]));
            used_at(&store.inputs_path(&Inputs([number; 32])), long_ago, number);
        }
        store.remember(&Inputs([200; 32]));
        let count = |suffix: &str| {
            fs::read_dir(dir.path())
                .unwrap()
                .filter(|entry| is_kept(&entry.as_ref().unwrap().path(), suffix))
                .count()
        };
        assert_eq!(count(INPUTS), KEPT);
        assert_eq!(count(RESULT), 1);
        assert!(!store.expects(&Inputs([0; 32])));
        assert!(!store.expects(&Inputs([1; 32])));
        assert!(store.expects(&Inputs([2; 32])));
        assert!(store.expects(&Inputs([200; 32])));
    }
}
