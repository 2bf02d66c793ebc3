//! `fleetgen check` with the upstream schemas it embeds: no flag, no configuration.

mod common;

use std::fs;
use std::path::Path;

use common::{example_fleet, fleetgen};

fn check_json(root: &Path) -> (i32, serde_json::Value) {
    let output = fleetgen(root)
        .args(["check", "--no-drift", "--format", "json"])
        .output()
        .unwrap();
    let findings = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), findings)
}

#[test]
fn the_example_fleet_is_valid_with_no_finding_at_all() {
    let fleet = example_fleet();
    let (code, findings) = check_json(fleet.path());
    assert_eq!((code, findings), (0, serde_json::json!([])));
}

#[test]
fn a_field_the_api_no_longer_has_is_caught_by_the_schema() {
    let fleet = example_fleet();
    // A fleet blueprint still writing the kustomize.toolkit.fluxcd.io/v1beta1 field `validation`
    // on a v1 Kustomization, as a seed repository did.
    let blueprint = fleet.path().join("blueprints/monitoring");
    fs::create_dir_all(blueprint.join("files")).unwrap();
    fs::write(
        blueprint.join("blueprint.yaml"),
        "scope: cluster\nwhen: not cluster.remote\ntarget: infra/{{ cluster.name }}/monitoring\n",
    )
    .unwrap();
    fs::write(
        blueprint.join("files/sync.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: monitoring\n  namespace: flux-system\n\
         spec:\n  interval: 10m\n  prune: true\n  validation: client\n  path: ./infra/{{ cluster.name }}/monitoring\n\
         \x20 sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )
    .unwrap();
    let (code, findings) = check_json(fleet.path());
    assert_eq!(code, 1, "{findings:#}");
    let schema: Vec<&serde_json::Value> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["rule"] == "schema")
        .collect();
    assert_eq!(
        schema.len(),
        2,
        "one per cluster with local Flux: {findings:#}"
    );
    assert_eq!(
        schema[0]["file"],
        "main/infra/k3d-america/monitoring/sync.yaml"
    );
    assert_eq!(
        schema[0]["line"], 10,
        "the line of `validation:`, after the generated header"
    );
    assert!(
        schema[0]["message"]
            .as_str()
            .unwrap()
            .contains("validation"),
        "{findings:#}"
    );
}

#[test]
fn every_problem_is_listed_and_the_exit_code_is_1() {
    let fleet = example_fleet();
    fs::write(
        fleet.path().join("fleet/clusters/k3d-emea.env"),
        "POD_CIDR=10.42.0.0/16\nNODE_CDIR=x\n",
    )
    .unwrap();
    let (code, findings) = check_json(fleet.path());
    assert_eq!(code, 1);
    let rules: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["cidr-overlap", "unknown-key"], "{findings:#}");
    assert_eq!(findings[1]["file"], "fleet/clusters/k3d-emea.env");
    assert_eq!(
        (&findings[1]["line"], &findings[1]["column"]),
        (&serde_json::json!(2), &serde_json::json!(1))
    );
}
