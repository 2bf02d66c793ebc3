//! The objects Flux applies for each environment, cluster by cluster, compared with the
//! source environment's names read as the target's: an object that moved to another file or
//! another place in one is the same object; one that differs shows the fields that do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::names::Abstraction;
use super::{fields, natural};
use crate::error::Result;
use crate::model::{Environment, Fleet};
use crate::render::Rendered;
use crate::sinks::summary::plural;
use crate::validate::{self, document, graph};

/// Lines of the objects section after its heading (clusters, objects, fields and the counts of
/// what is left out), whatever the number of objects.
pub const LINES: usize = 30;
/// Fields listed per changed object before the rest are counted.
const FIELDS: usize = 4;

/// An object as Flux applies it to one cluster: cluster, apiVersion, kind, namespace, name.
type Key = (String, String, String, String, String);

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Sign {
    Gained,
    Changed,
    Lost,
}

/// One object that differs on a cluster: how, `Kind namespace/name`, and the fields that differ.
#[derive(Debug)]
struct Difference {
    sign: Sign,
    object: String,
    fields: Vec<String>,
}

impl Sign {
    fn mark(self) -> char {
        match self {
            Sign::Gained => '+',
            Sign::Changed => '~',
            Sign::Lost => '-',
        }
    }
}

/// Appends the comparison of the objects `to` and `from` get, `from`'s read through `names`.
pub(super) fn section(
    out: &mut String,
    fleet: &Fleet,
    rendered: &Rendered,
    to: &Environment,
    from: &Environment,
    names: &Abstraction,
) -> Result<()> {
    let (schemas, _) = validate::load_schemas(fleet, Some(rendered))?;
    let (documents, _) = document::parse_branches(&rendered.branches);
    let simulation = graph::simulate(fleet, rendered, &documents, &schemas);
    let ours = applied(fleet, rendered, &simulation, to, None);
    let theirs = applied(fleet, rendered, &simulation, from, Some(names));

    let mut clusters: BTreeMap<&str, Vec<Difference>> = BTreeMap::new();
    let mut counts = [0usize; 3];
    for (key, theirs) in &theirs {
        let (sign, fields) = match ours.get(key) {
            None => (Sign::Gained, Vec::new()),
            Some(ours) if ours != theirs => (Sign::Changed, fields::differences(ours, theirs)),
            Some(_) => continue,
        };
        counts[sign as usize] += 1;
        clusters.entry(&key.0).or_default().push(Difference {
            sign,
            object: describe(key),
            fields,
        });
    }
    for key in ours.keys().filter(|key| !theirs.contains_key(*key)) {
        counts[Sign::Lost as usize] += 1;
        clusters.entry(&key.0).or_default().push(Difference {
            sign: Sign::Lost,
            object: describe(key),
            fields: Vec::new(),
        });
    }
    let [gained, changed, lost] = counts;
    let _ = write!(out, "  objects ({} read as {}): ", from.name, to.name);
    if gained + changed + lost == 0 {
        let _ = writeln!(out, "the same");
        return Ok(());
    }
    let _ = writeln!(out, "{gained} added, {changed} changed, {lost} removed");

    for line in listing(clusters) {
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}

/// The differences cluster by cluster, in natural order, in at most [`LINES`] lines: what does
/// not fit is counted in the last.
fn listing(clusters: BTreeMap<&str, Vec<Difference>>) -> Vec<String> {
    let mut clusters: Vec<(&str, Vec<Difference>)> = clusters.into_iter().collect();
    natural::sort(&mut clusters, |(cluster, _)| cluster);
    // One line is kept for the count of what does not fit.
    let budget = LINES - 1;
    let mut lines = Vec::new();
    let mut left_out = 0;
    for (cluster, mut objects) in clusters {
        objects.sort_by(|a, b| natural::cmp(&a.object, &b.object).then(a.sign.cmp(&b.sign)));
        // A cluster is listed only with at least its first object.
        if budget - lines.len() < 2 {
            left_out += objects.len();
            continue;
        }
        lines.push(format!("    {cluster}:"));
        for Difference {
            sign,
            object,
            fields,
        } in objects
        {
            let Some(room) = (budget - lines.len()).checked_sub(1) else {
                left_out += 1;
                continue;
            };
            lines.push(format!("      {} {object}", sign.mark()));
            let shown = if fields.len() <= FIELDS.min(room) {
                fields.len()
            } else {
                FIELDS.min(room.saturating_sub(1))
            };
            for field in &fields[..shown] {
                lines.push(format!("          {field}"));
            }
            let rest = fields.len() - shown;
            if rest > 0 && lines.len() < budget {
                lines.push(format!("          … and {rest} more field{}", plural(rest)));
            }
        }
    }
    if left_out > 0 {
        lines.push(format!(
            "    … and {left_out} more object{}",
            plural(left_out)
        ));
    }
    lines
}

/// `Kind namespace/name`, or `Kind name` for an object without a namespace.
fn describe((_, _, kind, namespace, name): &Key) -> String {
    match namespace.as_str() {
        "" => format!("{kind} {name}"),
        namespace => format!("{kind} {namespace}/{name}"),
    }
}

/// The objects `env` gets on each cluster — from its branch, and its entry points on the main
/// branch — with the namespace their build gives them, read through `names` when given.
fn applied(
    fleet: &Fleet,
    rendered: &Rendered,
    simulation: &graph::Simulation<'_>,
    env: &Environment,
    names: Option<&Abstraction>,
) -> BTreeMap<Key, Value> {
    let main = fleet.repo.main_branch.as_str();
    let entry_points = rendered.environment_files.get(&env.name);
    let mut objects = BTreeMap::new();
    for (cluster, applied) in &simulation.clusters {
        for object in applied.iter().map(|applied| &applied.object) {
            let document = object.document;
            let belongs = document.branch == env.branch
                || (document.branch == main
                    && entry_points.is_some_and(|paths| paths.contains(document.path)));
            if !belongs {
                continue;
            }
            let mut value = document.full_value().into_owned();
            if let (Some(namespace), Some(metadata)) = (
                &object.namespace,
                value.get_mut("metadata").and_then(Value::as_object_mut),
            ) {
                metadata.insert("namespace".to_owned(), Value::String(namespace.clone()));
            }
            let read = |text: &str| match names {
                Some(names) => names.text(text),
                None => text.to_owned(),
            };
            if let Some(names) = names {
                names.value(&mut value);
            }
            let key = (
                cluster.clone(),
                document.api_version().unwrap_or_default().to_owned(),
                document.kind().unwrap_or_default().to_owned(),
                read(object.namespace.as_deref().unwrap_or_default()),
                read(&object.name),
            );
            // The Flux install reaches a cluster twice (bootstrap, then its own Flux): once.
            objects.entry(key).or_insert(value);
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many(clusters: usize, objects: usize, fields: usize) -> BTreeMap<String, Vec<Difference>> {
        (1..=clusters)
            .map(|cluster| {
                let differences = (1..=objects)
                    .map(|object| Difference {
                        sign: Sign::Changed,
                        object: format!("ConfigMap ns/c{object}"),
                        fields: (1..=fields)
                            .map(|field| format!("data.k{field}: a → b"))
                            .collect(),
                    })
                    .collect();
                (format!("site-{cluster}"), differences)
            })
            .collect()
    }

    fn list(clusters: &BTreeMap<String, Vec<Difference>>) -> Vec<String> {
        let borrowed = clusters
            .iter()
            .map(|(cluster, differences)| {
                let copies = differences
                    .iter()
                    .map(|difference| Difference {
                        sign: difference.sign,
                        object: difference.object.clone(),
                        fields: difference.fields.clone(),
                    })
                    .collect();
                (cluster.as_str(), copies)
            })
            .collect();
        listing(borrowed)
    }

    #[test]
    fn a_fleet_wide_change_stays_within_the_bound() {
        let lines = list(&many(100, 50, 10));
        assert_eq!(lines.len(), LINES);
        assert_eq!(lines[0], "    site-1:");
        assert_eq!(lines[1], "      ~ ConfigMap ns/c1");
        assert_eq!(lines[6], "          … and 6 more fields");
        assert_eq!(lines[7], "      ~ ConfigMap ns/c2");
        let shown = lines
            .iter()
            .filter(|line| line.starts_with("      ~"))
            .count();
        assert_eq!(
            lines.last().unwrap(),
            &format!("    … and {} more objects", 100 * 50 - shown)
        );
    }

    #[test]
    fn clusters_come_in_natural_order() {
        let lines = list(&many(12, 1, 0));
        let clusters: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.strip_prefix("    site-"))
            .collect();
        assert_eq!(
            clusters,
            [
                "1:", "2:", "3:", "4:", "5:", "6:", "7:", "8:", "9:", "10:", "11:", "12:"
            ]
        );
    }

    #[test]
    fn a_small_change_is_listed_whole() {
        let lines = list(&many(2, 2, 1));
        assert_eq!(
            lines,
            [
                "    site-1:",
                "      ~ ConfigMap ns/c1",
                "          data.k1: a → b",
                "      ~ ConfigMap ns/c2",
                "          data.k1: a → b",
                "    site-2:",
                "      ~ ConfigMap ns/c1",
                "          data.k1: a → b",
                "      ~ ConfigMap ns/c2",
                "          data.k1: a → b",
            ]
        );
    }
}
