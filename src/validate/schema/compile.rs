//! Compiling validators: a CRD version's schema, and a Kubernetes definition (from its embedded
//! piece, or from a definitions document given whole), each prepared and compiled on first use
//! and then shared.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

use super::cut::{CutValidator, Cuts, Nodes, Seen, cut_node};
use super::depth;
use super::{Gvk, Source};
use crate::validate::document::escape_segment;
use crate::validate::embedded;
use crate::validate::strict::{strict_core_schema, strict_crd_schema};

/// Base URI under which the Kubernetes definitions are registered for `$ref` resolution. Under
/// any other scheme than jsonschema's default one, it works out the absolute location of every
/// keyword it compiles (a percent-encoded URI each: 15% of making a Deployment's validator), for
/// error details findings never read.
const CORE_URI: &str = "json-schema:///kubernetes-definitions";

pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

type Compiled = OnceLock<std::result::Result<Validator, String>>;

/// One version of a CustomResourceDefinition.
#[derive(Debug)]
pub(super) struct CrdVersion {
    pub(super) schema: OwnOrShared,
    pub(super) served: bool,
    pub(super) deprecated: bool,
    pub(super) source: Source,
}

#[derive(Debug)]
pub(super) enum OwnOrShared {
    /// Given as text: this `Schemas`' own.
    Own(CrdSchema),
    /// Embedded: one for the whole process.
    Shared(&'static CrdSchema),
}

impl std::ops::Deref for OwnOrShared {
    type Target = CrdSchema;

    fn deref(&self) -> &CrdSchema {
        match self {
            OwnOrShared::Own(schema) => schema,
            OwnOrShared::Shared(schema) => schema,
        }
    }
}

/// A CRD version's strict schema and its validator, each made once.
#[derive(Debug, Default)]
pub(super) struct CrdSchema {
    /// The strict JSON Schema made from the version's `openAPIV3Schema`; `None` inside when
    /// the CRD has none.
    schema: OnceLock<Option<Value>>,
    validator: Compiled,
    /// The embedded CRD version `schema` is inflated from on first use; `None` for a CRD
    /// given as text, whose schema is made when it is added.
    embedded: Option<&'static embedded::CrdVersionInfo>,
}

impl CrdSchema {
    /// The schema of a CRD version given as text (`openAPIV3Schema`, or `None`).
    pub(super) fn given(raw: Option<&serde_json::Map<String, Value>>) -> Self {
        let schema = OnceLock::new();
        let strict = raw.map(|raw| strict_crd_schema(&Value::Object(raw.clone()), true));
        let validator = OnceLock::new();
        if strict
            .as_ref()
            .is_some_and(|strict| depth::too_deep(strict, strict))
        {
            let _ = validator.set(Err(depth::too_deep_message()));
        }
        let _ = schema.set(strict);
        Self {
            schema,
            validator,
            ..Self::default()
        }
    }

    pub(super) fn schema(&self) -> Option<&Value> {
        self.schema
            .get_or_init(|| self.embedded?.strict_schema())
            .as_ref()
    }

    /// Whether its validator has been made.
    #[cfg(test)]
    pub(super) fn is_compiled(&self) -> bool {
        self.validator.get().is_some()
    }

    /// The validator of [`CrdSchema::schema`], which must be `Some`.
    pub(super) fn validator(&self, schema: &Value) -> &std::result::Result<Validator, String> {
        self.validator.get_or_init(|| compile_crd(schema))
    }

    /// A validator for `instance` of [`CrdSchema::schema`] (`schema`): the whole schema's when
    /// it has been made (or refused: a schema given too deep never gets that far), else, with
    /// `cuts`, one cut to the documents checked so far.
    pub(super) fn validator_for(
        &self,
        schema: &Value,
        instance: &Value,
        cuts: Option<&Cuts>,
    ) -> Chosen<'_> {
        if let (None, Some(cuts)) = (self.validator.get(), cuts) {
            let key = std::ptr::from_ref(self) as usize;
            if let Some(cut) = cuts.validator(key, schema, "", instance, |cut| compile_crd(&cut)) {
                return Chosen::Cut(cut);
            }
        }
        Chosen::Whole(self.validator(schema))
    }
}

/// The validator a document is checked with: the whole schema's, or one cut to the documents
/// of its kind (see [`super::cut`]).
pub(super) enum Chosen<'a> {
    Whole(&'a std::result::Result<Validator, String>),
    Cut(Arc<CutValidator>),
}

impl std::ops::Deref for Chosen<'_> {
    type Target = std::result::Result<Validator, String>;

    fn deref(&self) -> &Self::Target {
        match self {
            Chosen::Whole(validator) => validator,
            Chosen::Cut(cut) => &cut.validator,
        }
    }
}

/// What is made of the embedded schemas. It depends on static data and fixed options only, so
/// one store serves every `Schemas` of the process ([`Store::shared`]): it can be filled before
/// validation asks ([`warm`]), and nothing is made twice.
pub(super) struct Store {
    /// Per entry of `CRD_FILES`, per version of it.
    crds: Vec<Vec<CrdSchema>>,
    /// Per entry of `KUBERNETES`, per piece of it.
    pieces: Vec<Vec<Compiled>>,
    /// Per entry of `KUBERNETES`, per definition of it: the definition inflated, kept for the
    /// validators cut from it.
    definitions: Vec<Vec<OnceLock<Value>>>,
}

impl Store {
    /// The store of the process.
    pub(super) fn shared() -> &'static Store {
        static SHARED: OnceLock<Store> = OnceLock::new();
        SHARED.get_or_init(Store::new)
    }

    /// An empty store; outside tests, only [`Store::shared`] makes one.
    pub(super) fn new() -> Store {
        Store {
            crds: embedded::CRD_FILES
                .iter()
                .map(|file| {
                    file.versions
                        .iter()
                        .map(|version| CrdSchema {
                            embedded: Some(version),
                            ..CrdSchema::default()
                        })
                        .collect()
                })
                .collect(),
            pieces: embedded::KUBERNETES
                .iter()
                .map(|release| release.pieces.iter().map(|_| OnceLock::new()).collect())
                .collect(),
            definitions: embedded::KUBERNETES
                .iter()
                .map(|release| {
                    release
                        .definitions
                        .iter()
                        .map(|_| OnceLock::new())
                        .collect()
                })
                .collect(),
        }
    }

    /// The schema of version `version` of `CRD_FILES[file]`, both by position.
    pub(super) fn crd(&'static self, file: usize, version: usize) -> &'static CrdSchema {
        &self.crds[file][version]
    }

    /// The validators of `release`'s pieces.
    pub(super) fn release(
        &'static self,
        release: &'static embedded::KubernetesRelease,
    ) -> ReleaseValidators {
        let at = embedded::KUBERNETES
            .iter()
            .position(|known| std::ptr::eq(known, release))
            .expect("an embedded release is one of KUBERNETES");
        ReleaseValidators {
            release,
            slots: &self.pieces[at],
            definitions: Definitions {
                release,
                inflated: &self.definitions[at],
            },
        }
    }
}

/// An embedded release with the store's validator of each of its pieces, in their order.
#[derive(Clone, Copy)]
pub(super) struct ReleaseValidators {
    release: &'static embedded::KubernetesRelease,
    slots: &'static [Compiled],
    definitions: Definitions,
}

/// An embedded release's definitions document, each definition inflated when first reached:
/// the objects of a kind reach a few of the many definitions its piece has (a Deployment's
/// piece is 115 definitions, of which the example's Deployment, one container, reaches 10),
/// and kinds share the rest.
#[derive(Clone, Copy)]
struct Definitions {
    release: &'static embedded::KubernetesRelease,
    inflated: &'static [OnceLock<Value>],
}

impl Definitions {
    fn definition(&self, name: &str) -> Option<&'static Value> {
        let index = self.release.definition(name)?;
        Some(self.inflated[index].get_or_init(|| self.release.definitions[index].schema()))
    }

    /// The name of the definition `pointer` is in, unescaped, and the pointer inside it.
    fn split(pointer: &str) -> Option<(String, &str)> {
        let rest = pointer
            .strip_prefix(EMBEDDED_CONTAINER)?
            .strip_prefix('/')?;
        let (name, inside) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        Some((name.replace("~1", "/").replace("~0", "~"), inside))
    }
}

impl Nodes<'static> for Definitions {
    fn node(&self, pointer: &str) -> Option<&'static Value> {
        let (name, inside) = Self::split(pointer)?;
        self.definition(&name)?.pointer(inside)
    }

    fn cut(&self, seen: &Seen, referred: &HashSet<String>) -> Value {
        let names: BTreeSet<String> = referred
            .iter()
            .filter_map(|pointer| Some(Self::split(pointer)?.0))
            .collect();
        self.release.document(names.into_iter().filter_map(|name| {
            let cut = cut_node(self.definition(&name)?, seen, None);
            Some((name, cut))
        }))
    }
}

impl ReleaseValidators {
    /// The validator of definition `name`, made from its piece on first use.
    fn validator(&self, name: &str) -> Option<&'static std::result::Result<Validator, String>> {
        let index = self.release.piece(name)?;
        Some(
            self.slots[index]
                .get_or_init(|| compile_piece(self.release.piece_document(index), name)),
        )
    }

    /// What [`warm`] makes ahead of definition `name`: its validator, or only its own
    /// definition (the walk of its objects inflates the others it reaches, and only those).
    fn prepare(&self, name: &str, ahead: Ahead) {
        match ahead {
            Ahead::Validators => {
                self.validator(name);
            }
            Ahead::Schemas => {
                self.definitions.definition(name);
            }
        }
    }

    /// A validator of definition `name` cut to the documents checked so far with `cuts`,
    /// `instance` included, unless the whole one has been made.
    fn cut_validator(
        &self,
        name: &str,
        instance: &Value,
        cuts: &Cuts,
    ) -> Option<Arc<CutValidator>> {
        let index = self.release.piece(name)?;
        let slot = &self.slots[index];
        if slot.get().is_some() {
            return None;
        }
        let root = format!("{EMBEDDED_CONTAINER}/{}", escape_segment(name));
        let key = std::ptr::from_ref(slot) as usize;
        cuts.validator(key, self.definitions, &root, instance, |cut| {
            compile_piece(cut, name)
        })
    }
}

/// Makes, ahead of validation, the validators of the embedded schemas that objects of
/// `kinds` (`(apiVersion, kind)`) get under Kubernetes `kubernetes_version`: what a run
/// makes while rendering, on a core that rendering leaves idle. A kind with no embedded
/// schema is passed over; one that a fleet's own schema replaces costs only the time.
pub fn warm(kinds: &[(String, String)], kubernetes_version: Option<&str>, ahead: Ahead) {
    warm_in(Store::shared(), kinds, kubernetes_version, ahead);
}

/// What [`warm`] makes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// The whole schemas' validators, for a fleet with many documents of each kind.
    Validators,
    /// Only the schemas, inflated and parsed, for a small fleet whose validation makes
    /// validators cut to its few documents (see `validate::CUT_SCHEMAS_UP_TO`).
    Schemas,
}

/// [`warm`], in `store`.
pub(super) fn warm_in(
    store: &'static Store,
    kinds: &[(String, String)],
    kubernetes_version: Option<&str>,
    ahead: Ahead,
) {
    if ahead == Ahead::Schemas {
        // jsonschema makes a draft's meta-schema validator, which checks every schema before
        // it is compiled, on first use: about as long as compiling a few cut schemas. An empty
        // schema is never checked, so it would not make it.
        let _ = compile_crd(&json!({ "type": "object" }));
    }
    let release = embedded::kubernetes(kubernetes_version).map(|release| store.release(release));
    let mut custom = false;
    for (api_version, kind) in kinds {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if super::is_builtin_group(group) {
            let Some(release) = release else { continue };
            let name = release
                .release
                .kinds
                .iter()
                .find(|known| known.0 == group && known.1 == version && known.2 == kind)
                .map(|known| known.3);
            if let Some(name) = name {
                release.prepare(name, ahead);
            }
            continue;
        }
        let file = embedded::CRD_FILES
            .iter()
            .position(|file| file.group == group && file.kind == kind);
        let Some(file) = file else { continue };
        let number = embedded::CRD_FILES[file]
            .versions
            .iter()
            .position(|known| known.name == version);
        let Some(number) = number else { continue };
        let crd = store.crd(file, number);
        if let (Some(schema), Ahead::Validators) = (crd.schema(), ahead) {
            crd.validator(schema);
        }
        custom = true;
    }
    // A custom resource's metadata is checked against ObjectMeta.
    if custom && let Some(release) = release {
        release.prepare(OBJECT_META, ahead);
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
    /// The embedded release the validators are made from, one piece each (a kind inflates and
    /// prepares its own piece only), with the store's slots they are kept in.
    embedded: Option<ReleaseValidators>,
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
        }
    }

    /// The built-in kinds of an embedded release.
    pub(super) fn embedded(
        source: Source,
        release: &'static embedded::KubernetesRelease,
        store: &'static Store,
    ) -> Self {
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
            embedded: Some(store.release(release)),
            ..Self::new(source, kinds)
        }
    }

    pub(super) fn validator(&self, name: &str) -> &std::result::Result<Validator, String> {
        static UNAVAILABLE: OnceLock<std::result::Result<Validator, String>> = OnceLock::new();
        if let Some(release) = &self.embedded {
            return match release.validator(name) {
                Some(validator) => validator,
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

    /// A validator for `instance` of definition `name`: the whole definition's when it has
    /// been made (or the definitions were given whole), else, with `cuts`, one cut to the
    /// documents checked so far.
    pub(super) fn validator_for(
        &self,
        name: &str,
        instance: &Value,
        cuts: Option<&Cuts>,
    ) -> Chosen<'_> {
        if let (Some(release), Some(cuts)) = (&self.embedded, cuts)
            && let Some(cut) = release.cut_validator(name, instance, cuts)
        {
            return Chosen::Cut(cut);
        }
        Chosen::Whole(self.validator(name))
    }

    /// Which pieces of the embedded release have been prepared, by definition name.
    #[cfg(test)]
    pub(super) fn prepared_pieces(&self) -> Vec<&'static str> {
        let Some(ReleaseValidators { release, slots, .. }) = self.embedded else {
            return Vec::new();
        };
        release
            .pieces
            .iter()
            .zip(slots)
            .filter(|(_, slot)| slot.get().is_some())
            .map(|(piece, _)| piece.name)
            .collect()
    }

    /// Which definitions of the embedded release have been inflated, by name.
    #[cfg(test)]
    pub(super) fn inflated_definitions(&self) -> Vec<&'static str> {
        let Some(ReleaseValidators { definitions, .. }) = self.embedded else {
            return Vec::new();
        };
        definitions
            .release
            .definitions
            .iter()
            .zip(definitions.inflated)
            .filter(|(_, inflated)| inflated.get().is_some())
            .map(|(definition, _)| definition.name)
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
    // The definitions keep the draft their document names. This one is the root's, a lone
    // `$ref`, which jsonschema checks against its draft's meta-schema before compiling: the
    // draft 4 one is made for CRDs anyway, while a newer draft's would cost a tenth of a small
    // fleet's validation to make.
    options()
        .with_draft(Draft::Draft4)
        .with_registry(&document.registry)
        .build(&json!({ "$ref": reference }))
        .map_err(|error| error.to_string())
}

/// The validator of definition `name` from its embedded piece, prepared as a whole document
/// would be: the same registration, only fewer definitions, already made strict by build.rs.
fn compile_piece(piece: Value, name: &str) -> std::result::Result<Validator, String> {
    let document = CoreDocument {
        registry: register(piece)?,
        container: EMBEDDED_CONTAINER.to_owned(),
        validators: HashMap::new(),
    };
    compile_core(&document, name)
}

/// Where an embedded piece holds its definitions.
const EMBEDDED_CONTAINER: &str = "/$defs";

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
    if depth::any_too_deep(&document, definitions.values()) {
        return Err(depth::too_deep_message());
    }
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
