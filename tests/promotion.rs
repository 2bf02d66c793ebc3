//! `fleetgen diff --env qa --against dev`: what qa would gain or lose if it matched dev, object
//! by object, with the environment's name abstracted.

mod common;

use std::path::Path;

use common::{example_fleet, fleetgen, replace, write};

fn promotion(root: &Path) -> String {
    let assert = fleetgen(root)
        .args(["diff", "--env", "qa", "--against", "dev"])
        .assert()
        .success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn the_example_fleet_promoted_from_dev_to_qa() {
    let fleet = example_fleet();
    let report = promotion(fleet.path());
    insta::assert_snapshot!("example_qa_dev", report);
    assert!(
        report.lines().count() <= fleetgen::view::promotion::REPORT_LINES,
        "{report}"
    );
    // The environment's own entry points on the main branch are the same, read as qa's.
    assert!(!report.contains("dev-flux-system"), "{report}");
}

#[test]
fn against_needs_exactly_one_env() {
    let fleet = example_fleet();
    let assert = fleetgen(fleet.path())
        .args(["diff", "--against", "dev"])
        .assert()
        .code(2);
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stderr),
        "error: --against compares one environment with another: give exactly one --env\n"
    );
}

/// qa without kaizentm and with three Redis replicas on k3d-emea; a tenant whose name starts
/// with the environment's name (`devtools`) in both.
#[test]
fn a_missing_tenant_and_a_different_value() {
    let fleet = example_fleet();
    let root = fleet.path();
    std::fs::remove_file(root.join("environments/qa/tenants/kaizentm.yaml")).unwrap();
    write(
        root,
        "environments/qa/clusters/k3d-emea.env",
        "REDIS_REPLICAS=3\n",
    );
    write(
        root,
        "fleet/tenants/devtools.yaml",
        "repo: https://github.com/example-org/devtools\napps:\n  - portal\n",
    );
    for env in ["dev", "qa"] {
        write(
            root,
            &format!("environments/{env}/tenants/devtools.yaml"),
            "clusters:\n  - k3d-emea\n",
        );
    }
    let report = promotion(root);
    insta::assert_snapshot!("missing_tenant_and_value", report);
    // Only whole name segments are read as another environment's: `devtools`
    // stays what it is, so nothing of that tenant differs.
    assert!(!report.contains("devtools"), "{report}");
}

/// An object that moves to another file, or whose fields are written in another order, is the
/// same object.
#[test]
fn a_moved_or_reordered_object_is_no_change() {
    let fleet = example_fleet();
    let root = fleet.path();
    // Both environments with the same values, so only the layout differs.
    write(root, "environments/dev/clusters/k3d-america.env", "");
    write(root, "environments/qa/clusters/k3d-america.env", "");
    replace(
        root,
        "blueprints/redis/blueprint.yaml",
        "target: infra/{{ cluster.name }}/redis",
        "target: infra/{{ cluster.name }}/{{ 'cache' if env.name == 'dev' else 'redis' }}",
    );
    write(
        root,
        "blueprints/redis/files/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: redis\n  namespace: {{ env.name }}-redis\n\
         {% if env.name == 'dev' %}spec:\n  ports:\n    - name: redis\n      port: 6379\n      targetPort: redis\n\
         \x20 selector:\n    app.kubernetes.io/name: redis\n\
         {% else %}spec:\n  selector:\n    app.kubernetes.io/name: redis\n  ports:\n    - targetPort: redis\n\
         \x20     port: 6379\n      name: redis\n{% endif %}",
    );
    write(root, "environments/qa/clusters/k3s-america-south.env", "");
    let report = promotion(root);
    assert!(report.contains("+ Kustomization qa-yakuza/web"), "{report}");
    assert!(!report.contains("redis"), "{report}");
}

/// An environment's entry points on the main branch (its namespace, source and sync on each
/// cluster with its own Flux) are its objects too.
#[test]
fn the_main_branch_entry_points_belong_to_their_environment() {
    let fleet = example_fleet();
    let root = fleet.path();
    std::fs::remove_file(root.join("environments/qa/clusters/k3d-emea.env")).unwrap();
    let report = promotion(root);
    let emea = report
        .split_once("    k3d-emea:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{report}"));
    for object in [
        "+ GitRepository qa-flux-system/qa-flux-system",
        "+ Kustomization qa-flux-system/qa-flux-system",
    ] {
        assert!(emea.contains(object), "{object}: {report}");
    }
}

/// 60 clusters, 20 tenants: prod without half of each and with other values still gets a report
/// within its bound, in natural order.
#[test]
fn a_large_promotion_stays_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::large_fleet(root);
    for cluster in 30..60 {
        std::fs::remove_file(root.join(format!("environments/prod/clusters/c{cluster}.env")))
            .unwrap();
    }
    for tenant in 10..20 {
        std::fs::remove_file(root.join(format!("environments/prod/tenants/t{tenant}.yaml")))
            .unwrap();
    }
    for tenant in 0..10 {
        write(
            root,
            &format!("environments/dev/tenants/t{tenant}.yaml"),
            "branch: next\n",
        );
    }
    let assert = fleetgen(root)
        .args(["diff", "--env", "prod", "--against", "dev"])
        .assert()
        .success();
    let report = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let lines = report.lines().count();
    assert!(
        lines <= fleetgen::view::promotion::REPORT_LINES,
        "{lines} lines:\n{report}"
    );
    assert!(
        report.contains("  clusters: + c30, c31, c32, c33, c34, c35, c36, c37 and 22 more\n"),
        "{report}"
    );
    assert!(report.contains("  tenants: + t10, t11, t12"), "{report}");
    assert!(
        report.contains("  tenant t0 branch: prod → next\n"),
        "{report}"
    );
    assert!(
        report.contains("  … and 2 more tenants differ\n"),
        "{report}"
    );
    assert!(report.contains("more objects\n"), "{report}");
    // Clusters with the same differences share a heading, in natural order (c2 before c10).
    assert!(report.contains("\n    c0, c1, c2, "), "{report}");
}

/// An environment branch named otherwise than its environment reads as the environment's
/// name, on either side: renaming qa's branch changes nothing in the report.
#[test]
fn branch_names_are_abstracted_like_environment_names() {
    let fleet = example_fleet();
    let before = promotion(fleet.path());
    replace(
        fleet.path(),
        "environments/qa/environment.yaml",
        "branch: qa",
        "branch: qa-release",
    );
    assert_eq!(promotion(fleet.path()), before);
}
