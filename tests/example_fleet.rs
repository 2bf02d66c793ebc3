//! The example fleet of this repository, rendered: golden snapshots of every branch, the real
//! tools' verdict on them, and the write sink's behaviour on a second run.

mod common;

use std::fs;

use common::{example_fleet, fleetgen, repo_root, snapshot_dir, tree_text};
use fleetgen::pipeline;

#[test]
fn example_fleet_branches_match_snapshots() {
    let compiled = pipeline::compile(&repo_root(), &[]).expect("the example fleet compiles");
    let branches: Vec<&str> = compiled
        .rendered
        .branches
        .iter()
        .map(|(branch, _)| branch)
        .collect();
    assert_eq!(branches, ["dev", "main", "qa"]);
    for (branch, tree) in compiled.rendered.branches.iter() {
        insta::assert_snapshot!(format!("example_{branch}"), tree_text(tree));
    }
}

#[test]
fn rendering_is_deterministic() {
    let first = pipeline::compile(&repo_root(), &[])
        .unwrap()
        .rendered
        .branches;
    let second = pipeline::compile(&repo_root(), &[])
        .unwrap()
        .rendered
        .branches;
    assert_eq!(first, second);
}

#[test]
fn every_branch_passes_kustomize_build_and_schema_validation() {
    let Some(tools) = common::real_tools() else {
        return;
    };
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    for branch in ["main", "dev", "qa"] {
        let (passed, output) =
            common::build_and_validate(&tools, &fleet.path().join("out").join(branch));
        assert!(
            passed,
            "kustomize build or validation failed on {branch}:\n{output}"
        );
        assert!(
            output.contains(" passed, 0 failed"),
            "unexpected summary on {branch}:\n{output}"
        );
    }
}

#[test]
fn second_render_rewrites_nothing() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let before = snapshot_dir(&out);
    let times: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            (
                entry.path().to_path_buf(),
                entry.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    let assert = fleetgen(fleet.path()).arg("render").assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("0 added, 0 modified, 0 removed"),
        "{stderr}"
    );
    assert_eq!(snapshot_dir(&out), before);
    for (path, modified) in times {
        assert_eq!(
            fs::metadata(&path).unwrap().modified().unwrap(),
            modified,
            "{} was rewritten",
            path.display()
        );
    }
}

#[test]
fn hand_written_files_survive_and_hand_edits_are_refused() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let notes = out.join("main/infra/k3d-america/NOTES.md");
    fs::write(&notes, "runbook\n").unwrap();
    let extra = out.join("dev/infra/k3d-emea/extra.yaml");
    fs::write(&extra, "kind: ConfigMap\n").unwrap();
    fleetgen(fleet.path()).arg("render").assert().success();
    assert_eq!(fs::read_to_string(&notes).unwrap(), "runbook\n");
    assert_eq!(fs::read_to_string(&extra).unwrap(), "kind: ConfigMap\n");

    // A generated file edited by hand is not overwritten when its input changes...
    let release = out.join("main/infra/k3d-emea/nginx/release.yaml");
    let edited = fs::read_to_string(&release)
        .unwrap()
        .replace("retries: 3", "retries: 9");
    fs::write(&release, &edited).unwrap();
    let cluster = fleet.path().join("fleet/clusters/k3d-emea.env");
    fs::write(
        &cluster,
        fs::read_to_string(&cluster).unwrap() + "NGINX_HTTP_PORT=8081\n",
    )
    .unwrap();
    let before = snapshot_dir(&out);
    let assert = fleetgen(fleet.path()).arg("render").assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("refusing to overwrite generated files that were edited by hand"),
        "{stderr}"
    );
    assert!(
        stderr.contains("main/infra/k3d-emea/nginx/release.yaml"),
        "{stderr}"
    );
    assert_eq!(
        snapshot_dir(&out),
        before,
        "a refused render must not write anything"
    );

    // ...unless forced.
    fleetgen(fleet.path())
        .args(["render", "--force"])
        .assert()
        .success();
    let rendered = fs::read_to_string(&release).unwrap();
    assert!(
        rendered.contains("http: 8081") && rendered.contains("retries: 3"),
        "{rendered}"
    );
}

#[test]
fn stale_generated_files_are_pruned() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    fs::remove_file(fleet.path().join("environments/dev/tenants/yakuza.yaml")).unwrap();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out/dev");
    assert!(!out.join("tenants/k3d-america/yakuza").exists());
    let tenants = fs::read_to_string(out.join("tenants/k3d-america/kustomization.yaml")).unwrap();
    assert!(tenants.ends_with("resources:\n  - kaizentm\n"), "{tenants}");
    assert!(
        fleet
            .path()
            .join("out/qa/tenants/k3d-america/yakuza")
            .exists()
    );
}

#[test]
fn env_selection_renders_main_and_the_selected_branches() {
    let fleet = example_fleet();
    fleetgen(fleet.path())
        .args(["render", "--env", "qa"])
        .assert()
        .success();
    assert!(fleet.path().join("out/main").is_dir());
    assert!(fleet.path().join("out/qa").is_dir());
    assert!(!fleet.path().join("out/dev").exists());
}

#[test]
fn a_tenant_only_on_a_remote_cluster_is_driven_from_its_manager() {
    let fleet = example_fleet();
    fs::write(
        fleet.path().join("environments/dev/tenants/kaizentm.yaml"),
        "clusters: [k3s-america-south]\n",
    )
    .unwrap();
    let compiled = pipeline::compile(fleet.path(), &["dev".to_owned()]).unwrap();
    let dev = &compiled.rendered.branches.trees["dev"];
    let on_manager: Vec<&str> = dev
        .paths()
        .filter(|path| path.starts_with("tenants/k3d-america/kaizentm/"))
        .collect();
    assert_eq!(
        on_manager,
        [
            "tenants/k3d-america/kaizentm/apps/k3s-america-south-azure-vote.yaml",
            "tenants/k3d-america/kaizentm/apps/kustomization.yaml",
            "tenants/k3d-america/kaizentm/gitrepository.yaml",
            "tenants/k3d-america/kaizentm/kustomization.yaml",
            "tenants/k3d-america/kaizentm/namespace.yaml",
            "tenants/k3d-america/kaizentm/serviceaccount.yaml",
        ],
        "the manager gets the namespace, source, a role-less service account and the remote app; no RoleBinding"
    );
    let on_remote: Vec<&str> = dev
        .paths()
        .filter(|path| path.starts_with("tenants/k3s-america-south/kaizentm/"))
        .collect();
    assert_eq!(
        on_remote,
        [
            "tenants/k3s-america-south/kaizentm/kustomization.yaml",
            "tenants/k3s-america-south/kaizentm/namespace.yaml",
            "tenants/k3s-america-south/kaizentm/rolebinding.yaml",
            "tenants/k3s-america-south/kaizentm/serviceaccount.yaml",
        ]
    );
    assert!(
        !dev.paths()
            .any(|path| path.starts_with("tenants/k3d-emea/kaizentm/"))
    );
}
