//! The whole example fleet built from an empty folder with the scaffolding commands only: it
//! renders exactly the trees of the committed example.

mod common;

use std::fs;

use common::scaffold::{assert_renders, ok, read, value_location};
use common::{copy_dir, repo_root};
use fleetgen::pipeline;

#[test]
fn the_example_fleet_can_be_built_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let step = |args: &[&str]| {
        ok(root, args);
        assert_renders(root);
    };
    step(&["init", "--repo", "https://github.com/example-org/fleet"]);

    // The fleet's own blueprints and key settings are its content, not scaffolding.
    copy_dir(&repo_root().join("blueprints"), &root.join("blueprints"));
    let example = read(&repo_root(), "fleet/fleet.yaml");
    let settings = &example[example.find("\ndefaults:").expect("example has defaults")..];
    let mut fleet_yaml = read(root, "fleet/fleet.yaml");
    fleet_yaml.push_str(settings);
    fs::write(root.join("fleet/fleet.yaml"), fleet_yaml).unwrap();
    assert_renders(root);

    step(&["init-environment", "dev", "--set", "REDIS_MAX_MEMORY=64mb"]);
    step(&["init-environment", "qa"]);
    step(&[
        "add-cluster",
        "k3d-america",
        "--provider",
        "existing",
        "--env",
        "dev",
        "--env",
        "qa",
        "--set",
        "POD_CIDR=10.42.0.0/16",
        "--set",
        "SERVICE_CIDR=10.43.0.0/16",
        "--set",
        "NGINX_HTTP_PORT=8080",
        "--env-set",
        "dev:REDIS_MAX_MEMORY=128mb",
        "--env-set",
        "qa:REDIS_REPLICAS=2",
    ]);
    step(&[
        "add-cluster",
        "k3d-emea",
        "--provider",
        "existing",
        "--env",
        "dev",
        "--env",
        "qa",
        "--set",
        "POD_CIDR=10.52.0.0/16",
        "--set",
        "SERVICE_CIDR=10.53.0.0/16",
    ]);
    step(&[
        "add-remote-cluster",
        "k3s-america-south",
        "--managed-by",
        "k3d-america",
        "--env",
        "dev",
        "--set",
        "POD_CIDR=10.62.0.0/16",
        "--set",
        "SERVICE_CIDR=10.63.0.0/16",
    ]);
    let kaizentm = "https://github.com/kaizentm/gitops-manifests";
    let yakuza = "https://github.com/yakuza/gitops-manifests";
    step(&[
        "add-tenant",
        "kaizentm",
        "--repo",
        kaizentm,
        "--role",
        "admin",
        "--env",
        "dev",
        "--app",
        "azure-vote",
    ]);
    step(&["add-tenant", "kaizentm", "--repo", kaizentm, "--env", "qa"]);
    step(&[
        "add-tenant",
        "yakuza",
        "--repo",
        yakuza,
        "--env",
        "dev",
        "--app",
        "api",
        "--cluster",
        "k3d-america",
        "--cluster",
        "k3d-emea",
    ]);
    step(&["add-app", "yakuza", "web", "--env", "dev"]);
    step(&[
        "add-tenant",
        "yakuza",
        "--repo",
        yakuza,
        "--env",
        "qa",
        "--app",
        "api",
        "--branch",
        "release",
    ]);

    // A Cluster API cluster comes with placeholders the fleet refuses until they are filled,
    // partly with the command, partly by hand. Removing it again leaves the example.
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-america",
            "--env",
            "dev",
        ],
    );
    let refused = pipeline::compile(root, &[]).expect_err("placeholders must be refused");
    let message = refused.to_string();
    let expected = format!(
        "{}: error: fill in KUBERNETES_VERSION [fill-in]",
        value_location(root, "fleet/clusters/aws-1.env", "KUBERNETES_VERSION")
    );
    assert!(message.contains(&expected), "{message}");
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "POD_CIDR=10.100.0.0/16",
            "--set",
            "SERVICE_CIDR=10.101.0.0/16",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
        ],
    );
    let file = read(root, "fleet/clusters/aws-1.env")
        .replace("AWS_REGION=<FILL-IN>", "AWS_REGION=eu-west-1")
        .replace("AWS_SSH_KEY_NAME=<FILL-IN>", "AWS_SSH_KEY_NAME=ops")
        .replace(
            "AWS_CONTROL_PLANE_MACHINE_TYPE=<FILL-IN>",
            "AWS_CONTROL_PLANE_MACHINE_TYPE=t3.large",
        )
        .replace(
            "AWS_NODE_MACHINE_TYPE=<FILL-IN>",
            "AWS_NODE_MACHINE_TYPE=m6i.large",
        )
        .replace("NODE_CIDR=<FILL-IN>", "NODE_CIDR=10.102.0.0/16")
        .replace("AWS_AMI_ID=<FILL-IN>", "AWS_AMI_ID=ami-0123456789abcdef0");
    fs::write(root.join("fleet/clusters/aws-1.env"), file).unwrap();
    assert_renders(root);
    step(&["remove-cluster", "aws-1"]);

    let built = pipeline::compile(root, &[]).unwrap().rendered.branches;
    let example = pipeline::compile(&repo_root(), &[])
        .unwrap()
        .rendered
        .branches;
    assert_eq!(
        built.trees.keys().collect::<Vec<_>>(),
        example.trees.keys().collect::<Vec<_>>()
    );
    for (branch, tree) in example.iter() {
        assert_eq!(
            common::tree_text(&built.trees[branch]),
            common::tree_text(tree),
            "branch {branch} differs"
        );
    }
    assert_eq!(built, example);
}
