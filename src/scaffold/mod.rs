//! Scaffolding: the commands that edit the fleet source for the user — `init`,
//! `init-environment`, `add-cluster`, `add-remote-cluster`, `add-tenant`, `add-app` and the
//! matching `remove-*` commands.
//!
//! They replace the seed repositories' scripts, and are built against those scripts' failures:
//! every command only creates, deletes or line-preservingly edits files of the fleet source
//! (never the rendered output, never a cluster); checks names and references before anything
//! is written; checks that the fleet still loads and renders on a staged copy; writes all its
//! files or none; changes nothing when run twice; and says what it did, what Flux will prune,
//! which Secrets the operator must create, and what comes next.
//!
//! Each command returns a [`Proposal`]; [`finish`] checks it, applies it (unless it is a dry
//! run) and returns the [`Outcome`] the command line prints.

mod changes;
mod cluster;
mod environment;
mod init;
mod inventory;
mod source;
mod stage;

#[cfg(test)]
pub(crate) use stage::copy_dir;
mod tenant;
mod text;
mod yaml_edit;

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::model::names;
use crate::validate::{
    self,
    secrets::{Provider, Secret},
};

pub use changes::{ChangeSet, FileChange, slash as slash_path, unified_diff};
pub use cluster::{AddCluster, RemoveCluster, add_cluster, add_remote_cluster, remove_cluster};
pub use environment::{InitEnvironment, init_environment};
pub use init::{Ci, Init, init};
pub use inventory::{Applier, Inventory, ObjectId};
pub use tenant::{
    AddApp, AddTenant, RemoveApp, RemoveTenant, add_app, add_tenant, remove_app, remove_tenant,
};

/// What a command wants to change, before it is checked and written.
#[derive(Debug)]
pub struct Proposal {
    pub changes: ChangeSet,
    /// Why there is nothing to do, said when `changes` is empty.
    pub unchanged: String,
    pub notes: Vec<String>,
    pub next: Vec<String>,
}

impl Proposal {
    pub fn new(root: &Path) -> Self {
        Self {
            changes: ChangeSet::new(root),
            unchanged: String::new(),
            notes: Vec::new(),
            next: Vec::new(),
        }
    }
}

/// What a command did, or would do on a dry run.
#[derive(Debug)]
pub struct Outcome {
    pub changes: Vec<FileChange>,
    pub dry_run: bool,
    /// Set when there was nothing to do.
    pub unchanged: Option<String>,
    pub notes: Vec<String>,
    /// Placeholders left for the user, as the loader reports them.
    pub fill_in: Vec<Diagnostic>,
    /// Secrets the operator must create because of this change (fleetgen never handles
    /// secret material): those the fleet needs after it and did not need before.
    pub secrets: Vec<Secret>,
    /// What Flux will prune on its next reconciliation, cluster by cluster.
    pub prune: Vec<String>,
    pub next: Vec<String>,
}

impl Outcome {
    pub fn diff(&self) -> String {
        unified_diff(&self.changes)
    }
}

/// Checks `proposal` on a staged copy of the fleet, then writes it unless `dry_run`.
pub fn finish(root: &Path, proposal: Proposal, dry_run: bool) -> Result<Outcome> {
    let Proposal {
        changes,
        unchanged,
        notes,
        next,
    } = proposal;
    if changes.is_empty() {
        return Ok(Outcome {
            changes: Vec::new(),
            dry_run,
            unchanged: Some(unchanged),
            notes,
            fill_in: Vec::new(),
            secrets: Vec::new(),
            prune: Vec::new(),
            next: Vec::new(),
        });
    }
    let changes = changes.into_changes();
    let staged = stage::check(root, &changes)?;
    let before = staged.before.as_ref().map(Analysis::of).transpose()?;
    let after = staged.after.as_ref().map(Analysis::of).transpose()?;
    let prune = match (&staged.before, &before, &staged.after, &after) {
        (Some(before_fleet), Some(before), Some(after_fleet), Some(after)) => {
            prune_report(before_fleet, before, after_fleet, after)
        }
        (Some(_), _, None, _) => vec![
            "what Flux will apply and prune is known once the placeholders are filled in"
                .to_owned(),
        ],
        _ => Vec::new(),
    };
    // The Secrets the operator provides that the fleet needs after the change and did not
    // before, from the same derivation as `fleetgen secrets`.
    let secrets = match &after {
        Some(after) => after
            .secrets
            .iter()
            .filter_map(|secret| added(before.as_ref().map(|b| b.secrets.as_slice()), secret))
            .collect(),
        None => Vec::new(),
    };
    if !dry_run {
        changes::apply(root, &changes)?;
    }
    Ok(Outcome {
        changes,
        dry_run,
        unchanged: None,
        notes,
        fill_in: staged.fill_in,
        secrets,
        prune,
        next,
    })
}

/// What of `secret` the operator has to add after a change: all of it when no Secret of that
/// cluster, namespace and name was needed before, the keys it did not have when one was (a
/// manager's `<cluster>-flux-system` gains a tenant's keys when a private tenant comes to the
/// cluster), nothing otherwise.
fn added(before: Option<&[Secret]>, secret: &Secret) -> Option<Secret> {
    let Some(had) = before.into_iter().flatten().find(|had| {
        (&had.cluster, &had.namespace, &had.name)
            == (&secret.cluster, &secret.namespace, &secret.name)
    }) else {
        return Some(secret.clone());
    };
    let keys: Vec<String> = secret
        .keys
        .iter()
        .filter(|key| !had.keys.contains(key))
        .cloned()
        .collect();
    if keys.is_empty() {
        return None;
    }
    Some(Secret {
        purpose: format!("add to the Secret you created: {}", secret.purpose),
        keys,
        optional_keys: Vec::new(),
        ..secret.clone()
    })
}

/// What a compiled fleet puts on each cluster, and the Secrets the operator must provide for
/// it, from one walk of its Flux graph.
struct Analysis {
    inventory: Inventory,
    secrets: Vec<Secret>,
}

impl Analysis {
    fn of(compiled: &crate::pipeline::Compiled) -> Result<Self> {
        let (fleet, rendered) = (&compiled.fleet, &compiled.rendered);
        let (schemas, _) = validate::load_schemas(fleet, Some(rendered))?;
        let (documents, _) = validate::parse::parse_branches(&rendered.branches);
        let simulation = validate::graph::simulate(fleet, rendered, &documents, &schemas);
        let secrets = validate::secrets::needed(fleet, &simulation)
            .into_iter()
            .filter(|secret| secret.provided_by == Provider::Operator)
            .collect();
        Ok(Self {
            inventory: inventory::of(&simulation),
            secrets,
        })
    }
}

fn prune_report(
    before: &crate::pipeline::Compiled,
    old: &Analysis,
    after: &crate::pipeline::Compiled,
    new: &Analysis,
) -> Vec<String> {
    let (old, new) = (&old.inventory, &new.inventory);
    // A cluster with its own Flux that leaves the fleet loses its entry point: its Flux stops
    // at "path not found" and prunes nothing, neither on itself nor on the clusters it drives.
    let stopped: Vec<&String> = before
        .fleet
        .clusters
        .values()
        .filter(|was| !was.is_remote() && !after.fleet.clusters.contains_key(&was.name))
        .map(|was| &was.name)
        .collect();
    let mut lines = Vec::new();
    for cluster in &stopped {
        lines.push(format!(
            "{cluster}: clusters/{cluster} leaves the {} branch, so the Flux there stops at `path not found` and prunes nothing; uninstall it (`flux uninstall`) or retire the cluster",
            after.fleet.repo.main_branch
        ));
    }
    for (cluster, lost) in inventory::pruned(old, new) {
        let lost: Vec<_> = lost
            .into_iter()
            .filter(|(_, applier)| !stopped.contains(&&applier.cluster))
            .collect();
        if lost.is_empty() {
            continue;
        }
        let mut shown = Vec::new();
        let mut kept = Vec::new();
        let mut others: BTreeMap<String, usize> = BTreeMap::new();
        for (id, applier) in &lost {
            let notable = matches!(
                (id.group.as_str(), id.kind.as_str()),
                ("", "Namespace")
                    | ("kustomize.toolkit.fluxcd.io", "Kustomization")
                    | ("helm.toolkit.fluxcd.io", "HelmRelease")
                    | ("cluster.x-k8s.io", "Cluster")
            );
            if applier.kept {
                // A Cluster API cluster's namespace holds the cloud credentials its teardown
                // needs, so Flux never deletes it (capi-cluster blueprint).
                kept.push(format!(
                    "  {}: its prune is disabled; delete it yourself once what it holds is gone (for a Cluster API cluster, after its Cluster has been deleted)",
                    id.describe()
                ));
            } else if notable {
                let mut line = format!("  {}", id.describe());
                if id.kind == "Cluster" {
                    line.push_str(" — Cluster API deletes the cluster and its machines");
                }
                if applier.cluster != cluster {
                    line.push_str(&format!(" (applied from {})", applier.cluster));
                }
                shown.push(line);
            } else {
                *others.entry(id.kind.clone()).or_default() += 1;
            }
        }
        lines.push(format!(
            "Flux prunes from {cluster} on its next reconciliation:"
        ));
        lines.extend(shown);
        if !others.is_empty() {
            let total: usize = others.values().sum();
            let kinds: Vec<String> = others.keys().cloned().collect();
            lines.push(format!(
                "  and {total} other object{} ({})",
                if total == 1 { "" } else { "s" },
                kinds.join(", ")
            ));
        }
        if !kept.is_empty() {
            lines.push(format!("Flux leaves on {cluster}:"));
            lines.extend(kept);
        }
    }
    lines
}

/// Refuses a name that cannot become a Kubernetes name (or would be a path).
fn check_name(problems: &mut Diagnostics, what: &str, name: &str) -> bool {
    match names::check_label(name) {
        Ok(()) => true,
        Err(problem) => {
            problems.push(
                Diagnostic::error(
                    "invalid-name",
                    format!("{what} name `{}` is not valid: {problem}", crate::diagnostic::truncate(name)),
                )
                .with_hint("names become Kubernetes names: lower-case letters, digits and `-`, at most 63 characters"),
            );
            false
        }
    }
}

fn refuse(problems: &mut Diagnostics) -> Result<()> {
    if problems.has_errors() {
        Err(Error::Invalid(std::mem::take(problems)))
    } else {
        Ok(())
    }
}

/// A file that cannot be edited in place, as a finding at that file.
fn edit_error(path: &Path, message: String) -> Error {
    Error::Invalid(
        [Diagnostic::error("cannot-edit", message).at_file(path)]
            .into_iter()
            .collect(),
    )
}
