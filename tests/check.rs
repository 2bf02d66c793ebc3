//! `fleetgen check` with the upstream schemas it embeds: no flag, no configuration.

mod common;

use std::fs;
use std::path::Path;

use common::{add_blueprint, example_fleet, fleetgen};

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
        1,
        "one for the template, not one per cluster: {findings:#}"
    );
    assert_eq!(
        schema[0]["file"],
        "main/infra/k3d-america/monitoring/sync.yaml"
    );
    assert_eq!(
        schema[0]["also"],
        serde_json::json!({
            "template": "blueprints/monitoring/files/sync.yaml",
            "locations": [
                {"file": "main/infra/k3d-emea/monitoring/sync.yaml", "line": 10, "column": 1},
            ],
        }),
        "the other cluster's file, in full"
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

/// The redis blueprint renders `service.yaml` for every cluster of each environment: five files
/// on two branches, whose Services are named after their environment.
const SERVICE: &str = "blueprints/redis/files/service.yaml";

/// Misspells a field of the Service `file` writes, as a template author might.
fn misspell(root: &Path, file: &str) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("spec:\n", "spec:\n  sessionAffinityy: None\n"),
    )
    .unwrap();
}

fn stderr_of(root: &Path, args: &[&str]) -> (i32, String) {
    let output = fleetgen(root).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_mistake_in_a_template_is_one_finding_however_many_files_it_renders() {
    let fleet = example_fleet();
    let root = fleet.path();
    misspell(root, SERVICE);
    let (code, stderr) = stderr_of(root, &["check", "--no-drift"]);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("template_mistake_check", stderr);
    assert_eq!(stderr.matches("[schema]").count(), 1, "{stderr}");

    // The gate of `render` is the same validation: it refuses with the same one finding.
    let (code, refused) = stderr_of(root, &["render"]);
    assert_eq!(code, 1, "{refused}");
    let finding = stderr.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(refused.contains(&finding), "{refused}");
    assert_eq!(refused.matches("[schema]").count(), 1, "{refused}");
    assert!(!root.join("out").exists(), "nothing was written");

    let (code, findings) = check_json(root);
    assert_eq!(code, 1);
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let files: Vec<&str> = findings[0]["also"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|location| location["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "dev/infra/k3d-emea/redis/service.yaml",
            "dev/infra/k3s-america-south/redis/service.yaml",
            "qa/infra/k3d-america/redis/service.yaml",
            "qa/infra/k3d-emea/redis/service.yaml",
        ],
        "every other file, in natural order"
    );
    assert_eq!(findings[0]["also"]["template"], SERVICE);
}

#[test]
fn two_templates_with_the_same_mistake_stay_two_findings() {
    let fleet = example_fleet();
    let root = fleet.path();
    // A second blueprint writing the same Service under another name beside redis: the same
    // mistake at the same line, another template to fix.
    let service = fs::read_to_string(root.join(SERVICE)).unwrap();
    add_blueprint(
        root,
        "cache",
        "scope: environment-cluster\ntarget: infra/{{ cluster.name }}/cache\n",
        &[(
            "service.yaml",
            &service.replacen("  name: redis\n", "  name: cache\n", 1),
        )],
    );
    misspell(root, SERVICE);
    misspell(root, "blueprints/cache/files/service.yaml");
    let (code, findings) = check_json(root);
    assert_eq!(code, 1, "{findings:#}");
    let folded: Vec<(&str, &str, usize)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["file"].as_str().unwrap(),
                finding["also"]["template"].as_str().unwrap(),
                finding["also"]["locations"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        folded,
        [
            (
                "dev/infra/k3d-america/cache/service.yaml",
                "blueprints/cache/files/service.yaml",
                4
            ),
            ("dev/infra/k3d-america/redis/service.yaml", SERVICE, 4),
        ],
        "{findings:#}"
    );
    let mistake = |finding: &serde_json::Value| {
        let message = finding["message"].as_str().unwrap();
        message.split_once(": ").unwrap().1.to_owned()
    };
    assert_eq!(mistake(&findings[0]), mistake(&findings[1]));
}

/// A blueprint whose target no Kustomization reaches misses on every cluster and environment:
/// one finding at its first file, listing the others, and none for the kustomization.yaml
/// render computed beside each of them.
#[test]
fn a_template_nothing_reaches_is_one_finding() {
    let fleet = example_fleet();
    let root = fleet.path();
    fs::create_dir_all(root.join("blueprints/unused/files")).unwrap();
    fs::write(
        root.join("blueprints/unused/blueprint.yaml"),
        "scope: environment-cluster\ntarget: unused/{{ cluster.name }}\n",
    )
    .unwrap();
    fs::write(
        root.join("blueprints/unused/files/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n  namespace: default\ndata:\n  a: b\n",
    )
    .unwrap();
    let (code, findings) = check_json(root);
    assert_eq!(code, 1);
    let findings = findings.as_array().unwrap();
    let unreachable: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|finding| finding["rule"] == "unreachable")
        .collect();
    assert_eq!(unreachable.len(), 1, "{findings:#?}");
    assert_eq!(unreachable[0]["file"], "dev/unused/k3d-america/cm.yaml");
    assert_eq!(
        unreachable[0]["also"]["template"],
        "blueprints/unused/files/cm.yaml"
    );
    assert_eq!(
        unreachable[0]["also"]["locations"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "{findings:#?}"
    );
}

/// An object applied into a namespace nothing on its cluster creates is a warning: Flux's
/// apply fails until the namespace exists, which may be made outside the fleet.
#[test]
fn a_namespace_nothing_creates_is_a_warning() {
    let fleet = example_fleet();
    let root = fleet.path();
    let replace = |file: &str, from: &str, to: &str| {
        let path = root.join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    replace(
        "blueprints/redis/files/deployment.yaml",
        "namespace: {{ env.name }}-redis",
        "namespace: {{ env.name }}-cache",
    );
    // helm-controller creates the namespace it installs into when asked to; a cluster-scoped
    // object's namespace is ignored.
    replace(
        "blueprints/nginx/files/release.yaml",
        "  install:\n",
        "  targetNamespace: ingress\n  install:\n    createNamespace: true\n",
    );
    fs::write(
        root.join("blueprints/nginx/files/extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ingress\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: extra\n  namespace: nowhere\nrules: []\n",
    )
    .unwrap();
    // Flux's own namespace is on the clusters that run Flux, not on one its manager drives.
    fs::write(
        root.join("blueprints/redis/files/flux-settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ env.name }}-redis-settings\n  namespace: flux-system\n",
    )
    .unwrap();
    let (code, findings) = check_json(root);
    assert_eq!(code, 0, "{findings:#}");
    let warnings: Vec<(&str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            assert_eq!(finding["severity"], "warning", "{finding:#}");
            (
                finding["file"].as_str().unwrap(),
                finding["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "dev/infra/k3d-america/redis/deployment.yaml",
                "apps/v1 Deployment dev-cache/redis: nothing that reaches its cluster creates the namespace `dev-cache`; applying Kustomization dev-flux-system/infrastructure fails until it exists"
            ),
            (
                "dev/infra/k3s-america-south/redis/deployment.yaml",
                "apps/v1 Deployment dev-cache/redis: nothing that reaches its cluster creates the namespace `dev-cache`; applying Kustomization dev-flux-system/k3s-america-south-infrastructure fails until it exists"
            ),
            (
                "dev/infra/k3s-america-south/redis/flux-settings.yaml",
                "v1 ConfigMap flux-system/dev-redis-settings: nothing that reaches its cluster creates the namespace `flux-system`; applying Kustomization dev-flux-system/k3s-america-south-infrastructure fails until it exists"
            ),
            (
                "qa/infra/k3d-america/redis/deployment.yaml",
                "apps/v1 Deployment qa-cache/redis: nothing that reaches its cluster creates the namespace `qa-cache`; applying Kustomization qa-flux-system/infrastructure fails until it exists"
            ),
        ],
        "{findings:#}"
    );
}

/// A GitRepository of the fleet repo that names no revision tracks what source-controller
/// checks out then, `master`, not the fleet's main branch: a fleet without that branch is told
/// so at each Kustomization built from it, with the fix.
#[test]
fn a_fleet_source_without_a_ref_tracks_master() {
    let fleet = example_fleet();
    let root = fleet.path();
    let defaults =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("default-blueprints/flux-environment");
    common::copy_dir(&defaults, &root.join("blueprints/flux-environment"));
    let source = root.join("blueprints/flux-environment/files/gitrepository.yaml");
    let text = fs::read_to_string(&source).unwrap();
    let without = text.replace("  ref:\n    branch: {{ env.branch | quote }}\n", "");
    assert_ne!(without, text);
    fs::write(&source, without).unwrap();
    let (code, findings) = check_json(root);
    assert_eq!(code, 1, "{findings:#}");
    let missing: Vec<(&str, &str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["rule"] == "missing-path")
        .map(|finding| {
            (
                finding["file"].as_str().unwrap(),
                finding["message"].as_str().unwrap(),
                finding["hint"].as_str().unwrap(),
            )
        })
        .collect();
    let hint = "a GitRepository that names no revision (`spec.ref`) tracks `master`; set `spec.ref.branch`";
    assert_eq!(
        missing,
        [
            (
                "main/clusters/k3d-america/environments/dev/sync.yaml",
                "Kustomization dev-flux-system/dev-flux-system: its source tracks branch master, which the fleet does not have",
                hint
            ),
            (
                "main/clusters/k3d-america/environments/qa/sync.yaml",
                "Kustomization qa-flux-system/qa-flux-system: its source tracks branch master, which the fleet does not have",
                hint
            ),
        ],
        "{findings:#}"
    );
}
