//! `fleetgen build --cluster C` against the real thing: following the Flux graph from the
//! cluster's bootstrap path by hand, building each Kustomization's path with the real
//! `kustomize build`, gives the same objects.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

use common::{example_fleet, fleetgen, real_tools};

fn documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value| !value.is_null())
        .collect()
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_owned)
}

/// What kustomize-controller would apply to `cluster` (a cluster with its own Flux): the
/// bootstrap path on the main branch, then every Kustomization whose source is a branch of
/// the fleet repo, until nothing new is reached.
fn follow_with_kustomize(path_env: &std::ffi::OsStr, out: &Path, cluster: &str) -> Vec<Value> {
    let fleet_url = "https://github.com/example-org/fleet";
    let mut sources: BTreeMap<(String, String), String> = BTreeMap::new();
    sources.insert(("flux-system".into(), "flux-system".into()), "main".into());
    let mut queue = VecDeque::from([("main".to_owned(), format!("clusters/{cluster}"))]);
    let mut built = BTreeSet::new();
    let mut kustomizations: Vec<Value> = Vec::new();
    let mut objects = Vec::new();
    loop {
        while let Some((branch, path)) = queue.pop_front() {
            let dir = out.join(&branch).join(&path);
            if !built.insert((branch, path)) || !dir.is_dir() {
                continue;
            }
            generate_kustomization(&dir);
            let output = Command::new("kustomize")
                .env("PATH", path_env)
                .arg("build")
                .arg(&dir)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            for object in documents(&String::from_utf8(output.stdout).unwrap()) {
                let kind = text(&object, "/kind").unwrap_or_default();
                let api = text(&object, "/apiVersion").unwrap_or_default();
                let key = (
                    text(&object, "/metadata/namespace").unwrap_or_default(),
                    text(&object, "/metadata/name").unwrap_or_default(),
                );
                if kind == "GitRepository"
                    && text(&object, "/spec/url").as_deref() == Some(fleet_url)
                    && let Some(branch) = text(&object, "/spec/ref/branch")
                {
                    sources.insert(key, branch);
                } else if kind == "Kustomization"
                    && api.starts_with("kustomize.toolkit.fluxcd.io/")
                    && object.pointer("/spec/kubeConfig").is_none()
                {
                    kustomizations.push(object.clone());
                }
                objects.push(object);
            }
        }
        for kustomization in &kustomizations {
            let namespace = text(kustomization, "/spec/sourceRef/namespace")
                .or_else(|| text(kustomization, "/metadata/namespace"))
                .unwrap_or_default();
            let name = text(kustomization, "/spec/sourceRef/name").unwrap_or_default();
            if let Some(branch) = sources.get(&(namespace, name)) {
                let path = text(kustomization, "/spec/path").unwrap_or_default();
                let path = path
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_owned();
                if !built.contains(&(branch.clone(), path.clone())) {
                    queue.push_back((branch.clone(), path));
                }
            }
        }
        if queue.is_empty() {
            return objects;
        }
    }
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn has_kustomization(dir: &Path) -> bool {
    KUSTOMIZATION_FILES
        .iter()
        .any(|name| dir.join(name).is_file())
}

/// What kustomize-controller does for a path without a kustomization.yaml: one listing every
/// manifest below it, and each subfolder that has its own kustomization.yaml as a whole.
fn generate_kustomization(dir: &Path) {
    if has_kustomization(dir) {
        return;
    }
    fn collect(root: &Path, dir: &Path, resources: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                if has_kustomization(&path) {
                    resources.push(relative);
                } else {
                    collect(root, &path, resources);
                }
            } else if relative.ends_with(".yaml") || relative.ends_with(".yml") {
                resources.push(relative);
            }
        }
    }
    let mut resources = Vec::new();
    collect(dir, dir, &mut resources);
    let mut text = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for resource in resources {
        text.push_str(&format!("  - {resource}\n"));
    }
    std::fs::write(dir.join("kustomization.yaml"), text).unwrap();
}

fn sorted(values: Vec<Value>) -> Vec<String> {
    let mut texts: Vec<String> = values
        .iter()
        .map(|value| serde_json::to_string_pretty(value).unwrap())
        .collect();
    texts.sort();
    texts
}

#[test]
fn build_equals_following_the_flux_graph_with_kustomize() {
    let Some(tools) = real_tools() else { return };
    let fleet = example_fleet();
    let out = fleet.path().join("out");
    fleetgen(fleet.path())
        .args(["render", "--out"])
        .arg(&out)
        .assert()
        .success();
    for cluster in ["k3d-emea", "k3d-america"] {
        let assert = fleetgen(fleet.path())
            .args(["build", "--cluster", cluster])
            .assert()
            .success();
        let stream = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
        let ours = sorted(documents(&stream));
        let theirs = sorted(follow_with_kustomize(&tools.path, &out, cluster));
        assert!(ours.len() > 20, "{cluster}: {} objects", ours.len());
        assert_eq!(ours, theirs, "{cluster}");
    }
}

#[test]
fn build_of_one_environment_and_unknown_clusters() {
    let fleet = example_fleet();
    let assert = fleetgen(fleet.path())
        .args(["build", "--cluster", "k3d-emea", "--env", "qa"])
        .assert()
        .success();
    let stream = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let objects = documents(&stream);
    assert!(!objects.is_empty());
    for object in &objects {
        let namespace = text(object, "/metadata/namespace")
            .or_else(|| text(object, "/metadata/name"))
            .unwrap();
        assert!(namespace.starts_with("qa-"), "{object}");
    }
    let assert = fleetgen(fleet.path())
        .args(["build", "--cluster", "k3d-emeaa"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("did you mean k3d-emea?"), "{stderr}");
}
