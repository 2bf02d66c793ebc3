//! Schema validation of rendered objects against the real API definitions: custom resources
//! against the `openAPIV3Schema` of their CustomResourceDefinition, built-in kinds against a
//! Kubernetes definitions document, both made strict ([`super::strict`]). CEL rules
//! (`x-kubernetes-validations`) are not evaluated.
//!
//! Schemas come in layers ([`Layer`]): the embedded upstream schemas first, then what the fleet
//! names, vendors and is given on the command line; a later layer wins per
//! group/version/kind. Embedded schemas are inflated, and every validator compiled, on first
//! use, once, and shared by the threads that validate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use walkdir::WalkDir;

use super::document::{Document, escape_segment};
use super::embedded;
use super::strict::{drop_nulls, prune_nulls, strict_core_schema, strict_crd_schema};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};

/// API groups of kustomize's own configuration files, which are not Kubernetes objects.
const KUSTOMIZE_CONFIG_GROUPS: [&str; 3] =
    ["kustomize.config.k8s.io", "builtin", "config.kubernetes.io"];

/// Base URI under which the Kubernetes definitions are registered for `$ref` resolution.
const CORE_URI: &str = "urn:fleetgen:kubernetes-definitions";

/// Findings per document are capped so that one badly broken object does not bury the rest.
const MAX_ERRORS_PER_DOCUMENT: usize = 8;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Built-in kinds that are not namespaced. The definitions documents do not say which kinds are
/// cluster-scoped, and the graph checks need to know where a namespace applies.
const CLUSTER_SCOPED_CORE: [(&str, &str); 16] = [
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
];

type Compiled = OnceLock<std::result::Result<Validator, String>>;

/// `(group, version, kind)`.
type Gvk = (String, String, String);

/// Where a schema comes from, lowest precedence first: for one group/version/kind, a schema of
/// a later layer replaces one of an earlier layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Compiled into fleetgen.
    Embedded,
    /// Named by `validation:` in fleet/fleet.yaml.
    #[default]
    FleetSettings,
    /// Vendored in the fleet source (a committed `gotk-components.yaml`) or rendered by it.
    FleetSource,
    /// `--crds` / `--kubernetes-schemas`.
    CommandLine,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Embedded => "embedded",
            Layer::FleetSettings => "fleet.yaml",
            Layer::FleetSource => "fleet source",
            Layer::CommandLine => "command line",
        })
    }
}

/// A schema's origin: its layer, the file or project, and the upstream release when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub layer: Layer,
    pub origin: String,
    pub upstream: Option<String>,
}

/// One version of a CustomResourceDefinition.
#[derive(Debug)]
struct CrdVersion {
    /// The strict JSON Schema made from the version's `openAPIV3Schema`; `None` inside when
    /// the CRD has none. Embedded CRDs fill it on first use.
    schema: OnceLock<Option<Value>>,
    /// The embedded CRD and the version's name in it, for `schema`.
    embedded: Option<(&'static embedded::CrdFile, &'static str)>,
    served: bool,
    deprecated: bool,
    source: Source,
    validator: Compiled,
}

impl CrdVersion {
    fn schema(&self) -> Option<&Value> {
        self.schema
            .get_or_init(|| {
                let (file, name) = self.embedded?;
                let version = file.document()["spec"]["versions"]
                    .as_array()?
                    .iter()
                    .find(|version| version["name"] == name)?;
                let raw = version["schema"]["openAPIV3Schema"].as_object()?;
                Some(strict_crd_schema(&Value::Object(raw.clone()), true))
            })
            .as_ref()
    }
}

/// A Kubernetes definitions document ready to validate with: its definitions registered for
/// `$ref`s and a validator slot per kind.
struct CoreDocument {
    registry: Registry<'static>,
    /// JSON pointer of the definitions container: `/$defs`, `/definitions` or
    /// `/components/schemas`.
    container: String,
    validators: HashMap<String, Compiled>,
}

/// The built-in kinds of one Kubernetes definitions source: which definition describes which
/// group/version/kind, and the document, prepared on first use.
struct Core {
    source: Source,
    kinds: HashMap<Gvk, String>,
    versions: BTreeMap<(String, String), BTreeSet<String>>,
    groups: BTreeSet<String>,
    document: OnceLock<std::result::Result<CoreDocument, String>>,
    /// The embedded release `document` is made from.
    embedded: Option<&'static embedded::KubernetesRelease>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("source", &self.source)
            .field("kinds", &self.kinds.len())
            .finish()
    }
}

impl Core {
    fn new(source: Source, kinds: HashMap<Gvk, String>) -> Self {
        let mut versions: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let mut groups = BTreeSet::new();
        for (group, version, kind) in kinds.keys() {
            versions
                .entry((group.clone(), kind.clone()))
                .or_default()
                .insert(version.clone());
            groups.insert(group.clone());
        }
        Self {
            source,
            kinds,
            versions,
            groups,
            document: OnceLock::new(),
            embedded: None,
        }
    }

    fn document(&self) -> std::result::Result<&CoreDocument, &String> {
        self.document
            .get_or_init(|| {
                let release = self
                    .embedded
                    .ok_or("the definitions document was not kept")?;
                prepare_core(release.document()).map(|(document, _)| document)
            })
            .as_ref()
    }

    fn validator(&self, name: &str) -> &std::result::Result<Validator, String> {
        static UNAVAILABLE: OnceLock<std::result::Result<Validator, String>> = OnceLock::new();
        match self.document() {
            Ok(document) => match document.validators.get(name) {
                Some(slot) => slot.get_or_init(|| compile_core(document, name)),
                None => UNAVAILABLE.get_or_init(|| Err(format!("no definition {name}"))),
            },
            Err(problem) => UNAVAILABLE.get_or_init(|| Err(problem.clone())),
        }
    }
}

/// Every schema fleetgen validates rendered objects with.
#[derive(Debug, Default)]
pub struct Schemas {
    crds: HashMap<Gvk, CrdVersion>,
    /// `(group, kind)` → version → served.
    crd_kinds: BTreeMap<(String, String), BTreeMap<String, bool>>,
    crd_groups: BTreeSet<String>,
    /// `(group, kind)` → whether it is namespaced.
    crd_scopes: HashMap<(String, String), bool>,
    /// Kubernetes definitions, in layer order: a later one wins for the kinds it has.
    cores: Vec<Core>,
    /// The layer that schemas added now belong to.
    layer: Layer,
}

/// One known apiVersion and kind, for `fleetgen schemas`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    /// `custom resource` or `built-in`.
    pub class: &'static str,
    pub served: bool,
    pub deprecated: bool,
    pub source: Source,
}

/// What the schemas say about an apiVersion and kind.
enum Lookup<'a> {
    Crd(&'a CrdVersion),
    Core(&'a Core, &'a str),
    /// The kind exists, but not in this version; the message names the versions served.
    NotServed(String),
    /// The group is built in and has no such kind.
    NoSuchKind(String),
    Unknown,
}

/// Whether a group is one of Kubernetes' own (the core group, `apps`, `*.k8s.io`), whose kinds
/// come from the Kubernetes definitions rather than from a CRD.
pub fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || !group.contains('.')
        || (group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io"))
}

impl Schemas {
    pub fn new() -> Self {
        Self::default()
    }

    /// The embedded schemas, with the built-in kinds of Kubernetes `kubernetes_version` (a
    /// minor such as `1.33`; the default minor when `None`).
    pub fn embedded(kubernetes_version: Option<&str>) -> std::result::Result<Self, String> {
        let mut schemas = Self {
            layer: Layer::Embedded,
            ..Self::default()
        };
        let release = embedded::kubernetes(kubernetes_version).ok_or_else(|| {
            format!(
                "Kubernetes {} is not embedded (embedded: {})",
                kubernetes_version.unwrap_or_default(),
                embedded::kubernetes_minors().join(", ")
            )
        })?;
        for file in embedded::CRD_FILES {
            let project = file.project();
            let source = Source {
                layer: Layer::Embedded,
                origin: project.name.to_owned(),
                upstream: Some(format!("{} {}", project.repository, project.version)),
            };
            schemas.note_kind(file.group, file.kind, file.namespaced);
            for version in file.versions {
                schemas.insert_crd_version(
                    file.group,
                    version.name,
                    file.kind,
                    CrdVersion {
                        schema: OnceLock::new(),
                        embedded: Some((file, version.name)),
                        served: version.served,
                        deprecated: version.deprecated,
                        source: source.clone(),
                        validator: OnceLock::new(),
                    },
                );
            }
        }
        let kinds = release
            .kinds
            .iter()
            .map(|(group, version, kind, name)| {
                (
                    (
                        (*group).to_owned(),
                        (*version).to_owned(),
                        (*kind).to_owned(),
                    ),
                    (*name).to_owned(),
                )
            })
            .collect();
        let mut core = Core::new(
            Source {
                layer: Layer::Embedded,
                origin: format!("Kubernetes {}", release.version),
                upstream: Some(release.package.to_owned()),
            },
            kinds,
        );
        core.embedded = Some(release);
        schemas.cores.push(core);
        schemas.layer = Layer::FleetSettings;
        Ok(schemas)
    }

    /// Schemas added from now on belong to `layer`.
    pub fn set_layer(&mut self, layer: Layer) {
        self.layer = layer;
    }

    /// No schema of any kind: nothing can be checked.
    pub fn is_empty(&self) -> bool {
        self.crds.is_empty() && self.cores.is_empty()
    }

    pub fn has_core(&self) -> bool {
        !self.cores.is_empty()
    }

    fn note_kind(&mut self, group: &str, kind: &str, namespaced: bool) {
        self.crd_groups.insert(group.to_owned());
        self.crd_scopes
            .insert((group.to_owned(), kind.to_owned()), namespaced);
    }

    fn insert_crd_version(&mut self, group: &str, version: &str, kind: &str, crd: CrdVersion) {
        self.crd_kinds
            .entry((group.to_owned(), kind.to_owned()))
            .or_default()
            .insert(version.to_owned(), crd.served);
        self.crds
            .insert((group.to_owned(), version.to_owned(), kind.to_owned()), crd);
    }

    /// Reads CustomResourceDefinitions from a YAML file or, recursively, a directory of them.
    /// Documents of other kinds are ignored, so a whole components bundle can be given.
    pub fn add_crd_path(&mut self, path: &Path) -> Result<usize> {
        let mut added = 0;
        for file in yaml_files(path)? {
            let text = fs::read_to_string(&file).map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
            added += self
                .add_crd_text(&text, &file.display().to_string())
                .map_err(|message| {
                    Error::Invalid(
                        [Diagnostic::error("schema-source", message).at_file(&file)]
                            .into_iter()
                            .collect(),
                    )
                })?;
        }
        Ok(added)
    }

    /// Adds the CRDs among the YAML documents of `text`; returns how many versions were added.
    pub fn add_crd_text(&mut self, text: &str, origin: &str) -> std::result::Result<usize, String> {
        let mut added = 0;
        for document in serde_norway::Deserializer::from_str(text) {
            let value =
                Value::deserialize(document).map_err(|error| format!("not valid YAML: {error}"))?;
            added += self.add_crd(&value, origin);
        }
        Ok(added)
    }

    /// Adds one CustomResourceDefinition; anything else is ignored. Returns the number of
    /// versions added. Within one layer the first definition of a group/version/kind is kept;
    /// a later layer replaces it.
    pub fn add_crd(&mut self, document: &Value, origin: &str) -> usize {
        if document.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return 0;
        }
        let spec = &document["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            return 0;
        };
        let source = Source {
            layer: self.layer,
            origin: origin.to_owned(),
            upstream: None,
        };
        let mut added = 0;
        for version in spec["versions"].as_array().into_iter().flatten() {
            let Some(name) = version["name"].as_str() else {
                continue;
            };
            let key = (group.to_owned(), name.to_owned(), kind.to_owned());
            if self
                .crds
                .get(&key)
                .is_some_and(|known| known.source.layer >= self.layer)
            {
                continue;
            }
            let raw = version["schema"]["openAPIV3Schema"]
                .as_object()
                .or_else(|| spec["validation"]["openAPIV3Schema"].as_object());
            let schema = OnceLock::new();
            let _ = schema.set(raw.map(|raw| strict_crd_schema(&Value::Object(raw.clone()), true)));
            self.insert_crd_version(
                group,
                name,
                kind,
                CrdVersion {
                    schema,
                    embedded: None,
                    served: version["served"].as_bool().unwrap_or(false),
                    deprecated: version["deprecated"].as_bool().unwrap_or(false),
                    source: source.clone(),
                    validator: OnceLock::new(),
                },
            );
            added += 1;
        }
        if added > 0 {
            self.note_kind(group, kind, spec["scope"].as_str() != Some("Cluster"));
        }
        added
    }

    /// Reads the built-in kinds' schemas from a JSON Schema definitions document (`$defs` with
    /// `x-kubernetes-group-version-kind`), a swagger v2 document (`definitions`) or an OpenAPI
    /// v3 document (`components.schemas`). Its kinds win over those of earlier documents.
    pub fn set_kubernetes_path(&mut self, path: &Path) -> Result<()> {
        let text = fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let document: Value = serde_json::from_str(&text)
            .or_else(|_| serde_norway::from_str(&text).map_err(|error| error.to_string()))
            .map_err(|message| {
                invalid_source(path, format!("not a JSON or YAML document: {message}"))
            })?;
        self.set_kubernetes(document, &path.display().to_string())
            .map_err(|message| invalid_source(path, message))
    }

    pub fn set_kubernetes(
        &mut self,
        document: Value,
        origin: &str,
    ) -> std::result::Result<(), String> {
        let (prepared, kinds) = prepare_core(document)?;
        let core = Core::new(
            Source {
                layer: self.layer,
                origin: origin.to_owned(),
                upstream: None,
            },
            kinds,
        );
        let _ = core.document.set(Ok(prepared));
        self.cores.push(core);
        self.cores.sort_by_key(|core| core.source.layer);
        Ok(())
    }

    /// Whether objects of this kind live in a namespace; `None` when no schema knows the kind.
    pub fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        if CLUSTER_SCOPED_CORE.contains(&(group, kind)) {
            return Some(false);
        }
        if let Some(namespaced) = self.crd_scopes.get(&(group.to_owned(), kind.to_owned())) {
            return Some(*namespaced);
        }
        let group_kind = (group.to_owned(), kind.to_owned());
        self.cores
            .iter()
            .any(|core| core.versions.contains_key(&group_kind))
            .then_some(true)
    }

    /// The Kubernetes definitions that have `key`, the latest layer first.
    fn core_for(&self, key: &Gvk) -> Option<(&Core, &str)> {
        self.cores
            .iter()
            .rev()
            .find_map(|core| core.kinds.get(key).map(|name| (core, name.as_str())))
    }

    fn lookup(&self, group: &str, version: &str, kind: &str) -> Lookup<'_> {
        let key = (group.to_owned(), version.to_owned(), kind.to_owned());
        let crd = self.crds.get(&key);
        let core = self.core_for(&key);
        match (crd, core) {
            (Some(crd), Some((core, _))) if crd.served && crd.source.layer >= core.source.layer => {
                return Lookup::Crd(crd);
            }
            (Some(crd), None) if crd.served => return Lookup::Crd(crd),
            (_, Some((core, name))) => return Lookup::Core(core, name),
            _ => {}
        }
        let group_kind = (group.to_owned(), kind.to_owned());
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        if let Some(versions) = self.crd_kinds.get(&group_kind) {
            let served: Vec<&str> = versions
                .iter()
                .filter(|(_, served)| **served)
                .map(|(version, _)| version.as_str())
                .collect();
            let listed = if versions.contains_key(version) {
                "is listed but not served"
            } else {
                "is not served"
            };
            let served = if served.is_empty() {
                "none".to_owned()
            } else {
                served.join(", ")
            };
            return Lookup::NotServed(format!(
                "{api_version} {listed} by the {kind} CustomResourceDefinition (served: {served})"
            ));
        }
        let known: BTreeSet<&str> = self
            .cores
            .iter()
            .filter_map(|core| core.versions.get(&group_kind))
            .flatten()
            .map(String::as_str)
            .collect();
        if !known.is_empty() {
            return Lookup::NotServed(format!(
                "{api_version} {kind} is not a built-in API version (served: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if self.cores.iter().any(|core| core.groups.contains(group))
            && !self.crd_groups.contains(group)
        {
            let group_name = if group.is_empty() { "core" } else { group };
            return Lookup::NoSuchKind(format!(
                "kind {kind} does not exist in the built-in API group {group_name}/{version}"
            ));
        }
        Lookup::Unknown
    }

    /// Every apiVersion and kind known, with the source that wins for it, sorted.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries: BTreeMap<Gvk, Entry> = BTreeMap::new();
        for core in &self.cores {
            for (group, version, kind) in core.kinds.keys() {
                if kind.ends_with("List") || group.is_empty() && kind == "WatchEvent" {
                    continue;
                }
                entries.insert(
                    (group.clone(), version.clone(), kind.clone()),
                    Entry {
                        api_version: api_version(group, version),
                        kind: kind.clone(),
                        class: "built-in",
                        served: true,
                        deprecated: false,
                        source: core.source.clone(),
                    },
                );
            }
        }
        for ((group, version, kind), crd) in &self.crds {
            let key = (group.clone(), version.clone(), kind.clone());
            if entries
                .get(&key)
                .is_some_and(|entry| entry.source.layer > crd.source.layer || !crd.served)
            {
                continue;
            }
            entries.insert(
                key,
                Entry {
                    api_version: api_version(group, version),
                    kind: kind.clone(),
                    class: "custom resource",
                    served: crd.served,
                    deprecated: crd.deprecated,
                    source: crd.source.clone(),
                },
            );
        }
        entries.into_values().collect()
    }

    /// Validates one rendered document; `strict` makes unknown kinds errors.
    pub fn check(&self, document: &Document, strict: bool) -> Vec<Diagnostic> {
        self.check_value(document, document.full_value(), strict)
    }

    /// [`Schemas::check`] of a document whose whole value is `instance`, consumed: nulls are
    /// dropped from it as the API server would, without a copy.
    pub fn check_value(
        &self,
        document: &Document,
        mut instance: Value,
        strict: bool,
    ) -> Vec<Diagnostic> {
        let (Some((group, version)), Some(kind)) = (document.group_version(), document.kind())
        else {
            return Vec::new();
        };
        if KUSTOMIZE_CONFIG_GROUPS.contains(&group) {
            return Vec::new();
        }
        let what = document.describe();
        let at_api_version = || document.location("/apiVersion");
        match self.lookup(group, version, kind) {
            Lookup::Unknown => {
                // The message names the kind only: findings for every object of a kind merge
                // into one (see `merge_unknown_kinds`).
                let message = format!(
                    "no schema for {} {kind}",
                    document.api_version().unwrap_or_default()
                );
                let diagnostic = if strict {
                    Diagnostic::error("unknown-kind", message)
                } else {
                    Diagnostic::warning("unknown-kind", message)
                };
                let hint = if is_builtin_group(group) {
                    "a built-in kind: name Kubernetes definitions that have it with `validation.kubernetes` (or pick another `validation.kubernetesVersion`) in fleet/fleet.yaml"
                } else {
                    "a custom resource: add its CustomResourceDefinition to `validation.crds` in fleet/fleet.yaml, or commit it in the fleet source"
                };
                vec![diagnostic.at(at_api_version()).with_hint(hint)]
            }
            Lookup::NotServed(message) | Lookup::NoSuchKind(message) => {
                vec![Diagnostic::error("schema", format!("{what}: {message}")).at(at_api_version())]
            }
            Lookup::Crd(crd) => {
                let Some(schema) = crd.schema() else {
                    return vec![
                        Diagnostic::warning(
                            "unknown-kind",
                            format!(
                                "{what}: the CRD in {} has no openAPIV3Schema; not checked",
                                crd.source.origin
                            ),
                        )
                        .at(at_api_version()),
                    ];
                };
                let mut findings = Vec::new();
                if crd.deprecated {
                    findings.push(
                        Diagnostic::warning(
                            "deprecated-api",
                            format!(
                                "{what}: {} {kind} is deprecated",
                                document.api_version().unwrap_or_default()
                            ),
                        )
                        .at(at_api_version()),
                    );
                }
                prune_nulls(&mut instance, schema);
                let validator = crd.validator.get_or_init(|| compile_crd(schema));
                findings.extend(self.run(validator, &instance, document, &what, ""));
                if let Some(metadata) = instance.get("metadata")
                    && let Some(meta_validator) = self.object_meta()
                {
                    findings.extend(self.run(
                        meta_validator,
                        metadata,
                        document,
                        &what,
                        "/metadata",
                    ));
                }
                findings
            }
            Lookup::Core(core, name) => {
                let validator = core.validator(name);
                drop_nulls(&mut instance);
                self.run(validator, &instance, document, &what, "")
            }
        }
    }

    /// ObjectMeta of the latest Kubernetes definitions that have it.
    fn object_meta(&self) -> Option<&std::result::Result<Validator, String>> {
        let core = self.cores.last()?;
        Some(core.validator(OBJECT_META))
    }

    fn run(
        &self,
        validator: &std::result::Result<Validator, String>,
        instance: &Value,
        document: &Document,
        what: &str,
        prefix: &str,
    ) -> Vec<Diagnostic> {
        let validator = match validator {
            Ok(validator) => validator,
            Err(problem) => {
                return vec![
                    Diagnostic::warning(
                        "schema-source",
                        format!(
                            "{what}: its schema does not compile, so it was not checked: {problem}"
                        ),
                    )
                    .at(document.location("/apiVersion")),
                ];
            }
        };
        let mut findings = Vec::new();
        for error in validator.iter_errors(instance) {
            let mut pointer = format!("{prefix}{}", error.instance_path().as_str());
            if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind() {
                // Point at the unexpected field itself: that is the line to fix.
                if let [field] = unexpected.as_slice() {
                    pointer = format!("{pointer}/{}", escape_segment(field));
                    findings.push(
                        Diagnostic::error("schema", format!("{what}: {pointer}: unknown field `{field}`"))
                            .at(document.location(&pointer))
                            .with_hint("the API has no such field in this version; remove it or move it to where the schema has it"),
                    );
                    continue;
                }
            }
            let mut message = error.to_string();
            if message.len() > 240 {
                let cut = (0..=240)
                    .rev()
                    .find(|&index| message.is_char_boundary(index))
                    .unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            let shown = if pointer.is_empty() {
                "(root)"
            } else {
                pointer.as_str()
            };
            findings.push(
                Diagnostic::error("schema", format!("{what}: {shown}: {message}"))
                    .at(document.location(&pointer)),
            );
            if findings.len() >= MAX_ERRORS_PER_DOCUMENT {
                break;
            }
        }
        findings
    }
}

fn invalid_source(path: &Path, message: String) -> Error {
    Error::Invalid(
        [Diagnostic::error("schema-source", message).at_file(path)]
            .into_iter()
            .collect(),
    )
}

/// The YAML files of `path`: itself, or every `*.yaml`/`*.yml` below it in name order.
fn yaml_files(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::Read {
            path: path.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|error| Error::Read {
            path: path.to_path_buf(),
            source: error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop")),
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

fn options() -> jsonschema::ValidationOptions<'static> {
    // No retrieval of any kind: every `$ref` must resolve inside the documents given. Formats
    // are annotations, as for the API server, which checks very few of them.
    jsonschema::options()
        .offline()
        .should_validate_formats(false)
}

fn compile_crd(schema: &Value) -> std::result::Result<Validator, String> {
    options()
        .with_draft(Draft::Draft4)
        .build(schema)
        .map_err(|error| error.to_string())
}

fn compile_core(document: &CoreDocument, name: &str) -> std::result::Result<Validator, String> {
    let reference = format!("{CORE_URI}#{}/{}", document.container, escape_segment(name));
    options()
        .with_registry(&document.registry)
        .build(&json!({ "$ref": reference }))
        .map_err(|error| error.to_string())
}

/// Makes a definitions document strict and registers it for `$ref`s; returns it with the
/// definition name of each group/version/kind.
fn prepare_core(
    mut document: Value,
) -> std::result::Result<(CoreDocument, HashMap<Gvk, String>), String> {
    let container = ["/$defs", "/definitions", "/components/schemas"]
        .into_iter()
        .find(|pointer| document.pointer(pointer).is_some_and(Value::is_object))
        .ok_or("it has no `$defs`, `definitions` or `components.schemas`")?
        .to_owned();
    let definitions = document
        .pointer_mut(&container)
        .and_then(Value::as_object_mut)
        .expect("found above");
    let mut kinds = HashMap::new();
    for (name, definition) in definitions.iter_mut() {
        *definition = strict_core_schema(name, definition);
        for gvk in definition["x-kubernetes-group-version-kind"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(version), Some(kind)) = (gvk["version"].as_str(), gvk["kind"].as_str())
            else {
                continue;
            };
            let group = gvk["group"].as_str().unwrap_or_default();
            let key = (group.to_owned(), version.to_owned(), kind.to_owned());
            // WatchEvent and DeleteOptions list every kind; a kind's own definition wins.
            if kinds.contains_key(&key) && !name.ends_with(&format!(".{kind}")) {
                continue;
            }
            kinds.insert(key, name.clone());
        }
    }
    if kinds.is_empty() {
        return Err("no definition carries x-kubernetes-group-version-kind".to_owned());
    }
    let mut names: Vec<String> = kinds.values().cloned().collect();
    if definitions.contains_key(OBJECT_META) {
        names.push(OBJECT_META.to_owned());
    }
    if let Some(object) = document.as_object_mut() {
        // Our own URI is the base; an `$id` would move it somewhere we never registered.
        object.remove("$id");
    }
    let registry = Registry::new()
        .add(CORE_URI, document)
        .and_then(|builder| builder.prepare())
        .map_err(|error| format!("cannot index its definitions: {error}"))?;
    let validators = names
        .into_iter()
        .map(|name| (name, OnceLock::new()))
        .collect();
    Ok((
        CoreDocument {
            registry,
            container,
            validators,
        },
        kinds,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::strict::{prune_nulls, strict_crd_schema};
    use super::*;

    #[test]
    fn crd_schemas_become_strict() {
        let schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": {"x-kubernetes-int-or-string": true},
                        "note": {"type": "string", "nullable": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}}
                    }
                }
            }
        });
        let strict = strict_crd_schema(&schema, true);
        assert_eq!(
            strict["properties"]["spec"]["additionalProperties"],
            json!(false)
        );
        assert_eq!(
            strict["properties"]["spec"]["properties"]["note"]["type"],
            json!(["string", "null"])
        );
        assert!(
            strict["properties"]["spec"]["properties"]["free"]
                .get("additionalProperties")
                .is_none()
        );
        assert_eq!(
            strict["properties"]["metadata"],
            json!({"type": ["object", "null"]})
        );
        let validator = compile_crd(&strict).unwrap();
        assert!(validator.is_valid(&json!({"spec": {"port": 80, "note": null, "free": {"x": 1}}})));
        assert!(validator.is_valid(&json!({"spec": {"port": "http"}})));
        assert!(!validator.is_valid(&json!({"spec": {"port": 80, "extra": 1}})));
    }

    #[test]
    fn nulls_are_pruned_unless_nullable() {
        let schema = strict_crd_schema(
            &json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "nullable": true}}}),
            false,
        );
        let mut instance = json!({"a": null, "b": null});
        prune_nulls(&mut instance, &schema);
        assert_eq!(instance, json!({"b": null}));
    }

    #[test]
    fn swagger_definitions_are_made_strict() {
        let mut schemas = Schemas::new();
        let swagger = json!({
            "swagger": "2.0",
            "definitions": {
                "io.k8s.api.core.v1.ConfigMap": {
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                        "data": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "ConfigMap"}]
                },
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}
                }
            }
        });
        schemas.set_kubernetes(swagger, "test").unwrap();
        let text =
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  nmespace: y\ndata:\n  a: b\n";
        let document = super::super::document::parse_file("main", "cm.yaml", text.as_bytes())
            .unwrap()
            .remove(0);
        let findings = schemas.check(&document, false);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            findings[0].message,
            "v1 ConfigMap x: /metadata/nmespace: unknown field `nmespace`"
        );
        assert_eq!(findings[0].location.as_ref().unwrap().line, 5);
        let text = "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: x\n";
        let document = super::super::document::parse_file("main", "cm.yaml", text.as_bytes())
            .unwrap()
            .remove(0);
        assert_eq!(
            schemas.check(&document, false)[0].message,
            "v2 ConfigMap x: v2 ConfigMap is not a built-in API version (served: v1)"
        );
    }

    fn parse(text: &str) -> Document<'_> {
        super::super::document::parse_file("main", "x.yaml", text.as_bytes())
            .unwrap()
            .remove(0)
    }

    /// A Kustomization CRD whose v1 schema has only `spec.interval`.
    fn narrow_kustomization(extra: &str) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "kustomize.toolkit.fluxcd.io",
                "names": {"kind": "Kustomization", "plural": "kustomizations"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {
                        "interval": {"type": "string"},
                        extra: {"type": "string"}
                    }}}
                }}}]
            }
        })
    }

    #[test]
    fn a_later_layer_wins_per_group_version_kind() {
        let mut schemas = Schemas::embedded(None).unwrap();
        let object = parse(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: b\nspec:\n  interval: 1m\n  colour: red\n",
        );
        let rules = |schemas: &Schemas| -> Vec<String> {
            schemas
                .check(&object, false)
                .iter()
                .map(|finding| finding.message.clone())
                .collect()
        };
        // Embedded: `colour` is unknown, and so is the missing required `prune`/`sourceRef`.
        assert!(
            rules(&schemas)
                .iter()
                .any(|message| message.contains("unknown field `colour`")),
            "{:?}",
            rules(&schemas)
        );
        schemas.set_layer(Layer::FleetSource);
        assert_eq!(
            schemas.add_crd(&narrow_kustomization("colour"), "vendored.yaml"),
            1
        );
        assert_eq!(rules(&schemas), Vec::<String>::new());
        // The same layer keeps its first definition; a later layer replaces it.
        assert_eq!(
            schemas.add_crd(&narrow_kustomization("other"), "second.yaml"),
            0
        );
        assert_eq!(rules(&schemas), Vec::<String>::new());
        schemas.set_layer(Layer::CommandLine);
        assert_eq!(
            schemas.add_crd(&narrow_kustomization("other"), "flag.yaml"),
            1
        );
        assert_eq!(
            rules(&schemas),
            [
                "kustomize.toolkit.fluxcd.io/v1 Kustomization b/a: /spec/colour: unknown field `colour`"
            ]
        );
        let entry = schemas
            .entries()
            .into_iter()
            .find(|entry| {
                entry.api_version == "kustomize.toolkit.fluxcd.io/v1"
                    && entry.kind == "Kustomization"
            })
            .unwrap();
        assert_eq!(entry.source.layer, Layer::CommandLine);
        assert_eq!(entry.source.origin, "flag.yaml");
        // Other kinds of the embedded layer are untouched.
        let helm = schemas
            .entries()
            .into_iter()
            .find(|entry| entry.kind == "HelmRelease")
            .unwrap();
        assert_eq!(helm.source.layer, Layer::Embedded);
        assert!(
            helm.source
                .upstream
                .unwrap()
                .starts_with("fluxcd/helm-controller v")
        );
    }

    #[test]
    fn unknown_kinds_hint_at_the_right_setting() {
        let schemas = Schemas::embedded(None).unwrap();
        let custom = schemas.check(
            &parse("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n"),
            false,
        );
        assert_eq!(custom[0].message, "no schema for example.com/v1 Widget");
        assert!(!custom[0].is_error());
        assert!(
            custom[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("`validation.crds`")
        );
        let builtin = schemas.check(
            &parse("apiVersion: metrics.k8s.io/v1beta1\nkind: NodeMetrics\nmetadata:\n  name: a\n"),
            true,
        );
        assert!(builtin[0].is_error());
        assert!(
            builtin[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("`validation.kubernetes`")
        );
    }

    #[test]
    fn the_kubernetes_minor_is_chosen() {
        let object =
            parse("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\nspec:\n  replicas: 1\n");
        for minor in embedded::kubernetes_minors() {
            let schemas = Schemas::embedded(Some(minor)).unwrap();
            let findings = schemas.check(&object, false);
            assert_eq!(findings.len(), 1, "{minor}: {findings:?}");
            assert_eq!(
                schemas.entries()[0].source.origin,
                format!("Kubernetes v{minor}.0")
            );
        }
        assert!(
            Schemas::embedded(Some("1.2"))
                .unwrap_err()
                .contains("embedded: 1.33, 1.34")
        );
    }
}
