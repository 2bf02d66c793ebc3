//! Findings about the user's input or the rendered output, with the place they point at.
//!
//! A [`Diagnostic`] is data, not text: `check --format json` serialises it for CI annotations and
//! the human renderer prints it compiler-style (`file:line:col: error: message [rule]`), which
//! terminals and editors turn into links.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::printable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A position in a file, 1-based as editors count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }

    /// Start of a file, for findings about a file as a whole.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self::new(file, 1, 1)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = printable::path(&self.file);
        write!(f, "{file}:{}:{}", self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier of the check that produced this finding, e.g. `unknown-key`.
    pub rule: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The same finding in other files rendered from one template, folded into this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub also: Option<Box<Also>>,
}

/// Where else a finding was made: a template renders for many units, and its mistake is in
/// each file it writes. Listing them keeps one finding per mistake while nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Also {
    /// The blueprint file every one of these files was rendered from.
    pub template: PathBuf,
    /// Every other place the finding was made, in natural order of file.
    pub locations: Vec<Location>,
}

/// Files a note names before it only counts the rest: rendered paths are long.
const FILES_LISTED: usize = 3;

impl Also {
    /// `also in 2 more files rendered from <template> (<file> and <file>)`, as printed.
    pub fn note(&self) -> String {
        let mut files: Vec<&Path> = self
            .locations
            .iter()
            .map(|location| location.file.as_path())
            .collect();
        files.dedup();
        let noun = if files.len() == 1 { "file" } else { "files" };
        let mut note = format!(
            "also in {} more {noun} rendered from {} (",
            files.len(),
            self.template.display()
        );
        for (index, file) in files.iter().take(FILES_LISTED).enumerate() {
            let separator = match index {
                0 => "",
                _ if index + 1 == files.len() => " and ",
                _ => ", ",
            };
            note.push_str(&format!("{separator}{}", file.display()));
        }
        if files.len() > FILES_LISTED {
            note.push_str(&format!(" and {} more", files.len() - FILES_LISTED));
        }
        note.push(')');
        note
    }
}

/// Longest message kept: a message may quote input, and input may be a megabyte.
pub const MAX_MESSAGE: usize = 2000;

/// Longest value quoted by [`truncate`].
pub const MAX_QUOTED: usize = 80;

/// A value for a message: control characters escaped, cut after [`MAX_QUOTED`] characters.
pub fn truncate(value: &str) -> String {
    let mut out: String = value.chars().take(MAX_QUOTED).collect::<String>();
    out = out.escape_debug().to_string();
    let total = value.chars().count();
    if total > MAX_QUOTED {
        out.push_str(&format!("… ({} more characters)", total - MAX_QUOTED));
    }
    out
}

fn bounded(mut text: String) -> String {
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!("… ({dropped} more bytes)"));
    }
    text
}

impl Diagnostic {
    pub fn error(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            rule,
            location: None,
            message: bounded(message.into()),
            hint: None,
            also: None,
        }
    }

    pub fn warning(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(rule, message)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_file(self, file: impl Into<PathBuf>) -> Self {
        self.at(Location::file(file))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(bounded(hint.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Each part is one line whatever it quotes, so no value can start a line of its own
        // (where a CI runner would read it as a command) or reach the terminal as an escape.
        let message = printable::line(&self.message);
        write!(f, "{severity}: {message} [{}]", self.rule)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", printable::line(hint))?;
        }
        if let Some(also) = &self.also {
            write!(f, "\n  note: {}", printable::line(&also.note()))?;
        }
        Ok(())
    }
}

/// An ordered collection of findings. Loading and validation keep going after the first problem
/// so that one run reports everything that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorts by file and position so output does not depend on the order checks ran in.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.location, a.severity, a.rule, &a.message).cmp(&(
                &b.location,
                b.severity,
                b.rule,
                &b.message,
            ))
        });
        self.0.dedup();
    }

    /// `Ok(())` when nothing is an error, so callers can write `diagnostics.into_result()?`.
    pub fn into_result(mut self) -> Result<Diagnostics, Diagnostics> {
        self.sort();
        if self.has_errors() {
            Err(self)
        } else {
            Ok(self)
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo:
/// within a third of its length in edits (a swap of two letters counts as one), or sharing a
/// long enough prefix.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_ascii_lowercase();
            let edits = strsim::damerau_levenshtein(&given, &lower);
            let similarity = strsim::jaro_winkler(&given, &lower);
            let close = edits * 3 <= given.len().max(lower.len()) || similarity > 0.9;
            close.then_some((edits, candidate))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_never_makes_a_long_message() {
        let huge = "x".repeat(1_000_000);
        let diagnostic = Diagnostic::error("r", format!("bad `{huge}`")).with_hint(huge.clone());
        assert!(diagnostic.to_string().len() < 2 * MAX_MESSAGE + 200);
        let quoted = truncate(&format!("a\nb{huge}"));
        assert!(
            quoted.starts_with("a\\nb") && quoted.len() < 200,
            "{quoted}"
        );
    }

    #[test]
    fn renders_compiler_style_with_hint() {
        let diagnostic = Diagnostic::error("unknown-key", "unknown key NODE_CDIR")
            .at(Location::new("fleet/clusters/a.env", 3, 1))
            .with_hint("did you mean NODE_CIDR?");
        assert_eq!(
            diagnostic.to_string(),
            "fleet/clusters/a.env:3:1: error: unknown key NODE_CDIR [unknown-key]\n  hint: did you mean NODE_CIDR?"
        );
    }

    #[test]
    fn no_part_of_a_finding_starts_a_line_or_reaches_the_terminal_raw() {
        let forged = "x\n::error::forged\x1b[2J\r\u{9b}31m";
        let diagnostic = Diagnostic::error("invalid-name", format!("name {forged}"))
            .at(Location::new(format!("fleet/tenants/{forged}.yaml"), 1, 1))
            .with_hint(format!("rename {forged}"));
        let shown = diagnostic.to_string();
        assert_eq!(
            shown,
            "fleet/tenants/x\\n::error::forged\\u{1b}[2J\\r\\u{9b}31m.yaml:1:1: error: name \
             x\\n::error::forged\\u{1b}[2J\\r\\u{9b}31m [invalid-name]\n  hint: rename \
             x\\n::error::forged\\u{1b}[2J\\r\\u{9b}31m"
        );
        // The data keeps the value as it was, for JSON to escape its own way.
        assert!(diagnostic.message.contains('\x1b'));
    }

    #[test]
    fn a_folded_finding_notes_its_other_files_briefly() {
        let at = |cluster: &str| Location::new(format!("main/infra/{cluster}/ns.yaml"), 7, 1);
        let mut diagnostic = Diagnostic::error("schema", "v1 Namespace a: /spec: no").at(at("c1"));
        let also = |clusters: &[&str]| {
            Some(Box::new(Also {
                template: PathBuf::from("blueprints/ns/files/ns.yaml"),
                locations: clusters.iter().map(|cluster| at(cluster)).collect(),
            }))
        };
        diagnostic.also = also(&["c2"]);
        assert_eq!(
            diagnostic.to_string(),
            "main/infra/c1/ns.yaml:7:1: error: v1 Namespace a: /spec: no [schema]\n  note: also in 1 more file rendered from blueprints/ns/files/ns.yaml (main/infra/c2/ns.yaml)"
        );
        diagnostic.also = also(&["c2", "c3", "c4"]);
        assert!(
            diagnostic.to_string().ends_with(
                "in 3 more files rendered from blueprints/ns/files/ns.yaml (main/infra/c2/ns.yaml, main/infra/c3/ns.yaml and main/infra/c4/ns.yaml)"
            ),
            "{diagnostic}"
        );
        diagnostic.also = also(&["c2", "c3", "c4", "c5", "c10"]);
        assert!(
            diagnostic.to_string().ends_with(
                "in 5 more files rendered from blueprints/ns/files/ns.yaml (main/infra/c2/ns.yaml, main/infra/c3/ns.yaml, main/infra/c4/ns.yaml and 2 more)"
            ),
            "{diagnostic}"
        );
    }

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(
            did_you_mean("NODE_CDIR", ["NODE_CIDR", "POD_CIDR"]),
            Some("NODE_CIDR")
        );
        assert_eq!(did_you_mean("ZZZ", ["NODE_CIDR", "POD_CIDR"]), None);
        assert_eq!(did_you_mean("wbe", ["api", "web"]), Some("web"));
        assert_eq!(
            did_you_mean("k3d-amerika", ["k3d-america", "k3d-emea"]),
            Some("k3d-america")
        );
        assert_eq!(did_you_mean("prod", ["dev", "qa"]), None);
    }
}
