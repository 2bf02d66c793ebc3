//! Upstream schemas made as strict as the API server with server-side field validation
//! `Strict` (what `kubectl apply` does): an unknown field is an error unless the schema says
//! `x-kubernetes-preserve-unknown-fields`, and a null in a field that is not `nullable` is
//! dropped before validation, as the API server drops it.
//!
//! build.rs includes this file to make the embedded schemas strict when it embeds them, so it
//! uses nothing but `serde_json`.

use serde_json::{Map, Value, json};

/// Turns an `openAPIV3Schema` into a JSON Schema as strict as the API server: unknown fields
/// fail unless preserved, `nullable` admits null, int-or-string admits both, and embedded
/// resources get their type fields.
pub fn strict_crd_schema(node: &Value, root: bool) -> Value {
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

/// What a resource quantity (`500m`, `64Mi`, `1e3`) is to the API server, which refuses any
/// other string: the pattern CRDs generated from Go types carry, and what the swagger document
/// leaves out.
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Makes a built-in definition strict the same way: documents generated from swagger say
/// nothing about unknown fields, type IntOrString and Quantity as plain strings, and give no
/// pattern for a quantity.
pub fn strict_core_schema(name: &str, node: &Value) -> Value {
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            return json!({"anyOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]});
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
            return json!({"type": ["string", "number", "null"], "pattern": QUANTITY_PATTERN});
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
pub fn prune_nulls(instance: &mut Value, schema: &Value) {
    if has_null(instance) {
        prune_nulls_below(instance, schema);
    }
}

fn prune_nulls_below(instance: &mut Value, schema: &Value) {
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
                    prune_nulls_below(value, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|value| value.is_object()) {
                for item in items {
                    prune_nulls_below(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Whether `value` holds a null anywhere. Rendered objects seldom do, and then neither
/// [`prune_nulls`] nor [`drop_nulls`] has anything to do: a scan costs less than either.
fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().any(has_null),
        Value::Array(items) => items.iter().any(has_null),
        _ => false,
    }
}

/// Built-in kinds accept null for any field and ignore it; dropping them keeps the
/// definitions' `type` checks simple.
pub fn drop_nulls(instance: &mut Value) {
    if has_null(instance) {
        drop_nulls_below(instance);
    }
}

fn drop_nulls_below(instance: &mut Value) {
    match instance {
        Value::Object(map) => {
            map.retain(|_, value| !value.is_null());
            map.values_mut().for_each(drop_nulls_below);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls_below),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{prune_nulls, strict_crd_schema};

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
}
