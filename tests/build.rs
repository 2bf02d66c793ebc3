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

/// What the Flux of `driver` applies, following the Flux graph by hand with the real
/// `kustomize build`: from its bootstrap path on the main branch, every Kustomization whose
/// source is a branch of the fleet repo (`fleet_url`), until nothing new is reached. Returns
/// the objects applied to `driver` itself, and per `kubeConfig` Secret the objects applied
/// through it to another cluster (where no Flux of `driver`'s runs, so nothing they hold is
/// followed further).
fn follow_with_kustomize(
    path_env: &std::ffi::OsStr,
    out: &Path,
    fleet_url: &str,
    driver: &str,
) -> (Vec<Value>, BTreeMap<String, Vec<Value>>) {
    let mut sources: BTreeMap<(String, String), String> = BTreeMap::new();
    sources.insert(("flux-system".into(), "flux-system".into()), "main".into());
    // (branch, path, the kubeconfig Secret its objects are applied through, if any)
    let mut queue = VecDeque::from([("main".to_owned(), format!("clusters/{driver}"), None)]);
    let mut built = BTreeSet::new();
    let mut kustomizations: Vec<Value> = Vec::new();
    let mut local = Vec::new();
    let mut remote: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    loop {
        while let Some((branch, path, kubeconfig)) = queue.pop_front() {
            let dir = out.join(&branch).join(&path);
            if !built.insert((branch, path, kubeconfig.clone())) || !dir.is_dir() {
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
            let objects = documents(&String::from_utf8(output.stdout).unwrap());
            if let Some(secret) = kubeconfig {
                remote.entry(secret).or_default().extend(objects);
                continue;
            }
            for object in objects {
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
                } else if kind == "Kustomization" && api.starts_with("kustomize.toolkit.fluxcd.io/")
                {
                    kustomizations.push(object.clone());
                }
                local.push(object);
            }
        }
        for kustomization in &kustomizations {
            let namespace = text(kustomization, "/spec/sourceRef/namespace")
                .or_else(|| text(kustomization, "/metadata/namespace"))
                .unwrap_or_default();
            let name = text(kustomization, "/spec/sourceRef/name").unwrap_or_default();
            let kubeconfig = text(kustomization, "/spec/kubeConfig/secretRef/name");
            if let Some(branch) = sources.get(&(namespace, name)) {
                let path = text(kustomization, "/spec/path").unwrap_or_default();
                let path = path
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_owned();
                let item = (branch.clone(), path, kubeconfig);
                if !built.contains(&item) {
                    queue.push_back(item);
                }
            }
        }
        if queue.is_empty() {
            return (local, remote);
        }
    }
}

/// Everything Flux applies to `cluster`: what its own Flux applies to it, if it has one, and
/// what its manager's applies to it through `<cluster>-kubeconfig`, if it has a manager.
fn applied_with_kustomize(
    path_env: &std::ffi::OsStr,
    out: &Path,
    fleet_url: &str,
    cluster: &str,
    own_flux: bool,
    manager: Option<&str>,
) -> Vec<Value> {
    let mut objects = Vec::new();
    if own_flux {
        objects.extend(follow_with_kustomize(path_env, out, fleet_url, cluster).0);
    }
    if let Some(manager) = manager {
        let (_, mut remote) = follow_with_kustomize(path_env, out, fleet_url, manager);
        objects.extend(
            remote
                .remove(&format!("{cluster}-kubeconfig"))
                .unwrap_or_default(),
        );
    }
    // One object applied alike by two Kustomizations (a Cluster API cluster's Flux sync, by its
    // manager to start it and then by the cluster's own Flux) is one object on the cluster.
    let mut seen = BTreeSet::new();
    objects.retain(|object| seen.insert(object.to_string()));
    objects
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
    // k3s-america-south has no Flux: k3d-america's Kustomizations apply to it.
    for (cluster, own_flux, manager, at_least) in [
        ("k3d-emea", true, None, 20),
        ("k3d-america", true, None, 20),
        ("k3s-america-south", false, Some("k3d-america"), 6),
    ] {
        let ours = sorted(built(fleet.path(), cluster));
        let theirs = sorted(applied_with_kustomize(
            &tools.path,
            &out,
            "https://github.com/example-org/fleet",
            cluster,
            own_flux,
            manager,
        ));
        assert!(ours.len() >= at_least, "{cluster}: {} objects", ours.len());
        assert_eq!(ours, theirs, "{cluster}");
    }
}

fn built(root: &Path, cluster: &str) -> Vec<Value> {
    let assert = fleetgen(root)
        .args(["build", "--cluster", cluster])
        .assert()
        .success();
    documents(&String::from_utf8(assert.get_output().stdout.clone()).unwrap())
}

/// The Cluster API fleet: remote clusters whose Kustomizations live in the cluster's namespace
/// on the manager, and a cluster with its own Flux that its manager also applies to.
#[test]
fn build_of_cluster_api_clusters_equals_following_the_flux_graph() {
    let Some(tools) = real_tools() else { return };
    let fleet = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo_root().join("tests/fixtures/capi-fleet"),
        fleet.path(),
    );
    let out = fleet.path().join("out");
    fleetgen(fleet.path())
        .args(["render", "--out"])
        .arg(&out)
        .assert()
        .success();
    // The Flux install the operator commits beside os-edge's gotk-sync.yaml (`flux install
    // --export`); fleetgen renders neither it nor its objects, so an empty one stands in.
    std::fs::write(
        out.join("main/clusters/os-edge/flux-system/gotk-components.yaml"),
        "",
    )
    .unwrap();
    for (cluster, own_flux, manager) in [
        ("mgmt", true, None),
        ("aws-prod", false, Some("mgmt")),
        ("kind-ci", false, Some("mgmt")),
        ("os-edge", true, Some("mgmt")),
    ] {
        let ours = sorted(built(fleet.path(), cluster));
        let theirs = sorted(applied_with_kustomize(
            &tools.path,
            &out,
            "ssh://git@git.example.com/platform/fleet",
            cluster,
            own_flux,
            manager,
        ));
        assert!(!ours.is_empty(), "{cluster}");
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
