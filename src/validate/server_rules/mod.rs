//! What the API server refuses that no OpenAPI schema says: object names, namespaces, label
//! and annotation keys and values, a workload whose selector does not select its own pods,
//! names within a pod (containers, ports, volumes and the mounts that name them), requests
//! above their limits, fields with a fixed set of values, counts, images and rollout
//! strategies (`fields`), probes, lifecycle hooks and volume mounts (`containers`), an
//! Ingress (`ingress`), autoscaler bounds and disruption budgets (`availability`), selector
//! expressions (`selectors`), one source for each environment variable, `envFrom` entry and
//! volume (`value_sources`), a Service's ports and type (`service`), the keys of a
//! ConfigMap's or Secret's data, and the namespace and service account a Flux Kustomization
//! or HelmRelease applies with; and what Cluster API's webhooks refuse of a kubeadm control
//! plane (`capi`).
//! The schemas take `name: Redis_Bad` or a label value with a space in it; `kubectl apply`
//! and Flux's server-side apply do not, and one object refused fails its whole Kustomization.
//!
//! Only rules the API server applies to every object of a kind are here, each as the
//! apimachinery validation of that kind has it. A value holding `${` is left alone: Flux
//! substitutes it (`postBuild`) before it applies the object.

mod availability;
mod capi;
mod containers;
mod fields;
mod ingress;
mod quantity;
mod schedule;
mod selectors;
mod service;
mod value_sources;

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::document::{Document, escape_segment};
use super::schema::{KUSTOMIZE_CONFIG_GROUPS, Schemas, is_builtin_group};
use crate::diagnostic::Diagnostic;
use crate::model::names;

const RULE: &str = "api-server";

/// The longest name a CronJob may have: its Jobs are named after it with 11 characters more,
/// and a Job's name must fit in a label value (63 characters).
const MAX_CRON_JOB_NAME: usize = 52;

/// The most the keys and values of one object's annotations may hold together.
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// How the API server checks the names of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    /// DNS-1123 subdomain: most kinds, and every custom resource.
    Subdomain,
    /// DNS-1123 label: Namespaces, StatefulSets.
    Label,
    /// DNS-1035 label: Services.
    Dns1035Label,
    /// A segment of an API path: RBAC roles and bindings, and any kind not known here, so
    /// that no name the API server takes is refused.
    PathSegment,
}

fn name_rule(group: &str, kind: &str) -> NameRule {
    use NameRule::*;
    match (group, kind) {
        ("", "Namespace") | ("apps", "StatefulSet") => Label,
        ("", "Service") => Dns1035Label,
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => PathSegment,
        (group, _) if !is_builtin_group(group) => Subdomain,
        (
            "",
            "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "Pod"
            | "PodTemplate"
            | "PersistentVolume"
            | "PersistentVolumeClaim"
            | "ReplicationController"
            | "Endpoints"
            | "LimitRange"
            | "ResourceQuota"
            | "Node",
        )
        | ("apps", "Deployment" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job" | "CronJob")
        | ("networking.k8s.io", "Ingress" | "IngressClass" | "NetworkPolicy")
        | ("policy", "PodDisruptionBudget")
        | ("autoscaling", "HorizontalPodAutoscaler")
        | ("storage.k8s.io", "StorageClass")
        | ("scheduling.k8s.io", "PriorityClass")
        | ("coordination.k8s.io", "Lease")
        | ("apiextensions.k8s.io", "CustomResourceDefinition") => Subdomain,
        _ => PathSegment,
    }
}

/// The lists of a pod's containers.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Where a built-in kind holds the metadata of the pods it makes, besides its own.
const POD_TEMPLATE_METADATA: [&str; 3] = [
    "/spec/template/metadata",
    "/template/metadata",
    "/spec/jobTemplate/spec/template/metadata",
];

/// The API server's findings for one document, whose whole value is `value`: none for a kind
/// `schemas` do not know, which may be a tool's configuration file that only looks like an
/// object (a generator's input, say), as the schema check leaves it with a warning.
pub fn check(document: &Document, value: &Value, schemas: &Schemas) -> Vec<Diagnostic> {
    let (Some((group, _)), Some(kind)) = (document.group_version(), document.kind()) else {
        return Vec::new();
    };
    if KUSTOMIZE_CONFIG_GROUPS.contains(&group)
        || kind.ends_with("List")
        || schemas.is_namespaced(group, kind).is_none()
    {
        return Vec::new();
    }
    let mut findings = Findings {
        document,
        found: Vec::new(),
    };
    let metadata = value.get("metadata").and_then(Value::as_object);
    findings.name(metadata, name_rule(group, kind));
    if (group, kind) == ("batch", "CronJob")
        && let Some(name) = metadata.and_then(|metadata| literal(metadata, "name"))
        && name.len() > MAX_CRON_JOB_NAME
    {
        findings.error(
            "/metadata/name",
            format!(
                "a CronJob's name is at most {MAX_CRON_JOB_NAME} characters, for the names of its Jobs; this one has {}",
                name.len()
            ),
        );
    }
    if let Some(metadata) = metadata {
        if let Some(namespace) = metadata.get("namespace").and_then(Value::as_str)
            && !namespace.is_empty()
            && !substituted(namespace)
            && let Err(problem) = names::check_label(namespace)
        {
            findings.error(
                "/metadata/namespace",
                format!("not a valid namespace name: {problem}"),
            );
        }
        findings.labels_and_annotations("/metadata", metadata);
    }
    if matches!(
        (group, kind),
        ("kustomize.toolkit.fluxcd.io", "Kustomization")
            | ("helm.toolkit.fluxcd.io", "HelmRelease")
    ) {
        findings.flux_names(value);
    }
    if (group, kind) == ("controlplane.cluster.x-k8s.io", "KubeadmControlPlane") {
        findings.control_plane_replicas(value);
    }
    if is_builtin_group(group) {
        for pointer in POD_TEMPLATE_METADATA {
            if let Some(metadata) = value.pointer(pointer).and_then(Value::as_object) {
                findings.labels_and_annotations(pointer, metadata);
            }
        }
        if matches!(
            (group, kind),
            (
                "apps",
                "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
            )
        ) {
            findings.selector(value);
        }
        findings.selectors(value, &mut Vec::new());
        let pod = pod_spec(group, kind).and_then(|at| Some((at, value.pointer(at)?.as_object()?)));
        if let Some((at, spec)) = pod {
            findings.pod_spec(at, spec);
            findings.value_sources(at, spec);
            findings.containers(at, spec);
        }
        findings.fields((group, kind), value, pod);
        match (group, kind) {
            ("", "Service") => findings.service(value),
            ("networking.k8s.io", "Ingress") => findings.ingress(value),
            ("autoscaling", "HorizontalPodAutoscaler") => {
                findings.autoscaler(value);
                if document
                    .group_version()
                    .is_some_and(|(_, version)| version == "v2")
                {
                    findings.autoscaler_metrics(value);
                }
            }
            ("policy", "PodDisruptionBudget") => findings.disruption_budget(value),
            ("", "ConfigMap") => findings.data_keys(value, &["data", "binaryData"]),
            ("", "Secret") => findings.data_keys(value, &["data", "stringData"]),
            _ => {}
        }
    }
    findings.found
}

/// Where a built-in kind holds the spec of its pods.
fn pod_spec(group: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, kind) {
        ("", "Pod") => "/spec",
        ("", "PodTemplate") => "/template/spec",
        ("", "ReplicationController")
        | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job") => "/spec/template/spec",
        ("batch", "CronJob") => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    })
}

/// The objects of the array at `key` of `object`, with their indexes.
fn items<'v>(
    object: &'v Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = (usize, &'v Map<String, Value>)> {
    object
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, item)| Some((index, item.as_object()?)))
}

/// The string at `key` of `object`, unless Flux is to fill it in.
fn literal<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|value| !substituted(value))
}

/// Whether `object` gives `field`: present and not null, as the API server reads an optional
/// field.
fn given(object: &Map<String, Value>, field: &str) -> bool {
    object.get(field).is_some_and(|value| !value.is_null())
}

/// A value Flux fills in before applying: checked once it is, by the API server.
fn substituted(value: &str) -> bool {
    value.contains("${")
}

struct Findings<'d, 't> {
    document: &'d Document<'t>,
    found: Vec<Diagnostic>,
}

impl Findings<'_, '_> {
    /// A finding at JSON `pointer`. Values differing from file to file stay out of the
    /// message, so that one template's mistake folds into one finding; the location shows it.
    fn error(&mut self, pointer: &str, message: String) {
        let what = self.document.describe();
        self.found.push(
            Diagnostic::error(RULE, format!("{what}: {pointer}: {message}"))
                .at(self.document.location(pointer)),
        );
    }

    fn name(&mut self, metadata: Option<&Map<String, Value>>, rule: NameRule) {
        let field = |key: &str| metadata.and_then(|metadata| metadata.get(key));
        let name = field("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            let generated = field("generateName")
                .and_then(Value::as_str)
                .is_some_and(|prefix| !prefix.is_empty());
            if !generated {
                self.error("/metadata", "`metadata.name` is required".to_owned());
            }
            return;
        }
        if substituted(name) {
            return;
        }
        let (checked, names_are) = match rule {
            NameRule::Subdomain => (names::check_subdomain(name), "DNS-1123 subdomains"),
            NameRule::Label => (names::check_label(name), "DNS-1123 labels"),
            NameRule::Dns1035Label => (names::check_dns1035_label(name), "DNS-1035 labels"),
            NameRule::PathSegment => (names::check_path_segment(name), "path segments"),
        };
        if let Err(problem) = checked {
            let kind = self.document.kind().unwrap_or_default();
            self.error(
                "/metadata/name",
                format!("{kind} names are {names_are}: {problem}"),
            );
        }
    }

    /// `metadata` is at `pointer`.
    fn labels_and_annotations(&mut self, pointer: &str, metadata: &Map<String, Value>) {
        if let Some(labels) = metadata.get("labels").and_then(Value::as_object) {
            for (key, value) in labels {
                let at = format!("{pointer}/labels/{}", escape_segment(key));
                if substituted(key) {
                    continue;
                }
                if let Err(problem) = names::check_qualified_name(key) {
                    self.error(&at, format!("not a valid label key: {problem}"));
                }
                if let Some(value) = value.as_str()
                    && !substituted(value)
                    && let Err(problem) = names::check_label_value(value)
                {
                    self.error(&at, format!("not a valid label value: {problem}"));
                }
            }
        }
        if let Some(annotations) = metadata.get("annotations").and_then(Value::as_object) {
            let mut bytes = 0;
            for (key, value) in annotations {
                bytes += key.len() + value.as_str().map_or(0, str::len);
                // The API server checks annotation keys as lower-cased.
                if substituted(key) {
                    continue;
                }
                if let Err(problem) = names::check_qualified_name(&key.to_ascii_lowercase()) {
                    let at = format!("{pointer}/annotations/{}", escape_segment(key));
                    self.error(&at, format!("not a valid annotation key: {problem}"));
                }
            }
            if bytes > MAX_ANNOTATION_BYTES {
                self.error(
                    &format!("{pointer}/annotations"),
                    format!(
                        "annotations hold {bytes} bytes; the API server takes at most {MAX_ANNOTATION_BYTES}"
                    ),
                );
            }
        }
    }

    /// Names in a pod: containers and volumes are DNS-1123 labels, each once; ports are named
    /// as a Service's `targetPort` can name them, each once in its container; and every
    /// volume mount names one of the pod's volumes. `spec` is at `at`.
    fn pod_spec(&mut self, at: &str, spec: &Map<String, Value>) {
        let mut volumes = HashSet::new();
        // A volume whose name Flux fills in could be any: its mounts are not checked.
        let mut volumes_known = true;
        for (index, volume) in items(spec, "volumes") {
            let Some(name) = literal(volume, "name") else {
                volumes_known &= !volume.get("name").is_some_and(Value::is_string);
                continue;
            };
            let pointer = format!("{at}/volumes/{index}/name");
            self.unique_name(
                &pointer,
                name,
                names::check_label,
                ("pod", "volume"),
                &mut volumes,
            );
        }
        let mut containers = HashSet::new();
        for list in CONTAINER_LISTS {
            for (index, container) in items(spec, list) {
                let here = format!("{at}/{list}/{index}");
                if let Some(name) = literal(container, "name") {
                    let pointer = format!("{here}/name");
                    let what = ("pod", "container");
                    self.unique_name(&pointer, name, names::check_label, what, &mut containers);
                }
                self.requests_within_limits(&here, container);
                let mut ports = HashSet::new();
                for (port_index, port) in items(container, "ports") {
                    let at_port = format!("{here}/ports/{port_index}");
                    self.port_number(&at_port, port, "containerPort", false);
                    self.port_number(&at_port, port, "hostPort", true);
                    let Some(name) = literal(port, "name") else {
                        continue;
                    };
                    let pointer = format!("{at_port}/name");
                    let what = ("container", "port");
                    self.unique_name(&pointer, name, names::check_port_name, what, &mut ports);
                }
                for (mount_index, mount) in items(container, "volumeMounts") {
                    if let Some(name) = literal(mount, "name")
                        && volumes_known
                        && !volumes.contains(name)
                    {
                        self.error(
                            &format!("{here}/volumeMounts/{mount_index}/name"),
                            format!(
                                "the pod has no volume named `{}` to mount",
                                crate::diagnostic::truncate(name)
                            ),
                        );
                    }
                }
            }
        }
    }

    /// A name at `pointer` that must pass `rule` and be the only one in `seen`; `what` says
    /// whose (the pod's) and of what (a volume).
    pub(super) fn unique_name<'v>(
        &mut self,
        pointer: &str,
        name: &'v str,
        rule: fn(&str) -> Result<(), String>,
        (owner, what): (&str, &str),
        seen: &mut HashSet<&'v str>,
    ) {
        if let Err(problem) = rule(name) {
            self.error(pointer, format!("not a valid {what} name: {problem}"));
        }
        if !seen.insert(name) {
            self.error(pointer, format!("the {owner} has two {what}s of this name"));
        }
    }

    /// A container's request of a resource may not be more than its limit of it; the
    /// container is at `here`.
    fn requests_within_limits(&mut self, here: &str, container: &Map<String, Value>) {
        let resources = container.get("resources").and_then(Value::as_object);
        let field = |name: &str| resources?.get(name)?.as_object();
        let (Some(requests), Some(limits)) = (field("requests"), field("limits")) else {
            return;
        };
        for (resource, limit) in limits {
            if let Some(request) = requests.get(resource)
                && quantity::compare(request, limit) == Some(Ordering::Greater)
            {
                let limit = match limit {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                self.error(
                    &format!("{here}/resources/requests/{}", escape_segment(resource)),
                    format!(
                        "the request is more than the limit, `{}`",
                        crate::diagnostic::truncate(&limit)
                    ),
                );
            }
        }
    }

    /// A port number at `field` of the port at `at`, if it is a number: 1 to 65535, or 0
    /// where `zero_unset` (a field whose 0 means none, or the default).
    pub(super) fn port_number(
        &mut self,
        at: &str,
        port: &Map<String, Value>,
        field: &str,
        zero_unset: bool,
    ) {
        let Some(number) = port.get(field).and_then(Value::as_i64) else {
            return;
        };
        if (1..=65_535).contains(&number) || (zero_unset && number == 0) {
            return;
        }
        self.error(
            &format!("{at}/{field}"),
            format!("{number} is not a port number: 1 to 65535"),
        );
    }

    /// The keys of a ConfigMap's or Secret's data, file names where it is mounted.
    fn data_keys(&mut self, value: &Value, fields: &[&str]) {
        for field in fields {
            let Some(data) = value.get(*field).and_then(Value::as_object) else {
                continue;
            };
            for key in data.keys().filter(|key| !substituted(key)) {
                if let Err(problem) = names::check_data_key(key) {
                    self.error(
                        &format!("/{field}/{}", escape_segment(key)),
                        format!("not a valid key: {problem}"),
                    );
                }
            }
        }
    }

    /// The names a Flux Kustomization or HelmRelease applies with: the API server refuses
    /// every object it applies into a namespace whose name is not a DNS-1123 label, and Flux
    /// impersonates a service account only by a valid name.
    fn flux_names(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        for field in ["targetNamespace", "storageNamespace"] {
            if let Some(namespace) = literal(spec, field)
                && let Err(problem) = names::check_label(namespace)
            {
                self.error(
                    &format!("/spec/{field}"),
                    format!("not a valid namespace name: {problem}"),
                );
            }
        }
        if let Some(account) = literal(spec, "serviceAccountName")
            && let Err(problem) = names::check_subdomain(account)
        {
            self.error(
                "/spec/serviceAccountName",
                format!("not a valid service account name: {problem}"),
            );
        }
    }

    /// A workload's selector must select its own pod template: the API server refuses one
    /// that is empty or that its template's labels do not match.
    fn selector(&mut self, value: &Value) {
        let Some(selector) = value.pointer("/spec/selector").and_then(Value::as_object) else {
            return;
        };
        let match_labels = selector.get("matchLabels").and_then(Value::as_object);
        let expressions = selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .filter(|expressions| !expressions.is_empty());
        if expressions.is_some() {
            // Matching expressions is left to the API server.
            return;
        }
        let Some(match_labels) = match_labels.filter(|labels| !labels.is_empty()) else {
            self.error(
                "/spec/selector",
                "an empty selector would select every pod; the API server refuses it".to_owned(),
            );
            return;
        };
        let labels = value
            .pointer("/spec/template/metadata/labels")
            .and_then(Value::as_object);
        for (key, wanted) in match_labels {
            let (Some(wanted), false) = (wanted.as_str(), substituted(key)) else {
                continue;
            };
            if substituted(wanted) {
                continue;
            }
            let has = labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str);
            if has.is_some_and(substituted) {
                continue;
            }
            if has != Some(wanted) {
                let at = format!("/spec/selector/matchLabels/{}", escape_segment(key));
                self.error(
                    &at,
                    format!(
                        "the selector does not select the pod template: its labels have no `{}` of this value",
                        crate::diagnostic::truncate(key)
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
