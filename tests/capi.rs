//! Cluster API clusters: the test fleet in `tests/fixtures/capi-fleet` (a management cluster
//! `mgmt` and one cluster per infrastructure provider, mixing FLUX=local and FLUX=remote, in
//! environment `dev` with tenant `shop`) rendered, snapshotted, and checked with the real tools.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

mod common;

use common::capi::{
    copy_dir, crate_root, fixture, fixture_copy, manager_kustomizations, reaching, render,
    replace_in, text,
};
use fleetgen::Branches;
use fleetgen::sinks::write;

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
        files_under(
            &branches,
            "main",
            &["capi/aws-prod/", "clusters/mgmt/capi/aws-prod/"]
        )
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
                "capi/os-edge/",
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
        files_under(
            &branches,
            "main",
            &["capi/kind-ci/", "clusters/mgmt/capi/kind-ci/"]
        )
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

/// The CNI's pod network is the cluster's POD_CIDR, as in the Cluster's clusterNetwork:
/// Cilium's cluster-pool IPAM and Calico's IP pool, each following a changed POD_CIDR.
#[test]
fn the_cni_pod_network_is_the_clusters_pod_cidr() {
    let fleet = fixture_copy();
    for (cluster, from, to, cni_field) in [
        (
            "aws-prod",
            "10.20.0.0/16",
            "10.120.0.0/16",
            "        clusterPoolIPv4PodCIDRList:\n          - ",
        ),
        (
            "os-edge",
            "10.30.0.0/16",
            "10.130.0.0/16",
            "        ipPools:\n          - cidr: ",
        ),
    ] {
        replace_in(
            &fleet.path().join(format!("fleet/clusters/{cluster}.env")),
            &format!("POD_CIDR={from}\n"),
            &format!("POD_CIDR={to}\n"),
        );
        let branches = render(fleet.path());
        let cni = text(&branches, "main", &format!("capi/{cluster}/cni.yaml")).unwrap();
        assert!(cni.contains(&format!("{cni_field}{to}\n")), "{cni}");
        assert!(!cni.contains(from), "{cni}");
        let spec = text(&branches, "main", &format!("capi/{cluster}/cluster.yaml")).unwrap();
        assert!(
            spec.contains(&format!("    pods:\n      cidrBlocks:\n        - {to}\n")),
            "{spec}"
        );
    }
}

#[test]
fn cni_proxy_selects_its_cluster_and_keeps_caaph_templates() {
    let branches = render(&fixture());
    let cilium = text(&branches, "main", "capi/aws-prod/cni.yaml").unwrap();
    assert!(cilium.contains("cluster.x-k8s.io/cluster-name: aws-prod"));
    assert!(cilium.contains("- 10.20.0.0/16"), "pod CIDR rendered");
    assert!(cilium.contains("k8sServiceHost: {{ .Cluster.spec.controlPlaneEndpoint.host }}\n"));
    let calico = text(&branches, "main", "capi/os-edge/cni.yaml").unwrap();
    assert!(calico.contains("chartName: tigera-operator"));
    assert!(
        calico.contains("version: \"v3.30.2\""),
        "CNI_VERSION is used"
    );
    // CNI=none: no proxy, but the cluster is still labelled with its choice.
    assert_eq!(text(&branches, "main", "capi/kind-ci/cni.yaml"), None);
    let cluster = text(&branches, "main", "capi/kind-ci/cluster.yaml").unwrap();
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

    let prefix = "capi/";
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
        BTreeSet::from(["main:capi/aws-prod/workers.yaml".to_owned()])
    );
    let workers = text(&after, "main", "capi/aws-prod/workers.yaml").unwrap();
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
        "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=SCS-2V-4",
        "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=SCS-4V-8-50s",
    );
    let after = render(fleet.path());

    let prefix = "capi/";
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
        BTreeSet::from(["main:capi/os-edge/control-plane.yaml".to_owned()])
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
    let example = validate_fleet(&tools, &common::repo_root());
    assert_eq!(example.keys().collect::<Vec<_>>(), ["dev", "main", "qa"]);
}

#[test]
fn everything_targeting_a_cluster_api_cluster_waits_for_its_cluster() {
    let kustomizations = manager_kustomizations(&fixture());
    let on_manager = reaching(&fixture(), "mgmt");
    for cluster in ["aws-prod", "os-edge", "kind-ci"] {
        let gate = format!("{cluster}/{cluster}-cluster");
        let (spec, via) = kustomizations
            .get(&gate)
            .unwrap_or_else(|| panic!("{gate} does not reach mgmt: {kustomizations:#?}"));
        // Applied by the bootstrap Kustomization itself, not by one that could be blocked.
        assert_eq!(via, "flux-system/flux-system", "{gate}");
        assert_eq!(spec["spec"]["path"], format!("./capi/{cluster}"));
        let checked: BTreeSet<String> = spec["spec"]["healthChecks"]
            .as_array()
            .expect("health checks")
            .iter()
            .map(|check| {
                format!(
                    "{}/{}",
                    check["kind"].as_str().unwrap(),
                    check["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            checked,
            BTreeSet::from([
                format!("Cluster/{cluster}"),
                format!("KubeadmControlPlane/{cluster}-control-plane")
            ])
        );
        assert!(spec["spec"]["timeout"].is_string(), "{gate} has a timeout");
        let exprs = spec["spec"]["healthCheckExprs"]
            .as_array()
            .expect("CEL checks");
        assert_eq!(
            exprs.len(),
            2,
            "{gate}: Cluster API objects have no kstatus conditions"
        );

        // Every Flux object that applies to the cluster (a Kustomization, or a HelmRelease,
        // which can depend on HelmReleases only and so waits through the Kustomization that
        // applies it).
        let targeting: BTreeSet<String> = on_manager
            .iter()
            .filter(|reached| {
                reached.value["spec"]["kubeConfig"]["secretRef"]["name"]
                    == format!("{cluster}-kubeconfig")
            })
            .map(|reached| {
                if reached.kind == "Kustomization" {
                    reached.id.clone()
                } else {
                    reached.via.clone()
                }
            })
            .collect();
        assert!(!targeting.is_empty(), "nothing targets {cluster}");
        for name in targeting {
            // Breadth-first along dependsOn, within the namespace (Flux's default).
            let mut queue = vec![name.clone()];
            let mut seen = BTreeSet::new();
            let mut reached = false;
            while let Some(current) = queue.pop() {
                if current == gate {
                    reached = true;
                    break;
                }
                if !seen.insert(current.clone()) {
                    continue;
                }
                let Some((spec, _)) = kustomizations.get(&current) else {
                    continue;
                };
                let namespace = current.split('/').next().unwrap();
                for dependency in spec["spec"]["dependsOn"].as_array().into_iter().flatten() {
                    let on = dependency["namespace"].as_str().unwrap_or(namespace);
                    queue.push(format!("{on}/{}", dependency["name"].as_str().unwrap()));
                }
            }
            assert!(
                reached,
                "{name} targets {cluster} but does not wait for {gate}"
            );
        }
    }
}

#[test]
fn cluster_api_objects_are_not_applied_by_the_bootstrap_kustomization() {
    use fleetgen::validate::{self, graph, parse};
    let compiled = fleetgen::pipeline::compile(&fixture(), &[]).unwrap();
    let (schemas, _) = validate::load_schemas(&compiled.fleet, Some(&compiled.rendered)).unwrap();
    let (documents, _) = parse::parse_branches(&compiled.rendered.branches);
    let simulation = graph::simulate(&compiled.fleet, &compiled.rendered, &documents, &schemas);
    let mut clusters = 0;
    for applied in &simulation.clusters["mgmt"] {
        let group = applied.object.document.api_version().unwrap_or_default();
        if group.contains("cluster.x-k8s.io") {
            let namespace = applied.object.namespace.clone().unwrap();
            assert_eq!(
                *applied.via,
                format!("{namespace}/{namespace}-cluster"),
                "{}",
                applied.object.describe()
            );
            clusters += usize::from(applied.object.document.kind() == Some("Cluster"));
        }
    }
    assert_eq!(clusters, 3);
}

/// AWS needs the controllers' credentials, which `clusterctl init` creates from
/// `clusterawsadm`; Docker needs nothing but the socket. Neither asks the operator for a
/// Secret in the cluster's namespace: only Cluster API's kubeconfig is there.
#[test]
fn secrets_lists_every_secret_an_aws_or_docker_cluster_needs() {
    use fleetgen::validate::secrets::Provider;

    let compiled = fleetgen::pipeline::compile(&fixture(), &[]).unwrap();
    let secrets = fleetgen::validate::needed_secrets(&compiled.fleet, &compiled.rendered).unwrap();
    let capa = secrets
        .iter()
        .find(|secret| {
            (
                secret.cluster.as_str(),
                secret.namespace.as_str(),
                secret.name.as_str(),
            ) == ("mgmt", "capa-system", "capa-manager-bootstrap-credentials")
        })
        .unwrap_or_else(|| panic!("no CAPA credentials in {secrets:#?}"));
    assert_eq!(capa.provided_by, Provider::Clusterctl);
    assert_eq!(capa.keys, ["credentials"]);
    for cluster in ["aws-prod", "kind-ci"] {
        let in_namespace: Vec<(&str, Provider)> = secrets
            .iter()
            .filter(|secret| secret.cluster == "mgmt" && secret.namespace == cluster)
            .map(|secret| (secret.name.as_str(), secret.provided_by))
            .collect();
        assert_eq!(
            in_namespace,
            [(
                format!("{cluster}-kubeconfig").as_str(),
                Provider::ClusterApi
            )],
            "{cluster}"
        );
    }
}

#[test]
fn secrets_lists_every_secret_an_openstack_cluster_needs() {
    let compiled = fleetgen::pipeline::compile(&fixture(), &[]).unwrap();
    let secrets = fleetgen::validate::needed_secrets(&compiled.fleet, &compiled.rendered).unwrap();
    let find = |name: &str| {
        secrets
            .iter()
            .find(|secret| {
                secret.cluster == "mgmt" && secret.namespace == "os-edge" && secret.name == name
            })
            .unwrap_or_else(|| panic!("no {name} in {secrets:#?}"))
    };
    let move_label = vec!["clusterctl.cluster.x-k8s.io/move=true".to_owned()];

    let capo = find("os-edge-cloud-config");
    assert_eq!(capo.keys, ["clouds.yaml"]);
    assert_eq!(capo.optional_keys, ["cacert"]);
    assert_eq!(capo.labels, move_label);

    // The cloud controller manager's cloud.conf, which the ClusterResourceSet applies.
    let ccm = find("os-edge-cloud-controller-manager");
    assert_eq!(
        ccm.secret_type.as_deref(),
        Some("addons.cluster.x-k8s.io/resource-set")
    );
    assert_eq!(ccm.keys, ["cloud-config.yaml"]);
    assert_eq!(ccm.labels, move_label);
    let crs = text(
        &compiled.rendered.branches,
        "main",
        "capi/os-edge/cloud-controller-manager.yaml",
    )
    .unwrap();
    assert!(
        crs.contains("name: os-edge-cloud-controller-manager"),
        "{crs}"
    );
}

#[test]
fn removing_a_cluster_api_cluster_prunes_the_cluster_and_keeps_its_credentials() {
    let fleet = fixture_copy();
    let output = Command::new(env!("CARGO_BIN_EXE_fleetgen"))
        .arg("-C")
        .arg(fleet.path())
        .args(["remove-cluster", "os-edge", "--dry-run"])
        .env("NO_COLOR", "1")
        .output()
        .expect("fleetgen runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let prunes = stderr
        .split("Flux prunes from mgmt on its next reconciliation:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no prune list for mgmt:\n{stderr}"));
    assert!(
        prunes.starts_with("  Cluster os-edge/os-edge — "),
        "{stderr}"
    );
    assert!(
        prunes.contains("  Kustomization os-edge/os-edge-cluster\n"),
        "{stderr}"
    );
    // The namespace holds the cloud credentials the teardown needs: Flux leaves it, and the
    // operator deletes it after the Cluster.
    assert!(
        stderr.contains("Flux leaves on mgmt:\n  Namespace os-edge: its prune is disabled"),
        "{stderr}"
    );
    assert!(
        stderr.contains("next: once Cluster os-edge/os-edge is gone from mgmt"),
        "{stderr}"
    );
}

#[test]
fn openstack_root_volume_server_group_and_load_balancer_provider() {
    let branches = render(&fixture());
    let control_plane = text(&branches, "main", "capi/os-edge/control-plane.yaml").unwrap();
    assert!(
        control_plane.contains(
            "      rootVolume:\n        sizeGiB: 50\n        type: \"ssd\"\n      serverGroup:\n        filter:\n          name: \"os-edge-control-plane\"\n"
        ),
        "{control_plane}"
    );
    let workers = text(&branches, "main", "capi/os-edge/workers.yaml").unwrap();
    assert!(
        workers.contains("      rootVolume:\n        sizeGiB: 50\n"),
        "{workers}"
    );
    assert!(
        !workers.contains("serverGroup"),
        "only the control plane is spread"
    );
    let cluster = text(&branches, "main", "capi/os-edge/cluster.yaml").unwrap();
    assert!(
        cluster.contains("  apiServerLoadBalancer:\n    enabled: true\n    provider: ovn\n"),
        "{cluster}"
    );
}

#[test]
fn cluster_api_clusters_work_without_cross_namespace_references() {
    let fleet = fixture_copy();
    let file = fleet.path().join("fleet/fleet.yaml");
    fs::write(
        &file,
        fs::read_to_string(&file).unwrap() + "validation:\n  crossNamespaceRefs: false\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fleetgen"))
        .arg("-C")
        .arg(fleet.path())
        .args(["check", "--no-drift"])
        .env("NO_COLOR", "1")
        .output()
        .expect("fleetgen runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("cross-namespace-ref"), "{stderr}");

    // Each Cluster API namespace has its own copies of the sources, and the readiness gate
    // still uses the one beside it.
    let branches = render(fleet.path());
    for (branch, path) in [
        ("main", "clusters/mgmt/capi/aws-prod/source.yaml"),
        ("dev", "clusters/mgmt/remotes/aws-prod/source.yaml"),
    ] {
        let source = text(&branches, branch, path).unwrap_or_else(|| panic!("no {branch}:{path}"));
        assert!(source.contains("  namespace: aws-prod\n"), "{source}");
    }
    let gate = text(
        &branches,
        "main",
        "clusters/mgmt/capi/aws-prod/cluster.yaml",
    )
    .unwrap();
    assert!(!gate.contains("namespace: flux-system"), "{gate}");
}

#[test]
fn block_storage_csi_drivers_are_optional_add_ons() {
    let branches = render(&fixture());
    let ebs = text(&branches, "main", "capi/aws-prod/csi.yaml").expect("AWS_EBS_CSI=true");
    assert!(ebs.contains("chartName: aws-ebs-csi-driver"), "{ebs}");
    assert!(
        ebs.contains("cluster.x-k8s.io/cluster-name: aws-prod"),
        "{ebs}"
    );
    let cinder =
        text(&branches, "main", "capi/os-edge/csi.yaml").expect("OPENSTACK_CINDER_CSI=true");
    assert!(
        cinder.contains("chartName: openstack-cinder-csi"),
        "{cinder}"
    );
    assert!(
        cinder.contains("version: \"2.33.0\""),
        "follows v1.33: {cinder}"
    );

    // Off by default.
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "AWS_EBS_CSI=true\n",
        "",
    );
    assert_eq!(
        text(&render(fleet.path()), "main", "capi/aws-prod/csi.yaml"),
        None
    );
}

/// A Cluster API object that names another the fleet does not apply (a renamed machine
/// template, a misspelt control plane) leaves Cluster API waiting forever: each such
/// reference is an error at its field, with the name it most likely meant.
#[test]
fn a_reference_to_an_object_nothing_applies_is_an_error() {
    let fleet = fixture_copy();
    let root = fleet.path();
    let blueprint = root.join("blueprints/capi-docker");
    // The fleet's own copy of the default blueprint replaces it.
    copy_dir(
        &crate_root().join("default-blueprints/capi-docker"),
        &blueprint,
    );
    replace_in(
        &blueprint.join("files/workers.yaml"),
        "kind: DevMachineTemplate\n        name: {{ machine_template }}",
        "kind: DevMachineTemplate\n        name: {{ machine_template }}-old",
    );
    replace_in(
        &blueprint.join("files/cluster.yaml"),
        "name: {{ cluster.name }}-control-plane",
        "name: {{ cluster.name }}-controlplane",
    );
    let output = common::fleetgen(root)
        .args(["check", "--no-drift", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<(&str, u64, &str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["rule"] == "capi-reference")
        .map(|finding| {
            (
                finding["file"].as_str().unwrap(),
                finding["line"].as_u64().unwrap(),
                finding["message"].as_str().unwrap(),
                finding["hint"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "main/capi/kind-ci/cluster.yaml",
                20,
                "cluster.x-k8s.io/v1beta2 Cluster kind-ci/kind-ci: /spec/controlPlaneRef names KubeadmControlPlane kind-ci/kind-ci-controlplane, which nothing applies to cluster mgmt; Cluster API waits for it, and the cluster never comes up",
                "did you mean kind-ci-control-plane?",
            ),
            (
                "main/capi/kind-ci/workers.yaml",
                25,
                "cluster.x-k8s.io/v1beta2 MachineDeployment kind-ci/kind-ci-md-0: /spec/template/spec/infrastructureRef names DevMachineTemplate kind-ci/kind-ci-md-0-6e9a81fff2-old, which nothing applies to cluster mgmt; Cluster API waits for it, and the cluster never comes up",
                "did you mean kind-ci-md-0-6e9a81fff2?",
            ),
        ],
        "{findings:#}"
    );
}
