//! What the API server refuses of an Ingress beyond its schema: hosts that are not DNS names
//! (a URL, a port, an IP address), paths that are not absolute or not clean, and backends that
//! name a Service's port twice over or not at all. A controller never sees such an Ingress:
//! applying it fails the whole Kustomization.

use serde_json::{Map, Value};

use super::{Findings, given, items, literal};
use crate::model::names;

/// What a `Prefix` or `Exact` path may not hold, and may not end with.
const UNCLEAN: [&str; 5] = ["//", "/./", "/../", "%2f", "%2F"];
const UNCLEAN_ENDS: [&str; 2] = ["/..", "/."];

impl Findings<'_, '_> {
    pub(super) fn ingress(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        let has_rules = spec
            .get("rules")
            .and_then(Value::as_array)
            .is_some_and(|rules| !rules.is_empty());
        match spec.get("defaultBackend").and_then(Value::as_object) {
            Some(backend) => self.ingress_backend("/spec/defaultBackend", backend),
            None if !has_rules => self.error(
                "/spec",
                "an Ingress needs `rules` or a `defaultBackend`".to_owned(),
            ),
            None => {}
        }
        for (index, rule) in items(spec, "rules") {
            let at = format!("/spec/rules/{index}");
            if let Some(host) = literal(rule, "host")
                && !host.is_empty()
                && let Err(problem) = check_host(host)
            {
                self.error(&format!("{at}/host"), problem);
            }
            let Some(http) = rule.get("http").and_then(Value::as_object) else {
                continue;
            };
            if http
                .get("paths")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                self.error(
                    &format!("{at}/http/paths"),
                    "an `http` rule needs a path".to_owned(),
                );
            }
            for (path_index, path) in items(http, "paths") {
                let here = format!("{at}/http/paths/{path_index}");
                self.ingress_path(&here, path);
                if let Some(backend) = path.get("backend").and_then(Value::as_object) {
                    self.ingress_backend(&format!("{here}/backend"), backend);
                }
            }
        }
    }

    /// An HTTP path of a rule, at `here`: absolute, and for `Prefix` and `Exact` clean.
    fn ingress_path(&mut self, here: &str, path: &Map<String, Value>) {
        // Left out, it is empty, which `Prefix` and `Exact` refuse.
        let text = match path.get("path") {
            None | Some(Value::Null) => "",
            Some(_) => match literal(path, "path") {
                Some(text) => text,
                None => return,
            },
        };
        let pointer = format!("{here}/path");
        let clean = match path.get("pathType").and_then(Value::as_str) {
            Some("Prefix" | "Exact") => true,
            Some("ImplementationSpecific") if !text.is_empty() => false,
            // Empty with `ImplementationSpecific`, or a path type the fixed-set check refuses.
            _ => return,
        };
        if !text.starts_with('/') {
            self.error(
                &pointer,
                "an Ingress path is absolute: it starts with `/`".to_owned(),
            );
        }
        if !clean {
            return;
        }
        if let Some(bad) = UNCLEAN.iter().find(|bad| text.contains(**bad)) {
            self.error(
                &pointer,
                format!("a `Prefix` or `Exact` path may not contain `{bad}`"),
            );
        } else if let Some(bad) = UNCLEAN_ENDS.iter().find(|bad| text.ends_with(**bad)) {
            self.error(
                &pointer,
                format!("a `Prefix` or `Exact` path may not end with `{bad}`"),
            );
        }
    }

    /// A backend at `at`: a Service, named, and one of its ports by number or by name; or a
    /// resource, not both.
    fn ingress_backend(&mut self, at: &str, backend: &Map<String, Value>) {
        let Some(service) = backend.get("service").and_then(Value::as_object) else {
            if !given(backend, "resource") && !given(backend, "service") {
                self.error(at, "a backend names a `service` or a `resource`".to_owned());
            }
            return;
        };
        if given(backend, "resource") {
            self.error(
                at,
                "a backend names a `service` or a `resource`, not both".to_owned(),
            );
            return;
        }
        if let Some(name) = literal(service, "name")
            && let Err(problem) = names::check_dns1035_label(name)
        {
            self.error(
                &format!("{at}/service/name"),
                format!("not a valid Service name: {problem}"),
            );
        }
        let port = service.get("port").and_then(Value::as_object);
        let name = port
            .and_then(|port| port.get("name"))
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty());
        let number = port
            .and_then(|port| port.get("number"))
            .and_then(Value::as_i64)
            .filter(|number| *number != 0);
        match (name, number) {
            (Some(_), Some(_)) => self.error(
                &format!("{at}/service/port"),
                "a backend's port has a `name` or a `number`, not both".to_owned(),
            ),
            (None, None) => self.error(
                &format!("{at}/service"),
                "a backend's Service needs a `port` with a `name` or a `number`".to_owned(),
            ),
            (Some(name), None) => {
                if !super::substituted(name)
                    && let Err(problem) = names::check_port_name(name)
                {
                    self.error(
                        &format!("{at}/service/port/name"),
                        format!("not a valid port name: {problem}"),
                    );
                }
            }
            (None, Some(number)) => {
                if !(1..=65_535).contains(&number) {
                    self.error(
                        &format!("{at}/service/port/number"),
                        format!("{number} is not a port number: 1 to 65535"),
                    );
                }
            }
        }
    }
}

/// A rule's host: a DNS name, or one under a wildcard (`*.example.com`); not an IP address.
fn check_host(host: &str) -> Result<(), String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err("an Ingress host is a DNS name, not an IP address".to_owned());
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    names::check_subdomain(name).map_err(|problem| {
        let hint = match host.contains("://") || host.contains(':') || host.contains('/') {
            true => " (a host alone: no scheme, port or path)",
            false => "",
        };
        format!("not a valid host name{hint}: {problem}")
    })
}
