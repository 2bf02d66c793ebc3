//! `init` and `init-environment`, run as a user would: first, a second time (nothing to do), as
//! a dry run (nothing written) and with bad arguments (nothing written, exit 1).

mod common;

use std::fs;

use common::example_fleet;
use common::scaffold::{assert_renders, first_dry_second, ok, read, refused, run};
use fleetgen::pipeline;

// --- init -------------------------------------------------------------------------------

#[test]
fn init_creates_a_fleet_source_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fleet-source");
    let target = root.to_str().unwrap();
    let cwd = dir.path();

    let dry = run(cwd, &["init", target, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("+++ b/fleet/fleet.yaml"));
    assert!(!root.exists(), "the dry run created the folder");

    let stderr = ok(
        cwd,
        &["init", target, "--repo", "https://example.com/org/fleet"],
    );
    insta::assert_snapshot!("init_first_run", stderr.replace(target, "[DIR]"));
    assert_renders(&root);
    let fleet = read(&root, "fleet/fleet.yaml");
    assert!(fleet.contains("url: https://example.com/org/fleet"));
    assert!(fleet.starts_with('#'), "fleet.yaml explains itself");
    assert!(read(&root, "environments/dev/environment.yaml").contains("branch: dev"));
    assert!(read(&root, "justfile").contains("fleetgen check"));
    assert!(read(&root, ".github/workflows/fleet.yaml").contains("fleetgen check"));
    assert!(
        !root.join("blueprints").exists(),
        "blueprints only when asked"
    );

    let second = ok(cwd, &["init", target]);
    assert!(second.starts_with("nothing to do"), "{second}");

    ok(cwd, &["init", target, "--with-blueprints"]);
    assert!(root.join("blueprints/tenant-app/blueprint.yaml").is_file());
    assert_renders(&root);
}

#[test]
fn init_without_a_repo_leaves_a_placeholder_that_render_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = ok(dir.path(), &["init"]);
    assert!(
        stderr.contains("fleet/fleet.yaml:9:3: fill in repo.url"),
        "{stderr}"
    );
    let render = run(dir.path(), &["render"]);
    assert_eq!(render.code, 1);
    assert!(
        render
            .stderr
            .contains("fleet/fleet.yaml:9:3: error: fill in repo.url [fill-in]"),
        "{}",
        render.stderr
    );
}

#[test]
fn init_refuses_a_folder_with_other_files_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README.md"), "mine\n").unwrap();
    fs::write(dir.path().join("justfile"), "mine:\n").unwrap();
    let stderr = refused(dir.path(), &["init"]);
    assert!(stderr.contains("is not empty [not-empty]"), "{stderr}");
    assert!(!dir.path().join("fleet").exists());

    let stderr = ok(
        dir.path(),
        &["init", "--force", "--repo", "https://example.com/f"],
    );
    assert!(
        stderr.contains("note: kept the existing justfile"),
        "{stderr}"
    );
    assert_eq!(read(dir.path(), "justfile"), "mine:\n");
    assert_eq!(read(dir.path(), "README.md"), "mine\n");
    assert_renders(dir.path());
}

// --- init-environment -------------------------------------------------------------------

#[test]
fn init_environment_first_second_and_dry_run() {
    let fleet = example_fleet();
    let root = fleet.path();
    first_dry_second(
        root,
        &["init-environment", "prod", "--set", "REDIS_REPLICAS=3"],
    );
    let file = read(root, "environments/prod/environment.yaml");
    assert!(file.contains("branch: prod\n"), "{file}");
    assert!(file.contains("values:\n  REDIS_REPLICAS: 3\n"), "{file}");
}

#[test]
fn init_environment_copies_memberships_from_another() {
    let fleet = example_fleet();
    let root = fleet.path();
    first_dry_second(root, &["init-environment", "staging", "--from", "qa"]);
    // The same facts, under comments that name the new environment.
    let america = read(root, "environments/staging/clusters/k3d-america.env");
    assert!(
        america.starts_with("# k3d-america is a member of the staging environment"),
        "{america}"
    );
    assert!(america.ends_with("\nREDIS_REPLICAS=2\n"), "{america}");
    let yakuza = read(root, "environments/staging/tenants/yakuza.yaml");
    assert!(
        yakuza.starts_with("# yakuza is in the staging environment."),
        "{yakuza}"
    );
    assert!(
        yakuza.ends_with("\nbranch: release\napps:\n  - api\n"),
        "{yakuza}"
    );
    assert!(
        root.join("environments/staging/tenants/kaizentm.yaml")
            .is_file()
    );
    assert!(
        !root
            .join("environments/staging/clusters/k3s-america-south.env")
            .exists()
    );
    let compiled = pipeline::compile(root, &[]).unwrap();
    let staging = &compiled.rendered.branches.trees["staging"];
    let qa = &compiled.rendered.branches.trees["qa"];
    assert_eq!(staging.len(), qa.len(), "staging renders what qa renders");
}

#[test]
fn init_environment_adds_missing_values_to_an_existing_one_and_refuses_changes() {
    let fleet = example_fleet();
    let root = fleet.path();
    let before = read(root, "environments/qa/environment.yaml");
    first_dry_second(
        root,
        &["init-environment", "qa", "--set", "REDIS_MAX_MEMORY=256mb"],
    );
    assert_eq!(
        read(root, "environments/qa/environment.yaml"),
        format!("{before}values:\n  REDIS_MAX_MEMORY: 256mb\n"),
        "the file is only appended to"
    );
    let stderr = refused(
        root,
        &["init-environment", "dev", "--set", "REDIS_MAX_MEMORY=1gb"],
    );
    insta::assert_snapshot!("init_environment_conflicting_value", stderr);
}

#[test]
fn init_environment_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(root, &["init-environment", "prod", "--from", "qaa"]);
    assert!(stderr.contains("no environment `qaa`"), "{stderr}");
    assert!(stderr.contains("hint: did you mean qa?"), "{stderr}");
    let stderr = refused(root, &["init-environment", "team/prod"]);
    assert!(stderr.contains("contains a path separator"), "{stderr}");
    let stderr = refused(
        root,
        &["init-environment", "prod", "--set", "POD_CIDR=10.0.0.0/8"],
    );
    assert!(
        stderr.contains("POD_CIDR cannot differ between environments"),
        "{stderr}"
    );
    let stderr = refused(root, &["init-environment", "prod", "--branch", "main"]);
    assert!(stderr.contains("uses the main branch"), "{stderr}");
}
