//! Clusters: a cluster file read over the fleet defaults, and the checks between clusters
//! (managers and their cycles, overlapping networks).

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::keys::{KeyRegistry, Required};
use super::values::{Layer, Values};
use super::{Builder, Cluster, EntryKeys, Flux};
use crate::diagnostic::{Diagnostic, Location, did_you_mean};
use crate::load::EnvFile;

impl Builder<'_> {
    pub(super) fn cluster(
        &mut self,
        file: &EnvFile,
        keys: &KeyRegistry,
        defaults: &Values,
    ) -> Cluster {
        self.check_name(
            &file.name,
            "cluster name",
            Location::file(&file.source.path),
        );
        let mut values = defaults.clone();
        let EntryKeys { set: own, failed } =
            self.env_entries(keys, file, Layer::Cluster, &mut values);
        // A cluster with a bad value still exists: other files may name it, and reporting them
        // as unknown would bury the real error. Checks that depend on a value that failed to
        // parse are skipped, so one mistake gives one message.
        let shape_known = !failed.contains("PROVIDER") && !failed.contains("FLUX");
        let provider = values.text("PROVIDER").unwrap_or("existing").to_owned();
        let flux = if values.text("FLUX") == Some("remote") {
            Flux::Remote
        } else {
            Flux::Local
        };
        for key in own.iter().filter(|_| shape_known) {
            let spec = keys.get(key).expect("parsed keys are known");
            if !spec.applies_to(&provider) {
                let entry = file
                    .entries
                    .iter()
                    .find(|entry| &entry.key == key)
                    .expect("key came from an entry");
                self.diagnostics.push(
                    Diagnostic::error(
                        "key-not-for-provider",
                        format!("{key} does not apply to PROVIDER={provider}"),
                    )
                    .at(Location::new(
                        &file.source.path,
                        entry.line,
                        entry.key_column,
                    ))
                    .with_hint(format!(
                        "{key} is for PROVIDER={}; remove it or change PROVIDER",
                        spec.providers.join("|")
                    )),
                );
            }
        }
        let capi = provider != "existing";
        for spec in keys.iter() {
            let required = spec.is_required(&provider, flux == Flux::Remote)
                || (spec.name == "MANAGED_BY" && capi)
                || (spec.custom
                    && spec.required == Required::ForProviders(Vec::new())
                    && spec.applies_to(&provider));
            if required
                && shape_known
                && !failed.contains(&spec.name)
                && values.get(&spec.name).is_none()
            {
                let (why, because) = match (&spec.required, spec.name.as_str()) {
                    (_, "MANAGED_BY") if capi => (
                        format!(" (PROVIDER={provider} is provisioned by a management cluster)"),
                        Some("PROVIDER"),
                    ),
                    (Required::ForRemoteFlux, _) => (" (FLUX=remote)".to_owned(), Some("FLUX")),
                    (Required::ForProviders(providers), _) if !providers.is_empty() => {
                        (format!(" (PROVIDER={provider})"), Some("PROVIDER"))
                    }
                    _ => (String::new(), None),
                };
                // A missing key has no line of its own: the line that makes it required is
                // where the reader looks, and where the key usually goes.
                let at = because
                    .and_then(|key| values.get(key))
                    .and_then(|resolved| resolved.location.clone())
                    .unwrap_or_else(|| Location::file(&file.source.path));
                self.diagnostics.push(
                    Diagnostic::error(
                        "missing-key",
                        format!("missing required key {}{why}", spec.name),
                    )
                    .at(at)
                    .with_hint(format!("add {}=… : {}", spec.name, spec.help)),
                );
            }
        }
        // Keys of other providers (defaults included) mean nothing for this cluster; dropping
        // them keeps `explain` honest and makes templates see them as unset.
        if shape_known {
            values.retain(|key| keys.get(key).is_none_or(|spec| spec.applies_to(&provider)));
        }
        let manager = values.text("MANAGED_BY").map(str::to_owned);
        Cluster {
            name: file.name.clone(),
            file: file.source.path.clone(),
            values,
            provider,
            flux,
            manager,
        }
    }

    pub(super) fn key_location(&self, cluster: &Cluster, key: &str) -> Location {
        cluster
            .values
            .get(key)
            .and_then(|resolved| resolved.location.clone())
            .unwrap_or_else(|| Location::file(&cluster.file))
    }

    pub(super) fn check_managers(&mut self, clusters: &BTreeMap<String, Cluster>) {
        for cluster in clusters.values() {
            let Some(manager) = &cluster.manager else {
                continue;
            };
            let location = self.key_location(cluster, "MANAGED_BY");
            if manager == &cluster.name {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!("cluster {} is managed by itself", cluster.name),
                    )
                    .at(location),
                );
                continue;
            }
            let Some(managing) = clusters.get(manager) else {
                let mut diagnostic = Diagnostic::error(
                    "unknown-cluster",
                    format!(
                        "MANAGED_BY names `{}`, which is not a cluster of the fleet",
                        crate::diagnostic::truncate(manager)
                    ),
                )
                .at(location);
                diagnostic = match did_you_mean(manager, clusters.keys().map(String::as_str)) {
                    Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                    None => diagnostic
                        .with_hint(format!("add fleet/clusters/{manager}.env, or fix the name")),
                };
                self.diagnostics.push(diagnostic);
                continue;
            };
            if cluster.is_capi() && managing.is_remote() {
                // The Cluster, machine templates and add-ons are applied by the manager's own
                // Flux (they sit under its bootstrap path), and Cluster API writes the
                // kubeconfig there; a manager without Flux would apply nothing.
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!(
                            "{} is provisioned by Cluster API on {manager}, but {manager} has no Flux of its own (FLUX=remote)",
                            cluster.name
                        ),
                    )
                    .at(location.clone())
                    .with_hint(format!(
                        "{manager}'s Flux applies {}'s Cluster API objects: the manager of a Cluster API cluster needs FLUX=local",
                        cluster.name
                    )),
                );
            } else if cluster.is_remote() && managing.is_remote() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!("{} has FLUX=remote but its manager {manager} has no Flux of its own (FLUX=remote)", cluster.name),
                    )
                    .at(location.clone())
                    .with_hint("a remote cluster must be driven by a cluster with FLUX=local"),
                );
            }
            if !cluster.is_remote() && !cluster.is_capi() {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "unused-key",
                        format!("MANAGED_BY has no effect on {}: it is PROVIDER=existing with FLUX=local", cluster.name),
                    )
                    .at(location.clone()),
                );
            }
            // Follow the chain of managers; coming back to the start is a cycle.
            let mut seen = vec![cluster.name.as_str()];
            let mut next = Some(manager.as_str());
            while let Some(name) = next {
                if seen.contains(&name) {
                    if name == cluster.name {
                        seen.push(name);
                        self.diagnostics.push(
                            Diagnostic::error(
                                "manager-cycle",
                                format!("clusters manage each other: {}", seen.join(" → ")),
                            )
                            .at(location.clone()),
                        );
                    }
                    break;
                }
                seen.push(name);
                next = clusters.get(name).and_then(|next| next.manager.as_deref());
            }
        }
    }

    pub(super) fn check_networks(&mut self, clusters: &BTreeMap<String, Cluster>) {
        let mut networks: Vec<(&Cluster, &str, IpNet)> = Vec::new();
        for cluster in clusters.values() {
            for key in ["POD_CIDR", "SERVICE_CIDR", "NODE_CIDR"] {
                if let Some(net) = cluster
                    .values
                    .text(key)
                    .and_then(|text| text.parse::<IpNet>().ok())
                {
                    networks.push((cluster, key, net));
                }
            }
        }
        for (index, (cluster, key, net)) in networks.iter().enumerate() {
            for (other, other_key, other_net) in &networks[..index] {
                if net.contains(&other_net.network()) || other_net.contains(&net.network()) {
                    let whose = if other.name == cluster.name {
                        "its own".to_owned()
                    } else {
                        format!("{}'s", other.name)
                    };
                    let location = self.key_location(cluster, key);
                    self.diagnostics.push(
                        Diagnostic::error(
                            "cidr-overlap",
                            format!(
                                "{key} {net} of {} overlaps {whose} {other_key} {other_net}",
                                cluster.name
                            ),
                        )
                        .at(location)
                        .with_hint(format!(
                            "{other_key} of {} is set at {}",
                            other.name,
                            self.key_location(other, other_key)
                        )),
                    );
                }
            }
        }
    }
}
