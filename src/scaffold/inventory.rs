//! Which objects end up on which cluster, as the validation's walk of the Flux graph finds them
//! (`validate::graph::simulate`: from each bootstrap path, through every Kustomization, to the
//! cluster its `kubeConfig` names or its own).
//!
//! Comparing the inventories before and after a change tells what Flux will prune on the next
//! reconciliation, and from which cluster.

use std::collections::BTreeMap;

use crate::validate::graph;

/// An object as Flux tracks it in a Kustomization's inventory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    pub kind: String,
    /// API group, empty for the core group.
    pub group: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    pub fn describe(&self) -> String {
        match self.namespace.is_empty() {
            true => format!("{} {}", self.kind, self.name),
            false => format!("{} {}/{}", self.kind, self.namespace, self.name),
        }
    }
}

/// The Flux Kustomization that applies an object, and the cluster it runs on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applier {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    /// The object says `kustomize.toolkit.fluxcd.io/prune: disabled`: Flux leaves it on the
    /// cluster when it leaves the inventory.
    pub kept: bool,
}

/// Per cluster, the objects Flux applies to it and who applies each.
pub type Inventory = BTreeMap<String, BTreeMap<ObjectId, Applier>>;

/// Per cluster, every object Flux applies to it and the Kustomization that applies it.
pub fn of(simulation: &graph::Simulation<'_>) -> Inventory {
    let mut inventory: Inventory = BTreeMap::new();
    for (cluster, applied) in &simulation.clusters {
        let objects = inventory.entry(cluster.clone()).or_default();
        for entry in applied {
            let document = entry.object.document;
            let Some(kind) = document.kind() else {
                continue;
            };
            let group = document.group_version().map_or("", |(group, _)| group);
            let (namespace, name) = entry.via.split_once('/').unwrap_or(("", &entry.via));
            objects.insert(
                ObjectId {
                    kind: kind.to_owned(),
                    group: group.to_owned(),
                    namespace: entry
                        .object
                        .namespace
                        .as_deref()
                        .unwrap_or_default()
                        .to_owned(),
                    name: entry.object.name.to_string(),
                },
                Applier {
                    cluster: entry.via_cluster.to_string(),
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    kept: document.prune() == Some("disabled"),
                },
            );
        }
    }
    inventory
}

/// What disappears from each cluster between two inventories.
pub fn pruned(before: &Inventory, after: &Inventory) -> BTreeMap<String, Vec<(ObjectId, Applier)>> {
    let empty = BTreeMap::new();
    let mut gone = BTreeMap::new();
    for (cluster, objects) in before {
        let remaining = after.get(cluster).unwrap_or(&empty);
        let lost: Vec<(ObjectId, Applier)> = objects
            .iter()
            .filter(|(id, _)| !remaining.contains_key(*id))
            .map(|(id, applier)| (id.clone(), applier.clone()))
            .collect();
        if !lost.is_empty() {
            gone.insert(cluster.clone(), lost);
        }
    }
    gone
}
