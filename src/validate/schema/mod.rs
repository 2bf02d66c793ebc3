//! Schema validation of rendered objects against the real API definitions: custom resources
//! against the `openAPIV3Schema` of their CustomResourceDefinition, built-in kinds against a
//! Kubernetes definitions document, both made strict ([`super::strict`]). CEL rules
//! (`x-kubernetes-validations`) are not evaluated.
//!
//! Schemas come in layers ([`Layer`]): the embedded upstream schemas first, then what the fleet
//! names, vendors and is given on the command line; a later layer wins per
//! group/version/kind. Embedded schemas are inflated, and every validator compiled, on first
//! use, once, and shared by the threads that validate.

mod check;
mod compile;
mod cut;
mod depth;
mod layers;
mod lookup;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

pub use compile::{Ahead, warm};
use compile::{Core, CrdVersion};
pub use cut::Cuts;
pub use layers::{MAX_SCHEMA_FILE_BYTES, read_bounded};

/// `(group, version, kind)`.
type Gvk = (String, String, String);

/// Where a schema comes from, lowest precedence first: for one group/version/kind, a schema of
/// a later layer replaces one of an earlier layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Compiled into fleetgen.
    Embedded,
    /// Named by `validation:` in fleet/fleet.yaml.
    #[default]
    FleetSettings,
    /// Vendored in the fleet source (a committed `gotk-components.yaml`) or rendered by it.
    FleetSource,
    /// `--crds` / `--kubernetes-schemas`.
    CommandLine,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Embedded => "embedded",
            Layer::FleetSettings => "fleet.yaml",
            Layer::FleetSource => "fleet source",
            Layer::CommandLine => "command line",
        })
    }
}

/// A schema's origin: its layer, the file or project, and the upstream release when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub layer: Layer,
    pub origin: String,
    pub upstream: Option<String>,
}

/// Every schema fleetgen validates rendered objects with.
#[derive(Debug, Default)]
pub struct Schemas {
    crds: HashMap<Gvk, CrdVersion>,
    /// `(group, kind)` → version → served.
    crd_kinds: BTreeMap<(String, String), BTreeMap<String, bool>>,
    crd_groups: BTreeSet<String>,
    /// `(group, kind)` → whether it is namespaced.
    crd_scopes: HashMap<(String, String), bool>,
    /// Kubernetes definitions, in layer order: a later one wins for the kinds it has.
    cores: Vec<Core>,
    /// The layer that schemas added now belong to.
    layer: Layer,
    /// Everything added, in order, with its layer and origin: equal fingerprints mean equal
    /// schemas, which is what lets a validation's findings be reused (see `reuse`).
    fingerprint: sha2::Sha256,
}

impl Schemas {
    /// A digest of every schema added: the embedded release chosen, and each CRD and
    /// definitions document with its layer and origin.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        self.fingerprint.clone().finalize().into()
    }

    fn note_added(&mut self, what: &str, origin: &str, content: &[u8]) {
        use sha2::Digest;
        for part in [what.as_bytes(), origin.as_bytes(), content] {
            self.fingerprint.update((part.len() as u64).to_le_bytes());
            self.fingerprint.update(part);
        }
        self.fingerprint.update([self.layer as u8]);
    }
}

/// One known apiVersion and kind, for `fleetgen schemas`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    /// `custom resource` or `built-in`.
    pub class: &'static str,
    pub served: bool,
    pub deprecated: bool,
    pub source: Source,
}

/// API groups of kustomize's own configuration files, which are not Kubernetes objects.
pub const KUSTOMIZE_CONFIG_GROUPS: [&str; 3] =
    ["kustomize.config.k8s.io", "builtin", "config.kubernetes.io"];

/// Whether a group is one of Kubernetes' own (the core group, `apps`, `*.k8s.io`), whose kinds
/// come from the Kubernetes definitions rather than from a CRD.
pub fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || !group.contains('.')
        || (group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io"))
}
