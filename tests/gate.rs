//! One gate for every sink: `check`, `render`, `diff` and `commit` find the same planted
//! defects with the embedded schemas, exit 1, and write, show or commit nothing.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::capi::replace_in;
use common::{add_blueprint, example_fleet, fleetgen, snapshot_dir};

/// A blueprint of the example fleet rendering `file` for each cluster with local Flux.
fn blueprint(root: &Path, file: &str) {
    add_blueprint(
        root,
        "planted",
        "scope: cluster\nwhen: not cluster.remote\ntarget: infra/{{ cluster.name }}/planted\n",
        &[("object.yaml", file)],
    );
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: planted\n  namespace: flux-system\n\
spec:\n  interval: 10m\n  prune: true\n  path: ./infra\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

/// Each defect: how to plant it, and what the first finding says (file:line and message).
/// A defect: its name, how to plant it in a fleet, and the first finding it causes.
type Defect = (&'static str, Box<dyn Fn(&Path)>, &'static str);

fn defects() -> Vec<Defect> {
    vec![
        (
            "validation: client on a v1 Kustomization",
            Box::new(|root| {
                blueprint(
                    root,
                    &KUSTOMIZATION
                        .replace("  prune: true\n", "  prune: true\n  validation: client\n"),
                )
            }),
            "main/infra/k3d-america/planted/object.yaml:10:1: error: kustomize.toolkit.fluxcd.io/v1 Kustomization flux-system/planted: /spec/validation: unknown field `validation` [schema]",
        ),
        (
            "unserved kustomize.toolkit.fluxcd.io/v1beta2",
            Box::new(|root| blueprint(root, &KUSTOMIZATION.replace("/v1\n", "/v1beta2\n"))),
            "main/infra/k3d-america/planted/object.yaml:2:1: error: kustomize.toolkit.fluxcd.io/v1beta2 Kustomization flux-system/planted: kustomize.toolkit.fluxcd.io/v1beta2 is not served by the Kustomization CustomResourceDefinition (served: v1) [schema]",
        ),
        (
            "an unknown field in a HelmRelease",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/nginx/files/release.yaml"),
                    "\n  values:",
                    "\n  valuez: {}\n  values:",
                )
            }),
            "main/infra/k3d-america/nginx/release.yaml:22:1: error: helm.toolkit.fluxcd.io/v2 HelmRelease nginx/ingress-nginx: /spec/valuez: unknown field `valuez` [schema]",
        ),
        (
            "spec on a Namespace",
            Box::new(|root| {
                blueprint(
                    root,
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: planted\nspec:\n  replicas: 2\n",
                )
            }),
            "main/infra/k3d-america/planted/object.yaml:7:1: error: v1 Namespace planted: /spec/replicas: unknown field `replicas` [schema]",
        ),
        (
            "a Cluster API v1beta1-only field on a v1beta2 Cluster",
            Box::new(|root| {
                blueprint(
                    root,
                    "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata:\n  name: planted\n  namespace: default\nspec:\n  controlPlaneRef:\n    \
                     apiVersion: controlplane.cluster.x-k8s.io/v1beta2\n    apiGroup: controlplane.cluster.x-k8s.io\n    kind: KubeadmControlPlane\n    name: planted\n",
                )
            }),
            "main/infra/k3d-america/planted/object.yaml:9:1: error: cluster.x-k8s.io/v1beta2 Cluster default/planted: /spec/controlPlaneRef/apiVersion: unknown field `apiVersion` [schema]",
        ),
        (
            "a quantity the API server cannot parse",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/redis/files/deployment.yaml"),
                    "memory: 64Mi",
                    "memory: 64MB",
                )
            }),
            "dev/infra/k3d-america/redis/deployment.yaml:33:1: error: apps/v1 Deployment dev-redis/redis: /spec/template/spec/containers/0/resources/requests/memory: `64MB` is not a quantity [schema]",
        ),
        (
            "a Deployment whose selector misses its own pods",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/redis/files/deployment.yaml"),
                    "        app.kubernetes.io/name: redis\n    spec:",
                    "        app.kubernetes.io/name: cache\n    spec:",
                )
            }),
            "dev/infra/k3d-america/redis/deployment.yaml:13:1: error: apps/v1 Deployment dev-redis/redis: /spec/selector/matchLabels/app.kubernetes.io~1name: the selector does not select the pod template: its labels have no `app.kubernetes.io/name` of this value [api-server]",
        ),
        (
            "a pull policy the API server does not support",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/redis/files/deployment.yaml"),
                    "image: redis:7.4-alpine\n",
                    "image: redis:7.4-alpine\n          imagePullPolicy: Sometimes\n",
                )
            }),
            "dev/infra/k3d-america/redis/deployment.yaml:22:1: error: apps/v1 Deployment dev-redis/redis: /spec/template/spec/containers/0/imagePullPolicy: `Sometimes` is not supported here: `Always`, `IfNotPresent` or `Never` [api-server]",
        ),
        (
            "a variable with both a value and a source",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/redis/files/deployment.yaml"),
                    "image: redis:7.4-alpine\n",
                    "image: redis:7.4-alpine\n          env:\n            - name: REDIS_PASSWORD\n              value: changeme\n              valueFrom:\n                secretKeyRef: {name: redis, key: password}\n",
                )
            }),
            "dev/infra/k3d-america/redis/deployment.yaml:25:1: error: apps/v1 Deployment dev-redis/redis: /spec/template/spec/containers/0/env/0/valueFrom: a variable takes its value from `value` or from `valueFrom`, not both [api-server]",
        ),
        (
            "a chart version source-controller cannot read, from a cluster's value",
            Box::new(|root| {
                common::append(
                    root,
                    "fleet/clusters/k3d-america.env",
                    "NGINX_CHART_VERSION=latest\n",
                )
            }),
            "main/infra/k3d-america/nginx/release.yaml:12:1: error: helm.toolkit.fluxcd.io/v2 HelmRelease nginx/ingress-nginx: /spec/chart/spec/version: `latest` is not a version constraint [flux]",
        ),
        (
            "a key given twice in one mapping",
            Box::new(|root| {
                replace_in(
                    &root.join("blueprints/redis/files/deployment.yaml"),
                    "\n  replicas:",
                    "\n  replicas: 2\n  replicas:",
                )
            }),
            "blueprints/redis/files/deployment.yaml:1:1: error: renders invalid YAML for infra/k3d-america/redis/deployment.yaml at its line 11: spec: the mapping holds the key \"replicas\" twice (on branches dev and qa) [invalid-output]",
        ),
        (
            "an unknown field in a kustomization file",
            Box::new(|root| {
                fs::write(
                    root.join("blueprints/redis/files/kustomization.yaml"),
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - deployment.yaml\n",
                )
                .unwrap()
            }),
            "dev/infra/k3d-america/redis/kustomization.yaml:4:1: error: unknown field `resource` in a kustomization file: kustomize refuses the file [kustomization]\n  hint: did you mean `resources`?",
        ),
    ]
}

fn run(root: &Path, args: &[&str]) -> (i32, String) {
    let output = fleetgen(root).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn refs(root: &Path) -> Vec<String> {
    let repo = git2::Repository::open(root).unwrap();
    let mut names: Vec<String> = repo
        .references()
        .unwrap()
        .filter_map(|reference| Some(reference.ok()?.name().ok()?.to_owned()))
        .collect();
    names.sort();
    names
}

#[test]
fn every_sink_refuses_every_planted_defect() {
    for (defect, plant, first) in defects() {
        let fleet = example_fleet();
        let root = fleet.path();
        git2::Repository::init(root).unwrap();
        plant(root);
        let before = snapshot_dir(root);

        let (code, stderr) = run(root, &["check", "--no-drift"]);
        assert_eq!(code, 1, "check, {defect}: {stderr}");
        assert!(stderr.contains(first), "check, {defect}: {stderr}");
        for args in [
            &["render"][..],
            &["render", "--out", "elsewhere"],
            &["diff"],
            &["commit"],
            &["commit", "--dry-run"],
        ] {
            let output = fleetgen(root).args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{args:?}, {defect}: {stderr}"
            );
            assert!(stderr.contains(first), "{args:?}, {defect}: {stderr}");
            // Only the sinks that write say they wrote nothing; `diff` never writes, and a
            // refused diff shows no patch.
            let closing = match args[0] {
                "diff" => {
                    assert!(output.stdout.is_empty(), "{args:?}, {defect}: {stderr}");
                    " found\n"
                }
                _ => " found; nothing was written\n",
            };
            assert!(stderr.ends_with(closing), "{args:?}, {defect}: {stderr}");
        }
        assert!(refs(root).is_empty(), "{defect}: a ref moved");
        assert_eq!(
            snapshot_dir(root),
            before,
            "{defect}: something was written"
        );
    }
}

/// A render into an output fleetgen wrote before works out its changes while validation runs;
/// a refused render still writes nothing there, and says what validation found, not what the
/// planned write would have refused.
#[test]
fn a_refused_render_into_an_earlier_output_leaves_it_as_it_was() {
    let fleet = example_fleet();
    let root = fleet.path();
    assert_eq!(run(root, &["render"]).0, 0);
    // The planted defect changes this file, so the write would refuse its hand edit.
    let edited = root.join("out/main/infra/k3d-america/nginx/release.yaml");
    let text = fs::read_to_string(&edited).unwrap();
    fs::write(&edited, format!("{text}# edited by hand\n")).unwrap();
    fs::write(root.join("out/main/notes.md"), "mine\n").unwrap();
    let (_, plant, first) = defects().remove(2);
    plant(root);
    let before = snapshot_dir(&root.join("out"));

    let (code, stderr) = run(root, &["render"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(first), "{stderr}");
    assert!(!stderr.contains("edited by hand"), "{stderr}");
    assert_eq!(snapshot_dir(&root.join("out")), before);

    // Without the gate, the planned write is what refuses.
    let (code, stderr) = run(root, &["render", "--no-validate"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("edited by hand"), "{stderr}");
    assert!(stderr.contains("release.yaml"), "{stderr}");
    assert_eq!(snapshot_dir(&root.join("out")), before);
}

/// A directory fleetgen never wrote to gets nothing, not even a lock file, from a refused render.
#[test]
fn a_refused_render_into_a_directory_of_ones_own_adds_nothing() {
    let fleet = example_fleet();
    let root = fleet.path();
    fs::create_dir_all(root.join("out")).unwrap();
    fs::write(root.join("out/notes.md"), "mine\n").unwrap();
    let (_, plant, first) = defects().remove(2);
    plant(root);
    let (code, stderr) = run(root, &["render"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(first), "{stderr}");
    let names: Vec<_> = fs::read_dir(root.join("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.md"]);
}

#[test]
fn no_validate_lets_a_sink_through() {
    let fleet = example_fleet();
    let root = fleet.path();
    let (_, plant, _) = defects().remove(2);
    plant(root);
    assert_eq!(run(root, &["render"]).0, 1);
    assert!(!root.join("out").exists());
    let (code, stderr) = run(root, &["render", "--no-validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(root.join("out/main").is_dir());
}

#[test]
fn warnings_do_not_stop_a_sink() {
    let fleet = example_fleet();
    let root = fleet.path();
    blueprint(
        root,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: planted\n  namespace: default\n",
    );
    let (code, stderr) = run(root, &["render"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: no schema for example.com/v1 Widget; 2 objects were not checked [unknown-kind]"),
        "{stderr}"
    );
    assert!(stderr.contains("validation.crds"), "{stderr}");
    let (code, stderr) = run(root, &["render", "--strict"]);
    assert_eq!(code, 1, "{stderr}");
}

/// `fleetgen init`, a management cluster, a cluster of every Cluster API provider (one with
/// remote Flux) and a tenant: the embedded schemas check every object, with no flag and no
/// configuration.
#[test]
fn a_fresh_fleet_with_every_provider_is_checked_completely() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let step = |args: &[&str]| {
        let (code, stderr) = run(root, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    };
    step(&["init", "--repo", "https://example.com/fleet.git"]);
    step(&[
        "add-cluster",
        "mgmt",
        "--provider",
        "existing",
        "--env",
        "dev",
    ]);
    let common = |cidr: u8| {
        vec![
            "--managed-by".to_owned(),
            "mgmt".to_owned(),
            "--env".to_owned(),
            "dev".to_owned(),
            "--set".to_owned(),
            "KUBERNETES_VERSION=v1.33.1".to_owned(),
            "--set".to_owned(),
            format!("POD_CIDR=10.{cidr}.0.0/16"),
            "--set".to_owned(),
            format!("SERVICE_CIDR=10.{}.0.0/16", cidr + 1),
        ]
    };
    let clusters: [(&str, &str, u8, &[&str]); 4] = [
        (
            "aws-1",
            "aws",
            10,
            &[
                "AWS_REGION=eu-west-1",
                "AWS_SSH_KEY_NAME=ops",
                "AWS_CONTROL_PLANE_MACHINE_TYPE=t3.large",
                "AWS_NODE_MACHINE_TYPE=m6i.large",
                "AWS_AMI_ID=ami-0123456789abcdef0",
                "NODE_CIDR=10.12.0.0/16",
            ],
        ),
        (
            "os-1",
            "openstack",
            20,
            &[
                "NODE_CIDR=10.30.0.0/24",
                "OPENSTACK_CLOUD=edge",
                "OPENSTACK_EXTERNAL_NETWORK_ID=0b3c3f6e-9a1b-4c52-8a4e-3f6f1d2b9c10",
                "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=m1.large",
                "OPENSTACK_NODE_MACHINE_FLAVOR=m1.medium",
                "OPENSTACK_IMAGE_NAME=ubuntu-2404-kube-v1.33.1",
                "OPENSTACK_SSH_KEY_NAME=ops",
            ],
        ),
        ("docker-1", "docker", 40, &[]),
        ("docker-remote", "docker", 50, &["--flux=remote"]),
    ];
    for (name, provider, cidr, keys) in clusters {
        let mut args = vec![
            "add-cluster".to_owned(),
            name.to_owned(),
            "--provider".to_owned(),
            provider.to_owned(),
        ];
        args.extend(common(cidr));
        for key in keys {
            match key.strip_prefix("--") {
                Some(flag) => args.extend(flag.split('=').enumerate().map(|(index, part)| {
                    if index == 0 {
                        format!("--{part}")
                    } else {
                        part.to_owned()
                    }
                })),
                None => args.extend(["--set".to_owned(), (*key).to_owned()]),
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        step(&args);
    }
    step(&[
        "add-tenant",
        "shop",
        "--repo",
        "https://example.com/shop.git",
        "--env",
        "dev",
    ]);
    let output = fleetgen(root)
        .args(["check", "--no-drift", "--format", "json"])
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{findings:#}");
    // What is left is the operator's part: Flux's own components, committed by hand.
    let rules: BTreeSet<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, BTreeSet::from(["operator-file"]), "{findings:#}");
    let rendered = root.join("out");
    step(&["render"]);
    let machine = walkdir::WalkDir::new(&rendered)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .any(|entry| {
            fs::read_to_string(entry.path())
                .is_ok_and(|text| text.contains("kind: OpenStackMachineTemplate"))
        });
    assert!(
        machine,
        "the OpenStack cluster renders its machine templates"
    );
}

/// What render tells before it renders (the validators validation makes meanwhile) is the
/// kinds of the objects it then renders, and none of a blueprint that applies nowhere: the
/// example has no Cluster API cluster, so no Cluster API kind is prepared for it.
#[test]
fn the_kinds_told_ahead_are_those_rendered() {
    use fleetgen::render::{self, blueprint, documents};
    for (root, capi) in [
        (common::repo_root(), false),
        (common::capi::fixture(), true),
    ] {
        let fleet = fleetgen::pipeline::load_fleet(&root).unwrap();
        let plan = fleetgen::plan::plan(&fleet, &[]);
        let blueprints = blueprint::load_all(&root).unwrap();
        let mut told = BTreeSet::new();
        let rendered =
            render::render_ahead(&plan, &blueprints, &fleetgen::progress::Quiet, |applying| {
                told = render::declared_kinds(applying.iter().copied())
            })
            .unwrap();
        let mut objects = BTreeSet::new();
        for (_, tree) in rendered.branches.iter() {
            for (path, content) in tree.iter() {
                if !render::is_yaml(path) {
                    continue;
                }
                for document in documents::parse_bytes(content).unwrap() {
                    let (Some(api_version), Some(kind)) = (
                        document.value["apiVersion"].as_str(),
                        document.value["kind"].as_str(),
                    ) else {
                        continue;
                    };
                    objects.insert((api_version.to_owned(), kind.to_owned()));
                }
            }
        }
        // kustomize's own files are not validated, and render computes most of them.
        let kustomize = |(api_version, _): &&(String, String)| {
            !api_version.starts_with("kustomize.config.k8s.io/")
        };
        assert_eq!(
            told.iter().filter(kustomize).collect::<Vec<_>>(),
            objects.iter().filter(kustomize).collect::<Vec<_>>(),
            "{}",
            root.display()
        );
        let cluster_api = |(api_version, _): &(String, String)| api_version.contains("x-k8s.io");
        assert_eq!(told.iter().any(cluster_api), capi, "{told:?}");
    }
}

/// A template may name any kind, in a block that never renders: the validators made ahead for
/// them cost time only. The output is the example's, and the run ends with validation.
#[test]
fn a_template_naming_every_known_kind_changes_nothing() {
    let plain = example_fleet();
    let (code, stderr) = run(plain.path(), &["render"]);
    assert_eq!(code, 0, "{stderr}");

    let fleet = example_fleet();
    let root = fleet.path();
    let listing = fleetgen(root)
        .args(["schemas", "--format", "json"])
        .output()
        .unwrap();
    let known: Vec<serde_json::Value> = serde_json::from_slice(&listing.stdout).unwrap();
    assert!(known.len() > 100, "{}", known.len());
    let documents: Vec<String> = known
        .iter()
        .map(|entry| {
            format!(
                "apiVersion: {}\nkind: {}\n",
                entry["apiVersion"].as_str().unwrap(),
                entry["kind"].as_str().unwrap()
            )
        })
        .collect();
    add_blueprint(
        root,
        "every-kind",
        "scope: cluster\ntarget: infra/{{ cluster.name }}/every-kind\n",
        &[(
            "all.yaml",
            &format!(
                "{{% if false %}}\n{}{{% endif %}}\n",
                documents.join("---\n")
            ),
        )],
    );
    let (code, stderr) = run(root, &["render"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        snapshot_dir(&root.join("out")),
        snapshot_dir(&plain.path().join("out"))
    );
}

/// `--no-validate` skips the schemas and the Flux graph, not reading the rendered files back:
/// a file that is not YAML, or that holds a key twice, is refused all the same.
#[test]
fn output_that_is_not_yaml_is_refused_without_validation_too() {
    let fleet = example_fleet();
    let root = fleet.path();
    let (_, plant, first) = defects()
        .into_iter()
        .find(|(defect, ..)| defect.contains("twice"))
        .unwrap();
    plant(root);
    for args in [&["render", "--no-validate"][..], &["render"]] {
        let (code, stderr) = run(root, args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(first), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("[invalid-output]").count(), 1, "{stderr}");
    }
    assert!(!root.join("out").exists());
}
