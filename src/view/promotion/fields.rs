//! The fields in which two versions of one object differ, one line each
//! (`spec.replicas: 2 → 1`): what a reviewer reads of a changed object, far shorter than a
//! patch of its YAML.

use serde_json::Value;

use super::natural;

/// Characters of a value shown before it is cut.
const SHOWN: usize = 60;

/// `path: ours → theirs` for every leaf that differs, in natural order of the paths; a field
/// one side lacks shows as `(unset)`.
pub fn differences(ours: &Value, theirs: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(String::new(), Some(ours), Some(theirs), &mut found);
    found.sort_by(|(a, _), (b, _)| natural::cmp(a, b));
    found
        .into_iter()
        .map(|(path, change)| format!("{path}: {change}"))
        .collect()
}

fn walk(
    path: String,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    found: &mut Vec<(String, String)>,
) {
    match (ours, theirs) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                walk(field(&path, key), a.get(key), b.get(key), found);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for index in 0..a.len().max(b.len()) {
                walk(
                    format!("{path}[{index}]"),
                    a.get(index),
                    b.get(index),
                    found,
                );
            }
        }
        (a, b) if a != b => {
            let path = if path.is_empty() {
                ".".to_owned()
            } else {
                path
            };
            found.push((path, format!("{} → {}", shown(a), shown(b))));
        }
        _ => {}
    }
}

/// `spec.interval`, or `metadata.annotations["example.com/x"]` for a key that is not a plain
/// word.
fn field(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_owned())),
    }
}

/// A string as it reads, anything else as compact JSON, cut at [`SHOWN`] characters.
fn shown(value: Option<&Value>) -> String {
    let text = match value {
        None => return "(unset)".to_owned(),
        Some(Value::String(text)) if !text.is_empty() && !text.contains('\n') => text.clone(),
        Some(other) => other.to_string(),
    };
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_differing_leaf_is_one_line() {
        let ours = json!({
            "spec": {"replicas": 2, "args": ["--maxmemory", "64mb"], "paused": true},
            "metadata": {"annotations": {"example.com/owner": "a"}}
        });
        let theirs = json!({
            "spec": {"replicas": 1, "args": ["--maxmemory", "128mb", "--x"]},
            "metadata": {"annotations": {"example.com/owner": "a"}}
        });
        assert_eq!(
            differences(&ours, &theirs),
            [
                "spec.args[1]: 64mb → 128mb",
                "spec.args[2]: (unset) → --x",
                "spec.paused: true → (unset)",
                "spec.replicas: 2 → 1",
            ]
        );
        assert!(differences(&ours, &ours).is_empty());
    }

    #[test]
    fn odd_keys_are_quoted_and_long_values_cut() {
        let ours = json!({"a": {"example.com/x": "1"}});
        let theirs = json!({"a": {"example.com/x": "x".repeat(100)}});
        let [line] = differences(&ours, &theirs).try_into().unwrap();
        assert_eq!(
            line,
            format!("a[\"example.com/x\"]: 1 → {}…", "x".repeat(SHOWN))
        );
    }
}
