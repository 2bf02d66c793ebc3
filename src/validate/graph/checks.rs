//! The checks over everything that reaches the clusters: `dependsOn` that resolves and does
//! not go round in a cycle, no object applied twice to one cluster, namespaces that something
//! on the cluster creates, and no rendered file that no build uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use rayon::prelude::*;

use super::walk::Merged;
use super::{Applied, BOOTSTRAP, FLUX_HELM, FLUX_KUSTOMIZE, Placed, Simulation};
use crate::diagnostic::{Also, Diagnostic, Diagnostics, Location};
use crate::render::{Rendered, is_yaml};
use crate::tree::OWNED_LIST;
use crate::validate::kept::Kept;
use crate::validate::schema::Schemas;
use crate::view::natural;

/// Every rendered YAML file must be used by some build that reaches a cluster. Files one
/// template rendered are one finding, at the first of them in natural order, listing the
/// others: a blueprint whose target no Kustomization reaches misses on every cluster.
pub(super) fn report_unreachable(
    rendered: &Rendered,
    visited: &HashSet<(&str, &str)>,
    diagnostics: &mut Diagnostics,
) {
    let mut by_template: BTreeMap<&Path, Vec<String>> = BTreeMap::new();
    let mut alone = Vec::new();
    // Directories holding an unreachable file a template wrote, with their parents: the
    // kustomization.yaml render computed there is unreachable because of that file, and says
    // nothing more.
    let mut covered: HashSet<String> = HashSet::new();
    // Every rendered file is looked up, a branch per core; the few left are reported in order.
    let branches: Vec<_> = rendered.branches.iter().collect();
    let unvisited: Vec<Vec<_>> = branches
        .par_iter()
        .map(|(branch, tree)| {
            tree.iter_with_origins()
                .filter(|(path, _, _)| {
                    *path != OWNED_LIST && is_yaml(path) && !visited.contains(&(*branch, *path))
                })
                .map(|(path, _, origin)| (*branch, path, origin))
                .collect()
        })
        .collect();
    for (branch, path, origin) in unvisited.into_iter().flatten() {
        let file = format!("{branch}/{path}");
        match origin.and_then(|origin| rendered.values.template(origin)) {
            Some(template) => {
                let mut dir = file.as_str();
                while let Some((parent, _)) = dir.rsplit_once('/') {
                    if !covered.insert(parent.to_owned()) {
                        break;
                    }
                    dir = parent;
                }
                by_template.entry(template).or_default().push(file);
            }
            None => alone.push(file),
        }
    }
    alone.retain(|file| {
        let computed = file.ends_with(&format!("/{}", crate::render::kustomization::FILE));
        let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        !(computed && covered.contains(dir))
    });
    let finding = |file: &str| {
        Diagnostic::error("unreachable", format!("{file} is reached from no cluster's bootstrap path"))
            .at_file(file)
            .with_hint("Flux never applies it: reference its directory from a Kustomization or a kustomization.yaml, or do not render it")
    };
    for file in &alone {
        diagnostics.push(finding(file));
    }
    for (template, mut files) in by_template {
        natural::sort(&mut files, String::as_str);
        let mut diagnostic = finding(&files[0]);
        if files.len() > 1 {
            diagnostic.also = Some(Box::new(Also {
                template: template.to_path_buf(),
                locations: files[1..].iter().map(Location::file).collect(),
            }));
        }
        diagnostics.push(diagnostic);
    }
}

impl<'a> Merged<'_, 'a> {
    /// dependsOn of Kustomizations and HelmReleases: each names an object of the same kind on
    /// the same cluster, and no chain comes back to where it started.
    pub(super) fn check_dependencies(&mut self) {
        let diagnostics = per_cluster(&self.simulation, dependency_findings);
        self.simulation.diagnostics.extend(diagnostics);
    }

    /// Two objects with one group/kind/namespace/name on one cluster: two owners fighting, or
    /// one overwriting the other.
    pub(super) fn check_duplicates(&mut self) {
        let diagnostics = per_cluster(&self.simulation, duplicate_findings);
        self.simulation.diagnostics.extend(diagnostics);
    }

    /// Every namespace an object is applied into exists on its cluster: something that
    /// reaches the cluster creates it, or the cluster starts with it. A warning, since a
    /// namespace may be made outside the fleet; but until it exists, Flux's apply of the whole
    /// Kustomization fails.
    pub(super) fn check_namespaces(&mut self) {
        let (schemas, fleet) = (self.context.schemas, self.context.fleet);
        let findings = per_cluster(&self.simulation, |cluster, applied, found| {
            // A cluster its manager's Flux drives has no Flux of its own, nor its namespace.
            let runs_flux = fleet
                .clusters
                .get(cluster)
                .is_none_or(|cluster| !cluster.is_remote());
            namespace_findings(schemas, applied, runs_flux, found)
        });
        // An object that reaches several clusters without its namespace is one finding.
        let mut seen = HashSet::new();
        for finding in findings {
            if seen.insert((finding.location.clone(), finding.message.clone())) {
                self.simulation.diagnostics.push(finding);
            }
        }
    }
}

/// The namespaces every cluster starts with.
const NAMESPACES_THERE: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Flux's own namespace, which installing Flux creates on a cluster that runs it.
const FLUX_NAMESPACE: &str = "flux-system";

fn namespace_findings(
    schemas: &Schemas,
    applied: &[Applied<'_>],
    runs_flux: bool,
    found: &mut Vec<Diagnostic>,
) {
    let mut created: HashSet<&str> = NAMESPACES_THERE.into_iter().collect();
    if runs_flux {
        created.insert(FLUX_NAMESPACE);
    }
    for entry in applied {
        let object = &entry.object;
        match (object.group(), object.kind()) {
            ("", "Namespace") => {
                created.insert(&object.name);
            }
            // helm-controller creates the namespace it installs into when asked to.
            ("helm.toolkit.fluxcd.io", "HelmRelease") => {
                let value = &object.document.value;
                let creates = matches!(
                    value.pointer("/spec/install/createNamespace"),
                    Some(Kept::Bool(true))
                );
                let target = value
                    .pointer("/spec/targetNamespace")
                    .and_then(Kept::as_str)
                    .or(object.namespace.as_deref());
                if creates && let Some(target) = target {
                    created.insert(target);
                }
            }
            _ => {}
        }
    }
    for entry in applied {
        let object = &entry.object;
        let Some(namespace) = object.namespace.as_deref() else {
            continue;
        };
        if namespace.is_empty()
            || namespace.contains("${")
            || created.contains(namespace)
            || schemas.is_namespaced(object.group(), object.kind()) == Some(false)
        {
            continue;
        }
        found.push(
            Diagnostic::warning(
                "missing-namespace",
                format!(
                    "{}: nothing that reaches its cluster creates the namespace `{namespace}`; applying Kustomization {} fails until it exists",
                    object.document.describe(),
                    entry.via
                ),
            )
            .at(object.document.location("/metadata/namespace"))
            .with_hint("render a Namespace for it, or create it on the cluster before Flux applies this"),
        );
    }
}

/// The findings of `check` on each cluster, in parallel, in the order of the clusters.
pub(super) fn per_cluster<'a>(
    simulation: &Simulation<'a>,
    check: impl Fn(&str, &[Applied<'a>], &mut Vec<Diagnostic>) + Sync,
) -> Diagnostics {
    simulation
        .clusters
        .par_iter()
        .flat_map_iter(|(cluster, applied)| {
            let mut diagnostics = Vec::new();
            check(cluster, applied, &mut diagnostics);
            diagnostics
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

fn dependency_findings<'a>(
    cluster: &str,
    applied: &[Applied<'a>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut graph: BTreeMap<KindName, Vec<KindName>> = BTreeMap::new();
    let mut objects: BTreeMap<KindName, &Applied<'a>> = BTreeMap::new();
    for entry in applied
        .iter()
        .filter(|entry| is_dependent_kind(&entry.object))
    {
        let key = (
            entry.object.kind().to_owned(),
            entry
                .object
                .namespace
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            entry.object.name.to_string(),
        );
        objects.entry(key).or_insert(entry);
    }
    for (key, entry) in &objects {
        let document = entry.object.document;
        for (index, dependency) in document.value.list_at("/spec/dependsOn").iter().enumerate() {
            let Some(name) = dependency.get("name").and_then(Kept::as_str) else {
                continue;
            };
            let namespace = dependency
                .get("namespace")
                .and_then(Kept::as_str)
                .unwrap_or(&key.1);
            let target = (key.0.clone(), namespace.to_owned(), name.to_owned());
            if !objects.contains_key(&target) {
                diagnostics.push(
                            Diagnostic::error("depends-on", format!("{}: dependsOn {} {namespace}/{name} does not exist on cluster {cluster}", entry.object.describe(), key.0))
                                .at(document.location(&format!("/spec/dependsOn/{index}/name")))
                                .with_hint("Flux waits for it forever"),
                        );
                continue;
            }
            graph.entry(key.clone()).or_default().push(target);
        }
    }
    for cycle in cycles(&graph) {
        let first = &cycle[0];
        let entry = objects[first];
        let names: Vec<String> = cycle
            .iter()
            .chain(std::iter::once(first))
            .map(|(_, namespace, name)| format!("{namespace}/{name}"))
            .collect();
        diagnostics.push(
            Diagnostic::error(
                "dependency-cycle",
                format!(
                    "{}s on cluster {cluster} depend on each other: {}",
                    first.0,
                    names.join(" → ")
                ),
            )
            .at(entry.object.document.location("/spec/dependsOn"))
            .with_hint("none of them ever becomes ready; remove one dependsOn"),
        );
    }
}

fn duplicate_findings<'a>(
    cluster: &str,
    applied: &[Applied<'a>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<_, &Applied<'a>> = HashMap::new();
    for entry in applied {
        if let Some(first) = seen.insert(entry.object.id(), entry) {
            if first.via == entry.via {
                // One build: the kustomize build check has reported it already.
                continue;
            }
            if is_bootstrap_install(cluster, first, entry) {
                continue;
            }
            let (first, second) = order(first, entry);
            diagnostics.push(
                        Diagnostic::error(
                            "duplicate-object",
                            format!(
                                "{} reaches cluster {cluster} twice: from {} (via Kustomization {}) and from {} (via Kustomization {})",
                                second.object.describe(),
                                first.object.document.file(),
                                first.via,
                                second.object.document.file(),
                                second.via
                            ),
                        )
                        .at(second.object.document.location("/metadata/name"))
                        .with_hint("objects in a shared namespace need names of their own, e.g. prefixed with the cluster's name"),
                    );
        }
    }
}

/// The Flux install in `clusters/<cluster>/flux-system/`, applied once from outside (by
/// `flux bootstrap`, or by a manager's Kustomization for a Cluster API cluster) and then
/// reconciled by the cluster's own `flux-system` Kustomization: two appliers by design. The
/// same holds for a namespace that a manager creates from that folder ahead of the cluster's
/// own Flux (to put an environment's or a tenant's Git Secret in it): it is created only if
/// absent, and the cluster's Flux, which declares it elsewhere (an environment's from the main
/// branch, a tenant's from its environment's `tenants`), owns it from then on.
fn is_bootstrap_install(cluster: &str, first: &Applied<'_>, second: &Applied<'_>) -> bool {
    let bootstrap_via = format!("{BOOTSTRAP}/{BOOTSTRAP}");
    let install_dir = format!("clusters/{cluster}/{BOOTSTRAP}/");
    let from_install =
        |applied: &Applied<'_>| applied.object.document.path.starts_with(&install_dir);
    if std::ptr::eq(first.object.document, second.object.document) {
        return from_install(first)
            && (*first.via == *bootstrap_via || *second.via == *bootstrap_via);
    }
    let (installed, own) = if *first.via_cluster == *cluster {
        (second, first)
    } else {
        (first, second)
    };
    from_install(installed)
        && *installed.via_cluster != *cluster
        && *own.via_cluster == *cluster
        && own.object.group().is_empty()
        && own.object.kind() == "Namespace"
}

/// `(kind, namespace, name)`.
type KindName = (String, String, String);

fn order<'b, 'a>(a: &'b Applied<'a>, b: &'b Applied<'a>) -> (&'b Applied<'a>, &'b Applied<'a>) {
    let key = |entry: &Applied<'_>| (entry.object.document.file(), entry.object.document.index);
    if key(a) <= key(b) { (a, b) } else { (b, a) }
}

fn is_dependent_kind(object: &Placed<'_>) -> bool {
    matches!(
        (object.group(), object.kind()),
        (FLUX_KUSTOMIZE, "Kustomization") | (FLUX_HELM, "HelmRelease")
    )
}

/// Elementary cycles, each reported once, starting at its smallest node.
///
/// Depth first, with the path kept on a stack of its own rather than the call stack: a
/// template can render a chain of thousands of `dependsOn`, and recursing along it
/// overflowed a validating thread's stack.
fn cycles<K: Ord + Clone>(graph: &BTreeMap<K, Vec<K>>) -> Vec<Vec<K>> {
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if done.contains(start) {
            continue;
        }
        // Each node on the path with how many of its successors have been followed, and
        // where each node is on it.
        let mut path: Vec<(&K, usize)> = vec![(start, 0)];
        let mut on_path: BTreeMap<&K, usize> = BTreeMap::from([(start, 0)]);
        while let Some((node, followed)) = path.last_mut() {
            let successors = graph.get(*node).map(Vec::as_slice).unwrap_or_default();
            let Some(next) = successors.get(*followed) else {
                let (node, _) = path.pop().expect("the path has a last node");
                on_path.remove(node);
                done.insert(node.clone());
                continue;
            };
            *followed += 1;
            if let Some(&position) = on_path.get(next) {
                let mut cycle: Vec<K> = path[position..]
                    .iter()
                    .map(|(node, _)| (*node).clone())
                    .collect();
                let smallest = cycle
                    .iter()
                    .enumerate()
                    .min_by(|a, b| a.1.cmp(b.1))
                    .map(|(index, _)| index)
                    .unwrap_or(0);
                cycle.rotate_left(smallest);
                found.insert(cycle);
            } else if !done.contains(next) {
                on_path.insert(next, path.len());
                path.push((next, 0));
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depth-first search as first written, recursing: what `cycles` must still find.
    fn cycles_recursing(graph: &BTreeMap<u32, Vec<u32>>) -> Vec<Vec<u32>> {
        fn visit(
            node: u32,
            graph: &BTreeMap<u32, Vec<u32>>,
            stack: &mut Vec<u32>,
            done: &mut BTreeSet<u32>,
            found: &mut BTreeSet<Vec<u32>>,
        ) {
            if let Some(position) = stack.iter().position(|entry| *entry == node) {
                let mut cycle = stack[position..].to_vec();
                let smallest = (0..cycle.len()).min_by_key(|&at| cycle[at]).unwrap_or(0);
                cycle.rotate_left(smallest);
                found.insert(cycle);
                return;
            }
            if done.contains(&node) {
                return;
            }
            stack.push(node);
            for next in graph.get(&node).into_iter().flatten() {
                visit(*next, graph, stack, done, found);
            }
            stack.pop();
            done.insert(node);
        }
        let mut found = BTreeSet::new();
        let mut done = BTreeSet::new();
        for node in graph.keys() {
            visit(*node, graph, &mut Vec::new(), &mut done, &mut found);
        }
        found.into_iter().collect()
    }

    #[test]
    fn cycles_are_those_the_recursive_search_finds() {
        // Small graphs of every shape a few nodes make, from a fixed pseudo-random sequence.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..5_000 {
            let nodes = 1 + next(7) as u32;
            let mut graph: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for node in 0..nodes {
                let edges = next(4);
                let targets = (0..edges)
                    .map(|_| next(u64::from(nodes) + 1) as u32)
                    .collect();
                graph.insert(node, targets);
            }
            assert_eq!(cycles(&graph), cycles_recursing(&graph), "{graph:?}");
        }
    }

    #[test]
    fn a_chain_of_a_hundred_thousand_is_followed_without_recursing() {
        let length = 100_000;
        let mut graph: BTreeMap<u32, Vec<u32>> = (0..length).map(|at| (at, vec![at + 1])).collect();
        assert!(cycles(&graph).is_empty());
        graph.insert(length, vec![0]);
        let found = cycles(&graph);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].len(), length as usize + 1);
        assert_eq!(found[0][0], 0);
    }
}
