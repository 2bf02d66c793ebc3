//! Rendered files as Kubernetes objects: every YAML document of every branch, parsed once and
//! shared by the schema and graph checks, with enough of its text kept to point a finding at
//! the line of the field it is about.

use std::hash::BuildHasher;

use rayon::prelude::*;
use serde_json::Value;

use super::kept::Kept;
use super::locate;
use crate::diagnostic::{Diagnostic, Location};
use crate::render::documents::{self, parse};
use crate::render::is_yaml;
use crate::render::values::ValueCheck;
use crate::tree::{Branches, OWNED_LIST, Origin};

/// One YAML document of a rendered file, borrowing its names and text from the rendered trees.
///
/// Only the documents the graph checks read keep their parsed value, in the compact [`Kept`]
/// form: Flux objects, kustomize files and Secrets. Every other object keeps its identity
/// (apiVersion, kind, name, namespace) and its text; its value is `Null` once the schema check
/// has seen it, so that a large fleet is never held in memory twice.
#[derive(Debug, Clone)]
pub struct Document<'t> {
    pub branch: &'t str,
    pub path: &'t str,
    /// Position of the document in its file, from 0.
    pub index: usize,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
    /// The document's own text, for locating fields.
    pub text: &'t str,
    /// The parsed document, or `Null` when no check after the schemas reads it.
    pub value: Kept,
    /// The template and values its file was rendered from, when render wrote it: what names
    /// the template of a finding about it (see [`ValueCheck::template`]).
    pub origin: Option<Origin>,
    id: Identity,
}

const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// The fields every check reads, kept when the value is not.
#[derive(Debug, Clone, Default)]
struct Identity {
    api_version: Word,
    kind: Word,
    name: Option<Box<str>>,
    namespace: Word,
    /// Flux's `kustomize.toolkit.fluxcd.io/prune` annotation, which any object may carry: what
    /// Flux prunes is worked out from objects whose value is let go.
    prune: Option<Box<str>>,
}

/// A field most documents share a few values of: apiVersion, kind, namespace. One of the
/// [`COMMON_WORDS`] is not allocated, and the field takes sixteen bytes whatever it holds
/// (an absent field is a number no word has: a variant of its own would take eight more).
#[derive(Debug, Clone)]
enum Word {
    Common(u8),
    Other(Box<str>),
}

impl Default for Word {
    fn default() -> Self {
        Word::Common(Word::ABSENT)
    }
}

/// Values of apiVersion, kind and namespace common in fleets, sorted.
const COMMON_WORDS: &[&str] = &[
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "Deployment",
    "GitRepository",
    "HelmRelease",
    "HelmRepository",
    "Kustomization",
    "Namespace",
    "NetworkPolicy",
    "OCIRepository",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "apps/v1",
    "default",
    "flux-system",
    "helm.toolkit.fluxcd.io/v2",
    "kustomize.config.k8s.io/v1beta1",
    "kustomize.toolkit.fluxcd.io/v1",
    "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
    "source.toolkit.fluxcd.io/v1",
    "v1",
];

impl Word {
    const ABSENT: u8 = u8::MAX;

    fn of(value: Option<&Value>) -> Self {
        match value.and_then(Value::as_str) {
            None => Word::default(),
            Some(text) => match COMMON_WORDS.binary_search(&text) {
                Ok(index) => Word::Common(u8::try_from(index).expect("few common words")),
                Err(_) => Word::Other(text.into()),
            },
        }
    }

    fn as_deref(&self) -> Option<&str> {
        match self {
            Word::Common(Word::ABSENT) => None,
            Word::Common(index) => Some(COMMON_WORDS[usize::from(*index)]),
            Word::Other(text) => Some(text),
        }
    }
}

impl Identity {
    fn of(value: &Value) -> Self {
        // Field by field rather than by JSON pointer: a pointer is split and unescaped into new
        // strings on every call, and this runs for every document of a render.
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(Box::from);
        let metadata = value.get("metadata");
        Self {
            api_version: Word::of(value.get("apiVersion")),
            kind: Word::of(value.get("kind")),
            name: text(metadata.and_then(|metadata| metadata.get("name"))),
            namespace: Word::of(metadata.and_then(|metadata| metadata.get("namespace"))),
            prune: text(
                metadata
                    .and_then(|metadata| metadata.get("annotations"))
                    .and_then(|annotations| annotations.get(PRUNE_ANNOTATION)),
            ),
        }
    }
}

impl<'t> Document<'t> {
    /// A parsed document of file `path` of `branch`, holding no value yet.
    fn new(
        branch: &'t str,
        path: &'t str,
        origin: Option<Origin>,
        parsed: &documents::Parsed<'t>,
    ) -> Self {
        Document {
            branch,
            path,
            index: parsed.index,
            first_line: parsed.first_line,
            text: parsed.text,
            id: Identity::of(&parsed.value),
            value: Kept::Null,
            origin,
        }
    }

    /// `<branch>/<path>`, the file name findings about rendered output use.
    pub fn file(&self) -> String {
        format!("{}/{}", self.branch, self.path)
    }

    /// The whole parsed document, parsed again from its text when its value was let go: for
    /// the few readers that need every field of any object (`build` prints them).
    pub fn full_value(&self) -> Value {
        match self.value.is_null() {
            true => parse(self.text).unwrap_or(Value::Null),
            false => Value::from(&self.value),
        }
    }

    /// The string at `pointer` of the kept value: `None` for any field of an object whose
    /// value was let go (see [`Document::full_value`]).
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Kept::as_str)
    }

    pub fn api_version(&self) -> Option<&str> {
        self.id.api_version.as_deref()
    }

    pub fn kind(&self) -> Option<&str> {
        self.id.kind.as_deref()
    }

    /// `(group, version)` of the apiVersion; the core group is `""`.
    pub fn group_version(&self) -> Option<(&str, &str)> {
        let api_version = self.api_version()?;
        Some(match api_version.rsplit_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        })
    }

    pub fn name(&self) -> Option<&str> {
        self.id.name.as_deref()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.id.namespace.as_deref()
    }

    /// The object's `kustomize.toolkit.fluxcd.io/prune` annotation; `disabled` keeps it on the
    /// cluster when it leaves Flux's inventory.
    pub fn prune(&self) -> Option<&str> {
        self.id.prune.as_deref()
    }

    /// Whether this is a Kubernetes object at all (kustomize's own files are not).
    pub fn is_object(&self) -> bool {
        self.api_version().is_some() && self.kind().is_some()
    }

    /// `apiVersion Kind namespace/name`, how messages name an object.
    pub fn describe(&self) -> String {
        let name = self.name().unwrap_or("?");
        let qualified = match self.namespace() {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name.to_owned(),
        };
        format!(
            "{} {} {qualified}",
            self.api_version().unwrap_or("?"),
            self.kind().unwrap_or("?")
        )
    }

    /// The location of the node at JSON `pointer`, or of its nearest ancestor that can be
    /// found in the text, or of the document's start.
    pub fn location(&self, pointer: &str) -> Location {
        let segments = pointer_segments(pointer);
        // A document whose value was let go is parsed again: findings are few.
        let line = locate::line(self.text, &self.full_value(), &segments).unwrap_or(1);
        Location::new(self.file(), self.first_line + line - 1, 1)
    }

    /// Whether a check after the schemas reads this document's value: the graph and the
    /// Secrets read Flux objects and kustomize files, the plain-text check reads Secrets.
    fn value_is_read_later(&self) -> bool {
        match self.group_version() {
            None => true,
            Some(_) if self.kind() == Some("Secret") => true,
            Some((group, _)) => {
                group.ends_with(".toolkit.fluxcd.io") || group == "kustomize.config.k8s.io"
            }
        }
    }

    /// Keeps the value, compactly, when a check after the schemas reads it.
    fn keep_if_read_later(&mut self, value: &Value) {
        if self.value_is_read_later() {
            self.value = Kept::from(value);
        }
    }
}

/// Splits a JSON pointer into its unescaped segments.
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Escapes one segment for a JSON pointer.
pub fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// One file's documents, what the per-document check found in them and what the value check
/// found; or why the file could not be read.
type FileResult<'t> = Result<(Vec<Document<'t>>, Vec<Diagnostic>, Option<Diagnostic>), Diagnostic>;

/// What parsing the rendered trees found.
#[derive(Debug, Default)]
pub struct Parsed<'t> {
    /// Every document, in branch, path and document order.
    pub documents: Vec<Document<'t>>,
    /// Files that are not valid YAML.
    pub syntax: Vec<Diagnostic>,
    /// What the value check found in rendered files (see [`ValueCheck`]), with the branch.
    pub values: Vec<(&'t str, &'t str, Diagnostic)>,
    /// What the per-document check found, in document order.
    pub findings: Vec<Diagnostic>,
}

/// Every YAML document of every file of `branches`, in branch and path order, plus the
/// findings for files that are not valid YAML.
pub fn parse_branches(branches: &Branches) -> (Vec<Document<'_>>, Vec<Diagnostic>) {
    let parsed = parse_and_check(branches, None, |_, _| Vec::new(), &|| {});
    (parsed.documents, parsed.syntax)
}

/// Parses every YAML document of `branches` once, in parallel, runs the value check (when
/// given) on each file, hands `check` each document's whole value (to keep or consume), and
/// keeps of each what the later checks need. `tick` is called once per file, from any thread.
///
/// What `check` finds must follow from the document's bytes alone, up to the file it names:
/// of files with equal bytes, it sees one unless that one has findings.
pub fn parse_and_check<'t>(
    branches: &'t Branches,
    values: Option<&ValueCheck>,
    check: impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync,
    tick: &(dyn Fn() + Sync),
) -> Parsed<'t> {
    // The files, lazily: a list of them all would itself weigh on a large fleet.
    let files = || {
        branches
            .iter()
            .flat_map(|(branch, tree)| {
                tree.iter_with_origins()
                    .map(move |(path, content, origin)| (branch, path, content, origin))
            })
            .filter(|(_, path, _, _)| is_yaml(path) && *path != OWNED_LIST)
    };
    // Every document's slot is reserved up front, from a count of separators that can only
    // overshoot (empty documents are dropped), and files are parsed a chunk at a time: the
    // list is then filled without ever being copied, and only two chunks' documents wait
    // beside it. Collecting every file's documents first held a large fleet's twice.
    let bound = files()
        .par_bridge()
        .map(|(_, _, content, _)| documents::bound(content))
        .sum();
    let mut parsed = Parsed {
        documents: Vec::with_capacity(bound),
        ..Parsed::default()
    };
    let mut remaining = files();
    // A chunk's results join the list on this thread while the next chunk is parsed on the
    // others: joining is serial, and waiting for it left cores idle between chunks.
    let mut read: Option<ChunkRead<'t>> = None;
    loop {
        let chunk: Vec<FileAt<'t>> = remaining.by_ref().take(PARSE_CHUNK).collect();
        let done = read.take();
        let ((), next) = rayon::join(
            || {
                if let Some(done) = done {
                    done.join(&mut parsed);
                }
            },
            || read_chunk(chunk, values, &check, tick),
        );
        if next.chunk.is_empty() {
            break;
        }
        read = Some(next);
    }
    parsed
}

/// A chunk of files and what reading each gave.
struct ChunkRead<'t> {
    chunk: Vec<FileAt<'t>>,
    per_file: Vec<Option<FileResult<'t>>>,
}

/// Reads a chunk's files in parallel, files alike once.
fn read_chunk<'t>(
    chunk: Vec<FileAt<'t>>,
    values: Option<&ValueCheck>,
    check: &(impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync),
    tick: &(dyn Fn() + Sync),
) -> ChunkRead<'t> {
    // Files alike are read once: many clusters render a tenant's files to the same bytes.
    let groups = documents::same_content(chunk.iter().map(|(_, _, content, _)| *content));
    let mut per_file: Vec<Option<FileResult<'t>>> = Vec::new();
    per_file.resize_with(chunk.len(), || None);
    let read: Vec<Vec<(usize, FileResult<'t>)>> = groups
        .par_iter()
        .map(|group| read_alike(&chunk, group, values, check, tick))
        .collect();
    for (index, result) in read.into_iter().flatten() {
        per_file[index] = Some(result);
    }
    ChunkRead { chunk, per_file }
}

impl<'t> ChunkRead<'t> {
    /// Adds the chunk's documents and findings to `parsed`, in file order.
    fn join(self, parsed: &mut Parsed<'t>) {
        for (result, (branch, path, ..)) in self.per_file.into_iter().zip(&self.chunk) {
            match result.expect("every file of a chunk is in one group") {
                Ok((documents, findings, value_finding)) => {
                    parsed.documents.extend(documents);
                    parsed.findings.extend(findings);
                    parsed
                        .values
                        .extend(value_finding.map(|finding| (*branch, *path, finding)));
                }
                Err(diagnostic) => parsed.syntax.push(diagnostic),
            }
        }
    }
}

/// A rendered file: branch, path, content and origin.
type FileAt<'t> = (&'t str, &'t str, &'t [u8], Option<Origin>);

/// Reads the files of `group`, which hold equal bytes, from one parse: each gets its own
/// documents and value check (the values that filled it are its own). `check` runs on the
/// first; its findings depend on a document's bytes and differ only in the file they name, so
/// the others are checked, each from a parse of its own, only when the first has findings.
fn read_alike<'t>(
    chunk: &[FileAt<'t>],
    group: &[usize],
    values: Option<&ValueCheck>,
    check: &(impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync),
    tick: &(dyn Fn() + Sync),
) -> Vec<(usize, FileResult<'t>)> {
    let (_, _, content, _) = chunk[group[0]];
    let read = match documents::parse_bytes(content) {
        Ok(read) => read,
        Err((line, message)) => {
            return group
                .iter()
                .map(|&index| {
                    let (branch, path, _, origin) = chunk[index];
                    let diagnostic = values
                        .and_then(|values| values.unreadable(path, origin, &message))
                        .unwrap_or_else(|| syntax_error(branch, path, line, message.clone()));
                    tick();
                    (index, Err(diagnostic))
                })
                .collect();
        }
    };
    let mut files: Vec<(usize, Vec<Document<'t>>, Option<Diagnostic>)> = group
        .iter()
        .map(|&index| {
            let (branch, path, _, origin) = chunk[index];
            let value_finding = values.and_then(|values| values.file(branch, path, origin, &read));
            let documents = read
                .iter()
                .map(|one| {
                    let mut document = Document::new(branch, path, origin, one);
                    document.keep_if_read_later(&one.value);
                    document
                })
                .collect();
            tick();
            (index, documents, value_finding)
        })
        .collect();
    let mut findings = vec![checked(&files[0].1, read, check)];
    if !findings[0].is_empty() {
        for (index, documents, _) in &files[1..] {
            let (_, _, content, _) = chunk[*index];
            let again = documents::parse_bytes(content).unwrap_or_default();
            findings.push(checked(documents, again, check));
        }
    }
    findings.resize_with(files.len(), Vec::new);
    files
        .drain(..)
        .zip(findings)
        .map(|((index, documents, value_finding), findings)| {
            (index, Ok((documents, findings, value_finding)))
        })
        .collect()
}

/// `check`'s findings for each of a file's documents, handed their values.
fn checked<'t>(
    documents: &[Document<'t>],
    read: Vec<documents::Parsed<'t>>,
    check: &impl Fn(&Document<'t>, Value) -> Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    documents
        .iter()
        .zip(read)
        .flat_map(|(document, one)| check(document, one.value))
        .collect()
}

/// Files parsed in parallel before their documents join the list: enough to keep every
/// thread busy, few enough that a chunk's documents are small beside the list.
const PARSE_CHUNK: usize = 4096;

/// Splits a file at its `---` lines and parses each document, keeping every value. Empty
/// documents are dropped.
pub fn parse_file<'t>(
    branch: &'t str,
    path: &'t str,
    content: &'t [u8],
) -> Result<Vec<Document<'t>>, Diagnostic> {
    Ok(documents::parse_bytes(content)
        .map_err(|(line, message)| syntax_error(branch, path, line, message))?
        .into_iter()
        .map(|one| {
            let mut document = Document::new(branch, path, None, &one);
            document.value = Kept::from(&one.value);
            document
        })
        .collect())
}

fn syntax_error(branch: &str, path: &str, line: Option<usize>, message: String) -> Diagnostic {
    let file = format!("{branch}/{path}");
    let diagnostic = Diagnostic::error("yaml-syntax", message);
    match line {
        Some(line) => diagnostic.at(Location::new(file, line, 1)),
        None => diagnostic.at_file(file),
    }
}

/// The documents of one file at a time: found by bisecting the documents, which come in branch
/// and path order, or, for the graph's walk, which asks for every file it builds, through a
/// hash index of where each file's documents start.
#[derive(Debug, Clone)]
pub struct ByFile<'a, 't> {
    documents: &'a [Document<'t>],
    /// The index of each file's first document, by the hash of its branch and path: four bytes
    /// a file, where a map keyed by both would hold two more slices.
    starts: Option<(hashbrown::HashTable<u32>, foldhash::fast::RandomState)>,
}

impl<'a, 't> ByFile<'a, 't> {
    /// `documents` must be in branch and path order, as [`parse_and_check`] returns them.
    pub fn new(documents: &'a [Document<'t>]) -> Self {
        assert!(
            documents.is_sorted_by_key(|document| (document.branch, document.path)),
            "documents come in branch and path order"
        );
        Self {
            documents,
            starts: None,
        }
    }

    /// [`ByFile::new`] with the hash index, for asking of most files: bisecting half a million
    /// documents compares long shared path prefixes some twenty times a file.
    pub fn indexed(documents: &'a [Document<'t>]) -> Self {
        let mut by_file = Self::new(documents);
        let state = foldhash::fast::RandomState::default();
        // Sized for the most files there can be, so that growing never hashes a path again.
        let mut starts = hashbrown::HashTable::with_capacity(documents.len());
        for (index, document) in documents.iter().enumerate() {
            let first = index == 0 || {
                let previous = &documents[index - 1];
                (previous.branch, previous.path) != (document.branch, document.path)
            };
            if first {
                let start = u32::try_from(index).expect("fewer than 2^32 documents");
                starts.insert_unique(
                    state.hash_one((document.branch, document.path)),
                    start,
                    |start: &u32| {
                        let document = &documents[*start as usize];
                        state.hash_one((document.branch, document.path))
                    },
                );
            }
        }
        by_file.starts = Some((starts, state));
        by_file
    }

    /// The documents of `path` on `branch`, in document order.
    pub fn get(&self, branch: &str, path: &str) -> &'a [Document<'t>] {
        let key = (branch, path);
        let is_key = |document: &Document<'_>| (document.branch, document.path) == key;
        let start = match &self.starts {
            Some((starts, state)) => {
                let found = starts.find(state.hash_one(key), |start| {
                    is_key(&self.documents[*start as usize])
                });
                match found {
                    Some(start) => *start as usize,
                    None => return &[],
                }
            }
            None => self
                .documents
                .partition_point(|document| (document.branch, document.path) < key),
        };
        let length = self.documents[start..]
            .iter()
            .take_while(|document| is_key(document))
            .count();
        &self.documents[start..start + length]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::tree::Tree;

    const TEXT: &str = "\
# Code generated by fleetgen. DO NOT EDIT.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  labels: {a: b}
spec:
  dependsOn:
    - name: infra
      namespace: flux-system
    - name: other
  sourceRef:
    kind: GitRepository
    name: flux-system
  patches:
  - patch: |
      kind: X
      path: no
    target:
      kind: Y
  postBuild:
    substitute:
      'quoted key': value
---
kind: Second
";

    fn document() -> Document<'static> {
        let documents = parse_file("main", "a.yaml", TEXT.as_bytes()).unwrap();
        assert_eq!(documents.len(), 2);
        documents.into_iter().next().unwrap()
    }

    #[test]
    fn files_across_many_chunks_are_read_in_order() {
        // Enough files for three chunks, some alike, one unreadable, on two branches.
        let mut trees = BTreeMap::new();
        for branch in ["a", "b"] {
            let mut tree = Tree::new();
            for index in 0..PARSE_CHUNK + 7 {
                let content = match index % 5 {
                    0 => "kind: Same\n---\nkind: Second\n".to_owned(),
                    _ if index == 4101 => "kind: [unclosed\n".to_owned(),
                    _ => format!("kind: K{index}\nmetadata: {{name: n{index}}}\n"),
                };
                tree.insert(format!("f{index:05}.yaml"), content);
            }
            trees.insert(branch.to_owned(), tree);
        }
        let branches = Branches { trees };
        let parsed = parse_and_check(
            &branches,
            None,
            |document, _| {
                (document.path == "f00003.yaml")
                    .then(|| Diagnostic::error("test", document.branch))
                    .into_iter()
                    .collect()
            },
            &|| {},
        );
        let expected: Vec<(&str, &str, usize)> = branches
            .iter()
            .flat_map(|(branch, tree)| tree.iter().map(move |(path, _)| (branch, path)))
            .filter(|(_, path)| *path != "f04101.yaml")
            .flat_map(|(branch, path)| {
                let count = if path[1..6].parse::<usize>().unwrap() % 5 == 0 {
                    2
                } else {
                    1
                };
                (0..count).map(move |index| (branch, path, index))
            })
            .collect();
        let found: Vec<(&str, &str, usize)> = parsed
            .documents
            .iter()
            .map(|document| (document.branch, document.path, document.index))
            .collect();
        assert_eq!(found, expected);
        let findings: Vec<&str> = parsed.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(findings, ["a", "b"]);
        assert_eq!(parsed.syntax.len(), 2);
    }

    #[test]
    fn common_words_are_sorted_and_any_word_reads_back() {
        assert!(COMMON_WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(COMMON_WORDS.len() <= usize::from(Word::ABSENT));
        assert_eq!(std::mem::size_of::<Word>(), 16);
        for text in ["v1", "flux-system", "Kustomization", "tenant-a", ""] {
            let value = Value::String(text.to_owned());
            assert_eq!(Word::of(Some(&value)).as_deref(), Some(text));
        }
        assert!(matches!(
            Word::of(Some(&Value::from("v1"))),
            Word::Common(_)
        ));
        assert_eq!(Word::of(None).as_deref(), None);
        assert_eq!(Word::of(Some(&Value::from(1))).as_deref(), None);
    }

    #[test]
    fn files_alike_are_checked_once_unless_the_check_finds_something() {
        let mut branches = Branches::default();
        let mut tree = crate::tree::Tree::new();
        for path in ["a.yaml", "b.yaml", "c.yaml"] {
            tree.insert(path, "kind: Good\n---\nkind: Other\n");
        }
        for path in ["d.yaml", "e.yaml"] {
            tree.insert(path, "kind: Bad\n");
        }
        tree.insert("f.yaml", "kind: Bad # not alike\n");
        branches.trees.insert("main".to_owned(), tree);
        let checked = std::sync::Mutex::new(Vec::new());
        let parsed = parse_and_check(
            &branches,
            None,
            |document, value| {
                checked.lock().unwrap().push(document.path);
                match value.get("kind").and_then(Value::as_str) {
                    Some("Bad") => vec![Diagnostic::error("bad", "bad").at(document.location(""))],
                    _ => Vec::new(),
                }
            },
            &|| {},
        );
        // Every file has its own documents, in order.
        let files: Vec<(&str, &str)> = parsed
            .documents
            .iter()
            .map(|document| (document.path, document.kind().unwrap()))
            .collect();
        assert_eq!(
            files,
            [
                ("a.yaml", "Good"),
                ("a.yaml", "Other"),
                ("b.yaml", "Good"),
                ("b.yaml", "Other"),
                ("c.yaml", "Good"),
                ("c.yaml", "Other"),
                ("d.yaml", "Bad"),
                ("e.yaml", "Bad"),
                ("f.yaml", "Bad"),
            ]
        );
        // A file alike to one the check passed is not checked again; one alike to a file with
        // findings is, and its findings name it.
        let mut checked = checked.into_inner().unwrap();
        checked.sort();
        assert_eq!(checked, ["a.yaml", "a.yaml", "d.yaml", "e.yaml", "f.yaml"]);
        let found: Vec<String> = parsed
            .findings
            .iter()
            .map(|finding| {
                finding
                    .location
                    .as_ref()
                    .unwrap()
                    .file
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(found, ["main/d.yaml", "main/e.yaml", "main/f.yaml"]);
    }

    #[test]
    fn documents_of_a_file_are_found_by_branch_and_path() {
        let mut branches = Branches::default();
        for branch in ["dev", "main"] {
            let mut tree = crate::tree::Tree::new();
            tree.insert("a.yaml", "kind: A\n---\nkind: B\n");
            tree.insert("b.yaml", "kind: C\n");
            tree.insert("c/d.yaml", "kind: D\n");
            branches.trees.insert(branch.to_owned(), tree);
        }
        let (documents, _) = parse_branches(&branches);
        // Both ways of finding a file's documents must agree, on files there and not there.
        for files in [ByFile::new(&documents), ByFile::indexed(&documents)] {
            let kinds = |branch: &str, path: &str| -> Vec<&str> {
                files
                    .get(branch, path)
                    .iter()
                    .map(|document| {
                        assert_eq!((document.branch, document.path), (branch, path));
                        document.text.trim()
                    })
                    .collect()
            };
            assert_eq!(kinds("dev", "a.yaml"), ["kind: A", "kind: B"]);
            assert_eq!(kinds("main", "a.yaml"), ["kind: A", "kind: B"]);
            assert_eq!(kinds("main", "c/d.yaml"), ["kind: D"]);
            assert!(kinds("dev", "c").is_empty());
            assert!(kinds("qa", "a.yaml").is_empty());
            assert!(kinds("main", "z.yaml").is_empty());
            assert!(kinds("main", "").is_empty());
        }
    }

    #[test]
    fn locates_keys_list_items_and_their_fields() {
        let document = document();
        let line = |pointer: &str| document.location(pointer).line;
        assert_eq!(line("/kind"), 3);
        assert_eq!(line("/metadata/name"), 5);
        assert_eq!(line("/metadata/labels/a"), 6);
        assert_eq!(line("/spec/dependsOn/0"), 9);
        assert_eq!(line("/spec/dependsOn/0/namespace"), 10);
        assert_eq!(line("/spec/dependsOn/1/name"), 11);
        assert_eq!(line("/spec/sourceRef/name"), 14);
        assert_eq!(line("/spec/patches/0/target/kind"), 20);
        assert_eq!(line("/spec/postBuild/substitute/quoted key"), 23);
        assert_eq!(line("/spec/missing"), 7);
        assert_eq!(
            document.location("").file,
            std::path::PathBuf::from("main/a.yaml")
        );
    }

    #[test]
    fn second_document_keeps_its_file_line() {
        let documents = parse_file("main", "a.yaml", TEXT.as_bytes()).unwrap();
        assert_eq!(documents[1].location("/kind").line, 25);
        assert_eq!(documents[1].index, 1);
    }

    #[test]
    fn syntax_errors_point_into_the_file() {
        let error = parse_file("dev", "x.yaml", b"a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(error.rule, "yaml-syntax");
        assert_eq!(
            error.location.unwrap().file,
            std::path::PathBuf::from("dev/x.yaml")
        );
    }

    #[test]
    fn objects_let_go_after_parsing_give_back_their_whole_value() {
        let mut tree = crate::tree::Tree::new();
        tree.insert(
            "apps/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  key: value\n---\nkind: Kustomization\nresources: [cm.yaml]\n",
        );
        let mut branches = Branches::default();
        branches.trees.insert("main".to_owned(), tree);
        let (documents, syntax) = parse_branches(&branches);
        assert!(syntax.is_empty());
        let (config_map, kustomization) = (&documents[0], &documents[1]);
        assert!(config_map.value.is_null());
        assert_eq!(config_map.str_at("/data/key"), None);
        assert_eq!(
            config_map.full_value().pointer("/data/key"),
            Some(&Value::from("value"))
        );
        assert_eq!(
            kustomization.str_at("/kind"),
            Some("Kustomization"),
            "a Flux object keeps its value"
        );
        assert_eq!(Kept::from(&kustomization.full_value()), kustomization.value);
    }

    #[test]
    fn compact_sequences_under_a_key() {
        let text = "spec:\n  resources:\n  - a.yaml\n  - b.yaml\n";
        let documents = parse_file("main", "k.yaml", text.as_bytes()).unwrap();
        assert_eq!(documents[0].location("/spec/resources/1").line, 4);
    }

    #[test]
    fn an_object_let_go_of_keeps_its_prune_annotation() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n";
        let mut tree = crate::tree::Tree::new();
        tree.insert("ns.yaml", text);
        let mut branches = Branches::default();
        branches.trees.insert("main".to_owned(), tree);
        let (documents, _) = parse_branches(&branches);
        let namespace = &documents[0];
        assert!(namespace.value.is_null());
        assert_eq!(namespace.prune(), Some("disabled"));
    }
}
