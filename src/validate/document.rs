//! Rendered files as Kubernetes objects: every YAML document of every branch, parsed once and
//! shared by the schema and graph checks, with enough of its text kept to point a finding at
//! the line of the field it is about.

use std::hash::BuildHasher;
use std::sync::Arc;

use serde_json::Value;

use super::kept::{Held, Kept};
use super::locate;
use crate::diagnostic::Location;
use crate::render::documents::{self, parse};
use crate::tree::Origin;

/// The Cluster API groups whose objects refer to others (a Cluster to its infrastructure and
/// control plane, a machine deployment to its templates): the graph checks their references.
const CAPI_REFERRING_GROUPS: [&str; 2] = ["cluster.x-k8s.io", "controlplane.cluster.x-k8s.io"];

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
    pub value: Held,
    /// The template and values its file was rendered from, when render wrote it: what names
    /// the template of a finding about it (see [`ValueCheck::template`](crate::render::values::ValueCheck::template)).
    pub origin: Option<Origin>,
    /// Shared by the same document of files alike, as its value is.
    id: Arc<Identity>,
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
    /// This document as the same document of another file with equal bytes: its value is
    /// shared, not kept again.
    pub(super) fn alike(&self, branch: &'t str, path: &'t str, origin: Option<Origin>) -> Self {
        Document {
            branch,
            path,
            origin,
            ..self.clone()
        }
    }

    /// A parsed document of file `path` of `branch`, holding no value yet.
    pub(super) fn new(
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
            id: Arc::new(Identity::of(&parsed.value)),
            value: Held::default(),
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
            false => Value::from(&*self.value),
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
    /// Secrets read Flux objects and kustomize files, the graph Cluster API's references, the
    /// plain-text check Secrets.
    fn value_is_read_later(&self) -> bool {
        match self.group_version() {
            None => true,
            Some(_) if self.kind() == Some("Secret") => true,
            Some((group, _)) => {
                group.ends_with(".toolkit.fluxcd.io")
                    || group == "kustomize.config.k8s.io"
                    || CAPI_REFERRING_GROUPS.contains(&group)
            }
        }
    }

    /// Keeps the value, compactly, when a check after the schemas reads it.
    pub(super) fn keep_if_read_later(&mut self, value: &Value) {
        if self.value_is_read_later() {
            self.value = Held::new(Kept::from(value));
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
    /// `documents` must be in branch and path order, as [`parse_and_check`](super::parse::parse_and_check) returns them.
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
    use super::*;
    use crate::tree::Branches;
    use crate::validate::parse::{parse_branches, parse_file};

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
        assert_eq!(
            Kept::from(&kustomization.full_value()),
            *kustomization.value
        );
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
