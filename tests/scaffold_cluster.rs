//! `add-cluster` and `add-remote-cluster`, run as a user would: first, a second time (nothing
//! to do), as a dry run (nothing written) and with bad arguments (nothing written, exit 1); the
//! placeholders of a Cluster API cluster, and the Secrets each kind of cluster asks the
//! operator for.

mod common;

use std::fs;

use common::example_fleet;
use common::scaffold::{
    ADD_DOCKER_CI_1, assert_renders, first_dry_second, ok, read, refused, run, value_location,
};
use fleetgen::pipeline;

// --- add-cluster ------------------------------------------------------------------------

#[test]
fn add_cluster_first_second_and_dry_run() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(
        root,
        &[
            "add-cluster",
            "k3d-apac",
            "--provider",
            "existing",
            "--env",
            "dev",
            "--set",
            "POD_CIDR=10.82.0.0/16",
            "--env-set",
            "dev:REDIS_REPLICAS=2",
        ],
    );
    insta::assert_snapshot!("add_cluster_first_run", stderr);
    let file = read(root, "fleet/clusters/k3d-apac.env");
    assert!(file.contains("\nPOD_CIDR=10.82.0.0/16\n"), "{file}");
    assert!(file.contains("\n# SERVICE_CIDR=\n"), "{file}");
    assert!(read(root, "environments/dev/clusters/k3d-apac.env").ends_with("\nREDIS_REPLICAS=2\n"));
    let compiled = pipeline::compile(root, &[]).unwrap();
    assert!(compiled.rendered.branches.trees["dev"].contains("clusters/k3d-apac/tenants.yaml"));
}

#[test]
fn add_cluster_joins_an_existing_cluster_to_another_environment() {
    let fleet = example_fleet();
    let root = fleet.path();
    let cluster_file = read(root, "fleet/clusters/k3s-america-south.env");
    // Its manager, k3d-america, is in qa too, as a remote cluster's manager must be.
    first_dry_second(
        root,
        &[
            "add-cluster",
            "k3s-america-south",
            "--provider",
            "existing",
            "--env",
            "qa",
        ],
    );
    assert_eq!(
        read(root, "fleet/clusters/k3s-america-south.env"),
        cluster_file
    );
    assert!(
        root.join("environments/qa/clusters/k3s-america-south.env")
            .is_file()
    );
}

#[test]
fn add_cluster_with_a_cluster_api_provider_leaves_placeholders() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-america",
            "--set",
            "POD_CIDR=10.100.0.0/16",
        ],
    );
    insta::assert_snapshot!("add_cluster_aws_placeholders", stderr);
    let file = read(root, "fleet/clusters/aws-1.env");
    insta::assert_snapshot!("add_cluster_aws_file", file);
    for key in [
        "KUBERNETES_VERSION",
        "SERVICE_CIDR",
        "AWS_REGION",
        "AWS_SSH_KEY_NAME",
        "AWS_CONTROL_PLANE_MACHINE_TYPE",
        "AWS_NODE_MACHINE_TYPE",
        "AWS_AMI_ID",
        "NODE_CIDR",
    ] {
        assert!(
            file.contains(&format!("\n{key}=<FILL-IN>\n")),
            "{key}:\n{file}"
        );
    }

    let render = run(root, &["render"]);
    assert_eq!(render.code, 1);
    let expected = format!(
        "{}: error: fill in AWS_REGION [fill-in]",
        value_location(root, "fleet/clusters/aws-1.env", "AWS_REGION")
    );
    assert!(render.stderr.contains(&expected), "{}", render.stderr);

    // Placeholders can be filled with the same command; a real value is never overwritten.
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
            "--set",
            "SERVICE_CIDR=10.101.0.0/16",
            "--set",
            "AWS_REGION=eu-west-1",
            "--set",
            "AWS_SSH_KEY_NAME=ops",
            "--set",
            "AWS_CONTROL_PLANE_MACHINE_TYPE=t3.large",
            "--set",
            "AWS_NODE_MACHINE_TYPE=m6i.large",
            "--set",
            "NODE_CIDR=10.102.0.0/16",
            "--set",
            "AWS_AMI_ID=ami-0123456789abcdef0",
        ],
    );
    assert_renders(root);
    let stderr = refused(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "AWS_REGION=us-east-1",
        ],
    );
    assert!(
        stderr.contains("AWS_REGION is already set to `eu-west-1`"),
        "{stderr}"
    );
}

#[test]
fn add_cluster_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-amerika",
        ],
    );
    insta::assert_snapshot!("add_cluster_unknown_manager", stderr);

    let stderr = refused(root, &["add-cluster", "team/a", "--provider", "existing"]);
    assert!(
        stderr.contains("cluster name `team/a` is not valid: it contains a path separator"),
        "{stderr}"
    );

    let stderr = refused(root, &["add-cluster", "k3d-emea", "--provider", "docker"]);
    insta::assert_snapshot!("add_cluster_duplicate", stderr);

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "k3d-emea",
            "--provider",
            "existing",
            "--set",
            "POD_CIDR=10.99.0.0/16",
        ],
    );
    assert!(
        stderr.contains("POD_CIDR is already set to `10.52.0.0/16`"),
        "{stderr}"
    );

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--env",
            "prd",
        ],
    );
    assert!(stderr.contains("no environment `prd`"), "{stderr}");

    let stderr = refused(root, &["add-cluster", "aws-1", "--provider", "aws"]);
    assert!(stderr.contains("pass --managed-by"), "{stderr}");

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--set",
            "POD_CIDR=10.42.0.0/16",
        ],
    );
    assert!(
        stderr.contains("overlaps k3d-america's POD_CIDR"),
        "{stderr}"
    );

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--set",
            "NODE_CDIR=10.0.0.0/24",
        ],
    );
    assert!(stderr.contains("unknown key NODE_CDIR"), "{stderr}");

    let usage = run(root, &["add-cluster", "new", "--provider", "gcp"]);
    assert_eq!(usage.code, 2, "an impossible provider is a usage error");
}

// --- add-remote-cluster -----------------------------------------------------------------

#[test]
fn add_remote_cluster_prints_the_secrets_to_create() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(
        root,
        &[
            "add-remote-cluster",
            "k3s-emea-north",
            "--managed-by",
            "k3d-emea",
            "--env",
            "dev",
        ],
    );
    insta::assert_snapshot!("add_remote_cluster_first_run", stderr);
    // yakuza is not on every dev cluster, so its namespace needs no copy.
    assert!(!stderr.contains("dev-yakuza/"), "{stderr}");
    for namespace in ["flux-system", "dev-flux-system", "dev-kaizentm"] {
        assert!(
            stderr.contains(&format!(
                "on k3d-emea: Secret {namespace}/k3s-emea-north-kubeconfig with key `value`"
            )),
            "{namespace}:\n{stderr}"
        );
    }
    let file = read(root, "fleet/clusters/k3s-emea-north.env");
    assert!(file.contains("\nFLUX=remote\n") && file.contains("\nMANAGED_BY=k3d-emea\n"));
}

#[test]
fn add_remote_cluster_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3d-emia",
            "--env",
            "dev",
        ],
    );
    assert!(stderr.contains("no cluster `k3d-emia`"), "{stderr}");
    assert!(stderr.contains("did you mean k3d-emea?"), "{stderr}");

    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3s-america-south",
            "--env",
            "dev",
        ],
    );
    assert!(stderr.contains("has no Flux of its own"), "{stderr}");

    fs::remove_file(root.join("environments/qa/clusters/k3d-emea.env")).unwrap();
    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3d-emea",
            "--env",
            "qa",
        ],
    );
    assert!(
        stderr.contains("k3d-emea, whose Flux drives edge, is not in environment qa"),
        "{stderr}"
    );

    let usage = run(
        root,
        &["add-remote-cluster", "edge", "--managed-by", "k3d-emea"],
    );
    assert_eq!(usage.code, 2, "--env is required");
}

/// A Cluster API cluster driven by its manager's Flux uses the kubeconfig Secret that Cluster
/// API writes in the cluster's namespace: the operator has nothing to create. The list used to
/// be derived from naming conventions and asked for copies in flux-system and
/// <env>-flux-system, which nothing reads.
#[test]
fn a_remote_cluster_api_cluster_needs_no_kubeconfig_secret_from_the_operator() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = ok(
        root,
        &[
            "add-cluster",
            "ci-1",
            "--provider",
            "docker",
            "--managed-by",
            "k3d-america",
            "--flux",
            "remote",
            "--env",
            "dev",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
            "--set",
            "POD_CIDR=10.70.0.0/16",
            "--set",
            "SERVICE_CIDR=10.71.0.0/16",
        ],
    );
    assert!(!stderr.contains("ci-1-kubeconfig with key"), "{stderr}");
    assert_renders(root);
}

/// A Cluster API cluster with its own Flux needs the private fleet repo's Secret before its
/// Flux can fetch anything, and the cluster does not exist yet when the operator reads this
/// list: the Secret to create is the one on the manager that the hand-over copies from, not
/// one on the new cluster.
#[test]
fn a_cluster_api_cluster_with_its_own_flux_gets_the_fleet_repo_secret_from_its_manager() {
    let fleet = example_fleet();
    let root = fleet.path();
    let settings = read(root, "fleet/fleet.yaml").replace(
        "  # secretRef: fleet-repo-auth",
        "  secretRef: fleet-repo-auth",
    );
    fs::write(root.join("fleet/fleet.yaml"), settings).unwrap();
    let stderr = ok(root, ADD_DOCKER_CI_1);
    assert!(
        stderr.contains(
            "on k3d-america: Secret ci-1/ci-1-flux-system with keys `username`, `password`: the fleet repo's credentials for ci-1's own Flux"
        ),
        "{stderr}"
    );
    // The manager creates the Secret in each of its environments' namespaces too: nothing is
    // to be created on ci-1 itself, which does not exist yet.
    assert!(
        stderr.contains(
            "the Kustomizations ci-1-flux and ci-1-flux-environments write them into Secret fleet-repo-auth in flux-system, dev-flux-system on ci-1\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("on ci-1:"), "{stderr}");
    // What the operator still does: Flux's own components, and a manager that can run CAPD.
    assert!(
        stderr.contains(
            "next: commit clusters/ci-1/flux-system/gotk-components.yaml on the main branch, the Flux that k3d-america installs into ci-1: flux install --export --version="
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("its CAPD needs the Docker socket of the node it runs on")
            && stderr.contains("the Docker network `kind`"),
        "{stderr}"
    );
}

/// A private tenant repository on a new Cluster API cluster with its own Flux: its Secret is
/// needed in the tenant's namespace there before Flux can fetch the tenant's apps, and the
/// cluster does not exist yet. The operator adds the tenant's keys to the Secret on the
/// manager that the hand-over fills the tenant's Secret from; nothing is asked of ci-1.
#[test]
fn a_cluster_api_cluster_with_its_own_flux_gets_private_tenants_secrets_from_its_manager() {
    let fleet = example_fleet();
    let root = fleet.path();
    common::append(
        root,
        "fleet/tenants/kaizentm.yaml",
        "secretRef: kaizentm-repo-auth\n",
    );
    let stderr = ok(root, ADD_DOCKER_CI_1);
    assert!(
        stderr.contains(
            "on k3d-america: Secret ci-1/ci-1-flux-system with keys `tenant_kaizentm_username`, `tenant_kaizentm_password`: tenant kaizentm's repository credentials as `tenant_kaizentm_username`, `tenant_kaizentm_password` (the keys `username`, `password` of its Secret kaizentm-repo-auth, each value base64-encoded likewise), which the Kustomization ci-1-flux-environments writes into Secret kaizentm-repo-auth in dev-kaizentm on ci-1\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("on ci-1:"), "{stderr}");
    assert_renders(root);
}
