mod kinds;
mod pods;

use super::*;
use crate::validate::parse::parse_file;

/// The embedded schemas and a custom resource, `example.com/v1` Widget.
fn schemas() -> &'static Schemas {
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut schemas = Schemas::embedded(None).unwrap();
        schemas
            .add_crd_text(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.com\n  names: {kind: Widget}\n  scope: Namespaced\n  versions: [{name: v1, served: true}]\n",
                "widgets.yaml",
            )
            .unwrap();
        schemas
    })
}

/// Asserts that `findings` are one, at `line`, saying `says`.
pub(super) fn only(findings: Vec<(usize, String)>, line: usize, says: &str) {
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].0, line, "{findings:?}");
    assert!(findings[0].1.contains(says), "{findings:?}");
}

/// What the rules find in `text`, as `(line, message)`.
pub(super) fn found(text: &str) -> Vec<(usize, String)> {
    let document = parse_file("main", "x.yaml", text.as_bytes())
        .unwrap()
        .remove(0);
    check(&document, &document.full_value(), schemas())
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
      containers: [{name: web, image: web}]
";

#[test]
fn objects_the_api_server_takes_pass() {
    assert_eq!(found(DEPLOYMENT), []);
    for text in [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\nspec: {ports: [{port: 80}]}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:Aggregate'}\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a.b-c}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${CLUSTER}-Settings', labels: {a: '${VALUE}'}}\n",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
        "apiVersion: v1\nkind: List\nitems: []\n",
        // A built-in kind not known here: only what every name must be.
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: Mixed_Case}\n",
        // A kind no schema knows may be a tool's configuration, with no name.
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles: []\n",
        "apiVersion: example.org/v1\nkind: AppConfig\nmetadata: {labels: {bad key: x}}\n",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
}

#[test]
fn names_follow_their_kinds_rule() {
    let name_of = |kind: &str, api_version: &str, name: &str| {
        // A Service needs ports besides its name.
        let spec = match kind {
            "Service" => "spec: {ports: [{port: 80}]}\n",
            _ => "",
        };
        found(&format!(
            "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n{spec}"
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
    only(
        found(&bad_template),
        18,
        "/spec/template/metadata/labels/tier: not a valid label value",
    );
    // A custom resource's `spec.template` is whatever its CRD says, such as chart values.
    let custom = bad_template
        .replace("apps/v1\nkind: Deployment", "example.com/v1\nkind: Widget")
        .replace("app: web\n  template", "app: other\n  template");
    assert_eq!(found(&custom), []);
    only(
        found(&custom.replace("name: web", "name: Web")),
        4,
        "/metadata/name: Widget names are DNS-1123 subdomains",
    );
}

#[test]
fn a_workload_selects_its_own_pods() {
    let other = DEPLOYMENT.replace("      app: web\n  template", "      app: api\n  template");
    only(
        found(&other),
        13,
        "/spec/selector/matchLabels/app: the selector does not select",
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
    // A template label Flux fills in may well match.
    let filled = DEPLOYMENT.replace("        app: web\n", "        app: '${APP}'\n");
    assert_eq!(found(&filled), []);
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
    let secret =
        found("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  'my key': x\n");
    assert_eq!(secret.len(), 1);
    assert!(secret[0].1.contains("/stringData/my key: not a valid key"));
}

#[test]
fn flux_applies_into_valid_namespaces_as_valid_accounts() {
    let release = |spec: &str| {
        found(&format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: r, namespace: n}}\nspec:\n{spec}"
        ))
    };
    assert_eq!(
        release(
            "  targetNamespace: web\n  storageNamespace: flux-system\n  serviceAccountName: team-a.deployer\n"
        ),
        []
    );
    let findings = release(
        "  targetNamespace: Web_NS\n  storageNamespace: a.b\n  serviceAccountName: Deployer\n",
    );
    let said: Vec<(usize, &str)> = findings
        .iter()
        .map(|(line, message)| (*line, message.split_once(": /spec/").unwrap().1))
        .collect();
    assert_eq!(
        said,
        [
            (
                5,
                "targetNamespace: not a valid namespace name: it contains the upper-case letter `W`; use lower-case letters, digits and `-`"
            ),
            (
                6,
                "storageNamespace: not a valid namespace name: it contains `.`; use lower-case letters, digits and `-`"
            ),
            (
                7,
                "serviceAccountName: not a valid service account name: it contains the upper-case letter `D`; use lower-case letters, digits, `-` and `.`"
            ),
        ]
    );
    let kustomization = found(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k, namespace: n}\nspec:\n  targetNamespace: '${TENANT}-apps'\n  serviceAccountName: '-x'\n",
    );
    assert_eq!(kustomization.len(), 1, "{kustomization:?}");
    assert!(kustomization[0].1.contains("/spec/serviceAccountName"));
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
    let findings = check(&document, &document.full_value(), schemas());
    assert_eq!(findings.len(), 4, "{findings:#?}");
    for finding in &findings {
        let printed = finding.to_string();
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert!(!printed.contains('\u{1b}'), "{printed}");
    }
}

#[test]
fn fields_take_only_what_the_api_server_supports() {
    let deployment = |spec: &str, pod: &str| {
        found(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n{spec}  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n{pod}"
        ))
    };
    let container = "      containers:\n      - name: app\n        image: web\n";
    assert_eq!(
        deployment(
            "  replicas: 0\n  strategy: {type: Recreate}\n",
            &format!(
                "      restartPolicy: Always\n      dnsPolicy: ClusterFirst\n{container}        imagePullPolicy: IfNotPresent\n        ports: [{{containerPort: 53, protocol: UDP}}]\n"
            )
        ),
        []
    );
    let said: Vec<(usize, String)> = deployment(
        "  replicas: -1\n  revisionHistoryLimit: -2\n  strategy: {type: BlueGreen}\n",
        "      restartPolicy: Never\n      terminationGracePeriodSeconds: -5\n      containers:\n      - name: app\n        imagePullPolicy: Sometimes\n        ports: [{containerPort: 80, protocol: HTTP}]\n      - {name: side, image: ''}\n",
    )
    .into_iter()
    .map(|(line, message)| (line, message.split_once(": /spec/").unwrap().1.to_owned()))
    .collect();
    let expected = [
        (
            8,
            "strategy/type: `BlueGreen` is not supported here: `Recreate` or `RollingUpdate`",
        ),
        (
            6,
            "replicas: -1 is below zero; the API server takes 0 or more",
        ),
        (
            7,
            "revisionHistoryLimit: -2 is below zero; the API server takes 0 or more",
        ),
        (
            12,
            "template/spec/restartPolicy: `Never` is not supported here: only `Always`",
        ),
        (
            13,
            "template/spec/terminationGracePeriodSeconds: -5 is below zero; the API server takes 0 or more",
        ),
        (
            16,
            "template/spec/containers/0/imagePullPolicy: `Sometimes` is not supported here: `Always`, `IfNotPresent` or `Never`",
        ),
        (
            17,
            "template/spec/containers/0/ports/0/protocol: `HTTP` is not supported here: `TCP`, `UDP` or `SCTP`",
        ),
        (
            15,
            "template/spec/containers/0: a container needs an `image`",
        ),
        (
            18,
            "template/spec/containers/1/image: a container's image may not be empty",
        ),
    ];
    let expected: Vec<(usize, String)> = expected
        .into_iter()
        .map(|(line, message)| (line, message.to_owned()))
        .collect();
    assert_eq!(said, expected);

    // A container that is not a mapping is the schema check's to report, not a container
    // without an image.
    assert_eq!(
        found("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [app]\n"),
        []
    );

    // A Job's pods must say how they restart; a Pod's may leave it to the default.
    let job = |restart: &str| {
        found(&format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: once}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n{restart}      containers: [{{name: run, image: tool}}]\n"
        ))
    };
    assert_eq!(job("      restartPolicy: OnFailure\n"), []);
    only(
        job(""),
        7,
        "/spec/template/spec: a Job's pods must set `restartPolicy` to `OnFailure` or `Never`: the default, `Always`, is refused for a Job",
    );
    only(
        job("      restartPolicy: Always\n"),
        8,
        "/spec/template/spec/restartPolicy: `Always` is not supported here: `OnFailure` or `Never`",
    );
    assert_eq!(
        found(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: OnFailure\n  containers: [{name: a, image: b}]\n"
        ),
        []
    );

    // A Service's own choices, and values Flux fills in, which are left alone.
    let service = found(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: Loadbalancer\n  externalTrafficPolicy: '${POLICY}'\n  ports: [{port: 80, protocol: tcp}]\n",
    );
    let lines: Vec<usize> = service.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [5, 7], "{service:?}");
    assert!(service[0].1.ends_with("/spec/type: `Loadbalancer` is not supported here: `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`"));
    assert!(
        service[1].1.ends_with(
            "/spec/ports/0/protocol: `tcp` is not supported here: `TCP`, `UDP` or `SCTP`"
        )
    );
    only(
        found(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: /, pathType: prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
        ),
        8,
        "/spec/rules/0/http/paths/0/pathType: `prefix` is not supported here: `Exact`, `Prefix` or `ImplementationSpecific`",
    );
}

#[test]
fn a_cron_jobs_schedule_is_read_as_the_api_server_reads_it() {
    let cron = |schedule: &str| {
        found(&format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: nightly}}\nspec:\n  schedule: {schedule}\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{{name: run, image: tool}}]\n"
        ))
    };
    assert_eq!(cron("'0 3 * * *'"), []);
    assert_eq!(cron("'${SCHEDULE}'"), []);
    only(
        cron("every five minutes"),
        5,
        "/spec/schedule: `every five minutes` is not a cron schedule: it has 3 fields",
    );
    only(
        cron("'0 24 * * *'"),
        5,
        "/spec/schedule: `0 24 * * *` is not a cron schedule: its hour: 24 is not within 0 to 23",
    );
}

#[test]
fn a_kubeadm_control_plane_has_an_odd_number_of_machines_around_a_stacked_etcd() {
    let control_plane = |spec: &str| {
        found(&format!(
            "apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata: {{name: edge, namespace: edge}}\nspec:\n{spec}"
        ))
    };
    assert_eq!(control_plane("  replicas: 3\n"), []);
    assert_eq!(control_plane("  replicas: '${REPLICAS}'\n"), []);
    assert_eq!(
        control_plane(
            "  replicas: 2\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      etcd:\n        external: {endpoints: [https://etcd:2379]}\n"
        ),
        []
    );
    only(
        control_plane("  replicas: 2\n"),
        5,
        "/spec/replicas: 2 control-plane machines around a stacked etcd: Cluster API takes an odd number (1, 3, 5)",
    );
    only(
        control_plane("  replicas: 0\n"),
        5,
        "/spec/replicas: 0 control-plane machines: Cluster API takes 1 or more",
    );
}
