//! What the API server refuses of a Service beyond its schema: ports unnamed or named twice,
//! a `targetPort` naming no valid port, a port and protocol given twice, node ports on a
//! Service that has none, a headless Service exposed on nodes or a load balancer, and an
//! ExternalName Service without a DNS name to point at.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Findings, items, literal, substituted};
use crate::model::names;

impl Findings<'_, '_> {
    pub(super) fn service(&mut self, value: &Value) {
        let empty = Map::new();
        // Left out, the spec is empty, and then without the ports it needs.
        let spec = match value.get("spec") {
            None | Some(Value::Null) => &empty,
            Some(spec) => match spec.as_object() {
                Some(spec) => spec,
                None => return,
            },
        };
        self.service_ports(spec);
        let kind = match spec.get("type").and_then(Value::as_str) {
            None => "ClusterIP",
            Some(kind) if substituted(kind) => return,
            Some(kind) => kind,
        };
        let cluster_ip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let headless = cluster_ip == "None";
        let has_ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| !ports.is_empty());
        if !has_ports && !headless && kind != "ExternalName" {
            self.error(
                "/spec",
                "a Service needs `ports`, unless it is headless (`clusterIP: None`) or an ExternalName".to_owned(),
            );
        }
        match kind {
            "NodePort" | "LoadBalancer" if headless => self.error(
                "/spec/clusterIP",
                format!("a {kind} Service cannot be headless (`clusterIP: None`)"),
            ),
            "ExternalName" => self.external_name(spec, cluster_ip),
            "ClusterIP" => {
                for (index, port) in items(spec, "ports") {
                    if port
                        .get("nodePort")
                        .and_then(Value::as_i64)
                        .is_some_and(|port| port != 0)
                    {
                        self.error(
                            &format!("/spec/ports/{index}/nodePort"),
                            "a ClusterIP Service has no node ports; make it a NodePort or LoadBalancer Service".to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
        self.service_port_pairs(spec);
    }

    /// An ExternalName Service: a DNS name to point at, and no cluster IP.
    fn external_name(&mut self, spec: &Map<String, Value>, cluster_ip: &str) {
        if !cluster_ip.is_empty() && !substituted(cluster_ip) {
            self.error(
                "/spec/clusterIP",
                "an ExternalName Service has no cluster IP".to_owned(),
            );
        }
        match spec.get("externalName").and_then(Value::as_str) {
            Some(name) if substituted(name) => {}
            // A trailing dot marks the name fully qualified.
            Some(name) if !name.trim_end_matches('.').is_empty() => {
                if let Err(problem) = names::check_subdomain(name.strip_suffix('.').unwrap_or(name))
                {
                    self.error(
                        "/spec/externalName",
                        format!("not a valid DNS name: {problem}"),
                    );
                }
            }
            _ => self.error(
                "/spec",
                "an ExternalName Service needs an `externalName`".to_owned(),
            ),
        }
    }

    /// No two ports with one number and protocol, and no two asking for one node port.
    fn service_port_pairs(&mut self, spec: &Map<String, Value>) {
        let mut ports = HashSet::new();
        let mut node_ports = HashSet::new();
        for (index, port) in items(spec, "ports") {
            let protocol = port
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            if substituted(protocol) {
                continue;
            }
            if let Some(number) = port.get("port").and_then(Value::as_i64)
                && !ports.insert((number, protocol))
            {
                self.error(
                    &format!("/spec/ports/{index}"),
                    format!(
                        "the Service has port {number} over {} twice",
                        crate::diagnostic::truncate(protocol)
                    ),
                );
            }
            if let Some(number) = port.get("nodePort").and_then(Value::as_i64)
                && number != 0
                && !node_ports.insert((number, protocol))
            {
                self.error(
                    &format!("/spec/ports/{index}/nodePort"),
                    format!("two ports of the Service ask for node port {number}"),
                );
            }
        }
    }

    /// A Service's ports: each named, as a DNS-1123 label and once, when there are several,
    /// and a `targetPort` given as a string names a container port.
    fn service_ports(&mut self, spec: &Map<String, Value>) {
        let several = spec
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| ports.len() > 1);
        let mut seen = HashSet::new();
        for (index, port) in items(spec, "ports") {
            let here = format!("/spec/ports/{index}");
            self.port_number(&here, port, "port", false);
            // 0 asks for the Service's own port; so does leaving it out.
            self.port_number(&here, port, "targetPort", true);
            self.port_number(&here, port, "nodePort", true);
            match port.get("name").and_then(Value::as_str) {
                None | Some("") if several => self.error(
                    &here,
                    "a Service with several ports must name each of them".to_owned(),
                ),
                Some(name) if !name.is_empty() && !substituted(name) => {
                    let pointer = format!("{here}/name");
                    let what = ("Service", "port");
                    self.unique_name(&pointer, name, names::check_label, what, &mut seen);
                }
                _ => {}
            }
            if let Some(target) = literal(port, "targetPort")
                && let Err(problem) = names::check_port_name(target)
            {
                let message = match target.bytes().all(|byte| byte.is_ascii_digit()) {
                    true => "a port number in quotes is a port name, and not a valid one; write the number unquoted".to_owned(),
                    false => format!("not a valid port name: {problem}"),
                };
                self.error(&format!("{here}/targetPort"), message);
            }
        }
    }
}
