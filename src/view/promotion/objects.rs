//! The objects Flux applies for each environment, cluster by cluster, compared with the
//! source environment's names read as the target's: an object that moved to another file or
//! another place in one is the same object; one that differs shows the fields that do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::names::Abstraction;
use super::{Names, fields, natural};
use crate::error::Result;
use crate::model::{Environment, Fleet};
use crate::render::Rendered;
use crate::sinks::summary::{fold, plural};
use crate::validate::{self, graph, parse};

/// Lines of the objects section after its heading (clusters, objects, fields and the counts of
/// what is left out), whatever the number of objects.
pub const LINES: usize = 30;
/// Fields listed per changed object before the rest are counted.
const FIELDS: usize = 4;
/// Objects listed per group of clusters before the rest are counted when not everything fits,
/// so that one group does not take the room of all the others.
const OBJECTS: usize = 8;
/// Cluster names in a group's heading before "and N more".
const CLUSTER_NAMES: usize = 6;

/// An object as Flux applies it to one cluster: cluster, apiVersion, kind, namespace, name.
type Key = (String, String, String, String, String);

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Sign {
    Gained,
    Changed,
    Lost,
}

/// One object that differs on a cluster: how, `Kind namespace/name`, and the fields that differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
    names: &Names,
) -> Result<()> {
    let (schemas, _) = validate::load_schemas(fleet, Some(rendered))?;
    let (documents, _) = parse::parse_branches(&rendered.branches);
    let simulation = graph::simulate(fleet, rendered, &documents, &schemas);
    let ours = applied(fleet, rendered, &simulation, to, &names.target);
    let theirs = applied(fleet, rendered, &simulation, from, &names.source);

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

/// The differences in at most [`LINES`] lines: clusters with the same differences share a
/// heading (a fleet-wide change is listed once), groups and objects come in natural order, and
/// what does not fit is counted.
fn listing(clusters: BTreeMap<&str, Vec<Difference>>) -> Vec<String> {
    let mut groups: BTreeMap<Vec<Difference>, Vec<&str>> = BTreeMap::new();
    for (cluster, mut differences) in clusters {
        differences.sort_by(|a, b| natural::cmp(&a.object, &b.object).then(a.sign.cmp(&b.sign)));
        groups.entry(differences).or_default().push(cluster);
    }
    let mut groups: Vec<(Vec<&str>, Vec<Difference>)> = groups
        .into_iter()
        .map(|(differences, mut clusters)| {
            clusters.sort_by(|a, b| natural::cmp(a, b));
            (clusters, differences)
        })
        .collect();
    groups.sort_by(|(a, _), (b, _)| natural::cmp(a[0], b[0]));

    // Groups are cut to [`OBJECTS`] only when all of them in full do not fit.
    let full: usize = groups
        .iter()
        .map(|(_, differences)| {
            let object = |difference: &Difference| {
                let fields = difference.fields.len();
                1 + fields.min(FIELDS) + usize::from(fields > FIELDS)
            };
            1 + differences.iter().map(object).sum::<usize>()
        })
        .sum();
    let objects = if full <= LINES { usize::MAX } else { OBJECTS };
    // One line is kept for the count of the clusters that do not fit.
    let budget = LINES - 1;
    let mut lines = Vec::new();
    let mut clusters_left = 0;
    for (clusters, differences) in groups {
        // A group is listed with at least its first object, and room to count the rest.
        if budget - lines.len() < 3 {
            clusters_left += clusters.len();
            continue;
        }
        lines.push(format!("    {}:", fold(&clusters, CLUSTER_NAMES)));
        let total = differences.len();
        for (listed, difference) in differences.into_iter().enumerate() {
            // Room for this object's line and, after it, the count of the objects left.
            let room = budget - lines.len();
            if listed == objects || room < 2 || (listed + 1 < total && room < 3) {
                let rest = total - listed;
                lines.push(format!("      … and {rest} more object{}", plural(rest)));
                break;
            }
            lines.push(format!(
                "      {} {}",
                difference.sign.mark(),
                difference.object
            ));
            let fields = &difference.fields;
            // Keep a line for the count of objects after this one.
            let room = budget - lines.len() - usize::from(listed + 1 < total);
            let shown = if fields.len() <= FIELDS.min(room) {
                fields.len()
            } else {
                FIELDS.min(room.saturating_sub(1))
            };
            for field in &fields[..shown] {
                lines.push(format!("          {field}"));
            }
            let rest = fields.len() - shown;
            if rest > 0 && room > shown {
                lines.push(format!("          … and {rest} more field{}", plural(rest)));
            }
        }
    }
    if clusters_left > 0 {
        lines.push(format!(
            "    … and {clusters_left} more cluster{} that differ",
            plural(clusters_left)
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
/// branch — with the namespace their build gives them, read through `names`.
fn applied(
    fleet: &Fleet,
    rendered: &Rendered,
    simulation: &graph::Simulation<'_>,
    env: &Environment,
    names: &Abstraction,
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
            let mut value = document.full_value();
            if let (Some(namespace), Some(metadata)) = (
                &object.namespace,
                value.get_mut("metadata").and_then(Value::as_object_mut),
            ) {
                metadata.insert("namespace".to_owned(), Value::String(namespace.to_string()));
            }
            names.value(&mut value);
            let key = (
                cluster.clone(),
                document.api_version().unwrap_or_default().to_owned(),
                document.kind().unwrap_or_default().to_owned(),
                names.text(object.namespace.as_deref().unwrap_or_default()),
                names.text(&object.name),
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

    /// `clusters` clusters, each with `objects` changed objects of `fields` fields; the
    /// clusters fall into `kinds` groups by the value their fields change to.
    fn many(clusters: usize, kinds: usize, objects: usize, fields: usize) -> Vec<String> {
        let names: Vec<String> = (1..=clusters).map(|n| format!("site-{n}")).collect();
        let input = names
            .iter()
            .enumerate()
            .map(|(index, cluster)| {
                let differences = (1..=objects)
                    .map(|object| Difference {
                        sign: Sign::Changed,
                        object: format!("ConfigMap ns/c{object}"),
                        fields: (1..=fields)
                            .map(|field| format!("data.k{field}: a → {}", index % kinds))
                            .collect(),
                    })
                    .collect();
                (cluster.as_str(), differences)
            })
            .collect();
        listing(input)
    }

    #[test]
    fn a_fleet_wide_change_stays_within_the_bound() {
        for (clusters, kinds, objects, fields) in [
            (100, 7, 50, 10),
            (100, 100, 1, 0),
            (3, 3, 2, 30),
            (40, 40, 3, 2),
        ] {
            let lines = many(clusters, kinds, objects, fields);
            assert!(lines.len() <= LINES, "{}", lines.join("\n"));
            // Every group listed says how many of its objects are left out; the clusters of
            // those that are not listed are counted.
            let headings = lines.iter().filter(|line| line.ends_with(':')).count();
            let listed_clusters: usize = lines
                .iter()
                .filter(|line| line.ends_with(':'))
                .map(|line| {
                    let names = line.trim().trim_end_matches(':');
                    match names.split_once(" and ") {
                        Some((shown, more)) => {
                            shown.split(", ").count()
                                + more.trim_end_matches(" more").parse::<usize>().unwrap()
                        }
                        None => names.split(", ").count(),
                    }
                })
                .sum();
            let left: usize = lines
                .last()
                .and_then(|line| line.strip_prefix("    … and "))
                .and_then(|line| line.split(' ').next())
                .map_or(0, |count| count.parse().unwrap());
            assert!(headings > 0);
            assert_eq!(listed_clusters + left, clusters, "{}", lines.join("\n"));
        }
    }

    #[test]
    fn clusters_with_the_same_differences_share_a_heading() {
        let lines = many(12, 2, 1, 1);
        assert_eq!(
            lines,
            [
                "    site-1, site-3, site-5, site-7, site-9, site-11:",
                "      ~ ConfigMap ns/c1",
                "          data.k1: a → 0",
                "    site-2, site-4, site-6, site-8, site-10, site-12:",
                "      ~ ConfigMap ns/c1",
                "          data.k1: a → 1",
            ]
        );
    }

    #[test]
    fn long_lists_are_cut_with_counts() {
        let lines = many(1, 1, 20, 6);
        assert_eq!(lines[0], "    site-1:");
        assert_eq!(lines[1], "      ~ ConfigMap ns/c1");
        assert_eq!(lines[6], "          … and 2 more fields");
        assert_eq!(lines[7], "      ~ ConfigMap ns/c2");
        assert_eq!(lines.last().unwrap(), "      … and 15 more objects");
        assert!(lines.len() <= LINES);
    }
}
