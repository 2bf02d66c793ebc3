//! One finding per mistake in a template, not one per file it renders: a blueprint renders a
//! template for every cluster, environment, tenant or app, and a misspelt field in it is in
//! every file it writes. A thousand identical findings bury the one that is different.
//!
//! Findings about a rendered file are traced to their template through the file's origin
//! (see [`ValueCheck::template`]). Those with the same severity, rule, message and hint, from
//! the same template and at the same line and column within their document, become one: at
//! the first of their files in natural order (the precise place a user opens), listing the
//! others in [`Also`]. A message that begins with its object's description (`v1 Namespace
//! dev-redis: …`, as the schema and graph checks word them) is compared without it: objects a
//! template writes are often named after their unit, and the mistake is the same.
//!
//! Files without an origin (trees read from disk, computed kustomizations) are left alone:
//! nothing says that two of them share a mistake rather than merely look alike.

use std::collections::HashMap;
use std::path::Path;

use super::document::{ByFile, Document};
use crate::diagnostic::{Also, Diagnostic, Location, Severity};
use crate::render::values::ValueCheck;
use crate::tree::Branches;
use crate::view::natural;

/// What makes two findings one mistake of one template.
#[derive(PartialEq, Eq, Hash)]
struct Key<'a> {
    severity: Severity,
    rule: &'static str,
    /// The message without the object's own description.
    message: String,
    hint: Option<String>,
    template: &'a Path,
    /// Line within the document, from 0 (negative before it), and column.
    position: (isize, usize),
}

/// Folds `findings` per template mistake (see the module's documentation); every other finding
/// is returned as it is. `documents` are the parsed documents of `branches`, in branch and path
/// order.
pub fn by_template(
    findings: Vec<Diagnostic>,
    documents: &[Document<'_>],
    branches: &Branches,
    values: &ValueCheck,
) -> Vec<Diagnostic> {
    let files = ByFile::new(documents);
    let branch_names: Vec<&str> = branches.iter().map(|(branch, _)| branch).collect();
    let mut groups: Vec<(&Path, Vec<Diagnostic>)> = Vec::new();
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    let mut kept = Vec::new();
    for finding in findings {
        let Some(key) = key(&finding, &files, &branch_names, values) else {
            kept.push(finding);
            continue;
        };
        match index.get(&key) {
            Some(&group) => groups[group].1.push(finding),
            None => {
                groups.push((key.template, vec![finding]));
                index.insert(key, groups.len() - 1);
            }
        }
    }
    kept.extend(
        groups
            .into_iter()
            .map(|(template, group)| fold(group, template)),
    );
    kept
}

/// The key of a finding located in a rendered file with an origin, or `None`.
fn key<'v>(
    finding: &Diagnostic,
    files: &ByFile<'_, '_>,
    branches: &[&str],
    values: &'v ValueCheck,
) -> Option<Key<'v>> {
    let location = finding.location.as_ref()?;
    let document = document_at(location, files, branches)?;
    let template = values.template(document.origin?)?;
    // The object's description as a whole word: `v1 Namespace a` does not begin `… ab: …`.
    let message = finding
        .message
        .strip_prefix(&document.describe())
        .filter(|rest| rest.is_empty() || rest.starts_with([':', ' ']))
        .unwrap_or(&finding.message);
    Some(Key {
        severity: finding.severity,
        rule: finding.rule,
        message: message.to_owned(),
        hint: finding.hint.clone(),
        template,
        position: (
            location.line as isize - document.first_line as isize,
            location.column,
        ),
    })
}

/// The document `location` is in: its file is `<branch>/<path>` of a rendered branch, and
/// the document is the last one that starts at or before its line.
fn document_at<'a, 't>(
    location: &Location,
    files: &ByFile<'a, 't>,
    branches: &[&str],
) -> Option<&'a Document<'t>> {
    let file = location.file.to_str()?;
    // A branch name may hold a `/`: the longest branch with documents at the rest wins.
    let documents = branches
        .iter()
        .filter_map(|branch| {
            let path = file.strip_prefix(branch)?.strip_prefix('/')?;
            Some((branch.len(), files.get(branch, path)))
        })
        .filter(|(_, documents)| !documents.is_empty())
        .max_by_key(|(length, _)| *length)?
        .1;
    // A finding about the whole file is at its line 1, which may precede the first document.
    documents
        .iter()
        .rev()
        .find(|document| document.first_line <= location.line)
        .or(documents.first())
}

/// One finding for a group: the first in natural order of file, with the others listed.
fn fold(mut group: Vec<Diagnostic>, template: &Path) -> Diagnostic {
    if group.len() == 1 {
        return group.pop().expect("a group has a finding");
    }
    let place = |finding: &Diagnostic| {
        let location = finding
            .location
            .as_ref()
            .expect("grouped findings have one");
        (location.file.to_string_lossy().into_owned(), location.line)
    };
    let mut placed: Vec<((String, usize), Diagnostic)> = group
        .into_iter()
        .map(|finding| (place(&finding), finding))
        .collect();
    placed
        .sort_by(|((a, line_a), _), ((b, line_b), _)| natural::cmp(a, b).then(line_a.cmp(line_b)));
    let mut placed = placed.into_iter().map(|(_, finding)| finding);
    let mut first = placed.next().expect("a group has a finding");
    let locations = placed.filter_map(|finding| finding.location).collect();
    first.also = Some(Box::new(Also {
        template: template.to_path_buf(),
        locations,
    }));
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Tree;

    fn branches(files: &[(&str, &str)]) -> Branches {
        let mut branches = Branches::default();
        for (file, content) in files {
            let (branch, path) = file.rsplit_once(':').expect("branch:path");
            branches
                .trees
                .entry(branch.to_owned())
                .or_insert_with(Tree::new)
                .insert(path, *content);
        }
        branches
    }

    #[test]
    fn files_without_an_origin_keep_a_finding_each() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\nspec: {}\n";
        let branches = branches(&[("dev:a/ns.yaml", text), ("dev:b/ns.yaml", text)]);
        let (documents, _) = super::super::parse::parse_branches(&branches);
        let findings: Vec<Diagnostic> = ["dev/a/ns.yaml", "dev/b/ns.yaml"]
            .into_iter()
            .map(|file| {
                Diagnostic::error("schema", "v1 Namespace a: /spec: no")
                    .at(Location::new(file, 5, 1))
            })
            .collect();
        let folded = by_template(
            findings.clone(),
            &documents,
            &branches,
            &ValueCheck::default(),
        );
        assert_eq!(folded, findings);
    }

    #[test]
    fn a_finding_is_in_the_document_at_its_line_on_the_longest_branch() {
        let branches = branches(&[
            ("fleet:dev/x.yaml", "kind: A\n"),
            ("fleet/dev:x.yaml", "kind: B\n---\nkind: C\n---\nkind: D\n"),
        ]);
        let (documents, _) = super::super::parse::parse_branches(&branches);
        let files = ByFile::new(&documents);
        let names: Vec<&str> = branches.iter().map(|(branch, _)| branch).collect();
        let kind_at = |file: &str, line: usize| {
            document_at(&Location::new(file, line, 1), &files, &names)
                .and_then(Document::kind)
                .map(str::to_owned)
        };
        assert_eq!(kind_at("fleet/dev/x.yaml", 1).as_deref(), Some("B"));
        assert_eq!(kind_at("fleet/dev/x.yaml", 3).as_deref(), Some("C"));
        assert_eq!(kind_at("fleet/dev/x.yaml", 5).as_deref(), Some("D"));
        assert_eq!(kind_at("fleet/dev/y.yaml", 1), None);
        assert_eq!(kind_at("elsewhere/x.yaml", 1), None);
    }
}
