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
    if !has_content {
        return serde_norway::from_str("{}").map_err(|error| to_diagnostic(file, &error));
    }
    // Aliases are refused before anything expands them; the untyped pass then finds duplicate
    // keys (which typed maps would silently resolve to the last) and overlong lists.
    if let Some((line, column)) = find_alias(source) {
        return Err(Diagnostic::error(
            "yaml-alias",
            "YAML aliases (`*name`) are not accepted in fleet inputs",
        )
        .at(Location::new(file, line, column))
        .with_hint("write the value out; an alias can expand a small file into gigabytes"));
    }
    let untyped: serde_norway::Value = serde_norway::from_str(source).map_err(|error| {
        duplicate_key(file, source, &error).unwrap_or_else(|| to_diagnostic(file, &error))
    })?;
    if let Some(path) = long_list(&untyped, &mut Vec::new()) {
        let segments: Vec<Seg<'_>> = path.iter().map(|key| Seg::Key(key)).collect();
        let location = locate(source, &segments)
            .map(|(line, column)| Location::new(file, line, column))
            .unwrap_or_else(|| Location::file(file));
        return Err(Diagnostic::error(
            "list-too-long",
            format!(
                "a list has more than {} items",
                crate::load::input::MAX_LIST
            ),
        )
        .at(location)
        .with_hint("split the fleet into smaller parts"));
    }
    serde_norway::from_str(source).map_err(|error| to_diagnostic(file, &error))
}

/// serde_norway reports a duplicate key at its mapping; this points at the duplicate itself.
fn duplicate_key(file: &Path, source: &str, error: &serde_norway::Error) -> Option<Diagnostic> {
    let text = error.to_string();
    let (path, rest) = match text.split_once("duplicate entry with key ") {
        Some((path, rest)) => (path.trim_end_matches(": ").trim(), rest),
        None => return None,
    };
    let key: String = serde_json::from_str(rest.split(" at line ").next()?.trim()).ok()?;
    let mut segments: Vec<Seg<'_>> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').map(Seg::Key).collect()
    };
    segments.push(Seg::Key(&key));
    let (first_line, column) = locate(source, &segments)?;
    let lines: Vec<&str> = source.lines().collect();
    let duplicate = (first_line..lines.len()).find(|&index| {
        let line = lines[index];
        is_content(line)
            && indent(line) + 1 == column
            && key_of(line.trim_start()) == Some(key.as_str())
    })?;
    let shown = crate::diagnostic::truncate(&key);
    Some(
        Diagnostic::error("duplicate-key", format!("`{shown}` is set twice"))
            .at(Location::new(file, duplicate + 1, column))
            .with_hint(format!(
                "the first value is on line {first_line}; keep one of them"
            )),
    )
}

/// The keys leading to the first list longer than the limit.
fn long_list(value: &serde_norway::Value, path: &mut Vec<String>) -> Option<Vec<String>> {
    match value {
        serde_norway::Value::Sequence(items) if items.len() > crate::load::input::MAX_LIST => {
            Some(path.clone())
        }
        serde_norway::Value::Sequence(items) => items.iter().find_map(|item| long_list(item, path)),
        serde_norway::Value::Mapping(mapping) => mapping.iter().find_map(|(key, item)| {
            path.push(key.as_str().unwrap_or_default().to_owned());
            let found = long_list(item, path);
            path.pop();
            found
        }),
        _ => None,
    }
}

/// Finds the first alias (`*name`) in YAML text: a `*` where a node can start (after
/// indentation, `- `, `? `, `: `, `[`, `{` or `,`) outside quotes and comments. It errs on
/// the side of finding one, since a missed alias is what makes a small file expensive.
fn find_alias(source: &str) -> Option<(usize, usize)> {
    let mut quote: Option<char> = None;
    for (index, line) in source.lines().enumerate() {
        let mut node_start = true;
        let mut previous = ' ';
        let mut chars = line.char_indices().peekable();
        while let Some((column, c)) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(open) if c == open => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous == ' ' || column == 0 => break,
                    '"' | '\'' if node_start => quote = Some(c),
                    '*' if node_start => return Some((index + 1, column + 1)),
                    ' ' | '\t' | '[' | '{' | ',' => node_start = true,
                    '-' | '?' | ':'
                        if chars.peek().is_none_or(|(_, next)| next.is_whitespace()) =>
                    {
                        node_start = true;
                    }
                    // A tag or anchor may come before an alias position only in broken YAML,
                    // but treating it as a node start costs nothing.
                    '!' | '&' => {}
                    _ => node_start = false,
                },
            }
            if quote.is_none() && c != ' ' && c != '\t' && !node_start {
                node_start = false;
            }
            previous = c;
        }
    }
    None
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
        let mut diagnostic = Diagnostic::error(
            "unknown-key",
            format!("unknown key `{}`", crate::diagnostic::truncate(&field)),
        )
        .at(location);
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
    fn aliases_are_refused_before_expansion() {
        let source = "a: &x [1, 2]\nb: *x\n";
        let error = from_str::<serde_norway::Value>(Path::new("t.yaml"), source).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.yaml:2:4: error: YAML aliases"),
            "{error}"
        );
        for aliased in [
            "- *x\n",
            "k: [a, *x]\n",
            "k: {a: *x}\n",
            "*x : 1\n",
            "k:\n  *x\n",
        ] {
            assert!(find_alias(aliased).is_some(), "{aliased}");
        }
        for plain in [
            "k: a*b\n",
            "k: '*x'\n",
            "k: \"*x\"\n",
            "k: 1 # *x\n",
            "k: 2*3\n",
        ] {
            assert_eq!(find_alias(plain), None, "{plain}");
        }
        let laughs: String = std::iter::once("a: &a [x, x, x, x, x, x, x, x, x, x]\n".to_owned())
            .chain((0..1000).map(|index| format!("k{index}: [*a, *a, *a, *a, *a, *a, *a, *a]\n")))
            .collect();
        assert!(from_str::<serde_norway::Value>(Path::new("t.yaml"), &laughs).is_err());
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_duplicate() {
        let source = "defaults:\n  A: 1\n  B: 2\n  A: 3\n";
        let error = from_str::<serde_norway::Value>(Path::new("f.yaml"), source).unwrap_err();
        assert_eq!(
            error.to_string(),
            "f.yaml:4:3: error: `A` is set twice [duplicate-key]\n  hint: the first value is on line 2; keep one of them"
        );
        let top =
            from_str::<serde_norway::Value>(Path::new("f.yaml"), "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(
            top.to_string()
                .starts_with("f.yaml:3:1: error: `a` is set twice"),
            "{top}"
        );
    }

    #[test]
    fn long_lists_are_refused() {
        let items: String = (0..=crate::load::input::MAX_LIST)
            .map(|i| format!("  - a{i}\n"))
            .collect();
        let error =
            from_str::<serde_norway::Value>(Path::new("t.yaml"), &format!("x: 1\napps:\n{items}"))
                .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.yaml:2:1: error: a list has more"),
            "{error}"
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
