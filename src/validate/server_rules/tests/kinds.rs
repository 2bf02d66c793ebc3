//! The rules of kinds other than pods and workloads.

use super::{found, only};

#[test]
fn an_ingress_routes_to_hosts_paths_and_service_ports() {
    let ingress = |spec: &str| {
        found(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: web}}\nspec:\n{spec}"
        ))
    };
    let routed = |host: &str, path: &str, port: &str| {
        ingress(&format!(
            "  rules:\n  - host: {host}\n    http:\n      paths:\n      - {{{path}, backend: {{service: {{name: web, port: {port}}}}}}}\n"
        ))
    };
    for (host, path, port) in [
        ("example.com", "path: /, pathType: Prefix", "{number: 80}"),
        (
            "'*.example.com'",
            "path: /api/v1, pathType: Exact",
            "{name: http}",
        ),
        (
            "''",
            "pathType: ImplementationSpecific",
            "{name: '${PORT}'}",
        ),
        (
            "'${HOST}'",
            "path: '/(.*)', pathType: ImplementationSpecific",
            "{number: 443}",
        ),
    ] {
        assert_eq!(routed(host, path, port), [], "{host} {path} {port}");
    }
    let prefix = "path: /, pathType: Prefix";
    only(
        routed("https://example.com", prefix, "{number: 80}"),
        6,
        "/spec/rules/0/host: not a valid host name (a host alone: no scheme, port or path)",
    );
    only(
        routed("10.0.0.1", prefix, "{number: 80}"),
        6,
        "/spec/rules/0/host: an Ingress host is a DNS name, not an IP address",
    );
    only(
        routed("example.com", "path: api, pathType: Prefix", "{number: 80}"),
        9,
        "/spec/rules/0/http/paths/0/path: an Ingress path is absolute: it starts with `/`",
    );
    only(
        routed(
            "example.com",
            "path: /a//b, pathType: Exact",
            "{number: 80}",
        ),
        9,
        "/spec/rules/0/http/paths/0/path: a `Prefix` or `Exact` path may not contain `//`",
    );
    only(
        routed("example.com", prefix, "{name: http, number: 80}"),
        9,
        "/spec/rules/0/http/paths/0/backend/service/port: a backend's port has a `name` or a `number`, not both",
    );
    only(
        routed("example.com", prefix, "{}"),
        9,
        "/spec/rules/0/http/paths/0/backend/service: a backend's Service needs a `port` with a `name` or a `number`",
    );
    only(
        ingress("  ingressClassName: nginx\n"),
        4,
        "/spec: an Ingress needs `rules` or a `defaultBackend`",
    );
    only(
        ingress("  defaultBackend:\n    service: {name: Web, port: {number: 80}}\n"),
        6,
        "/spec/defaultBackend/service/name: not a valid Service name",
    );
}

#[test]
fn autoscalers_and_budgets_ask_for_pods_the_api_server_can_count() {
    let autoscaler = |replicas: &str| {
        found(&format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n{replicas}"
        ))
    };
    assert_eq!(autoscaler("  minReplicas: 2\n  maxReplicas: 2\n"), []);
    assert_eq!(autoscaler("  maxReplicas: 1\n"), []);
    only(
        autoscaler("  minReplicas: 3\n  maxReplicas: 2\n"),
        7,
        "/spec/maxReplicas: 2 is below `minReplicas`, 3",
    );
    only(
        autoscaler("  minReplicas: 0\n  maxReplicas: 2\n"),
        6,
        "/spec/minReplicas: 0 is below 1",
    );
    let budget = |limits: &str| {
        found(&format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n{limits}"
        ))
    };
    assert_eq!(budget("  minAvailable: 50%\n"), []);
    assert_eq!(budget("  maxUnavailable: 1\n"), []);
    only(
        budget("  minAvailable: 1\n  maxUnavailable: 1\n"),
        4,
        "/spec: a budget sets `minAvailable` or `maxUnavailable`, not both",
    );
    only(
        budget("  maxUnavailable: 150%\n"),
        6,
        "/spec/maxUnavailable: `150%` is more than 100%",
    );
}

#[test]
fn a_cron_jobs_name_leaves_room_for_its_jobs() {
    let cron_job = |name: &str| {
        found(&format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: {name}}}\nspec:\n  schedule: '@daily'\n  jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: a, image: b}}]}}}}}}}}\n"
        ))
    };
    assert_eq!(cron_job(&"a".repeat(52)), []);
    only(
        cron_job(&"a".repeat(53)),
        3,
        "/metadata/name: a CronJob's name is at most 52 characters, for the names of its Jobs; this one has 53",
    );
}

#[test]
fn a_service_is_reachable_the_way_its_type_says() {
    let service = |spec: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n{spec}"
        ))
    };
    for taken in [
        "  ports: [{port: 80, name: tcp}, {port: 80, protocol: UDP, name: dns}]\n",
        "  clusterIP: None\n",
        "  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n",
        "  type: ExternalName\n  externalName: db.example.com.\n",
        "  type: '${TYPE}'\n  ports: [{port: 80, nodePort: 30080}]\n",
    ] {
        assert_eq!(service(taken), [], "{taken}");
    }
    only(
        found("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"),
        1,
        "a Service needs `ports`, unless it is headless (`clusterIP: None`) or an ExternalName",
    );
    only(
        service("  ports: [{port: 80, nodePort: 30080}]\n"),
        5,
        "/spec/ports/0/nodePort: a ClusterIP Service has no node ports",
    );
    only(
        service("  type: LoadBalancer\n  clusterIP: None\n  ports: [{port: 80}]\n"),
        6,
        "/spec/clusterIP: a LoadBalancer Service cannot be headless",
    );
    only(
        service("  type: ExternalName\n"),
        4,
        "/spec: an ExternalName Service needs an `externalName`",
    );
    only(
        service("  type: ExternalName\n  externalName: https://db.example.com\n"),
        6,
        "/spec/externalName: not a valid DNS name",
    );
    only(
        service("  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80, protocol: TCP}\n"),
        7,
        "/spec/ports/1: the Service has port 80 over TCP twice",
    );
    only(
        service(
            "  type: NodePort\n  ports:\n  - {name: a, port: 80, nodePort: 30080}\n  - {name: b, port: 81, nodePort: 30080}\n",
        ),
        8,
        "/spec/ports/1/nodePort: two ports of the Service ask for node port 30080",
    );
}

#[test]
fn selector_expressions_as_the_api_server_reads_them() {
    let policy = |selector: &str| {
        found(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web}}\nspec:\n  podSelector:\n    matchExpressions:\n{selector}"
        ))
    };
    for taken in [
        "    - {key: app, operator: In, values: [web]}\n    - {key: tier, operator: Exists}\n",
        "    - {key: app.kubernetes.io/name, operator: NotIn, values: ['${APP}']}\n",
    ] {
        assert_eq!(policy(taken), [], "{taken}");
    }
    only(
        policy("    - {key: app, operator: In}\n"),
        7,
        "/spec/podSelector/matchExpressions/0: `In` needs `values` to compare the label with",
    );
    only(
        policy("    - {key: app, operator: Exists, values: [web]}\n"),
        7,
        "/spec/podSelector/matchExpressions/0/values: `Exists` takes no `values`",
    );
    only(
        policy("    - {key: app, operator: Equals, values: [web]}\n"),
        7,
        "/spec/podSelector/matchExpressions/0/operator: `Equals` is not supported here: `In`, `NotIn`, `Exists` or `DoesNotExist`",
    );
    only(
        policy("    - {key: 'bad key', operator: Exists}\n"),
        7,
        "/spec/podSelector/matchExpressions/0/key: not a valid label key",
    );
    let node_affinity = |expression: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: a, image: b}}]\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions:\n          - {expression}\n"
        ))
    };
    assert_eq!(
        node_affinity("{key: cores, operator: Gt, values: ['8']}"),
        []
    );
    only(
        node_affinity("{key: cores, operator: Gt, values: ['8', '16']}"),
        11,
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0: `Gt` compares with exactly one value, a whole number",
    );
    only(
        node_affinity("{key: zone, operator: In}"),
        11,
        "nodeSelectorTerms/0/matchExpressions/0: `In` needs `values`",
    );
    // A custom resource's `selector` may mean something else.
    let custom = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  selector: {matchExpressions: [{key: a, operator: Equals}]}\n";
    assert_eq!(found(custom), []);
}

#[test]
fn an_autoscalers_metrics_give_one_source_and_a_target_it_can_scale_on() {
    let metric = |metric: &str| {
        found(&format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n  maxReplicas: 4\n  metrics:\n  - {metric}\n"
        ))
    };
    for taken in [
        "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}",
        "{type: ContainerResource, containerResource: {name: memory, container: web, target: {type: AverageValue, averageValue: 500Mi}}}",
        "{type: Pods, pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: '10'}}}",
        "{type: External, external: {metric: {name: queue}, target: {type: Value, value: '30'}}}",
    ] {
        assert_eq!(metric(taken), [], "{taken}");
    }
    only(
        metric("{type: Resource, resource: {name: cpu, target: {type: Utilization}}}"),
        8,
        "/spec/metrics/0/resource/target: a resource metric's target needs an `averageUtilization` or an `averageValue`",
    );
    only(
        metric(
            "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 0}}}",
        ),
        8,
        "/spec/metrics/0/resource/target/averageUtilization: 0 is below 1",
    );
    let messages: Vec<String> = metric(
        "{type: Resource, pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: '1'}}}",
    )
    .into_iter()
    .map(|(line, message)| format!("{line}: {message}"))
    .collect();
    assert_eq!(
        messages,
        [
            "8: autoscaling/v2 HorizontalPodAutoscaler web: /spec/metrics/0/pods: a `Resource` metric gives its source in `resource` only",
            "8: autoscaling/v2 HorizontalPodAutoscaler web: /spec/metrics/0: a `Resource` metric needs its source in `resource`",
        ]
    );
    only(
        metric(
            "{type: Cpu, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}",
        ),
        8,
        "/spec/metrics/0/type: `Cpu` is not supported here",
    );
    only(
        metric(
            "{type: Pods, pods: {metric: {name: rps}, target: {type: Percent, averageValue: '1'}}}",
        ),
        8,
        "/spec/metrics/0/pods/target/type: `Percent` is not supported here: `Utilization`, `Value` or `AverageValue`",
    );
}
