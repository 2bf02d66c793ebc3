//! Rendered YAML read back as documents: a file split at its `---` lines, each document parsed
//! to a JSON value. This is the one way any stage reads rendered output, so that the value
//! check and validation can never see a file differently, and a file is parsed once per run.

use std::collections::hash_map::Entry;

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// `(first line, text)` of each document; a `---` line starts a new one. The texts are slices
/// of `text`. What follows `--- ` on the separator line belongs to the document it starts
/// (`--- {a: 1}` is a document), so no content is ever left out of every document.
pub fn split(text: &str) -> Vec<(usize, &str)> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let end = offset + line.len();
        let bare = line.strip_suffix('\n').unwrap_or(line);
        let bare = bare.strip_suffix('\r').unwrap_or(bare);
        if is_separator(bare.as_bytes()) {
            documents.push((first_line, &text[start..offset]));
            let rest = bare[3..].trim();
            if rest.is_empty() || rest.starts_with('#') {
                start = end;
                first_line = index + 2;
            } else {
                start = offset + 3;
                first_line = index + 1;
            }
        }
        offset = end;
    }
    documents.push((first_line, &text[start..]));
    documents
}

/// At least as many as the documents [`split`] finds in `content`: one, and one more per
/// separator line.
pub fn bound(content: &[u8]) -> usize {
    // Only a line that starts with `---` can be one: found by a substring search rather than
    // by looking at every line, since every rendered byte goes through this.
    let separator = |at: usize| {
        let line = &content[at..];
        let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
        is_separator(line.strip_suffix(b"\r").unwrap_or(line))
    };
    1 + memchr::memmem::find_iter(content, b"---")
        .filter(|&at| at == 0 || content[at - 1] == b'\n')
        .filter(|&at| separator(at))
        .count()
}

pub(super) fn is_separator(line: &[u8]) -> bool {
    line == b"---" || line.starts_with(b"--- ") || line.starts_with(b"---\t")
}

/// Parses one document's text; on failure, the line (relative to the text) and the message.
/// A mapping that holds a key twice is an error, as it is to kustomize and the API server.
pub fn parse(text: &str) -> Result<Value, (usize, String)> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    Unique::deserialize(deserializer)
        .map(|unique| unique.0)
        .map_err(|error| {
            let line = error.location().map_or(1, |location| location.line());
            let message = error.to_string();
            let message = match message.find(" at line ") {
                Some(cut) => message[..cut].to_owned(),
                None => message,
            };
            (
                second_key_line(text, line, &message).unwrap_or(line),
                message,
            )
        })
}

const TWICE: (&str, &str) = ("the mapping holds the key ", " twice");

/// The line of the second of two equal keys, which the parser reports at their mapping's
/// first `line`, when the mapping is in block style.
fn second_key_line(text: &str, line: usize, message: &str) -> Option<usize> {
    let quoted = message.split_once(TWICE.0)?.1.strip_suffix(TWICE.1)?;
    let key: String = serde_json::from_str(quoted).ok()?;
    let mut first_column = None;
    for (index, candidate) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let Some(column) = key_column(candidate, &key) else {
            continue;
        };
        match first_column {
            None => first_column = Some(column),
            Some(first) if first == column => return Some(index + 1),
            Some(_) => {}
        }
    }
    None
}

/// The column at which `line` (block style, perhaps an item of a list) sets `key`.
fn key_column(line: &str, key: &str) -> Option<usize> {
    let mut rest = line.trim_start_matches(' ');
    while let Some(item) = rest.strip_prefix('-') {
        rest = item.trim_start_matches(' ');
    }
    let after = rest.strip_prefix(key)?.strip_prefix(':')?;
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some(line.len() - rest.len())
}

/// A YAML value read as serde_json reads one, except that a mapping may not hold a key twice:
/// serde_json keeps the last, and the file would mean one thing here and another to kustomize,
/// which refuses it.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // What serde_json makes of a float it cannot hold (`.nan`, `.inf`).
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Unique::deserialize(deserializer).map(|unique| unique.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(Unique(value)) = items.next_element()? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = serde_json::Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let Unique(value) = entries.next_value()?;
            match map.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    // JSON quotes it on one line, and lets `second_key_line` read it back.
                    let quoted = Value::String(slot.key().clone());
                    return Err(serde::de::Error::custom(format!(
                        "{}{quoted}{}",
                        TWICE.0, TWICE.1
                    )));
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// [`parse_file`] of a file's bytes; on failure, the file's line (none for a file that is not
/// text) and the message.
pub fn parse_bytes(content: &[u8]) -> Result<Vec<Parsed<'_>>, (Option<usize>, String)> {
    let text =
        std::str::from_utf8(content).map_err(|_| (None, "the file is not UTF-8".to_owned()))?;
    parse_file(text).map_err(|(line, message)| (Some(line), message))
}

/// Every non-empty document of a file, with its first line and text, parsed; on failure, the
/// file's line and the message.
pub fn parse_file(text: &str) -> Result<Vec<Parsed<'_>>, (usize, String)> {
    let mut documents = Vec::new();
    for (index, (first_line, chunk)) in split(text).into_iter().enumerate() {
        let value = parse(chunk)
            .map_err(|(line, message)| (first_line + line.saturating_sub(1), message))?;
        if !value.is_null() {
            documents.push(Parsed {
                index,
                first_line,
                text: chunk,
                value,
            });
        }
    }
    Ok(documents)
}

/// The indices of `contents` grouped by equal bytes: each group in order, the groups in the
/// order of their first member. A fleet renders many files alike (a tenant's app on every
/// cluster that does not tell them apart), and equal bytes read back alike, so a batch parses
/// each distinct content once and hands every member the same documents.
pub fn same_content<'c>(contents: impl IntoIterator<Item = &'c [u8]>) -> Vec<Vec<usize>> {
    let contents = contents.into_iter();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    // Whole files are hashed here, every rendered byte: foldhash does that several times faster
    // than the standard library's SipHash, and is still seeded anew for each run.
    let mut first: foldhash::HashMap<&'c [u8], usize> =
        foldhash::HashMap::with_capacity_and_hasher(contents.size_hint().0, Default::default());
    for (index, content) in contents.enumerate() {
        match first.entry(content) {
            Entry::Occupied(group) => groups[*group.get()].push(index),
            Entry::Vacant(slot) => {
                slot.insert(groups.len());
                groups.push(vec![index]);
            }
        }
    }
    groups
}

/// One document of a rendered file.
#[derive(Debug)]
pub struct Parsed<'t> {
    /// Position of the document in its file, from 0, empty documents counted.
    pub index: usize,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
    pub text: &'t str,
    pub value: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_never_below_the_split() {
        for text in [
            "",
            "a: 1\n",
            "a: 1\n---\nb: 2\n",
            "---\na: 1\n---\n",
            "a: 1\r\n---\r\nb: 2\r\n--- # c\r\nd: 3\n",
            "a: |\n  ---x\n----\n---\tz\n",
            "x---\n---\n------\n--- {a: 1}\n-- -\n---",
        ] {
            assert_eq!(bound(text.as_bytes()), split(text).len(), "{text:?}");
        }
    }

    #[test]
    fn content_on_a_separator_line_is_part_of_the_next_document() {
        let text = "a: 1\n--- {b: 2}\nc: 3\n--- # note\nd: 4\n";
        let documents = parse_file(text);
        let Err((line, _)) = documents else {
            panic!("`{{b: 2}}` followed by `c: 3` is not one document: {documents:?}");
        };
        assert_eq!(line, 2);
        let documents = parse_file("a: 1\n--- {b: 2}\n--- # note\nd: 4\n").unwrap();
        let found: Vec<_> = documents
            .iter()
            .map(|document| (document.index, document.first_line, document.value.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (0, 1, serde_json::json!({"a": 1})),
                (1, 2, serde_json::json!({"b": 2})),
                (2, 4, serde_json::json!({"d": 4})),
            ]
        );
        let documents = parse_file("--- |\n  text\n").unwrap();
        assert_eq!(documents[0].value, serde_json::json!("text\n"));
    }

    #[test]
    fn equal_contents_are_one_group_in_order_of_first_member() {
        let contents: [&[u8]; 5] = [b"a: 1\n", b"b: 2\n", b"a: 1\n", b"a: 1 \n", b"b: 2\n"];
        assert_eq!(
            same_content(contents),
            vec![vec![0, 2], vec![1, 4], vec![3]]
        );
    }

    #[test]
    fn a_key_given_twice_in_one_mapping_is_refused_at_its_line() {
        let (line, message) = parse_file("a: 1\n---\nb:\n  c: 1\n  d: 2\n  c: 3\n").unwrap_err();
        assert_eq!(
            (line, message.as_str()),
            (6, r#"b: the mapping holds the key "c" twice"#)
        );
        let (line, message) = parse_file("- {x: 1, x: 2}\n").unwrap_err();
        assert_eq!(
            (line, message.as_str()),
            (1, r#".[0]: the mapping holds the key "x" twice"#)
        );
        let text = "items:\n  - name: a\n    image: x\n  - name: b\n    name: c\nname: d\n";
        let (line, message) = parse_file(text).unwrap_err();
        assert_eq!(
            (line, message.as_str()),
            (5, r#"items[1]: the mapping holds the key "name" twice"#)
        );
        let (line, _) = parse_file("a: 1\nb: 2\n'a': 3\n").unwrap_err();
        assert_eq!(
            line, 1,
            "a key written otherwise is not found again: the mapping's line"
        );
        // A key with a line break and `---` in it is quoted on one line.
        let hostile = "\"a\\n---\\nkind: Secret\": 1\n\"a\\n---\\nkind: Secret\": 2\n";
        let (_, message) = parse_file(hostile).unwrap_err();
        assert_eq!(
            message,
            r#"the mapping holds the key "a\n---\nkind: Secret" twice"#
        );
        // Equal keys in different mappings are not one key twice.
        let documents = parse_file("a: {k: 1}\nb: {k: 2}\nk: 3\n").unwrap();
        assert_eq!(
            documents[0].value,
            serde_json::json!({"a": {"k": 1}, "b": {"k": 2}, "k": 3})
        );
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        for text in [
            "a: [1, -2, 18446744073709551615, 1.5, .nan, .inf, true, null, ~, '', x]\n",
            "? complex\n: 1\n1: one\ntrue: yes\nnull: n\n",
            "nested: {a: [{b: {c: [[]]}}]}\nempty: {}\nlist: []\n",
            "block: |\n  text\nfolded: >\n  more\n",
            "!!map {a: !!str 1}\n",
            "plain\n",
        ] {
            let ours = parse(text);
            let theirs = Value::deserialize(serde_norway::Deserializer::from_str(text))
                .map_err(|error| error.to_string());
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text:?}"),
                (Err(_), Err(_)) => {}
                (ours, theirs) => panic!("{text:?}: {ours:?} against {theirs:?}"),
            }
        }
    }

    #[test]
    fn a_parse_error_is_placed_on_its_line_of_the_file() {
        let (line, message) = parse_file("a: 1\n---\nb: 2\nc: d: e\nf: 1\n").unwrap_err();
        assert_eq!(line, 4, "{message}");
    }
}
