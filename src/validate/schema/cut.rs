//! Schemas cut to the documents they check.
//!
//! jsonschema compiles a schema whole, every `$ref` at every place it is used: a Deployment's
//! validator is some two thousand schema nodes, nearly all of them for fields no rendered
//! Deployment has. A small fleet checks a handful of objects per kind, and compiling whole
//! schemas was most of what its validation cost. A cut schema keeps, at each node, only the
//! properties that the documents checked against that node have there; the rest of the node
//! (`required`, `additionalProperties: false`, types, patterns) stays as it is. For those
//! documents it finds exactly what the whole schema finds, since a property a document does not
//! have at a node is never looked at there.
//!
//! Which documents reach which node is worked out by following the schema over each document
//! as a validator would, more widely where that is simpler (every branch of `anyOf`, every
//! pattern of `patternProperties`): reaching too many nodes only keeps more. A schema with a
//! keyword this does not follow is not cut.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::validate::document::escape_segment;

/// Keywords that apply subschemas in a way the walk does not follow (and `not`, whose failures
/// quote the subschema itself): a schema with one of them is validated whole. Draft 4, which
/// every schema here is compiled as, has only `not` of them.
const NOT_FOLLOWED: [&str; 12] = [
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "dependentSchemas",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
];

/// Where a walk finds the schema nodes that pointers name, and how a cut of them is put
/// together: one document held whole, or a document whose definitions are made when first
/// reached.
pub(super) trait Nodes<'a>: Copy {
    /// The node at JSON pointer `pointer`.
    fn node(&self, pointer: &str) -> Option<&'a Value>;

    /// The document cut to `seen`, of its definitions (in `$defs` or `definitions`) only those
    /// whose pointers are among `referred`. Every node of `referred` must be in it.
    fn cut(&self, seen: &Seen, referred: &HashSet<String>) -> Value;
}

impl<'a> Nodes<'a> for &'a Value {
    fn node(&self, pointer: &str) -> Option<&'a Value> {
        self.pointer(pointer)
    }

    fn cut(&self, seen: &Seen, referred: &HashSet<String>) -> Value {
        cut_node(self, seen, Some(referred))
    }
}

/// The schema has something a cut does not follow; it is validated whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Uncuttable;

/// Why a walk stopped early.
enum Halt {
    Uncuttable,
    /// A document has a property a cut left out.
    NotKept,
}

impl From<Uncuttable> for Halt {
    fn from(_: Uncuttable) -> Self {
        Halt::Uncuttable
    }
}

/// Per schema node that has `properties` (by its address in the schema document, which
/// outlives every cut of it), the property names of the objects validated against it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Seen(HashMap<usize, BTreeSet<String>>);

/// A schema node's identity while its document lives.
pub(super) fn address(node: &Value) -> usize {
    std::ptr::from_ref(node) as usize
}

impl Seen {
    /// Where `instance` goes when validated against the node at `root` of `document`.
    pub(super) fn of<'a>(
        document: impl Nodes<'a>,
        root: &str,
        instance: &Value,
    ) -> Result<Seen, Uncuttable> {
        let mut walk = Walk::new(document, Sink::Collect(Seen::default()));
        match walk.visit(walk.node(root)?, instance) {
            Ok(()) => {}
            Err(Halt::Uncuttable) => return Err(Uncuttable),
            Err(Halt::NotKept) => unreachable!("collecting keeps every name"),
        }
        match walk.sink {
            Sink::Collect(seen) => Ok(seen),
            Sink::Check(_) => unreachable!("collecting"),
        }
    }

    /// Whether a schema cut to `self` keeps every property `instance` has where it goes:
    /// [`Seen::of`] without making one, for the many documents a cut made earlier serves.
    pub(super) fn keeps<'a>(
        &self,
        document: impl Nodes<'a>,
        root: &str,
        instance: &Value,
    ) -> Result<bool, Uncuttable> {
        let mut walk = Walk::new(document, Sink::Check(self));
        match walk.visit(walk.node(root)?, instance) {
            Ok(()) => Ok(true),
            Err(Halt::NotKept) => Ok(false),
            Err(Halt::Uncuttable) => Err(Uncuttable),
        }
    }

    pub(super) fn merge(&mut self, other: Seen) {
        for (node, names) in other.0 {
            self.0.entry(node).or_default().extend(names);
        }
    }

    fn kept(&self, node: &Value, name: &str) -> bool {
        self.0
            .get(&address(node))
            .is_some_and(|names| names.contains(name))
    }
}

enum Sink<'s> {
    Collect(Seen),
    Check(&'s Seen),
}

struct Walk<'a, 's, N> {
    document: N,
    nodes: std::marker::PhantomData<&'a Value>,
    sink: Sink<'s>,
    /// Each reference is followed once per place in the document: references cannot make
    /// the walk go round in circles or grow with the number of ways a place is reached.
    followed: HashSet<(usize, usize)>,
    /// How many schema nodes deep the walk is.
    depth: usize,
}

/// How deep a walk goes before the schema is left whole (and refused, if it is that deep: see
/// `depth.rs`).
const MAX_DEPTH: usize = super::depth::MAX_DEPTH;

impl<'a, 's, N: Nodes<'a>> Walk<'a, 's, N> {
    fn new(document: N, sink: Sink<'s>) -> Self {
        Walk {
            document,
            nodes: std::marker::PhantomData,
            sink,
            followed: HashSet::new(),
            depth: 0,
        }
    }

    /// The node at `pointer`, which must be a schema.
    fn node(&self, pointer: &str) -> Result<&'a Value, Uncuttable> {
        match self.document.node(pointer) {
            Some(node @ (Value::Object(_) | Value::Bool(_))) => Ok(node),
            _ => Err(Uncuttable),
        }
    }

    fn visit(&mut self, node: &'a Value, instance: &Value) -> Result<(), Halt> {
        // A schema may come from the fleet: a chain of references is as long as it likes.
        if self.depth == MAX_DEPTH {
            return Err(Halt::Uncuttable);
        }
        self.depth += 1;
        let followed = self.visit_node(node, instance);
        self.depth -= 1;
        followed
    }

    fn visit_node(&mut self, node: &'a Value, instance: &Value) -> Result<(), Halt> {
        // `true` and `false` have nothing to cut.
        let Value::Object(keywords) = node else {
            return Ok(());
        };
        if keywords
            .keys()
            .any(|keyword| NOT_FOLLOWED.contains(&keyword.as_str()))
        {
            return Err(Halt::Uncuttable);
        }
        if let Some(reference) = keywords.get("$ref") {
            // Only references inside the document: what the registries here hold.
            let target = reference
                .as_str()
                .and_then(|reference| reference.strip_prefix('#'))
                .filter(|target| !target.contains('%'))
                .ok_or(Uncuttable)?;
            let target = self.node(target)?;
            if self.followed.insert((address(target), address(instance))) {
                self.visit(target, instance)?;
            }
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            if let Some(list) = keywords.get(keyword) {
                for child in list.as_array().ok_or(Uncuttable)? {
                    self.visit(child, instance)?;
                }
            }
        }
        match instance {
            Value::Object(fields) => self.visit_fields(node, keywords, instance, fields),
            Value::Array(items) => self.visit_items(keywords, items),
            _ => Ok(()),
        }
    }

    fn visit_fields(
        &mut self,
        node: &'a Value,
        keywords: &'a Map<String, Value>,
        instance: &Value,
        fields: &Map<String, Value>,
    ) -> Result<(), Halt> {
        if let Some(properties) = keywords.get("properties") {
            let properties = properties.as_object().ok_or(Uncuttable)?;
            match &mut self.sink {
                Sink::Collect(seen) => seen
                    .0
                    .entry(address(node))
                    .or_default()
                    .extend(fields.keys().cloned()),
                Sink::Check(kept) => {
                    if !fields.keys().all(|name| kept.kept(node, name)) {
                        return Err(Halt::NotKept);
                    }
                }
            }
            for (name, value) in fields {
                if let Some(child) = properties.get(name) {
                    self.visit(child, value)?;
                }
            }
        }
        // Each pattern, and `additionalProperties`, as if it applied to every field.
        if let Some(patterns) = keywords.get("patternProperties") {
            for child in patterns.as_object().ok_or(Uncuttable)?.values() {
                for value in fields.values() {
                    self.visit(child, value)?;
                }
            }
        }
        if let Some(child @ Value::Object(_)) = keywords.get("additionalProperties") {
            for value in fields.values() {
                self.visit(child, value)?;
            }
        }
        if let Some(dependencies) = keywords.get("dependencies") {
            for child in dependencies.as_object().ok_or(Uncuttable)?.values() {
                if child.is_object() {
                    self.visit(child, instance)?;
                }
            }
        }
        Ok(())
    }

    fn visit_items(
        &mut self,
        keywords: &'a Map<String, Value>,
        items: &[Value],
    ) -> Result<(), Halt> {
        match keywords.get("items") {
            Some(child @ Value::Object(_)) => {
                for item in items {
                    self.visit(child, item)?;
                }
            }
            // A schema per position: every item as if at every position.
            Some(Value::Array(children)) => {
                for child in children {
                    for item in items {
                        self.visit(child, item)?;
                    }
                }
            }
            Some(Value::Bool(_)) | None => {}
            Some(_) => return Err(Halt::Uncuttable),
        }
        if let Some(child @ Value::Object(_)) = keywords.get("additionalItems") {
            for item in items {
                self.visit(child, item)?;
            }
        }
        Ok(())
    }
}

/// `document` with the `properties` of every node cut to the names `seen` there (to none at a
/// node no document reached), and, of the definitions in its top-level `$defs` or
/// `definitions`, only those that what is left of `root` refers to, directly or not.
/// `seen` must have been made of this same `document`, whose nodes it knows by address.
pub(super) fn cut<'a>(document: impl Nodes<'a>, seen: &Seen, root: &str) -> Value {
    let referred = referred_definitions(document, seen, root);
    document.cut(seen, &referred)
}

/// `node` cut; at the top of the document (`referred` given) only the definitions referred to
/// are kept, and cut, while the others are not even copied.
pub(super) fn cut_node(node: &Value, seen: &Seen, referred: Option<&HashSet<String>>) -> Value {
    let Value::Object(keywords) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (keyword, value) in keywords {
        let cut = match (keyword.as_str(), value) {
            ("properties", Value::Object(properties)) => Value::Object(
                properties
                    .iter()
                    .filter(|(name, _)| seen.kept(node, name))
                    .map(|(name, child)| (name.clone(), cut_node(child, seen, None)))
                    .collect(),
            ),
            ("$defs" | "definitions", Value::Object(children)) if referred.is_some() => {
                Value::Object(
                    children
                        .iter()
                        .filter(|(name, _)| {
                            referred.is_some_and(|referred| {
                                referred.contains(&format!("/{keyword}/{}", escape_segment(name)))
                            })
                        })
                        .map(|(name, child)| (name.clone(), cut_node(child, seen, None)))
                        .collect(),
                )
            }
            (
                "patternProperties" | "dependencies" | "$defs" | "definitions",
                Value::Object(children),
            ) => Value::Object(
                children
                    .iter()
                    .map(|(name, child)| (name.clone(), cut_node(child, seen, None)))
                    .collect(),
            ),
            ("additionalProperties" | "additionalItems" | "items", Value::Object(_)) => {
                cut_node(value, seen, None)
            }
            ("items" | "allOf" | "anyOf" | "oneOf", Value::Array(children)) => Value::Array(
                children
                    .iter()
                    .map(|child| cut_node(child, seen, None))
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(keyword.clone(), cut);
    }
    Value::Object(out)
}

/// The pointers of the node at `root` and of the definitions it refers to, directly or
/// through other definitions, once cut to `seen`.
fn referred_definitions<'a>(document: impl Nodes<'a>, seen: &Seen, root: &str) -> HashSet<String> {
    let mut referred = HashSet::from([root.to_owned()]);
    let mut pending = vec![root.to_owned()];
    while let Some(pointer) = pending.pop() {
        let Some(node) = document.node(&pointer) else {
            continue;
        };
        let mut found = Vec::new();
        references(node, seen, &mut found);
        for target in found {
            if referred.insert(target.clone()) {
                pending.push(target);
            }
        }
    }
    referred
}

/// Every local `$ref` below `node` that its cut keeps, as a pointer; definitions nested in
/// `node` are reached only through references.
fn references(node: &Value, seen: &Seen, found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    // A property may be named `$ref`: only a string is a reference.
                    ("$ref", Value::String(reference)) => {
                        if let Some(target) = reference.strip_prefix('#') {
                            found.push(target.to_owned());
                        }
                    }
                    ("properties", Value::Object(properties)) => {
                        for (name, child) in properties {
                            if seen.kept(node, name) {
                                references(child, seen, found);
                            }
                        }
                    }
                    ("$defs" | "definitions", _) => {}
                    _ => references(value, seen, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, seen, found)),
        _ => {}
    }
}

/// A validator of a schema cut to the documents checked with it so far.
pub(super) struct CutValidator {
    seen: Seen,
    pub(super) validator: std::result::Result<Validator, String>,
}

/// The cut validators of one validation, per schema: each is made again, cut to more, when a
/// document needs what the last one left out.
#[derive(Default)]
pub struct Cuts {
    by_schema: Mutex<HashMap<usize, Arc<Slot>>>,
}

/// The latest validator cut from one schema, locked while a document is checked against what
/// it keeps or a new one is made.
type Slot = Mutex<Option<Arc<CutValidator>>>;

impl std::fmt::Debug for Cuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let made = self
            .by_schema
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Cuts").field("schemas", &made).finish()
    }
}

impl Cuts {
    /// A validator for `instance` of the schema at `root` in `document` (`key` names that
    /// schema for this validation): the one made for the documents before it when it keeps
    /// all this one needs, or one cut to them and this one, made with `compile`. `None` when
    /// the schema cannot be cut.
    pub(super) fn validator<'a>(
        &self,
        key: usize,
        document: impl Nodes<'a>,
        root: &str,
        instance: &Value,
        compile: impl FnOnce(Value) -> std::result::Result<Validator, String>,
    ) -> Option<Arc<CutValidator>> {
        let slot = Arc::clone(
            self.by_schema
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        // Held while a validator is made: a second document of the kind would make the same.
        let mut current = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(made) = current.as_ref()
            && made.seen.keeps(document, root, instance).ok()?
        {
            return Some(Arc::clone(made));
        }
        let needed = Seen::of(document, root, instance).ok()?;
        let mut seen = current
            .as_ref()
            .map(|made| made.seen.clone())
            .unwrap_or_default();
        seen.merge(needed);
        let validator = compile(cut(document, &seen, root));
        let made = Arc::new(CutValidator { seen, validator });
        *current = Some(Arc::clone(&made));
        Some(made)
    }

    /// For how many schemas a cut validator was made (for tests).
    #[cfg(test)]
    pub(super) fn schemas(&self) -> usize {
        let by_schema = self.by_schema.lock().unwrap();
        by_schema
            .values()
            .filter(|slot| slot.lock().unwrap().is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(document: &Value, root: &str, instances: &[Value]) -> Seen {
        let mut seen = Seen::default();
        for instance in instances {
            seen.merge(Seen::of(document, root, instance).unwrap());
        }
        seen
    }

    #[test]
    fn properties_are_cut_to_those_documents_have() {
        let schema = json!({
            "type": "object",
            "required": ["spec"],
            "additionalProperties": false,
            "properties": {
                "spec": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "a": {"type": "string"},
                        "b": {"type": "object", "properties": {"deep": {"type": "string"}}},
                        "c": {"type": "array", "items": {"type": "object", "properties": {"x": {}, "y": {}}}}
                    }
                },
                "status": {"type": "object", "properties": {"z": {}}}
            }
        });
        let documents = [json!({"spec": {"a": "1", "c": [{"x": 1}]}})];
        let cut = cut(&schema, &seen(&schema, "", &documents), "");
        assert_eq!(
            cut,
            json!({
                "type": "object",
                "required": ["spec"],
                "additionalProperties": false,
                "properties": {
                    "spec": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "a": {"type": "string"},
                            "c": {"type": "array", "items": {"type": "object", "properties": {"x": {}}}}
                        }
                    }
                }
            })
        );
    }

    #[test]
    fn definitions_are_cut_where_references_lead_and_unused_ones_dropped() {
        let schema = json!({
            "$defs": {
                "Root": {"type": "object", "properties": {
                    "one": {"$ref": "#/$defs/Shared"},
                    "two": {"$ref": "#/$defs/Shared"},
                    "three": {"$ref": "#/$defs/Unused"}
                }},
                "Shared": {"type": "object", "properties": {"p": {}, "q": {}, "r": {}}},
                "Unused": {"type": "object"},
                "Other": {"type": "object"}
            }
        });
        // `Shared` is reached from two places: it keeps what either had.
        let documents = [json!({"one": {"p": 1}, "two": {"q": 2}})];
        let cut = cut(
            &schema,
            &seen(&schema, "/$defs/Root", &documents),
            "/$defs/Root",
        );
        assert_eq!(
            cut,
            json!({
                "$defs": {
                    "Root": {"type": "object", "properties": {
                        "one": {"$ref": "#/$defs/Shared"},
                        "two": {"$ref": "#/$defs/Shared"}
                    }},
                    "Shared": {"type": "object", "properties": {"p": {}, "q": {}}}
                }
            })
        );
    }

    #[test]
    fn every_branch_of_a_combinator_keeps_what_reaches_it() {
        let schema = json!({
            "anyOf": [
                {"type": "object", "properties": {"a": {}, "b": {}}},
                {"type": "object", "properties": {"a": {}, "c": {}}}
            ],
            "additionalProperties": {"type": "object", "properties": {"x": {}, "y": {}}},
            "patternProperties": {"^p": {"type": "object", "properties": {"x": {}, "z": {}}}}
        });
        let documents = [json!({"a": 1, "p1": {"z": 1}})];
        let cut = cut(&schema, &seen(&schema, "", &documents), "");
        assert_eq!(cut["anyOf"][0]["properties"], json!({"a": {}}));
        assert_eq!(cut["anyOf"][1]["properties"], json!({"a": {}}));
        // Followed as if they applied to every field: more is kept than is needed, never less.
        assert_eq!(cut["additionalProperties"]["properties"], json!({}));
        assert_eq!(
            cut["patternProperties"]["^p"]["properties"],
            json!({"z": {}})
        );
    }

    #[test]
    fn a_schema_with_a_keyword_not_followed_is_not_cut() {
        for schema in [
            json!({"not": {"type": "string"}}),
            json!({"properties": {"a": {"if": {}}}}),
            json!({"$ref": "other.json#/x"}),
            json!({"$ref": "#/missing"}),
            json!({"properties": []}),
        ] {
            assert_eq!(
                Seen::of(&schema, "", &json!({"a": 1})),
                Err(Uncuttable),
                "{schema}"
            );
        }
    }

    #[test]
    fn recursive_references_end() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {
                "child": {"$ref": "#/$defs/Node"},
                "loop": {"$ref": "#/$defs/Loop"}
            }},
            "Loop": {"allOf": [{"$ref": "#/$defs/Loop"}]}}
        });
        let document = json!({"child": {"child": {"loop": 1}}});
        let seen = Seen::of(&schema, "/$defs/Node", &document).unwrap();
        let cut = cut(&schema, &seen, "/$defs/Node");
        assert_eq!(
            cut["$defs"]["Node"]["properties"],
            json!({"child": {"$ref": "#/$defs/Node"}, "loop": {"$ref": "#/$defs/Loop"}})
        );
        assert!(cut["$defs"].get("Loop").is_some());
    }

    #[test]
    fn a_chain_of_references_too_long_to_follow_is_not_cut() {
        let definitions: Map<String, Value> = (0..100_000)
            .map(|at| {
                (
                    format!("d{at}"),
                    json!({"$ref": format!("#/$defs/d{}", at + 1)}),
                )
            })
            .collect();
        let schema = json!({"$defs": definitions});
        assert_eq!(
            Seen::of(&schema, "/$defs/d0", &json!({"a": 1})),
            Err(Uncuttable)
        );
    }

    #[test]
    fn a_cut_keeps_a_document_only_with_every_name_at_every_node() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"x": {}, "y": {}}}
        }});
        let first = Seen::of(&schema, "", &json!({"a": {"x": 1}})).unwrap();
        let same = json!({"a": {"x": 2}});
        let more = json!({"a": {"y": 2}});
        assert_eq!(first.keeps(&schema, "", &same), Ok(true));
        assert_eq!(first.keeps(&schema, "", &more), Ok(false));
        let mut both = first.clone();
        both.merge(Seen::of(&schema, "", &more).unwrap());
        assert_eq!(both.keeps(&schema, "", &same), Ok(true));
        assert_eq!(both.keeps(&schema, "", &more), Ok(true));
    }
}
