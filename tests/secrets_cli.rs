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
