//! What the API server refuses that no OpenAPI schema says: object names, namespaces, label
//! and annotation keys and values, a workload whose selector does not select its own pods,
//! names within a pod (containers, ports, volumes and the mounts that name them), a Service's
//! port names, and the keys of a ConfigMap's or Secret's data.
//! The schemas take `name: Redis_Bad` or a label value with a space in it; `kubectl apply`
//! and Flux's server-side apply do not, and one object refused fails its whole Kustomization.
//!
//! Only rules the API server applies to every object of a kind are here, each as the
//! apimachinery validation of that kind has it. A value holding `${` is left alone: Flux
//! substitutes it (`postBuild`) before it applies the object.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::document::{Document, escape_segment};
use super::schema::{KUSTOMIZE_CONFIG_GROUPS, is_builtin_group};
use crate::diagnostic::Diagnostic;
use crate::model::names;

const RULE: &str = "api-server";

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

/// Where a built-in kind holds the metadata of the pods it makes, besides its own.
const POD_TEMPLATE_METADATA: [&str; 3] = [
    "/spec/template/metadata",
    "/template/metadata",
    "/spec/jobTemplate/spec/template/metadata",
];

/// The API server's findings for one document, whose whole value is `value`.
pub fn check(document: &Document, value: &Value) -> Vec<Diagnostic> {
    let (Some((group, _)), Some(kind)) = (document.group_version(), document.kind()) else {
        return Vec::new();
    };
    if KUSTOMIZE_CONFIG_GROUPS.contains(&group) || kind.ends_with("List") {
        return Vec::new();
    }
    let mut findings = Findings {
        document,
        found: Vec::new(),
    };
    let metadata = value.get("metadata").and_then(Value::as_object);
    findings.name(metadata, name_rule(group, kind));
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
        if let Some(at) = pod_spec(group, kind)
            && let Some(spec) = value.pointer(at).and_then(Value::as_object)
        {
            findings.pod_spec(at, spec);
        }
        match (group, kind) {
            ("", "Service") => findings.service_ports(value),
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
                let pointer = if metadata.is_some() { "/metadata" } else { "" };
                self.error(pointer, "`metadata.name` is required".to_owned());
            }
            return;
        }
        if substituted(name) {
            return;
        }
        let (checked, kind_of_name) = match rule {
            NameRule::Subdomain => (names::check_subdomain(name), "a DNS-1123 subdomain"),
            NameRule::Label => (names::check_label(name), "a DNS-1123 label"),
            NameRule::Dns1035Label => (names::check_dns1035_label(name), "a DNS-1035 label"),
            NameRule::PathSegment => (names::check_path_segment(name), "a path segment"),
        };
        if let Err(problem) = checked {
            let kind = self.document.kind().unwrap_or_default();
            self.error(
                "/metadata/name",
                format!("a {kind}'s name must be {kind_of_name}: {problem}"),
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
            if let Err(problem) = names::check_label(name) {
                self.error(&pointer, format!("not a valid volume name: {problem}"));
            }
            if !volumes.insert(name) {
                self.error(&pointer, "the pod has two volumes of this name".to_owned());
            }
        }
        let mut containers = HashSet::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for (index, container) in items(spec, list) {
                let here = format!("{at}/{list}/{index}");
                if let Some(name) = literal(container, "name") {
                    if let Err(problem) = names::check_label(name) {
                        self.error(
                            &format!("{here}/name"),
                            format!("not a valid container name: {problem}"),
                        );
                    }
                    if !containers.insert(name) {
                        self.error(
                            &format!("{here}/name"),
                            "the pod has two containers of this name".to_owned(),
                        );
                    }
                }
                let mut ports = HashSet::new();
                for (port_index, port) in items(container, "ports") {
                    let Some(name) = literal(port, "name") else {
                        continue;
                    };
                    let pointer = format!("{here}/ports/{port_index}/name");
                    if let Err(problem) = names::check_port_name(name) {
                        self.error(&pointer, format!("not a valid port name: {problem}"));
                    }
                    if !ports.insert(name) {
                        self.error(
                            &pointer,
                            "the container has two ports of this name".to_owned(),
                        );
                    }
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

    /// A Service's ports: each named, as a DNS-1123 label and once, when there are several,
    /// and a `targetPort` given as a string names a container port.
    fn service_ports(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        let several = spec
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| ports.len() > 1);
        let mut seen = HashSet::new();
        for (index, port) in items(spec, "ports") {
            let here = format!("/spec/ports/{index}");
            match port.get("name").and_then(Value::as_str) {
                None | Some("") if several => self.error(
                    &here,
                    "a Service with several ports must name each of them".to_owned(),
                ),
                Some(name) if !name.is_empty() && !substituted(name) => {
                    if let Err(problem) = names::check_label(name) {
                        self.error(
                            &format!("{here}/name"),
                            format!("not a valid port name: {problem}"),
                        );
                    }
                    if !seen.insert(name) {
                        self.error(
                            &format!("{here}/name"),
                            "the Service has two ports of this name".to_owned(),
                        );
                    }
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
mod tests {
    use super::*;
    use crate::validate::parse::parse_file;

    /// What the rules find in `text`, as `(line, message)`.
    fn found(text: &str) -> Vec<(usize, String)> {
        let document = parse_file("main", "x.yaml", text.as_bytes())
            .unwrap()
            .remove(0);
        check(&document, &document.full_value())
            .into_iter()
            .map(|finding| {
                assert_eq!(finding.rule, RULE);
                (finding.location.unwrap().line, finding.message)
            })
            .collect()
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-a
  labels:
    app.kubernetes.io/name: web
  annotations:
    example.com/Owner: Team A
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
        tier: front
    spec:
      containers: []
";

    #[test]
    fn objects_the_api_server_takes_pass() {
        assert_eq!(found(DEPLOYMENT), []);
        for text in [
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:Aggregate'}\n",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a.b-c}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${CLUSTER}-Settings', labels: {a: '${VALUE}'}}\n",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
            "apiVersion: v1\nkind: List\nitems: []\n",
            // A built-in kind not known here: only what every name must be.
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: Mixed_Case}\n",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn names_follow_their_kinds_rule() {
        let name_of = |kind: &str, api_version: &str, name: &str| {
            found(&format!(
                "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n"
            ))
        };
        let refused = |kind, api_version, name, says: &str| {
            let findings = name_of(kind, api_version, name);
            assert_eq!(findings.len(), 1, "{kind} {name}: {findings:?}");
            assert_eq!(findings[0].0, 4, "at the name's line");
            assert!(findings[0].1.contains(says), "{kind} {name}: {findings:?}");
        };
        refused("Deployment", "apps/v1", "Web", "DNS-1123 subdomain");
        refused(
            "Widget",
            "example.com/v1",
            "my_widget",
            "DNS-1123 subdomain",
        );
        refused("Namespace", "v1", "a.b", "DNS-1123 label");
        refused("StatefulSet", "apps/v1", "db.primary", "DNS-1123 label");
        refused("Service", "v1", "9web", "DNS-1035 label");
        refused(
            "Role",
            "rbac.authorization.k8s.io/v1",
            "a/b",
            "path segment",
        );
        refused(
            "FlowSchema",
            "flowcontrol.apiserver.k8s.io/v1",
            "'..'",
            "path segment",
        );
        assert_eq!(name_of("Deployment", "apps/v1", "a.b"), []);
        assert_eq!(name_of("Namespace", "v1", "a-b"), []);

        let unnamed = found("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n");
        assert_eq!(unnamed.len(), 1);
        assert!(unnamed[0].1.ends_with("`metadata.name` is required"));
        assert_eq!(
            found("apiVersion: v1\nkind: ConfigMap\ndata: {}\n").len(),
            1
        );
    }

    #[test]
    fn namespaces_labels_and_annotations() {
        let findings = found(
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: Team-A
  labels:
    good: value
    bad key: value
    example.com/version: 1.0+build
    empty: ''
  annotations:
    Example.com/Note: any text at all, even
      on two lines
    a/b/c: x
",
        );
        let lines: Vec<usize> = findings.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [5, 8, 9, 14], "{findings:#?}");
        assert!(
            findings[0]
                .1
                .contains("/metadata/namespace: not a valid namespace name")
        );
        assert!(
            findings[1]
                .1
                .contains("/metadata/labels/bad key: not a valid label key")
        );
        assert!(findings[2].1.contains("not a valid label value"));
        assert!(
            findings[3]
                .1
                .contains("/metadata/annotations/a~1b~1c: not a valid annotation key")
        );

        let big = "x".repeat(MAX_ANNOTATION_BYTES);
        let findings = found(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    k: {big}\n"
        ));
        assert_eq!(findings.len(), 1);
        assert!(findings[0].1.contains("annotations hold 262145 bytes"));
    }

    #[test]
    fn pod_templates_are_checked_in_built_in_kinds_only() {
        let bad_template = DEPLOYMENT.replace("tier: front", "tier: front end");
        let findings = found(&bad_template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].0, 18);
        assert!(
            findings[0]
                .1
                .contains("/spec/template/metadata/labels/tier: not a valid label value")
        );
        // A custom resource's `spec.template` is whatever its CRD says, such as chart values.
        let custom = bad_template
            .replace("apps/v1", "example.com/v1")
            .replace("app: web\n  template", "app: other\n  template");
        assert_eq!(found(&custom), []);
    }

    #[test]
    fn a_workload_selects_its_own_pods() {
        let other = DEPLOYMENT.replace("      app: web\n  template", "      app: api\n  template");
        let findings = found(&other);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].0, 13);
        assert!(
            findings[0]
                .1
                .contains("/spec/selector/matchLabels/app: the selector does not select")
        );
        let missing = DEPLOYMENT.replace("        app: web\n", "");
        assert_eq!(found(&missing).len(), 1);
        let empty = DEPLOYMENT.replace(
            "    matchLabels:\n      app: web\n",
            "    matchLabels: {}\n",
        );
        assert!(found(&empty)[0].1.contains("an empty selector"));
        // Expressions are left to the API server.
        let expressions = DEPLOYMENT.replace(
            "    matchLabels:\n      app: web\n",
            "    matchLabels: {app: api}\n    matchExpressions: [{key: tier, operator: Exists}]\n",
        );
        assert_eq!(found(&expressions), []);
    }

    #[test]
    fn names_within_a_pod() {
        let pod = |spec: &str| {
            found(&format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}"
            ))
        };
        assert_eq!(
            pod("  volumes: [{name: data}, {name: cache}]
  initContainers: [{name: init, volumeMounts: [{name: data}]}]
  containers:
  - name: app
    ports: [{name: http, containerPort: 80}, {name: metrics, containerPort: 9090}]
    volumeMounts: [{name: cache}]
"),
            []
        );
        let findings = pod("  volumes: [{name: Data}, {name: cache}, {name: cache}]
  initContainers: [{name: app}]
  containers:
  - name: app
    ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}, {name: metrics-endpoint-v2}]
    volumeMounts: [{name: logs}, {name: Data}]
  - name: side_car
");
        let said: Vec<(usize, &str)> = findings
            .iter()
            .map(|(line, message)| (*line, message.split_once(": /spec/").unwrap().1))
            .collect();
        assert_eq!(
            said,
            [
                (
                    5,
                    "volumes/0/name: not a valid volume name: it contains the upper-case letter `D`; use lower-case letters, digits and `-`"
                ),
                (5, "volumes/2/name: the pod has two volumes of this name"),
                (
                    8,
                    "containers/0/name: the pod has two containers of this name"
                ),
                (
                    9,
                    "containers/0/ports/1/name: the container has two ports of this name"
                ),
                (
                    9,
                    "containers/0/ports/2/name: not a valid port name: it is 19 characters long; the limit is 15"
                ),
                (
                    10,
                    "containers/0/volumeMounts/0/name: the pod has no volume named `logs` to mount"
                ),
                (
                    11,
                    "containers/1/name: not a valid container name: it contains `_`; use lower-case letters, digits and `-`"
                ),
            ]
        );
        // The pod of a workload is checked where the workload holds it.
        let job = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: run, volumeMounts: [{name: scratch}]}]\n";
        assert!(found(job)[0].1.contains("/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/0/name: the pod has no volume named `scratch`"));
        // A volume named by Flux could be any: mounts are not checked against it.
        assert_eq!(
            pod(
                "  volumes: [{name: '${VOLUME}'}]\n  containers: [{name: app, volumeMounts: [{name: data}]}]\n"
            ),
            []
        );
    }

    #[test]
    fn service_ports_and_data_keys() {
        let service = |ports: &str| {
            found(&format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  ports:\n{ports}"
            ))
        };
        assert_eq!(service("  - port: 80\n"), []);
        assert_eq!(
            service(
                "  - {name: http, port: 80, targetPort: http}\n  - {name: https, port: 443, targetPort: 8443}\n"
            ),
            []
        );
        let findings = service(
            "  - {port: 80}\n  - {name: Web, port: 81}\n  - {name: metrics, port: 82, targetPort: '9090'}\n  - {name: metrics, port: 83, targetPort: http-}\n",
        );
        let said: Vec<&str> = findings
            .iter()
            .map(|(_, message)| message.split_once(": /spec/").unwrap().1)
            .collect();
        assert_eq!(
            said,
            [
                "ports/0: a Service with several ports must name each of them",
                "ports/1/name: not a valid port name: it contains the upper-case letter `W`; use lower-case letters, digits and `-`",
                "ports/2/targetPort: a port number in quotes is a port name, and not a valid one; write the number unquoted",
                "ports/3/name: the Service has two ports of this name",
                "ports/3/targetPort: not a valid port name: it starts or ends with `-` or has two in a row",
            ]
        );

        let findings = found(
            "apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  app.yaml: x
  config/app.yaml: x
  '${FILE}': x
binaryData:
  ..data: eA==
",
        );
        let lines: Vec<usize> = findings.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [6, 9], "{findings:?}");
        assert!(
            findings[0]
                .1
                .contains("/data/config~1app.yaml: not a valid key: it contains `/`")
        );
        let secret = found(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  'my key': x\n",
        );
        assert_eq!(secret.len(), 1);
        assert!(secret[0].1.contains("/stringData/my key: not a valid key"));
    }

    /// A value from a pull request that would add YAML or reach a terminal as an escape is
    /// refused, and printed as data: one line, escapes shown.
    #[test]
    fn hostile_values_are_refused_and_printed_as_data() {
        let document = parse_file(
            "main",
            "x.yaml",
            b"apiVersion: v1
kind: ConfigMap
metadata:
  name: \"a\\n---\\nkind: Secret\"
  namespace: ../../etc
  labels:
    \"k\\e[2J\": \"v\\r\\n::error::x\"
",
        )
        .unwrap()
        .remove(0);
        let findings = check(&document, &document.full_value());
        assert_eq!(findings.len(), 4, "{findings:#?}");
        for finding in &findings {
            let printed = finding.to_string();
            assert_eq!(printed.lines().count(), 1, "{printed}");
            assert!(!printed.contains('\u{1b}'), "{printed}");
        }
    }
}
