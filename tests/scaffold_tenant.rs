//! `add-tenant` and `add-app`, run as a user would: first, a second time (nothing to do), as a
//! dry run (nothing written) and with bad arguments (nothing written, exit 1); an existing tenant
//! only gains what it is missing.

mod common;

use std::fs;

use common::example_fleet;
use common::scaffold::{ADD_DOCKER_CI_1, assert_renders, first_dry_second, ok, read, refused};
use fleetgen::pipeline;

// --- add-tenant -------------------------------------------------------------------------

#[test]
fn add_tenant_first_second_and_dry_run() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(
        root,
        &[
            "add-tenant",
            "acme",
            "--repo",
            "https://example.com/acme/apps",
            "--env",
            "dev",
            "--app",
            "shop",
            "--cluster",
            "k3d-america",
            "--cluster",
            "k3s-america-south",
        ],
    );
    insta::assert_snapshot!("add_tenant_first_run", stderr);
    insta::assert_snapshot!(
        "add_tenant_membership",
        read(root, "environments/dev/tenants/acme.yaml")
    );
    let compiled = pipeline::compile(root, &[]).unwrap();
    let dev = &compiled.rendered.branches.trees["dev"];
    assert!(dev.contains("tenants/k3d-america/acme/apps/shop.yaml"));
    assert!(dev.contains("tenants/k3d-america/acme/apps/k3s-america-south-shop.yaml"));
    assert!(!dev.contains("tenants/k3d-emea/acme/namespace.yaml"));
}

#[test]
fn add_tenant_that_exists_only_adds_what_is_missing() {
    let fleet = example_fleet();
    let root = fleet.path();
    let tenant_before = read(root, "fleet/tenants/yakuza.yaml");
    // The seed script rebuilt the tenant with `rm -rf` and lost its apps; here the existing
    // apps, comments and memberships stay and only the new app and cluster are appended.
    first_dry_second(
        root,
        &[
            "add-tenant",
            "yakuza",
            "--repo",
            "https://github.com/yakuza/gitops-manifests",
            "--env",
            "dev",
            "--app",
            "metrics",
            "--cluster",
            "k3s-america-south",
        ],
    );
    assert_eq!(
        read(root, "fleet/tenants/yakuza.yaml"),
        format!("{tenant_before}  - metrics\n")
    );
    let dev = read(root, "environments/dev/tenants/yakuza.yaml");
    assert!(
        dev.starts_with("# yakuza is in dev, but not on the remote cluster.\n"),
        "{dev}"
    );
    assert!(
        dev.ends_with("  - k3d-emea\n  - k3s-america-south\n"),
        "{dev}"
    );
    // qa lists its apps already, so it does not get metrics.
    assert!(!read(root, "environments/qa/tenants/yakuza.yaml").contains("metrics"));
}

#[test]
fn add_tenant_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let repo = "https://example.com/acme/apps";
    let stderr = refused(
        root,
        &[
            "add-tenant",
            "acme",
            "--repo",
            repo,
            "--env",
            "dev",
            "--cluster",
            "k3d-amerika",
        ],
    );
    assert!(stderr.contains("no cluster `k3d-amerika`"), "{stderr}");
    assert!(stderr.contains("did you mean k3d-america?"), "{stderr}");

    let stderr = refused(
        root,
        &["add-tenant", "acme/x", "--repo", repo, "--env", "dev"],
    );
    assert!(stderr.contains("contains a path separator"), "{stderr}");

    let stderr = refused(
        root,
        &[
            "add-tenant",
            "acme",
            "--repo",
            repo,
            "--env",
            "qa",
            "--cluster",
            "k3s-america-south",
        ],
    );
    assert!(
        stderr.contains("cluster k3s-america-south is not in environment qa"),
        "{stderr}"
    );

    let stderr = refused(
        root,
        &["add-tenant", "yakuza", "--repo", repo, "--env", "dev"],
    );
    insta::assert_snapshot!("add_tenant_duplicate", stderr);

    let stderr = refused(
        root,
        &["add-tenant", "acme", "--repo", "not a url", "--env", "dev"],
    );
    assert!(
        stderr.contains("is not a Git URL Flux can clone"),
        "{stderr}"
    );
}

// --- add-app ----------------------------------------------------------------------------

#[test]
fn add_app_deploys_to_one_environment_only() {
    let fleet = example_fleet();
    let root = fleet.path();
    let qa_before = read(root, "environments/qa/tenants/kaizentm.yaml");
    let stderr = first_dry_second(root, &["add-app", "kaizentm", "results", "--env", "dev"]);
    insta::assert_snapshot!("add_app_first_run", stderr);
    // kaizentm's qa membership took all apps; it is pinned to what it had.
    assert_eq!(
        read(root, "environments/qa/tenants/kaizentm.yaml"),
        format!("{qa_before}apps:\n  - azure-vote\n")
    );
    let compiled = pipeline::compile(root, &[]).unwrap();
    let trees = &compiled.rendered.branches.trees;
    assert!(trees["dev"].contains("tenants/k3d-emea/kaizentm/apps/results.yaml"));
    assert!(!trees["qa"].contains("tenants/k3d-emea/kaizentm/apps/results.yaml"));

    // Promotion to qa appends to the pinned list.
    ok(root, &["add-app", "kaizentm", "results", "--env", "qa"]);
    assert!(
        read(root, "environments/qa/tenants/kaizentm.yaml")
            .ends_with("  - azure-vote\n  - results\n")
    );
    assert_renders(root);
}

#[test]
fn add_app_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(root, &["add-app", "kaizentn", "web", "--env", "dev"]);
    assert!(stderr.contains("no tenant `kaizentn`"), "{stderr}");
    assert!(stderr.contains("did you mean kaizentm?"), "{stderr}");
    let stderr = refused(root, &["add-app", "yakuza", "web/x", "--env", "dev"]);
    assert!(stderr.contains("contains a path separator"), "{stderr}");
    fs::remove_file(root.join("environments/qa/tenants/yakuza.yaml")).unwrap();
    let stderr = refused(root, &["add-app", "yakuza", "web", "--env", "qa"]);
    assert!(
        stderr.contains("tenant yakuza is not in environment qa"),
        "{stderr}"
    );
}

/// A private tenant that comes to a Cluster API cluster with its own Flux: the Secret on the
/// manager that the hand-over fills the tenant's Secret from exists already (for another
/// private tenant there), and gains the new tenant's keys, which are what the operator adds.
#[test]
fn add_tenant_to_a_cluster_with_its_own_flux_lists_the_keys_to_add_on_the_manager() {
    let fleet = example_fleet();
    let root = fleet.path();
    common::append(
        root,
        "fleet/tenants/kaizentm.yaml",
        "secretRef: kaizentm-repo-auth\n",
    );
    common::append(
        root,
        "fleet/tenants/yakuza.yaml",
        "secretRef: yakuza-repo-auth\n",
    );
    ok(root, ADD_DOCKER_CI_1);
    let stderr = ok(
        root,
        &[
            "add-tenant",
            "yakuza",
            "--repo",
            "https://github.com/yakuza/gitops-manifests",
            "--env",
            "dev",
            "--cluster",
            "ci-1",
        ],
    );
    assert!(
        stderr.contains(
            "on k3d-america: Secret ci-1/ci-1-flux-system with keys `tenant_yakuza_username`, `tenant_yakuza_password`: add to the Secret you created: tenant kaizentm's repository credentials"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "tenant yakuza's repository credentials as `tenant_yakuza_username`, `tenant_yakuza_password` (the keys `username`, `password` of its Secret yakuza-repo-auth, each value base64-encoded likewise), which the Kustomization ci-1-flux-environments writes into Secret yakuza-repo-auth in dev-yakuza on ci-1\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("on ci-1:"), "{stderr}");
    assert_eq!(
        stderr.matches("Secret ci-1/ci-1-flux-system").count(),
        1,
        "{stderr}"
    );
    assert_renders(root);
}
