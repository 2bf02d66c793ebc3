//! Following the Flux objects from each cluster's bootstrap path, the way Flux does, reaches
//! every tenant app, every infrastructure component and every remote cluster of the example
//! fleet, with the names of the fleet repo contract.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fleetgen::pipeline;
use fleetgen::validate::{self, graph, parse};

/// What reaches each cluster: `cluster → {"Kind namespace/name"}`.
fn reached() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let compiled = pipeline::compile(&root, &[]).expect("the example fleet compiles");
    let (schemas, _) = validate::load_schemas(&compiled.fleet, Some(&compiled.rendered)).unwrap();
    let (documents, syntax) = parse::parse_branches(&compiled.rendered.branches);
    assert!(syntax.is_empty(), "{syntax:?}");
    let simulation = graph::simulate(&compiled.fleet, &compiled.rendered, &documents, &schemas);
    let errors: Vec<String> = simulation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    simulation
        .clusters
        .iter()
        .map(|(cluster, applied)| {
            (
                cluster.clone(),
                applied.iter().map(|a| a.object.describe()).collect(),
            )
        })
        .collect()
}

fn assert_reaches(reached: &BTreeSet<String>, cluster: &str, expected: &[&str]) {
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|object| !reached.contains(**object))
        .collect();
    assert!(
        missing.is_empty(),
        "{cluster} does not get {missing:?}; it gets:\n{reached:#?}"
    );
}

#[test]
fn every_cluster_gets_its_environments_infrastructure_tenants_and_apps() {
    let reached = reached();
    assert_eq!(
        reached.keys().collect::<Vec<_>>(),
        ["k3d-america", "k3d-emea", "k3s-america-south"]
    );

    let america = &reached["k3d-america"];
    assert_reaches(
        america,
        "k3d-america",
        &[
            // main: common infrastructure and one entry per environment
            "Kustomization flux-system/infrastructure",
            "HelmRelease nginx/ingress-nginx",
            "Namespace dev-flux-system",
            "GitRepository dev-flux-system/dev-flux-system",
            "Kustomization dev-flux-system/dev-flux-system",
            "Namespace qa-flux-system",
            "Kustomization qa-flux-system/qa-flux-system",
            // environment branches: infrastructure and tenants
            "Kustomization dev-flux-system/infrastructure",
            "Kustomization dev-flux-system/tenants",
            "Deployment dev-redis/redis",
            "Deployment qa-redis/redis",
            "Namespace dev-kaizentm",
            "ServiceAccount dev-kaizentm/kaizentm",
            "RoleBinding dev-kaizentm/kaizentm-reconciler",
            "GitRepository dev-kaizentm/kaizentm-manifests",
            "Kustomization dev-kaizentm/azure-vote",
            "Kustomization dev-yakuza/api",
            "Kustomization dev-yakuza/web",
            "Kustomization qa-kaizentm/azure-vote",
            "Kustomization qa-yakuza/api",
            // the remote cluster it drives, from its own namespaces
            "Kustomization flux-system/k3s-america-south-infrastructure",
            "HelmRelease flux-system/k3s-america-south-ingress-nginx",
            "Kustomization dev-flux-system/k3s-america-south-infrastructure",
            "Kustomization dev-flux-system/k3s-america-south-tenants",
            "Kustomization dev-kaizentm/k3s-america-south-azure-vote",
        ],
    );
    assert!(
        !america.contains("Kustomization qa-yakuza/web"),
        "web is not in qa"
    );

    assert_reaches(
        &reached["k3d-emea"],
        "k3d-emea",
        &[
            "Kustomization flux-system/infrastructure",
            "HelmRelease nginx/ingress-nginx",
            "Kustomization dev-flux-system/dev-flux-system",
            "Kustomization qa-flux-system/qa-flux-system",
            "Deployment dev-redis/redis",
            "Kustomization dev-kaizentm/azure-vote",
            "Kustomization dev-yakuza/web",
            "Kustomization qa-yakuza/api",
        ],
    );

    // The remote cluster has no Flux: it gets plain objects, among them the tenant sandbox
    // that the manager's app Kustomization impersonates, and no Flux object at all.
    let south = &reached["k3s-america-south"];
    assert_reaches(
        south,
        "k3s-america-south",
        &[
            "Deployment dev-redis/redis",
            "Namespace dev-kaizentm",
            "ServiceAccount dev-kaizentm/kaizentm",
            "RoleBinding dev-kaizentm/kaizentm-reconciler",
        ],
    );
    assert!(
        south
            .iter()
            .all(|object| !object.starts_with("Kustomization ")
                && !object.starts_with("GitRepository ")),
        "{south:#?}"
    );
    assert!(
        !south.contains("Namespace dev-yakuza"),
        "yakuza is not on the remote cluster in dev"
    );
}
