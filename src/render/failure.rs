//! Template failures as people read them: at the blueprint file, line and column the mistake
//! is on (also inside an included file), once however many units it failed for, with the
//! units listed and an undefined variable named, with a suggestion when one is close. Two
//! blueprints writing one file are reported the same way: once per pair, at their targets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use minijinja::value::ValueKind;
use minijinja::{ErrorKind, Value};

use super::blueprint::Blueprint;
use crate::diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
use crate::plan::Unit;

/// How many names of one kind (clusters, tenants…) a message lists before "and N more".
pub(super) const NAMES_LISTED: usize = 5;

/// Every blueprint file by its template name, to point at the file a template error is in.
pub(super) struct Templates<'a> {
    by_name: HashMap<String, (PathBuf, &'a str)>,
}

impl<'a> Templates<'a> {
    pub fn new(blueprints: &'a [Blueprint]) -> Self {
        let by_name = blueprints
            .iter()
            .flat_map(|blueprint| {
                blueprint.files.iter().map(|(path, source)| {
                    (
                        super::template_name(blueprint, path),
                        (blueprint.file_location(path), source.as_str()),
                    )
                })
            })
            .collect();
        Self { by_name }
    }

    /// The blueprint file and source of the template minijinja names in `error` (an included
    /// file is not the one being rendered).
    fn source_of(&self, error: &minijinja::Error) -> Option<(&Path, &'a str)> {
        let (file, source) = self.by_name.get(error.name()?)?;
        Some((file.as_path(), source))
    }

    /// The file name of a template name, for messages that quote one.
    fn file_of(&self, name: &str) -> Option<&Path> {
        self.by_name.get(name).map(|(file, _)| file.as_path())
    }
}

/// A minijinja error as a diagnostic. `fallback` is where it is reported when minijinja does
/// not say which blueprint file failed (a `blueprint.yaml` field, or a file that did not
/// compile); `field` names the `blueprint.yaml` field a path or condition template came from.
/// With the unit's `context`, an undefined variable gets a suggestion from the names the
/// context has.
pub(super) fn template_diagnostic(
    error: &minijinja::Error,
    templates: &Templates<'_>,
    fallback: Location,
    field: Option<&str>,
    context: Option<&Value>,
) -> Diagnostic {
    let found = match field {
        Some(_) => None,
        None => templates.source_of(error),
    };
    let span = found.and_then(|(_, source)| {
        let range = error.range()?;
        Some((source, range.start, source.get(range)?))
    });
    let span_text = span.map_or("", |(_, _, text)| text);
    let undefined = undefined_expression(error, span_text);
    let location = match (found, span) {
        (Some((file, _)), Some((source, start, _))) => {
            // minijinja's span may start inside the expression (at `.b` of `a.b`); the
            // column of the whole expression is where a person looks.
            let start = undefined
                .as_ref()
                .and_then(|undefined| expression_start(source, start, &undefined.expression))
                .unwrap_or(start);
            let (line, column) = position(source, start);
            Location::new(file, line, column)
        }
        (Some((file, _)), None) => Location::new(file, error.line().unwrap_or(1), 1),
        (None, _) if field.is_some() => fallback,
        (None, _) => Location::new(fallback.file, error.line().unwrap_or(fallback.line), 1),
    };
    let mut hint = None;
    if let (Some(undefined), Some(context)) = (&undefined, context) {
        hint = suggestion(&undefined.expression, context);
    }
    let too_large = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<super::unit::OutputTooLarge>());
    let mut message = match (error.kind(), undefined, too_large) {
        (ErrorKind::WriteFailure, _, Some(too_large)) => too_large.to_string(),
        (ErrorKind::OutOfFuel, _, _) => {
            "it takes too many steps to render: a loop that does not end, or far more work than a manifest needs"
                .to_owned()
        }
        (ErrorKind::UndefinedError, Some(undefined), _) => {
            let from = undefined
                .from
                .map(|from| format!(" (from {})", from_in_files(&from, templates)))
                .unwrap_or_default();
            format!("undefined value `{}`{from}", undefined.expression)
        }
        (kind, _, _) => match error.detail() {
            Some(detail) => format!("{kind}: {detail}"),
            None => kind.to_string(),
        },
    };
    if let Some(field) = field {
        message = format!("in `{field}`: {message}");
    }
    let diagnostic = Diagnostic::error("template", message).at(location);
    match hint {
        Some(hint) => diagnostic.with_hint(hint),
        None => diagnostic,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Where `expression` starts on the line of `offset`: its last occurrence before `offset`
/// (the span of a filter applied to it starts after it), else its first one on the line.
fn expression_start(source: &str, offset: usize, expression: &str) -> Option<usize> {
    let line_start = source[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |at| offset + at);
    let starts: Vec<usize> = source[line_start..line_end]
        .match_indices(expression)
        .map(|(start, _)| line_start + start)
        .collect();
    starts
        .iter()
        .rev()
        .find(|start| **start <= offset)
        .or(starts.first())
        .copied()
}

struct Undefined {
    expression: String,
    /// Where the value was made undefined, when that is not where it was used.
    from: Option<String>,
}

/// The undefined expression: from minijinja's detail (`` `a.b` is undefined``, possibly with
/// `, from line 3`), else the failing span's text when it is short.
fn undefined_expression(error: &minijinja::Error, span_text: &str) -> Option<Undefined> {
    const IS_UNDEFINED: &str = "` is undefined";
    if let Some(detail) = error.detail() {
        // `a` is undefined, `a` is undefined (from L), D (`a` is undefined[, from L])
        let end = detail.rfind(IS_UNDEFINED)?;
        let start = detail[..end].rfind('`')? + 1;
        let rest = &detail[end + IS_UNDEFINED.len()..];
        let from = rest
            .strip_prefix(" (from ")
            .or_else(|| rest.strip_prefix(", from "))
            .map(|from| from.trim_end_matches(')').to_owned());
        return Some(Undefined {
            expression: detail[start..end].to_owned(),
            from,
        });
    }
    if error.kind() != ErrorKind::UndefinedError {
        return None;
    }
    let text = span_text.trim();
    (!text.is_empty() && text.len() <= 80 && !text.contains('\n')).then(|| Undefined {
        expression: text.to_owned(),
        from: None,
    })
}

/// `name:line` of a template name as the blueprint file it is; `line N` as it is.
fn from_in_files(from: &str, templates: &Templates<'_>) -> String {
    match from.rsplit_once(':') {
        Some((name, line)) => match templates.file_of(name) {
            Some(file) => format!("{}:{line}", file.display()),
            None => from.to_owned(),
        },
        None => from.to_owned(),
    }
}

/// For `a.b.c` with `a.b` a map without `c`: the close name it has, or the names it has.
fn suggestion(expression: &str, context: &Value) -> Option<String> {
    let parts: Vec<&str> = expression.split('.').collect();
    let identifier = |part: &&str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !parts.iter().all(identifier) {
        return None;
    }
    let mut value = context.clone();
    for (depth, part) in parts.iter().enumerate() {
        if value.kind() != ValueKind::Map {
            return None;
        }
        let next = value
            .get_attr(part)
            .ok()
            .filter(|next| !next.is_undefined());
        let Some(next) = next else {
            let names: Vec<String> = value
                .try_iter()
                .ok()?
                .filter_map(|key| key.as_str().map(str::to_owned))
                .collect();
            let parent = parts[..depth].join(".");
            let prefix = if parent.is_empty() {
                String::new()
            } else {
                format!("{parent}.")
            };
            if let Some(close) = did_you_mean(part, names.iter().map(String::as_str)) {
                return Some(format!("did you mean `{prefix}{close}`?"));
            }
            if parent == "cluster.values" {
                return Some(
                    "`cluster.values` holds the fleet's keys: declare a new one under `keys:` in fleet/fleet.yaml (`fleetgen keys` lists them)"
                        .to_owned(),
                );
            }
            let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
            names.sort_by(|a, b| crate::view::natural::cmp(a, b));
            let what = if parent.is_empty() {
                "the context of this unit has".to_owned()
            } else {
                format!("`{parent}` has")
            };
            return Some(format!("{what} {}", listed(&names, names.len().min(8))));
        };
        value = next;
    }
    None
}

/// One finding per place and problem, listing the units it failed for: a mistake in a
/// template fails for every unit the template renders for, and a line per unit would bury
/// everything else.
pub(super) fn group_by_place<'u>(failures: Vec<(Diagnostic, &'u Unit)>) -> Diagnostics {
    // Found by hash: a mistake can fail every one of a large fleet's units, each with its
    // own message (a path it renders to), and a scan per failure was quadratic in them.
    let mut groups: Vec<(Diagnostic, Vec<&'u Unit>)> = Vec::new();
    let mut seen: std::collections::HashMap<Diagnostic, usize> = std::collections::HashMap::new();
    for (diagnostic, unit) in failures {
        match seen.get(&diagnostic) {
            Some(&at) => groups[at].1.push(unit),
            None => {
                seen.insert(diagnostic.clone(), groups.len());
                groups.push((diagnostic, vec![unit]));
            }
        }
    }
    let mut diagnostics: Diagnostics = groups
        .into_iter()
        .map(|(mut diagnostic, units)| {
            diagnostic.message = format!("{} ({})", diagnostic.message, units_phrase(&units));
            diagnostic
        })
        .collect();
    diagnostics.sort();
    diagnostics
}

/// A file one blueprint renders for a unit after another blueprint rendered it on the same
/// branch.
pub(super) struct Conflict<'a> {
    pub blueprint: &'a Blueprint,
    /// The name of the blueprint that rendered the path first.
    pub first: String,
    pub branch: String,
    pub path: String,
    pub unit: &'a Unit,
}

/// One finding per pair of blueprints, at the target of the one that came second: their
/// targets collide for every unit both render for, and a finding per unit and branch
/// repeated one mistake dozens of times.
pub(super) fn group_conflicts(
    conflicts: Vec<Conflict<'_>>,
    blueprints: &[Blueprint],
) -> Diagnostics {
    type Group<'a> = (&'a Blueprint, Vec<(String, String)>, Vec<&'a Unit>);
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for conflict in conflicts {
        let key = (conflict.first, conflict.blueprint.name.clone());
        let (_, files, units) = groups
            .entry(key)
            .or_insert_with(|| (conflict.blueprint, Vec::new(), Vec::new()));
        files.push((conflict.path, conflict.branch));
        units.push(conflict.unit);
    }
    let mut diagnostics: Diagnostics = groups
        .into_iter()
        .map(|((first, second), (blueprint, mut files, units))| {
            files.sort_by(|a, b| {
                crate::view::natural::cmp(&a.0, &b.0)
                    .then_with(|| crate::view::natural::cmp(&a.1, &b.1))
            });
            files.dedup();
            let (path, branch) = &files[0];
            let units = units_phrase(&units);
            if first == second {
                // Two of its own file names render alike for some unit.
                let what = match files.len() {
                    1 => format!("{path} on branch {branch}"),
                    count => format!("{count} files, such as {path} on branch {branch},"),
                };
                return Diagnostic::error(
                    "path-conflict",
                    format!("blueprint {first} renders {what} twice ({units})"),
                )
                .at(blueprint.field_location("target"))
                .with_hint(format!(
                    "two files under {} render to one name; rename one of them",
                    blueprint.location.join(super::blueprint::FILES_DIR).display()
                ));
            }
            let what = match files.len() {
                1 => format!("{path} on branch {branch}"),
                count => format!("the same {count} files, such as {path} on branch {branch}"),
            };
            let first_target = blueprints
                .iter()
                .find(|blueprint| blueprint.name == first)
                .map(|blueprint| {
                    format!(
                        "{first} sets its target at {}; ",
                        blueprint.field_location("target")
                    )
                })
                .unwrap_or_default();
            Diagnostic::error(
                "path-conflict",
                format!("blueprints {first} and {second} both render {what} ({units})"),
            )
            .at(blueprint.field_location("target"))
            .with_hint(format!(
                "{first_target}give one of them another target, or name the fleet's blueprint like the default it replaces"
            ))
        })
        .collect();
    diagnostics.sort();
    diagnostics
}

/// `for app api of tenant yakuza on clusters a, b and 3 more in environments dev and qa`.
pub(super) fn units_phrase(units: &[&Unit]) -> String {
    let names = |name: &dyn Fn(&Unit) -> Option<&str>| -> Vec<&str> {
        let distinct: BTreeSet<&str> = units.iter().filter_map(|unit| name(unit)).collect();
        let mut names: Vec<&str> = distinct.into_iter().collect();
        names.sort_by(|a, b| crate::view::natural::cmp(a, b));
        names
    };
    let apps = names(&|unit| unit.context.app.as_ref().map(|app| app.name.as_str()));
    let tenants = names(&|unit| unit.context.tenant.as_ref().map(|t| t.name.as_str()));
    let clusters = names(&|unit| Some(unit.context.cluster.name.as_str()));
    let envs = names(&|unit| unit.context.env.as_ref().map(|env| env.name.as_str()));
    let mut phrase = String::from("for");
    for (names, one, many, joiner) in [
        (&apps, "app", "apps", ""),
        (&tenants, "tenant", "tenants", " of"),
        (&clusters, "cluster", "clusters", " on"),
        (&envs, "environment", "environments", " in"),
    ] {
        if names.is_empty() {
            continue;
        }
        if phrase != "for" {
            phrase.push_str(joiner);
        }
        let noun = if names.len() == 1 { one } else { many };
        phrase.push_str(&format!(" {noun} {}", listed(names, NAMES_LISTED)));
    }
    phrase
}

/// `a`, `a and b`, `a, b and c`, `a, b, c and 7 more`.
pub(super) fn listed(names: &[&str], limit: usize) -> String {
    let limit = limit.max(1);
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        _ if names.len() <= limit => format!(
            "{} and {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
        _ => format!(
            "{} and {} more",
            names[..limit].join(", "),
            names.len() - limit
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_folded_in_natural_order() {
        let names: Vec<String> = (1..=40).rev().map(|n| format!("edge-{n}")).collect();
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        names.sort_by(|a, b| crate::view::natural::cmp(a, b));
        assert_eq!(
            listed(&names, NAMES_LISTED),
            "edge-1, edge-2, edge-3, edge-4, edge-5 and 35 more"
        );
        assert_eq!(listed(&names[..2], NAMES_LISTED), "edge-1 and edge-2");
        assert_eq!(listed(&names[..1], NAMES_LISTED), "edge-1");
    }

    #[test]
    fn undefined_names_get_the_closest_name_the_context_has() {
        let context = minijinja::context! {
            cluster => minijinja::context! {
                name => "a",
                values => minijinja::context! { POD_CIDR => "10.0.0.0/16", REDIS_PORT => 1 },
            },
        };
        assert_eq!(
            suggestion("cluster.values.REDIS_PROT", &context).as_deref(),
            Some("did you mean `cluster.values.REDIS_PORT`?")
        );
        assert_eq!(
            suggestion("clutser.name", &context).as_deref(),
            Some("did you mean `cluster`?")
        );
        assert!(
            suggestion("cluster.values.NOPE_NOT_CLOSE", &context)
                .unwrap()
                .contains("`keys:` in fleet/fleet.yaml")
        );
        assert_eq!(
            suggestion("cluster.zzz", &context).as_deref(),
            Some("`cluster` has name and values")
        );
        assert_eq!(suggestion("cluster.values[0]", &context), None);
    }
}
