//! Schema validation of rendered objects against the real API definitions: custom resources
//! against the `openAPIV3Schema` of their CustomResourceDefinition, built-in kinds against a
//! Kubernetes OpenAPI document.
//!
//! Both are made as strict as the API server with server-side field validation `Strict` (what
//! `kubectl apply` does): an unknown field is an error unless the schema says
//! `x-kubernetes-preserve-unknown-fields`, and a null in a field that is not `nullable` is
//! dropped before validation, as the API server drops it. CEL rules (`x-kubernetes-validations`)
//! are not evaluated.
//!
//! Validators are compiled on first use, once, and shared by the threads that validate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Validator};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use walkdir::WalkDir;

use super::document::{Document, escape_segment};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};

/// API groups of kustomize's own configuration files, which are not Kubernetes objects.
const KUSTOMIZE_CONFIG_GROUPS: [&str; 3] =
    ["kustomize.config.k8s.io", "builtin", "config.kubernetes.io"];

/// Base URI under which the Kubernetes definitions are registered for `$ref` resolution.
const CORE_URI: &str = "urn:fleetgen:kubernetes-definitions";

/// Findings per document are capped so that one badly broken object does not bury the rest.
const MAX_ERRORS_PER_DOCUMENT: usize = 8;

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

/// One served (or listed) version of a CustomResourceDefinition.
#[derive(Debug)]
struct CrdVersion {
    /// The strict JSON Schema made from the version's `openAPIV3Schema`.
    schema: Option<Value>,
    served: bool,
    deprecated: bool,
    origin: String,
    validator: Compiled,
}

/// A Kubernetes definitions document: its definitions registered for `$ref`s, and which
/// definition describes which group/version/kind.
struct Core {
    registry: Registry<'static>,
    /// JSON pointer of the definitions container: `/$defs`, `/definitions` or
    /// `/components/schemas`.
    container: String,
    kinds: HashMap<Gvk, String>,
    versions: BTreeMap<(String, String), BTreeSet<String>>,
    groups: BTreeSet<String>,
    validators: HashMap<String, Compiled>,
    object_meta: Compiled,
    origin: String,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("origin", &self.origin)
            .field("kinds", &self.kinds.len())
            .finish()
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
    core: Option<Core>,
}

/// What the schemas say about an apiVersion and kind.
enum Lookup<'a> {
    Crd(&'a CrdVersion),
    Core(&'a str),
    /// The kind exists, but not in this version; the message names the versions served.
    NotServed(String),
    /// The group is built in and has no such kind.
    NoSuchKind(String),
    Unknown,
}

impl Schemas {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of CRD versions known.
    /// No schema of any kind: nothing can be checked.
    pub fn is_empty(&self) -> bool {
        self.crds.is_empty() && self.core.is_none()
    }

    pub fn has_core(&self) -> bool {
        self.core.is_some()
    }

    /// Reads CustomResourceDefinitions from a YAML file or, recursively, a directory of them.
    /// Documents of other kinds are ignored, so a whole components bundle can be given.
    /// A group/version/kind already known keeps its first definition.
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
    /// versions added.
    pub fn add_crd(&mut self, document: &Value, origin: &str) -> usize {
        if document.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return 0;
        }
        let spec = &document["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            return 0;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        self.crd_groups.insert(group.to_owned());
        self.crd_scopes
            .entry((group.to_owned(), kind.to_owned()))
            .or_insert(namespaced);
        let mut added = 0;
        for version in spec["versions"].as_array().into_iter().flatten() {
            let Some(name) = version["name"].as_str() else {
                continue;
            };
            let key = (group.to_owned(), name.to_owned(), kind.to_owned());
            if self.crds.contains_key(&key) {
                continue;
            }
            let raw = version["schema"]["openAPIV3Schema"]
                .as_object()
                .or_else(|| spec["validation"]["openAPIV3Schema"].as_object());
            let served = version["served"].as_bool().unwrap_or(false);
            self.crd_kinds
                .entry((group.to_owned(), kind.to_owned()))
                .or_default()
                .insert(name.to_owned(), served);
            self.crds.insert(
                key,
                CrdVersion {
                    schema: raw.map(|raw| strict_crd_schema(&Value::Object(raw.clone()), true)),
                    served,
                    deprecated: version["deprecated"].as_bool().unwrap_or(false),
                    origin: origin.to_owned(),
                    validator: OnceLock::new(),
                },
            );
            added += 1;
        }
        added
    }

    /// Reads the built-in kinds' schemas from a JSON Schema definitions document (`$defs` with
    /// `x-kubernetes-group-version-kind`), a swagger v2 document (`definitions`) or an OpenAPI
    /// v3 document (`components.schemas`). Replaces any document read before.
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
        mut document: Value,
        origin: &str,
    ) -> std::result::Result<(), String> {
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
        let mut versions: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let mut groups = BTreeSet::new();
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
                versions
                    .entry((group.to_owned(), kind.to_owned()))
                    .or_default()
                    .insert(version.to_owned());
                groups.insert(group.to_owned());
            }
        }
        if kinds.is_empty() {
            return Err("no definition carries x-kubernetes-group-version-kind".to_owned());
        }
        if let Some(object) = document.as_object_mut() {
            // Our own URI is the base; an `$id` would move it somewhere we never registered.
            object.remove("$id");
        }
        let registry = Registry::new()
            .add(CORE_URI, document)
            .and_then(|builder| builder.prepare())
            .map_err(|error| format!("cannot index its definitions: {error}"))?;
        let validators = kinds
            .values()
            .map(|name| (name.clone(), OnceLock::new()))
            .collect();
        self.core = Some(Core {
            registry,
            container,
            kinds,
            versions,
            groups,
            validators,
            object_meta: OnceLock::new(),
            origin: origin.to_owned(),
        });
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
        let core = self.core.as_ref()?;
        core.versions
            .contains_key(&(group.to_owned(), kind.to_owned()))
            .then_some(true)
    }

    fn lookup(&self, group: &str, version: &str, kind: &str) -> Lookup<'_> {
        let key = (group.to_owned(), version.to_owned(), kind.to_owned());
        if let Some(crd) = self.crds.get(&key)
            && crd.served
        {
            return Lookup::Crd(crd);
        }
        if let Some(core) = &self.core
            && let Some(name) = core.kinds.get(&key)
        {
            return Lookup::Core(name);
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
        if let Some(core) = &self.core {
            if let Some(versions) = core.versions.get(&group_kind) {
                let known: Vec<&str> = versions.iter().map(String::as_str).collect();
                return Lookup::NotServed(format!(
                    "{api_version} {kind} is not a built-in API version (served: {})",
                    known.join(", ")
                ));
            }
            if core.groups.contains(group) && !self.crd_groups.contains(group) {
                let group_name = if group.is_empty() { "core" } else { group };
                return Lookup::NoSuchKind(format!(
                    "kind {kind} does not exist in the built-in API group {group_name}/{version}"
                ));
            }
        }
        Lookup::Unknown
    }

    /// Validates one rendered document; `strict` makes unknown kinds errors.
    pub fn check(&self, document: &Document, strict: bool) -> Vec<Diagnostic> {
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
                let message = format!(
                    "{what}: no schema for {} {kind}; it was not checked",
                    document.api_version().unwrap_or_default()
                );
                let diagnostic = if strict {
                    Diagnostic::error("unknown-kind", message)
                } else {
                    Diagnostic::warning("unknown-kind", message)
                };
                vec![diagnostic.at(at_api_version()).with_hint(
                    "add its CustomResourceDefinition to `validation.crds` in fleet/fleet.yaml",
                )]
            }
            Lookup::NotServed(message) | Lookup::NoSuchKind(message) => {
                vec![Diagnostic::error("schema", format!("{what}: {message}")).at(at_api_version())]
            }
            Lookup::Crd(crd) => {
                let Some(schema) = &crd.schema else {
                    return vec![
                        Diagnostic::warning(
                            "unknown-kind",
                            format!(
                                "{what}: the CRD in {} has no openAPIV3Schema; not checked",
                                crd.origin
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
                let mut instance = document.value.clone();
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
            Lookup::Core(name) => {
                let core = self
                    .core
                    .as_ref()
                    .expect("a core lookup has a core document");
                let validator = core.validators[name].get_or_init(|| compile_core(core, name));
                let mut instance = document.value.clone();
                drop_nulls(&mut instance);
                self.run(validator, &instance, document, &what, "")
            }
        }
    }

    fn object_meta(&self) -> Option<&std::result::Result<Validator, String>> {
        let core = self.core.as_ref()?;
        Some(
            core.object_meta.get_or_init(|| {
                compile_core(core, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            }),
        )
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

fn compile_core(core: &Core, name: &str) -> std::result::Result<Validator, String> {
    let reference = format!("{CORE_URI}#{}/{}", core.container, escape_segment(name));
    options()
        .with_registry(&core.registry)
        .build(&json!({ "$ref": reference }))
        .map_err(|error| error.to_string())
}

/// Turns an `openAPIV3Schema` into a JSON Schema as strict as the API server: unknown fields
/// fail unless preserved, `nullable` admits null, int-or-string admits both, and embedded
/// resources get their type fields.
fn strict_crd_schema(node: &Value, root: bool) -> Value {
    let Some(source) = node.as_object() else {
        return node.clone();
    };
    let mut out: Map<String, Value> = source.clone();
    out.remove("x-kubernetes-validations");
    if out.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(ty)) = out.get("type").cloned() {
            out.insert("type".to_owned(), json!([ty, "null"]));
        }
        if let Some(Value::Array(options)) = out.get_mut("enum")
            && !options.contains(&Value::Null)
        {
            options.push(Value::Null);
        }
    }
    if out.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !out.contains_key("anyOf")
    {
        out.remove("type");
        out.insert(
            "anyOf".to_owned(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if let Some(Value::Object(properties)) = out.get("properties") {
        let mut converted: Map<String, Value> = properties
            .iter()
            .map(|(key, value)| (key.clone(), strict_crd_schema(value, false)))
            .collect();
        if root || out.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
            converted
                .entry("apiVersion")
                .or_insert_with(|| json!({"type": "string"}));
            converted
                .entry("kind")
                .or_insert_with(|| json!({"type": "string"}));
            converted
                .entry("metadata")
                .or_insert_with(|| json!({"type": "object"}));
        }
        if root {
            // Checked on its own against ObjectMeta, like the API server does.
            converted.insert("metadata".to_owned(), json!({"type": ["object", "null"]}));
        }
        out.insert("properties".to_owned(), Value::Object(converted));
    }
    for key in ["additionalProperties", "items", "not"] {
        if let Some(child @ Value::Object(_)) = out.get(key) {
            let converted = strict_crd_schema(child, false);
            out.insert(key.to_owned(), converted);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = out.get(key) {
            let converted: Vec<Value> = children
                .iter()
                .map(|child| strict_crd_schema(child, false))
                .collect();
            out.insert(key.to_owned(), Value::Array(converted));
        }
    }
    let is_object = matches!(out.get("type"), Some(Value::String(ty)) if ty == "object")
        || matches!(out.get("type"), Some(Value::Array(types)) if types.contains(&json!("object")));
    let preserves = out.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if is_object
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !preserves
    {
        out.insert("additionalProperties".to_owned(), Value::Bool(false));
    }
    Value::Object(out)
}

/// Makes a built-in definition strict the same way: documents generated from swagger say
/// nothing about unknown fields, and type IntOrString and Quantity as plain strings.
fn strict_core_schema(name: &str, node: &Value) -> Value {
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            return json!({"anyOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]});
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
            return json!({"anyOf": [{"type": ["string", "null"]}, {"type": ["number", "null"]}]});
        }
        _ => {}
    }
    strict_definition(node)
}

fn strict_definition(node: &Value) -> Value {
    match node {
        Value::Object(source) => {
            let mut out: Map<String, Value> = source
                .iter()
                .map(|(key, value)| (key.clone(), strict_definition(value)))
                .collect();
            if out.get("format").and_then(Value::as_str) == Some("int-or-string") {
                out.remove("type");
                out.remove("format");
                out.insert(
                    "anyOf".to_owned(),
                    json!([{"type": "string"}, {"type": "integer"}]),
                );
            }
            let has_properties = out.get("properties").is_some_and(Value::is_object);
            let preserves =
                out.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if has_properties
                && !out.contains_key("additionalProperties")
                && !preserves
                && !out.contains_key("$ref")
            {
                out.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict_definition).collect()),
        other => other.clone(),
    }
}

/// Drops nulls from fields the schema does not mark `nullable`, as the API server does for
/// custom resources.
fn prune_nulls(instance: &mut Value, schema: &Value) {
    match instance {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema
                .get("additionalProperties")
                .filter(|value| value.is_object());
            map.retain(|key, value| {
                let field = properties
                    .and_then(|properties| properties.get(key))
                    .or(additional);
                match field {
                    Some(field) if value.is_null() => {
                        field.get("nullable") == Some(&Value::Bool(true))
                    }
                    _ => true,
                }
            });
            for (key, value) in map.iter_mut() {
                let field = properties
                    .and_then(|properties| properties.get(key))
                    .or(additional);
                if let Some(field) = field {
                    prune_nulls(value, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|value| value.is_object()) {
                for item in items {
                    prune_nulls(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Built-in kinds accept null for any field and ignore it; dropping them keeps the
/// definitions' `type` checks simple.
fn drop_nulls(instance: &mut Value) {
    match instance {
        Value::Object(map) => {
            map.retain(|_, value| !value.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
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
}
