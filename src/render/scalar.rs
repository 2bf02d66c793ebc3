//! Values are data: what a `{{ … }}` in a YAML template emits is one YAML scalar, whatever the
//! value holds and wherever the template placed it. A value that could only ever read as a
//! single plain scalar is written as is, so ordinary output looks hand-written; anything else
//! becomes a double-quoted scalar in which every character that could end it, or mean
//! something to a YAML parser outside it (flow indicators, comments, quotes), is escaped. Such
//! a value can therefore never start a line, a key, a list item, a flow collection, a comment
//! or a document, even when a template puts it inside a plain scalar or inside quotes.

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Output, State};

/// The auto-escape mode of blueprint files.
pub const YAML: &str = "yaml";

/// Longest value written without quotes; longer ones are not plain-safe by definition, which
/// keeps the check cheap and the output readable.
const PLAIN_MAX: usize = 256;

/// Whether `text` reads back as one plain scalar with this exact text in every position a
/// template can put it (value of a key, list item, inside a longer plain scalar, in a
/// comment). Types are not considered: `true` stays `true` (templates use `| quote` where a
/// string type matters).
pub fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let first_ok = first.is_alphanumeric()
        || first == '/'
        || first == '_'
        || text.starts_with("./")
        || (first == '-' && text[1..].starts_with(|c: char| c.is_ascii_digit()));
    first_ok
        && text.len() <= PLAIN_MAX
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && text.chars().all(|c| {
            c.is_alphanumeric() || (c.is_ascii() && b" ._-/:@+=~%^()".contains(&(c as u8)))
        })
}

/// `text` as a double-quoted YAML scalar that survives any placement (see the module comment).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            // Meaningful outside a double-quoted scalar: escaped so that a template that puts
            // the value inside a plain or single-quoted scalar still gets one scalar.
            '\'' | '#' | ',' | '[' | ']' | '{' | '}' | ':' | '&' | '*' | '!' | '|' | '>' | '%'
            | '@' | '`' | '?' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One scalar: as is when plain-safe, quoted otherwise.
pub fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// The text of a value as a YAML template should emit it. Collections become JSON (a YAML
/// flow collection in which every string is quoted and escaped).
pub fn emit(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => scalar(value.as_str().unwrap_or_default()),
        ValueKind::Number | ValueKind::Bool => scalar(&value.to_string()),
        ValueKind::None | ValueKind::Undefined => String::new(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            match serde_json::to_string(&value) {
                Ok(json) => json,
                Err(_) => quoted(&value.to_string()),
            }
        }
        _ => quoted(&value.to_string()),
    }
}

/// The environment's formatter: blueprint files emit every value that is not already escaped
/// through [`emit`]; path templates keep minijinja's behaviour.
pub fn formatter(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match state.auto_escape() {
        AutoEscape::Custom(name) if name == YAML && !value.is_safe() => {
            out.write_str(&emit(value)).map_err(|error| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, error.to_string())
            })
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// `{{ value | quote }}`: always a double-quoted scalar (so `on`, `010` or `1.20` stay
/// strings), already escaped.
pub fn quote_filter(value: Value) -> Value {
    let text = value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    Value::from_safe_string(quoted(&text))
}

/// `{{ value | safe }}` in a YAML template cannot turn a value into YAML: text that is already
/// escaped (the output of `quote`, `tojson`, a `{% set %}` block) passes; anything else is
/// emitted as the formatter would.
pub fn safe_filter(value: Value) -> Value {
    if value.is_safe() {
        value
    } else {
        Value::from_safe_string(emit(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<serde_norway::Value> {
        use serde::Deserialize;
        serde_norway::Deserializer::from_str(text)
            .map(|document| serde_norway::Value::deserialize(document).unwrap())
            .collect()
    }

    #[test]
    fn ordinary_values_are_written_as_is() {
        for plain in [
            "admin",
            "k3d-america",
            "10.244.0.0/16",
            "v1.31.2",
            "https://github.com/org/repo",
            "ssh://git@host/org/fleet.git",
            "t3.large",
            "3",
            "-1",
            "A sentence with spaces",
            "./storefront/aws-prod",
        ] {
            assert!(is_plain_safe(plain), "{plain}");
        }
    }

    #[test]
    fn hostile_values_stay_one_scalar_in_every_position() {
        let hostile = [
            "admin\n---\napiVersion: v1\nkind: Secret",
            "admin\n  extra: field",
            "a: b",
            "a #comment",
            "- item",
            "[a, b]",
            "{a: b}",
            "*alias",
            "&anchor x",
            "!!binary x",
            "| block",
            "'single'",
            "\"double\"",
            "back\\slash",
            "x\u{2028}y: z",
            "x\r\ny: z",
            "---",
            "...",
            "",
            " leading",
            "trailing ",
            "key:",
            "a, b",
        ];
        for value in hostile {
            let scalar = scalar(value);
            let positions = [
                format!("key: {scalar}\nother: 1\n"),
                format!("list:\n  - {scalar}\nother: 1\n"),
                format!("key: prefix{scalar}suffix\nother: 1\n"),
                format!("key: '{scalar}'\nother: 1\n"),
                format!("# {scalar}\nother: 1\n"),
                format!("flow: [{scalar}, x]\nother: 1\n"),
                format!("flow: {{a: {scalar}}}\nother: 1\n"),
            ];
            for text in positions {
                let documents = parse(&text);
                assert_eq!(documents.len(), 1, "{text}");
                let mapping = documents[0].as_mapping().unwrap();
                assert_eq!(
                    mapping.len(),
                    if text.starts_with('#') { 1 } else { 2 },
                    "{text}"
                );
            }
            // In the position templates use most, the text reads back unchanged.
            let documents = parse(&format!("key: {scalar}\n"));
            assert_eq!(documents[0]["key"].as_str(), Some(value), "{value:?}");
        }
    }

    #[test]
    fn quoted_flow_items_stay_one_item() {
        let documents = parse(&format!("flow: [{}]\n", scalar("a, b")));
        assert_eq!(documents[0]["flow"].as_sequence().unwrap().len(), 1);
    }
}
