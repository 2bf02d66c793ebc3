//! The output writer as an attacker and a power cut would try it: a hostile ownership list,
//! symlinks in the output, `output:` pointing at the source or `/`, a second render at the same
//! time, a kill at any instant, few file descriptors, and the modes of created files.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{example_fleet, fleetgen, snapshot_dir};

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn owned_list_with(out: &Path, line: &str) {
    let list = out.join("main/.fleetgen/owned.sha256");
    let text = fs::read_to_string(&list).unwrap();
    fs::write(&list, format!("{text}{line}\n")).unwrap();
}

#[test]
fn an_ownership_list_pointing_outside_the_output_is_corrupt_and_never_acted_upon() {
    let fleet = example_fleet();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("file");
    fs::write(&victim, "precious\n").unwrap();
    let digest = fleetgen::tree::sha256_hex(b"precious\n");
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let depth = out.join("main").components().count();
    let escape = format!("{}{}", "../".repeat(depth), victim.display());
    for entry in [escape.replace("//", "/"), victim.display().to_string()] {
        let pristine = fleet.path().join("pristine");
        let _ = fs::remove_dir_all(&pristine);
        common::copy_dir(&out.join("main"), &pristine);
        owned_list_with(&out, &format!("{digest}  {entry}"));
        // A change to render, so that the writer has something to do.
        fs::remove_file(fleet.path().join("environments/dev/tenants/yakuza.yaml")).ok();
        for args in [&["render"][..], &["render", "--force"]] {
            let assert = fleetgen(fleet.path()).args(args).assert().code(1);
            let stderr = stderr_of(&assert);
            assert!(stderr.contains("corrupt ownership list"), "{stderr}");
            assert!(
                stderr.contains("main/.fleetgen/owned.sha256:"),
                "names the file and line: {stderr}"
            );
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        let assert = fleetgen(fleet.path())
            .args(["diff", "--out"])
            .arg(&out)
            .assert()
            .code(1);
        let output = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        assert!(!output.contains("precious"), "{output}");
        // Back to the list fleetgen wrote.
        fs::remove_dir_all(out.join("main")).unwrap();
        common::copy_dir(&pristine, &out.join("main"));
    }
}

#[test]
fn a_symlink_in_the_output_is_never_written_through() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let elsewhere = tempfile::tempdir().unwrap();
    fs::remove_dir_all(out.join("main/clusters")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.join("main/clusters")).unwrap();
    for args in [&["render"][..], &["render", "--force"]] {
        let assert = fleetgen(fleet.path()).args(args).assert().code(1);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains("symbolic link"), "{stderr}");
    }
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    // A whole branch folder that is a link is refused the same way.
    fs::remove_dir_all(out.join("dev")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.join("dev")).unwrap();
    fs::remove_file(out.join("main/clusters")).unwrap();
    let assert = fleetgen(fleet.path()).arg("render").assert().code(1);
    assert!(stderr_of(&assert).contains("symbolic link"));
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn a_hand_written_symlink_elsewhere_in_the_output_is_kept_as_a_link() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("theirs"), "x").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.join("main/docs")).unwrap();
    fs::remove_file(fleet.path().join("environments/dev/tenants/yakuza.yaml")).unwrap();
    fs::write(fleet.path().join("fleet/clusters/k3d-emea.env"), {
        let text = fs::read_to_string(fleet.path().join("fleet/clusters/k3d-emea.env")).unwrap();
        text + "NGINX_HTTP_PORT=8081\n"
    })
    .unwrap();
    fleetgen(fleet.path()).arg("render").assert().success();
    assert!(out.join("main/docs").is_symlink());
    assert_eq!(
        fs::read_link(out.join("main/docs")).unwrap(),
        elsewhere.path()
    );
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 1);
}

#[test]
fn output_must_stay_inside_the_root_and_apart_from_the_source() {
    let fleet = example_fleet();
    let fleet_yaml = fleet.path().join("fleet/fleet.yaml");
    let original = fs::read_to_string(&fleet_yaml).unwrap();
    for output in ["/", "environments", "/tmp/elsewhere", "..", "."] {
        fs::write(
            &fleet_yaml,
            original.replace("output: out", &format!("output: {output}")),
        )
        .unwrap();
        let before = snapshot_dir(fleet.path());
        let assert = fleetgen(fleet.path()).arg("render").assert().code(1);
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains("[output-outside-root]"),
            "{output}: {stderr}"
        );
        assert_eq!(snapshot_dir(fleet.path()), before, "{output}");
    }
    fs::write(&fleet_yaml, &original).unwrap();
    for out in ["environments", "fleet/x", "."] {
        let before = snapshot_dir(fleet.path());
        let assert = fleetgen(fleet.path())
            .args(["render", "--out"])
            .arg(fleet.path().join(out))
            .assert()
            .code(2);
        assert!(stderr_of(&assert).contains("fleet source"), "{out}");
        assert_eq!(snapshot_dir(fleet.path()), before, "{out}");
    }
    // `--out` is the explicit way to write elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    fleetgen(fleet.path())
        .args(["render", "--out"])
        .arg(elsewhere.path())
        .assert()
        .success();
    assert!(elsewhere.path().join("main/clusters").is_dir());
}

#[test]
fn a_configured_output_reached_through_a_symlink_is_refused() {
    let fleet = example_fleet();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), fleet.path().join("out")).unwrap();
    let assert = fleetgen(fleet.path()).arg("render").assert().code(2);
    assert!(stderr_of(&assert).contains("symbolic link"));
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn a_second_render_while_one_runs_fails_clearly() {
    let fleet = example_fleet();
    let out = fleet.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let lock = fs::File::create(out.join(".fleetgen.lock")).unwrap();
    lock.lock().unwrap();
    let assert = fleetgen(fleet.path()).arg("render").assert().code(1);
    assert!(
        stderr_of(&assert).contains("another fleetgen is writing here"),
        "{}",
        stderr_of(&assert)
    );
    assert!(!out.join("main").exists());
    drop(lock);
    fleetgen(fleet.path()).arg("render").assert().success();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs the binary through `sh` so that it starts with the given umask and open-file limit.
fn fleetgen_sh(root: &Path, setup: &str, args: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("{setup}; exec \"$0\" -C \"$1\" {args}"))
        .arg(env!("CARGO_BIN_EXE_fleetgen"))
        .arg(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn created_files_get_the_users_umask() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fleet-src");
    let output = fleetgen_sh(&root, "umask 022", "init");
    assert!(output.status.success(), "{output:?}");
    let fleet_yaml = root.join("fleet/fleet.yaml");
    assert_eq!(mode(&fleet_yaml), 0o644);

    let fleet = example_fleet();
    let output = fleetgen_sh(fleet.path(), "umask 022", "render");
    assert!(output.status.success(), "{output:?}");
    let out = fleet.path().join("out");
    assert_eq!(mode(&out.join("main/.fleetgen/owned.sha256")), 0o644);
    assert_eq!(mode(&out.join("dev")), 0o755);
    let output = fleetgen_sh(fleet.path(), "umask 027", "render --out \"$1/out2\"");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        mode(&fleet.path().join("out2/main/.fleetgen/owned.sha256")),
        0o640
    );
}

/// A synthetic fleet: `clusters` clusters in two environments, each with every tenant of
/// `tenants`, two apps each. `flavour` changes every tenant's repository, so that two flavours
/// differ in many files of every branch.
fn synthetic_fleet(root: &Path, clusters: usize, tenants: usize, flavour: &str) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "fleet/fleet.yaml",
        "repo:\n  url: https://example.com/fleet\n",
    );
    for cluster in 0..clusters {
        let mut text = format!("POD_CIDR=10.0.{}.0/24\n", cluster);
        let _ = writeln!(text, "SERVICE_CIDR=10.1.{}.0/24", cluster);
        write(&format!("fleet/clusters/c{cluster}.env"), &text);
    }
    for tenant in 0..tenants {
        write(
            &format!("fleet/tenants/t{tenant}.yaml"),
            &format!("repo: https://example.com/{flavour}/t{tenant}\napps: [a0, a1]\n"),
        );
    }
    for env in ["e0", "e1"] {
        write(&format!("environments/{env}/environment.yaml"), "");
        for cluster in 0..clusters {
            write(&format!("environments/{env}/clusters/c{cluster}.env"), "");
        }
        for tenant in 0..tenants {
            write(&format!("environments/{env}/tenants/t{tenant}.yaml"), "");
        }
    }
}

/// Every entry below `dir`, symlinks as links: path → content (or link target, or `/` for a
/// folder).
fn picture(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|entry| {
            let entry = entry.unwrap();
            let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            let content = if entry.file_type().is_dir() {
                b"/".to_vec()
            } else if entry.file_type().is_symlink() {
                fs::read_link(entry.path())
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(entry.path()).unwrap()
            };
            (relative, content)
        })
        .collect()
}

fn pictures(out: &Path) -> BTreeMap<String, BTreeMap<PathBuf, Vec<u8>>> {
    ["main", "e0", "e1"]
        .into_iter()
        .map(|branch| (branch.to_owned(), picture(&out.join(branch))))
        .collect()
}

fn leftovers(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !["main", "e0", "e1", ".fleetgen.lock"].contains(&name.as_str()))
        .collect();
    names.sort();
    names
}

fn render_into(root: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetgen"));
    command
        .arg("-C")
        .arg(root)
        .args(["render", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn a_kill_at_any_instant_leaves_each_branch_old_or_new() {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    synthetic_fleet(&a, 4, 10, "a");
    synthetic_fleet(&b, 4, 10, "b");
    // A hand-written file and a link, which every swap must carry over.
    let out = work.path().join("out");
    let expected: Vec<_> = [&b, &a]
        .iter()
        .map(|root| {
            let status = render_into(root, &out).status().unwrap();
            assert!(status.success());
            let _ = fs::create_dir_all(out.join("e0/notes"));
            fs::write(out.join("e0/notes/runbook.md"), "mine\n").unwrap();
            let _ = std::os::unix::fs::symlink("../main", out.join("e1/main-link"));
            pictures(&out)
        })
        .collect();
    let (to_b, to_a) = (&expected[0], &expected[1]);
    assert_ne!(to_a, to_b);
    let files: usize = to_a.values().map(BTreeMap::len).sum();
    assert!(files > 500, "{files} entries is too few to kill mid-write");

    // How long a full switch takes, to spread the kills over it.
    let start = Instant::now();
    assert!(render_into(&b, &out).status().unwrap().success());
    let span = start.elapsed();
    assert!(render_into(&a, &out).status().unwrap().success());
    assert_eq!(&pictures(&out), to_a);

    // Bounded: a fixed list of delays across the run, for both directions.
    let mut current = to_a;
    let mut kills_mid_swap = 0;
    // The loop is bounded by a count, and by a budget once a few kills are done.
    let started = Instant::now();
    for step in 0..10u32 {
        if step >= 4 && started.elapsed() > span * 6 {
            break;
        }
        let (root, target) = match step % 2 {
            0 => (&b, to_b),
            _ => (&a, to_a),
        };
        let delay = span.mul_f64(f64::from(step + 1) / 11.0);
        let mut child = render_into(root, &out).spawn().unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        let now = pictures(&out);
        for (branch, tree) in &now {
            assert!(
                tree == &current[branch] || tree == &target[branch],
                "step {step}: branch {branch} is neither the old nor the new tree"
            );
            if !finished && tree == &target[branch] && tree != &current[branch] {
                kills_mid_swap += 1;
            }
        }
        // The next run cleans up and succeeds without --force.
        assert!(render_into(root, &out).status().unwrap().success());
        assert_eq!(&pictures(&out), target, "step {step}");
        assert_eq!(leftovers(&out), Vec::<String>::new(), "step {step}");
        current = target;
    }
    // Not asserted (it depends on the machine's speed), only shown with --nocapture.
    println!("{kills_mid_swap} kills landed between two branch swaps; span {span:?}");
}

#[test]
fn debris_of_a_killed_run_is_cleaned_and_a_parked_branch_put_back() {
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let before = pictures_of(&out);
    // Killed while staging: an unfinished stage. Killed between the two renames of the
    // fallback: `main` parked, not yet replaced.
    fs::create_dir_all(out.join(".fleetgen-stage-6d61696e/clusters")).unwrap();
    fs::write(out.join(".fleetgen-stage-6d61696e/clusters/x.yaml"), "half").unwrap();
    fs::rename(out.join("main"), out.join(".fleetgen-old-6d61696e")).unwrap();
    // Names that decode to a path outside the output are only ever removed.
    fs::create_dir_all(out.join(".fleetgen-old-2e2e2f6574632f78")).unwrap();
    fleetgen(fleet.path()).arg("render").assert().success();
    assert_eq!(pictures_of(&out), before);
    assert!(!fleet.path().join("etc/x").exists());
}

fn pictures_of(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    picture(out)
}

#[test]
fn render_works_with_few_file_descriptors() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("fleet");
    synthetic_fleet(&root, 3, 8, "a");
    let output = fleetgen_sh(&root, "ulimit -n 48", "render");
    assert!(output.status.success(), "{output:?}");
    let files = walkdir::WalkDir::new(root.join("out"))
        .into_iter()
        .filter(|entry| entry.as_ref().unwrap().file_type().is_file())
        .count();
    assert!(files > 200, "{files}");
    // A change to every tenant's files, written under the same limit.
    synthetic_fleet(&root, 3, 8, "b");
    let output = fleetgen_sh(&root, "ulimit -n 48", "render");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_no_op_render_writes_nothing_and_keeps_every_inode() {
    use std::os::unix::fs::MetadataExt;
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let inodes = |out: &Path| -> BTreeMap<PathBuf, u64> {
        walkdir::WalkDir::new(out)
            .into_iter()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.path().to_path_buf(), entry.metadata().unwrap().ino())
            })
            .collect()
    };
    let before = inodes(&out);
    let assert = fleetgen(fleet.path()).arg("render").assert().success();
    assert!(stderr_of(&assert).contains("0 added, 0 modified, 0 removed"));
    assert_eq!(inodes(&out), before);
}

#[test]
fn hand_written_files_with_any_name_survive_a_swap() {
    use std::os::unix::ffi::OsStrExt;
    let fleet = example_fleet();
    fleetgen(fleet.path()).arg("render").assert().success();
    let out = fleet.path().join("out");
    let odd = out
        .join("dev")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::create_dir(&odd).unwrap();
    fs::write(odd.join(std::ffi::OsStr::from_bytes(b"n\xf6tes")), "mine").unwrap();
    std::os::unix::fs::symlink("/nowhere", out.join("dev/dangling")).unwrap();
    fs::remove_file(fleet.path().join("environments/dev/tenants/yakuza.yaml")).unwrap();
    fleetgen(fleet.path()).arg("render").assert().success();
    assert_eq!(
        fs::read_to_string(odd.join(std::ffi::OsStr::from_bytes(b"n\xf6tes"))).unwrap(),
        "mine"
    );
    assert_eq!(
        fs::read_link(out.join("dev/dangling")).unwrap(),
        Path::new("/nowhere")
    );
    assert!(!out.join("dev/tenants/k3d-america/yakuza").exists());
}

/// A long render shows how far it is: rendering counts every blueprint × unit, validation every
/// file, writing every file of a changed branch; an unchanged re-render stages nothing.
#[test]
fn render_validate_and_write_report_every_step() {
    use fleetgen::progress::Counter;
    let fleet = example_fleet();
    let progress = Counter::default();
    let unchecked = fleetgen::pipeline::compile_unchecked(fleet.path(), &[], &progress).unwrap();
    let (compiled, _) = unchecked.gate(&Default::default(), &progress).unwrap();
    let out = fleet.path().join("out");
    let options = fleetgen::sinks::write::Options { force: false };
    fleetgen::sinks::write::write_with(&out, &compiled.rendered.branches, options, &progress)
        .unwrap();
    let files: u64 = compiled
        .rendered
        .branches
        .iter()
        .map(|(_, tree)| tree.len() as u64)
        .sum();
    let stages = progress.stages();
    let names: Vec<&str> = stages.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, ["rendering", "validating", "writing"]);
    let (_, units, rendered) = &stages[0];
    assert!(*units > 0 && rendered == units, "{stages:?}");
    assert_eq!(stages[1].1, files, "{stages:?}");
    assert_eq!(stages[2].1, files, "{stages:?}");
    assert_eq!(stages[2].2, files, "{stages:?}");

    let again = Counter::default();
    fleetgen::sinks::write::write_with(&out, &compiled.rendered.branches, options, &again).unwrap();
    assert_eq!(again.stages(), [("writing".to_owned(), 0, 0)]);

    // Without validation, the value check reads back every file a template wrote.
    let unvalidated = Counter::default();
    fleetgen::pipeline::compile_with(fleet.path(), &[], &unvalidated).unwrap();
    let stages = unvalidated.stages();
    let names: Vec<&str> = stages.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, ["rendering", "checking values"]);
    let (_, read, checked) = &stages[1];
    assert!(*read > 0 && read == checked && *read < files, "{stages:?}");
}

/// Branches are staged side by side: when one of them cannot be staged, no branch is swapped
/// in and every stage is removed, so the output is the old one, whole.
#[test]
fn a_branch_that_cannot_be_staged_leaves_every_branch_old() {
    let fleet = tempfile::tempdir().unwrap();
    synthetic_fleet(fleet.path(), 2, 2, "old");
    let out = fleet.path().join("out");
    assert!(render_into(fleet.path(), &out).status().unwrap().success());
    // A hand-written file where the new e1 tree needs a folder: e1 fails while it is staged,
    // after main and e0 (which change too) may have been staged already.
    fs::remove_dir_all(out.join("e1/tenants")).unwrap();
    fs::write(out.join("e1/tenants"), "a file in the way").unwrap();
    synthetic_fleet(fleet.path(), 2, 2, "new");
    let before = pictures(&out);
    // --force: past the hand-edit refusal, into staging.
    let output = render_into(fleet.path(), &out)
        .arg("--force")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("out/e1/tenants: File exists"), "{stderr}");
    assert_eq!(pictures(&out), before, "{stderr}");
    assert_eq!(leftovers(&out), Vec::<String>::new());
}
