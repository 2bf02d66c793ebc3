//! Cluster API input checks: values that a provider's admission webhook would refuse, or that
//! would leave a cluster that never comes up, reported at the key that causes them rather than
//! as a stuck object on the manager an hour later.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::Cluster;
use super::keys::Value;
use crate::diagnostic::{Diagnostic, Diagnostics, Location};

/// Kubernetes minors for which the blueprints' default cloud controller manager exists (AWS
/// image `v1.<minor>.0`, OpenStack chart `2.<minor>.0`). Outside it the default names a release
/// that is not published, and the cluster's nodes would stay uninitialised.
const CCM_MINORS: RangeInclusive<u64> = 28..=34;

/// A CNI chart that `capi-cni` installs when CNI_VERSION is unset, and the Kubernetes minors its
/// release supports. The blueprint reads the version from here (`cluster.cni_version`), so the
/// check and what is installed cannot drift apart.
pub struct DefaultCni {
    pub name: &'static str,
    pub version: &'static str,
    pub minors: RangeInclusive<u64>,
}

/// The CNI releases installed by default, one per `CNI` value.
pub const DEFAULT_CNIS: [DefaultCni; 2] = [
    // Cilium 1.19 documentation, "Kubernetes Compatibility": 1.32, 1.33, 1.34 and 1.35 are
    // e2e tested; other minors depend on Kubernetes' own compatibility and are not promised.
    DefaultCni {
        name: "cilium",
        version: "v1.19.1",
        minors: 32..=35,
    },
    // Calico 3.30 documentation, "System requirements", Kubernetes requirements: tested
    // against v1.31, v1.32 and v1.33; other versions "may work" but are not tested.
    DefaultCni {
        name: "calico",
        version: "v3.30.2",
        minors: 31..=33,
    },
];

/// The chart version of the cluster's CNI: CNI_VERSION, or the release installed by default
/// (`None` for CNI=none).
pub fn cni_version(cluster: &Cluster) -> Option<String> {
    let cni = cluster.values.text("CNI")?;
    cluster
        .values
        .text("CNI_VERSION")
        .map(str::to_owned)
        .or_else(|| default_cni(cni).map(|default| default.version.to_owned()))
}

fn default_cni(name: &str) -> Option<&'static DefaultCni> {
    DEFAULT_CNIS.iter().find(|cni| cni.name == name)
}

/// The errors: the fleet does not load with any of them.
pub(super) fn check(clusters: &BTreeMap<String, Cluster>, diagnostics: &mut Diagnostics) {
    for cluster in clusters.values().filter(|cluster| cluster.is_capi()) {
        control_plane_count(cluster, diagnostics);
        cloud_controller_manager(cluster, diagnostics);
        cni(cluster, diagnostics);
    }
}

/// The warnings, which `check` reports with the other findings about a loaded fleet.
pub fn warnings(clusters: &BTreeMap<String, Cluster>) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    for cluster in clusters.values().filter(|cluster| cluster.is_capi()) {
        docker_manager(cluster, clusters, &mut diagnostics);
    }
    diagnostics
}

fn location(cluster: &Cluster, key: &str) -> Location {
    cluster
        .values
        .get(key)
        .and_then(|resolved| resolved.location.clone())
        .unwrap_or_else(|| Location::file(&cluster.file))
}

fn count(cluster: &Cluster, key: &str) -> Option<u64> {
    match cluster.values.value(key) {
        Some(Value::Number(number)) => Some(*number),
        _ => None,
    }
}

/// `vMAJOR.MINOR.PATCH` → MINOR; values were normalised to that form when loaded.
fn minor(version: &str) -> Option<u64> {
    version.split('.').nth(1)?.parse().ok()
}

/// KubeadmControlPlane runs a stacked etcd member on every control-plane machine; its webhook
/// refuses zero and even replica counts, which would lose quorum with one machine down.
fn control_plane_count(cluster: &Cluster, diagnostics: &mut Diagnostics) {
    let key = "CONTROL_PLANE_MACHINE_COUNT";
    let Some(replicas) = count(cluster, key) else {
        return;
    };
    if replicas % 2 == 0 {
        let problem = if replicas == 0 {
            "a cluster needs at least one control-plane machine".to_owned()
        } else {
            format!(
                "{replicas} control-plane machines (stacked etcd members) tolerate no more failures than {}",
                replicas - 1
            )
        };
        diagnostics.push(
            Diagnostic::error(
                "even-control-plane",
                format!("{key}={replicas} for {}: {problem}", cluster.name),
            )
            .at(location(cluster, key))
            .with_hint("use an odd number (1, 3 or 5); Cluster API refuses an even one"),
        );
    }
}

/// A cloud controller manager must not be newer than the API server, and the default one is
/// derived from KUBERNETES_VERSION, so a minor without a release of it is an error unless
/// CLOUD_CONTROLLER_MANAGER_VERSION names one.
fn cloud_controller_manager(cluster: &Cluster, diagnostics: &mut Diagnostics) {
    if !matches!(cluster.provider.as_str(), "aws" | "openstack") {
        return;
    }
    let Some(kubernetes) = cluster
        .values
        .text("KUBERNETES_VERSION")
        .and_then(|version| minor(version).map(|minor| (version, minor)))
    else {
        return;
    };
    let key = "CLOUD_CONTROLLER_MANAGER_VERSION";
    match cluster.values.text(key) {
        Some(ccm) => {
            // The OpenStack chart's minor tracks the CCM's (2.<minor>.x ships v1.<minor>).
            if let Some(ccm_minor) = minor(ccm)
                && ccm_minor > kubernetes.1
            {
                diagnostics.push(
                    Diagnostic::error(
                        "version-skew",
                        format!(
                            "{key} {ccm} of {} is newer than its KUBERNETES_VERSION {}",
                            cluster.name, kubernetes.0
                        ),
                    )
                    .at(location(cluster, key))
                    .with_hint("a cloud controller manager must not be newer than the API server: use the release of the cluster's minor"),
                );
            }
        }
        None if !CCM_MINORS.contains(&kubernetes.1) => {
            diagnostics.push(
                Diagnostic::error(
                    "unsupported-version",
                    format!(
                        "KUBERNETES_VERSION {} of {}: fleetgen knows no {} cloud controller manager release for v1.{}",
                        kubernetes.0, cluster.name, cluster.provider, kubernetes.1
                    ),
                )
                .at(location(cluster, "KUBERNETES_VERSION"))
                .with_hint(format!(
                    "use a version from v1.{} to v1.{}, or set {key} to a release of the cloud provider for v1.{}",
                    CCM_MINORS.start(),
                    CCM_MINORS.end(),
                    kubernetes.1
                )),
            );
        }
        None => {}
    }
}

/// The default CNI release is pinned, so a Kubernetes minor it does not support would get a
/// pod network nobody tested, installed at creation. An explicit CNI_VERSION is taken as is:
/// fleetgen does not know every release's range.
fn cni(cluster: &Cluster, diagnostics: &mut Diagnostics) {
    if cluster.values.text("CNI_VERSION").is_some() {
        return;
    }
    let Some(default) = cluster.values.text("CNI").and_then(default_cni) else {
        return;
    };
    let Some((kubernetes, minor)) = cluster
        .values
        .text("KUBERNETES_VERSION")
        .and_then(|version| minor(version).map(|minor| (version, minor)))
    else {
        return;
    };
    if default.minors.contains(&minor) {
        return;
    }
    let (first, last) = (default.minors.start(), default.minors.end());
    diagnostics.push(
        Diagnostic::error(
            "unsupported-version",
            format!(
                "KUBERNETES_VERSION {kubernetes} of {}: the default CNI, {} {}, supports Kubernetes v1.{first} to v1.{last}",
                cluster.name, default.name, default.version
            ),
        )
        .at(location(cluster, "KUBERNETES_VERSION"))
        .with_hint(format!(
            "use a version from v1.{first} to v1.{last}, or set CNI_VERSION to a {} release that supports v1.{minor}",
            default.name
        )),
    );
}

/// CAPD starts the machines as containers through the Docker socket of the manager's nodes,
/// on its `kind` network. A manager that Cluster API made itself runs containerd without a
/// Docker socket, so its CAPD could never start a machine.
fn docker_manager(
    cluster: &Cluster,
    clusters: &BTreeMap<String, Cluster>,
    diagnostics: &mut Diagnostics,
) {
    if cluster.provider != "docker" {
        return;
    }
    let Some(manager) = cluster.manager.as_ref().and_then(|name| clusters.get(name)) else {
        return;
    };
    if manager.is_capi() {
        diagnostics.push(
            Diagnostic::warning(
                "docker-manager",
                format!(
                    "{} runs in Docker on {}, which Cluster API provisions with PROVIDER={}: its nodes have no Docker socket for CAPD",
                    cluster.name, manager.name, manager.provider
                ),
            )
            .at(location(cluster, "MANAGED_BY"))
            .with_hint("manage a PROVIDER=docker cluster from a cluster with Docker on its nodes, such as a kind cluster with the Docker socket mounted"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cni_version_key_names_the_default_releases() {
        let keys = super::super::keys::KeyRegistry::builtin();
        let help = &keys.get("CNI_VERSION").unwrap().help;
        for cni in &DEFAULT_CNIS {
            assert!(
                help.contains(cni.version),
                "{} missing from {help}",
                cni.version
            );
        }
    }
}
