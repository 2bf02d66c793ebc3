//! `remove-cluster`, `remove-tenant` and `remove-app`: refused while something depends on what
//! they remove, what Flux prunes when they run, and nothing to do for what is not there.

mod common;

use common::example_fleet;
use common::scaffold::{first_dry_second, ok, read, refused};

// --- remove-cluster ---------------------------------------------------------------------

#[test]
fn remove_cluster_is_refused_while_it_manages_another() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(root, &["remove-cluster", "k3d-america"]);
    insta::assert_snapshot!("remove_cluster_refused", stderr);
    let stderr = refused(root, &["remove-cluster", "k3d-america", "--env", "dev"]);
    assert!(
        stderr.contains("its Flux drives k3s-america-south there"),
        "{stderr}"
    );
}

#[test]
fn remove_cluster_from_one_environment_reports_what_flux_prunes() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(root, &["remove-cluster", "k3d-emea", "--env", "dev"]);
    insta::assert_snapshot!("remove_cluster_from_dev", stderr);
    assert!(!root.join("environments/dev/clusters/k3d-emea.env").exists());
    assert!(root.join("fleet/clusters/k3d-emea.env").exists());
    // The tenant that listed it keeps its other cluster.
    let yakuza = read(root, "environments/dev/tenants/yakuza.yaml");
    assert!(yakuza.ends_with("clusters:\n  - k3d-america\n"), "{yakuza}");
}

#[test]
fn remove_cluster_with_force_removes_its_dependents_and_every_reference() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(root, &["remove-cluster", "k3d-america", "--force"]);
    insta::assert_snapshot!("remove_cluster_forced", stderr);
    for gone in [
        "fleet/clusters/k3d-america.env",
        "fleet/clusters/k3s-america-south.env",
        "environments/dev/clusters/k3d-america.env",
        "environments/dev/clusters/k3s-america-south.env",
        "environments/qa/clusters/k3d-america.env",
    ] {
        assert!(!root.join(gone).exists(), "{gone} is still there");
    }
    let yakuza = read(root, "environments/dev/tenants/yakuza.yaml");
    assert!(!yakuza.contains("k3d-america"), "{yakuza}");
}

#[test]
fn remove_of_what_is_not_there_is_nothing_to_do() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = ok(root, &["remove-cluster", "k3d-amerika"]);
    assert_eq!(
        stderr,
        "nothing to do: there is no cluster k3d-amerika\nnote: did you mean k3d-america?\n"
    );
    let stderr = ok(
        root,
        &["remove-cluster", "k3s-america-south", "--env", "qa"],
    );
    assert_eq!(
        stderr,
        "nothing to do: cluster k3s-america-south is not in qa\n"
    );
    // A misspelt environment is an error, not a silent no-op.
    let stderr = refused(root, &["remove-cluster", "k3d-emea", "--env", "qaa"]);
    assert!(stderr.contains("did you mean qa?"), "{stderr}");
    let stderr = ok(root, &["remove-app", "yakuza", "web", "--env", "qa"]);
    assert!(stderr.starts_with("nothing to do"), "{stderr}");
}

// --- remove-tenant / remove-app ---------------------------------------------------------

#[test]
fn remove_tenant_is_refused_while_an_environment_lists_it() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(root, &["remove-tenant", "yakuza"]);
    insta::assert_snapshot!("remove_tenant_refused", stderr);

    let stderr = first_dry_second(root, &["remove-tenant", "yakuza", "--env", "qa"]);
    assert!(stderr.contains("Flux prunes from k3d-america"), "{stderr}");
    assert!(stderr.contains("Namespace qa-yakuza"), "{stderr}");
    ok(root, &["remove-tenant", "yakuza", "--env", "dev"]);
    // Listed nowhere now: removing it from the fleet needs no --force.
    first_dry_second(root, &["remove-tenant", "yakuza"]);
    assert!(!root.join("fleet/tenants/yakuza.yaml").exists());
}

#[test]
fn remove_app_everywhere_needs_force_while_deployed() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(root, &["remove-app", "yakuza", "api"]);
    assert!(stderr.contains("it is deployed to dev, qa"), "{stderr}");

    let stderr = first_dry_second(root, &["remove-app", "yakuza", "web", "--env", "dev"]);
    assert!(stderr.contains("Kustomization dev-yakuza/web"), "{stderr}");
    // dev took all apps; it is pinned to the rest.
    assert!(read(root, "environments/dev/tenants/yakuza.yaml").ends_with("apps:\n  - api\n"));

    first_dry_second(root, &["remove-app", "yakuza", "api", "--force"]);
    assert_eq!(
        read(root, "fleet/tenants/yakuza.yaml"),
        "# Tenant yakuza: two apps, an API and its web front end.\nrepo: https://github.com/yakuza/gitops-manifests\napps:\n  - web\n"
    );
    assert!(read(root, "environments/qa/tenants/yakuza.yaml").contains("apps: []"));
}
