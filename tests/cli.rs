//! The informational commands: `keys`, `explain`, `completions`, `--help`.

mod common;

use std::fs;

use common::{example_fleet, fleetgen};

fn stdout_of(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn explain_shows_each_value_and_its_source() {
    let fleet = example_fleet();
    let main = stdout_of(
        fleetgen(fleet.path())
            .args(["explain", "cluster", "k3d-america"])
            .assert()
            .success(),
    );
    insta::assert_snapshot!("explain_k3d_america", main);
    let dev = stdout_of(
        fleetgen(fleet.path())
            .args(["explain", "cluster", "k3d-america", "--env", "dev"])
            .assert()
            .success(),
    );
    insta::assert_snapshot!("explain_k3d_america_dev", dev);
    let redis = dev
        .lines()
        .find(|line| line.starts_with("REDIS_MAX_MEMORY"))
        .unwrap();
    assert!(
        redis.contains(" 128mb ")
            && redis.ends_with(
                "environments/dev/clusters/k3d-america.env:3:18 (environment membership)"
            ),
        "{dev}"
    );
}

#[test]
fn explain_json_is_machine_readable() {
    let fleet = example_fleet();
    let json = stdout_of(
        fleetgen(fleet.path())
            .args(["explain", "cluster", "k3d-emea", "--format", "json"])
            .assert()
            .success(),
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["POD_CIDR"]["value"], "10.52.0.0/16");
    assert_eq!(value["POD_CIDR"]["layer"], "cluster");
    assert_eq!(value["POD_CIDR"]["location"]["line"], 6);
    assert_eq!(value["SYNC_INTERVAL"]["layer"], "fleet-default");
}

#[test]
fn explain_refuses_unknown_names() {
    let fleet = example_fleet();
    let assert = fleetgen(fleet.path())
        .args(["explain", "cluster", "k3d-amerika"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("no cluster `k3d-amerika`") && stderr.contains("did you mean k3d-america?"),
        "{stderr}"
    );
    let assert = fleetgen(fleet.path())
        .args(["explain", "cluster", "k3s-america-south", "--env", "qa"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("not a member of environment qa"),
        "{stderr}"
    );
}

#[test]
fn keys_lists_builtin_and_fleet_keys() {
    let fleet = example_fleet();
    let human = stdout_of(fleetgen(fleet.path()).arg("keys").assert().success());
    insta::assert_snapshot!("keys", human);
    let outside = tempfile::tempdir().unwrap();
    let builtin = stdout_of(fleetgen(outside.path()).arg("keys").assert().success());
    assert!(builtin.contains("NODE_CIDR") && !builtin.contains("NGINX_HTTP_PORT"));
    let json = stdout_of(
        fleetgen(fleet.path())
            .args(["keys", "--format", "json"])
            .assert()
            .success(),
    );
    let keys: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let port = keys
        .iter()
        .find(|key| key["name"] == "NGINX_HTTP_PORT")
        .unwrap();
    assert_eq!(port["type"], "port");
    assert_eq!(port["custom"], true);
}

#[test]
fn completions_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let bash = stdout_of(
        fleetgen(dir.path())
            .args(["completions", "bash"])
            .assert()
            .success(),
    );
    assert!(bash.contains("fleetgen"));
    let help = stdout_of(fleetgen(dir.path()).arg("--help").assert().success());
    insta::assert_snapshot!("help", help);
}

/// `init DIR` with a relative folder used to fail: creating the folder's parents walked up to
/// the empty path and tried to create it.
#[test]
fn init_into_a_relative_folder() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = assert_cmd::Command::cargo_bin("fleetgen").unwrap();
    command
        .current_dir(cwd.path())
        .args(["init", "newfleet", "--repo", "https://example.com/fleet"])
        .assert()
        .success();
    assert!(cwd.path().join("newfleet/fleet/fleet.yaml").is_file());
    let mut render = assert_cmd::Command::cargo_bin("fleetgen").unwrap();
    render
        .current_dir(cwd.path())
        .args(["-C", "newfleet", "render"])
        .assert()
        .success();
    assert!(cwd.path().join("newfleet/out/main").is_dir());
}

/// Every command's `--help` ends with examples, every argument says what it is, and every
/// `--format` is also `-o`/`--output`.
#[test]
fn every_command_has_examples_and_every_argument_help() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", command.get_name()).trim().to_owned();
        // Commands with subcommands too: `explain --help` and `hook --help` had none.
        let examples = command
            .get_after_help()
            .is_some_and(|help| help.to_string().contains("Examples:"));
        if !examples && command.get_name() != "help" {
            missing.push(format!("{path}: no examples"));
        }
        for arg in command.get_arguments() {
            // kubectl's and flux's habit: -o/--output wherever there is a --format.
            let output_alias = arg.get_short() == Some('o')
                && arg
                    .get_visible_aliases()
                    .is_some_and(|aliases| aliases.contains(&"output"));
            if arg.get_long() == Some("format") && !output_alias {
                missing.push(format!("{path}: --format without -o/--output"));
            }
            let builtin = ["help", "version"].contains(&arg.get_id().as_str());
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path}: {} has no help", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&fleetgen::cli::Cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn cli_habits_of_kubectl_and_flux() {
    let fleet = example_fleet();
    let version = stdout_of(fleetgen(fleet.path()).arg("version").assert().success());
    assert_eq!(version, format!("fleetgen {}\n", env!("CARGO_PKG_VERSION")));
    let completion = stdout_of(
        fleetgen(fleet.path())
            .args(["completion", "zsh"])
            .assert()
            .success(),
    );
    assert!(completion.contains("#compdef fleetgen"), "{completion}");
    for flag in ["-o", "--output", "--format"] {
        let json = stdout_of(
            fleetgen(fleet.path())
                .args(["keys", flag, "json"])
                .assert()
                .success(),
        );
        assert!(json.starts_with('['), "{flag}: {json}");
        // `check --output json` used to be refused with a suggestion of `--out`.
        let findings = stdout_of(
            fleetgen(fleet.path())
                .args(["check", "--no-drift", flag, "json"])
                .assert()
                .success(),
        );
        assert_eq!(findings, "[]\n", "{flag}");
    }
    let assert = fleetgen(fleet.path())
        .args(["explain", "mgmt-eu"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // The tip sits where clap prints its own, indented like them.
    insta::assert_snapshot!("explain_a_name_without_cluster", stderr);
    let assert = fleetgen(fleet.path())
        .args(["explain", "clustr", "k3d-emea"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("tip: a similar subcommand exists: 'cluster'")
            && !stderr.contains("name it after"),
        "{stderr}"
    );
    let assert = fleetgen(fleet.path()).arg("grpah").assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("tip: a similar subcommand exists: 'graph'"),
        "{stderr}"
    );
    // A read-only command has nothing to not write.
    let assert = fleetgen(fleet.path())
        .args(["explain", "cluster", "nope"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.ends_with("fleetgen: 1 error found\n"), "{stderr}");
    let help = stdout_of(
        fleetgen(fleet.path())
            .args(["graph", "--help"])
            .assert()
            .success(),
    );
    insta::assert_snapshot!("graph_help", help);
}

fn stderr_of(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

/// `--quiet` drops what a command did and keeps errors, as cargo's does; it is global, so it
/// may come before or after the command.
#[test]
fn quiet_keeps_only_errors_and_warnings() {
    let fleet = example_fleet();
    let said = stderr_of(fleetgen(fleet.path()).arg("render").assert().success());
    assert!(said.starts_with("rendered "), "{said}");
    fs::remove_dir_all(fleet.path().join("out")).unwrap();
    for args in [["-q", "render"], ["render", "--quiet"]] {
        let assert = fleetgen(fleet.path()).args(args).assert().success();
        assert_eq!(stderr_of(assert), "", "{args:?}");
        assert!(fleet.path().join("out/main").is_dir(), "{args:?}");
    }
    let said = stderr_of(
        fleetgen(fleet.path())
            .args(["check", "--no-drift", "-q"])
            .assert()
            .success(),
    );
    assert_eq!(said, "");

    common::append(
        fleet.path(),
        "fleet/clusters/k3d-emea.env",
        "NODE_CDIR=10.8.0.0/20\n",
    );
    let said = stderr_of(
        fleetgen(fleet.path())
            .args(["-q", "render"])
            .assert()
            .code(1),
    );
    assert!(
        said.contains("error: unknown key NODE_CDIR") && said.ends_with("nothing was written\n"),
        "{said}"
    );
}

/// `--verbose` times each stage and lists every file written.
#[test]
fn verbose_says_the_stages_and_every_file() {
    let fleet = example_fleet();
    let said = stderr_of(
        fleetgen(fleet.path())
            .args(["render", "-v"])
            .assert()
            .success(),
    );
    for stage in ["load", "model", "plan", "render", "validate", "write"] {
        assert!(
            said.lines()
                .any(|line| line.starts_with(&format!("{stage}: "))),
            "{stage}: {said}"
        );
    }
    let listed = said
        .lines()
        .filter(|line| line.starts_with("added "))
        .count();
    let written = walkdir::WalkDir::new(fleet.path().join("out"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file() && entry.file_name() != ".fleetgen.lock")
        .count();
    assert_eq!(listed, written, "{said}");
    assert!(
        said.contains("3 clusters, 2 environments, 2 tenants"),
        "{said}"
    );

    let assert = fleetgen(fleet.path())
        .args(["-q", "-v", "render"])
        .assert()
        .code(2);
    assert!(stderr_of(assert).contains("cannot be used with"));
}

/// The read-only commands that walk the rendered fleet time that walk too under `--verbose`
/// (the promotion diff its comparison), on stderr only: their stdout is data and stays the same.
#[test]
fn verbose_times_the_walk_of_build_graph_and_secrets() {
    let fleet = example_fleet();
    for (command, last) in [
        (&["build", "--cluster", "k3d-emea"][..], "walk: "),
        (&["graph", "--tenant", "yakuza"][..], "walk: "),
        (&["secrets"][..], "secrets: "),
        (
            &["diff", "--env", "qa", "--against", "dev"][..],
            "compare: ",
        ),
    ] {
        let plain = fleetgen(fleet.path()).args(command).assert().success();
        let plain = plain.get_output();
        assert!(plain.stderr.is_empty(), "{command:?}");
        let verbose = fleetgen(fleet.path())
            .args(command)
            .arg("-v")
            .assert()
            .success();
        let verbose = verbose.get_output();
        assert_eq!(verbose.stdout, plain.stdout, "{command:?}");
        let said = String::from_utf8_lossy(&verbose.stderr);
        for stage in ["load: ", "model: ", "plan: ", "render: ", last] {
            assert!(
                said.lines().any(|line| line.starts_with(stage)),
                "{command:?} {stage}: {said}"
            );
        }
    }
    let said = stderr_of(
        fleetgen(fleet.path())
            .args(["graph", "--tenant", "yakuza", "-v"])
            .assert()
            .success(),
    );
    assert!(
        said.contains("2 clusters and 16 of 30 Kustomizations drawn"),
        "{said}"
    );
}

/// Every command that found problems ends with the same line, errors and warnings counted
/// apart; `check` used to say `5 errors, 1 warning` where the others said `… found`. Only a
/// command that writes adds that it wrote nothing.
#[test]
fn findings_are_counted_alike_by_every_command() {
    let fleet = example_fleet();
    // A warning (a tenant in no environment) beside errors (a field the API does not have).
    common::write(
        fleet.path(),
        "fleet/tenants/zz.yaml",
        "repo: https://example.com/zz\napps: [a]\n",
    );
    common::replace(
        fleet.path(),
        "blueprints/redis/files/deployment.yaml",
        "  replicas: ",
        "  replicaz: ",
    );
    let last_line = |args: &[&str]| {
        let assert = fleetgen(fleet.path()).args(args).assert().code(1);
        stderr_of(assert).lines().last().unwrap().to_owned()
    };
    let check = last_line(&["check", "--no-drift"]);
    // One error however many clusters the template renders for: its findings fold.
    assert_eq!(check, "fleetgen: 1 error and 1 warning found");
    assert_eq!(last_line(&["diff"]), check);
    assert_eq!(
        last_line(&["render"]),
        format!("{check}; nothing was written")
    );
}

/// An unknown name with no close match lists the names there are, as an unknown `--env` does;
/// `build` of a cluster outside the environment asked for says so instead of printing nothing.
#[test]
fn unknown_names_and_memberships_say_what_there_is() {
    let fleet = example_fleet();
    for (args, hint) in [
        (
            &["explain", "cluster", "nope"][..],
            "hint: the clusters are: k3d-america, k3d-emea, k3s-america-south",
        ),
        (
            &["build", "--cluster", "nope"][..],
            "hint: the clusters are: k3d-america, k3d-emea, k3s-america-south",
        ),
        (
            &["graph", "--tenant", "nope"][..],
            "hint: the tenants are: kaizentm, yakuza",
        ),
        (
            &["graph", "--env", "prod"][..],
            "hint: the environments are: dev, qa",
        ),
        (
            &["build", "--cluster", "k3s-america-south", "--env", "qa"][..],
            "hint: add environments/qa/clusters/k3s-america-south.env",
        ),
        (
            &["secrets", "--env", "prod"][..],
            "hint: the environments are: dev, qa",
        ),
        (
            &["diff", "--env", "prod"][..],
            "hint: the environments are: dev, qa",
        ),
    ] {
        // Read-only commands: nothing follows the count ("nothing was written" would).
        let said = stderr_of(fleetgen(fleet.path()).args(args).assert().code(1));
        assert!(said.contains(hint), "{args:?}: {said}");
        assert!(
            said.ends_with("fleetgen: 1 error found\n"),
            "{args:?}: {said}"
        );
    }
}

/// What fleetgen offers on Tab after `words` (the last one being typed), asked as the fish
/// script asks: one candidate a line, a tab before its help.
fn offered(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let mut command = assert_cmd::Command::cargo_bin("fleetgen").unwrap();
    let assert = command
        .current_dir(dir)
        .env("COMPLETE", "fish")
        .arg("--")
        .arg("fleetgen")
        .args(words)
        .assert()
        .success();
    assert!(assert.get_output().stderr.is_empty(), "{words:?}");
    stdout_of(assert)
        .lines()
        .map(|line| line.split('\t').next().unwrap().to_owned())
        .filter(|candidate| !candidate.starts_with('-'))
        .collect()
}

#[test]
fn completion_offers_the_fleets_names() {
    let fleet = example_fleet();
    let root = fleet.path();
    let clusters = ["k3d-america", "k3d-emea", "k3s-america-south"];
    assert_eq!(offered(root, &["explain", "cluster", ""]), clusters);
    assert_eq!(offered(root, &["graph", "--cluster", ""]), clusters);
    assert_eq!(
        offered(root, &["build", "--cluster", "k3d-"]),
        clusters[..2]
    );
    assert_eq!(offered(root, &["remove-cluster", "k3s"]), clusters[2..]);
    assert_eq!(offered(root, &["render", "--env", ""]), ["dev", "qa"]);
    assert_eq!(
        offered(root, &["diff", "--env", "qa", "--against", "d"]),
        ["dev"]
    );
    assert_eq!(
        offered(root, &["graph", "--tenant", ""]),
        ["kaizentm", "yakuza"]
    );
    assert_eq!(offered(root, &["add-app", ""]), ["kaizentm", "yakuza"]);
    // A new name is not one of the existing ones.
    assert!(offered(root, &["add-cluster", ""]).is_empty());
    assert!(offered(root, &["init-environment", ""]).is_empty());

    // From elsewhere, the fleet is the one `-C` names.
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = root.to_str().unwrap();
    assert_eq!(
        offered(elsewhere.path(), &["-C", dir, "graph", "--env", ""]),
        ["dev", "qa"]
    );
    assert!(offered(elsewhere.path(), &["graph", "--env", ""]).is_empty());

    // A fleet that does not load completes nothing, and says nothing.
    common::write(root, "fleet/tenants/broken.yaml", "repo: [unclosed\n");
    assert!(offered(root, &["graph", "--tenant", ""]).is_empty());
}

/// What zsh and fish show beside each name: a cluster's environments, an environment's size,
/// a tenant's apps, an app's tenants.
#[test]
fn completion_describes_the_names() {
    let fleet = example_fleet();
    let mut shown = String::new();
    for words in [
        &["graph", "--cluster", ""][..],
        &["render", "--env", ""][..],
        &["graph", "--tenant", ""][..],
        &["remove-app", "yakuza", ""][..],
    ] {
        let mut command = assert_cmd::Command::cargo_bin("fleetgen").unwrap();
        let assert = command
            .current_dir(fleet.path())
            .env("COMPLETE", "fish")
            .arg("--")
            .arg("fleetgen")
            .args(words)
            .assert()
            .success();
        shown.push_str(&format!("$ fleetgen {}<Tab>\n", words.join(" ")));
        for line in stdout_of(assert).lines() {
            if !line.starts_with('-') {
                shown.push_str(&format!("{line}\n"));
            }
        }
    }
    insta::assert_snapshot!("completion_descriptions", shown);
}

/// The script `completions bash` prints, sourced in a real bash and asked as bash asks.
#[test]
fn bash_completes_cluster_names_through_the_script() {
    let fleet = example_fleet();
    let binary = assert_cmd::cargo::cargo_bin("fleetgen");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-c",
            r#"source <(fleetgen completions bash)
COMP_WORDS=(fleetgen graph --cluster k3d); COMP_CWORD=3; COMP_TYPE=9
_clap_complete_fleetgen fleetgen k3d graph
printf '%s\n' "${COMPREPLY[@]}""#,
        ])
        .current_dir(fleet.path())
        .env("PATH", path)
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "k3d-america\nk3d-emea\n"
    );
}

/// `COMPLETE` set for some other purpose does not hijack the command.
#[test]
fn a_complete_variable_that_names_no_shell_is_ignored() {
    let fleet = example_fleet();
    let version = stdout_of(
        fleetgen(fleet.path())
            .env("COMPLETE", "1")
            .arg("version")
            .assert()
            .success(),
    );
    assert!(version.starts_with("fleetgen "), "{version}");
}
