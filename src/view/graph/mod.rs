//! The fleet as Flux sees it: clusters and who drives whom, and on each cluster the chain of
//! Flux Kustomizations from the bootstrap one down to each tenant's apps, with `dependsOn`
//! edges. Built from the validation's walk ([`crate::validate::graph::simulate`]), so the
//! picture is exactly what `check` verified, then drawn as a nested tree (like `flux tree`),
//! JSON, Mermaid or Graphviz DOT.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::natural;
use crate::error::Result;
use crate::model::Fleet;
use crate::render::Rendered;
use crate::validate::graph::{BOOTSTRAP, Simulation};
use crate::validate::kept::Kept;
use crate::validate::{self, parse};

mod draw;

const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";

/// A Kubernetes object by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    fn kustomization(namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind: "Kustomization".to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// `Kind namespace/name`.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    fn natural_cmp(&self, other: &Self) -> Ordering {
        natural::cmp(&self.kind, &other.kind)
            .then_with(|| {
                natural::cmp(
                    self.namespace.as_deref().unwrap_or_default(),
                    other.namespace.as_deref().unwrap_or_default(),
                )
            })
            .then_with(|| natural::cmp(&self.name, &other.name))
    }
}

/// A cluster and how it is driven.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterNode {
    pub name: String,
    /// `local` (its own Flux) or `remote` (its manager's Flux applies to it).
    pub flux: &'static str,
    /// `existing`, or the Cluster API provider that provisions it on its manager.
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// Environments it is a member of.
    pub environments: Vec<String>,
}

/// A Flux Kustomization on the cluster whose Flux runs it.
#[derive(Debug, Clone, Serialize)]
pub struct KustomizationNode {
    #[serde(flatten)]
    pub id: ObjectRef,
    /// The cluster whose Flux reconciles it.
    pub runs_on: String,
    /// The clusters its objects go to: `runs_on`, or a remote through its `kubeConfig`.
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The Kustomization that applies this one; `None` for the bootstrap one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ObjectRef>,
    pub depends_on: Vec<ObjectRef>,
    /// Everything it applies, Kustomizations included, in natural order.
    pub objects: Vec<ObjectRef>,
}

/// The fleet's Flux graph.
#[derive(Debug, Clone, Serialize)]
pub struct FleetGraph {
    pub clusters: Vec<ClusterNode>,
    pub kustomizations: Vec<KustomizationNode>,
}

/// Which part of the graph to show; a kept Kustomization keeps its chain up to the bootstrap
/// one so the picture still says how it is reached.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub cluster: Option<String>,
    /// Any of these environments; empty for all.
    pub environments: Vec<String>,
    pub tenant: Option<String>,
}

/// Walks the rendered fleet from every bootstrap path and builds its graph.
pub fn build(fleet: &Fleet, rendered: &Rendered) -> Result<FleetGraph> {
    let (schemas, _) = validate::load_schemas(fleet, Some(rendered))?;
    let (documents, _) = parse::parse_branches(&rendered.branches);
    let simulation = validate::graph::simulate(fleet, rendered, &documents, &schemas);
    Ok(FleetGraph::new(fleet, &simulation))
}

type Key = (String, String, String);

impl FleetGraph {
    /// Builds the graph from the walk of every cluster's bootstrap path.
    pub fn new(fleet: &Fleet, simulation: &Simulation<'_>) -> Self {
        let mut nodes: BTreeMap<Key, KustomizationNode> = BTreeMap::new();
        let empty = |runs_on: &str, namespace: &str, name: &str| KustomizationNode {
            id: ObjectRef::kustomization(namespace, name),
            runs_on: runs_on.to_owned(),
            targets: Vec::new(),
            branch: None,
            path: None,
            environment: None,
            tenant: None,
            parent: None,
            depends_on: Vec::new(),
            objects: Vec::new(),
        };
        for (cluster, applied) in &simulation.clusters {
            for entry in applied {
                let (via_namespace, via_name) = entry.via.split_once('/').unwrap_or(("", ""));
                let via_key = (
                    entry.via_cluster.to_string(),
                    via_namespace.to_owned(),
                    via_name.to_owned(),
                );
                let document = entry.object.document;
                let object = ObjectRef {
                    kind: document.kind().unwrap_or_default().to_owned(),
                    namespace: entry.object.namespace.as_deref().map(str::to_owned),
                    name: entry.object.name.to_string(),
                };
                let is_flux_kustomization = object.kind == "Kustomization"
                    && document
                        .group_version()
                        .is_some_and(|(group, _)| group == FLUX_KUSTOMIZE);
                if is_flux_kustomization {
                    let namespace = object.namespace.clone().unwrap_or_default();
                    let key = (cluster.clone(), namespace.clone(), object.name.clone());
                    let node = nodes
                        .entry(key.clone())
                        .or_insert_with(|| empty(cluster, &namespace, &object.name));
                    node.branch = Some(document.branch.to_owned());
                    node.path = document.str_at("/spec/path").map(str::to_owned);
                    if key != via_key {
                        node.parent = Some(ObjectRef::kustomization(via_namespace, via_name));
                    }
                    node.depends_on = depends_on(&document.value, &namespace);
                    // Where it applies, from its kubeConfig: what it applied cannot say so
                    // when its path is empty or outside the fleet (a tenant's app).
                    let target = document
                        .str_at("/spec/kubeConfig/secretRef/name")
                        .and_then(|secret| secret.strip_suffix("-kubeconfig"))
                        .filter(|target| fleet.clusters.contains_key(*target))
                        .unwrap_or(cluster.as_str());
                    if !node.targets.iter().any(|known| known == target) {
                        node.targets.push(target.to_owned());
                    }
                }
                let via = nodes
                    .entry(via_key)
                    .or_insert_with(|| empty(&entry.via_cluster, via_namespace, via_name));
                if !via.targets.contains(cluster) {
                    via.targets.push(cluster.clone());
                }
                if !via.objects.contains(&object) {
                    via.objects.push(object);
                }
            }
        }
        let mut kustomizations: Vec<KustomizationNode> = nodes.into_values().collect();
        for node in &mut kustomizations {
            (node.environment, node.tenant) = owner(fleet, node);
            node.objects.sort_by(ObjectRef::natural_cmp);
            natural::sort(&mut node.targets, String::as_str);
        }
        kustomizations.sort_by(|a, b| {
            natural::cmp(&a.runs_on, &b.runs_on).then_with(|| a.id.natural_cmp(&b.id))
        });
        let mut clusters: Vec<ClusterNode> = fleet
            .clusters
            .values()
            .map(|cluster| ClusterNode {
                name: cluster.name.clone(),
                flux: if cluster.is_remote() {
                    "remote"
                } else {
                    "local"
                },
                provider: cluster.provider.clone(),
                manager: cluster.manager.clone(),
                environments: fleet
                    .environments
                    .values()
                    .filter(|env| env.clusters.contains_key(&cluster.name))
                    .map(|env| env.name.clone())
                    .collect(),
            })
            .collect();
        natural::sort(&mut clusters, |cluster| &cluster.name);
        FleetGraph {
            clusters,
            kustomizations,
        }
    }

    /// Keeps what `filter` asks for, with the chain that reaches it and the clusters it touches.
    pub fn filtered(mut self, filter: &Filter) -> Self {
        let matches =
            |node: &KustomizationNode| {
                filter.cluster.as_ref().is_none_or(|cluster| {
                    node.runs_on == *cluster || node.targets.contains(cluster)
                }) && (filter.environments.is_empty()
                    || node
                        .environment
                        .as_ref()
                        .is_some_and(|env| filter.environments.contains(env)))
                    && filter
                        .tenant
                        .as_ref()
                        .is_none_or(|tenant| node.tenant.as_ref() == Some(tenant))
            };
        let index: BTreeMap<Key, usize> = self
            .kustomizations
            .iter()
            .enumerate()
            .map(|(position, node)| (key_of(&node.runs_on, &node.id), position))
            .collect();
        let mut keep = BTreeSet::new();
        let mut matched = BTreeSet::new();
        for (position, node) in self.kustomizations.iter().enumerate() {
            if !matches(node) {
                continue;
            }
            matched.insert(position);
            // Up the chain; the set stops a cycle (which `check` reports) from looping here.
            let mut current = Some(position);
            while let Some(at) = current {
                if !keep.insert(at) {
                    break;
                }
                let node = &self.kustomizations[at];
                current = node
                    .parent
                    .as_ref()
                    .and_then(|parent| index.get(&key_of(&node.runs_on, parent)).copied());
            }
        }
        let kept: BTreeSet<Key> = keep
            .iter()
            .map(|&at| {
                let node = &self.kustomizations[at];
                key_of(&node.runs_on, &node.id)
            })
            .collect();
        // A Kustomization kept only to show the way keeps only the way, not everything else
        // it applies.
        for &at in keep.difference(&matched) {
            let node = &mut self.kustomizations[at];
            let targets = node.targets.clone();
            node.objects.retain(|object| {
                object.kind == "Kustomization"
                    && targets
                        .iter()
                        .any(|target| kept.contains(&key_of(target, object)))
            });
        }
        let mut position = 0;
        self.kustomizations.retain(|_| {
            position += 1;
            keep.contains(&(position - 1))
        });
        let touched: BTreeSet<&str> = self
            .kustomizations
            .iter()
            .flat_map(|node| std::iter::once(&node.runs_on).chain(&node.targets))
            .map(String::as_str)
            .chain(filter.cluster.as_deref())
            .collect();
        let touched: BTreeSet<String> = touched.into_iter().map(str::to_owned).collect();
        self.clusters
            .retain(|cluster| touched.contains(&cluster.name));
        self
    }

    fn children(&self) -> BTreeMap<Key, Vec<usize>> {
        let mut children: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for (position, node) in self.kustomizations.iter().enumerate() {
            if let Some(parent) = &node.parent {
                children
                    .entry(key_of(&node.runs_on, parent))
                    .or_default()
                    .push(position);
            }
        }
        children
    }

    fn roots(&self) -> Vec<usize> {
        let present: BTreeSet<Key> = self
            .kustomizations
            .iter()
            .map(|node| key_of(&node.runs_on, &node.id))
            .collect();
        (0..self.kustomizations.len())
            .filter(|&position| {
                let node = &self.kustomizations[position];
                node.parent
                    .as_ref()
                    .is_none_or(|parent| !present.contains(&key_of(&node.runs_on, parent)))
            })
            .collect()
    }
}

fn key_of(cluster: &str, object: &ObjectRef) -> Key {
    (
        cluster.to_owned(),
        object.namespace.clone().unwrap_or_default(),
        object.name.clone(),
    )
}

/// `spec.dependsOn` entries; a missing namespace is the Kustomization's own, as in Flux.
fn depends_on(value: &Kept, namespace: &str) -> Vec<ObjectRef> {
    value
        .pointer("/spec/dependsOn")
        .and_then(Kept::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?;
            let namespace = entry
                .get("namespace")
                .and_then(Kept::as_str)
                .unwrap_or(namespace);
            Some(ObjectRef::kustomization(namespace, name))
        })
        .collect()
}

/// The environment and tenant a Kustomization belongs to, from the namespaces the layout
/// gives them (DESIGN §3): `<env>-flux-system` and `<env>-<tenant>`.
fn owner(fleet: &Fleet, node: &KustomizationNode) -> (Option<String>, Option<String>) {
    let namespace = node.id.namespace.as_deref().unwrap_or_default();
    for env in fleet.environments.values() {
        if namespace == env.flux_namespace() {
            return (Some(env.name.clone()), None);
        }
        for tenant in env.tenants.keys() {
            if namespace == env.tenant_namespace(tenant) {
                return (Some(env.name.clone()), Some(tenant.clone()));
            }
        }
    }
    let environment = fleet
        .environments
        .values()
        .find(|env| node.branch.as_ref() == Some(&env.branch) && namespace != BOOTSTRAP)
        .map(|env| env.name.clone());
    (environment, None)
}
