//! The render matrix: expands the fleet into units — one template context per cluster, per
//! cluster and environment, per tenant on a cluster, per app — each tied to a branch. This is
//! the only place that knows which combinations exist; blueprints only say which scope they
//! render for.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::model::keys::Value;
use crate::model::values::Values;
use crate::model::{Cluster, Environment, Fleet, Flux, Tenant};

/// What a blueprint renders once for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Main branch, once per cluster.
    Cluster,
    /// Main branch, once per cluster and environment it is a member of.
    Environment,
    /// Environment branch, once per member cluster.
    EnvironmentCluster,
    /// Environment branch, once per tenant on a member cluster (the tenant's sandbox there).
    Tenant,
    /// Environment branch, once per tenant and per cluster whose Flux reconciles the tenant's
    /// apps (its source lives there): the tenant's clusters with local Flux, and the managers
    /// of its remote clusters.
    TenantSource,
    /// Environment branch, once per app of a tenant on a member cluster.
    App,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetContext {
    pub repo_url: String,
    pub main_branch: String,
    pub secret_ref: Option<String>,
    /// The keys of the `secret_ref` Secret that Flux reads for `repo_url`.
    pub secret_keys: Vec<String>,
    pub interval: String,
    /// `validation.crossNamespaceRefs`: whether the fleet's Flux lets an object refer to a
    /// source in another namespace. Without it, each Cluster API cluster's namespace on its
    /// manager gets its own copies of the sources its Kustomizations use.
    pub cross_namespace_refs: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterContext {
    pub name: String,
    pub provider: String,
    pub flux: &'static str,
    pub remote: bool,
    pub capi: bool,
    pub manager: Option<String>,
    /// The cluster whose Flux applies this cluster's objects (itself, or its manager).
    pub driver: String,
    /// Clusters with FLUX=remote that this cluster drives.
    pub remotes: Vec<String>,
    /// The environments the cluster is in. A cluster-scope blueprint needs them only for what
    /// must exist in every environment's namespace before the cluster's own Flux does: the
    /// Git Secret a Cluster API cluster's manager hands over to each of them.
    pub environments: Vec<EnvironmentContext>,
    /// For a Cluster API cluster with its own Flux, the private tenant repositories' Secrets
    /// its manager creates in their tenant namespaces before Flux runs there, one per
    /// environment and tenant (`model::hand_over`). Empty for other clusters.
    pub tenant_secrets: Vec<TenantSecretContext>,
    /// Whether its manager creates Git Secrets on it before its Flux runs, through
    /// `<cluster>-flux-environments` (`Fleet::hands_over_environments`).
    pub hands_over_environments: bool,
    /// For a Cluster API cluster, the namespace on its manager where Cluster API writes
    /// `<cluster>-kubeconfig`: `<cluster>`, beside the Cluster object. A Flux Kustomization can
    /// only read a kubeconfig Secret in its own namespace, so everything the manager applies to
    /// such a cluster lives there. `none` for other clusters, whose kubeconfig the operator
    /// copies into each namespace that uses it.
    pub kubeconfig_namespace: Option<String>,
    /// The CNI chart version of a Cluster API cluster: CNI_VERSION, or the release fleetgen
    /// installs by default and checks KUBERNETES_VERSION against. `none` for CNI=none and for
    /// other clusters.
    pub cni_version: Option<String>,
    /// Every key of the fleet; unset optional keys are `none`.
    pub values: BTreeMap<String, Option<Value>>,
    /// Where each value written in the fleet source came from, with its text: render names
    /// the value whose text adds a key or document to a rendered file. Not seen by templates.
    #[serde(skip)]
    pub sources: Vec<ValueSource>,
}

/// The text of a value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSource {
    pub text: String,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentContext {
    pub name: String,
    pub branch: String,
    /// `<env>-flux-system`.
    pub namespace: String,
}

/// A tenant's Git Secret that a manager hands over (see `ClusterContext::tenant_secrets`).
#[derive(Debug, Clone, Serialize)]
pub struct TenantSecretContext {
    pub env: String,
    pub tenant: String,
    /// `<env>-<tenant>`.
    pub namespace: String,
    /// The tenant's `secretRef`.
    pub name: String,
    /// Each data key of the Secret with the post-build variable that fills it in.
    pub data: Vec<SecretVariable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretVariable {
    pub key: String,
    pub variable: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantContext {
    pub name: String,
    /// `<env>-<tenant>`.
    pub namespace: String,
    pub repo: String,
    pub branch: String,
    pub role: String,
    pub secret_ref: Option<String>,
    pub apps: Vec<String>,
    /// Whether the tenant runs on the unit's cluster itself (not only on its remotes).
    pub local: bool,
    /// The tenant's clusters that the unit's cluster drives remotely.
    pub remotes: Vec<String>,
    /// Those of `remotes` that Cluster API provisions: their apps' Kustomizations live in the
    /// cluster's own namespace on the manager (see `ClusterContext::kubeconfig_namespace`).
    pub capi_remotes: Vec<String>,
    /// The tenant file's values (see `ClusterContext::sources`).
    #[serde(skip)]
    pub sources: Vec<ValueSource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppContext {
    pub name: String,
    /// Name of the Flux Kustomization: the app name, prefixed with `<cluster>-` when the
    /// cluster is remote (several clusters' copies then share the manager's namespace), and
    /// with `<cluster>-<env>-<tenant>-` when the cluster is a remote Cluster API cluster (every
    /// environment's and tenant's copies then share the cluster's namespace).
    pub kustomization: String,
    /// Namespace of the Kustomization on the cluster whose Flux applies it: the tenant's
    /// namespace, or for a remote Cluster API cluster the cluster's namespace on the manager.
    pub namespace: String,
    /// Service account the Kustomization impersonates. Flux impersonates
    /// `system:serviceaccount:<Kustomization namespace>:<name>`, on the target cluster when it
    /// applies through a kubeconfig; in a remote Cluster API cluster's shared namespace the
    /// name is the tenant's namespace (`<env>-<tenant>`), so that each environment's copy of a
    /// tenant is a different identity, which the tenant's RoleBinding there names.
    pub service_account: String,
    /// Path in the tenant repository: `./<app>/<cluster>`.
    pub path: String,
}

/// What a template sees. The parts shared by many units are reference-counted: a large fleet
/// has tens of thousands of units, and most of them share a cluster, environment and tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub fleet: Arc<FleetContext>,
    pub cluster: Arc<ClusterContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Arc<EnvironmentContext>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Arc<TenantContext>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppContext>,
}

#[derive(Debug, Clone)]
pub struct Unit {
    pub scope: Scope,
    pub branch: String,
    pub context: Context,
}

impl Unit {
    /// Says which unit this is, for messages: `cluster k3d-america, environment dev`.
    pub fn describe(&self) -> String {
        let context = &self.context;
        let mut parts = vec![format!("cluster {}", context.cluster.name)];
        if let Some(env) = &context.env {
            parts.push(format!("environment {}", env.name));
        }
        if let Some(tenant) = &context.tenant {
            parts.push(format!("tenant {}", tenant.name));
        }
        if let Some(app) = &context.app {
            parts.push(format!("app {}", app.name));
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub main_branch: String,
    /// Environment branches to render, in environment-name order.
    pub branches: Vec<String>,
    pub units: Vec<Unit>,
}

/// Expands `fleet` for the selected environments (all when `selected` is empty). The main
/// branch is always planned in full: it holds every environment's entry points.
pub fn plan(fleet: &Fleet, selected: &[String]) -> Plan {
    let fleet_context = Arc::new(FleetContext {
        repo_url: fleet.repo.url.clone(),
        main_branch: fleet.repo.main_branch.clone(),
        secret_ref: fleet.repo.secret_ref.clone(),
        secret_keys: fleet
            .repo
            .secret_keys()
            .iter()
            .map(|key| (*key).to_owned())
            .collect(),
        interval: fleet.repo.interval.clone(),
        cross_namespace_refs: fleet.validation.cross_namespace_refs,
    });
    let remotes = fleet.remotes_by_driver();
    let remotes_of = |driver: &str| remotes.get(driver).map_or(&[][..], Vec::as_slice);
    let mut units = Vec::new();
    let main = fleet.repo.main_branch.clone();
    for cluster in fleet.clusters.values() {
        let context = Context {
            fleet: fleet_context.clone(),
            cluster: Arc::new(cluster_context(
                fleet,
                cluster,
                &cluster.values,
                remotes_of(&cluster.name),
            )),
            env: None,
            tenant: None,
            app: None,
        };
        units.push(Unit {
            scope: Scope::Cluster,
            branch: main.clone(),
            context,
        });
    }
    let mut branches = Vec::new();
    for env in fleet.environments.values() {
        let env_context = Arc::new(environment_context(env));
        let render_branch = selected.is_empty() || selected.contains(&env.name);
        if render_branch {
            branches.push(env.branch.clone());
        }
        for (cluster, values) in fleet.env_clusters(env) {
            let context = Context {
                fleet: fleet_context.clone(),
                cluster: Arc::new(cluster_context(
                    fleet,
                    cluster,
                    values,
                    remotes_of(&cluster.name),
                )),
                env: Some(env_context.clone()),
                tenant: None,
                app: None,
            };
            units.push(Unit {
                scope: Scope::Environment,
                branch: main.clone(),
                context: context.clone(),
            });
            if !render_branch {
                continue;
            }
            units.push(Unit {
                scope: Scope::EnvironmentCluster,
                branch: env.branch.clone(),
                context: context.clone(),
            });
            for (tenant_name, membership) in &env.tenants {
                let tenant = &fleet.tenants[tenant_name];
                let on_cluster = membership.clusters.contains(&cluster.name);
                let remotes: Vec<&Cluster> = remotes_of(&cluster.name)
                    .iter()
                    .copied()
                    .filter(|remote| {
                        membership.clusters.contains(&remote.name)
                            && env.clusters.contains_key(&remote.name)
                    })
                    .collect();
                let tenant_context = |local: bool, remotes: &[&Cluster]| {
                    tenant_context(
                        env,
                        tenant,
                        values,
                        &membership.branch,
                        &membership.apps,
                        local,
                        remotes,
                    )
                };
                if on_cluster {
                    let tenant = Arc::new(tenant_context(true, &[]));
                    units.push(Unit {
                        scope: Scope::Tenant,
                        branch: env.branch.clone(),
                        context: Context {
                            tenant: Some(tenant.clone()),
                            ..context.clone()
                        },
                    });
                    for app in &membership.apps {
                        let tenant_namespace = env.tenant_namespace(tenant_name);
                        let (kustomization, namespace, service_account) =
                            match (cluster.is_remote(), cluster.is_capi()) {
                                (true, true) => (
                                    format!("{}-{}-{tenant_name}-{app}", cluster.name, env.name),
                                    cluster.name.clone(),
                                    tenant_namespace,
                                ),
                                (true, false) => (
                                    format!("{}-{app}", cluster.name),
                                    tenant_namespace,
                                    tenant_name.clone(),
                                ),
                                (false, _) => (app.clone(), tenant_namespace, tenant_name.clone()),
                            };
                        let app = AppContext {
                            name: app.clone(),
                            kustomization,
                            namespace,
                            service_account,
                            path: format!("./{app}/{}", cluster.name),
                        };
                        units.push(Unit {
                            scope: Scope::App,
                            branch: env.branch.clone(),
                            context: Context {
                                tenant: Some(tenant.clone()),
                                app: Some(app),
                                ..context.clone()
                            },
                        });
                    }
                }
                let drives_tenant =
                    cluster.flux == Flux::Local && (on_cluster || !remotes.is_empty());
                if drives_tenant {
                    units.push(Unit {
                        scope: Scope::TenantSource,
                        branch: env.branch.clone(),
                        context: Context {
                            tenant: Some(Arc::new(tenant_context(on_cluster, &remotes))),
                            ..context.clone()
                        },
                    });
                }
            }
        }
    }
    Plan {
        main_branch: main,
        branches,
        units,
    }
}

fn environment_context(env: &Environment) -> EnvironmentContext {
    EnvironmentContext {
        name: env.name.clone(),
        branch: env.branch.clone(),
        namespace: env.flux_namespace(),
    }
}

/// The context of `cluster` with `values`; `remotes` are the clusters its Flux drives.
fn cluster_context(
    fleet: &Fleet,
    cluster: &Cluster,
    values: &Values,
    remotes: &[&Cluster],
) -> ClusterContext {
    let rendered = fleet
        .keys
        .names()
        .map(|key| (key.to_owned(), values.value(key).cloned()))
        .collect();
    let sources = values
        .iter()
        .filter_map(|(_, resolved)| {
            Some(ValueSource {
                text: resolved.value.to_string(),
                location: resolved.location.clone()?,
            })
        })
        .collect();
    ClusterContext {
        name: cluster.name.clone(),
        provider: cluster.provider.clone(),
        flux: match cluster.flux {
            Flux::Local => "local",
            Flux::Remote => "remote",
        },
        remote: cluster.is_remote(),
        capi: cluster.is_capi(),
        manager: cluster.manager.clone(),
        driver: cluster.driver().to_owned(),
        remotes: remotes.iter().map(|remote| remote.name.clone()).collect(),
        environments: fleet
            .environments
            .values()
            .filter(|env| env.clusters.contains_key(&cluster.name))
            .map(environment_context)
            .collect(),
        hands_over_environments: fleet.hands_over_environments(cluster),
        tenant_secrets: fleet
            .tenant_hand_overs(cluster)
            .iter()
            .map(|hand_over| TenantSecretContext {
                env: hand_over.env.name.clone(),
                tenant: hand_over.tenant.name.clone(),
                namespace: hand_over.namespace(),
                name: hand_over.secret.to_owned(),
                data: hand_over
                    .variables()
                    .into_iter()
                    .map(|(key, variable)| SecretVariable {
                        key: key.to_owned(),
                        variable,
                    })
                    .collect(),
            })
            .collect(),
        kubeconfig_namespace: cluster.is_capi().then(|| cluster.name.clone()),
        cni_version: cluster
            .is_capi()
            .then(|| crate::model::capi::cni_version(cluster))
            .flatten(),
        values: rendered,
        sources,
    }
}

fn tenant_context(
    env: &Environment,
    tenant: &Tenant,
    values: &Values,
    branch: &str,
    apps: &[String],
    local: bool,
    remotes: &[&Cluster],
) -> TenantContext {
    TenantContext {
        name: tenant.name.clone(),
        namespace: env.tenant_namespace(&tenant.name),
        repo: tenant.repo.clone(),
        branch: branch.to_owned(),
        role: tenant
            .role
            .clone()
            .or_else(|| values.text("TENANT_ROLE").map(str::to_owned))
            .unwrap_or_else(|| "admin".to_owned()),
        secret_ref: tenant.secret_ref.clone(),
        apps: apps.to_vec(),
        local,
        remotes: remotes.iter().map(|remote| remote.name.clone()).collect(),
        capi_remotes: remotes
            .iter()
            .filter(|remote| remote.is_capi())
            .map(|remote| remote.name.clone())
            .collect(),
        sources: [
            Some(&tenant.repo),
            tenant.role.as_ref(),
            tenant.secret_ref.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|text| ValueSource {
            text: text.clone(),
            location: Location::file(&tenant.file),
        })
        .collect(),
    }
}
