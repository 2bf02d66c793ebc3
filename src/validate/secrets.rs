//! The Secrets a fleet needs, per cluster and namespace. Secrets never enter the rendered
//! trees, so this list is what an operator (or an external-secrets setup) works from; the
//! graph checks use the kubeconfig part of it to tell a `kubeConfig.secretRef` that will exist
//! from one that never will.
//!
//! Two kinds of knowledge meet here: fleet facts (a remote cluster needs its kubeconfig in
//! every namespace its manager's Flux drives it from; Cluster API writes `<cluster>-kubeconfig`
//! in the cluster's namespace; OpenStack needs a clouds.yaml), and the `secretRef`s of the
//! rendered objects that reach each cluster.

use std::collections::BTreeMap;

use super::kept::Kept;
use serde::Serialize;

use super::graph::Simulation;
use crate::model::Fleet;
use crate::model::hand_over::TenantHandOver;

/// Who makes a Secret exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// The operator creates it (by hand, SOPS, or an external-secrets setup).
    Operator,
    /// Cluster API writes it when it provisions the cluster.
    ClusterApi,
    /// `clusterctl init` creates it with the infrastructure provider.
    Clusterctl,
    /// The manager's Flux creates it in a Cluster API cluster it installs Flux into, from a
    /// Secret the operator creates on the manager.
    Manager,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Operator => "you",
            Provider::ClusterApi => "Cluster API",
            Provider::Clusterctl => "clusterctl init",
            Provider::Manager => "the manager's Flux",
        })
    }
}

/// One Secret the fleet needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secret {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub purpose: String,
    pub provided_by: Provider,
    /// The data keys the consumer reads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Data keys the consumer reads when present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optional_keys: Vec<String>,
    /// The Secret's `type`, when the consumer requires one other than `Opaque`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// Labels the Secret must carry, `key=value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Rendered objects that reference it: `<branch>/<path>:<line> Kind namespace/name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referenced_by: Vec<String>,
}

impl Secret {
    fn new(
        cluster: &str,
        namespace: &str,
        name: &str,
        provided_by: Provider,
        purpose: String,
        keys: &[&str],
    ) -> Self {
        Self {
            cluster: cluster.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            purpose,
            provided_by,
            keys: keys.iter().map(|key| (*key).to_owned()).collect(),
            optional_keys: Vec::new(),
            secret_type: None,
            labels: Vec::new(),
            referenced_by: Vec::new(),
        }
    }

    fn optional(mut self, keys: &[&str]) -> Self {
        self.optional_keys = keys.iter().map(|key| (*key).to_owned()).collect();
        self
    }

    fn of_type(mut self, secret_type: &str) -> Self {
        self.secret_type = Some(secret_type.to_owned());
        self
    }

    /// `clusterctl move` takes along only the Secrets with this label, so a cluster moved to
    /// another manager keeps its credentials.
    fn moved_with_cluster(mut self) -> Self {
        self.labels = vec![format!("{CLUSTERCTL_MOVE}=true")];
        self
    }
}

const CLUSTERCTL_MOVE: &str = "clusterctl.cluster.x-k8s.io/move";

/// The kubeconfig Secrets the fleet provides: Cluster API's for each cluster it provisions,
/// and one per namespace from which a manager's Flux drives a remote cluster.
pub fn kubeconfig_secrets(fleet: &Fleet) -> Vec<Secret> {
    let mut secrets = Vec::new();
    for cluster in fleet.clusters.values() {
        let name = format!("{}-kubeconfig", cluster.name);
        if let (true, Some(manager)) = (cluster.is_capi(), &cluster.manager) {
            secrets.push(Secret::new(
                manager,
                &cluster.name,
                &name,
                Provider::ClusterApi,
                format!(
                    "kubeconfig of cluster {}, written when Cluster API provisions it",
                    cluster.name
                ),
                &["value"],
            ));
        }
        // A Cluster API cluster's manager applies to it from the cluster's own namespace, next
        // to the Secret Cluster API writes: no copy is needed. (A fleet blueprint that
        // references it elsewhere still gets that copy listed, from its rendered reference.)
        if !cluster.is_remote() || cluster.is_capi() {
            continue;
        }
        let driver = cluster.driver();
        secrets.push(Secret::new(
            driver,
            super::graph::BOOTSTRAP,
            &name,
            Provider::Operator,
            format!(
                "kubeconfig of remote cluster {} for {driver}'s Flux, main branch",
                cluster.name
            ),
            &["value"],
        ));
        for env in fleet
            .environments
            .values()
            .filter(|env| env.clusters.contains_key(&cluster.name))
        {
            secrets.push(Secret::new(
                driver,
                &env.flux_namespace(),
                &name,
                Provider::Operator,
                format!(
                    "kubeconfig of remote cluster {} for {driver}'s Flux, environment {}",
                    cluster.name, env.name
                ),
                &["value"],
            ));
            for (tenant, membership) in &env.tenants {
                if membership.clusters.contains(&cluster.name) {
                    secrets.push(Secret::new(
                        driver,
                        &env.tenant_namespace(tenant),
                        &name,
                        Provider::Operator,
                        format!("kubeconfig of remote cluster {} for tenant {tenant}'s apps in environment {}", cluster.name, env.name),
                        &["value"],
                    ));
                }
            }
        }
    }
    secrets
}

/// Every Secret the fleet needs, by cluster, namespace and name.
pub fn needed(fleet: &Fleet, simulation: &Simulation<'_>) -> Vec<Secret> {
    let mut secrets: BTreeMap<(String, String, String), Secret> = BTreeMap::new();
    let mut add = |secret: Secret| {
        secrets
            .entry((
                secret.cluster.clone(),
                secret.namespace.clone(),
                secret.name.clone(),
            ))
            .or_insert(secret);
    };
    for secret in kubeconfig_secrets(fleet) {
        add(secret);
    }
    for env in fleet.environments.values() {
        let drivers: std::collections::BTreeSet<&str> = fleet
            .env_clusters(env)
            .map(|(cluster, _)| cluster.driver())
            .collect();
        if let Some(secret) = &fleet.repo.secret_ref {
            // A Cluster API cluster with its own Flux gets these from its manager (below).
            for driver in drivers
                .iter()
                .filter(|driver| !is_handed_over(fleet, driver))
            {
                add(Secret::new(
                    driver,
                    &env.flux_namespace(),
                    secret,
                    Provider::Operator,
                    format!("Git credentials for the fleet repo, branch {}", env.branch),
                    &[],
                ));
            }
        }
        for (tenant_name, membership) in &env.tenants {
            let Some(secret) = fleet
                .tenants
                .get(tenant_name)
                .and_then(|tenant| tenant.secret_ref.as_ref())
            else {
                continue;
            };
            let hosts: std::collections::BTreeSet<&str> = membership
                .clusters
                .iter()
                .filter_map(|name| fleet.clusters.get(name))
                .map(|cluster| cluster.driver())
                .collect();
            // A Cluster API cluster with its own Flux gets it from its manager (below).
            for host in hosts
                .into_iter()
                .filter(|host| !is_handed_over(fleet, host))
            {
                add(Secret::new(
                    host,
                    &env.tenant_namespace(tenant_name),
                    secret,
                    Provider::Operator,
                    format!("Git credentials for tenant {tenant_name}'s repository"),
                    &[],
                ));
            }
        }
    }
    for cluster in fleet.clusters.values() {
        let Some(manager) = &cluster.manager else {
            continue;
        };
        if cluster.is_capi() && !cluster.is_remote() {
            for secret in hand_over(fleet, cluster, manager) {
                add(secret);
            }
        }
        match cluster.provider.as_str() {
            "openstack" => {
                add(Secret::new(
                    manager,
                    &cluster.name,
                    &format!("{}-cloud-config", cluster.name),
                    Provider::Operator,
                    format!(
                        "OpenStack credentials of cluster {} for the OpenStack provider (clouds.yaml with the cloud OPENSTACK_CLOUD; cacert when the API's certificate is not publicly trusted)",
                        cluster.name
                    ),
                    &["clouds.yaml"],
                )
                .optional(&["cacert"])
                .moved_with_cluster());
                add(Secret::new(
                    manager,
                    &cluster.name,
                    &format!("{}-cloud-controller-manager", cluster.name),
                    Provider::Operator,
                    format!(
                        "the cloud controller manager's credentials, which a ClusterResourceSet applies to cluster {}: cloud-config.yaml is the manifest of Secret kube-system/cloud-config with key cloud.conf",
                        cluster.name
                    ),
                    &["cloud-config.yaml"],
                )
                .of_type("addons.cluster.x-k8s.io/resource-set")
                .moved_with_cluster());
            }
            "aws" => add(Secret::new(
                manager,
                "capa-system",
                "capa-manager-bootstrap-credentials",
                Provider::Clusterctl,
                "AWS credentials of the AWS provider's controllers".to_owned(),
                &["credentials"],
            )),
            _ => {}
        }
    }
    for (cluster, applied) in &simulation.clusters {
        for entry in applied {
            let object = &entry.object;
            let document = object.document;
            let namespace = object.namespace.clone().unwrap_or_default();
            for (pointer, purpose) in references(document) {
                let Some(name) = document.value.pointer(&pointer).and_then(Kept::as_str) else {
                    continue;
                };
                let location = document.location(&pointer);
                let reference = format!(
                    "{}:{} {}",
                    location.file.display(),
                    location.line,
                    object.describe()
                );
                let key = (cluster.clone(), namespace.to_string(), name.to_owned());
                if pointer.contains("kubeConfig") && !secrets.contains_key(&key) {
                    // Not a Secret the fleet provides: the graph check reports it.
                    continue;
                }
                secrets
                    .entry(key)
                    .or_insert_with(|| {
                        Secret::new(cluster, &namespace, name, Provider::Operator, purpose, &[])
                    })
                    .referenced_by
                    .push(reference);
            }
        }
    }
    let mut list: Vec<Secret> = secrets.into_values().collect();
    for secret in &mut list {
        secret.referenced_by.sort();
        secret.referenced_by.dedup();
    }
    list
}

/// Whether the Git Secrets of `cluster` come from its manager's hand-over: it is a Cluster
/// API cluster with its own Flux.
fn is_handed_over(fleet: &Fleet, cluster: &str) -> bool {
    fleet.clusters.get(cluster).is_some_and(|cluster| {
        cluster.is_capi() && !cluster.is_remote() && cluster.manager.is_some()
    })
}

/// A Cluster API cluster with its own Flux cannot fetch the fleet repo before it has the
/// repo's Secret, in `flux-system` and in each environment's namespace, nor a private tenant
/// repository before it has that one's in the tenant's namespace; and nobody can create them
/// there before the cluster exists. The manager's hand-over Kustomizations `<cluster>-flux`
/// and `<cluster>-flux-environments` create them, from post-build variables they take from a
/// Secret in the cluster's namespace on the manager (capi-flux). That one is the operator's,
/// and one is enough: the fleet names a single `secretRef` for its repo, so every branch's
/// GitRepository reads the same credential, under the same keys; a tenant names one for its
/// repository, so each of its environments reads the same one too, under keys of its own
/// (`model::hand_over::tenant_variable`), which keeps one credential in one place on the
/// manager rather than one Secret per tenant and environment to keep in step.
fn hand_over(fleet: &Fleet, cluster: &crate::model::Cluster, manager: &str) -> Vec<Secret> {
    let source = format!("{}-flux-system", cluster.name);
    let name = &cluster.name;
    let from = format!("from Secret {name}/{source} on {manager}");
    let mut keys: Vec<String> = Vec::new();
    let mut parts = Vec::new();
    let mut secrets = Vec::new();
    if let Some(secret) = &fleet.repo.secret_ref {
        let repo_keys = fleet.repo.secret_keys();
        keys.extend(repo_keys.iter().map(|key| (*key).to_owned()));
        let environments: Vec<&crate::model::Environment> = fleet
            .environments
            .values()
            .filter(|env| env.clusters.contains_key(name))
            .collect();
        let mut targets = vec!["flux-system".to_owned()];
        targets.extend(environments.iter().map(|env| env.flux_namespace()));
        let writers = if environments.is_empty() {
            format!("the Kustomization {name}-flux writes")
        } else {
            format!("the Kustomizations {name}-flux and {name}-flux-environments write")
        };
        parts.push(format!(
            "the fleet repo's credentials for {name}'s own Flux: the keys of its Secret {secret}, each value base64-encoded as in that Secret's data; {writers} them into Secret {secret} in {} on {name}",
            targets.join(", ")
        ));
        secrets.push(Secret::new(
            name,
            "flux-system",
            secret,
            Provider::Manager,
            format!("Git credentials for the fleet repo, {from}"),
            repo_keys,
        ));
        for env in environments {
            secrets.push(Secret::new(
                name,
                &env.flux_namespace(),
                secret,
                Provider::Manager,
                format!(
                    "Git credentials for the fleet repo, branch {}, {from}",
                    env.branch
                ),
                repo_keys,
            ));
        }
    }
    // One entry per tenant, with the namespaces of all its environments.
    let mut tenants: BTreeMap<&str, (TenantHandOver<'_>, Vec<String>)> = BTreeMap::new();
    for tenant in fleet.tenant_hand_overs(cluster) {
        let namespace = tenant.namespace();
        secrets.push(Secret::new(
            name,
            &namespace,
            tenant.secret,
            Provider::Manager,
            format!(
                "Git credentials for tenant {}'s repository, {from}",
                tenant.tenant.name
            ),
            tenant.tenant.secret_keys(),
        ));
        tenants
            .entry(&tenant.tenant.name)
            .or_insert_with(|| (tenant, Vec::new()))
            .1
            .push(namespace);
    }
    for (tenant, namespaces) in tenants.values() {
        let variables: Vec<String> = tenant
            .variables()
            .into_iter()
            .map(|(_, variable)| variable)
            .collect();
        parts.push(format!(
            "tenant {}'s repository credentials as `{}` (the keys `{}` of its Secret {}, each value base64-encoded likewise), which the Kustomization {name}-flux-environments writes into Secret {} in {} on {name}",
            tenant.tenant.name,
            variables.join("`, `"),
            tenant.tenant.secret_keys().join("`, `"),
            tenant.secret,
            tenant.secret,
            namespaces.join(", ")
        ));
        keys.extend(variables);
    }
    if parts.is_empty() {
        return Vec::new();
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    secrets.insert(
        0,
        Secret::new(
            manager,
            name,
            &source,
            Provider::Operator,
            parts.join("; and "),
            &keys,
        ),
    );
    secrets
}

/// The Secret references of a rendered object: JSON pointer of the name, and what it is for.
fn references(document: &super::Document) -> Vec<(String, String)> {
    let group = document.group_version().map_or("", |(group, _)| group);
    let kind = document.kind().unwrap_or_default();
    let url = document.str_at("/spec/url").unwrap_or("?");
    let mut found = Vec::new();
    match (group, kind) {
        ("source.toolkit.fluxcd.io", "GitRepository") => {
            found.push((
                "/spec/secretRef/name".to_owned(),
                format!("Git credentials for {url}"),
            ));
            found.push((
                "/spec/verify/secretRef/name".to_owned(),
                format!("keys to verify commits of {url}"),
            ));
        }
        ("source.toolkit.fluxcd.io", "HelmRepository") => {
            found.push((
                "/spec/secretRef/name".to_owned(),
                format!("credentials for the Helm repository {url}"),
            ));
        }
        ("source.toolkit.fluxcd.io", "OCIRepository") => {
            found.push((
                "/spec/secretRef/name".to_owned(),
                format!("registry credentials for {url}"),
            ));
        }
        ("source.toolkit.fluxcd.io", "Bucket") => {
            found.push((
                "/spec/secretRef/name".to_owned(),
                "credentials for the bucket".to_owned(),
            ));
        }
        ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
            found.push((
                "/spec/decryption/secretRef/name".to_owned(),
                "SOPS decryption keys".to_owned(),
            ));
            found.push((
                "/spec/kubeConfig/secretRef/name".to_owned(),
                "kubeconfig of the target cluster".to_owned(),
            ));
            push_list(
                document,
                "/spec/postBuild/substituteFrom",
                "variables for post-build substitution",
                &mut found,
            );
        }
        ("helm.toolkit.fluxcd.io", "HelmRelease") => {
            found.push((
                "/spec/kubeConfig/secretRef/name".to_owned(),
                "kubeconfig of the target cluster".to_owned(),
            ));
            push_list(document, "/spec/valuesFrom", "Helm values", &mut found);
        }
        ("notification.toolkit.fluxcd.io", "Provider") => {
            found.push((
                "/spec/secretRef/name".to_owned(),
                "credentials of the notification provider".to_owned(),
            ));
        }
        _ => {}
    }
    found
}

/// Entries of a `[{kind, name}]` list that name Secrets.
fn push_list(
    document: &super::Document,
    pointer: &str,
    purpose: &str,
    found: &mut Vec<(String, String)>,
) {
    for (index, entry) in document.value.list_at(pointer).iter().enumerate() {
        if entry.get("kind").and_then(Kept::as_str) == Some("Secret") {
            found.push((format!("{pointer}/{index}/name"), purpose.to_owned()));
        }
    }
}
