//! Which objects end up on which cluster: a walk over the rendered branches the way Flux
//! reconciles them. Each cluster with its own Flux starts at its bootstrap Kustomization
//! (`clusters/<cluster>` on the main branch); every Flux Kustomization found on the way is
//! followed through its GitRepository (a branch of the fleet repo) and applies to its own
//! cluster, or to the cluster named by its `kubeConfig.secretRef` (`<cluster>-kubeconfig`).
//!
//! Comparing the inventories before and after a change tells what Flux will prune on the next
//! reconciliation, and from which cluster.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Deserialize;
use serde_norway::Value;

use crate::model::Fleet;
use crate::tree::{Branches, Tree};

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

    fn is_flux_kustomization(&self) -> bool {
        self.kind == "Kustomization" && self.group == "kustomize.toolkit.fluxcd.io"
    }
}

/// The Flux Kustomization that applies an object, and the cluster it runs on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applier {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
}

/// Per cluster, the objects Flux applies to it and who applies each.
pub type Inventory = BTreeMap<String, BTreeMap<ObjectId, Applier>>;

#[derive(Debug, Clone)]
enum Source {
    Branch(String),
    /// A repository outside the fleet repo (a tenant's): its content is not ours to know.
    External,
}

struct Pending {
    applier: Applier,
    source: (String, String),
    path: String,
    target: String,
    target_namespace: Option<String>,
}

pub fn inventory(fleet: &Fleet, branches: &Branches) -> Inventory {
    let mut inventory: Inventory = BTreeMap::new();
    let mut sources: BTreeMap<String, BTreeMap<(String, String), Source>> = BTreeMap::new();
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let main = fleet.repo.main_branch.clone();
    for cluster in fleet
        .clusters
        .values()
        .filter(|cluster| !cluster.is_remote())
    {
        // `flux bootstrap` creates these two objects; they are not in the tree.
        let bootstrap = ("flux-system".to_owned(), "flux-system".to_owned());
        sources
            .entry(cluster.name.clone())
            .or_default()
            .insert(bootstrap.clone(), Source::Branch(main.clone()));
        queue.push_back(Pending {
            applier: Applier {
                cluster: cluster.name.clone(),
                namespace: bootstrap.0.clone(),
                name: bootstrap.1.clone(),
            },
            source: bootstrap,
            path: format!("clusters/{}", cluster.name),
            target: cluster.name.clone(),
            target_namespace: None,
        });
    }
    let mut visited: BTreeSet<Applier> = BTreeSet::new();
    let mut waiting: Vec<Pending> = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(pending) = queue.pop_front() {
            if visited.contains(&pending.applier) {
                continue;
            }
            let source = sources
                .get(&pending.applier.cluster)
                .and_then(|known| known.get(&pending.source))
                .cloned();
            let branch = match source {
                None => {
                    waiting.push(pending);
                    continue;
                }
                Some(Source::External) => {
                    visited.insert(pending.applier.clone());
                    continue;
                }
                Some(Source::Branch(branch)) => branch,
            };
            visited.insert(pending.applier.clone());
            progressed = true;
            let Some(tree) = branches.trees.get(&branch) else {
                continue;
            };
            for document in manifests(tree, &normalise(&pending.path)) {
                let Some(object) = Object::read(&document, pending.target_namespace.as_deref())
                else {
                    continue;
                };
                let on = pending.target.clone();
                if object.id.kind == "GitRepository"
                    && object.id.group == "source.toolkit.fluxcd.io"
                {
                    let source = match (&object.url, &object.branch) {
                        (Some(url), branch) if *url == fleet.repo.url => {
                            Source::Branch(branch.clone().unwrap_or_else(|| main.clone()))
                        }
                        _ => Source::External,
                    };
                    sources.entry(on.clone()).or_default().insert(
                        (object.id.namespace.clone(), object.id.name.clone()),
                        source,
                    );
                }
                if object.id.is_flux_kustomization()
                    && let Some(path) = &object.path
                {
                    let target = object
                        .kubeconfig_secret
                        .as_deref()
                        .and_then(|secret| secret.strip_suffix("-kubeconfig"))
                        .map(str::to_owned)
                        .unwrap_or_else(|| on.clone());
                    queue.push_back(Pending {
                        applier: Applier {
                            cluster: on.clone(),
                            namespace: object.id.namespace.clone(),
                            name: object.id.name.clone(),
                        },
                        source: object.source.clone(),
                        path: path.clone(),
                        target,
                        target_namespace: object.target_namespace.clone(),
                    });
                }
                inventory
                    .entry(on)
                    .or_default()
                    .insert(object.id, pending.applier.clone());
            }
        }
        if !progressed || waiting.is_empty() {
            break;
        }
        queue.extend(waiting.drain(..));
    }
    inventory
}

struct Object {
    id: ObjectId,
    url: Option<String>,
    branch: Option<String>,
    path: Option<String>,
    source: (String, String),
    kubeconfig_secret: Option<String>,
    target_namespace: Option<String>,
}

/// Kinds without a namespace, among those fleetgen's blueprints write.
const CLUSTER_SCOPED: [&str; 5] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
];

impl Object {
    fn read(document: &Value, target_namespace: Option<&str>) -> Option<Object> {
        let text = |value: &Value, path: &[&str]| -> Option<String> {
            let mut current = value;
            for key in path {
                current = current.get(*key)?;
            }
            current.as_str().map(str::to_owned)
        };
        let api_version = text(document, &["apiVersion"])?;
        let kind = text(document, &["kind"])?;
        let name = text(document, &["metadata", "name"])?;
        let group = match api_version.rsplit_once('/') {
            Some((group, _)) => group.to_owned(),
            None => String::new(),
        };
        let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
            String::new()
        } else {
            target_namespace
                .map(str::to_owned)
                .or_else(|| text(document, &["metadata", "namespace"]))
                .unwrap_or_else(|| "default".to_owned())
        };
        let source_namespace = text(document, &["spec", "sourceRef", "namespace"])
            .unwrap_or_else(|| namespace.clone());
        Some(Object {
            url: text(document, &["spec", "url"]),
            branch: text(document, &["spec", "ref", "branch"]),
            path: text(document, &["spec", "path"]),
            source: (
                source_namespace,
                text(document, &["spec", "sourceRef", "name"]).unwrap_or_default(),
            ),
            kubeconfig_secret: text(document, &["spec", "kubeConfig", "secretRef", "name"]),
            target_namespace: text(document, &["spec", "targetNamespace"]),
            id: ObjectId {
                kind,
                group,
                namespace,
                name,
            },
        })
    }
}

fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn join(dir: &str, name: &str) -> String {
    normalise(&format!("{dir}/{name}"))
}

const KUSTOMIZATION: &str = "kustomization.yaml";

/// The documents kustomize would build from `dir`: the resources its kustomization.yaml
/// lists, or — as Flux does for a directory without one — every manifest below it, taking
/// a subdirectory with a kustomization.yaml as a whole.
fn manifests(tree: &Tree, dir: &str) -> Vec<Value> {
    let mut documents = Vec::new();
    collect(tree, dir, &mut documents, 0);
    documents
}

fn collect(tree: &Tree, dir: &str, documents: &mut Vec<Value>, depth: usize) {
    if depth > 32 {
        return;
    }
    let index = join(dir, KUSTOMIZATION);
    if let Some(content) = tree.get(&index) {
        let resources = parse(content)
            .into_iter()
            .next()
            .and_then(|document| document.get("resources").cloned())
            .and_then(|resources| match resources {
                Value::Sequence(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default();
        for resource in resources.iter().filter_map(Value::as_str) {
            let path = join(dir, resource);
            match tree.get(&path) {
                Some(content) => documents.extend(parse(content)),
                None => collect(tree, &path, documents, depth + 1),
            }
        }
        return;
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for path in tree.paths().filter(|path| path.starts_with(&prefix)) {
        let relative = &path[prefix.len()..];
        // The shallowest folder between `dir` and the file that has its own index.
        let folders: Vec<&str> = relative.split('/').collect();
        let mut sub = prefix.trim_end_matches('/').to_owned();
        let mut whole = None;
        for part in &folders[..folders.len() - 1] {
            sub = join(&sub, part);
            if tree.contains(&join(&sub, KUSTOMIZATION)) {
                whole = Some(sub.clone());
                break;
            }
        }
        match whole {
            Some(sub) if taken.insert(sub.clone()) => collect(tree, &sub, documents, depth + 1),
            Some(_) => {}
            None if crate::render::is_yaml(path) => {
                if let Some(content) = tree.get(path) {
                    documents.extend(parse(content));
                }
            }
            None => {}
        }
    }
}

fn parse(content: &[u8]) -> Vec<Value> {
    let Ok(text) = std::str::from_utf8(content) else {
        return Vec::new();
    };
    serde_norway::Deserializer::from_str(text)
        .filter_map(|document| Value::deserialize(document).ok())
        .filter(|value| matches!(value, Value::Mapping(_)))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_generated_kustomization_takes_subfolders_with_an_index_whole() {
        let mut tree = Tree::new();
        tree.insert(
            "c/a.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
        );
        tree.insert("c/sub/kustomization.yaml", "resources:\n  - b.yaml\n");
        tree.insert(
            "c/sub/b.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n",
        );
        tree.insert(
            "c/sub/unlisted.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
        );
        let names: Vec<String> = manifests(&tree, "c")
            .iter()
            .filter_map(|doc| {
                doc.get("metadata")?
                    .get("name")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
