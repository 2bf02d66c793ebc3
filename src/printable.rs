//! Text for a terminal or a CI log, from names and values anyone could have written.
//!
//! fleetgen runs on the pull requests of a fleet, so a file name, a tenant name or a value may
//! hold an ANSI escape that repaints the terminal, a carriage return that hides what came
//! before, or a line break followed by a CI workflow command (`::error::…`, `::stop-commands::`)
//! that the runner would obey. Every printer passes its text through here: a character that
//! could do any of that is shown the way Rust writes it in a string (`\n`, `\r`, `\u{1b}`).
//! GitHub's runner also obeys `::` where a line starts after white space, and the older
//! `##[command]` anywhere in a line, so the first `:` of the one and the `[` of the other are
//! shown escaped too (`\u{3a}:error::`, `##\u{5b}error]`).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Whether `c` acts on the display instead of showing: C0 and C1 controls and DEL, the line and
/// paragraph separators, the marks and overrides that reorder text, and the byte-order mark.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Filled from the first character that needs escaping; until then `text` is borrowed.
    let mut out: Option<String> = None;
    let mut line_start = true;
    let mut previous = ['\0', '\0'];
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        let escaped = (hidden(c) && !keep(c))
            // The runner reads `::command::` where a line starts, after any white space...
            || (c == ':' && line_start && next == Some(':'))
            // ...and the older `##[command]` anywhere in a line.
            || (c == '[' && previous == ['#', '#']);
        if escaped && out.is_none() {
            let mut start = String::with_capacity(text.len() + 16);
            start.push_str(&text[..at]);
            out = Some(start);
        }
        if let Some(out) = out.as_mut() {
            if escaped {
                push_escaped(out, c);
            } else {
                out.push(c);
            }
        }
        line_start = if c == '\n' && !escaped {
            true
        } else {
            line_start && c.is_whitespace()
        };
        previous = [previous[1], c];
    }
    match out {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(text),
    }
}

/// `text` as one line: every hidden character escaped, line breaks included.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// `text` whose line breaks are its own layout (a list of paths, a `hint:` line): those are
/// kept, every other hidden character is escaped. The values placed in such a text must have
/// gone through [`line()`] (or [`crate::diagnostic::truncate`]) already.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n')
}

/// A file's text as a patch shows it: line breaks and tabs kept, every other hidden character
/// escaped, so a rendered file cannot repaint the terminal that reviews it.
pub fn content(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// JSON for a CI log. JSON already escapes control characters, and a line of pretty-printed
/// JSON starts with its structure, never with a value. What is left can only stand inside a
/// string, where it is written as a `\u` escape (the same string to any JSON reader): the
/// separators and bidirectional marks, and the `[` of the older `##[command]`.
pub fn json(text: String) -> String {
    // Control characters are JSON's to escape; outside strings there are only its line breaks.
    let inside = |c: char| hidden(c) && !c.is_control();
    if !text.contains("##[") && !text.chars().any(inside) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut previous = ['\0', '\0'];
    for c in text.chars() {
        if inside(c) || (c == '[' && previous == ['#', '#']) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
        previous = [previous[1], c];
    }
    out
}

/// A path as one line.
pub fn path(path: &Path) -> String {
    line(&path.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped() {
        assert_eq!(
            line("a\n::error::forged\x1b[31m\r\tb\u{9b}c\u{202e}d"),
            "a\\n::error::forged\\u{1b}[31m\\r\\tb\\u{9b}c\\u{202e}d"
        );
        assert_eq!(line("\x1b]8;;http://x\x07"), "\\u{1b}]8;;http://x\\u{7}");
        assert_eq!(line("\u{2028}\u{feff}\0"), "\\u{2028}\\u{feff}\\0");
    }

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        let text = "fleet/clusters/k3d-emea.env: « naïve » `tenant` 東京 \\n";
        assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn nothing_reads_as_a_workflow_command() {
        assert_eq!(line("::error::x"), "\\u{3a}:error::x");
        assert_eq!(
            line(" \u{a0}\t::add-mask::x"),
            " \u{a0}\\t\\u{3a}:add-mask::x"
        );
        assert_eq!(line("a ::error::x"), "a ::error::x");
        assert_eq!(line("a\n::error::x"), "a\\n::error::x");
        assert_eq!(
            lines("a\n  ::stop-commands::t\n"),
            "a\n  \\u{3a}:stop-commands::t\n"
        );
        assert_eq!(line("x ##[error]y ##"), "x ##\\u{5b}error]y ##");
        assert_eq!(content("+  ::warning::x\n"), "+  ::warning::x\n");
        assert_eq!(content("  ::warning::x\n"), "  \\u{3a}:warning::x\n");
    }

    #[test]
    fn json_stays_the_same_data_without_a_command() {
        let value = serde_json::json!({"message": "a ##[error]b \\##[x] \u{2028}\u{202e}\x1b"});
        let text = json(serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.contains("##["), "{text}");
        assert!(text.contains(" \\u2028\\u202e\\u001b\""), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn the_layouts_own_line_breaks_are_kept() {
        assert_eq!(lines("a\n  b\x1b[2J\r"), "a\n  b\\u{1b}[2J\\r");
        assert_eq!(line("a\n  b"), "a\\n  b");
        assert_eq!(content("a:\tb\r\n\x1b[2J"), "a:\tb\\r\n\\u{1b}[2J");
    }
}
