//! What a container's probes, lifecycle hooks and volume mounts must be: a probe or hook does
//! one thing, on a port that is a number or a port's name; an init container has neither
//! unless it is a sidecar (`restartPolicy: Always`); mount paths are distinct, and a
//! `subPath` stays inside its volume.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::fields::listed;
use super::{CONTAINER_LISTS, Findings, given, items, literal};
use crate::model::names;

const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];
const PROBE_HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "grpc"];
const HOOK_HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "sleep"];
const SCHEMES: [&str; 2] = ["HTTP", "HTTPS"];

impl Findings<'_, '_> {
    /// The containers of the pod spec at `at`.
    pub(super) fn containers(&mut self, at: &str, spec: &Map<String, Value>) {
        for list in CONTAINER_LISTS {
            for (index, container) in items(spec, list) {
                let here = format!("{at}/{list}/{index}");
                let sidecar =
                    container.get("restartPolicy").and_then(Value::as_str) == Some("Always");
                if list == "initContainers" && !sidecar {
                    for field in PROBES.iter().chain(&["lifecycle"]) {
                        if given(container, field) {
                            self.error(
                                &format!("{here}/{field}"),
                                format!("an init container has no `{field}` unless it restarts as a sidecar (`restartPolicy: Always`)"),
                            );
                        }
                    }
                } else {
                    self.probes(&here, container);
                    self.hooks(&here, container);
                }
                self.mounts(&here, container);
            }
        }
    }

    /// A probe does one thing (runs a command, or asks over HTTP, TCP or gRPC), and a liveness
    /// or startup probe succeeds at its first success.
    fn probes(&mut self, here: &str, container: &Map<String, Value>) {
        for probe in PROBES {
            let Some(fields) = container.get(probe).and_then(Value::as_object) else {
                continue;
            };
            let at = format!("{here}/{probe}");
            self.handler(&at, fields, &PROBE_HANDLERS, "a probe");
            if probe != "readinessProbe"
                && let Some(threshold) = fields.get("successThreshold").and_then(Value::as_i64)
                && threshold != 1
            {
                self.error(
                    &format!("{at}/successThreshold"),
                    format!("a {probe}'s successThreshold must be 1, not {threshold}"),
                );
            }
        }
    }

    /// A `postStart` or `preStop` hook does one thing, as a probe does.
    fn hooks(&mut self, here: &str, container: &Map<String, Value>) {
        let Some(lifecycle) = container.get("lifecycle").and_then(Value::as_object) else {
            return;
        };
        for hook in ["postStart", "preStop"] {
            if let Some(fields) = lifecycle.get(hook).and_then(Value::as_object) {
                let at = format!("{here}/lifecycle/{hook}");
                self.handler(&at, fields, &HOOK_HANDLERS, "a lifecycle hook");
            }
        }
    }

    /// The probe or hook at `at`: exactly one of `handlers`, and the port and scheme it asks
    /// on.
    fn handler(&mut self, at: &str, fields: &Map<String, Value>, handlers: &[&str], what: &str) {
        let given = handlers
            .iter()
            .filter(|handler| given(fields, handler))
            .count();
        if given != 1 {
            let message = format!(
                "{what} does exactly one of {}; this one does {given}",
                listed(handlers, "or")
            );
            self.error(at, message);
        }
        for handler in ["httpGet", "tcpSocket", "grpc"] {
            let Some(action) = fields.get(handler).and_then(Value::as_object) else {
                continue;
            };
            let pointer = format!("{at}/{handler}/port");
            match action.get("port") {
                Some(Value::Number(number)) => match number.as_i64() {
                    Some(1..=65_535) => {}
                    _ => self.error(
                        &pointer,
                        format!("{number} is not a port number: 1 to 65535"),
                    ),
                },
                // gRPC takes a number only: the schema says so.
                Some(Value::String(_)) if handler != "grpc" => {
                    if let Some(name) = literal(action, "port")
                        && let Err(problem) = names::check_port_name(name)
                    {
                        self.error(
                            &pointer,
                            format!("not a port number or a valid port name: {problem}"),
                        );
                    }
                }
                _ => {}
            }
            if handler == "httpGet"
                && let Some(scheme) = literal(action, "scheme")
                && !SCHEMES.contains(&scheme)
            {
                self.error(
                    &format!("{at}/httpGet/scheme"),
                    super::fields::unsupported(scheme, &SCHEMES),
                );
            }
        }
    }

    /// A container's volume mounts: each at its own path, and a `subPath` (or its expanded
    /// form, `subPathExpr`, not both) that stays inside the volume.
    fn mounts(&mut self, here: &str, container: &Map<String, Value>) {
        let mut paths = HashSet::new();
        for (index, mount) in items(container, "volumeMounts") {
            let at = format!("{here}/volumeMounts/{index}");
            if let Some(path) = literal(mount, "mountPath") {
                if path.is_empty() {
                    self.error(
                        &format!("{at}/mountPath"),
                        "a mount needs a path".to_owned(),
                    );
                } else if !paths.insert(path) {
                    self.error(
                        &format!("{at}/mountPath"),
                        "the container mounts another volume at this path".to_owned(),
                    );
                }
            }
            let given = |field: &str| {
                mount
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|text| !text.is_empty())
            };
            if given("subPath") && given("subPathExpr") {
                self.error(
                    &at,
                    "a mount has a `subPath` or a `subPathExpr`, not both".to_owned(),
                );
            }
            if let Some(sub_path) = literal(mount, "subPath")
                && let Err(problem) = descending(sub_path)
            {
                self.error(&format!("{at}/subPath"), problem.to_owned());
            }
        }
    }
}

/// A path that leads down from where it starts: relative, without `..`.
fn descending(path: &str) -> Result<(), &'static str> {
    if path.starts_with('/') {
        return Err("a subPath is relative to the volume, not absolute");
    }
    match path.split('/').any(|part| part == "..") {
        true => Err("a subPath may not contain `..`"),
        false => Ok(()),
    }
}
