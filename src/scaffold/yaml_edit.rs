//! Line-preserving edits of the fleet's small YAML files: append an item to a list, drop one,
//! add a key. Everything else in the file — comments, blank lines, key order, quoting — stays
//! byte for byte, because these files are written and reviewed by people.
//!
//! The edits understand the block style fleetgen writes and people usually write (`key:` then
//! `- item` lines) and one-line flow lists (`key: [a, b]`). Anything else is refused with a
//! message saying what to add by hand, and every result is parsed again and compared with the
//! intended change before it is accepted, so an edit can fail but never corrupt a file.

use serde_norway::{Mapping, Value};

/// A YAML scalar for `text`: plain when it reads back as the same string, double-quoted
/// otherwise (`on`, `123`, `a: b` and friends would change meaning unquoted).
pub fn scalar(text: &str) -> String {
    let plain_round_trips = serde_norway::from_str::<Value>(text)
        .is_ok_and(|value| value == Value::String(text.to_owned()));
    if plain_round_trips && !text.is_empty() && text.trim() == text {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("strings serialise")
    }
}

/// A YAML scalar for a key value (`values:`, `defaults:`), where numbers and booleans are
/// welcome as such: plain whenever it reads back as the same text, quoted otherwise.
pub fn value_scalar(text: &str) -> String {
    let reads_back = match serde_norway::from_str::<Value>(text) {
        Ok(Value::String(read)) => read == text,
        Ok(Value::Number(number)) => number.to_string() == text,
        Ok(Value::Bool(flag)) => flag.to_string() == text,
        _ => false,
    };
    if reads_back && text.trim() == text {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("strings serialise")
    }
}

/// Appends `item` to the list under the top-level `key`, creating the key if it is missing.
pub fn append_item(text: &str, key: &str, item: &str) -> Result<String, String> {
    let before = read_list(text, key)?;
    let mut lines = Lines::new(text);
    let edited = match lines.find_key(key) {
        None => {
            lines.push(format!("{key}:"));
            lines.push(format!("  - {}", scalar(item)));
            lines.finish()
        }
        Some(index) => {
            let inline = inline_value(&lines.lines[index], key);
            if inline.is_empty() {
                let extent = lines.extent(index);
                let indent = extent
                    .clone()
                    .map(|at| &lines.lines[at])
                    .find(|line| line.trim_start().starts_with('-'))
                    .map(|line| indent_of(line))
                    .unwrap_or(2);
                let insert_at = extent.end;
                lines.lines.insert(
                    insert_at,
                    format!("{}- {}", " ".repeat(indent), scalar(item)),
                );
                lines.finish()
            } else if let Some(inner) = flow_inner(&inline, '[', ']') {
                let items = if inner.trim().is_empty() {
                    scalar(item)
                } else {
                    format!("{}, {}", inner.trim_end(), scalar(item))
                };
                lines.replace_inline(index, key, &inline, &format!("[{items}]"));
                lines.finish()
            } else {
                return Err(unsupported(key, &format!("add `- {item}` under `{key}:`")));
            }
        }
    };
    let mut expected = before;
    expected.push(item.to_owned());
    verify(text, &edited, key, Value::Sequence(strings(&expected)))?;
    Ok(edited)
}

/// Removes `item` from the list under the top-level `key`. A list left empty is written `[]`,
/// which keeps its meaning ("none") rather than becoming a missing key ("all").
pub fn remove_item(text: &str, key: &str, item: &str) -> Result<String, String> {
    let before = read_list(text, key)?;
    if !before.iter().any(|existing| existing == item) {
        return Ok(text.to_owned());
    }
    let mut lines = Lines::new(text);
    let index = lines
        .find_key(key)
        .ok_or_else(|| unsupported(key, &format!("remove `{item}` from `{key}`")))?;
    let inline = inline_value(&lines.lines[index], key);
    if inline.is_empty() {
        let extent = lines.extent(index);
        let item_line = extent
            .clone()
            .find(|&at| {
                let line = lines.lines[at].trim_start();
                line.strip_prefix('-')
                    .is_some_and(|rest| parse_scalar(strip_comment(rest)).as_deref() == Some(item))
            })
            .ok_or_else(|| unsupported(key, &format!("remove `- {item}` under `{key}:`")))?;
        lines.lines.remove(item_line);
        if before.len() == 1 {
            lines.replace_inline(index, key, "", "[]");
        }
    } else if let Some(inner) = flow_inner(&inline, '[', ']') {
        let kept: Vec<&str> = inner
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty() && parse_scalar(part).as_deref() != Some(item))
            .collect();
        lines.replace_inline(index, key, &inline, &format!("[{}]", kept.join(", ")));
    } else {
        return Err(unsupported(key, &format!("remove `{item}` from `{key}`")));
    }
    let edited = lines.finish();
    let expected: Vec<String> = before.into_iter().filter(|kept| kept != item).collect();
    verify(text, &edited, key, Value::Sequence(strings(&expected)))?;
    Ok(edited)
}

/// Sets the list under `key` to `items`, for a key that is not in the file yet.
pub fn add_list(text: &str, key: &str, items: &[String]) -> Result<String, String> {
    let mut lines = Lines::new(text);
    if lines.find_key(key).is_some() {
        return Err(unsupported(
            key,
            &format!("set `{key}:` to {}", items.join(", ")),
        ));
    }
    if items.is_empty() {
        lines.push(format!("{key}: []"));
    } else {
        lines.push(format!("{key}:"));
        for item in items {
            lines.push(format!("  - {}", scalar(item)));
        }
    }
    let edited = lines.finish();
    verify(text, &edited, key, Value::Sequence(strings(items)))?;
    Ok(edited)
}

/// Adds the top-level `key: value`, for a key that is not in the file yet.
pub fn add_scalar(text: &str, key: &str, value: &str) -> Result<String, String> {
    let mut lines = Lines::new(text);
    if lines.find_key(key).is_some() {
        return Err(unsupported(key, &format!("set `{key}: {value}`")));
    }
    lines.push(format!("{key}: {}", scalar(value)));
    let edited = lines.finish();
    verify(text, &edited, key, Value::String(value.to_owned()))?;
    Ok(edited)
}

/// Adds `entry: value` to the mapping under the top-level `key` (creating it if missing).
pub fn add_map_entry(text: &str, key: &str, entry: &str, value: &str) -> Result<String, String> {
    let document = parse(text)?;
    let mut expected = match document.get(key) {
        None | Some(Value::Null) => Mapping::new(),
        Some(Value::Mapping(mapping)) => mapping.clone(),
        Some(_) => {
            return Err(unsupported(
                key,
                &format!("add `{entry}: {value}` under `{key}:`"),
            ));
        }
    };
    let written = value_scalar(value);
    let mut lines = Lines::new(text);
    let line = format!("{entry}: {written}");
    match lines.find_key(key) {
        None => {
            lines.push(format!("{key}:"));
            lines.push(format!("  {line}"));
        }
        Some(index) => {
            let inline = inline_value(&lines.lines[index], key);
            if !(inline.is_empty()
                || flow_inner(&inline, '{', '}').is_some_and(|inner| inner.trim().is_empty()))
            {
                return Err(unsupported(key, &format!("add `{line}` under `{key}:`")));
            }
            if !inline.is_empty() {
                lines.replace_inline(index, key, &inline, "");
            }
            let extent = lines.extent(index);
            let indent = extent
                .clone()
                .map(|at| &lines.lines[at])
                .find(|line| is_content(line))
                .map(|line| indent_of(line))
                .unwrap_or(2)
                .max(1);
            lines
                .lines
                .insert(extent.end, format!("{}{line}", " ".repeat(indent)));
        }
    }
    let edited = lines.finish();
    let parsed = serde_norway::from_str(&written).map_err(|error| error.to_string())?;
    expected.insert(Value::String(entry.to_owned()), parsed);
    verify(text, &edited, key, Value::Mapping(expected))?;
    Ok(edited)
}

/// The list of strings under `key`; empty when the key is missing.
pub fn read_list(text: &str, key: &str) -> Result<Vec<String>, String> {
    match parse(text)?.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(format!("`{key}` holds a non-text item: {other:?}")),
            })
            .collect(),
        Some(_) => Err(format!("`{key}` is not a list")),
    }
}

fn parse(text: &str) -> Result<Mapping, String> {
    let has_content = text.lines().any(is_content);
    if !has_content {
        return Ok(Mapping::new());
    }
    match serde_norway::from_str::<Value>(text).map_err(|error| error.to_string())? {
        Value::Mapping(mapping) => Ok(mapping),
        Value::Null => Ok(Mapping::new()),
        _ => Err("the file is not a YAML mapping".to_owned()),
    }
}

/// Accepts `edited` only if it parses, `key` now holds `expected`, and nothing else changed.
fn verify(original: &str, edited: &str, key: &str, expected: Value) -> Result<(), String> {
    let mut before = parse(original)?;
    let mut after = parse(edited).map_err(|error| format!("the edit would not parse: {error}"))?;
    let got = after.remove(key);
    before.remove(key);
    if got.as_ref() != Some(&expected) || before != after {
        return Err(unsupported(key, "make this change"));
    }
    Ok(())
}

fn unsupported(key: &str, what: &str) -> String {
    format!("cannot edit `{key}` in place (unusual formatting); {what} by hand")
}

fn strings(items: &[String]) -> Vec<Value> {
    items.iter().cloned().map(Value::String).collect()
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---"
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A `#` comment starts at a `#` that follows whitespace (or starts the text).
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    for (index, &byte) in bytes.iter().enumerate() {
        match (quote, byte) {
            (Some(open), close) if open == close => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'#') if index == 0 || bytes[index - 1].is_ascii_whitespace() => {
                return text[..index].trim_end();
            }
            _ => {}
        }
    }
    text.trim_end()
}

/// The value written on the key's own line, comment removed.
fn inline_value(line: &str, key: &str) -> String {
    strip_comment(&line[key.len() + 1..]).trim().to_owned()
}

fn flow_inner(inline: &str, open: char, close: char) -> Option<String> {
    let inner = inline.strip_prefix(open)?.strip_suffix(close)?;
    (!inner.contains([open, close, '\'', '"', '{', '['])).then(|| inner.to_owned())
}

fn parse_scalar(text: &str) -> Option<String> {
    match serde_norway::from_str::<Value>(text.trim()).ok()? {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// The file as lines, remembering whether it ended with a newline.
struct Lines {
    lines: Vec<String>,
}

impl Lines {
    fn new(text: &str) -> Self {
        Self {
            lines: text.lines().map(str::to_owned).collect(),
        }
    }

    fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    fn finish(self) -> String {
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }

    fn find_key(&self, key: &str) -> Option<usize> {
        self.lines.iter().position(|line| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        })
    }

    /// The lines that belong to the top-level key at `index`: indented lines and `- ` items
    /// written at the key's own indentation, up to the last such line (trailing comments and
    /// blank lines belong to whatever follows).
    fn extent(&self, index: usize) -> std::ops::Range<usize> {
        let mut end = index + 1;
        for (at, line) in self.lines.iter().enumerate().skip(index + 1) {
            if !is_content(line) {
                continue;
            }
            if indent_of(line) > 0 || line.starts_with('-') {
                end = at + 1;
            } else {
                break;
            }
        }
        index + 1..end
    }

    /// Replaces the inline value `old` after `key:` on line `index` with `new`, keeping any
    /// comment after it.
    fn replace_inline(&mut self, index: usize, key: &str, old: &str, new: &str) {
        let line = &self.lines[index];
        let rest = &line[key.len() + 1..];
        let comment = &rest[strip_comment(rest).len()..];
        let value = if new.is_empty() {
            String::new()
        } else {
            format!(" {new}")
        };
        debug_assert!(strip_comment(rest).trim() == old);
        self.lines[index] = format!("{key}:{value}{comment}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "\
# Tenant yakuza.
repo: https://example.com/y # the team's repo
apps:
  - api   # the API
  # web comes later

# trailing comment
branch: main
";

    #[test]
    fn appends_after_the_last_item_keeping_comments() {
        let edited = append_item(TENANT, "apps", "web").unwrap();
        assert_eq!(
            edited,
            TENANT.replace("  - api   # the API\n", "  - api   # the API\n  - web\n")
        );
    }

    #[test]
    fn appends_to_flow_and_empty_lists_and_creates_missing_keys() {
        assert_eq!(
            append_item("apps: [a, b] # x\n", "apps", "c").unwrap(),
            "apps: [a, b, c] # x\n"
        );
        assert_eq!(
            append_item("apps: []\n", "apps", "c").unwrap(),
            "apps: [c]\n"
        );
        assert_eq!(
            append_item("# only a comment", "clusters", "a").unwrap(),
            "# only a comment\nclusters:\n  - a\n"
        );
        assert_eq!(
            append_item("apps:\n- a\nrepo: x\n", "apps", "b").unwrap(),
            "apps:\n- a\n- b\nrepo: x\n"
        );
    }

    #[test]
    fn quotes_items_that_would_change_meaning() {
        assert_eq!(
            append_item("apps: []\n", "apps", "123").unwrap(),
            "apps: [\"123\"]\n"
        );
        assert_eq!(scalar("on"), "on");
        assert_eq!(scalar("true"), "\"true\"");
    }

    #[test]
    fn removes_items_and_keeps_an_emptied_list_empty() {
        let edited = remove_item(TENANT, "apps", "api").unwrap();
        assert!(
            edited.contains("apps: []\n  # web comes later\n"),
            "{edited}"
        );
        assert_eq!(
            remove_item("apps: [a, b, c]\n", "apps", "b").unwrap(),
            "apps: [a, c]\n"
        );
        assert_eq!(
            remove_item("apps:\n  - a\n  - b\n", "apps", "a").unwrap(),
            "apps:\n  - b\n"
        );
        assert_eq!(
            remove_item("apps: [a]\n", "apps", "z").unwrap(),
            "apps: [a]\n"
        );
    }

    #[test]
    fn refuses_what_it_cannot_edit_safely() {
        assert!(append_item("apps: !!seq [a]\n", "apps", "b").is_err());
        assert!(append_item("apps: {a: 1}\n", "apps", "b").is_err());
    }

    #[test]
    fn adds_map_entries_and_scalars() {
        assert_eq!(
            add_map_entry(
                "branch: dev\nvalues:\n  A: 1\n# end\n",
                "values",
                "B",
                "x y"
            )
            .unwrap(),
            "branch: dev\nvalues:\n  A: 1\n  B: x y\n# end\n"
        );
        assert_eq!(
            add_map_entry("branch: dev\n", "values", "B", "2").unwrap(),
            "branch: dev\nvalues:\n  B: 2\n"
        );
        assert_eq!(
            add_map_entry("values: {}\n", "values", "B", "2").unwrap(),
            "values:\n  B: 2\n"
        );
        assert_eq!(
            add_scalar("# c\n", "branch", "release").unwrap(),
            "# c\nbranch: release\n"
        );
    }
}
