//! Finding the line of a field in a document's text, from its JSON pointer: block YAML read
//! line by line, keys and sequence dashes by their columns. Findings are rare, so a document's
//! text is only read this way when one is made about it.

use serde_json::Value;

/// One entry of a block-YAML line: a sequence dash, or a mapping key, starting at a column.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Dash,
    Key { key: &'a str, inline_value: bool },
    Scalar,
}

/// The entries of one line, with their columns: `  - name: x` is a dash at 2 and a key at 4.
fn tokens(line: &str) -> Vec<(usize, Token<'_>)> {
    let mut out = Vec::new();
    let mut column = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[column..];
    loop {
        if rest.is_empty() || rest.starts_with('#') {
            break;
        }
        if rest == "-" || rest.starts_with("- ") {
            out.push((column, Token::Dash));
            let after = &rest[1..];
            let skipped = after.len() - after.trim_start_matches(' ').len();
            column += 1 + skipped;
            rest = &after[skipped..];
            continue;
        }
        match key_split(rest) {
            Some((key, value)) => {
                let value = value.trim();
                out.push((
                    column,
                    Token::Key {
                        key,
                        inline_value: !value.is_empty() && !value.starts_with('#'),
                    },
                ));
            }
            None => out.push((column, Token::Scalar)),
        }
        break;
    }
    out
}

/// `key: value` → (key, value), with the key unquoted; `None` when the line is no mapping entry.
fn key_split(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(['[', '{', '|', '>']) {
        return None;
    }
    let (key, value) = if let Some(quote) = text.strip_prefix(['"', '\'']).map(|_| &text[..1]) {
        let close = text[1..].find(quote)? + 1;
        let after = &text[close + 1..];
        let value = after.strip_prefix(':')?;
        (&text[1..close], value)
    } else {
        let colon = text.char_indices().find(|&(index, c)| {
            c == ':'
                && text[index + 1..]
                    .chars()
                    .next()
                    .is_none_or(|next| next == ' ' || next == '\t')
        })?;
        (text[..colon.0].trim_end(), &text[colon.0 + 1..])
    };
    if !value.is_empty() && !value.starts_with([' ', '\t']) {
        return None;
    }
    Some((key, value))
}

/// Finds the 1-based line, within `text`, of the node at `segments`; arrays are told from
/// mappings by looking at `value`. Reads block-style YAML, which is what blueprints produce;
/// inside flow collections and block scalars it stops at the enclosing key.
pub(super) fn line(text: &str, value: &Value, segments: &[String]) -> Option<usize> {
    let lines: Vec<Vec<(usize, Token<'_>)>> = text.lines().map(tokens).collect();
    let first = lines.iter().position(|tokens| !tokens.is_empty())?;
    // A container: the line its first entry is on, and the column its entries start at.
    let mut container = (first, lines[first].first()?.0);
    let mut best = first;
    let mut node = value;
    for segment in segments {
        let (start, column) = container;
        let found = match node {
            Value::Array(items) => {
                let Some((wanted, item)) = segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|wanted| Some((wanted, items.get(wanted)?)))
                else {
                    break;
                };
                node = item;
                nth_entry(&lines, start, column, |token| *token == Token::Dash, wanted).map(
                    |line| {
                        let next = lines[line]
                            .iter()
                            .find(|(entry_column, _)| *entry_column > column);
                        (line, next.map(|(entry_column, _)| *entry_column), false)
                    },
                )
            }
            Value::Object(map) => {
                let Some(child) = map.get(segment) else { break };
                node = child;
                nth_entry(
                    &lines,
                    start,
                    column,
                    |token| matches!(token, Token::Key { key, .. } if key == segment),
                    0,
                )
                .map(|line| {
                    let inline = lines[line].iter().any(|(entry_column, token)| {
                        *entry_column == column
                            && matches!(
                                token,
                                Token::Key {
                                    inline_value: true,
                                    ..
                                }
                            )
                    });
                    (line, None, inline)
                })
            }
            _ => None,
        };
        let Some((line, same_line_column, inline)) = found else {
            break;
        };
        best = line;
        if inline {
            break;
        }
        container = match same_line_column {
            Some(inner) => (line, inner),
            None => {
                let Some(next) = (line + 1..lines.len()).find(|&index| !lines[index].is_empty())
                else {
                    break;
                };
                let (next_column, token) = &lines[next][0];
                let nested = *next_column > column
                    || (*next_column == column
                        && *token == Token::Dash
                        && !matches!(node, Value::Object(_)));
                if !nested {
                    break;
                }
                (next, *next_column)
            }
        };
    }
    Some(best + 1)
}

/// The line of the `wanted`-th entry at `column` that `matches`, scanning the block that starts
/// at line `start` and ends at the first line indented less than `column`.
fn nth_entry(
    lines: &[Vec<(usize, Token<'_>)>],
    start: usize,
    column: usize,
    matches: impl Fn(&Token<'_>) -> bool,
    wanted: usize,
) -> Option<usize> {
    let mut seen = 0;
    for (index, tokens) in lines.iter().enumerate().skip(start) {
        let Some((first_column, _)) = tokens.first() else {
            continue;
        };
        if index > start && *first_column < column {
            return None;
        }
        if let Some((_, token)) = tokens
            .iter()
            .find(|(entry_column, _)| *entry_column == column)
            && matches(token)
        {
            if seen == wanted {
                return Some(index);
            }
            seen += 1;
        }
    }
    None
}
