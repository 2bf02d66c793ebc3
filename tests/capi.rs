//! Cluster API clusters: the test fleet in `tests/fixtures/capi-fleet` (a management cluster
//! `mgmt` and one cluster per infrastructure provider, mixing FLUX=local and FLUX=remote, in
//! environment `dev` with tenant `shop`) rendered, snapshotted, and checked with the real tools.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use fleetgen::sinks::write;
use fleetgen::{Branches, Error};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    crate_root().join("tests/fixtures/capi-fleet")
}

fn render(root: &Path) -> Branches {
    match fleetgen::pipeline::compile(root, &[]) {
        Ok(compiled) => compiled.rendered.branches,
        Err(error) => panic!("rendering {} failed:\n{error}", root.display()),
    }
}

fn text(branches: &Branches, branch: &str, path: &str) -> Option<String> {
    branches.trees[branch]
        .get(path)
        .map(|bytes| String::from_utf8(bytes.to_vec()).expect("rendered files are UTF-8"))
}

/// The files of `branch` below each of `prefixes`, each under a `--- path` line: one snapshot
/// per concern reads like the directory it shows.
fn files_under(branches: &Branches, branch: &str, prefixes: &[&str]) -> String {
    let mut out = String::new();
    for (path, content) in branches.trees[branch].iter() {
        if prefixes.iter().any(|prefix| path.starts_with(prefix)) {
            out.push_str(&format!("--- {path}\n"));
            out.push_str(std::str::from_utf8(content).expect("rendered files are UTF-8"));
        }
    }
    assert!(
        !out.is_empty(),
        "nothing rendered under {prefixes:?} on {branch}"
    );
    out
}

/// A copy of the test fleet that a test may edit.
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = fixture();
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.expect("fixture is readable");
        let target = dir.path().join(entry.path().strip_prefix(&source).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
    dir
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let content = fs::read_to_string(path).unwrap();
    assert!(content.contains(from), "{} has no `{from}`", path.display());
    fs::write(path, content.replace(from, to)).unwrap();
}

/// `(kind, namespace/name)` of every object rendered under `prefix` on `branch`.
fn objects(branches: &Branches, branch: &str, prefix: &str) -> BTreeSet<(String, String)> {
    use serde::Deserialize;
    let mut found = BTreeSet::new();
    for (path, content) in branches.trees[branch].iter() {
        if !path.starts_with(prefix) || !path.ends_with(".yaml") {
            continue;
        }
        let content = std::str::from_utf8(content).unwrap();
        for document in serde_norway::Deserializer::from_str(content) {
            let value = serde_norway::Value::deserialize(document).unwrap();
            let field = |key: &str| {
                value
                    .get("metadata")
                    .and_then(|metadata| metadata.get(key))
                    .and_then(|field| field.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            if let Some(kind) = value.get("kind").and_then(|kind| kind.as_str()) {
                found.insert((
                    kind.to_owned(),
                    format!("{}/{}", field("namespace"), field("name")),
                ));
            }
        }
    }
    found
}

/// Paths whose content differs between two renders, per branch.
fn changed_paths(before: &Branches, after: &Branches) -> BTreeSet<String> {
    let mut changed = BTreeSet::new();
    for (branch, tree) in before.iter() {
        let other = &after.trees[branch];
        let paths: BTreeSet<&str> = tree.paths().chain(other.paths()).collect();
        for path in paths {
            if path != fleetgen::tree::OWNED_LIST && tree.get(path) != other.get(path) {
                changed.insert(format!("{branch}:{path}"));
            }
        }
    }
    changed
}

#[test]
fn aws_cluster_snapshot() {
    let branches = render(&fixture());
    insta::assert_snapshot!(
        "main_capi_aws_prod",
        files_under(&branches, "main", &["clusters/mgmt/capi/aws-prod/"])
    );
}

#[test]
fn openstack_cluster_snapshot() {
    let branches = render(&fixture());
    insta::assert_snapshot!(
        "main_capi_os_edge",
        files_under(
            &branches,
            "main",
            &[
                "clusters/mgmt/capi/os-edge/",
                "clusters/os-edge/flux-system/"
            ]
        )
    );
}

#[test]
fn docker_cluster_snapshot() {
    let branches = render(&fixture());
    insta::assert_snapshot!(
        "main_capi_kind_ci",
        files_under(&branches, "main", &["clusters/mgmt/capi/kind-ci/"])
    );
}

#[test]
fn remote_flux_snapshots() {
    let branches = render(&fixture());
    insta::assert_snapshot!(
        "main_remotes",
        files_under(&branches, "main", &["clusters/mgmt/remotes/"])
    );
    insta::assert_snapshot!(
        "dev_remotes",
        files_under(
            &branches,
            "dev",
            &[
                "clusters/mgmt/remotes/",
                "tenants/mgmt/shop/apps/",
                "tenants/mgmt/shop/serviceaccounts.yaml",
                "tenants/aws-prod/shop/rolebinding.yaml",
            ]
        )
    );
}

#[test]
fn cni_proxy_selects_its_cluster_and_keeps_caaph_templates() {
    let branches = render(&fixture());
    let cilium = text(&branches, "main", "clusters/mgmt/capi/aws-prod/cni.yaml").unwrap();
    assert!(cilium.contains("cluster.x-k8s.io/cluster-name: aws-prod"));
    assert!(cilium.contains("- 10.20.0.0/16"), "pod CIDR rendered");
    assert!(cilium.contains("k8sServiceHost: {{ .Cluster.spec.controlPlaneEndpoint.host }}\n"));
    let calico = text(&branches, "main", "clusters/mgmt/capi/os-edge/cni.yaml").unwrap();
    assert!(calico.contains("chartName: tigera-operator"));
    assert!(
        calico.contains("version: \"v3.30.2\""),
        "CNI_VERSION is used"
    );
    // CNI=none: no proxy, but the cluster is still labelled with its choice.
    assert_eq!(
        text(&branches, "main", "clusters/mgmt/capi/kind-ci/cni.yaml"),
        None
    );
    let cluster = text(&branches, "main", "clusters/mgmt/capi/kind-ci/cluster.yaml").unwrap();
    assert!(cluster.contains("cni: none"));
}

#[test]
fn changing_an_instance_type_renames_only_that_machine_template() {
    let before = render(&fixture());
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "AWS_NODE_MACHINE_TYPE=m6i.xlarge",
        "AWS_NODE_MACHINE_TYPE=m6i.2xlarge",
    );
    let after = render(fleet.path());

    let prefix = "clusters/mgmt/capi/";
    let old = objects(&before, "main", prefix);
    let new = objects(&after, "main", prefix);
    let removed: Vec<_> = old.difference(&new).collect();
    let added: Vec<_> = new.difference(&old).collect();
    assert_eq!(removed.len(), 1, "removed: {removed:?}");
    assert_eq!(added.len(), 1, "added: {added:?}");
    assert_eq!(removed[0].0, "AWSMachineTemplate");
    assert!(removed[0].1.starts_with("aws-prod/aws-prod-md-0-"));
    assert_eq!(added[0].0, "AWSMachineTemplate");
    assert!(added[0].1.starts_with("aws-prod/aws-prod-md-0-"));

    // Only the workers' file changes: the MachineDeployment now points at the new template.
    assert_eq!(
        changed_paths(&before, &after),
        BTreeSet::from(["main:clusters/mgmt/capi/aws-prod/workers.yaml".to_owned()])
    );
    let workers = text(&after, "main", "clusters/mgmt/capi/aws-prod/workers.yaml").unwrap();
    let new_name = added[0].1.trim_start_matches("aws-prod/");
    assert_eq!(
        workers.matches(new_name).count(),
        2,
        "defined and referenced"
    );
}

#[test]
fn changing_a_flavor_renames_only_that_machine_template() {
    let before = render(&fixture());
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/os-edge.env"),
        "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=SCS-2V-4-20s",
        "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=SCS-4V-8-50s",
    );
    let after = render(fleet.path());

    let prefix = "clusters/mgmt/capi/";
    let old = objects(&before, "main", prefix);
    let new = objects(&after, "main", prefix);
    let removed: Vec<_> = old.difference(&new).collect();
    let added: Vec<_> = new.difference(&old).collect();
    assert_eq!(removed.len(), 1, "removed: {removed:?}");
    assert_eq!(added.len(), 1, "added: {added:?}");
    assert_eq!(removed[0].0, "OpenStackMachineTemplate");
    assert!(removed[0].1.starts_with("os-edge/os-edge-control-plane-"));
    assert_eq!(added[0].0, "OpenStackMachineTemplate");
    assert!(added[0].1.starts_with("os-edge/os-edge-control-plane-"));
    assert_eq!(
        changed_paths(&before, &after),
        BTreeSet::from(["main:clusters/mgmt/capi/os-edge/control-plane.yaml".to_owned()])
    );
}

#[test]
fn a_cluster_api_manager_needs_its_own_flux() {
    let fleet = fixture_copy();
    fs::write(
        fleet.path().join("fleet/clusters/edge.env"),
        "PROVIDER=existing\nFLUX=remote\nMANAGED_BY=mgmt\nPOD_CIDR=10.50.0.0/16\nSERVICE_CIDR=10.51.0.0/16\n",
    )
    .unwrap();
    replace_in(
        &fleet.path().join("fleet/clusters/kind-ci.env"),
        "MANAGED_BY=mgmt",
        "MANAGED_BY=edge",
    );
    let Err(Error::Invalid(diagnostics)) = fleetgen::pipeline::compile(fleet.path(), &[]) else {
        panic!("a Cluster API cluster managed by a cluster without Flux was accepted");
    };
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.rule == "invalid-manager")
        .collect();
    assert_eq!(found.len(), 1, "{diagnostics}");
    assert!(
        found[0]
            .message
            .contains("kind-ci is provisioned by Cluster API on edge"),
        "{}",
        found[0]
    );
}

#[test]
fn machine_types_are_required_for_aws() {
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "AWS_NODE_MACHINE_TYPE=m6i.xlarge\n",
        "",
    );
    let Err(Error::Invalid(diagnostics)) = fleetgen::pipeline::compile(fleet.path(), &[]) else {
        panic!("an AWS cluster without a worker instance type was accepted");
    };
    assert!(
        diagnostics
            .iter()
            .any(|diagnostic| diagnostic.rule == "missing-key"
                && diagnostic.message.contains("AWS_NODE_MACHINE_TYPE")),
        "{diagnostics}"
    );
}

/// Runs the real `kustomize build` on every rendered branch of `root`, validates its output with
/// the embedded schemas, and returns the summary per branch.
fn validate_fleet(tools: &common::RealTools, root: &Path) -> BTreeMap<String, String> {
    let branches = render(root);
    let out = tempfile::tempdir().unwrap();
    write::write(out.path(), &branches, write::Options::default()).unwrap();

    // A Cluster API cluster with FLUX=local gets clusters/<cluster>/flux-system listing
    // gotk-components.yaml, which the operator commits (`flux install --export`). Check that
    // it is the one thing missing there, then put a stand-in where the operator's file goes.
    let main = out.path().join("main");
    for (path, content) in branches.trees["main"].iter() {
        let Some(dir) = path.strip_suffix("/flux-system/kustomization.yaml") else {
            continue;
        };
        if !std::str::from_utf8(content)
            .unwrap()
            .contains("- gotk-components.yaml")
        {
            continue;
        }
        let flux_system = main.join(dir).join("flux-system");
        let build = Command::new("kustomize")
            .arg("build")
            .arg(&flux_system)
            .env("PATH", &tools.path)
            .output()
            .expect("kustomize runs");
        let stderr = String::from_utf8_lossy(&build.stderr);
        assert!(
            !build.status.success() && stderr.contains("gotk-components.yaml"),
            "{dir}/flux-system should miss only gotk-components.yaml: {stderr}"
        );
        fs::write(
            flux_system.join("gotk-components.yaml"),
            "# Stand-in for the output of `flux install --export`, which the operator commits\n\
             # here: the test checks what fleetgen renders around it.\n\
             apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n",
        )
        .unwrap();
    }

    let mut summaries = BTreeMap::new();
    for (branch, _) in branches.iter() {
        let (passed, report) = common::build_and_validate(tools, &out.path().join(branch));
        assert!(
            passed,
            "kustomize build or validation failed on branch {branch} of {}:\n{report}",
            root.display()
        );
        let summary = report.lines().last().unwrap_or_default().to_owned();
        assert!(summary.contains(" 0 failed"), "{summary}");
        println!("{} {branch}: {summary}", root.display());
        summaries.insert(branch.to_owned(), summary);
    }
    summaries
}

#[test]
fn rendered_branches_build_and_validate() {
    let Some(tools) = common::real_tools() else {
        return;
    };
    let capi = validate_fleet(&tools, &fixture());
    assert_eq!(capi.keys().collect::<Vec<_>>(), ["dev", "main"]);
    let example = validate_fleet(&tools, crate_root());
    assert_eq!(example.keys().collect::<Vec<_>>(), ["dev", "main", "qa"]);
}
