//! One gate for every sink: `check`, `render`, `diff` and `commit` find the same planted
//! defects with the embedded schemas, exit 1, and write, show or commit nothing.

mod common;

use std::fs;
use std::path::Path;

use common::{example_fleet, fleetgen, snapshot_dir};

/// A blueprint of the example fleet rendering `file` for each cluster with local Flux.
fn blueprint(root: &Path, file: &str) {
    let dir = root.join("blueprints/planted");
    fs::create_dir_all(dir.join("files")).unwrap();
    fs::write(
        dir.join("blueprint.yaml"),
        "scope: cluster\nwhen: not cluster.remote\ntarget: infra/{{ cluster.name }}/planted\n",
    )
    .unwrap();
    fs::write(dir.join("files/object.yaml"), file).unwrap();
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: planted\n  namespace: flux-system\n\
spec:\n  interval: 10m\n  prune: true\n  path: ./infra\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

/// Each defect: how to plant it, and what the first finding says (file:line and message).
fn defects() -> Vec<(&'static str, Box<dyn Fn(&Path)>, &'static str)> {
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
                let release = root.join("blueprints/nginx/files/release.yaml");
                let text = fs::read_to_string(&release).unwrap();
                fs::write(
                    &release,
                    text.replace("\n  values:", "\n  valuez: {}\n  values:"),
                )
                .unwrap();
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
            let (code, stderr) = run(root, args);
            assert_eq!(code, 1, "{args:?}, {defect}: {stderr}");
            assert!(stderr.contains(first), "{args:?}, {defect}: {stderr}");
            assert!(
                stderr.ends_with("nothing was written\n"),
                "{args:?}, {defect}: {stderr}"
            );
        }
        assert!(refs(root).is_empty(), "{defect}: a ref moved");
        assert_eq!(
            snapshot_dir(root),
            before,
            "{defect}: something was written"
        );
    }
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
