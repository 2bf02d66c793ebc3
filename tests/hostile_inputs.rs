//! Hostile input is normal input: each case is what a pull request to the fleet source could
//! contain. A refused case exits 1 with a snapshot of the message and leaves the previous
//! output untouched; an accepted one renders values as data, never as YAML.

mod common;

use std::fs;
use std::path::Path;

use common::{add_blueprint, append, example_fleet, fleetgen, replace, write};

/// [`common::render_broken`], plus what hostile input must never do to the message: panic or
/// echo a megabyte.
fn render_broken(breakage: impl FnOnce(&Path)) -> String {
    let stderr = common::render_broken(breakage);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.len() < 8_000, "stderr is {} bytes", stderr.len());
    stderr
}

macro_rules! refused {
    ($name:ident, $breakage:expr) => {
        #[test]
        fn $name() {
            let stderr = render_broken($breakage);
            insta::assert_snapshot!(stringify!($name), stderr);
        }
    };
}

// Values are data, never YAML.

refused!(tenant_role_that_adds_a_document, |root| append(
    root,
    "environments/dev/clusters/k3d-emea.env",
    "TENANT_ROLE=\"admin\\n---\\napiVersion: rbac.authorization.k8s.io/v1\\nkind: ClusterRoleBinding\\nroleRef: {kind: ClusterRole, name: cluster-admin}\"\n"
));

refused!(tenant_role_that_adds_a_key, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "role: admin",
    "role: \"admin\\n  extra: field\""
));

refused!(tenant_role_cluster_admin, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "role: admin",
    "role: cluster-admin"
));

refused!(tenant_role_key_cluster_admin_in_defaults, |root| replace(
    root,
    "fleet/fleet.yaml",
    "  SYNC_INTERVAL: 10m\n",
    "  SYNC_INTERVAL: 10m\n  TENANT_ROLE: cluster-admin\n"
));

refused!(tenant_role_outside_the_allow_list, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "role: admin",
    "role: system:aggregate-to-admin"
));

refused!(cluster_admin_cannot_be_allowed, |root| append(
    root,
    "fleet/fleet.yaml",
    "tenantRoles: [admin, cluster-admin]\n"
));

refused!(text_value_with_a_line_break, |root| append(
    root,
    "environments/dev/clusters/k3d-emea.env",
    "REDIS_MAX_MEMORY=\"64mb\\nextra: field\"\n"
));

refused!(environment_branch_nested_in_main, |root| write(
    root,
    "environments/dev/environment.yaml",
    "branch: main/dev\n"
));

refused!(environment_branch_against_git_rules, |root| write(
    root,
    "environments/dev/environment.yaml",
    "branch: dev/.hidden\n"
));

// Names that become Secret names, namespaces, Flux variable names and paths (the Cluster API
// hand-over writes tenant names and secretRefs into the manager's Secret and into paths).

refused!(tenant_secret_ref_that_adds_a_document, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "role: admin",
    "role: admin\nsecretRef: \"kaizentm-git\\n---\\napiVersion: v1\\nkind: Secret\""
));

refused!(tenant_secret_ref_that_climbs_out, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "role: admin",
    "role: admin\nsecretRef: ../../etc/passwd"
));

refused!(tenant_named_as_an_absolute_path, |root| {
    for dir in ["fleet/tenants", "environments/dev/tenants"] {
        fs::rename(
            root.join(dir).join("kaizentm.yaml"),
            root.join(dir).join("%2Fetc.yaml"),
        )
        .unwrap();
    }
});

// Secrets and credentials.

refused!(credentials_in_the_fleet_repo_url, |root| replace(
    root,
    "fleet/fleet.yaml",
    "url: https://github.com/example-org/fleet",
    "url: https://user:ghp_token@github.com/example-org/fleet"
));

refused!(password_in_a_tenant_ssh_url, |root| replace(
    root,
    "fleet/tenants/kaizentm.yaml",
    "repo: https://github.com/kaizentm/gitops-manifests",
    "repo: ssh://git:hunter2@github.com/kaizentm/gitops-manifests"
));

refused!(plaintext_secret_from_a_blueprint, |root| write(
    root,
    "blueprints/redis/files/secret.yaml",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: redis-auth\n  namespace: {{ env.name }}-redis\nstringData:\n  password: hunter2\n"
));

// Inputs read safely.

refused!(duplicate_key_in_defaults, |root| replace(
    root,
    "fleet/fleet.yaml",
    "  SYNC_INTERVAL: 10m\n",
    "  SYNC_INTERVAL: 10m\n  SYNC_INTERVAL: 1m\n"
));

refused!(yaml_aliases, |root| {
    let mut text = String::from("repo: https://example.com/a\nx: &a [a, a, a, a, a, a, a, a]\n");
    for index in 0..1000 {
        text.push_str(&format!("y{index}: [*a, *a, *a, *a, *a, *a, *a, *a]\n"));
    }
    write(root, "fleet/tenants/bomb.yaml", &text);
});

refused!(input_larger_than_the_limit, |root| write(
    root,
    "fleet/tenants/big.yaml",
    &format!("repo: https://example.com/a\n# {}\n", "x".repeat(5 << 20))
));

/// Puts a FIFO at `relative`, in place of the file there if any.
#[cfg(unix)]
fn fifo_at(root: &Path, relative: &str) {
    let path = root.join(relative);
    let _ = fs::remove_file(&path);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
refused!(cluster_file_that_is_a_fifo, |root| fifo_at(
    root,
    "fleet/clusters/pipe.env"
));

// An input that is there but is no file is named for what it is, not reported missing.
#[cfg(unix)]
refused!(fleet_file_that_is_a_fifo, |root| fifo_at(
    root,
    "fleet/fleet.yaml"
));

#[cfg(unix)]
refused!(fleet_file_that_is_a_broken_link, |root| {
    fs::remove_file(root.join("fleet/fleet.yaml")).unwrap();
    std::os::unix::fs::symlink("gone.yaml", root.join("fleet/fleet.yaml")).unwrap();
});

#[cfg(unix)]
refused!(environment_file_that_is_a_fifo, |root| fifo_at(
    root,
    "environments/dev/environment.yaml"
));

#[cfg(unix)]
refused!(blueprint_manifest_that_is_a_fifo, |root| fifo_at(
    root,
    "blueprints/nginx/blueprint.yaml"
));

#[cfg(unix)]
refused!(cluster_file_linked_to_dev_zero, |root| {
    std::os::unix::fs::symlink("/dev/zero", root.join("fleet/clusters/zero.env")).unwrap();
});

#[cfg(unix)]
#[test]
fn tenant_file_linked_outside_the_fleet_is_not_printed() {
    let secret = tempfile::tempdir().unwrap();
    fs::write(secret.path().join("id_rsa"), "PRIVATE KEY MATERIAL\n").unwrap();
    let target = secret.path().join("id_rsa");
    let stderr = render_broken(|root| {
        std::os::unix::fs::symlink(&target, root.join("fleet/tenants/leak.yaml")).unwrap();
    });
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
    assert!(stderr.contains("[input-outside-root]"), "{stderr}");
}

/// A folder of the fleet source replaced by a link to a copy of it outside, with a secret added
/// beside the copied files: nothing below it is read, not even the secret's file name.
#[cfg(unix)]
fn move_folder_out(root: &Path, folder: &str, outside: &Path) {
    let copy = outside.join("copy");
    common::copy_dir(&root.join(folder), &copy);
    fs::write(copy.join("SECRET-NAME.yaml"), "SECRET-CONTENT: 1\n").unwrap();
    fs::remove_dir_all(root.join(folder)).unwrap();
    std::os::unix::fs::symlink(&copy, root.join(folder)).unwrap();
}

#[cfg(unix)]
#[test]
fn folders_a_link_takes_out_of_the_fleet_are_not_read() {
    for folder in [
        "fleet",
        "fleet/clusters",
        "fleet/tenants",
        "environments/dev",
        "environments/dev/tenants",
        "blueprints",
        "blueprints/nginx",
        "blueprints/nginx/files",
    ] {
        let outside = tempfile::tempdir().unwrap();
        let stderr = render_broken(|root| move_folder_out(root, folder, outside.path()));
        assert!(
            stderr.contains("[input-outside-root]"),
            "{folder}: {stderr}"
        );
        assert!(!stderr.contains("SECRET"), "{folder}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn environment_folder_linked_out_of_the_fleet() {
    let outside = tempfile::tempdir().unwrap();
    let stderr = render_broken(|root| move_folder_out(root, "environments/dev", outside.path()));
    insta::assert_snapshot!(stderr);
}

#[cfg(unix)]
#[test]
fn blueprint_files_linked_out_of_the_fleet() {
    let outside = tempfile::tempdir().unwrap();
    let stderr =
        render_broken(|root| move_folder_out(root, "blueprints/nginx/files", outside.path()));
    insta::assert_snapshot!(stderr);
}

// The main branch holds the fleet source: a blueprint may not render into it, where a
// rendered file would become an input of the next run (a cluster, a tenant) and `commit` would
// write it into the checkout.
refused!(blueprint_rendering_into_the_fleet_source, |root| {
    add_blueprint(
        root,
        "seed",
        "description: adds a cluster\nscope: cluster\nwhen: cluster.name == \"k3d-emea\"\ntarget: fleet/clusters\n",
        &[("planted.env", "PROVIDER=existing\nFLUX=local\n")],
    );
});

// A job for a CI service, pushed with every commit to a branch, would run with the repository's
// CI secrets: no rendered path goes where a CI service reads them, however it is spelt.
refused!(blueprint_rendering_a_ci_workflow, |root| {
    add_blueprint(
        root,
        "seed",
        "description: x\nscope: environment\ntarget: '{{ \".git\" ~ \"hub\" }}/workflows'\n",
        &[("deploy.yml", "on: push\n")],
    );
});

/// Refused by rendering itself, not by a check the escape hatch turns off.
#[test]
fn rendering_into_the_fleet_source_is_refused_without_validation_too() {
    let fleet = example_fleet();
    let root = fleet.path();
    add_blueprint(
        root,
        "seed",
        "description: x\nscope: cluster\ntarget: blueprints/seed-{{ cluster.name }}\n",
        &[("blueprint.yaml", "scope: cluster\n")],
    );
    let output = fleetgen(root)
        .args(["render", "--no-validate"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("`blueprints` holds the fleet source on the main branch"),
        "{stderr}"
    );
    assert!(!root.join("out").exists());
}

refused!(
    blueprint_declaring_a_directory_in_the_fleet_source,
    |root| {
        add_blueprint(
            root,
            "seed",
            "description: x\nscope: cluster\nwhen: cluster.name == \"k3d-emea\"\ntarget: infra/seed\ndirectories: [environments/dev]\n",
            &[(
                "a.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: seed\n",
            )],
        );
    }
);

/// A value full of YAML syntax, used unquoted by a fleet's blueprint, in a file and in a file
/// name: it renders as one scalar and one list item.
#[test]
fn values_render_as_one_scalar_whoever_wrote_the_blueprint() {
    let fleet = example_fleet();
    let root = fleet.path();
    let hostile = "64mb, extra: [x] #c";
    append(
        root,
        "environments/dev/clusters/k3d-emea.env",
        &format!("REDIS_MAX_MEMORY=\"{hostile}\"\n"),
    );
    write(
        root,
        "blueprints/note/blueprint.yaml",
        "description: test\nscope: environment-cluster\ntarget: infra/{{ cluster.name }}/note\n",
    );
    write(
        root,
        "blueprints/note/files/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\n  namespace: {{ env.name }}-redis\n  finalizers: [{{ cluster.values.REDIS_MAX_MEMORY }}]\ndata:\n  note: {{ cluster.values.REDIS_MAX_MEMORY }}\n",
    );
    write(
        root,
        "blueprints/note/files/{{ cluster.values.REDIS_MAX_MEMORY }}.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: named\n  namespace: {{ env.name }}-redis\n",
    );
    fleetgen(root).arg("render").assert().success();
    let dir = root.join("out/dev/infra/k3d-emea/note");
    let text = fs::read_to_string(dir.join("configmap.yaml")).unwrap();
    let value: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let data = value["data"].as_mapping().unwrap();
    assert_eq!(data.len(), 1, "{text}");
    assert_eq!(value["data"]["note"].as_str(), Some(hostile), "{text}");
    assert_eq!(
        value["metadata"]["finalizers"].as_sequence().unwrap().len(),
        1,
        "{text}"
    );
    let kustomization = fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    let value: serde_norway::Value = serde_norway::from_str(&kustomization).unwrap();
    assert_eq!(value.as_mapping().unwrap().len(), 3, "{kustomization}");
    let resources: Vec<&str> = value["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect();
    assert_eq!(
        resources,
        [format!("{hostile}.yaml").as_str(), "configmap.yaml"]
    );
}

/// The allow-list lets a fleet grant another ClusterRole.
#[test]
fn an_allowed_role_renders() {
    let fleet = example_fleet();
    let root = fleet.path();
    append(
        root,
        "fleet/fleet.yaml",
        "tenantRoles: [admin, edit, view, team-reader]\n",
    );
    replace(
        root,
        "fleet/tenants/kaizentm.yaml",
        "role: admin",
        "role: team-reader",
    );
    fleetgen(root).arg("render").assert().success();
    let binding =
        fs::read_to_string(root.join("out/dev/tenants/k3d-emea/kaizentm/rolebinding.yaml"))
            .or_else(|_| {
                let found = walkdir::WalkDir::new(root.join("out/dev"))
                    .into_iter()
                    .filter_map(Result::ok)
                    .find(|entry| {
                        entry.path().to_string_lossy().contains("kaizentm")
                            && entry.file_name() == "rolebinding.yaml"
                    })
                    .unwrap();
                fs::read_to_string(found.path())
            })
            .unwrap();
    assert!(binding.contains("name: team-reader"), "{binding}");
}

/// `add-tenant --role` goes through the same check as a tenant file, and writes nothing.
#[test]
fn add_tenant_with_cluster_admin_is_refused() {
    let fleet = example_fleet();
    let root = fleet.path();
    let assert = fleetgen(root)
        .args([
            "add-tenant",
            "acme",
            "--repo",
            "https://example.com/acme/apps",
            "--role",
            "cluster-admin",
            "--env",
            "dev",
        ])
        .assert()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("tenants may not be bound to cluster-admin [tenant-role]"),
        "{stderr}"
    );
    assert!(!root.join("fleet/tenants/acme.yaml").exists());
}

refused!(allow_list_without_the_default_role, |root| append(
    root,
    "fleet/fleet.yaml",
    "tenantRoles: [view]\n"
));

/// Writes a blueprint that prints `REDIS_MAX_MEMORY` past the formatter (an autoescape-free
/// block leaves a value raw) and sets the value in k3d-emea's dev file; returns the line.
/// Values are one line, so the blueprint turns `;` into line breaks, as a careless template
/// helper could.
fn print_raw_value(root: &Path, value: &str) -> usize {
    let file = "environments/dev/clusters/k3d-emea.env";
    append(root, file, &format!("REDIS_MAX_MEMORY=\"{value}\"\n"));
    write(
        root,
        "blueprints/note/blueprint.yaml",
        "description: test\nscope: environment-cluster\ntarget: infra/{{ cluster.name }}/note\n",
    );
    write(
        root,
        "blueprints/note/files/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\n  namespace: {{ env.name }}-redis\ndata:\n  note: {% autoescape false %}{{ cluster.values.REDIS_MAX_MEMORY | replace(';', '\\n') }}{% endautoescape %}\n\n",
    );
    fs::read_to_string(root.join(file)).unwrap().lines().count()
}

/// A value that reaches the output raw and adds a document is refused, naming the value.
#[test]
fn a_value_that_adds_a_document_is_refused() {
    let mut line = 0;
    let stderr = render_broken(|root| {
        line = print_raw_value(
            root,
            "64mb;---;apiVersion: v1;kind: Secret;metadata: {name: stolen}",
        );
    });
    assert!(stderr.contains("[value-shape]"), "{stderr}");
    assert!(stderr.contains("2 documents"), "{stderr}");
    assert!(
        stderr.contains(&format!("environments/dev/clusters/k3d-emea.env:{line}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("blueprints/note/files/configmap.yaml"),
        "{stderr}"
    );
}

/// A value that reaches the output raw and adds a top-level key is refused, naming the value.
#[test]
fn a_value_that_adds_a_key_is_refused() {
    let mut line = 0;
    let stderr = render_broken(|root| {
        line = print_raw_value(root, "64mb;extra: key");
    });
    assert!(stderr.contains("[value-shape]"), "{stderr}");
    assert!(stderr.contains("`extra`"), "{stderr}");
    assert!(
        stderr.contains(&format!("environments/dev/clusters/k3d-emea.env:{line}")),
        "{stderr}"
    );
}

/// A value that reaches the output raw and repeats a nested key, to override the value before
/// it, is refused: below the top level the shape check does not look, but a mapping may not
/// give a key twice.
#[test]
fn a_value_that_repeats_a_nested_key_is_refused() {
    let stderr = render_broken(|root| {
        print_raw_value(root, "64mb;  note: overridden");
    });
    assert!(stderr.contains("[invalid-output]"), "{stderr}");
    assert!(
        stderr.contains(r#"data: the mapping holds the key "note" twice"#),
        "{stderr}"
    );
    assert!(
        stderr.contains("blueprints/note/files/configmap.yaml"),
        "{stderr}"
    );
}

/// A value that makes its file byte for byte the file another template renders, where that
/// output is legitimate, is still refused: files alike are parsed once, but each is checked
/// against its own template and values.
#[test]
fn a_value_that_copies_a_legitimate_file_is_refused() {
    let fleet = example_fleet();
    let root = fleet.path();
    let hostile = "64mb;---;apiVersion: v1;kind: Secret;metadata: {name: stolen}";
    print_raw_value(root, hostile);
    // Sorts before `note`, so that it is the first of the files alike.
    write(
        root,
        "blueprints/a-twin/blueprint.yaml",
        "description: test\nscope: environment-cluster\ntarget: infra/{{ cluster.name }}/a-twin\n",
    );
    write(
        root,
        "blueprints/a-twin/files/configmap.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\n  namespace: {{{{ env.name }}}}-redis\ndata:\n  note: {}\n\n",
            hostile.replace(';', "\n")
        ),
    );
    for args in [&["render"][..], &["render", "--no-validate"]] {
        let output = fleetgen(root).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("[value-shape]"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("blueprints/note/files/configmap.yaml"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("blueprints/a-twin/files/configmap.yaml"),
            "{args:?}: {stderr}"
        );
        assert!(!root.join("out").exists(), "{args:?} wrote the output");
    }
}

/// The value check is no part of validation that a flag can skip: every command that renders
/// reads the files back and refuses a value that adds a document, and a document started on
/// the `---` line itself counts like any other.
#[test]
fn every_command_that_renders_refuses_a_value_that_adds_a_document() {
    let fleet = example_fleet();
    let root = fleet.path();
    print_raw_value(
        root,
        "64mb;--- {apiVersion: v1, kind: Secret, metadata: {name: stolen}}",
    );
    let commands: &[&[&str]] = &[
        &["render"],
        &["render", "--no-validate"],
        &["check", "--no-drift"],
        &["check", "--no-drift", "--format", "json"],
        &["diff", "--no-validate"],
        &["commit", "--no-validate", "--dry-run"],
        &["graph"],
        &["secrets"],
        &["build", "--cluster", "k3d-emea", "--env", "dev"],
    ];
    for args in commands {
        let output = fleetgen(root).args(*args).output().unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{args:?}: {printed}");
        assert!(printed.contains("value-shape"), "{args:?}: {printed}");
        assert!(printed.contains("2 documents"), "{args:?}: {printed}");
        assert!(!root.join("out").exists(), "{args:?} wrote the output");
    }
}

/// A cluster's value that becomes a chart version is data there too: a path (`..`, absolute)
/// or a separator is refused as no version constraint source-controller reads, printed on one
/// line, with nothing written; a newline never gets that far (text values are one line).
#[test]
fn a_chart_version_that_is_a_path_or_a_separator_is_refused() {
    for (value, printed) in [
        (
            "../../etc/passwd",
            "`../../etc/passwd` is not a version constraint",
        ),
        ("/etc/passwd", "`/etc/passwd` is not a version constraint"),
        (
            "\"4.11.3 --- kind: Secret\"",
            "`4.11.3 --- kind: Secret` is not a version constraint",
        ),
    ] {
        let stderr = render_broken(|root| {
            append(
                root,
                "fleet/clusters/k3d-america.env",
                &format!("NGINX_CHART_VERSION={value}\n"),
            );
        });
        assert!(stderr.contains("[flux]"), "{value}: {stderr}");
        assert!(stderr.contains(printed), "{value}: {stderr}");
    }
    let stderr = render_broken(|root| {
        append(
            root,
            "fleet/clusters/k3d-america.env",
            "NGINX_CHART_VERSION=\"4.11.3\\n---\\nkind: Secret\"\n",
        );
    });
    assert!(stderr.contains("[invalid-value]"), "{stderr}");
    assert!(
        stderr.contains("fleet/clusters/k3d-america.env:"),
        "{stderr}"
    );
}
