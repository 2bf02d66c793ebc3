//! A synthetic fleet of any size, for the benchmarks: N clusters, each in every environment,
//! every tenant in every environment on every cluster with all its apps. A share of the
//! clusters is remote (driven by the Flux of the cluster before it) and a share is provisioned
//! by Cluster API (on the cluster before it).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The shape of a synthetic fleet.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub clusters: usize,
    pub environments: usize,
    pub tenants: usize,
    pub apps: usize,
    /// Every `remote_every`-th cluster has `FLUX=remote` (0: none).
    pub remote_every: usize,
    /// Every `capi_every`-th cluster is a Cluster API cluster (0: none).
    pub capi_every: usize,
}

impl Shape {
    /// The defaults, overridden by `FLEETGEN_BENCH_ENVS`, `_TENANTS`, `_APPS`, `_REMOTE_EVERY`
    /// and `_CAPI_EVERY`.
    pub fn from_env(clusters: usize) -> Self {
        Self {
            clusters,
            environments: setting("ENVS", 3),
            tenants: setting("TENANTS", 20),
            apps: setting("APPS", 2),
            remote_every: setting("REMOTE_EVERY", 5),
            capi_every: setting("CAPI_EVERY", 10),
        }
    }

    fn role(&self, cluster: usize) -> Role {
        let nth = |every: usize| every > 0 && cluster % every == every - 1 && cluster > 0;
        if nth(self.remote_every) {
            Role::Remote
        } else if nth(self.capi_every) {
            Role::Capi
        } else {
            Role::Local
        }
    }

    /// Whether a cluster runs the Flux of its own (not remote, not Cluster API).
    fn manager_of(&self, cluster: usize) -> usize {
        (0..cluster)
            .rev()
            .find(|&candidate| self.role(candidate) == Role::Local)
            .unwrap_or(0)
    }

    /// The app Kustomizations this fleet renders: one per app, tenant, environment and cluster.
    pub fn app_objects(&self) -> usize {
        self.clusters * self.environments * self.tenants * self.apps
    }

    pub fn describe(&self) -> String {
        format!(
            "{} clusters (every {}th remote, every {}th Cluster API), {} environments, {} tenants x {} apps",
            self.clusters,
            self.remote_every,
            self.capi_every,
            self.environments,
            self.tenants,
            self.apps
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Local,
    Remote,
    Capi,
}

pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(format!("FLEETGEN_BENCH_{name}"))
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

pub fn cluster_name(index: usize) -> String {
    format!("c{index:04}")
}

/// Writes the fleet source under `root` (`fleet/`, `environments/`). `validation`, when given,
/// is the `validation:` section of fleet.yaml.
pub fn write_fleet(root: &Path, shape: &Shape, validation: Option<&str>) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("files have a parent")).expect("create folder");
        fs::write(path, text).expect("write file");
    };
    let mut fleet = String::from("repo:\n  url: https://git.example.com/fleet\noutput: out\n");
    if let Some(validation) = validation {
        fleet.push_str(validation);
    }
    write("fleet/fleet.yaml", &fleet);
    for cluster in 0..shape.clusters {
        // Pod and service networks, one /24 each, distinct for up to 32768 clusters.
        let mut text = format!(
            "POD_CIDR=10.{}.{}.0/24\nSERVICE_CIDR=10.{}.{}.0/24\n",
            cluster / 256,
            cluster % 256,
            128 + cluster / 256,
            cluster % 256
        );
        match shape.role(cluster) {
            Role::Local => text.push_str("PROVIDER=existing\nFLUX=local\n"),
            Role::Remote => {
                let _ = writeln!(
                    text,
                    "PROVIDER=existing\nFLUX=remote\nMANAGED_BY={}",
                    cluster_name(shape.manager_of(cluster))
                );
            }
            Role::Capi => {
                let _ = writeln!(
                    text,
                    "PROVIDER=docker\nFLUX=remote\nMANAGED_BY={}\nKUBERNETES_VERSION=v1.33.1",
                    cluster_name(shape.manager_of(cluster))
                );
            }
        }
        write(
            &format!("fleet/clusters/{}.env", cluster_name(cluster)),
            &text,
        );
    }
    let apps: Vec<String> = (0..shape.apps).map(|app| format!("app{app}")).collect();
    for tenant in 0..shape.tenants {
        write(
            &format!("fleet/tenants/t{tenant:03}.yaml"),
            &format!(
                "repo: https://git.example.com/t{tenant:03}/apps\napps: [{}]\n",
                apps.join(", ")
            ),
        );
    }
    for env in 0..shape.environments {
        write(&format!("environments/e{env}/environment.yaml"), "");
        for cluster in 0..shape.clusters {
            write(
                &format!("environments/e{env}/clusters/{}.env", cluster_name(cluster)),
                "",
            );
        }
        for tenant in 0..shape.tenants {
            write(
                &format!("environments/e{env}/tenants/t{tenant:03}.yaml"),
                "",
            );
        }
    }
}
