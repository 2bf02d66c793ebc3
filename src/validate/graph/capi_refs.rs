//! The references between Cluster API objects: a Cluster names its infrastructure and its
//! control plane, a control plane and each machine deployment name their machine templates and
//! bootstrap configuration. The schemas take any name there; Cluster API then waits for an
//! object that never comes, and the cluster never comes up. Each reference must name an object
//! of its kind that reaches the same cluster, in the referring object's namespace.

use foldhash::{HashSet, HashSetExt};

use super::checks::per_cluster;
use super::walk::Merged;
use super::{Applied, Placed};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::validate::kept::Kept;

/// Where each Cluster API kind that refers to others holds its references. A control plane's
/// machine template moved under `spec` in v1beta2; both places are read.
fn references(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("cluster.x-k8s.io", "Cluster") => &["/spec/infrastructureRef", "/spec/controlPlaneRef"],
        ("cluster.x-k8s.io", "MachineDeployment" | "MachineSet" | "MachinePool") => &[
            "/spec/template/spec/infrastructureRef",
            "/spec/template/spec/bootstrap/configRef",
        ],
        ("controlplane.cluster.x-k8s.io", "KubeadmControlPlane") => &[
            "/spec/machineTemplate/infrastructureRef",
            "/spec/machineTemplate/spec/infrastructureRef",
        ],
        _ => &[],
    }
}

impl Merged<'_, '_> {
    pub(super) fn check_capi_references(&mut self) {
        let findings = per_cluster(&self.simulation, |cluster, applied, found| {
            reference_findings(cluster, applied, found);
        });
        let mut seen = HashSet::new();
        for finding in findings {
            if seen.insert((finding.location.clone(), finding.message.clone())) {
                self.simulation.diagnostics.push(finding);
            }
        }
    }
}

fn reference_findings(cluster: &str, applied: &[Applied<'_>], found: &mut Vec<Diagnostic>) {
    let referring: Vec<&Placed<'_>> = applied
        .iter()
        .map(|entry| &entry.object)
        .filter(|object| !references(object.group(), object.kind()).is_empty())
        .collect();
    if referring.is_empty() {
        return;
    }
    let there: HashSet<(&str, &str, &str, &str)> =
        applied.iter().map(|entry| entry.object.id()).collect();
    for object in referring {
        let value = &object.document.value;
        // A Cluster built from a ClusterClass gets its objects from the class.
        if object.kind() == "Cluster" && value.pointer("/spec/topology").is_some() {
            continue;
        }
        let namespace = object.namespace.as_deref().unwrap_or_default();
        for &pointer in references(object.group(), object.kind()) {
            let Some(reference) = value.pointer(pointer) else {
                continue;
            };
            let Some((group, kind, name)) = target(reference) else {
                continue;
            };
            if [group, kind, name].iter().any(|part| part.contains("${")) {
                continue;
            }
            let namespace = reference
                .pointer("/namespace")
                .and_then(Kept::as_str)
                .unwrap_or(namespace);
            if there.contains(&(group, kind, namespace, name)) {
                continue;
            }
            let alike = applied
                .iter()
                .map(|entry| entry.object.id())
                .filter(|id| (id.0, id.1, id.2) == (group, kind, namespace))
                .map(|id| id.3);
            let mut finding = Diagnostic::error(
                "capi-reference",
                format!(
                    "{}: {pointer} names {kind} {namespace}/{name}, which nothing applies to cluster {cluster}; Cluster API waits for it, and the cluster never comes up",
                    object.document.describe()
                ),
            )
            .at(object.document.location(pointer));
            if let Some(close) = did_you_mean(name, alike) {
                finding = finding.with_hint(format!("did you mean {close}?"));
            }
            found.push(finding);
        }
    }
}

/// The group, kind and name a reference names: `apiVersion` in v1beta1, `apiGroup` in
/// v1beta2.
fn target(reference: &Kept) -> Option<(&str, &str, &str)> {
    let text = |field: &str| {
        reference
            .pointer(&format!("/{field}"))
            .and_then(Kept::as_str)
    };
    let group = match (text("apiGroup"), text("apiVersion")) {
        (Some(group), _) => group,
        (None, Some(version)) => version.rsplit_once('/').map_or("", |(group, _)| group),
        (None, None) => return None,
    };
    Some((group, text("kind")?, text("name")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_its_target_in_either_api_version() {
        let reference = |json: serde_json::Value| Kept::from(&json);
        let v1beta1 = reference(serde_json::json!({
            "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
            "kind": "AWSCluster",
            "name": "prod",
        }));
        assert_eq!(
            target(&v1beta1),
            Some(("infrastructure.cluster.x-k8s.io", "AWSCluster", "prod"))
        );
        let v1beta2 = reference(serde_json::json!({
            "apiGroup": "controlplane.cluster.x-k8s.io",
            "kind": "KubeadmControlPlane",
            "name": "prod-control-plane",
        }));
        assert_eq!(
            target(&v1beta2),
            Some((
                "controlplane.cluster.x-k8s.io",
                "KubeadmControlPlane",
                "prod-control-plane"
            ))
        );
        let core =
            reference(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "name": "s"}));
        assert_eq!(target(&core), Some(("", "Secret", "s")));
        assert_eq!(
            target(&reference(serde_json::json!({"kind": "X", "name": "y"}))),
            None
        );
    }
}
