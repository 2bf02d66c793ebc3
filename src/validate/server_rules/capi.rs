//! What Cluster API's admission webhooks refuse that its schemas allow: a kubeadm control
//! plane of no machines, or of an even number of them around a stacked etcd, whose quorum
//! would survive no more failures than one machine fewer.

use serde_json::Value;

use super::Findings;

impl Findings<'_, '_> {
    /// The replicas of a `KubeadmControlPlane`, whose whole value is `value`.
    pub(super) fn control_plane_replicas(&mut self, value: &Value) {
        let Some(replicas) = value.pointer("/spec/replicas").and_then(Value::as_i64) else {
            return;
        };
        let external_etcd = value
            .pointer("/spec/kubeadmConfigSpec/clusterConfiguration/etcd/external")
            .is_some_and(|external| !external.is_null());
        let message = if replicas <= 0 {
            format!("{replicas} control-plane machines: Cluster API takes 1 or more")
        } else if replicas % 2 == 0 && !external_etcd {
            format!(
                "{replicas} control-plane machines around a stacked etcd: Cluster API takes an odd number (1, 3, 5)"
            )
        } else {
            return;
        };
        self.error("/spec/replicas", message);
    }
}
