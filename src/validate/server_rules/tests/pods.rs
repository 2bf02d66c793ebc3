//! The rules of pods and their containers.

use super::{found, only};

#[test]
fn names_within_a_pod() {
    let pod = |spec: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}"
        ))
    };
    assert_eq!(
        pod("  volumes: [{name: data}, {name: cache}]
  initContainers: [{name: init, image: busybox, volumeMounts: [{name: data}]}]
  containers:
  - name: app
    image: web
    ports: [{name: http, containerPort: 80}, {name: metrics, containerPort: 9090}]
    volumeMounts: [{name: cache}]
"),
        []
    );
    let findings = pod("  volumes: [{name: Data}, {name: cache}, {name: cache}]
  initContainers: [{name: app, image: busybox}]
  containers:
  - name: app
    image: web
    ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}, {name: metrics-endpoint-v2}]
    volumeMounts: [{name: logs}, {name: Data}]
  - {name: side_car, image: proxy}
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
                10,
                "containers/0/ports/1/name: the container has two ports of this name"
            ),
            (
                10,
                "containers/0/ports/2/name: not a valid port name: it is 19 characters long; the limit is 15"
            ),
            (
                11,
                "containers/0/volumeMounts/0/name: the pod has no volume named `logs` to mount"
            ),
            (
                12,
                "containers/1/name: not a valid container name: it contains `_`; use lower-case letters, digits and `-`"
            ),
        ]
    );
    // The pod of a workload is checked where the workload holds it.
    let job = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: run, image: tool, volumeMounts: [{name: scratch}]}]\n";
    assert!(found(job)[0].1.contains("/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/0/name: the pod has no volume named `scratch`"));
    // A volume named by Flux could be any: mounts are not checked against it.
    assert_eq!(
        pod(
            "  volumes: [{name: '${VOLUME}'}]\n  containers: [{name: app, image: web, volumeMounts: [{name: data}]}]\n"
        ),
        []
    );
}

#[test]
fn requests_stay_within_limits() {
    let container = |resources: &str| {
        found(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        image: web\n        resources:\n{resources}"
        ))
    };
    assert_eq!(
        container(
            "          requests: {cpu: 500m, memory: 1G}\n          limits: {cpu: 1, memory: 1Gi}\n"
        ),
        []
    );
    assert_eq!(
        container("          requests: {cpu: '1', memory: 64Mi}\n"),
        []
    );
    assert_eq!(
        container("          requests: {cpu: 100m}\n          limits: {memory: 64Mi}\n"),
        []
    );
    // What the schemas refuse is not compared again.
    assert_eq!(
        container("          requests: {cpu: lots}\n          limits: {cpu: 1}\n"),
        []
    );
    only(
        container(
            "          requests:\n            cpu: 250m\n            memory: 512Mi\n          limits:\n            cpu: 500m\n            memory: 256Mi\n",
        ),
        15,
        "/spec/template/spec/containers/0/resources/requests/memory: the request is more than the limit, `256Mi`",
    );
}

#[test]
fn port_numbers_are_ports() {
    let pod = found(
        "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: web
    ports: [{containerPort: 8080, hostPort: 0}, {containerPort: 80800}, {containerPort: 0}, {containerPort: 80, hostPort: -1}]
",
    );
    let said: Vec<&str> = pod
        .iter()
        .map(|(_, message)| message.split_once(": /spec/").unwrap().1)
        .collect();
    assert_eq!(
        said,
        [
            "containers/0/ports/1/containerPort: 80800 is not a port number: 1 to 65535",
            "containers/0/ports/2/containerPort: 0 is not a port number: 1 to 65535",
            "containers/0/ports/3/hostPort: -1 is not a port number: 1 to 65535",
        ]
    );
    let service = found(
        "apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  ports:
  - {name: a, port: 80, targetPort: 0, nodePort: 0}
  - {name: b, port: 0, targetPort: 70000, nodePort: 30080}
",
    );
    let lines: Vec<usize> = service.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [8, 8], "{service:?}");
    assert!(
        service[0]
            .1
            .contains("/spec/ports/1/port: 0 is not a port number")
    );
    assert!(
        service[1]
            .1
            .contains("/spec/ports/1/targetPort: 70000 is not a port number")
    );
}

#[test]
fn a_pod_has_containers_and_probes_that_do_one_thing() {
    let pod = |spec: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}"
        ))
    };
    only(
        pod("  containers: []\n"),
        5,
        "/spec/containers: a pod needs a container",
    );
    let probed = |probes: &str| {
        pod(&format!(
            "  containers:\n  - name: a\n    image: b\n{probes}"
        ))
    };
    assert_eq!(
        probed(
            "    livenessProbe: {httpGet: {port: 80}, successThreshold: 1}\n    readinessProbe: {tcpSocket: {port: 80}, successThreshold: 3}\n"
        ),
        []
    );
    only(
        probed("    livenessProbe:\n      exec: {command: ['true']}\n      httpGet: {port: 80}\n"),
        8,
        "/spec/containers/0/livenessProbe: a probe does exactly one of `exec`, `httpGet`, `tcpSocket` or `grpc`; this one does 2",
    );
    only(
        probed("    startupProbe: {periodSeconds: 5}\n"),
        8,
        "/spec/containers/0/startupProbe: a probe does exactly one of `exec`, `httpGet`, `tcpSocket` or `grpc`; this one does 0",
    );
    only(
        probed("    livenessProbe:\n      grpc: {port: 9090}\n      successThreshold: 2\n"),
        10,
        "/spec/containers/0/livenessProbe/successThreshold: a livenessProbe's successThreshold must be 1, not 2",
    );
}

#[test]
fn variables_and_volumes_take_one_source_each() {
    let container = |fields: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: b\n{fields}"
        ))
    };
    let taken = "    env:\n    - {name: A, value: x}\n    - {name: B, value: '', valueFrom: {secretKeyRef: {name: s, key: k}}}\n    - {name: C, valueFrom: {fieldRef: {fieldPath: metadata.name}, fileKeyRef: null}}\n    - {name: '${NAME}', valueFrom: {configMapKeyRef: {name: '${MAP}', key: '${KEY}'}}}\n    - {name: 'dotted.name-ok'}\n    envFrom:\n    - {prefix: APP_, configMapRef: {name: settings}}\n    - secretRef: {name: creds}\n  volumes:\n  - name: data\n  - {name: cache, emptyDir: {}, hostPath: null}\n  - name: all\n    projected:\n      sources: [{secret: {name: s}}, {configMap: {name: c}}]\n";
    assert_eq!(container(taken), []);
    only(
        container(
            "    env:\n    - name: A\n      value: x\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n",
        ),
        11,
        "/spec/containers/0/env/0/valueFrom: a variable takes its value from `value` or from `valueFrom`, not both",
    );
    only(
        container(
            "    env:\n    - name: A\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n        configMapKeyRef: {name: c, key: k}\n",
        ),
        10,
        "/spec/containers/0/env/0/valueFrom: `valueFrom` takes the value from one source; this one names `configMapKeyRef` and `secretKeyRef`",
    );
    only(
        container("    env:\n    - name: A\n      valueFrom: {}\n"),
        10,
        "`valueFrom` takes the value from one of `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`; this one names none",
    );
    only(
        container("    env:\n    - name: A\n      valueFrom:\n        secretKeyRef: {key: k}\n"),
        11,
        "/spec/containers/0/env/0/valueFrom/secretKeyRef: the ConfigMap or Secret needs a `name`",
    );
    only(
        container(
            "    env:\n    - name: A\n      valueFrom:\n        configMapKeyRef: {name: Settings, key: k}\n",
        ),
        11,
        "/spec/containers/0/env/0/valueFrom/configMapKeyRef/name: not a valid name",
    );
    only(
        container(
            "    env:\n    - name: A\n      valueFrom:\n        configMapKeyRef: {name: settings, key: 'a/b'}\n",
        ),
        11,
        "/spec/containers/0/env/0/valueFrom/configMapKeyRef/key: not a valid key: it contains `/`",
    );
    only(
        container("    env:\n    - {name: 'A=B', value: x}\n"),
        9,
        "/spec/containers/0/env/0/name: not a valid variable name: it contains `=`",
    );
    only(
        container("    envFrom:\n    - configMapRef: {name: a}\n      secretRef: {name: b}\n"),
        9,
        "/spec/containers/0/envFrom/0: `envFrom` takes variables from one ConfigMap or Secret per entry; this entry names both",
    );
    only(
        container("    envFrom:\n    - prefix: A\n"),
        9,
        "/spec/containers/0/envFrom/0: `envFrom` takes variables from a `configMapRef` or a `secretRef`; this entry names neither",
    );
    only(
        container(
            "  volumes:\n  - name: data\n    emptyDir: {}\n    persistentVolumeClaim: {claimName: data}\n",
        ),
        9,
        "/spec/volumes/0: a volume has one source; this one names `emptyDir` and `persistentVolumeClaim`",
    );
    only(
        container(
            "  volumes:\n  - name: all\n    projected:\n      sources:\n      - secret: {name: s}\n        configMap: {name: c}\n",
        ),
        12,
        "/spec/volumes/0/projected/sources/0: each source of a projected volume projects one thing; this one names `configMap` and `secret`",
    );
}

#[test]
fn init_containers_hooks_ports_and_mounts() {
    let pod = |spec: &str| {
        found(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  volumes: [{{name: a}}, {{name: b}}]\n{spec}"
        ))
    };
    let taken = "  initContainers:\n  - name: setup\n    image: i\n  - name: proxy\n    image: i\n    restartPolicy: Always\n    startupProbe: {tcpSocket: {port: proxy}}\n    lifecycle: {preStop: {sleep: {seconds: 5}}}\n  containers:\n  - name: web\n    image: i\n    livenessProbe: {httpGet: {port: 8080, scheme: HTTPS}}\n    readinessProbe: {grpc: {port: 9090}}\n    lifecycle: {postStart: {exec: {command: ['true']}}, preStop: {httpGet: {port: '${PORT}'}}}\n    volumeMounts:\n    - {name: a, mountPath: /data, subPath: 'logs/web'}\n    - {name: b, mountPath: /cache, subPathExpr: '$(POD_NAME)'}\n";
    assert_eq!(pod(taken), []);
    only(
        pod(
            "  initContainers:\n  - name: setup\n    image: i\n    readinessProbe: {exec: {command: ['true']}}\n  containers: [{name: web, image: i}]\n",
        ),
        9,
        "/spec/initContainers/0/readinessProbe: an init container has no `readinessProbe` unless it restarts as a sidecar (`restartPolicy: Always`)",
    );
    let container = |fields: &str| {
        pod(&format!(
            "  containers:\n  - name: web\n    image: i\n{fields}"
        ))
    };
    only(
        container(
            "    lifecycle:\n      preStop: {exec: {command: ['true']}, sleep: {seconds: 1}}\n",
        ),
        10,
        "/spec/containers/0/lifecycle/preStop: a lifecycle hook does exactly one of `exec`, `httpGet`, `tcpSocket` or `sleep`; this one does 2",
    );
    only(
        container("    livenessProbe:\n      httpGet: {port: 0}\n"),
        10,
        "/spec/containers/0/livenessProbe/httpGet/port: 0 is not a port number: 1 to 65535",
    );
    only(
        container("    readinessProbe:\n      tcpSocket: {port: 'http port'}\n"),
        10,
        "/spec/containers/0/readinessProbe/tcpSocket/port: not a port number or a valid port name",
    );
    only(
        container("    readinessProbe:\n      httpGet: {port: 80, scheme: http}\n"),
        10,
        "/spec/containers/0/readinessProbe/httpGet/scheme: `http` is not supported here: `HTTP` or `HTTPS`",
    );
    only(
        container(
            "    volumeMounts:\n    - {name: a, mountPath: /data}\n    - {name: b, mountPath: /data}\n",
        ),
        11,
        "/spec/containers/0/volumeMounts/1/mountPath: the container mounts another volume at this path",
    );
    only(
        container("    volumeMounts:\n    - {name: a, mountPath: /data, subPath: ../etc}\n"),
        10,
        "/spec/containers/0/volumeMounts/0/subPath: a subPath may not contain `..`",
    );
    only(
        container("    volumeMounts:\n    - {name: a, mountPath: /data, subPath: /etc}\n"),
        10,
        "/spec/containers/0/volumeMounts/0/subPath: a subPath is relative to the volume, not absolute",
    );
    only(
        container(
            "    volumeMounts:\n    - {name: a, mountPath: /data, subPath: x, subPathExpr: y}\n",
        ),
        10,
        "/spec/containers/0/volumeMounts/0: a mount has a `subPath` or a `subPathExpr`, not both",
    );
}

#[test]
fn a_deployments_rollout_can_move() {
    let strategy = |strategy: &str| {
        found(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: web, image: web}}]}}\n  strategy:\n{strategy}"
        ))
    };
    for taken in [
        "    type: Recreate\n",
        "    type: Recreate\n    rollingUpdate: null\n",
        "    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}\n",
        "    type: RollingUpdate\n    rollingUpdate: {maxSurge: 150%, maxUnavailable: 0}\n",
        "    rollingUpdate: {maxUnavailable: 0}\n",
        "    rollingUpdate: {maxSurge: '${SURGE}', maxUnavailable: 0}\n",
    ] {
        assert_eq!(strategy(taken), [], "{taken}");
    }
    only(
        strategy("    type: Recreate\n    rollingUpdate: {maxSurge: 1}\n"),
        11,
        "/spec/strategy/rollingUpdate: a `Recreate` strategy has no `rollingUpdate` settings",
    );
    only(
        strategy("    rollingUpdate: {maxSurge: 0%, maxUnavailable: 0}\n"),
        10,
        "/spec/strategy/rollingUpdate/maxUnavailable: a rolling update with `maxSurge` 0 needs a `maxUnavailable` above 0",
    );
    only(
        strategy("    rollingUpdate: {maxUnavailable: 120%}\n"),
        10,
        "/spec/strategy/rollingUpdate/maxUnavailable: `120%` is more than 100%",
    );
    only(
        strategy("    rollingUpdate: {maxSurge: 25 percent}\n"),
        10,
        "/spec/strategy/rollingUpdate/maxSurge: `25 percent` is neither a count nor a percentage such as `25%`",
    );
    only(
        strategy("    rollingUpdate: {maxSurge: -1}\n"),
        10,
        "/spec/strategy/rollingUpdate/maxSurge: -1 is below zero",
    );
}

#[test]
fn daemon_set_and_stateful_set_updates_as_the_api_server_takes_them() {
    let workload = |kind: &str, strategy: &str| {
        found(&format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: web, image: web}}]}}\n  updateStrategy:\n{strategy}"
        ))
    };
    for taken in [
        "    type: OnDelete\n    rollingUpdate: {maxSurge: 1}\n",
        "    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        "    rollingUpdate: {maxUnavailable: 10%}\n",
        "    type: RollingUpdate\n",
        "    rollingUpdate: {maxSurge: '${SURGE}'}\n",
    ] {
        assert_eq!(workload("DaemonSet", taken), [], "{taken}");
    }
    only(
        workload("DaemonSet", "    rollingUpdate: {maxSurge: 25%}\n"),
        10,
        "/spec/updateStrategy/rollingUpdate/maxSurge: a DaemonSet's rolling update surges or takes pods down, not both",
    );
    only(
        workload(
            "DaemonSet",
            "    rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}\n",
        ),
        10,
        "/spec/updateStrategy/rollingUpdate/maxUnavailable: a DaemonSet's rolling update with `maxSurge` 0 needs a `maxUnavailable` above 0",
    );
    only(
        workload(
            "DaemonSet",
            "    rollingUpdate: {maxSurge: 120%, maxUnavailable: 0}\n",
        ),
        10,
        "/spec/updateStrategy/rollingUpdate/maxSurge: `120%` is more than 100%",
    );
    for taken in [
        "    type: RollingUpdate\n    rollingUpdate: {partition: 2}\n",
        "    type: OnDelete\n",
    ] {
        assert_eq!(workload("StatefulSet", taken), [], "{taken}");
    }
    only(
        workload(
            "StatefulSet",
            "    type: OnDelete\n    rollingUpdate: {partition: 1}\n",
        ),
        11,
        "/spec/updateStrategy/rollingUpdate: an `OnDelete` update strategy has no `rollingUpdate` settings",
    );
    only(
        workload("StatefulSet", "    rollingUpdate: {partition: -1}\n"),
        10,
        "/spec/updateStrategy/rollingUpdate/partition: -1 is below zero",
    );
}
