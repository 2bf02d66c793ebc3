//! The value check: every rendered YAML file is read back before anything is shown, written or
//! committed, `--no-validate` or not. A value from the fleet source must never add a key or a
//! document to a file ([`shape`](super::shape)), and no Secret may carry `data` in plain text.
//!
//! Rendering records where each file came from (its template and the values that filled it)
//! as the file's [`Origin`]; the check reads the file back once, after rendering. It runs on
//! its own ([`check`]) or inside validation's one parse of every file ([`ValueCheck::file`]),
//! so a validated render parses each file once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use super::documents::{self, Parsed};
use super::is_yaml;
use super::shape::Shape;
use crate::diagnostic::{Also, Diagnostic, Diagnostics, Location};
use crate::error::{Error, Result};
use crate::plan::{Unit, ValueSource};
use crate::progress::Progress;
use crate::tree::{Branches, Origin};

/// The rule of a rendered file that does not read as YAML.
pub const INVALID_OUTPUT: &str = "invalid-output";

/// The values a unit renders with: indices of its cluster's and its tenant's.
type ValueSet = (usize, Option<usize>);

/// What the check needs to know of each rendered file's origin: the template's shape and
/// place, and the fleet values that filled it.
#[derive(Debug, Clone, Default)]
pub struct ValueCheck {
    /// Per template file of every blueprint: the shape its source declares and its place.
    templates: Vec<(Shape, PathBuf)>,
    /// Per set of values a unit renders with: its cluster's and its tenant's values.
    sets: Vec<ValueSet>,
    clusters: Vec<Vec<ValueSource>>,
    tenants: Vec<Vec<ValueSource>>,
}

impl ValueCheck {
    /// Adds a template file; the index names it in [`ValueCheck::origin`].
    pub(super) fn add_template(&mut self, shape: Shape, place: PathBuf) -> u32 {
        self.templates.push((shape, place));
        u32::try_from(self.templates.len() - 1).expect("fewer than 2^32 template files")
    }

    /// The index of each unit's set of values, in unit order. Units of one cluster and tenant
    /// share a set, so the values are kept once however many units there are.
    pub(super) fn add_units(&mut self, units: &[Unit]) -> Vec<u32> {
        let mut clusters = foldhash::HashMap::default();
        let mut tenants = foldhash::HashMap::default();
        let mut sets = foldhash::HashMap::default();
        units
            .iter()
            .map(|unit| {
                let cluster = *clusters
                    .entry(Arc::as_ptr(&unit.context.cluster))
                    .or_insert_with(|| {
                        self.clusters.push(unit.context.cluster.sources.clone());
                        self.clusters.len() - 1
                    });
                let tenant = unit.context.tenant.as_ref().map(|tenant| {
                    *tenants.entry(Arc::as_ptr(tenant)).or_insert_with(|| {
                        self.tenants.push(tenant.sources.clone());
                        self.tenants.len() - 1
                    })
                });
                let set = *sets.entry((cluster, tenant)).or_insert_with(|| {
                    self.sets.push((cluster, tenant));
                    self.sets.len() - 1
                });
                u32::try_from(set).expect("fewer than 2^32 units")
            })
            .collect()
    }

    /// The template a file with `origin` was rendered from, by its number.
    pub(super) fn template_number(origin: Origin) -> usize {
        usize::try_from(origin.get() >> 32).expect("a template number fits")
    }

    /// The origin of a file rendered from `template` with the values of `set`.
    pub(super) fn origin(template: u32, set: u32) -> Origin {
        Origin::new((u64::from(template) << 32) | (u64::from(set) + 1))
            .expect("never zero: the set is counted from one")
    }

    /// The blueprint file a file with `origin` was rendered from
    /// (`blueprints/<name>/files/<path>`), to name it in findings about the rendered file.
    pub fn template(&self, origin: Origin) -> Option<&Path> {
        self.decode(origin).map(|((_, place), _)| place.as_path())
    }

    fn decode(&self, origin: Origin) -> Option<(&(Shape, PathBuf), ValueSet)> {
        let template = Self::template_number(origin);
        let set = usize::try_from(origin.get() & u64::from(u32::MAX))
            .ok()?
            .checked_sub(1)?;
        Some((self.templates.get(template)?, *self.sets.get(set)?))
    }

    /// What is wrong with the documents of rendered file `path` of `branch`, read back: a
    /// value that adds a key or a document to its template's output, a plain-text Secret.
    /// Files without an origin (computed kustomizations, trees read from disk) are checked
    /// for plain-text Secrets only.
    pub fn file(
        &self,
        branch: &str,
        path: &str,
        origin: Option<Origin>,
        documents: &[Parsed<'_>],
    ) -> Option<Diagnostic> {
        let known = origin.and_then(|origin| self.decode(origin));
        if let Some(((shape, place), (cluster, tenant))) = known {
            let sources = self.clusters[cluster]
                .iter()
                .chain(tenant.into_iter().flat_map(|tenant| &self.tenants[tenant]));
            let values = documents.iter().map(|document| &document.value);
            if let Some((problem, value)) = shape.violation(values, sources) {
                let from = match value {
                    Some(value) => format!(" (from the value at {})", value.location),
                    None => String::new(),
                };
                return Some(
                    Diagnostic::error("value-shape", format!("{path} {problem}{from}"))
                        .at_file(place),
                );
            }
        }
        documents.iter().find_map(|document| {
            let field = plaintext_field(&document.value)?;
            let name = document
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str);
            Some(match known {
                Some(((_, place), _)) => {
                    plaintext_finding(path, name, field, Location::file(place))
                }
                None => {
                    let file = format!("{branch}/{path}");
                    let at = Location::new(&file, document.first_line, 1);
                    plaintext_finding(&file, name, field, at)
                }
            })
        })
    }

    /// The finding for a rendered file that is not YAML at all: at its template, when it has
    /// one, since the template wrote it.
    pub fn unreadable(
        &self,
        path: &str,
        origin: Option<Origin>,
        (line, message): (Option<usize>, &str),
    ) -> Option<Diagnostic> {
        let ((_, place), _) = self.decode(origin?)?;
        let line = line
            .map(|line| format!(" at its line {line}"))
            .unwrap_or_default();
        Some(
            Diagnostic::error(
                INVALID_OUTPUT,
                format!("renders invalid YAML for {path}{line}: {message}"),
            )
            .at_file(place),
        )
    }
}

/// Reads back every rendered YAML file with an origin and runs the value check on it: what
/// every command that does not validate runs after rendering. Validation runs the same check
/// in its own parse (see [`ValueCheck::file`]).
pub fn check(branches: &Branches, values: &ValueCheck, progress: &dyn Progress) -> Result<()> {
    let files: Vec<(&str, &str, &[u8], Origin)> = branches
        .iter()
        .flat_map(|(branch, tree)| {
            tree.iter_with_origins()
                .filter_map(move |(path, content, origin)| Some((branch, path, content, origin?)))
        })
        .filter(|(_, path, _, _)| is_yaml(path))
        .collect();
    progress.start("checking values", files.len() as u64);
    // Files alike are read once: many clusters render a tenant's files to the same bytes.
    let groups = documents::same_content(files.iter().map(|(_, _, content, _)| *content));
    let findings: Vec<(&str, &str, Diagnostic)> = groups
        .par_iter()
        .flat_map_iter(|group| {
            let (_, _, content, _) = files[group[0]];
            let parsed = documents::parse_bytes(content);
            let findings: Vec<_> = group
                .iter()
                .filter_map(|&index| {
                    let (branch, path, _, origin) = files[index];
                    let finding = match &parsed {
                        Ok(documents) => values.file(branch, path, Some(origin), documents),
                        Err((line, message)) => {
                            values.unreadable(path, Some(origin), (*line, message))
                        }
                    };
                    progress.advance(1);
                    finding.map(|finding| (branch, path, finding))
                })
                .collect();
            findings
        })
        .collect();
    progress.finish();
    if findings.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(fold(findings)))
}

/// One finding per template and problem: at its first file in natural order, naming the
/// branches that file was found on, with every other file listed in [`Also`]. A value a
/// cluster's file gets wrong is wrong on each environment's branch alike, and a fleet-wide
/// value can break a template in every file it renders. A finding names its file in its
/// message; findings that differ only there are one.
pub fn fold<'b>(findings: impl IntoIterator<Item = (&'b str, &'b str, Diagnostic)>) -> Diagnostics {
    type Member<'b> = (&'b str, &'b str, Diagnostic);
    // Found by hash: a value wrong in every file of a large fleet makes as many findings.
    let mut groups: Vec<Vec<Member<'b>>> = Vec::new();
    let mut seen: HashMap<Diagnostic, usize> = HashMap::new();
    for (branch, path, finding) in findings {
        let mut key = finding.clone();
        key.message = key.message.replacen(path, "\0", 1);
        match seen.get(&key) {
            Some(&at) => groups[at].push((branch, path, finding)),
            None => {
                seen.insert(key, groups.len());
                groups.push(vec![(branch, path, finding)]);
            }
        }
    }
    let mut diagnostics: Diagnostics = groups
        .into_iter()
        .map(|mut members| {
            members.sort_by(|a, b| {
                crate::view::natural::cmp(a.1, b.1)
                    .then_with(|| crate::view::natural::cmp(a.0, b.0))
            });
            let first_path = members[0].1;
            let mut branches: Vec<&str> = members
                .iter()
                .filter(|(_, path, _)| *path == first_path)
                .map(|(branch, ..)| *branch)
                .collect();
            branches.dedup();
            let others: Vec<Location> = members
                .iter()
                .filter(|(_, path, _)| *path != first_path)
                .map(|(branch, path, _)| Location::file(format!("{branch}/{path}")))
                .collect();
            let (_, _, mut diagnostic) = members.swap_remove(0);
            let noun = if branches.len() == 1 {
                "branch"
            } else {
                "branches"
            };
            let listed = super::failure::listed(&branches, super::failure::NAMES_LISTED);
            diagnostic.message = format!("{} (on {noun} {listed})", diagnostic.message);
            if let (false, Some(template)) = (
                others.is_empty(),
                diagnostic.location.as_ref().map(|at| at.file.clone()),
            ) {
                diagnostic.also = Some(Box::new(Also {
                    template,
                    locations: others,
                }));
            }
            diagnostic
        })
        .collect();
    diagnostics.sort();
    diagnostics
}

const PLAINTEXT_RULE: &str = "plaintext-secret";
const PLAINTEXT_HINT: &str = "encrypt the Secret with SOPS (Flux decrypts it), or have the operator create it on the cluster; `fleetgen secrets` lists the ones the fleet needs";

/// Secrets never enter the tree: a rendered `Secret` that carries `data` or `stringData` must
/// be SOPS-encrypted (SOPS adds a top-level `sops:` key to the documents it encrypts, and
/// kustomize-controller decrypts them). Anything else would put credentials into Git, where
/// everyone who can read the fleet repo reads them, for good.
///
/// The field of a plain-text Secret (`data` or `stringData`), or `None` for any other
/// document.
pub fn plaintext_field(document: &Value) -> Option<&'static str> {
    let field = |name: &str| document.get(name);
    let is_secret = field("kind").and_then(Value::as_str) == Some("Secret")
        && field("apiVersion").and_then(Value::as_str) == Some("v1");
    if !is_secret || field("sops").is_some() {
        return None;
    }
    ["stringData", "data"].into_iter().find(|name| {
        field(name).is_some_and(|value| match value {
            Value::Null => false,
            Value::Object(entries) => !entries.is_empty() && !entries.values().all(is_substituted),
            _ => true,
        })
    })
}

/// A value that is nothing but one Flux post-build variable (`${name}`) holds no secret text:
/// the credential stays in a Secret on the cluster (`postBuild.substituteFrom`) and meets the
/// template only when kustomize-controller applies it. A value with anything else in it, even
/// beside a variable, counts as plain text. (A credential written into a Kustomization's inline
/// `postBuild.substitute` would be in the repo whatever this check says; fleetgen's blueprints
/// never do that.)
fn is_substituted(value: &Value) -> bool {
    let Some(name) = value
        .as_str()
        .and_then(|text| text.strip_prefix("${"))
        .and_then(|text| text.strip_suffix('}'))
    else {
        return false;
    };
    // Flux's variable names: `^[_[:alpha:]][_[:alpha:][:digit:]]*$`.
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|rest| rest == '_' || rest.is_ascii_alphanumeric())
}

/// The finding for a plain-text Secret in rendered file `file`.
fn plaintext_finding(
    file: &str,
    name: Option<&str>,
    field: &str,
    location: Location,
) -> Diagnostic {
    Diagnostic::error(
        PLAINTEXT_RULE,
        format!(
            "Secret {} in {file} carries `{field}` in plain text",
            name.unwrap_or("(unnamed)")
        ),
    )
    .at(location)
    .with_hint(PLAINTEXT_HINT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_fold_per_template_and_problem_naming_branches_and_files_in_natural_order() {
        let finding = |path: &str, template: &str| {
            Diagnostic::error("value-shape", format!("{path} renders 2 documents"))
                .at_file(format!("blueprints/{template}/files/x.yaml"))
        };
        let folded = fold([
            ("e10", "c10/x.yaml", finding("c10/x.yaml", "b")),
            ("e10", "c2/x.yaml", finding("c2/x.yaml", "b")),
            ("e2", "c2/x.yaml", finding("c2/x.yaml", "b")),
            ("e2", "c3/x.yaml", finding("c3/x.yaml", "b")),
            ("e2", "c2/x.yaml", finding("c2/x.yaml", "other")),
        ]);
        let shown: Vec<String> = folded.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "blueprints/b/files/x.yaml:1:1: error: c2/x.yaml renders 2 documents (on branches e2 and e10) [value-shape]\n  note: also in 2 more files rendered from blueprints/b/files/x.yaml (e2/c3/x.yaml and e10/c10/x.yaml)",
                "blueprints/other/files/x.yaml:1:1: error: c2/x.yaml renders 2 documents (on branch e2) [value-shape]",
            ]
        );
        // As many findings as a large fleet has files: grouped by hash, not by a scan of the
        // groups per finding.
        let paths: Vec<String> = (0..50_000).map(|index| format!("f{index}.yaml")).collect();
        let many = paths
            .iter()
            .map(|path| ("main", path.as_str(), finding(path, "b")));
        let folded = fold(many);
        assert_eq!(folded.iter().count(), 1);
        let also = folded.iter().next().unwrap().also.as_ref().unwrap();
        assert_eq!(also.locations.len(), 49_999);
    }

    fn field(text: &str) -> Option<&'static str> {
        plaintext_field(&super::super::documents::parse(text).unwrap())
    }

    #[test]
    fn plain_secrets_are_found_and_sops_ones_pass() {
        let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
        assert_eq!(
            field(&format!("{secret}stringData: {{token: x}}\n")),
            Some("stringData")
        );
        assert_eq!(
            field(&format!("{secret}data: {{token: eA==}}\n")),
            Some("data")
        );
        assert_eq!(
            field(&format!(
                "{secret}data: {{token: 'ENC[AES256_GCM,data:x]'}}\nsops: {{version: 3.9.0}}\n"
            )),
            None
        );
        assert_eq!(field(&format!("{secret}type: Opaque\n")), None);
        // Post-build variables alone carry no credential; anything beside them does.
        assert_eq!(
            field(&format!(
                "{secret}data: {{identity: '${{identity}}', known_hosts: '${{_hosts2}}'}}\n"
            )),
            None
        );
        for value in [
            "'${identity}x'",
            "'x${identity}'",
            "'${identity}${other}'",
            "'${2x}'",
            "'${}'",
            "'${a:=secret}'",
            "'$identity'",
        ] {
            assert_eq!(
                field(&format!(
                    "{secret}data: {{identity: '${{a}}', key: {value}}}\n"
                )),
                Some("data"),
                "{value}"
            );
        }
        assert_eq!(field(&format!("{secret}data: {{}}\n")), None);
        assert_eq!(
            field("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"),
            None
        );
    }
}
