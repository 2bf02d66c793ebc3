//! Reading the rendered trees back: every YAML document of every branch parsed once, in
//! parallel, files alike read once, the value check and the schema check run while each
//! document's whole value is at hand.

use rayon::prelude::*;
use serde_json::Value;

use super::document::Document;
use super::kept::{Held, Kept};
use crate::diagnostic::{Diagnostic, Location};
use crate::render::documents;
use crate::render::is_yaml;
use crate::render::values::ValueCheck;
use crate::tree::{Branches, OWNED_LIST, Origin};

type FileResult<'t> = Result<(Vec<Document<'t>>, Vec<Diagnostic>, Option<Diagnostic>), Diagnostic>;

/// What parsing the rendered trees found.
#[derive(Debug, Default)]
pub struct Parsed<'t> {
    /// Every document, in branch, path and document order.
    pub documents: Vec<Document<'t>>,
    /// Files that are not valid YAML.
    pub syntax: Vec<Diagnostic>,
    /// What the value check found in rendered files (see [`ValueCheck`]), with the branch.
    pub values: Vec<(&'t str, &'t str, Diagnostic)>,
    /// What the per-document check found, in document order.
    pub findings: Vec<Diagnostic>,
}

/// Every YAML document of every file of `branches`, in branch and path order, plus the
/// findings for files that are not valid YAML.
pub fn parse_branches(branches: &Branches) -> (Vec<Document<'_>>, Vec<Diagnostic>) {
    let parsed = parse_and_check(branches, None, |_, _| Vec::new(), &|| {});
    (parsed.documents, parsed.syntax)
}

/// Whether a rendered file is read back: every YAML file but the ownership list.
fn read_back(path: &str) -> bool {
    is_yaml(path) && path != OWNED_LIST
}

/// Parses every YAML document of `branches` once, in parallel, runs the value check (when
/// given) on each file, hands `check` each document's whole value (to keep or consume), and
/// keeps of each what the later checks need. `tick` is called once per file, from any thread.
///
/// What `check` finds must follow from the document's bytes alone, up to the file it names:
/// of files with equal bytes, it sees one unless that one has findings.
pub fn parse_and_check<'t>(
    branches: &'t Branches,
    values: Option<&ValueCheck>,
    check: impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync,
    tick: &(dyn Fn() + Sync),
) -> Parsed<'t> {
    // The files, lazily: a list of them all would itself weigh on a large fleet.
    let files = || {
        branches
            .iter()
            .flat_map(|(branch, tree)| {
                tree.iter_with_origins()
                    .map(move |(path, content, origin)| (branch, path, content, origin))
            })
            .filter(|(_, path, _, _)| read_back(path))
    };
    // Every document's slot is reserved up front, from a count of separators that can only
    // overshoot (empty documents are dropped), and files are parsed a chunk at a time: the
    // list is then filled without ever being copied, and only two chunks' documents wait
    // beside it. Collecting every file's documents first held a large fleet's twice.
    let bound = branches
        .iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(_, tree)| {
            tree.iter()
                .filter(|(path, _)| read_back(path))
                .map(|(_, content)| documents::bound(content))
                .sum::<usize>()
        })
        .sum();
    let mut parsed = Parsed {
        documents: Vec::with_capacity(bound),
        ..Parsed::default()
    };
    let mut remaining = files();
    // A chunk's results join the list on this thread while the next chunk is parsed on the
    // others: joining is serial, and waiting for it left cores idle between chunks.
    let mut read: Option<ChunkRead<'t>> = None;
    loop {
        let chunk: Vec<FileAt<'t>> = remaining.by_ref().take(PARSE_CHUNK).collect();
        let done = read.take();
        let ((), next) = rayon::join(
            || {
                if let Some(done) = done {
                    done.join(&mut parsed);
                }
            },
            || read_chunk(chunk, values, &check, tick),
        );
        if next.chunk.is_empty() {
            break;
        }
        read = Some(next);
    }
    parsed
}

/// A chunk of files and what reading each gave.
struct ChunkRead<'t> {
    chunk: Vec<FileAt<'t>>,
    per_file: Vec<Option<FileResult<'t>>>,
}

/// Reads a chunk's files in parallel, files alike once.
fn read_chunk<'t>(
    chunk: Vec<FileAt<'t>>,
    values: Option<&ValueCheck>,
    check: &(impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync),
    tick: &(dyn Fn() + Sync),
) -> ChunkRead<'t> {
    // Files alike are read once: many clusters render a tenant's files to the same bytes.
    let groups = documents::same_content(chunk.iter().map(|(_, _, content, _)| *content));
    let mut per_file: Vec<Option<FileResult<'t>>> = Vec::new();
    per_file.resize_with(chunk.len(), || None);
    let read: Vec<Vec<(usize, FileResult<'t>)>> = groups
        .par_iter()
        .map(|group| read_alike(&chunk, group, values, check, tick))
        .collect();
    for (index, result) in read.into_iter().flatten() {
        per_file[index] = Some(result);
    }
    ChunkRead { chunk, per_file }
}

impl<'t> ChunkRead<'t> {
    /// Adds the chunk's documents and findings to `parsed`, in file order.
    fn join(self, parsed: &mut Parsed<'t>) {
        for (result, (branch, path, ..)) in self.per_file.into_iter().zip(&self.chunk) {
            match result.expect("every file of a chunk is in one group") {
                Ok((documents, findings, value_finding)) => {
                    parsed.documents.extend(documents);
                    parsed.findings.extend(findings);
                    parsed
                        .values
                        .extend(value_finding.map(|finding| (*branch, *path, finding)));
                }
                // A template that renders invalid YAML does so in every file it writes:
                // folded per template with the value check's findings.
                Err(diagnostic) if diagnostic.rule == crate::render::values::INVALID_OUTPUT => {
                    parsed.values.push((branch, path, diagnostic))
                }
                Err(diagnostic) => parsed.syntax.push(diagnostic),
            }
        }
    }
}

/// A rendered file: branch, path, content and origin.
type FileAt<'t> = (&'t str, &'t str, &'t [u8], Option<Origin>);

/// Reads the files of `group`, which hold equal bytes, from one parse: each gets its own
/// documents and value check (the values that filled it are its own). `check` runs on the
/// first; its findings depend on a document's bytes and differ only in the file they name, so
/// the others are checked, each from a parse of its own, only when the first has findings.
fn read_alike<'t>(
    chunk: &[FileAt<'t>],
    group: &[usize],
    values: Option<&ValueCheck>,
    check: &(impl Fn(&Document<'t>, Value) -> Vec<Diagnostic> + Sync),
    tick: &(dyn Fn() + Sync),
) -> Vec<(usize, FileResult<'t>)> {
    let (_, _, content, _) = chunk[group[0]];
    let read = match documents::parse_bytes(content) {
        Ok(read) => read,
        Err((line, message)) => {
            return group
                .iter()
                .map(|&index| {
                    let (branch, path, _, origin) = chunk[index];
                    let diagnostic = values
                        .and_then(|values| values.unreadable(path, origin, (line, &message)))
                        .unwrap_or_else(|| syntax_error(branch, path, line, message.clone()));
                    tick();
                    (index, Err(diagnostic))
                })
                .collect();
        }
    };
    let mut files: Vec<(usize, Vec<Document<'t>>, Option<Diagnostic>)> =
        Vec::with_capacity(group.len());
    for &index in group {
        let (branch, path, _, origin) = chunk[index];
        let value_finding = values.and_then(|values| values.file(branch, path, origin, &read));
        let documents = match files.first() {
            // The first file's documents, and their kept values, serve the others.
            Some((_, first, _)) => first
                .iter()
                .map(|document| document.alike(branch, path, origin))
                .collect(),
            None => read
                .iter()
                .map(|one| {
                    let mut document = Document::new(branch, path, origin, one);
                    document.keep_if_read_later(&one.value);
                    document
                })
                .collect(),
        };
        tick();
        files.push((index, documents, value_finding));
    }
    let mut findings = vec![checked(&files[0].1, read, check)];
    if !findings[0].is_empty() {
        for (index, documents, _) in &files[1..] {
            let (_, _, content, _) = chunk[*index];
            let again = documents::parse_bytes(content).unwrap_or_default();
            findings.push(checked(documents, again, check));
        }
    }
    findings.resize_with(files.len(), Vec::new);
    files
        .drain(..)
        .zip(findings)
        .map(|((index, documents, value_finding), findings)| {
            (index, Ok((documents, findings, value_finding)))
        })
        .collect()
}

/// `check`'s findings for each of a file's documents, handed their values.
fn checked<'t>(
    documents: &[Document<'t>],
    read: Vec<documents::Parsed<'t>>,
    check: &impl Fn(&Document<'t>, Value) -> Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    documents
        .iter()
        .zip(read)
        .flat_map(|(document, one)| check(document, one.value))
        .collect()
}

/// Files parsed in parallel before their documents join the list: enough to keep every
/// thread busy, few enough that a chunk's documents are small beside the list.
const PARSE_CHUNK: usize = 4096;

/// Splits a file at its `---` lines and parses each document, keeping every value. Empty
/// documents are dropped.
pub fn parse_file<'t>(
    branch: &'t str,
    path: &'t str,
    content: &'t [u8],
) -> Result<Vec<Document<'t>>, Diagnostic> {
    Ok(documents::parse_bytes(content)
        .map_err(|(line, message)| syntax_error(branch, path, line, message))?
        .into_iter()
        .map(|one| {
            let mut document = Document::new(branch, path, None, &one);
            document.value = Held::new(Kept::from(&one.value));
            document
        })
        .collect())
}

fn syntax_error(branch: &str, path: &str, line: Option<usize>, message: String) -> Diagnostic {
    let file = format!("{branch}/{path}");
    let diagnostic = Diagnostic::error("yaml-syntax", message);
    match line {
        Some(line) => diagnostic.at(Location::new(file, line, 1)),
        None => diagnostic.at_file(file),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::tree::Tree;

    #[test]
    fn files_across_many_chunks_are_read_in_order() {
        // Enough files for three chunks, some alike, one unreadable, on two branches.
        let mut trees = BTreeMap::new();
        for branch in ["a", "b"] {
            let mut tree = Tree::new();
            for index in 0..PARSE_CHUNK + 7 {
                let content = match index % 5 {
                    0 => "kind: Same\n---\nkind: Second\n".to_owned(),
                    _ if index == 4101 => "kind: [unclosed\n".to_owned(),
                    _ => format!("kind: K{index}\nmetadata: {{name: n{index}}}\n"),
                };
                tree.insert(format!("f{index:05}.yaml"), content);
            }
            trees.insert(branch.to_owned(), tree);
        }
        let branches = Branches { trees };
        let parsed = parse_and_check(
            &branches,
            None,
            |document, _| {
                (document.path == "f00003.yaml")
                    .then(|| Diagnostic::error("test", document.branch))
                    .into_iter()
                    .collect()
            },
            &|| {},
        );
        let expected: Vec<(&str, &str, usize)> = branches
            .iter()
            .flat_map(|(branch, tree)| tree.iter().map(move |(path, _)| (branch, path)))
            .filter(|(_, path)| *path != "f04101.yaml")
            .flat_map(|(branch, path)| {
                let count = if path[1..6].parse::<usize>().unwrap() % 5 == 0 {
                    2
                } else {
                    1
                };
                (0..count).map(move |index| (branch, path, index))
            })
            .collect();
        let found: Vec<(&str, &str, usize)> = parsed
            .documents
            .iter()
            .map(|document| (document.branch, document.path, document.index))
            .collect();
        assert_eq!(found, expected);
        let findings: Vec<&str> = parsed.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(findings, ["a", "b"]);
        assert_eq!(parsed.syntax.len(), 2);
    }

    #[test]
    fn files_alike_are_checked_once_unless_the_check_finds_something() {
        let mut branches = Branches::default();
        let mut tree = crate::tree::Tree::new();
        for path in ["a.yaml", "b.yaml", "c.yaml"] {
            tree.insert(path, "kind: Good\n---\nkind: Other\n");
        }
        for path in ["d.yaml", "e.yaml"] {
            tree.insert(path, "kind: Bad\n");
        }
        tree.insert("f.yaml", "kind: Bad # not alike\n");
        branches.trees.insert("main".to_owned(), tree);
        let checked = std::sync::Mutex::new(Vec::new());
        let parsed = parse_and_check(
            &branches,
            None,
            |document, value| {
                checked.lock().unwrap().push(document.path);
                match value.get("kind").and_then(Value::as_str) {
                    Some("Bad") => vec![Diagnostic::error("bad", "bad").at(document.location(""))],
                    _ => Vec::new(),
                }
            },
            &|| {},
        );
        // Every file has its own documents, in order.
        let files: Vec<(&str, &str)> = parsed
            .documents
            .iter()
            .map(|document| (document.path, document.kind().unwrap()))
            .collect();
        assert_eq!(
            files,
            [
                ("a.yaml", "Good"),
                ("a.yaml", "Other"),
                ("b.yaml", "Good"),
                ("b.yaml", "Other"),
                ("c.yaml", "Good"),
                ("c.yaml", "Other"),
                ("d.yaml", "Bad"),
                ("e.yaml", "Bad"),
                ("f.yaml", "Bad"),
            ]
        );
        // Files alike share their documents' kept values; others keep their own.
        let documents = &parsed.documents;
        assert_eq!(
            documents[0].value.get("kind").unwrap().as_str(),
            Some("Good")
        );
        for alike in [2, 4] {
            assert!(documents[0].value.is_shared_with(&documents[alike].value));
            assert!(
                documents[1]
                    .value
                    .is_shared_with(&documents[alike + 1].value)
            );
        }
        assert!(documents[6].value.is_shared_with(&documents[7].value));
        assert!(!documents[0].value.is_shared_with(&documents[1].value));
        assert!(!documents[7].value.is_shared_with(&documents[8].value));
        // A file alike to one the check passed is not checked again; one alike to a file with
        // findings is, and its findings name it.
        let mut checked = checked.into_inner().unwrap();
        checked.sort();
        assert_eq!(checked, ["a.yaml", "a.yaml", "d.yaml", "e.yaml", "f.yaml"]);
        let found: Vec<String> = parsed
            .findings
            .iter()
            .map(|finding| {
                finding
                    .location
                    .as_ref()
                    .unwrap()
                    .file
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(found, ["main/d.yaml", "main/e.yaml", "main/f.yaml"]);
    }

    #[test]
    fn syntax_errors_point_into_the_file() {
        let error = parse_file("dev", "x.yaml", b"a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(error.rule, "yaml-syntax");
        assert_eq!(
            error.location.unwrap().file,
            std::path::PathBuf::from("dev/x.yaml")
        );
    }
}
