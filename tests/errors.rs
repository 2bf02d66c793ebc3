//! Bad input, as a user would write it: each case breaks the example fleet in one way and
//! checks that `render` names the file, line and key with a hint, exits 1, and leaves the
//! previous output exactly as it was.

mod common;

use std::fs;

use common::{append, example_fleet, fleetgen, render_broken, replace, write};

macro_rules! error_case {
    ($name:ident, $breakage:expr) => {
        #[test]
        fn $name() {
            let stderr = render_broken($breakage);
            assert!(!stderr.contains("panicked"), "{stderr}");
            insta::assert_snapshot!(stringify!($name), stderr);
        }
    };
}

error_case!(unknown_key_with_suggestion, |root| append(
    root,
    "fleet/clusters/k3d-america.env",
    "NODE_CDIR=10.8.0.0/20\n"
));

error_case!(missing_required_key, |root| replace(
    root,
    "fleet/clusters/k3s-america-south.env",
    "MANAGED_BY=k3d-america\n",
    ""
));

error_case!(malformed_cidr, |root| replace(
    root,
    "fleet/clusters/k3d-emea.env",
    "POD_CIDR=10.52.0.0/16",
    "POD_CIDR=10.52.0.0/33"
));

error_case!(malformed_version, |root| append(
    root,
    "fleet/clusters/k3d-emea.env",
    "KUBERNETES_VERSION=1.30\n"
));

error_case!(stray_quote_in_dotenv, |root| append(
    root,
    "fleet/clusters/k3d-emea.env",
    "KUBERNETES_VERSION=\"\"1.25.4\n"
));

error_case!(overlapping_cidrs, |root| replace(
    root,
    "fleet/clusters/k3d-emea.env",
    "POD_CIDR=10.52.0.0/16",
    "POD_CIDR=10.42.128.0/17"
));

error_case!(remote_cluster_with_unknown_manager, |root| replace(
    root,
    "fleet/clusters/k3s-america-south.env",
    "MANAGED_BY=k3d-america",
    "MANAGED_BY=k3d-amerika"
));

error_case!(
    remote_cluster_without_its_manager_in_the_environment,
    |root| fs::remove_file(root.join("environments/dev/clusters/k3d-america.env")).unwrap()
);

error_case!(schema_sources_outside_the_fleet_root, |root| append(
    root,
    "fleet/fleet.yaml",
    "validation:\n  crds:\n    - crds\n    - ../../etc\n  kubernetes: /proc/self/environ\n"
));

error_case!(
    schema_source_with_a_line_break_and_a_document_start,
    |root| append(
        root,
        "fleet/fleet.yaml",
        "validation:\n  crds: [\"../crds\\n---\\nkind: Secret\"]\n"
    )
);

error_case!(tenant_name_with_a_slash, |root| write(
    root,
    "fleet/tenants/team/a.yaml",
    "repo: https://example.com/a\n"
));

error_case!(cluster_name_that_is_not_a_dns_label, |root| write(
    root,
    "fleet/clusters/K3d_Asia.env",
    "FLUX=local\n"
));

error_case!(unknown_tenant_in_an_environment, |root| write(
    root,
    "environments/qa/tenants/yakuzza.yaml",
    ""
));

error_case!(unknown_app_in_a_membership, |root| write(
    root,
    "environments/dev/tenants/yakuza.yaml",
    "apps:\n  - api\n  - wbe\n"
));

error_case!(unknown_cluster_in_a_membership, |root| write(
    root,
    "environments/qa/clusters/k3d-asia.env",
    ""
));

error_case!(typo_in_a_yaml_key, |root| replace(
    root,
    "fleet/tenants/yakuza.yaml",
    "apps:",
    "apss:"
));

error_case!(cluster_key_overridden_per_environment, |root| append(
    root,
    "environments/dev/clusters/k3d-emea.env",
    "POD_CIDR=10.99.0.0/16\n"
));

error_case!(undefined_variable_in_a_blueprint, |root| replace(
    root,
    "blueprints/redis/files/service.yaml",
    "port: 6379",
    "port: {{ cluster.values.REDIS_PORT }}"
));

// The mistake is in a macro another template imports (a file of macros renders to nothing by
// itself): it is reported there, with the name the value was probably meant to have.
error_case!(misspelt_value_in_an_imported_macro, |root| {
    replace(
        root,
        "blueprints/redis/files/service.yaml",
        "port: 6379",
        "port: {% from 'redis/helpers.txt' import port %}{{ port() }}",
    );
    write(
        root,
        "blueprints/redis/files/helpers.txt",
        "{# shared by the Service and its probes #}\n{% macro port() %}{{ 6379 + cluster.values.REDIS_REPLICSA }}{% endmacro %}\n",
    );
});

error_case!(blueprint_target_leaving_the_tree, |root| replace(
    root,
    "blueprints/redis/blueprint.yaml",
    "target: infra/{{ cluster.name }}/redis",
    "target: ../../etc/{{ cluster.name }}"
));

// A rendered path is quoted escaped and cut: a line break and a `---` in it stay in one line
// of the message, and neither reaches a file.
error_case!(blueprint_target_with_a_line_break, |root| replace(
    root,
    "blueprints/redis/blueprint.yaml",
    "target: infra/{{ cluster.name }}/redis",
    "target: \"infra/{{ cluster.name }}/redis\\n---\\nkind: Secret\""
));

error_case!(blueprint_target_absolute, |root| replace(
    root,
    "blueprints/redis/blueprint.yaml",
    "target: infra/{{ cluster.name }}/redis",
    "target: /etc/{{ cluster.name }}"
));

// Every step that walks the rendered directories goes one level at a time: a template nesting
// thousands deep overflowed validation's stack.
error_case!(blueprint_target_too_deep, |root| replace(
    root,
    "blueprints/redis/blueprint.yaml",
    "target: infra/{{ cluster.name }}/redis",
    "target: 'infra/{{ cluster.name }}/{{ \"a/\" * 3000 }}redis'"
));

// A blueprint may come from a pull request: a loop that does not end stops with a finding
// instead of holding the check until the CI job times out.
error_case!(template_that_does_not_end, |root| write(
    root,
    "blueprints/redis/files/loop.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loop\n  namespace: default\ndata:\n  a: \"{% for x in range(100000) %}{% for y in range(100000) %}{% endfor %}{% endfor %}\"\n",
));

// And text repeated in a loop stops at the largest file a template may render, instead of
// taking every byte of memory.
error_case!(template_rendering_gigabytes, |root| write(
    root,
    "blueprints/redis/files/big.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n  a: \"{% for i in range(10000) %}{{ range(10000) | join('0123456789abcdef0123456789abcdef') }}{% endfor %}\"\n",
));

// Every document read back is held on its own: 900,000 tiny ones in three files took 1.4 GB.
error_case!(template_rendering_a_million_documents, |root| write(
    root,
    "blueprints/redis/files/many.yaml",
    "{% for j in range(9) %}{% for i in range(100000) %}\n---\na: 1\n{% endfor %}{% endfor %}\n",
));

error_case!(two_blueprints_writing_one_file, |root| common::copy_dir(
    &root.join("blueprints/redis"),
    &root.join("blueprints/redis-copy")
));

// Two files of one blueprint whose names render alike: one finding, not "blueprints redis and
// redis".
error_case!(one_blueprint_writing_one_file_twice, |root| {
    let files = root.join("blueprints/redis/files");
    std::fs::copy(
        files.join("service.yaml"),
        files.join("{{ 'service' }}.yaml"),
    )
    .unwrap();
});

error_case!(every_problem_is_reported_at_once, |root| {
    append(
        root,
        "fleet/clusters/k3d-america.env",
        "NODE_CDIR=10.8.0.0/20\n",
    );
    replace(
        root,
        "fleet/clusters/k3d-emea.env",
        "POD_CIDR=10.52.0.0/16",
        "POD_CIDR=banana",
    );
    write(root, "environments/qa/tenants/nobody.yaml", "");
});

#[test]
fn missing_fleet_file_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let assert = fleetgen(empty.path()).arg("render").assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("error: no fleet/fleet.yaml under"),
        "{stderr}"
    );
    assert!(stderr.contains("fleetgen init"), "{stderr}");
    assert!(!empty.path().join("out").exists());
}

#[test]
fn unknown_environment_selection() {
    let fleet = example_fleet();
    let assert = fleetgen(fleet.path())
        .args(["render", "--env", "prod"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("no environment `prod`"), "{stderr}");
    assert!(!fleet.path().join("out").exists());
}

#[test]
fn usage_errors_exit_2() {
    let fleet = example_fleet();
    fleetgen(fleet.path())
        .args(["render", "--no-such-flag"])
        .assert()
        .code(2);
    fleetgen(fleet.path())
        .arg("no-such-command")
        .assert()
        .code(2);
}
