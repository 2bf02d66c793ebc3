//! Compiling validators: a CRD version's schema, and a Kubernetes definition (from its embedded
//! piece, or from a definitions document given whole), each prepared and compiled on first use
//! and then shared.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

use super::{Gvk, Source};
use crate::validate::document::escape_segment;
use crate::validate::embedded;
use crate::validate::strict::{strict_core_schema, strict_crd_schema};

/// Base URI under which the Kubernetes definitions are registered for `$ref` resolution.
const CORE_URI: &str = "urn:fleetgen:kubernetes-definitions";

pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

type Compiled = OnceLock<std::result::Result<Validator, String>>;

/// One version of a CustomResourceDefinition.
#[derive(Debug)]
pub(super) struct CrdVersion {
    /// The strict JSON Schema made from the version's `openAPIV3Schema`; `None` inside when
    /// the CRD has none. Embedded CRDs fill it on first use.
    pub(super) schema: OnceLock<Option<Value>>,
    /// The embedded CRD and the version's name in it, for `schema`.
    pub(super) embedded: Option<(&'static embedded::CrdFile, &'static str)>,
    pub(super) served: bool,
    pub(super) deprecated: bool,
    pub(super) source: Source,
    pub(super) validator: Compiled,
}

impl CrdVersion {
    pub(super) fn schema(&self) -> Option<&Value> {
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
pub(super) struct CoreDocument {
    registry: Registry<'static>,
    /// JSON pointer of the definitions container: `/$defs`, `/definitions` or
    /// `/components/schemas`.
    container: String,
    validators: HashMap<String, Compiled>,
}

/// The built-in kinds of one Kubernetes definitions source: which definition describes which
/// group/version/kind, and their validators, prepared on first use.
pub(super) struct Core {
    pub(super) source: Source,
    pub(super) kinds: HashMap<Gvk, String>,
    pub(super) versions: BTreeMap<(String, String), BTreeSet<String>>,
    pub(super) groups: BTreeSet<String>,
    /// A definitions document given whole, prepared when it was added.
    pub(super) document: OnceLock<std::result::Result<CoreDocument, String>>,
    /// The embedded release the validators are made from, one piece each.
    embedded: Option<&'static embedded::KubernetesRelease>,
    /// The validator of each piece of `embedded`, in its order: a kind inflates and prepares
    /// its own piece only.
    pieces: Vec<Compiled>,
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
    pub(super) fn new(source: Source, kinds: HashMap<Gvk, String>) -> Self {
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
            pieces: Vec::new(),
        }
    }

    /// The built-in kinds of an embedded release.
    pub(super) fn embedded(source: Source, release: &'static embedded::KubernetesRelease) -> Self {
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
        Self {
            embedded: Some(release),
            pieces: release.pieces.iter().map(|_| OnceLock::new()).collect(),
            ..Self::new(source, kinds)
        }
    }

    pub(super) fn validator(&self, name: &str) -> &std::result::Result<Validator, String> {
        static UNAVAILABLE: OnceLock<std::result::Result<Validator, String>> = OnceLock::new();
        if let Some(release) = self.embedded {
            return match release.piece(name) {
                Some(index) => self.pieces[index]
                    .get_or_init(|| compile_piece(release.pieces[index].document(), name)),
                None => UNAVAILABLE.get_or_init(|| Err(format!("no definition {name}"))),
            };
        }
        match self.document.get() {
            Some(Ok(document)) => match document.validators.get(name) {
                Some(slot) => slot.get_or_init(|| compile_core(document, name)),
                None => UNAVAILABLE.get_or_init(|| Err(format!("no definition {name}"))),
            },
            Some(Err(problem)) => UNAVAILABLE.get_or_init(|| Err(problem.clone())),
            None => UNAVAILABLE.get_or_init(|| Err("no definitions document".to_owned())),
        }
    }

    /// Which pieces of the embedded release have been prepared, by definition name.
    #[cfg(test)]
    pub(super) fn prepared_pieces(&self) -> Vec<&'static str> {
        let Some(release) = self.embedded else {
            return Vec::new();
        };
        release
            .pieces
            .iter()
            .zip(&self.pieces)
            .filter(|(_, slot)| slot.get().is_some())
            .map(|(piece, _)| piece.name)
            .collect()
    }
}

fn options() -> jsonschema::ValidationOptions<'static> {
    // No retrieval of any kind: every `$ref` must resolve inside the documents given. Formats
    // are annotations, as for the API server, which checks very few of them.
    jsonschema::options()
        .offline()
        .should_validate_formats(false)
}

pub(super) fn compile_crd(schema: &Value) -> std::result::Result<Validator, String> {
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

/// The validator of definition `name` from its embedded piece, prepared as a whole document
/// would be: the same strictness, the same registration, only fewer definitions.
fn compile_piece(mut piece: Value, name: &str) -> std::result::Result<Validator, String> {
    let container = make_strict(&mut piece)?;
    let document = CoreDocument {
        registry: register(piece)?,
        container,
        validators: HashMap::new(),
    };
    compile_core(&document, name)
}

/// Makes every definition of a definitions document strict; returns the JSON pointer of their
/// container.
fn make_strict(document: &mut Value) -> std::result::Result<String, String> {
    let container = ["/$defs", "/definitions", "/components/schemas"]
        .into_iter()
        .find(|pointer| document.pointer(pointer).is_some_and(Value::is_object))
        .ok_or("it has no `$defs`, `definitions` or `components.schemas`")?
        .to_owned();
    let definitions = document
        .pointer_mut(&container)
        .and_then(Value::as_object_mut)
        .expect("found above");
    for (name, definition) in definitions.iter_mut() {
        *definition = strict_core_schema(name, definition);
    }
    Ok(container)
}

/// Registers a definitions document for `$ref`s under [`CORE_URI`].
fn register(mut document: Value) -> std::result::Result<Registry<'static>, String> {
    if let Some(object) = document.as_object_mut() {
        // Our own URI is the base; an `$id` would move it somewhere we never registered.
        object.remove("$id");
    }
    Registry::new()
        .add(CORE_URI, document)
        .and_then(|builder| builder.prepare())
        .map_err(|error| format!("cannot index its definitions: {error}"))
}

/// Makes a definitions document strict and registers it for `$ref`s; returns it with the
/// definition name of each group/version/kind.
pub(super) fn prepare_core(
    mut document: Value,
) -> std::result::Result<(CoreDocument, HashMap<Gvk, String>), String> {
    let container = make_strict(&mut document)?;
    let definitions = document
        .pointer(&container)
        .and_then(Value::as_object)
        .expect("found by make_strict");
    let mut kinds = HashMap::new();
    for (name, definition) in definitions {
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
    let registry = register(document)?;
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
    use serde_json::json;

    use super::compile_crd;
    use crate::validate::strict::strict_crd_schema;

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
}
