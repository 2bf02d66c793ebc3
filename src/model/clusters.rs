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
        let nets: Vec<IpNet> = networks.iter().map(|(_, _, net)| *net).collect();
        for (index, earlier) in overlapping(&nets) {
            let (cluster, key, net) = &networks[index];
            let (other, other_key, other_net) = &networks[earlier];
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

/// Every pair of networks in `nets` that overlap, as `(index, earlier index)`, in the order a
/// comparison of each network with every earlier one finds them. Two CIDR blocks overlap only
/// when one holds the other, so after sorting by first address (the wider block first) every
/// block holds the next ones until one starts past its end: each block is compared with the
/// blocks that hold it, not with every other, and a thousand clusters' networks are not a
/// million comparisons.
fn overlapping(nets: &[IpNet]) -> Vec<(usize, usize)> {
    let span = |net: &IpNet| -> (bool, u128, u128) {
        match net {
            IpNet::V4(net) => (
                false,
                u32::from(net.network()).into(),
                u32::from(net.broadcast()).into(),
            ),
            IpNet::V6(net) => (true, net.network().into(), net.broadcast().into()),
        }
    };
    let mut order: Vec<usize> = (0..nets.len()).collect();
    order.sort_by_key(|&index| {
        let (v6, first, last) = span(&nets[index]);
        (v6, first, std::cmp::Reverse(last), index)
    });
    let mut pairs = Vec::new();
    // The blocks that hold the current one, widest first.
    let mut open: Vec<usize> = Vec::new();
    for index in order {
        let (v6, first, _) = span(&nets[index]);
        while let Some(&top) = open.last() {
            let (top_v6, _, top_last) = span(&nets[top]);
            if top_v6 == v6 && top_last >= first {
                break;
            }
            open.pop();
        }
        pairs.extend(
            open.iter()
                .map(|&other| (index.max(other), index.min(other))),
        );
        open.push(index);
    }
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a comparison of every network with every earlier one finds.
    fn every_pair(nets: &[IpNet]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (index, net) in nets.iter().enumerate() {
            for (earlier, other) in nets[..index].iter().enumerate() {
                if net.contains(&other.network()) || other.contains(&net.network()) {
                    pairs.push((index, earlier));
                }
            }
        }
        pairs
    }

    #[test]
    fn overlaps_are_those_every_pair_finds() {
        let fixed: Vec<IpNet> = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.2.0.0/16",
            "10.1.0.0/16",
            "192.168.0.0/20",
            "192.168.16.0/20",
            "0.0.0.0/0",
            "fd00::/8",
            "fd00:1::/32",
            "::/0",
            "10.1.2.128/25",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        assert_eq!(overlapping(&fixed), every_pair(&fixed));
        // Many small fleets of networks, from a fixed sequence: nested, equal and apart.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let count = (next() % 24) as usize;
            let nets: Vec<IpNet> = (0..count)
                .map(|_| {
                    let prefix = 8 + (next() % 17) as u8;
                    let address =
                        std::net::Ipv4Addr::from(0x0a00_0000 | (next() as u32 & 0x00ff_ff00));
                    IpNet::V4(ipnet::Ipv4Net::new(address, prefix).unwrap().trunc())
                })
                .collect();
            assert_eq!(overlapping(&nets), every_pair(&nets), "{nets:?}");
        }
    }
}
