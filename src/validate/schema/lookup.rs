//! Which schema an apiVersion and kind get: the latest layer that has it, or why none does;
//! whether a kind is namespaced; and the list `fleetgen schemas` prints.

use std::collections::{BTreeMap, BTreeSet};

use super::compile::{Core, CrdVersion};
use super::{Entry, Gvk, Schemas};

/// Built-in kinds that are not namespaced. The definitions documents do not say which kinds are
/// cluster-scoped, and the graph checks need to know where a namespace applies.
const CLUSTER_SCOPED_CORE: [(&str, &str); 16] = [
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
];

/// What the schemas say about an apiVersion and kind.
pub(super) enum Lookup<'a> {
    Crd(&'a CrdVersion),
    Core(&'a Core, &'a str),
    /// The kind exists, but not in this version; the message names the versions served.
    NotServed(String),
    /// The group is built in and has no such kind.
    NoSuchKind(String),
    Unknown,
}

impl Schemas {
    /// Whether objects of this kind live in a namespace; `None` when no schema knows the kind.
    pub fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        if CLUSTER_SCOPED_CORE.contains(&(group, kind)) {
            return Some(false);
        }
        if let Some(namespaced) = self.crd_scopes.get(&(group.to_owned(), kind.to_owned())) {
            return Some(*namespaced);
        }
        let group_kind = (group.to_owned(), kind.to_owned());
        self.cores
            .iter()
            .any(|core| core.versions.contains_key(&group_kind))
            .then_some(true)
    }

    /// The Kubernetes definitions that have `key`, the latest layer first.
    fn core_for(&self, key: &Gvk) -> Option<(&Core, &str)> {
        self.cores
            .iter()
            .rev()
            .find_map(|core| core.kinds.get(key).map(|name| (core, name.as_str())))
    }

    pub(super) fn lookup(&self, group: &str, version: &str, kind: &str) -> Lookup<'_> {
        let key = (group.to_owned(), version.to_owned(), kind.to_owned());
        let crd = self.crds.get(&key);
        let core = self.core_for(&key);
        match (crd, core) {
            (Some(crd), Some((core, _))) if crd.served && crd.source.layer >= core.source.layer => {
                return Lookup::Crd(crd);
            }
            (Some(crd), None) if crd.served => return Lookup::Crd(crd),
            (_, Some((core, name))) => return Lookup::Core(core, name),
            _ => {}
        }
        let group_kind = (group.to_owned(), kind.to_owned());
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        if let Some(versions) = self.crd_kinds.get(&group_kind) {
            let served: Vec<&str> = versions
                .iter()
                .filter(|(_, served)| **served)
                .map(|(version, _)| version.as_str())
                .collect();
            let listed = if versions.contains_key(version) {
                "is listed but not served"
            } else {
                "is not served"
            };
            let served = if served.is_empty() {
                "none".to_owned()
            } else {
                served.join(", ")
            };
            return Lookup::NotServed(format!(
                "{api_version} {listed} by the {kind} CustomResourceDefinition (served: {served})"
            ));
        }
        let known: BTreeSet<&str> = self
            .cores
            .iter()
            .filter_map(|core| core.versions.get(&group_kind))
            .flatten()
            .map(String::as_str)
            .collect();
        if !known.is_empty() {
            return Lookup::NotServed(format!(
                "{api_version} {kind} is not a built-in API version (served: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if self.cores.iter().any(|core| core.groups.contains(group))
            && !self.crd_groups.contains(group)
        {
            let group_name = if group.is_empty() { "core" } else { group };
            return Lookup::NoSuchKind(format!(
                "kind {kind} does not exist in the built-in API group {group_name}/{version}"
            ));
        }
        Lookup::Unknown
    }

    /// Every apiVersion and kind known, with the source that wins for it, sorted.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries: BTreeMap<Gvk, Entry> = BTreeMap::new();
        for core in &self.cores {
            for (group, version, kind) in core.kinds.keys() {
                if kind.ends_with("List") || group.is_empty() && kind == "WatchEvent" {
                    continue;
                }
                entries.insert(
                    (group.clone(), version.clone(), kind.clone()),
                    Entry {
                        api_version: api_version(group, version),
                        kind: kind.clone(),
                        class: "built-in",
                        served: true,
                        deprecated: false,
                        source: core.source.clone(),
                    },
                );
            }
        }
        for ((group, version, kind), crd) in &self.crds {
            let key = (group.clone(), version.clone(), kind.clone());
            if entries
                .get(&key)
                .is_some_and(|entry| entry.source.layer > crd.source.layer || !crd.served)
            {
                continue;
            }
            entries.insert(
                key,
                Entry {
                    api_version: api_version(group, version),
                    kind: kind.clone(),
                    class: "custom resource",
                    served: crd.served,
                    deprecated: crd.deprecated,
                    source: crd.source.clone(),
                },
            );
        }
        entries.into_values().collect()
    }
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}
