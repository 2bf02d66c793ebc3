//! The Flux reference graph, per cluster: what reaches each cluster, and whether every
//! reference between Flux objects holds.
//!
//! The walk starts where Flux starts: each cluster with its own Flux has the `flux-system`
//! GitRepository (the main branch) and Kustomization (path `clusters/<cluster>`) that
//! `flux bootstrap` made. Every Kustomization that reaches a cluster is then followed: its
//! source gives the branch, its `path` on that branch is built the way kustomize-controller
//! builds it, and the objects go to the cluster its `kubeConfig` points at (or its own). What a
//! build produces is checked like kustomize would (missing entries, duplicate ids, namespace
//! transformation conflicts), and what reaches a cluster like Flux would (sources, dependencies,
//! paths, kubeconfig Secrets, tenant lockdown, two owners of one object). Every rendered file
//! must be reached from some bootstrap path.

mod build;
mod capi_refs;
mod checks;
mod follow;
mod paths;
mod walk;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::{HashMap, HashSet};

use super::document::{ByFile, Document};
use super::schema::Schemas;
use super::secrets;
use crate::diagnostic::Diagnostics;
use crate::model::Fleet;
use crate::render::Rendered;

const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const FLUX_SOURCE: &str = "source.toolkit.fluxcd.io";
const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
/// Name and namespace of what `flux bootstrap` creates on each cluster.
pub const BOOTSTRAP: &str = "flux-system";

/// An object as a build places it: its document and the namespace and name it ends up with.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    pub document: &'a Document<'a>,
    /// Borrowed from the document unless a build or a Kustomization changes them: a large
    /// fleet places hundreds of thousands of objects, most of them as they are written.
    pub namespace: Option<Cow<'a, str>>,
    pub name: Cow<'a, str>,
}

impl Placed<'_> {
    fn group(&self) -> &str {
        self.document.group_version().map_or("", |(group, _)| group)
    }

    fn kind(&self) -> &str {
        self.document.kind().unwrap_or_default()
    }

    /// Group, kind, namespace and name: what kustomize and the API server tell objects apart by.
    fn id(&self) -> (&str, &str, &str, &str) {
        (
            self.group(),
            self.kind(),
            self.namespace.as_deref().unwrap_or_default(),
            &self.name,
        )
    }

    /// `Kind namespace/name`, as messages name it.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind(), self.name),
            None => format!("{} {}", self.kind(), self.name),
        }
    }
}

/// An object that reaches a cluster, and the Flux Kustomization that applies it.
#[derive(Debug, Clone)]
pub struct Applied<'a> {
    pub object: Placed<'a>,
    /// `namespace/name` of the Flux Kustomization that applies it; shared by every object it
    /// applies, as is `via_cluster`.
    pub via: Arc<str>,
    /// The cluster that Kustomization runs on (the manager, for a remote cluster).
    pub via_cluster: Arc<str>,
}

/// A Flux source on a cluster, and the branch of the fleet repo it tracks when it is the
/// fleet repo (other repositories are outside the rendered trees).
#[derive(Debug, Clone, PartialEq)]
struct Source {
    branch: Option<String>,
}

/// What reaches each cluster.
#[derive(Debug, Default)]
pub struct Simulation<'a> {
    pub clusters: BTreeMap<String, Vec<Applied<'a>>>,
    /// `(branch, path)` of every rendered file some build used: a file is added once per
    /// build that includes it, so hashed rather than ordered.
    pub visited: HashSet<(&'a str, &'a str)>,
    pub diagnostics: Diagnostics,
}

/// Runs the graph checks.
pub fn check(
    fleet: &Fleet,
    rendered: &Rendered,
    documents: &[Document<'_>],
    schemas: &Schemas,
) -> Diagnostics {
    let simulation = simulate(fleet, rendered, documents, schemas);
    let mut diagnostics = simulation.diagnostics;
    checks::report_unreachable(rendered, &simulation.visited, &mut diagnostics);
    diagnostics
}

/// Follows the Flux objects from every cluster's bootstrap path: each cluster's Flux in a walk
/// of its own, in parallel, merged as if one walk had followed them all.
pub fn simulate<'a>(
    fleet: &'a Fleet,
    rendered: &'a Rendered,
    documents: &'a [Document<'a>],
    schemas: &'a Schemas,
) -> Simulation<'a> {
    let context = Context::new(fleet, rendered, documents, schemas);
    walk::parallel(&context)
}

/// A Flux Kustomization (or HelmRelease) on a cluster, waiting to be followed.
#[derive(Debug, Clone)]
struct Pending<'a> {
    cluster: String,
    object: Placed<'a>,
    /// Where the item stands in the queue of one walk over every cluster: see [`walk::Step`].
    key: walk::Step,
}

/// The Flux sources on one cluster, by `(name, kind, namespace)`.
type Sources = BTreeMap<(String, String, String), Source>;

/// What every walk reads and none changes: the fleet, its rendered trees and what is derived
/// from them once.
struct Context<'a> {
    fleet: &'a Fleet,
    rendered: &'a Rendered,
    schemas: &'a Schemas,
    files: ByFile<'a, 'a>,
    /// Per branch, every directory that holds a file at any depth, with its kustomization
    /// file if it has one: the walk asks both of every directory it passes.
    directories: HashMap<&'a str, HashMap<&'a str, Option<&'a str>>>,
    tenant_namespaces: BTreeSet<String>,
    kubeconfigs: BTreeSet<(String, String, String)>,
}

impl<'a> Context<'a> {
    fn new(
        fleet: &'a Fleet,
        rendered: &'a Rendered,
        documents: &'a [Document<'a>],
        schemas: &'a Schemas,
    ) -> Self {
        let directories = rendered
            .branches
            .iter()
            .map(|(branch, tree)| (branch, build::directories(tree)))
            .collect();
        let tenant_namespaces = fleet
            .environments
            .values()
            .flat_map(|env| {
                env.tenants
                    .keys()
                    .map(move |tenant| env.tenant_namespace(tenant))
            })
            .collect();
        let kubeconfigs = secrets::kubeconfig_secrets(fleet)
            .into_iter()
            .map(|secret| (secret.cluster, secret.namespace, secret.name))
            .collect();
        Self {
            fleet,
            rendered,
            schemas,
            files: ByFile::indexed(documents),
            directories,
            tenant_namespaces,
            kubeconfigs,
        }
    }

    /// The rendered trees' own copy of a branch name.
    fn branch_key(&self, branch: &str) -> Option<&'a str> {
        let rendered: &'a Rendered = self.rendered;
        rendered
            .branches
            .trees
            .get_key_value(branch)
            .map(|(key, _)| key.as_str())
    }

    fn main_branch(&self) -> &'a str {
        let fleet: &'a Fleet = self.fleet;
        &fleet.repo.main_branch
    }

    /// Whether Flux runs on `cluster` itself, so that it reconciles the Kustomizations there.
    fn runs_flux(&self, cluster: &str) -> bool {
        self.fleet
            .clusters
            .get(cluster)
            .is_some_and(|cluster| !cluster.is_remote())
    }

    fn namespaced(&self, object: &Placed<'_>) -> Option<bool> {
        self.schemas.is_namespaced(object.group(), object.kind())
    }
}

fn source_key(kind: &str, namespace: &str, name: &str) -> (String, String, String) {
    (name.to_owned(), kind.to_owned(), namespace.to_owned())
}

/// The source `flux bootstrap` creates on every cluster with its own Flux.
fn bootstrap_source() -> (String, String, String) {
    source_key("GitRepository", BOOTSTRAP, BOOTSTRAP)
}

#[cfg(test)]
mod tests;
