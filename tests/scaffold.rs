//! The scaffolding commands, run as a user would: each one first, a second time (nothing to
//! do), as a dry run (nothing written), with bad arguments (nothing written, exit 1), and the
//! removals refused while something depends on what they remove. The last test builds the whole
//! example fleet from an empty folder with these commands only and renders exactly the trees
//! of the committed example.

mod common;

use std::fs;
use std::path::Path;

use common::{copy_dir, example_fleet, fleetgen, repo_root};
use fleetgen::pipeline;

/// What a command printed, and how it exited.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(root: &Path, args: &[&str]) -> Run {
    let output = fleetgen(root).args(args).output().expect("run fleetgen");
    let run = Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "fleetgen panicked:\n{}",
        run.stderr
    );
    run
}

/// Runs a command that must succeed and returns its stderr.
fn ok(root: &Path, args: &[&str]) -> String {
    let run = run(root, args);
    assert_eq!(
        run.code,
        0,
        "fleetgen {} failed:\n{}",
        args.join(" "),
        run.stderr
    );
    run.stderr
}

/// Runs a command that must be refused; checks nothing was written and returns its stderr.
fn refused(root: &Path, args: &[&str]) -> String {
    let before = source_snapshot(root);
    let run = run(root, args);
    assert_eq!(
        run.code,
        1,
        "fleetgen {} should fail with exit 1:\n{}",
        args.join(" "),
        run.stderr
    );
    assert_eq!(
        source_snapshot(root),
        before,
        "a refused command changed the fleet source"
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    run.stderr
}

/// The fleet source files (not the output), for before/after comparisons.
fn source_snapshot(root: &Path) -> String {
    let mut text = String::new();
    for folder in ["fleet", "environments", "blueprints"] {
        let dir = root.join(folder);
        if dir.exists() {
            text.push_str(&common::snapshot_dir(&dir).replace("=== ", &format!("=== {folder}/")));
        }
    }
    text
}

/// The fleet must load, render and pass `check` (without comparing with branches, which a
/// fleet under construction has not got yet) after every successful command.
fn assert_renders(root: &Path) {
    if let Err(error) = pipeline::compile(root, &[]) {
        panic!("the fleet does not render:\n{error}");
    }
    let check = run(root, &["check", "--no-drift"]);
    assert_eq!(
        check.code, 0,
        "check is not clean:\n{}{}",
        check.stdout, check.stderr
    );
}

/// Runs a command three times: as a dry run (prints a diff, writes nothing), for real, and
/// again (nothing to do, nothing written). Returns the real run's stderr.
fn first_dry_second(root: &Path, args: &[&str]) -> String {
    let before = source_snapshot(root);
    let mut dry_args = args.to_vec();
    dry_args.push("--dry-run");
    let dry = run(root, &dry_args);
    assert_eq!(dry.code, 0, "dry run failed:\n{}", dry.stderr);
    assert!(dry.stdout.starts_with("--- "), "no diff:\n{}", dry.stdout);
    assert!(dry.stderr.contains("dry run: nothing was written"));
    assert_eq!(source_snapshot(root), before, "the dry run wrote files");

    let first = ok(root, args);
    assert_ne!(source_snapshot(root), before, "the command changed nothing");
    assert_renders(root);

    let after_first = source_snapshot(root);
    let second = ok(root, args);
    assert!(
        second.starts_with("nothing to do"),
        "second run of {}:\n{second}",
        args.join(" ")
    );
    assert_eq!(
        source_snapshot(root),
        after_first,
        "the second run changed files"
    );
    first
}

/// `file:line:column` of the value of `key` in a dotenv file, as the loader reports it.
fn value_location(root: &Path, file: &str, key: &str) -> String {
    let text = read(root, file);
    let prefix = format!("{key}=");
    let index = text
        .lines()
        .position(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{key} is not set in {file}"));
    format!("{file}:{}:{}", index + 1, prefix.len() + 1)
}

fn read(root: &Path, file: &str) -> String {
    fs::read_to_string(root.join(file)).unwrap_or_else(|_| panic!("{file} is missing"))
}

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

// --- add-cluster ------------------------------------------------------------------------

#[test]
fn add_cluster_first_second_and_dry_run() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(
        root,
        &[
            "add-cluster",
            "k3d-apac",
            "--provider",
            "existing",
            "--env",
            "dev",
            "--set",
            "POD_CIDR=10.82.0.0/16",
            "--env-set",
            "dev:REDIS_REPLICAS=2",
        ],
    );
    insta::assert_snapshot!("add_cluster_first_run", stderr);
    let file = read(root, "fleet/clusters/k3d-apac.env");
    assert!(file.contains("\nPOD_CIDR=10.82.0.0/16\n"), "{file}");
    assert!(file.contains("\n# SERVICE_CIDR=\n"), "{file}");
    assert!(read(root, "environments/dev/clusters/k3d-apac.env").ends_with("\nREDIS_REPLICAS=2\n"));
    let compiled = pipeline::compile(root, &[]).unwrap();
    assert!(compiled.rendered.branches.trees["dev"].contains("clusters/k3d-apac/tenants.yaml"));
}

#[test]
fn add_cluster_joins_an_existing_cluster_to_another_environment() {
    let fleet = example_fleet();
    let root = fleet.path();
    let cluster_file = read(root, "fleet/clusters/k3s-america-south.env");
    // Its manager, k3d-america, is in qa too, as a remote cluster's manager must be.
    first_dry_second(
        root,
        &[
            "add-cluster",
            "k3s-america-south",
            "--provider",
            "existing",
            "--env",
            "qa",
        ],
    );
    assert_eq!(
        read(root, "fleet/clusters/k3s-america-south.env"),
        cluster_file
    );
    assert!(
        root.join("environments/qa/clusters/k3s-america-south.env")
            .is_file()
    );
}

#[test]
fn add_cluster_with_a_cluster_api_provider_leaves_placeholders() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-america",
            "--set",
            "POD_CIDR=10.100.0.0/16",
        ],
    );
    insta::assert_snapshot!("add_cluster_aws_placeholders", stderr);
    let file = read(root, "fleet/clusters/aws-1.env");
    insta::assert_snapshot!("add_cluster_aws_file", file);
    for key in [
        "KUBERNETES_VERSION",
        "SERVICE_CIDR",
        "AWS_REGION",
        "AWS_SSH_KEY_NAME",
        "AWS_CONTROL_PLANE_MACHINE_TYPE",
        "AWS_NODE_MACHINE_TYPE",
        "AWS_AMI_ID",
        "NODE_CIDR",
    ] {
        assert!(
            file.contains(&format!("\n{key}=<FILL-IN>\n")),
            "{key}:\n{file}"
        );
    }

    let render = run(root, &["render"]);
    assert_eq!(render.code, 1);
    let expected = format!(
        "{}: error: fill in AWS_REGION [fill-in]",
        value_location(root, "fleet/clusters/aws-1.env", "AWS_REGION")
    );
    assert!(render.stderr.contains(&expected), "{}", render.stderr);

    // Placeholders can be filled with the same command; a real value is never overwritten.
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
            "--set",
            "SERVICE_CIDR=10.101.0.0/16",
            "--set",
            "AWS_REGION=eu-west-1",
            "--set",
            "AWS_SSH_KEY_NAME=ops",
            "--set",
            "AWS_CONTROL_PLANE_MACHINE_TYPE=t3.large",
            "--set",
            "AWS_NODE_MACHINE_TYPE=m6i.large",
            "--set",
            "NODE_CIDR=10.102.0.0/16",
            "--set",
            "AWS_AMI_ID=ami-0123456789abcdef0",
        ],
    );
    assert_renders(root);
    let stderr = refused(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "AWS_REGION=us-east-1",
        ],
    );
    assert!(
        stderr.contains("AWS_REGION is already set to `eu-west-1`"),
        "{stderr}"
    );
}

#[test]
fn add_cluster_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-amerika",
        ],
    );
    insta::assert_snapshot!("add_cluster_unknown_manager", stderr);

    let stderr = refused(root, &["add-cluster", "team/a", "--provider", "existing"]);
    assert!(
        stderr.contains("cluster name `team/a` is not valid: it contains a path separator"),
        "{stderr}"
    );

    let stderr = refused(root, &["add-cluster", "k3d-emea", "--provider", "docker"]);
    insta::assert_snapshot!("add_cluster_duplicate", stderr);

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "k3d-emea",
            "--provider",
            "existing",
            "--set",
            "POD_CIDR=10.99.0.0/16",
        ],
    );
    assert!(
        stderr.contains("POD_CIDR is already set to `10.52.0.0/16`"),
        "{stderr}"
    );

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--env",
            "prd",
        ],
    );
    assert!(stderr.contains("no environment `prd`"), "{stderr}");

    let stderr = refused(root, &["add-cluster", "aws-1", "--provider", "aws"]);
    assert!(stderr.contains("pass --managed-by"), "{stderr}");

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--set",
            "POD_CIDR=10.42.0.0/16",
        ],
    );
    assert!(
        stderr.contains("overlaps k3d-america's POD_CIDR"),
        "{stderr}"
    );

    let stderr = refused(
        root,
        &[
            "add-cluster",
            "new",
            "--provider",
            "existing",
            "--set",
            "NODE_CDIR=10.0.0.0/24",
        ],
    );
    assert!(stderr.contains("unknown key NODE_CDIR"), "{stderr}");

    let usage = run(root, &["add-cluster", "new", "--provider", "gcp"]);
    assert_eq!(usage.code, 2, "an impossible provider is a usage error");
}

// --- add-remote-cluster -----------------------------------------------------------------

#[test]
fn add_remote_cluster_prints_the_secrets_to_create() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = first_dry_second(
        root,
        &[
            "add-remote-cluster",
            "k3s-emea-north",
            "--managed-by",
            "k3d-emea",
            "--env",
            "dev",
        ],
    );
    insta::assert_snapshot!("add_remote_cluster_first_run", stderr);
    // yakuza is not on every dev cluster, so its namespace needs no copy.
    assert!(!stderr.contains("dev-yakuza/"), "{stderr}");
    for namespace in ["flux-system", "dev-flux-system", "dev-kaizentm"] {
        assert!(
            stderr.contains(&format!(
                "on k3d-emea: Secret {namespace}/k3s-emea-north-kubeconfig with key `value`"
            )),
            "{namespace}:\n{stderr}"
        );
    }
    let file = read(root, "fleet/clusters/k3s-emea-north.env");
    assert!(file.contains("\nFLUX=remote\n") && file.contains("\nMANAGED_BY=k3d-emea\n"));
}

#[test]
fn add_remote_cluster_refuses_bad_arguments() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3d-emia",
            "--env",
            "dev",
        ],
    );
    assert!(stderr.contains("no cluster `k3d-emia`"), "{stderr}");
    assert!(stderr.contains("did you mean k3d-emea?"), "{stderr}");

    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3s-america-south",
            "--env",
            "dev",
        ],
    );
    assert!(stderr.contains("has no Flux of its own"), "{stderr}");

    fs::remove_file(root.join("environments/qa/clusters/k3d-emea.env")).unwrap();
    let stderr = refused(
        root,
        &[
            "add-remote-cluster",
            "edge",
            "--managed-by",
            "k3d-emea",
            "--env",
            "qa",
        ],
    );
    assert!(
        stderr.contains("k3d-emea, whose Flux drives edge, is not in environment qa"),
        "{stderr}"
    );

    let usage = run(
        root,
        &["add-remote-cluster", "edge", "--managed-by", "k3d-emea"],
    );
    assert_eq!(usage.code, 2, "--env is required");
}

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

// --- the example fleet, from nothing ----------------------------------------------------

#[test]
fn the_example_fleet_can_be_built_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let step = |args: &[&str]| {
        ok(root, args);
        assert_renders(root);
    };
    step(&["init", "--repo", "https://github.com/example-org/fleet"]);

    // The fleet's own blueprints and key settings are its content, not scaffolding.
    copy_dir(&repo_root().join("blueprints"), &root.join("blueprints"));
    let example = read(&repo_root(), "fleet/fleet.yaml");
    let settings = &example[example.find("\ndefaults:").expect("example has defaults")..];
    let mut fleet_yaml = read(root, "fleet/fleet.yaml");
    fleet_yaml.push_str(settings);
    fs::write(root.join("fleet/fleet.yaml"), fleet_yaml).unwrap();
    assert_renders(root);

    step(&["init-environment", "dev", "--set", "REDIS_MAX_MEMORY=64mb"]);
    step(&["init-environment", "qa"]);
    step(&[
        "add-cluster",
        "k3d-america",
        "--provider",
        "existing",
        "--env",
        "dev",
        "--env",
        "qa",
        "--set",
        "POD_CIDR=10.42.0.0/16",
        "--set",
        "SERVICE_CIDR=10.43.0.0/16",
        "--set",
        "NGINX_HTTP_PORT=8080",
        "--env-set",
        "dev:REDIS_MAX_MEMORY=128mb",
        "--env-set",
        "qa:REDIS_REPLICAS=2",
    ]);
    step(&[
        "add-cluster",
        "k3d-emea",
        "--provider",
        "existing",
        "--env",
        "dev",
        "--env",
        "qa",
        "--set",
        "POD_CIDR=10.52.0.0/16",
        "--set",
        "SERVICE_CIDR=10.53.0.0/16",
    ]);
    step(&[
        "add-remote-cluster",
        "k3s-america-south",
        "--managed-by",
        "k3d-america",
        "--env",
        "dev",
        "--set",
        "POD_CIDR=10.62.0.0/16",
        "--set",
        "SERVICE_CIDR=10.63.0.0/16",
    ]);
    let kaizentm = "https://github.com/kaizentm/gitops-manifests";
    let yakuza = "https://github.com/yakuza/gitops-manifests";
    step(&[
        "add-tenant",
        "kaizentm",
        "--repo",
        kaizentm,
        "--role",
        "admin",
        "--env",
        "dev",
        "--app",
        "azure-vote",
    ]);
    step(&["add-tenant", "kaizentm", "--repo", kaizentm, "--env", "qa"]);
    step(&[
        "add-tenant",
        "yakuza",
        "--repo",
        yakuza,
        "--env",
        "dev",
        "--app",
        "api",
        "--cluster",
        "k3d-america",
        "--cluster",
        "k3d-emea",
    ]);
    step(&["add-app", "yakuza", "web", "--env", "dev"]);
    step(&[
        "add-tenant",
        "yakuza",
        "--repo",
        yakuza,
        "--env",
        "qa",
        "--app",
        "api",
        "--branch",
        "release",
    ]);

    // A Cluster API cluster comes with placeholders the fleet refuses until they are filled,
    // partly with the command, partly by hand. Removing it again leaves the example.
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--managed-by",
            "k3d-america",
            "--env",
            "dev",
        ],
    );
    let refused = pipeline::compile(root, &[]).expect_err("placeholders must be refused");
    let message = refused.to_string();
    let expected = format!(
        "{}: error: fill in KUBERNETES_VERSION [fill-in]",
        value_location(root, "fleet/clusters/aws-1.env", "KUBERNETES_VERSION")
    );
    assert!(message.contains(&expected), "{message}");
    ok(
        root,
        &[
            "add-cluster",
            "aws-1",
            "--provider",
            "aws",
            "--set",
            "POD_CIDR=10.100.0.0/16",
            "--set",
            "SERVICE_CIDR=10.101.0.0/16",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
        ],
    );
    let file = read(root, "fleet/clusters/aws-1.env")
        .replace("AWS_REGION=<FILL-IN>", "AWS_REGION=eu-west-1")
        .replace("AWS_SSH_KEY_NAME=<FILL-IN>", "AWS_SSH_KEY_NAME=ops")
        .replace(
            "AWS_CONTROL_PLANE_MACHINE_TYPE=<FILL-IN>",
            "AWS_CONTROL_PLANE_MACHINE_TYPE=t3.large",
        )
        .replace(
            "AWS_NODE_MACHINE_TYPE=<FILL-IN>",
            "AWS_NODE_MACHINE_TYPE=m6i.large",
        )
        .replace("NODE_CIDR=<FILL-IN>", "NODE_CIDR=10.102.0.0/16")
        .replace("AWS_AMI_ID=<FILL-IN>", "AWS_AMI_ID=ami-0123456789abcdef0");
    fs::write(root.join("fleet/clusters/aws-1.env"), file).unwrap();
    assert_renders(root);
    step(&["remove-cluster", "aws-1"]);

    let built = pipeline::compile(root, &[]).unwrap().rendered.branches;
    let example = pipeline::compile(&repo_root(), &[])
        .unwrap()
        .rendered
        .branches;
    assert_eq!(
        built.trees.keys().collect::<Vec<_>>(),
        example.trees.keys().collect::<Vec<_>>()
    );
    for (branch, tree) in example.iter() {
        assert_eq!(
            common::tree_text(&built.trees[branch]),
            common::tree_text(tree),
            "branch {branch} differs"
        );
    }
    assert_eq!(built, example);
}

/// A Cluster API cluster driven by its manager's Flux uses the kubeconfig Secret that Cluster
/// API writes in the cluster's namespace: the operator has nothing to create. The list used to
/// be derived from naming conventions and asked for copies in flux-system and
/// <env>-flux-system, which nothing reads.
#[test]
fn a_remote_cluster_api_cluster_needs_no_kubeconfig_secret_from_the_operator() {
    let fleet = example_fleet();
    let root = fleet.path();
    let stderr = ok(
        root,
        &[
            "add-cluster",
            "ci-1",
            "--provider",
            "docker",
            "--managed-by",
            "k3d-america",
            "--flux",
            "remote",
            "--env",
            "dev",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
            "--set",
            "POD_CIDR=10.70.0.0/16",
            "--set",
            "SERVICE_CIDR=10.71.0.0/16",
        ],
    );
    assert!(!stderr.contains("ci-1-kubeconfig with key"), "{stderr}");
    assert_renders(root);
}

/// A Cluster API cluster with its own Flux needs the private fleet repo's Secret before its
/// Flux can fetch anything, and the cluster does not exist yet when the operator reads this
/// list: the Secret to create is the one on the manager that the hand-over copies from, not
/// one on the new cluster.
#[test]
fn a_cluster_api_cluster_with_its_own_flux_gets_the_fleet_repo_secret_from_its_manager() {
    let fleet = example_fleet();
    let root = fleet.path();
    let settings = read(root, "fleet/fleet.yaml").replace(
        "  # secretRef: fleet-repo-auth",
        "  secretRef: fleet-repo-auth",
    );
    fs::write(root.join("fleet/fleet.yaml"), settings).unwrap();
    let stderr = ok(
        root,
        &[
            "add-cluster",
            "ci-1",
            "--provider",
            "docker",
            "--managed-by",
            "k3d-america",
            "--flux",
            "local",
            "--env",
            "dev",
            "--set",
            "KUBERNETES_VERSION=v1.33.1",
            "--set",
            "POD_CIDR=10.70.0.0/16",
            "--set",
            "SERVICE_CIDR=10.71.0.0/16",
        ],
    );
    assert!(
        stderr.contains(
            "on k3d-america: Secret ci-1/ci-1-flux-system with keys `username`, `password`: the fleet repo's credentials for ci-1's own Flux"
        ),
        "{stderr}"
    );
    // The manager creates the Secret in each of its environments' namespaces too: nothing is
    // to be created on ci-1 itself, which does not exist yet.
    assert!(
        stderr.contains(
            "the Kustomizations ci-1-flux and ci-1-flux-environments write them into Secret fleet-repo-auth in flux-system, dev-flux-system on ci-1\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("on ci-1:"), "{stderr}");
    // What the operator still does: Flux's own components, and a manager that can run CAPD.
    assert!(
        stderr.contains(
            "next: commit clusters/ci-1/flux-system/gotk-components.yaml on the main branch, the Flux that k3d-america installs into ci-1: flux install --export --version="
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("its CAPD needs the Docker socket of the node it runs on")
            && stderr.contains("the Docker network `kind`"),
        "{stderr}"
    );
}
