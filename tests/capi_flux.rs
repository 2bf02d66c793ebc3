//! The Flux hand-over of a FLUX=local Cluster API cluster (`os-edge` in the test fleet in
//! `tests/fixtures/capi-fleet`, whose repo is private): every Git Secret its Flux needs is
//! created by its manager `mgmt`, from the one Secret the operator creates there, and nothing
//! is left for the operator to create on a cluster that does not exist yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

mod common;

use common::add_blueprint;
use common::capi::{fixture, fixture_copy, manager_kustomizations, reaching, replace_in, text};
use fleetgen::validate::secrets::{Provider, Secret};

/// The Secrets `fleetgen secrets` lists for the fleet at `root`.
fn needed(root: &Path) -> Vec<Secret> {
    let compiled = fleetgen::pipeline::compile(root, &[]).expect("the fleet compiles");
    fleetgen::validate::needed_secrets(&compiled.fleet, &compiled.rendered).unwrap()
}

fn find<'s>(secrets: &'s [Secret], cluster: &str, namespace: &str, name: &str) -> &'s Secret {
    secrets
        .iter()
        .find(|secret| {
            secret.cluster == cluster && secret.namespace == namespace && secret.name == name
        })
        .unwrap_or_else(|| panic!("no {cluster}:{namespace}/{name} in {secrets:#?}"))
}

/// Whether `fleetgen check --no-drift` accepts the fleet at `root`, and what it said.
fn check(root: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_fleetgen"))
        .arg("-C")
        .arg(root)
        .args(["check", "--no-drift"])
        .env("NO_COLOR", "1")
        .output()
        .expect("fleetgen runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A Secret's `data`.
fn data(secret: &serde_json::Value) -> BTreeMap<String, String> {
    secret["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

/// Each key with the Flux post-build variable of its name as its value.
fn variables(keys: &[String]) -> BTreeMap<String, String> {
    keys.iter()
        .map(|key| (key.clone(), format!("${{{key}}}")))
        .collect()
}

/// os-edge has its own Flux and the fleet repo is private (`secretRef: fleet-repo-auth`, SSH):
/// the Secret its Flux needs is created by the manager's hand-over Kustomization, from a Secret
/// the operator creates on the manager, whose keys are the variables the hand-over fills in.
#[test]
fn a_cluster_with_its_own_flux_gets_the_fleet_repo_secret_from_its_manager() {
    let compiled = fleetgen::pipeline::compile(&fixture(), &[]).unwrap();
    let secrets = fleetgen::validate::needed_secrets(&compiled.fleet, &compiled.rendered).unwrap();
    let find = |cluster: &str, namespace: &str, name: &str| {
        secrets
            .iter()
            .find(|secret| {
                secret.cluster == cluster && secret.namespace == namespace && secret.name == name
            })
            .unwrap_or_else(|| panic!("no {cluster}:{namespace}/{name} in {secrets:#?}"))
    };
    let source = find("mgmt", "os-edge", "os-edge-flux-system");
    assert_eq!(source.provided_by, Provider::Operator);
    assert_eq!(source.keys, ["identity", "known_hosts"]);
    assert!(
        source.purpose.contains("base64-encoded"),
        "{}",
        source.purpose
    );
    let delivered = find("os-edge", "flux-system", "fleet-repo-auth");
    assert_eq!(delivered.provided_by, Provider::Manager);
    assert_eq!(
        delivered.referenced_by,
        [
            "main/clusters/os-edge/flux-system/gotk-sync.yaml:15 GitRepository flux-system/flux-system"
        ]
    );

    // The hand-over reads the operator's Secret, in its own namespace as Flux requires...
    let kustomizations = manager_kustomizations(&fixture());
    let (handover, _) = &kustomizations["os-edge/os-edge-flux"];
    assert_eq!(
        handover["spec"]["postBuild"]["substituteFrom"],
        serde_json::json!([{"kind": "Secret", "name": "os-edge-flux-system"}])
    );
    assert_eq!(handover["spec"]["path"], "./clusters/os-edge/flux-system");

    // ...and applies, from that folder, a Secret made of nothing but its keys as variables,
    // which the cluster's own Flux, applying the same file unsubstituted, leaves alone.
    let branches = &compiled.rendered.branches;
    let folder = "clusters/os-edge/flux-system";
    let kustomization = text(branches, "main", &format!("{folder}/kustomization.yaml")).unwrap();
    assert!(
        kustomization.contains("  - fleet-repo-secret.yaml\n"),
        "{kustomization}"
    );
    let template = text(
        branches,
        "main",
        &format!("{folder}/fleet-repo-secret.yaml"),
    )
    .unwrap();
    let secret: serde_norway::Value = serde_norway::from_str(&template).unwrap();
    assert_eq!(secret["metadata"]["name"].as_str(), Some("fleet-repo-auth"));
    assert_eq!(
        secret["metadata"]["namespace"].as_str(),
        Some("flux-system")
    );
    assert_eq!(
        secret["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"].as_str(),
        Some("IfNotPresent")
    );
    let data = secret["data"].as_mapping().unwrap();
    let variables: Vec<(String, String)> = data
        .iter()
        .map(|(key, value)| {
            let text = |value: &serde_norway::Value| value.as_str().unwrap().to_owned();
            (text(key), text(value))
        })
        .collect();
    let expected: Vec<(String, String)> = source
        .keys
        .iter()
        .map(|key| (key.clone(), format!("${{{key}}}")))
        .collect();
    assert_eq!(variables, expected);

    // An HTTPS fleet repo's Secret has a user and a password instead.
    let fleet = fixture_copy();
    let settings = fleet.path().join("fleet/fleet.yaml");
    replace_in(
        &settings,
        "url: ssh://git@git.example.com/platform/fleet",
        "url: https://git.example.com/platform/fleet",
    );
    let compiled = fleetgen::pipeline::compile(fleet.path(), &[]).unwrap();
    let template = text(
        &compiled.rendered.branches,
        "main",
        &format!("{folder}/fleet-repo-secret.yaml"),
    )
    .unwrap();
    assert!(
        template.ends_with("data:\n  username: ${username}\n  password: ${password}\n"),
        "{template}"
    );

    // A public fleet repo needs none of it.
    replace_in(&settings, "  secretRef: fleet-repo-auth\n", "");
    let compiled = fleetgen::pipeline::compile(fleet.path(), &[]).unwrap();
    let branches = &compiled.rendered.branches;
    assert_eq!(
        text(
            branches,
            "main",
            &format!("{folder}/fleet-repo-secret.yaml")
        ),
        None
    );
    let handover = text(branches, "main", "clusters/mgmt/capi/os-edge/flux.yaml").unwrap();
    assert!(!handover.contains("postBuild"), "{handover}");
    let secrets = fleetgen::validate::needed_secrets(&compiled.fleet, &compiled.rendered).unwrap();
    assert!(
        !secrets
            .iter()
            .any(|secret| secret.name == "os-edge-flux-system"),
        "{secrets:#?}"
    );
}

/// os-edge is in dev and, in this copy, in qa too. Each environment's GitRepository there reads
/// the fleet repo's Secret in its own namespace: before it installs Flux, the manager creates
/// each of them, with its namespace, from the same Secret on the manager.
#[test]
fn every_environment_of_a_cluster_with_its_own_flux_gets_the_fleet_repo_secret_from_its_manager() {
    let fleet = fixture_copy();
    let root = fleet.path();
    let qa = root.join("environments/qa");
    fs::create_dir_all(qa.join("clusters")).unwrap();
    fs::write(qa.join("environment.yaml"), "branch: qa\n").unwrap();
    fs::write(qa.join("clusters/os-edge.env"), "# os-edge is in qa.\n").unwrap();
    // The manager creates each namespace ahead of the cluster's own Flux: by design, not two
    // owners fighting.
    let (ok, stderr) = check(root);
    assert!(ok, "{stderr}");
    // What is left is Flux's own components, which the operator commits.
    assert!(
        stderr.contains("main/clusters/os-edge/flux-system/kustomization.yaml:8:1: warning: resources entry `gotk-components.yaml` is committed by hand on branch main, not rendered [operator-file]\n  hint: commit the output of `flux install --export --version=<the Flux version you run>` there"),
        "{stderr}"
    );

    // The Kustomization that creates them reaches the manager from its bootstrap path, waits
    // for the cluster, reads the operator's Secret beside it, and creates only what is absent...
    let kustomizations = manager_kustomizations(root);
    let (environments, via) = &kustomizations["os-edge/os-edge-flux-environments"];
    assert_eq!(via, "flux-system/flux-system");
    let spec = &environments["spec"];
    assert_eq!(spec["path"], "./clusters/os-edge/flux-system/environments");
    assert_eq!(
        spec["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}])
    );
    assert_eq!(
        spec["kubeConfig"]["secretRef"]["name"],
        "os-edge-kubeconfig"
    );
    assert_eq!(
        spec["postBuild"]["substituteFrom"],
        serde_json::json!([{"kind": "Secret", "name": "os-edge-flux-system"}])
    );
    assert_eq!(
        spec["commonMetadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"],
        "IfNotPresent"
    );
    // ...and Flux is installed once they are there.
    let (install, _) = &kustomizations["os-edge/os-edge-flux"];
    assert_eq!(
        install["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}, {"name": "os-edge-flux-environments"}])
    );

    // On os-edge, each environment's namespace gets the Secret, made of nothing but the keys
    // of the operator's Secret as variables, from the manager only: the cluster's own Flux
    // never applies it unsubstituted. The namespace is created by the manager too, and owned
    // by the cluster's Flux once it runs.
    let secrets = needed(root);
    let source = find(&secrets, "mgmt", "os-edge", "os-edge-flux-system");
    assert_eq!(source.provided_by, Provider::Operator);
    assert_eq!(source.keys, ["identity", "known_hosts"]);
    assert!(
        source
            .purpose
            .contains("os-edge-flux-environments write them into Secret fleet-repo-auth in flux-system, dev-flux-system, qa-flux-system on os-edge"),
        "{}",
        source.purpose
    );
    let on_edge = reaching(root, "os-edge");
    let appliers = |kind: &str, id: &str| -> BTreeSet<(String, String)> {
        on_edge
            .iter()
            .filter(|reached| reached.kind == kind && reached.id == id)
            .map(|reached| (reached.via.clone(), reached.via_cluster.clone()))
            .collect()
    };
    let manager = (
        "os-edge/os-edge-flux-environments".to_owned(),
        "mgmt".to_owned(),
    );
    let own = ("flux-system/flux-system".to_owned(), "os-edge".to_owned());
    for env in ["dev", "qa"] {
        let namespace = format!("{env}-flux-system");
        let id = format!("{namespace}/fleet-repo-auth");
        assert_eq!(appliers("Secret", &id), BTreeSet::from([manager.clone()]));
        let secret = on_edge
            .iter()
            .find(|reached| reached.kind == "Secret" && reached.id == id)
            .unwrap();
        assert_eq!(data(&secret.value), variables(&source.keys), "{id}");
        assert_eq!(
            appliers("Namespace", &format!("/{namespace}")),
            BTreeSet::from([manager.clone(), own.clone()])
        );

        // It is the Secret the environment's GitRepository reads, listed as the manager's.
        let listed = find(&secrets, "os-edge", &namespace, "fleet-repo-auth");
        assert_eq!(listed.provided_by, Provider::Manager, "{id}");
        assert_eq!(listed.keys, source.keys, "{id}");
        assert_eq!(
            listed.referenced_by,
            [format!(
                "main/clusters/os-edge/environments/{env}/gitrepository.yaml:14 GitRepository {namespace}/{namespace}"
            )]
        );
    }
    // Nothing is left for the operator to create on os-edge itself.
    let operators: Vec<&Secret> = secrets
        .iter()
        .filter(|secret| secret.cluster == "os-edge" && secret.provided_by == Provider::Operator)
        .collect();
    assert!(operators.is_empty(), "{operators:#?}");

    // An HTTPS fleet repo's Secrets have a user and a password instead.
    let settings = root.join("fleet/fleet.yaml");
    replace_in(
        &settings,
        "url: ssh://git@git.example.com/platform/fleet",
        "url: https://git.example.com/platform/fleet",
    );
    let https = ["username", "password"].map(str::to_owned);
    for reached in reaching(root, "os-edge")
        .iter()
        .filter(|reached| reached.kind == "Secret" && reached.via == manager.0)
    {
        assert_eq!(data(&reached.value), variables(&https), "{}", reached.id);
    }
    let secrets = needed(root);
    assert_eq!(
        find(&secrets, "os-edge", "qa-flux-system", "fleet-repo-auth").keys,
        https
    );

    // A public fleet repo needs none of it.
    replace_in(&settings, "  secretRef: fleet-repo-auth\n", "");
    let branches = common::capi::render(root);
    for path in [
        "clusters/mgmt/capi/os-edge/flux-environments.yaml",
        "clusters/os-edge/flux-system/environments/fleet-repo-secrets.yaml",
        "clusters/os-edge/flux-system/environments/kustomization.yaml",
    ] {
        assert_eq!(text(&branches, "main", path), None, "{path}");
    }
    let (install, _) = &manager_kustomizations(root)["os-edge/os-edge-flux"];
    assert_eq!(
        install["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}])
    );
    let delivered: Vec<Secret> = needed(root)
        .into_iter()
        .filter(|secret| secret.provided_by == Provider::Manager)
        .collect();
    assert!(delivered.is_empty(), "{delivered:#?}");
}

/// A cluster in no environment has no environment's Secret to receive: no Kustomization
/// waits for a folder that does not exist.
#[test]
fn a_cluster_with_its_own_flux_in_no_environment_gets_only_the_install_secret() {
    let fleet = fixture_copy();
    let root = fleet.path();
    fs::remove_file(root.join("environments/dev/clusters/os-edge.env")).unwrap();
    let branches = common::capi::render(root);
    assert_eq!(
        text(
            &branches,
            "main",
            "clusters/mgmt/capi/os-edge/flux-environments.yaml"
        ),
        None
    );
    let (install, _) = &manager_kustomizations(root)["os-edge/os-edge-flux"];
    assert_eq!(
        install["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}])
    );
    let secrets = needed(root);
    let source = find(&secrets, "mgmt", "os-edge", "os-edge-flux-system");
    assert!(
        source.purpose.contains(
            "the Kustomization os-edge-flux writes them into Secret fleet-repo-auth in flux-system on os-edge"
        ),
        "{}",
        source.purpose
    );
    assert!(
        secrets
            .iter()
            .all(|secret| secret.cluster != "os-edge" || secret.namespace == "flux-system"),
        "{secrets:#?}"
    );
}

/// Only a namespace may have both the manager and the cluster's own Flux as appliers: a Secret
/// the cluster's Flux applies too (here from a fleet blueprint) is two owners fighting.
#[test]
fn the_environments_secret_applied_by_the_cluster_itself_too_is_two_owners() {
    let fleet = fixture_copy();
    let root = fleet.path();
    add_blueprint(
        root,
        "repo-secret",
        "description: The fleet repo's Secret again, from the environment's folder.\nscope: environment\nwhen: cluster.name == \"os-edge\"\ntarget: clusters/{{ cluster.name }}/environments/{{ env.name }}\n",
        &[(
            "repo-secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fleet-repo-auth\n  namespace: {{ env.namespace }}\ndata:\n  identity: ${identity}\n",
        )],
    );
    let (ok, stderr) = check(root);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "error: Secret dev-flux-system/fleet-repo-auth reaches cluster os-edge twice"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Namespace dev-flux-system"), "{stderr}");
}

/// Makes tenant `shop` of the test fleet private, with `secretRef: shop-repo-auth`.
fn make_shop_private(root: &Path) {
    let file = root.join("fleet/tenants/shop.yaml");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("secretRef: shop-repo-auth\n");
    fs::write(file, text).unwrap();
}

/// Puts os-edge and tenant shop in a second environment, qa.
fn add_qa_with_shop(root: &Path) {
    let qa = root.join("environments/qa");
    fs::create_dir_all(qa.join("clusters")).unwrap();
    fs::create_dir_all(qa.join("tenants")).unwrap();
    fs::write(qa.join("environment.yaml"), "branch: qa\n").unwrap();
    fs::write(qa.join("clusters/os-edge.env"), "# os-edge is in qa.\n").unwrap();
    fs::write(
        qa.join("tenants/shop.yaml"),
        "# shop runs on os-edge in qa.\n",
    )
    .unwrap();
}

/// A private tenant only on a cluster without Flux that os-edge's Flux drives still has its
/// source on os-edge: os-edge's manager hands over its Secret for that environment too.
#[test]
fn a_private_tenant_only_on_a_cluster_os_edge_drives_gets_its_secret_from_the_manager() {
    let fleet = fixture_copy();
    let root = fleet.path();
    make_shop_private(root);
    fs::write(
        root.join("fleet/clusters/edge-small.env"),
        "PROVIDER=existing\nFLUX=remote\nMANAGED_BY=os-edge\nPOD_CIDR=10.90.0.0/16\nSERVICE_CIDR=10.91.0.0/16\n",
    )
    .unwrap();
    let qa = root.join("environments/qa");
    fs::create_dir_all(qa.join("clusters")).unwrap();
    fs::create_dir_all(qa.join("tenants")).unwrap();
    fs::write(qa.join("environment.yaml"), "branch: qa\n").unwrap();
    fs::write(qa.join("clusters/os-edge.env"), "").unwrap();
    fs::write(qa.join("clusters/edge-small.env"), "").unwrap();
    fs::write(qa.join("tenants/shop.yaml"), "clusters: [edge-small]\n").unwrap();
    let (ok, stderr) = check(root);
    assert!(ok, "{stderr}");

    let secrets = needed(root);
    let source = find(&secrets, "mgmt", "os-edge", "os-edge-flux-system");
    assert!(
        source.purpose.contains("in dev-shop, qa-shop on os-edge"),
        "{}",
        source.purpose
    );
}

/// The Secrets that reach os-edge through the manager's hand-over of its environments and
/// tenants: `namespace/name` with their data.
fn handed_over(root: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    reaching(root, "os-edge")
        .iter()
        .filter(|reached| {
            reached.kind == "Secret" && reached.via == "os-edge/os-edge-flux-environments"
        })
        .map(|reached| (reached.id.clone(), data(&reached.value)))
        .collect()
}

/// Tenant shop's repository is private and shop runs on os-edge, whose Flux the manager
/// installs: the GitRepository of each of shop's environments there reads `shop-repo-auth` in
/// the tenant's namespace, which nobody can create on a cluster that does not exist yet. The
/// manager creates it, with the namespace, before Flux is installed, from keys of the one
/// Secret the operator creates on the manager, under shop's own prefix.
#[test]
fn a_private_tenant_repo_on_a_cluster_with_its_own_flux_gets_its_secret_from_the_manager() {
    let fleet = fixture_copy();
    let root = fleet.path();
    make_shop_private(root);
    add_qa_with_shop(root);
    let (ok, stderr) = check(root);
    assert!(ok, "{stderr}");

    let secrets = needed(root);
    let source = find(&secrets, "mgmt", "os-edge", "os-edge-flux-system");
    assert_eq!(source.provided_by, Provider::Operator);
    assert_eq!(
        source.keys,
        [
            "identity",
            "known_hosts",
            "tenant_shop_username",
            "tenant_shop_password"
        ]
    );
    assert!(
        source.purpose.contains(
            "tenant shop's repository credentials as `tenant_shop_username`, `tenant_shop_password` (the keys `username`, `password` of its Secret shop-repo-auth, each value base64-encoded likewise), which the Kustomization os-edge-flux-environments writes into Secret shop-repo-auth in dev-shop, qa-shop on os-edge"
        ),
        "{}",
        source.purpose
    );

    // The Kustomization that creates them reads the operator's Secret beside it, waits for
    // the cluster, creates only what is absent, and Flux is installed after it: before any
    // tenant's Kustomization exists on os-edge.
    let kustomizations = manager_kustomizations(root);
    let (environments, _) = &kustomizations["os-edge/os-edge-flux-environments"];
    assert_eq!(
        environments["spec"]["postBuild"]["substituteFrom"],
        serde_json::json!([{"kind": "Secret", "name": "os-edge-flux-system"}])
    );
    assert_eq!(
        environments["spec"]["commonMetadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"],
        "IfNotPresent"
    );
    let (install, _) = &kustomizations["os-edge/os-edge-flux"];
    assert_eq!(
        install["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}, {"name": "os-edge-flux-environments"}])
    );

    // On os-edge, each environment's tenant namespace gets the Secret, from the manager only,
    // made of nothing but variables the operator's Secret holds.
    let on_edge = reaching(root, "os-edge");
    let appliers = |kind: &str, id: &str| -> BTreeSet<(String, String)> {
        on_edge
            .iter()
            .filter(|reached| reached.kind == kind && reached.id == id)
            .map(|reached| (reached.via.clone(), reached.via_cluster.clone()))
            .collect()
    };
    let manager = (
        "os-edge/os-edge-flux-environments".to_owned(),
        "mgmt".to_owned(),
    );
    for env in ["dev", "qa"] {
        let namespace = format!("{env}-shop");
        let id = format!("{namespace}/shop-repo-auth");
        assert_eq!(appliers("Secret", &id), BTreeSet::from([manager.clone()]));
        let secret = on_edge
            .iter()
            .find(|reached| reached.kind == "Secret" && reached.id == id)
            .unwrap();
        let data = data(&secret.value);
        assert_eq!(
            data,
            BTreeMap::from([
                ("username".to_owned(), "${tenant_shop_username}".to_owned()),
                ("password".to_owned(), "${tenant_shop_password}".to_owned()),
            ]),
            "{id}"
        );
        for value in data.values() {
            let variable = &value[2..value.len() - 1];
            assert!(source.keys.iter().any(|key| key == variable), "{variable}");
        }
        // The namespace is the manager's first, the cluster's own Flux's (its tenants
        // Kustomization) once it runs.
        assert_eq!(
            appliers("Namespace", &format!("/{namespace}")),
            BTreeSet::from([
                manager.clone(),
                (format!("{env}-flux-system/tenants"), "os-edge".to_owned())
            ])
        );

        // It is the Secret the tenant's GitRepository reads, listed as the manager's.
        let listed = find(&secrets, "os-edge", &namespace, "shop-repo-auth");
        assert_eq!(listed.provided_by, Provider::Manager, "{id}");
        assert_eq!(listed.keys, ["username", "password"], "{id}");
        assert_eq!(
            listed.referenced_by,
            [format!(
                "{env}/tenants/os-edge/shop/gitrepository.yaml:15 GitRepository {namespace}/shop-manifests"
            )]
        );
    }
    // Nothing is left for the operator to create on os-edge itself.
    let operators: Vec<&Secret> = secrets
        .iter()
        .filter(|secret| secret.cluster == "os-edge" && secret.provided_by == Provider::Operator)
        .collect();
    assert!(operators.is_empty(), "{operators:#?}");

    // An SSH tenant repository's Secret has a key and the host's keys instead.
    replace_in(
        &root.join("fleet/tenants/shop.yaml"),
        "repo: https://git.example.com/shop/deploy",
        "repo: ssh://git@git.example.com/shop/deploy",
    );
    let ssh = BTreeMap::from([
        ("identity".to_owned(), "${tenant_shop_identity}".to_owned()),
        (
            "known_hosts".to_owned(),
            "${tenant_shop_known_hosts}".to_owned(),
        ),
    ]);
    let delivered = handed_over(root);
    assert_eq!(delivered["dev-shop/shop-repo-auth"], ssh);
    assert_eq!(delivered["qa-shop/shop-repo-auth"], ssh);
    let secrets = needed(root);
    assert_eq!(
        find(&secrets, "mgmt", "os-edge", "os-edge-flux-system").keys,
        [
            "identity",
            "known_hosts",
            "tenant_shop_identity",
            "tenant_shop_known_hosts"
        ]
    );
    assert_eq!(
        find(&secrets, "os-edge", "qa-shop", "shop-repo-auth").keys,
        ["identity", "known_hosts"]
    );

    // A public tenant repository needs none of it.
    replace_in(
        &root.join("fleet/tenants/shop.yaml"),
        "secretRef: shop-repo-auth\n",
        "",
    );
    let delivered = handed_over(root);
    assert_eq!(
        delivered.keys().collect::<Vec<_>>(),
        [
            "dev-flux-system/fleet-repo-auth",
            "qa-flux-system/fleet-repo-auth"
        ]
    );
    let secrets = needed(root);
    assert_eq!(
        find(&secrets, "mgmt", "os-edge", "os-edge-flux-system").keys,
        ["identity", "known_hosts"]
    );
    assert!(
        !secrets.iter().any(|secret| secret.name == "shop-repo-auth"),
        "{secrets:#?}"
    );
}

/// With a public fleet repo, a private tenant repository alone makes the manager create the
/// tenant's Secret: the hand-over of the environments exists for it, the install substitutes
/// nothing, and the operator's Secret on the manager holds the tenant's keys only.
#[test]
fn a_private_tenant_repo_in_a_public_fleet_repo_gets_its_secret_from_the_manager() {
    let fleet = fixture_copy();
    let root = fleet.path();
    make_shop_private(root);
    replace_in(
        &root.join("fleet/fleet.yaml"),
        "  secretRef: fleet-repo-auth\n",
        "",
    );
    let (ok, stderr) = check(root);
    assert!(ok, "{stderr}");

    let kustomizations = manager_kustomizations(root);
    let (environments, via) = &kustomizations["os-edge/os-edge-flux-environments"];
    assert_eq!(via, "flux-system/flux-system");
    assert_eq!(
        environments["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}])
    );
    assert_eq!(
        environments["spec"]["postBuild"]["substituteFrom"],
        serde_json::json!([{"kind": "Secret", "name": "os-edge-flux-system"}])
    );
    let (install, _) = &kustomizations["os-edge/os-edge-flux"];
    assert_eq!(
        install["spec"]["dependsOn"],
        serde_json::json!([{"name": "os-edge-cluster"}, {"name": "os-edge-flux-environments"}])
    );
    assert!(install["spec"].get("postBuild").is_none(), "{install:#}");

    let delivered = handed_over(root);
    assert_eq!(
        delivered.keys().collect::<Vec<_>>(),
        ["dev-shop/shop-repo-auth"]
    );
    let secrets = needed(root);
    let source = find(&secrets, "mgmt", "os-edge", "os-edge-flux-system");
    assert_eq!(
        source.keys,
        ["tenant_shop_username", "tenant_shop_password"]
    );
    assert!(
        source
            .purpose
            .starts_with("tenant shop's repository credentials"),
        "{}",
        source.purpose
    );
    assert_eq!(
        variables(&source.keys)
            .into_values()
            .collect::<BTreeSet<_>>(),
        delivered["dev-shop/shop-repo-auth"]
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        find(&secrets, "os-edge", "dev-shop", "shop-repo-auth").provided_by,
        Provider::Manager
    );
    let operators: Vec<&Secret> = secrets
        .iter()
        .filter(|secret| secret.cluster == "os-edge" && secret.provided_by == Provider::Operator)
        .collect();
    assert!(operators.is_empty(), "{operators:#?}");
}

/// A tenant's name may hold `-`, which a Flux variable name may not: it becomes `_`, and two
/// private tenants on one cluster keep keys of their own.
#[test]
fn private_tenants_on_a_cluster_with_its_own_flux_keep_keys_of_their_own() {
    let fleet = fixture_copy();
    let root = fleet.path();
    make_shop_private(root);
    fs::write(
        root.join("fleet/tenants/web-shop.yaml"),
        "repo: ssh://git@git.example.com/web/deploy\nsecretRef: web-repo-auth\napps:\n  - front\n",
    )
    .unwrap();
    fs::write(
        root.join("environments/dev/tenants/web-shop.yaml"),
        "clusters:\n  - os-edge\n",
    )
    .unwrap();
    let (ok, stderr) = check(root);
    assert!(ok, "{stderr}");
    let secrets = needed(root);
    assert_eq!(
        find(&secrets, "mgmt", "os-edge", "os-edge-flux-system").keys,
        [
            "identity",
            "known_hosts",
            "tenant_shop_username",
            "tenant_shop_password",
            "tenant_web_shop_identity",
            "tenant_web_shop_known_hosts"
        ]
    );
    let delivered = handed_over(root);
    assert_eq!(
        delivered["dev-web-shop/web-repo-auth"],
        BTreeMap::from([
            (
                "identity".to_owned(),
                "${tenant_web_shop_identity}".to_owned()
            ),
            (
                "known_hosts".to_owned(),
                "${tenant_web_shop_known_hosts}".to_owned()
            ),
        ])
    );

    // A private tenant that does not run on os-edge has nothing handed over there.
    fs::write(
        root.join("environments/dev/tenants/web-shop.yaml"),
        "clusters:\n  - mgmt\n",
    )
    .unwrap();
    assert!(!handed_over(root).contains_key("dev-web-shop/web-repo-auth"));
    let secrets = needed(root);
    assert_eq!(
        find(&secrets, "mgmt", "os-edge", "os-edge-flux-system").keys,
        [
            "identity",
            "known_hosts",
            "tenant_shop_username",
            "tenant_shop_password"
        ]
    );
    assert_eq!(
        find(&secrets, "mgmt", "dev-web-shop", "web-repo-auth").provided_by,
        Provider::Operator
    );
}
