//! A synthetic fleet of any size, for every benchmark: N clusters, each in every environment,
//! every tenant in every environment with all its apps, on every cluster or on a slice of
//! them. A share of the clusters is remote (driven by the Flux of the cluster before it) and a
//! share is provisioned by Cluster API (on the cluster before it).

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
    /// How many clusters each tenant runs on, a slice that moves with the tenant (0: all).
    pub tenant_clusters: usize,
    /// Where the tenants' repositories are: `<tenant_repos>/t000/apps` and so on. Moving them
    /// changes a file of every tenant on every cluster.
    pub tenant_repos: &'static str,
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
            tenant_clusters: 0,
            tenant_repos: "https://git.example.com",
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

    /// The clusters tenant `tenant` runs on, when not on all of them.
    fn slice(&self, tenant: usize) -> Option<std::ops::Range<usize>> {
        let size = self.tenant_clusters.min(self.clusters);
        if size == 0 {
            return None;
        }
        let first = (tenant * 2) % (self.clusters - size).max(1);
        Some(first..first + size)
    }

    /// The app Kustomizations this fleet renders: one per app, tenant, environment and cluster.
    pub fn app_objects(&self) -> usize {
        let on = self.slice(0).map_or(self.clusters, |slice| slice.len());
        on * self.environments * self.tenants * self.apps
    }

    pub fn describe(&self) -> String {
        let mut shares = Vec::new();
        if self.remote_every > 0 {
            shares.push(format!("every {}th remote", self.remote_every));
        }
        if self.capi_every > 0 {
            shares.push(format!("every {}th Cluster API", self.capi_every));
        }
        let mut text = format!("{} clusters", self.clusters);
        if !shares.is_empty() {
            let _ = write!(text, " ({})", shares.join(", "));
        }
        let _ = write!(
            text,
            ", {} environments, {} tenants x {} apps",
            self.environments, self.tenants, self.apps
        );
        if self.tenant_clusters > 0 {
            let _ = write!(text, ", each tenant on {} clusters", self.tenant_clusters);
        }
        text
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

/// Writes the fleet source under `root` (`fleet/`, `environments/`). `settings`, when given, is
/// appended to fleet.yaml: a `validation:` section, say, or the keys of the fleet's own
/// blueprints.
pub fn write_fleet(root: &Path, shape: &Shape, settings: Option<&str>) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("files have a parent")).expect("create folder");
        fs::write(path, text).expect("write file");
    };
    let mut fleet = String::from("repo:\n  url: https://git.example.com/fleet\noutput: out\n");
    if let Some(settings) = settings {
        fleet.push_str(settings);
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
                "repo: {}/t{tenant:03}/apps\napps: [{}]\n",
                shape.tenant_repos,
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
            let membership = match shape.slice(tenant) {
                None => String::new(),
                Some(slice) => slice.fold("clusters:\n".to_owned(), |mut text, cluster| {
                    let _ = writeln!(text, "  - {}", cluster_name(cluster));
                    text
                }),
            };
            write(
                &format!("environments/e{env}/tenants/t{tenant:03}.yaml"),
                &membership,
            );
        }
    }
}
