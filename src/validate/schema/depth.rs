//! How deep a schema nests, its references followed: what compiling it takes of a stack.
//!
//! jsonschema compiles a schema recursively, and a reference by compiling its target where it
//! is used. A schema from the fleet source (a vendored CRD, a definitions document) can nest as
//! deep as it likes, through a chain of definitions each referring to the next: compiling it
//! overflowed the stack of the thread validating, and the process aborted. Such a schema is
//! refused before it is compiled, with a finding, and the objects it describes go unchecked.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// The deepest a schema may nest, in schema nodes on the way down, references followed. The
/// schemas upstream publish nest a few dozen deep; compiling nested several thousand deep
/// overflows a validating thread's stack.
pub(super) const MAX_DEPTH: usize = 256;

/// Why a schema is refused, for the finding about it.
pub(super) fn too_deep_message() -> String {
    format!("it nests more than {MAX_DEPTH} schemas deep, references followed")
}

/// Whether the schema `root`, in `document` (where its `#...` references point), nests more
/// than [`MAX_DEPTH`] schemas deep. A reference back to a schema on the way down is not
/// followed again: jsonschema compiles such cycles once.
pub(super) fn too_deep(document: &Value, root: &Value) -> bool {
    any_too_deep(document, [root])
}

/// Whether any of `roots` in `document` is [`too_deep`]; what they share is walked once.
pub(super) fn any_too_deep<'a>(
    document: &'a Value,
    roots: impl IntoIterator<Item = &'a Value>,
) -> bool {
    let mut walk = Walk {
        document,
        heights: HashMap::new(),
        on_the_way: HashSet::new(),
    };
    roots.into_iter().any(|root| walk.height(root, 0).is_none())
}

struct Walk<'a> {
    document: &'a Value,
    /// How deep below each schema, by address, the schemas it leads to go.
    heights: HashMap<usize, usize>,
    on_the_way: HashSet<usize>,
}

impl<'a> Walk<'a> {
    /// How deep below `node` its schemas go, or `None` when `level + that` is too deep.
    fn height(&mut self, node: &'a Value, level: usize) -> Option<usize> {
        if level > MAX_DEPTH {
            return None;
        }
        let address = super::cut::address(node);
        if let Some(height) = self.heights.get(&address) {
            return (level + height <= MAX_DEPTH).then_some(*height);
        }
        if !self.on_the_way.insert(address) {
            return Some(0);
        }
        let mut height = 0;
        for child in self.children(node) {
            height = height.max(1 + self.height(child, level + 1)?);
        }
        self.on_the_way.remove(&address);
        self.heights.insert(address, height);
        Some(height)
    }

    /// The schemas directly below `node`: its subschemas and the target of its `$ref`.
    fn children(&self, node: &'a Value) -> Vec<&'a Value> {
        let Value::Object(keywords) = node else {
            return Vec::new();
        };
        let mut children = Vec::new();
        for (keyword, value) in keywords {
            match (keyword.as_str(), value) {
                ("$ref", Value::String(reference)) => {
                    if let Some(target) = reference
                        .strip_prefix('#')
                        .and_then(|pointer| self.document.pointer(pointer))
                    {
                        children.push(target);
                    }
                }
                (
                    "properties" | "patternProperties" | "dependencies" | "definitions" | "$defs"
                    | "dependentSchemas",
                    Value::Object(map),
                ) => children.extend(map.values()),
                ("items" | "allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(list)) => {
                    children.extend(list)
                }
                (
                    "additionalProperties"
                    | "additionalItems"
                    | "items"
                    | "not"
                    | "if"
                    | "then"
                    | "else"
                    | "contains"
                    | "propertyNames"
                    | "unevaluatedProperties"
                    | "unevaluatedItems",
                    Value::Object(_),
                ) => children.push(value),
                _ => {}
            }
        }
        children
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn chain(length: usize) -> Value {
        let mut definitions: Map<String, Value> = (0..length)
            .map(|at| {
                (
                    format!("d{at}"),
                    json!({"$ref": format!("#/$defs/d{}", at + 1)}),
                )
            })
            .collect();
        definitions.insert(format!("d{length}"), json!({"type": "object"}));
        json!({"$defs": definitions, "$ref": "#/$defs/d0"})
    }

    #[test]
    fn a_long_chain_of_references_is_too_deep_and_a_short_one_is_not() {
        let short = chain(100);
        assert!(!too_deep(&short, &short));
        let long = chain(100_000);
        assert!(too_deep(&long, &long));
    }

    #[test]
    fn cycles_and_schemas_reached_twice_are_walked_once() {
        let schema = json!({
            "$defs": {
                "Node": {"type": "object", "properties": {
                    "child": {"$ref": "#/$defs/Node"},
                    "a": {"$ref": "#/$defs/Leaf"},
                    "b": {"$ref": "#/$defs/Leaf"}
                }},
                "Leaf": {"type": "string"}
            },
            "$ref": "#/$defs/Node"
        });
        assert!(!too_deep(&schema, &schema));
    }

    #[test]
    fn every_embedded_schema_is_within_the_depth() {
        for file in crate::validate::embedded::CRD_FILES {
            for version in file.versions {
                if let Some(schema) = version.strict_schema() {
                    assert!(
                        !too_deep(&schema, &schema),
                        "{} {}",
                        file.kind,
                        version.name
                    );
                }
            }
        }
        for release in crate::validate::embedded::KUBERNETES {
            for (index, piece) in release.pieces.iter().enumerate() {
                let document = release.piece_document(index);
                let root = &document["$defs"][piece.name];
                assert!(!too_deep(&document, root), "{}", piece.name);
            }
        }
    }
}
