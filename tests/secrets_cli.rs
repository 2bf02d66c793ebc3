//! `fleetgen secrets` on the example fleet.

mod common;

use common::{example_fleet, fleetgen};

fn stdout_of(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn secrets_lists_each_secret_per_cluster_and_namespace() {
    let fleet = example_fleet();
    let human = stdout_of(fleetgen(fleet.path()).args(["secrets"]).assert().success());
    insta::assert_snapshot!("secrets_example", human);
}

#[test]
fn secrets_json_is_machine_readable() {
    let fleet = example_fleet();
    let json = stdout_of(
        fleetgen(fleet.path())
            .args(["secrets", "--format", "json", "--env", "dev"])
            .assert()
            .success(),
    );
    let secrets: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let kubeconfigs: Vec<(&str, &str)> = secrets
        .iter()
        .filter(|secret| secret["name"] == "k3s-america-south-kubeconfig")
        .map(|secret| {
            (
                secret["cluster"].as_str().unwrap(),
                secret["namespace"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kubeconfigs,
        [
            ("k3d-america", "dev-flux-system"),
            ("k3d-america", "dev-kaizentm"),
            ("k3d-america", "flux-system")
        ]
    );
    assert!(
        secrets
            .iter()
            .all(|secret| secret["provided_by"] == "operator")
    );
}

/// The Cluster API test fleet with a private tenant repository: on os-edge, whose Flux its
/// manager installs, every Git Secret comes from the manager, and the operator's one Secret
/// there lists the tenant's keys beside the fleet repo's.
#[test]
fn secrets_of_a_private_tenant_on_a_cluster_with_its_own_flux_are_the_managers() {
    let fleet = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo_root().join("tests/fixtures/capi-fleet"),
        fleet.path(),
    );
    common::append(
        fleet.path(),
        "fleet/tenants/shop.yaml",
        "secretRef: shop-repo-auth\n",
    );
    let human = stdout_of(fleetgen(fleet.path()).args(["secrets"]).assert().success());
    insta::assert_snapshot!("secrets_capi_private_tenant", human);
}
