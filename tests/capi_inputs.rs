//! Cluster API inputs that a provider's webhook or the cloud would refuse, or that would leave
//! a cluster that never comes up: input errors at the key's line (`src/model/capi.rs` and the
//! key registry), on edited copies of the test fleet.

use std::fs;

mod common;

use common::capi::{finding, fixture, fixture_copy, refused, render, replace_in, text};
use fleetgen::Error;

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

#[test]
fn an_even_control_plane_count_is_an_input_error_at_its_line() {
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "CONTROL_PLANE_MACHINE_COUNT=3",
        "CONTROL_PLANE_MACHINE_COUNT=2",
    );
    let diagnostics = refused(fleet.path(), "two control-plane machines");
    let shown = finding(&diagnostics, "even-control-plane");
    assert!(
        shown.starts_with("fleet/clusters/aws-prod.env:11:"),
        "{shown}"
    );
    assert!(shown.contains("odd number"), "{shown}");
}

#[test]
fn a_negative_worker_count_is_an_input_error_at_its_line() {
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/os-edge.env"),
        "WORKER_MACHINE_COUNT=2",
        "WORKER_MACHINE_COUNT=-1",
    );
    let diagnostics = refused(fleet.path(), "a negative worker count");
    let shown = diagnostics
        .iter()
        .find(|diagnostic| diagnostic.message.contains("WORKER_MACHINE_COUNT"))
        .map(ToString::to_string)
        .unwrap_or_else(|| panic!("{diagnostics}"));
    assert!(
        shown.starts_with("fleet/clusters/os-edge.env:11:"),
        "{shown}"
    );
}

#[test]
fn the_aws_machine_image_is_required_and_used_by_every_machine() {
    let branches = render(&fixture());
    for file in ["control-plane.yaml", "workers.yaml"] {
        let text = text(&branches, "main", &format!("capi/aws-prod/{file}")).unwrap();
        assert!(
            text.contains("      ami:\n        id: \"ami-0a1b2c3d4e5f67890\"\n"),
            "{file}:\n{text}"
        );
    }

    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "AWS_AMI_ID=ami-0a1b2c3d4e5f67890\n",
        "",
    );
    let diagnostics = refused(fleet.path(), "an AWS cluster without an image");
    let shown = finding(&diagnostics, "missing-key");
    assert!(
        shown.starts_with("fleet/clusters/aws-prod.env") && shown.contains("AWS_AMI_ID"),
        "{shown}"
    );
}

#[test]
fn two_aws_clusters_with_one_vpc_cidr_are_an_input_error() {
    let fleet = fixture_copy();
    let aws = fs::read_to_string(fleet.path().join("fleet/clusters/aws-prod.env")).unwrap();
    fs::write(
        fleet.path().join("fleet/clusters/aws-stage.env"),
        aws.replace("POD_CIDR=10.20.0.0/16", "POD_CIDR=10.60.0.0/16")
            .replace("SERVICE_CIDR=10.21.0.0/16", "SERVICE_CIDR=10.61.0.0/16"),
    )
    .unwrap();
    let diagnostics = refused(fleet.path(), "two VPCs with one CIDR");
    let shown = finding(&diagnostics, "cidr-overlap");
    assert!(shown.contains("NODE_CIDR 10.22.0.0/16"), "{shown}");

    // Leaving it out is no way around it: AWS clusters must say which VPC CIDR they use.
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/aws-prod.env"),
        "NODE_CIDR=10.22.0.0/16\n",
        "",
    );
    let diagnostics = refused(fleet.path(), "an AWS cluster without a VPC CIDR");
    assert!(finding(&diagnostics, "missing-key").contains("NODE_CIDR"));
}

#[test]
fn a_kubernetes_version_without_a_cloud_controller_manager_is_an_input_error() {
    let fleet = fixture_copy();
    let file = fleet.path().join("fleet/clusters/os-edge.env");
    replace_in(
        &file,
        "KUBERNETES_VERSION=v1.33.4",
        "KUBERNETES_VERSION=v1.27.3",
    );
    let diagnostics = refused(fleet.path(), "Kubernetes v1.27 on OpenStack");
    let shown = finding(&diagnostics, "unsupported-version");
    assert!(
        shown.starts_with("fleet/clusters/os-edge.env:5:"),
        "{shown}"
    );
    assert!(
        shown.contains("CLOUD_CONTROLLER_MANAGER_VERSION"),
        "{shown}"
    );

    // Naming a release of the cloud provider for that minor is the way out.
    fs::write(
        &file,
        fs::read_to_string(&file).unwrap() + "CLOUD_CONTROLLER_MANAGER_VERSION=v2.27.1\n",
    )
    .unwrap();
    let branches = render(fleet.path());
    let ccm = text(
        &branches,
        "main",
        "capi/os-edge/cloud-controller-manager.yaml",
    )
    .unwrap();
    assert!(ccm.contains("version: \"2.27.1\"\n"), "{ccm}");

    // A cloud controller manager newer than the API server is refused.
    replace_in(
        &file,
        "CLOUD_CONTROLLER_MANAGER_VERSION=v2.27.1",
        "CLOUD_CONTROLLER_MANAGER_VERSION=v2.29.0",
    );
    let diagnostics = refused(fleet.path(), "a CCM newer than Kubernetes");
    assert!(finding(&diagnostics, "version-skew").contains("newer than its KUBERNETES_VERSION"));
}

#[test]
fn a_kubernetes_version_the_default_cni_does_not_support_is_an_input_error() {
    // aws-prod takes the default Cilium release, tested with Kubernetes 1.32 to 1.35.
    let fleet = fixture_copy();
    let aws = fleet.path().join("fleet/clusters/aws-prod.env");
    replace_in(
        &aws,
        "KUBERNETES_VERSION=v1.33.4",
        "KUBERNETES_VERSION=v1.31.2",
    );
    let diagnostics = refused(fleet.path(), "Kubernetes v1.31 with the default Cilium");
    let shown = finding(&diagnostics, "unsupported-version");
    assert!(
        shown.starts_with("fleet/clusters/aws-prod.env:6:"),
        "{shown}"
    );
    assert!(shown.contains("cilium v1.19.1"), "{shown}");
    assert!(shown.contains("v1.32 to v1.35"), "{shown}");
    assert!(shown.contains("CNI_VERSION"), "{shown}");

    // A CNI_VERSION set by hand is taken as is, and is what the cluster gets.
    fs::write(
        &aws,
        fs::read_to_string(&aws).unwrap() + "CNI_VERSION=v1.17.6\n",
    )
    .unwrap();
    let branches = render(fleet.path());
    let cni = text(&branches, "main", "capi/aws-prod/cni.yaml").unwrap();
    assert!(cni.contains("version: \"1.17.6\"\n"), "{cni}");

    // The default Calico release is tested with 1.31 to 1.33; v1.34 still has a cloud
    // controller manager, so the CNI is the only thing in the way.
    let fleet = fixture_copy();
    let openstack = fleet.path().join("fleet/clusters/os-edge.env");
    replace_in(&openstack, "CNI_VERSION=v3.30.2\n", "");
    replace_in(
        &openstack,
        "KUBERNETES_VERSION=v1.33.4",
        "KUBERNETES_VERSION=v1.34.1",
    );
    let diagnostics = refused(fleet.path(), "Kubernetes v1.34 with the default Calico");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let shown = finding(&diagnostics, "unsupported-version");
    assert!(
        shown.starts_with("fleet/clusters/os-edge.env:5:"),
        "{shown}"
    );
    assert!(shown.contains("calico v3.30.2"), "{shown}");
    assert!(shown.contains("v1.31 to v1.33"), "{shown}");
}

#[test]
fn the_default_cni_release_is_the_one_installed() {
    // Without CNI_VERSION, the chart version rendered is the release the check knows about.
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/os-edge.env"),
        "CNI_VERSION=v3.30.2\n",
        "",
    );
    let branches = render(fleet.path());
    for (cluster, name) in [("aws-prod", "cilium"), ("os-edge", "calico")] {
        let default = fleetgen::model::capi::DEFAULT_CNIS
            .iter()
            .find(|cni| cni.name == name)
            .unwrap();
        let cni = text(&branches, "main", &format!("capi/{cluster}/cni.yaml")).unwrap();
        // Cilium's chart versions carry no `v`, tigera-operator's do.
        let version = match name {
            "cilium" => default.version.trim_start_matches('v'),
            _ => default.version,
        };
        assert!(cni.contains(&format!("version: \"{version}\"\n")), "{cni}");
    }
}

#[test]
fn a_docker_cluster_on_a_manager_without_docker_is_warned_about() {
    let fleet = fixture_copy();
    replace_in(
        &fleet.path().join("fleet/clusters/kind-ci.env"),
        "MANAGED_BY=mgmt",
        "MANAGED_BY=os-edge",
    );
    let compiled = fleetgen::pipeline::compile(fleet.path(), &[]).expect("only a warning");
    let warnings = fleetgen::model::capi::warnings(&compiled.fleet.clusters);
    let shown = finding(&warnings, "docker-manager");
    assert!(
        shown.starts_with("fleet/clusters/kind-ci.env:3:"),
        "{shown}"
    );
    assert!(shown.contains("no Docker socket"), "{shown}");
    // The fixture's manager is PROVIDER=existing: fleetgen cannot know, and says nothing.
    let compiled = fleetgen::pipeline::compile(&fixture(), &[]).unwrap();
    assert!(fleetgen::model::capi::warnings(&compiled.fleet.clusters).is_empty());
}

/// The manager hands the fleet repo's Secret to the environments of a cluster with its own
/// Flux through `<cluster>-flux-environments`, the longest name derived from such a cluster's:
/// a cluster name that leaves it too long is an input error, unless the repo is public and
/// that Kustomization is never rendered.
#[test]
fn a_cluster_name_too_long_for_the_environments_hand_over_is_an_input_error() {
    let fleet = fixture_copy();
    let root = fleet.path();
    // 46 characters: `-flux-system` and `-infrastructure` still fit in 63.
    let long = "os-edge-in-the-far-north-of-the-region-number1";
    assert_eq!(long.len(), 46);
    for dir in ["fleet/clusters", "environments/dev/clusters"] {
        fs::rename(
            root.join(dir).join("os-edge.env"),
            root.join(dir).join(format!("{long}.env")),
        )
        .unwrap();
    }
    let diagnostics = refused(root, "a name too long for the hand-over");
    let found = finding(&diagnostics, "name-too-long");
    assert!(
        found.starts_with(&format!(
            "fleet/clusters/{long}.env:1:1: error: Kustomization name `{long}-flux-environments` would be 64 characters long; the limit is 63"
        )),
        "{found}"
    );

    replace_in(
        &root.join("fleet/fleet.yaml"),
        "  secretRef: fleet-repo-auth\n",
        "",
    );
    render(root);

    // A private tenant on the cluster is handed over by the same Kustomization, public fleet
    // repo or not.
    replace_in(
        &root.join("fleet/tenants/shop.yaml"),
        "repo: https://git.example.com/shop/deploy\n",
        "repo: https://git.example.com/shop/deploy\nsecretRef: shop-git\n",
    );
    let diagnostics = refused(
        root,
        "a private tenant on a name too long for the hand-over",
    );
    let found = finding(&diagnostics, "name-too-long");
    assert!(
        found.starts_with(&format!(
            "fleet/clusters/{long}.env:1:1: error: Kustomization name `{long}-flux-environments`"
        )),
        "{found}"
    );
}
