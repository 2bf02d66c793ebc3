//! YAML input files: typed deserialisation with positions in errors, plus a locator that finds
//! the line of a key or list item so that checks made after parsing can point at the source.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Location, did_you_mean};

/// Deserialises `source`; an empty file (or one with only comments) reads as an empty mapping,
/// so membership files may be empty.
pub fn from_str<T: DeserializeOwned>(file: &Path, source: &str) -> Result<T, Diagnostic> {
    let has_content = source.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && line != "---"
    });
    let result = if has_content {
        serde_norway::from_str(source)
    } else {
        serde_norway::from_str("{}")
    };
    result.map_err(|error| to_diagnostic(file, &error))
}

fn to_diagnostic(file: &Path, error: &serde_norway::Error) -> Diagnostic {
    let location = error
        .location()
        .map(|location| Location::new(file, location.line(), location.column()))
        .unwrap_or_else(|| Location::file(file));
    let full = error.to_string();
    let message = match full.find(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    };
    if let Some((field, expected)) = unknown_field(&message) {
        let mut diagnostic =
            Diagnostic::error("unknown-key", format!("unknown key `{field}`")).at(location);
        diagnostic = match did_you_mean(&field, expected.iter().map(String::as_str)) {
            Some(close) => diagnostic.with_hint(format!("did you mean `{close}`?")),
            None => {
                diagnostic.with_hint(format!("the keys allowed here are {}", expected.join(", ")))
            }
        };
        return diagnostic;
    }
    Diagnostic::error("yaml-syntax", message).at(location)
}

/// Picks apart serde's "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.split("unknown field `").nth(1)?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

/// One step of a path into a YAML document.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Finds the 1-based line and column where the node at `path` starts.
///
/// This reads the indentation of block-style YAML, the style of fleetgen's own input files and
/// of everything `fleetgen` scaffolds; flow sequences (`[a, b]`) are understood on the line of
/// their key. It returns `None` for anything it cannot follow, and callers fall back to the
/// nearest known position.
pub fn locate(source: &str, path: &[Seg<'_>]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut start = 0;
    let mut end = lines.len();
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let mut flow_line: Option<usize> = None;
    for segment in path {
        match *segment {
            Seg::Key(key) => {
                let block_indent =
                    first_content(&lines, start, end).map(|index| indent(lines[index]))?;
                let index = (start..end).find(|&index| {
                    let line = lines[index];
                    is_content(line)
                        && indent(line) == block_indent
                        && key_of(line.trim_start()) == Some(key)
                })?;
                found = Some((index + 1, block_indent + 1));
                flow_line = Some(index);
                parent_indent = Some(block_indent);
                start = index + 1;
                end = block_end(&lines, start, end, block_indent);
            }
            Seg::Index(wanted) => {
                if let Some(line_index) = flow_line {
                    let line = lines[line_index];
                    if let Some(open) = line.find('[') {
                        let mut column = open + 1;
                        for (item_index, item) in line[open + 1..].split(',').enumerate() {
                            let leading = item.len() - item.trim_start().len();
                            if item_index == wanted {
                                return Some((line_index + 1, column + leading + 1));
                            }
                            column += item.len() + 1;
                        }
                        return None;
                    }
                }
                let items: Vec<usize> = (start..end)
                    .filter(|&index| {
                        let line = lines[index];
                        let item_indent = indent(line);
                        is_content(line)
                            && line.trim_start().starts_with('-')
                            && parent_indent.is_none_or(|parent| item_indent >= parent)
                    })
                    .collect();
                let item_indent = indent(lines[*items.first()?]);
                let items: Vec<usize> = items
                    .into_iter()
                    .filter(|&index| indent(lines[index]) == item_indent)
                    .collect();
                let index = *items.get(wanted)?;
                let line = lines[index];
                let content = line.trim_start()[1..].trim_start();
                let column = line.len() - content.len() + 1;
                found = Some((index + 1, column));
                flow_line = None;
                parent_indent = Some(item_indent);
                start = index;
                end = block_end(&lines, index + 1, end, item_indent);
            }
        }
    }
    found
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---"
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn first_content(lines: &[&str], start: usize, end: usize) -> Option<usize> {
    (start..end).find(|&index| is_content(lines[index]))
}

fn block_end(lines: &[&str], start: usize, end: usize, owner_indent: usize) -> usize {
    (start..end)
        .find(|&index| {
            let line = lines[index];
            is_content(line) && indent(line) <= owner_indent && !line.trim_start().starts_with('-')
        })
        .unwrap_or(end)
}

fn key_of(line: &str) -> Option<&str> {
    let line = line.strip_prefix("- ").unwrap_or(line);
    let (key, _) = line.split_once(':')?;
    Some(key.trim().trim_matches('"').trim_matches('\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
# tenant
repo: https://example.com/x
apps:
  - web
  - api
nested:
  clusters: [a, b,  c]
  other:
    deep: 1
";

    #[test]
    fn finds_keys_items_and_flow_items() {
        assert_eq!(locate(SOURCE, &[Seg::Key("repo")]), Some((2, 1)));
        assert_eq!(
            locate(SOURCE, &[Seg::Key("apps"), Seg::Index(1)]),
            Some((5, 5))
        );
        assert_eq!(
            locate(
                SOURCE,
                &[Seg::Key("nested"), Seg::Key("clusters"), Seg::Index(2)]
            ),
            Some((7, 21))
        );
        assert_eq!(
            locate(
                SOURCE,
                &[Seg::Key("nested"), Seg::Key("other"), Seg::Key("deep")]
            ),
            Some((9, 5))
        );
        assert_eq!(locate(SOURCE, &[Seg::Key("missing")]), None);
        assert_eq!(locate(SOURCE, &[Seg::Key("apps"), Seg::Index(7)]), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        repo: String,
        apps: Option<Vec<String>>,
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_a_position() {
        let error = from_str::<Small>(Path::new("t.yaml"), "repo: x\napss: [a]\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.yaml:2:1: error: unknown key `apss` [unknown-key]\n  hint: did you mean `apps`?"
        );
    }

    #[test]
    fn empty_files_read_as_empty_mappings() {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Optional {
            #[allow(dead_code)]
            branch: Option<String>,
        }
        assert!(from_str::<Optional>(Path::new("e.yaml"), "# only a comment\n").is_ok());
    }
}
