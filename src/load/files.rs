//! The YAML input files, as serde types. Unknown keys are errors (`deny_unknown_fields`), so a
//! typo never silently drops a setting.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;

/// `fleet/fleet.yaml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FleetFile {
    pub repo: RepoSettings,
    /// Where `render` writes, relative to the fleet root. Default `out`.
    #[serde(default)]
    pub output: Option<String>,
    /// Cluster key values applied to every cluster, below the cluster files.
    #[serde(default)]
    pub defaults: BTreeMap<String, Scalar>,
    /// Keys the fleet's own blueprints use, in addition to fleetgen's.
    #[serde(default)]
    pub keys: BTreeMap<String, CustomKey>,
    #[serde(default)]
    pub validation: ValidationSettings,
    /// The ClusterRoles tenants may be bound to (tenant `role:` and the TENANT_ROLE key).
    /// Default: admin, edit, view. `cluster-admin` is refused even when listed.
    #[serde(default)]
    pub tenant_roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RepoSettings {
    /// The URL Flux clones the fleet repo from.
    pub url: String,
    /// Local clone that `diff`, `check` and `commit` work on, relative to the fleet root.
    /// Default: the Git repository the fleet source is in.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub main_branch: Option<String>,
    /// Secret with the Git credentials Flux uses for the environment branches.
    #[serde(default)]
    pub secret_ref: Option<String>,
    /// How often Flux polls the fleet repo. Default `1m`.
    #[serde(default)]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomKey {
    /// text, count, port, bool, cidr, version, duration, name, ip-list or enum.
    #[serde(rename = "type")]
    pub ty: String,
    /// For `type: enum`.
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub default: Option<Scalar>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub per_environment: bool,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidationSettings {
    /// Files or directories of CustomResourceDefinitions to validate custom resources with,
    /// over the embedded ones (Flux, Cluster API and its providers).
    #[serde(default)]
    pub crds: Vec<String>,
    /// A Kubernetes OpenAPI document or JSON Schema definitions for the built-in kinds, over
    /// the embedded ones.
    #[serde(default)]
    pub kubernetes: Option<String>,
    /// The Kubernetes minor whose embedded definitions validate the built-in kinds, e.g.
    /// `1.34`. Default: the oldest embedded minor (`fleetgen schemas` lists them).
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    /// Whether Flux objects outside tenant namespaces may reference sources and dependencies in
    /// other namespaces. Flux allows it unless its controllers run with
    /// `--no-cross-namespace-refs`; set this to false on such a fleet to have every such
    /// reference reported. Tenants never may. Default: true.
    #[serde(default = "allowed")]
    pub cross_namespace_refs: bool,
    /// Objects of a kind no schema describes are errors rather than warnings.
    #[serde(default)]
    pub strict: bool,
}

fn allowed() -> bool {
    true
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            crds: Vec::new(),
            kubernetes: None,
            kubernetes_version: None,
            cross_namespace_refs: allowed(),
            strict: false,
        }
    }
}

/// `fleet/tenants/<tenant>.yaml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantFile {
    /// The tenant's Git repository of application manifests.
    pub repo: String,
    /// Branch of that repository; default: the environment's name.
    #[serde(default)]
    pub branch: Option<String>,
    /// ClusterRole bound in the tenant's namespaces; default: the TENANT_ROLE key (`admin`).
    #[serde(default)]
    pub role: Option<String>,
    /// Secret with the credentials for `repo`, created in each tenant namespace.
    #[serde(default)]
    pub secret_ref: Option<String>,
    #[serde(default)]
    pub apps: Vec<String>,
}

/// `environments/<env>/environment.yaml`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// Branch of the fleet repo for this environment; default: the environment's name.
    pub branch: Option<String>,
    /// Key values for every cluster of the environment (per-environment keys only).
    pub values: BTreeMap<String, Scalar>,
}

/// `environments/<env>/tenants/<tenant>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantMembershipFile {
    /// Branch of the tenant's repository for this environment.
    pub branch: Option<String>,
    /// The tenant's apps deployed in this environment; default: all of them.
    pub apps: Option<Vec<String>>,
    /// The environment's clusters the tenant runs on; default: all of them.
    pub clusters: Option<Vec<String>>,
}

/// A YAML scalar read as the string a dotenv file would hold, so `WORKER_MACHINE_COUNT: 3`
/// and `WORKER_MACHINE_COUNT: "3"` mean the same.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(value) => write!(f, "{value}"),
            Scalar::Integer(value) => write!(f, "{value}"),
            Scalar::Float(value) => write!(f, "{value}"),
            Scalar::Text(value) => f.write_str(value),
        }
    }
}
