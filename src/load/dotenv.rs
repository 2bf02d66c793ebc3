//! Parser for cluster files (`fleet/clusters/<cluster>.env`, `environments/<env>/clusters/…`).
//!
//! The accepted syntax is the common subset of dotenv dialects that people already write by hand
//! for clusterctl: `KEY=value`, an optional `export ` prefix, `#` comments, and single- or
//! double-quoted values. It is stricter than bash on purpose: the seed repositories show what
//! leniency costs (`KUBERNETES_VERSION=""1.25.4` that bash accepts, `${VAR}` that silently
//! becomes an empty string), so anything ambiguous is an error pointing at the exact column.

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use std::path::Path;

/// One `KEY=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
    /// Column of the first character of the key.
    pub key_column: usize,
    /// Column of the first character of the value (its opening quote, if quoted).
    pub value_column: usize,
}

/// Parses `source`, reporting every malformed line. `file` is only used in diagnostics.
pub fn parse(file: &Path, source: &str) -> Result<Vec<Entry>, Diagnostics> {
    let mut entries: Vec<Entry> = Vec::new();
    // Key → line of its first entry: a lookup per line, not a scan of every earlier entry.
    let mut first_lines: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    let mut diagnostics = Diagnostics::new();
    for (index, raw_line) in source.lines().enumerate() {
        let line_number = index + 1;
        match parse_line(raw_line) {
            Ok(None) => {}
            Ok(Some(parsed)) => {
                if let Some(previous) = first_lines.get(&parsed.key) {
                    diagnostics.push(
                        Diagnostic::error("duplicate-key", format!("{} is set twice", parsed.key))
                            .at(Location::new(file, line_number, parsed.key_column))
                            .with_hint(format!(
                                "the first value is on line {previous}; keep one of them"
                            )),
                    );
                    continue;
                }
                first_lines.insert(parsed.key.clone(), line_number);
                entries.push(Entry {
                    line: line_number,
                    ..parsed
                });
            }
            Err(LineError {
                column,
                message,
                hint,
            }) => {
                let mut diagnostic = Diagnostic::error("dotenv-syntax", message).at(Location::new(
                    file,
                    line_number,
                    column,
                ));
                if let Some(hint) = hint {
                    diagnostic = diagnostic.with_hint(hint);
                }
                diagnostics.push(diagnostic);
            }
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(entries)
    }
}

struct LineError {
    column: usize,
    message: String,
    hint: Option<String>,
}

impl LineError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        Self {
            column,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Columns are counted in characters, 1-based, as editors show them.
fn parse_line(line: &str) -> Result<Option<Entry>, LineError> {
    let chars: Vec<char> = line.chars().collect();
    let mut pos = skip_blanks(&chars, 0);
    if pos == chars.len() || chars[pos] == '#' {
        return Ok(None);
    }
    if starts_with(&chars, pos, "export")
        && chars.get(pos + 6).is_some_and(|c| *c == ' ' || *c == '\t')
    {
        pos = skip_blanks(&chars, pos + 6);
    }
    let key_start = pos;
    while pos < chars.len() && (chars[pos].is_ascii_alphanumeric() || chars[pos] == '_') {
        pos += 1;
    }
    let key: String = chars[key_start..pos].iter().collect();
    if key.is_empty() {
        return Err(LineError::new(
            key_start + 1,
            format!(
                "expected a KEY=value line, found `{}`",
                crate::diagnostic::truncate(line.trim())
            ),
        )
        .hint("keys are letters, digits and underscores; comments start with #"));
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(LineError::new(
            key_start + 1,
            format!("key `{key}` starts with a digit"),
        ));
    }
    let after_key = skip_blanks(&chars, pos);
    if chars.get(after_key) != Some(&'=') {
        let found = chars.get(after_key).map_or("end of line".to_owned(), |c| {
            crate::model::names::describe_char(*c)
        });
        return Err(LineError::new(
            after_key + 1,
            format!("expected `=` after {key}, found {found}"),
        ));
    }
    if after_key != pos {
        return Err(
            LineError::new(pos + 1, format!("space between {key} and `=`"))
                .hint("write KEY=value without spaces around `=`"),
        );
    }
    let value_start = pos + 1;
    if chars
        .get(value_start)
        .is_some_and(|c| *c == ' ' || *c == '\t')
    {
        let next = skip_blanks(&chars, value_start);
        if next < chars.len() && chars[next] != '#' {
            return Err(
                LineError::new(value_start + 1, format!("space after `=` in {key}"))
                    .hint("quote the value if it starts with a space, otherwise remove the space"),
            );
        }
    }
    let (value, end) = match chars.get(value_start) {
        Some('\'') => single_quoted(&chars, value_start)?,
        Some('"') => double_quoted(&chars, value_start)?,
        _ => unquoted(&chars, value_start)?,
    };
    let rest = skip_blanks(&chars, end);
    if rest < chars.len() && chars[rest] != '#' {
        return Err(LineError::new(
            rest + 1,
            format!("unexpected text after the value of {key}"),
        )
        .hint(
            "a quoted value must end at its closing quote; put the whole value inside the quotes",
        ));
    }
    if rest < chars.len() && rest == end && end > value_start && chars[rest] == '#' {
        return Err(
            LineError::new(rest + 1, format!("`#` right after the value of {key}"))
                .hint("put a space before a comment, or quote the value if `#` belongs to it"),
        );
    }
    Ok(Some(Entry {
        key,
        value,
        line: 0,
        key_column: key_start + 1,
        value_column: value_start + 1,
    }))
}

fn skip_blanks(chars: &[char], mut pos: usize) -> usize {
    while pos < chars.len() && (chars[pos] == ' ' || chars[pos] == '\t') {
        pos += 1;
    }
    pos
}

fn starts_with(chars: &[char], pos: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(offset, c)| chars.get(pos + offset) == Some(&c))
}

fn single_quoted(chars: &[char], open: usize) -> Result<(String, usize), LineError> {
    let mut pos = open + 1;
    let mut value = String::new();
    while pos < chars.len() {
        if chars[pos] == '\'' {
            return Ok((value, pos + 1));
        }
        value.push(chars[pos]);
        pos += 1;
    }
    Err(LineError::new(open + 1, "unterminated single quote").hint("values must fit on one line"))
}

fn double_quoted(chars: &[char], open: usize) -> Result<(String, usize), LineError> {
    let mut pos = open + 1;
    let mut value = String::new();
    while pos < chars.len() {
        match chars[pos] {
            '"' => return Ok((value, pos + 1)),
            '\\' => {
                let escaped = match chars.get(pos + 1) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('$') => '$',
                    Some(other) => {
                        return Err(
                            LineError::new(pos + 1, format!("unknown escape `\\{other}`"))
                                .hint("the escapes are \\n \\t \\\\ \\\" and \\$"),
                        );
                    }
                    None => break,
                };
                value.push(escaped);
                pos += 2;
            }
            '$' if is_expansion(chars, pos) => return Err(expansion_error(pos)),
            c => {
                value.push(c);
                pos += 1;
            }
        }
    }
    Err(LineError::new(open + 1, "unterminated double quote").hint("values must fit on one line"))
}

fn unquoted(chars: &[char], start: usize) -> Result<(String, usize), LineError> {
    let mut pos = start;
    while pos < chars.len() && chars[pos] != ' ' && chars[pos] != '\t' && chars[pos] != '#' {
        match chars[pos] {
            '"' | '\'' => {
                return Err(LineError::new(pos + 1, "quote in the middle of a value")
                    .hint("quote the whole value, e.g. KEY=\"v1.25.4\""));
            }
            '$' if is_expansion(chars, pos) => return Err(expansion_error(pos)),
            '\\' => {
                return Err(LineError::new(pos + 1, "backslash in an unquoted value")
                    .hint("use double quotes for escapes"));
            }
            _ => pos += 1,
        }
    }
    Ok((chars[start..pos].iter().collect(), pos))
}

fn is_expansion(chars: &[char], pos: usize) -> bool {
    chars
        .get(pos + 1)
        .is_some_and(|c| *c == '{' || *c == '_' || c.is_ascii_alphabetic())
}

fn expansion_error(pos: usize) -> LineError {
    LineError::new(pos + 1, "variable expansion is not supported").hint(
        "fleetgen never expands $VAR (an unset variable would silently become empty); write the value itself, \
         or use single quotes for a literal $",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(source: &str) -> Vec<(String, String, usize)> {
        parse(Path::new("c.env"), source)
            .unwrap()
            .into_iter()
            .map(|entry| (entry.key, entry.value, entry.line))
            .collect()
    }

    fn parse_err(source: &str) -> String {
        parse(Path::new("c.env"), source).unwrap_err().to_string()
    }

    #[test]
    fn plain_export_quotes_and_comments() {
        let source = "# a comment\n\nPROVIDER=aws\nexport AWS_REGION=eu-west-1  # trailing\nA='single $x # kept'\nB=\"dq \\\"x\\\" \\n\"\nEMPTY=\n";
        assert_eq!(
            parse_ok(source),
            [
                ("PROVIDER".into(), "aws".into(), 3),
                ("AWS_REGION".into(), "eu-west-1".into(), 4),
                ("A".into(), "single $x # kept".into(), 5),
                ("B".into(), "dq \"x\" \n".into(), 6),
                ("EMPTY".into(), "".into(), 7),
            ]
        );
    }

    #[test]
    fn columns_point_at_key_and_value() {
        let entries = parse(Path::new("c.env"), "  export K=v\n").unwrap();
        assert_eq!((entries[0].key_column, entries[0].value_column), (10, 12));
    }

    #[test]
    fn stray_quote_like_the_seed_is_refused() {
        assert_eq!(
            parse_err("KUBERNETES_VERSION=\"\"1.25.4\n"),
            "c.env:1:22: error: unexpected text after the value of KUBERNETES_VERSION [dotenv-syntax]\n  hint: a quoted value must end at its closing quote; put the whole value inside the quotes"
        );
    }

    #[test]
    fn expansion_is_refused() {
        assert!(
            parse_err("A=${B}\n").contains("c.env:1:3: error: variable expansion is not supported")
        );
        assert!(parse_err("A=\"x$B\"\n").contains("c.env:1:5"));
        assert_eq!(parse_ok("A='$B'\nC=5$\n")[1].1, "5$");
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let message = parse_err("A=1\nA=2\n");
        assert!(
            message.starts_with("c.env:2:1: error: A is set twice"),
            "{message}"
        );
        assert!(message.contains("line 1"));
    }

    #[test]
    fn malformed_lines_are_all_reported() {
        let message = parse_err("not a line\nB = 2\nC=\"open\nD=x#y\n");
        assert_eq!(message.matches("error:").count(), 4, "{message}");
        assert!(message.contains("c.env:2:2: error: space between B and `=`"));
        assert!(message.contains("c.env:3:3: error: unterminated double quote"));
        assert!(message.contains("c.env:4:4: error: `#` right after the value of D"));
    }

    #[test]
    fn garbage_never_panics() {
        for source in [
            "=",
            "export",
            "export =",
            "A=\"\\",
            "A='",
            "\u{feff}A=1",
            "Ä=1",
            "A=\"\\q\"",
        ] {
            let _ = parse(Path::new("c.env"), source);
        }
    }
}
