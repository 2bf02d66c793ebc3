//! The shape check: a rendered YAML file has only the top-level keys its template writes and
//! no more documents than it can produce. The formatter (see `scalar`) already keeps every
//! value one scalar; this is the defence behind it, for a path it does not cover (an
//! `{% autoescape false %}` block, a future filter, a bug): a value that adds a key or a
//! document is refused, naming the value.
//!
//! What a template declares is read from its source, line by line, once per template. Keys
//! inside `{% if %}` or `{% for %}` blocks are declared like any other; a `---` inside a
//! `{% for %}` means any number of documents. A template whose top level comes from an
//! expression at column 0 or from another template (`{% include %}`, a macro call) cannot be
//! read that way and is not checked.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::plan::ValueSource;

/// What a template declares about its rendered output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Its top level comes from an expression or another template: not checked.
    Open,
    Closed {
        keys: BTreeSet<String>,
        /// Most documents it renders; `None` for any number.
        documents: Option<usize>,
    },
}

impl Shape {
    /// Reads the shape a template's source declares.
    pub fn of(source: &str) -> Shape {
        let mut keys = BTreeSet::new();
        let mut separators = 0;
        let mut any_documents = false;
        let mut loops = 0usize;
        let mut raw = false;
        let mut comment = false;
        // Inside `{% set x %}…{% endset %}`: captured, not output where it stands.
        let mut captures = 0usize;
        for line in source.lines() {
            let mut rest = line.trim_end();
            if comment {
                match rest.find("#}") {
                    Some(end) => {
                        comment = false;
                        rest = &rest[end + 2..];
                    }
                    None => continue,
                }
            }
            // Leading tags (`trim_blocks`/`lstrip_blocks` make them vanish from the output),
            // then what follows them at column 0.
            loop {
                let trimmed = rest.trim_start();
                if let Some(text) = trimmed.strip_prefix("{#") {
                    match text.find("#}") {
                        Some(end) => rest = &text[end + 2..],
                        None => {
                            comment = true;
                            rest = "";
                            break;
                        }
                    }
                    continue;
                }
                let Some(tag) = trimmed.strip_prefix("{%") else {
                    break;
                };
                let Some(end) = tag.find("%}") else {
                    // A tag spanning lines: too clever to read, so not checked.
                    return Shape::Open;
                };
                let words =
                    tag[..end].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
                match words.split_whitespace().next().unwrap_or_default() {
                    "set" if !words.contains('=') => captures += 1,
                    "endset" => captures = captures.saturating_sub(1),
                    "raw" => raw = true,
                    "endraw" => raw = false,
                    "for" => loops += 1,
                    "endfor" => loops = loops.saturating_sub(1),
                    "include" | "call" | "extends" | "block" => return Shape::Open,
                    _ => {}
                }
                rest = &tag[end + 2..];
            }
            if raw || captures > 0 || rest.is_empty() || rest.starts_with([' ', '\t', '#']) {
                continue;
            }
            if rest.starts_with("{{") {
                if indents_first_line(rest) {
                    continue;
                }
                return Shape::Open;
            }
            if rest == "---" || rest.starts_with("--- ") {
                separators += 1;
                any_documents |= loops > 0;
                continue;
            }
            if rest == "..." || rest.starts_with(['-', '{', '[']) {
                continue;
            }
            if let Some(key) = key_of(rest) {
                if key.contains("{{") || key.contains("{%") {
                    return Shape::Open;
                }
                keys.insert(key);
            }
        }
        Shape::Closed {
            keys,
            documents: (!any_documents).then_some(separators + 1),
        }
    }

    /// The first way `documents` exceed this shape, as a message, with the value whose text
    /// explains it when one does.
    pub fn violation<'a, 'v>(
        &self,
        documents: impl Iterator<Item = &'v Value> + Clone,
        sources: impl Iterator<Item = &'a ValueSource> + Clone,
    ) -> Option<(String, Option<&'a ValueSource>)> {
        let Shape::Closed {
            keys,
            documents: most,
        } = self
        else {
            return None;
        };
        // An empty document (a lone `---` at the end) adds nothing.
        let count = documents
            .clone()
            .filter(|document| !document.is_null())
            .count();
        if let Some(most) = most
            && count > *most
        {
            let source = sources.clone().find(|source| source.text.contains("---"));
            return Some((
                format!("renders {count} documents; the template declares at most {most}"),
                source,
            ));
        }
        for document in documents {
            let Some(mapping) = document.as_object() else {
                continue;
            };
            for key in mapping.keys() {
                if !keys.contains(key) {
                    let source = sources
                        .clone()
                        .find(|source| source.text.contains(&format!("{key}:")));
                    return Some((
                        format!(
                            "renders top-level key `{}`, which the template does not declare",
                            crate::diagnostic::truncate(key)
                        ),
                        source,
                    ));
                }
            }
        }
        None
    }
}

/// The `(apiVersion, kind)` pairs a template writes literally at column 0, one per document
/// that has both: what its objects will most likely be. A value from an expression is not
/// guessed at; nothing depends on the answer being complete.
pub fn kinds(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let (mut api_version, mut kind) = (None, None);
    for line in source.lines() {
        if super::documents::is_separator(line.as_bytes()) {
            (api_version, kind) = (None, None);
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field @ ("apiVersion" | "kind"), value)) => (field, value.trim()),
            _ => continue,
        };
        let value = value.split(" #").next().unwrap_or_default().trim_end();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        if value.is_empty() || value.contains(['{', '}', '#', ' ']) {
            continue;
        }
        match field {
            "apiVersion" => api_version = Some(value),
            _ => kind = Some(value),
        }
        if let (Some(api_version), Some(kind)) = (api_version, kind) {
            found.push((api_version.to_owned(), kind.to_owned()));
        }
    }
    found
}

/// Whether a line that is one expression ends in `indent(n, true)` with n > 0: its output,
/// first line included, is nested below the key before it.
fn indents_first_line(line: &str) -> bool {
    let Some(inner) = line
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    else {
        return false;
    };
    if inner.contains("}}") {
        return false;
    }
    let Some(arguments) = inner
        .trim_matches(|c: char| c == '-' || c.is_whitespace())
        .rsplit_once('|')
        .map(|(_, last)| last.trim())
        .and_then(|last| last.strip_prefix("indent("))
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    let arguments: Vec<&str> = arguments.split(',').map(str::trim).collect();
    matches!(
        arguments.as_slice(),
        [width, "true" | "first=true"] if width.parse::<usize>().is_ok_and(|width| width > 0)
    )
}

/// The key of a `key: value` or `key:` line, unquoted.
fn key_of(line: &str) -> Option<String> {
    let key = if let Some(quote @ ('"' | '\'')) = line.chars().next() {
        let end = line[1..].find(quote)? + 1;
        line[end + 1..]
            .trim_start()
            .starts_with(':')
            .then(|| line[1..end].to_owned())?
    } else {
        let colon = line
            .match_indices(':')
            .find(|(index, _)| {
                line[index + 1..].is_empty() || line[index + 1..].starts_with([' ', '\t'])
            })?
            .0;
        line[..colon].trim_end().to_owned()
    };
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Location;

    fn parse(text: &str) -> Vec<Value> {
        super::super::documents::parse_file(text)
            .unwrap()
            .into_iter()
            .map(|document| document.value)
            .collect()
    }

    fn closed(keys: &[&str], documents: Option<usize>) -> Shape {
        Shape::Closed {
            keys: keys.iter().map(|key| (*key).to_owned()).collect(),
            documents,
        }
    }

    fn source(text: &str) -> ValueSource {
        ValueSource {
            text: text.to_owned(),
            location: Location::new("environments/dev/clusters/c.env", 3, 1),
        }
    }

    #[test]
    fn keys_at_column_zero_are_declared_nested_ones_are_not() {
        let shape = Shape::of(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ x }}\n\"quoted key\": 1\n# note: no\ndata:\n  a: b\n",
        );
        assert_eq!(
            shape,
            closed(
                &["apiVersion", "kind", "metadata", "quoted key", "data"],
                Some(1)
            )
        );
    }

    #[test]
    fn keys_in_conditionals_and_loops_are_declared() {
        let shape = Shape::of(
            "kind: X\n{% if a %}\nspec: 1\n{% else %}\nstatus: 2\n{% endif %}\n{% for i in l %}\nitem: {{ i }}\n{% endfor %}\n{% if b %}inline: 1{% endif %}\n",
        );
        assert_eq!(
            shape,
            closed(&["kind", "spec", "status", "item", "inline"], Some(1))
        );
    }

    #[test]
    fn comments_and_captured_blocks_declare_nothing() {
        let shape = Shape::of(
            "{#\n  note:\n#}\n{% set body %}\ntemplate: 1\n{% endset %}\n{% set x = 1 %}\nkind: X\n{# c #}\n",
        );
        assert_eq!(shape, closed(&["kind"], Some(1)));
    }

    #[test]
    fn separators_count_documents_and_a_loop_around_one_means_any_number() {
        assert_eq!(
            Shape::of("a: 1\n---\nb: 2\n---\nc: 3\n"),
            closed(&["a", "b", "c"], Some(3))
        );
        assert_eq!(
            Shape::of("{% for i in l %}\n---\nkind: {{ i }}\n{% endfor %}\n"),
            closed(&["kind"], None)
        );
    }

    #[test]
    fn an_expression_or_include_at_the_top_level_leaves_the_template_open() {
        assert_eq!(Shape::of("kind: X\n{{ body }}\n"), Shape::Open);
        assert_eq!(
            Shape::of("kind: X\n{% include 'other.yaml' %}\n"),
            Shape::Open
        );
        assert_eq!(Shape::of("{{ key }}: 1\n"), Shape::Open);
        assert_eq!(Shape::of("x-{{ key }}: 1\n"), Shape::Open);
        assert_eq!(Shape::of("spec:\n{{ body | indent(2) }}\n"), Shape::Open);
        assert_eq!(
            Shape::of("spec:\n{{ body | indent(0, true) }}\n"),
            Shape::Open
        );
        // Indented from its first line, an expression's output is nested.
        assert_eq!(
            Shape::of("spec:\n{{ body | trim | indent(2, true) }}\n"),
            closed(&["spec"], Some(1))
        );
        // Indented expressions are values of declared keys.
        assert_eq!(
            Shape::of("kind: X\nspec:\n  {{ body }}\n"),
            closed(&["kind", "spec"], Some(1))
        );
        assert_eq!(
            Shape::of("a: 1\n")
                .violation(parse("b: 1\n").iter(), std::iter::empty())
                .map(|v| v.0),
            Some("renders top-level key `b`, which the template does not declare".to_owned())
        );
        assert_eq!(
            Shape::Open.violation(parse("b: 1\n").iter(), std::iter::empty()),
            None
        );
    }

    #[test]
    fn an_extra_key_names_the_value_that_holds_it() {
        let shape = closed(&["kind", "data"], Some(1));
        let sources = [source("admin"), source("x\nextra: key")];
        let (message, value) = shape
            .violation(
                parse("kind: X\ndata: x\nextra: key\n").iter(),
                sources.iter(),
            )
            .unwrap();
        assert!(message.contains("`extra`"), "{message}");
        assert_eq!(value.unwrap().text, "x\nextra: key");
        assert_eq!(
            shape.violation(parse("kind: X\ndata: 1\n").iter(), sources.iter()),
            None
        );
    }

    #[test]
    fn an_extra_document_names_the_value_that_holds_it() {
        let shape = closed(&["kind"], Some(1));
        let sources = [source("admin\n---\nkind: Secret")];
        let (message, value) = shape
            .violation(parse("kind: X\n---\nkind: Secret\n").iter(), sources.iter())
            .unwrap();
        assert!(message.contains("2 documents"), "{message}");
        assert_eq!(
            value.unwrap().location.to_string(),
            "environments/dev/clusters/c.env:3:1"
        );
        // A trailing empty document is no document.
        assert_eq!(
            shape.violation(parse("kind: X\n---\n").iter(), sources.iter()),
            None
        );
        // Any number when the template loops around its separator.
        let any = closed(&["kind"], None);
        assert_eq!(
            any.violation(parse("kind: X\n---\nkind: Y\n").iter(), sources.iter()),
            None
        );
    }

    #[test]
    fn kinds_are_read_per_document_and_never_guessed() {
        let source = "# apiVersion: v0\napiVersion: v1\nkind: Namespace\n---\nkind: \"GitRepository\"\napiVersion: 'source.toolkit.fluxcd.io/v1'\n---\napiVersion: {{ api }}\nkind: Secret\n---\napiVersion: apps/v1\nkind: Deployment # a comment\n  kind: Nested\n";
        assert_eq!(
            super::kinds(source),
            [
                ("v1", "Namespace"),
                ("source.toolkit.fluxcd.io/v1", "GitRepository"),
                ("apps/v1", "Deployment")
            ]
            .map(|(api_version, kind)| (api_version.to_owned(), kind.to_owned()))
        );
    }

    #[test]
    fn default_blueprints_are_checked() {
        // The check has teeth only if the shipped templates are closed.
        let mut diagnostics = crate::diagnostic::Diagnostics::new();
        let mut open = Vec::new();
        let mut yaml = 0;
        for blueprint in crate::render::blueprint::defaults(&mut diagnostics) {
            for (path, source) in &blueprint.files {
                if !crate::render::is_yaml(path) {
                    continue;
                }
                yaml += 1;
                if Shape::of(source) == Shape::Open {
                    open.push(format!("{}/{path}", blueprint.name));
                }
            }
        }
        assert!(yaml > 0);
        assert_eq!(open, Vec::<String>::new());
    }
}
