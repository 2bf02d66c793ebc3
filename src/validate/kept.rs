//! The compact form in which a parsed document is held after the schema check, for the checks
//! that read it later (the Flux graph, the Secrets).
//!
//! A `serde_json::Value` is built for validation and is the right shape for it, but it is a poor
//! shape to hold hundreds of thousands of small objects in: every map is a B-tree whose first
//! node has room for eleven entries, and every key is its own allocation. Held objects are read
//! only by key, so here a map is one sorted slice, and the keys that Kubernetes and Flux objects
//! share are not allocated at all. A fleet of a thousand clusters holds a few hundred thousand of
//! them.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Number, Value};

/// A document's kept value, as a document holds it: `Null` takes no allocation, and the
/// documents of files alike (a tenant's files on every cluster that does not tell them apart)
/// share one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Held(Option<Arc<Kept>>);

impl Held {
    pub fn new(kept: Kept) -> Self {
        Held(Some(Arc::new(kept)))
    }

    /// Whether both hold one allocation.
    #[cfg(test)]
    pub fn is_shared_with(&self, other: &Held) -> bool {
        match (&self.0, &other.0) {
            (Some(one), Some(other)) => Arc::ptr_eq(one, other),
            _ => false,
        }
    }
}

impl std::ops::Deref for Held {
    type Target = Kept;

    fn deref(&self) -> &Kept {
        static NULL: Kept = Kept::Null;
        self.0.as_deref().unwrap_or(&NULL)
    }
}

/// A parsed YAML document, read-only.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Kept {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Box<str>),
    Array(Box<[Kept]>),
    /// Entries sorted by key, so lookups can bisect.
    Object(Box<[(Key, Kept)]>),
}

/// A mapping key: one of the common keys, by its place in their list, or any other, owned.
/// Sixteen bytes where a `Cow` takes twenty-four: a held fleet has millions of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Common(u8),
    Other(Box<str>),
}

impl Key {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Common(index) => COMMON_KEYS[usize::from(*index)],
            Key::Other(text) => text,
        }
    }
}

impl std::ops::Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Keys of Kubernetes, Flux and kustomize objects common enough to share, sorted.
const COMMON_KEYS: &[&str] = &[
    "annotations",
    "apiVersion",
    "branch",
    "chart",
    "chartRef",
    "components",
    "data",
    "dependsOn",
    "interval",
    "kind",
    "kubeConfig",
    "labels",
    "metadata",
    "name",
    "namespace",
    "path",
    "postBuild",
    "prune",
    "ref",
    "resources",
    "retryInterval",
    "secretRef",
    "serviceAccountName",
    "sourceRef",
    "spec",
    "stringData",
    "substituteFrom",
    "targetNamespace",
    "timeout",
    "type",
    "url",
    "values",
    "version",
    "wait",
];

fn key(text: &str) -> Key {
    match common_index(text) {
        Some(index) => Key::Common(index),
        None => Key::Other(text.into()),
    }
}

/// The place of `text` among [`COMMON_KEYS`]. Every kept mapping key and most lookups pass
/// through here: a length and a first byte rule out nearly every candidate before any string
/// is compared, where a bisection compares five or six.
fn common_index(text: &str) -> Option<u8> {
    let first = *text.as_bytes().first()?;
    COMMON_KEYS
        .iter()
        .position(|key| key.len() == text.len() && key.as_bytes()[0] == first && *key == text)
        .map(|index| u8::try_from(index).expect("fewer than 256 common keys"))
}

impl From<&Value> for Kept {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Kept::Null,
            Value::Bool(flag) => Kept::Bool(*flag),
            Value::Number(number) => Kept::Number(number.clone()),
            Value::String(text) => Kept::String(text.as_str().into()),
            Value::Array(items) => Kept::Array(items.iter().map(Kept::from).collect()),
            Value::Object(map) => {
                let mut entries: Vec<(Key, Kept)> = map
                    .iter()
                    .map(|(name, value)| (key(name), Kept::from(value)))
                    .collect();
                // serde_json's map is already sorted; this keeps the invariant whatever its
                // features.
                entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                Kept::Object(entries.into_boxed_slice())
            }
        }
    }
}

impl From<&Kept> for Value {
    fn from(kept: &Kept) -> Self {
        match kept {
            Kept::Null => Value::Null,
            Kept::Bool(flag) => Value::Bool(*flag),
            Kept::Number(number) => Value::Number(number.clone()),
            Kept::String(text) => Value::String(text.to_string()),
            Kept::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            Kept::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(name, value)| (name.to_string(), Value::from(value)))
                    .collect(),
            ),
        }
    }
}

impl Kept {
    pub fn is_null(&self) -> bool {
        matches!(self, Kept::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Kept::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Kept]> {
        match self {
            Kept::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The items of the list at `name` in a mapping; none when there is no list there.
    pub fn list(&self, name: &str) -> &[Kept] {
        self.get(name).and_then(Kept::as_array).unwrap_or_default()
    }

    /// The items of the list at a JSON pointer; none when there is no list there.
    pub fn list_at(&self, pointer: &str) -> &[Kept] {
        self.pointer(pointer)
            .and_then(Kept::as_array)
            .unwrap_or_default()
    }

    /// The entries of a mapping, sorted by key.
    pub fn as_object(&self) -> Option<&[(Key, Kept)]> {
        match self {
            Kept::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `name` in a mapping.
    pub fn get(&self, name: &str) -> Option<&Kept> {
        let entries = self.as_object()?;
        let index = match common_index(name) {
            // The common keys are sorted, so their places order them as their text would.
            Some(common) => entries.binary_search_by(|(key, _)| match key {
                Key::Common(index) => index.cmp(&common),
                Key::Other(text) => (**text).cmp(name),
            }),
            None => entries.binary_search_by(|(key, _)| key.as_str().cmp(name)),
        };
        Some(&entries[index.ok()?].1)
    }

    /// The node at a JSON pointer (RFC 6901), like `serde_json::Value::pointer`.
    pub fn pointer(&self, pointer: &str) -> Option<&Kept> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |node, segment| {
            let segment: Cow<'_, str> = if segment.contains('~') {
                Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(segment)
            };
            match node {
                Kept::Object(_) => node.get(&segment),
                Kept::Array(items) => items.get(array_index(&segment)?),
                _ => None,
            }
        })
    }
}

/// A pointer segment as an array index: digits only, no leading zero (as RFC 6901 says).
fn array_index(segment: &str) -> Option<usize> {
    if segment.is_empty()
        || !segment.bytes().all(|byte| byte.is_ascii_digit())
        || (segment.len() > 1 && segment.starts_with('0'))
    {
        return None;
    }
    segment.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "labels": {"a/b": "c"}},
            "spec": {
                "dependsOn": [{"name": "infra"}, {"name": "tenants", "namespace": "x"}],
                "path": "./apps",
                "prune": true,
                "replicas": 3,
                "zzz-custom": null,
                "~tilde": "t"
            }
        })
    }

    #[test]
    fn lookups_agree_with_serde_json() {
        let value = sample();
        let kept = Kept::from(&value);
        for pointer in [
            "",
            "/kind",
            "/metadata/name",
            "/metadata/labels/a~1b",
            "/spec/dependsOn/0/name",
            "/spec/dependsOn/1/namespace",
            "/spec/dependsOn/2",
            "/spec/dependsOn/01",
            "/spec/dependsOn/-",
            "/spec/prune",
            "/spec/replicas",
            "/spec/zzz-custom",
            "/spec/~0tilde",
            "/spec/missing",
            "/kind/deeper",
            "nope",
        ] {
            assert_eq!(
                kept.pointer(pointer).map(Value::from),
                value.pointer(pointer).cloned(),
                "{pointer}"
            );
        }
        assert_eq!(
            kept.get("kind").and_then(Kept::as_str),
            Some("Kustomization")
        );
        assert_eq!(kept.get("nope"), None);
    }

    #[test]
    fn lists_are_empty_where_there_is_no_list() {
        let kept = Kept::from(&sample());
        let names: Vec<_> = kept
            .list_at("/spec/dependsOn")
            .iter()
            .map(|item| item.get("name").and_then(Kept::as_str))
            .collect();
        assert_eq!(names, [Some("infra"), Some("tenants")]);
        assert!(kept.list_at("/spec/path").is_empty());
        assert!(kept.list_at("/spec/missing").is_empty());
        assert_eq!(kept.get("spec").unwrap().list("dependsOn").len(), 2);
        assert!(kept.list("kind").is_empty());
    }

    #[test]
    fn converts_back_to_the_same_value() {
        let value = sample();
        assert_eq!(Value::from(&Kept::from(&value)), value);
    }

    #[test]
    fn common_keys_are_sorted_and_borrowed() {
        assert!(COMMON_KEYS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(COMMON_KEYS.len() <= usize::from(u8::MAX) + 1);
        assert!(matches!(key("spec"), Key::Common(_)));
        assert_eq!(key("spec").as_str(), "spec");
        assert!(matches!(key("specification"), Key::Other(_)));
        for (index, common) in COMMON_KEYS.iter().enumerate() {
            assert_eq!(common_index(common), u8::try_from(index).ok(), "{common}");
        }
        for other in [
            "", "s", "spe", "Spec", "spec ", "specs", "namE", "url2", "ur",
        ] {
            assert_eq!(common_index(other), None, "{other:?}");
        }
    }

    #[test]
    fn every_key_is_found_among_common_and_other_keys() {
        // Other keys sorted before, between and after the common ones.
        let names = [
            "a",
            "annotations",
            "apiVersion",
            "b",
            "data",
            "kind",
            "kinds",
            "name",
            "names",
            "namespace",
            "spec",
            "spec2",
            "specification",
            "url",
            "wait",
            "zzz",
            "~",
        ];
        let value = Value::Object(
            names
                .iter()
                .enumerate()
                .map(|(index, name)| ((*name).to_owned(), Value::from(index)))
                .collect(),
        );
        let kept = Kept::from(&value);
        for (index, name) in names.iter().enumerate() {
            assert_eq!(kept.get(name), Some(&Kept::Number(index.into())), "{name}");
        }
        for missing in ["", "b2", "labels", "metadata", "spe", "zz"] {
            assert_eq!(kept.get(missing), None, "{missing}");
        }
    }

    #[test]
    fn is_smaller_than_a_json_value() {
        assert!(std::mem::size_of::<Kept>() <= 24);
        assert!(std::mem::size_of::<(Key, Kept)>() <= 40);
    }
}
