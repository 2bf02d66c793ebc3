//! The day-to-day loop in one repository (`main` checked out, source and rendered files side
//! by side) and `commit` killed at every stage of moving the branches: the next run always
//! sees all branches old or all new, and never a checkout that `git commit -a` would undo.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const GIT_ENV: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "Fleet Bot"),
    ("GIT_AUTHOR_EMAIL", "bot@example.com"),
    ("GIT_COMMITTER_NAME", "Fleet Bot"),
    ("GIT_COMMITTER_EMAIL", "bot@example.com"),
];

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .envs(GIT_ENV)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn fleetgen(dir: &Path) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("fleetgen"));
    command
        .arg("-C")
        .arg(dir)
        .envs(GIT_ENV)
        .env("NO_COLOR", "1");
    command
}

/// Runs fleetgen in `dir`: whether it succeeded, and what it said on stderr.
fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    outcome(fleetgen(dir).args(args))
}

fn outcome(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("fleetgen runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `commit` with the test hook that stops the process at `point` (see
/// `sinks::journal`), which it must reach.
fn commit_stopped_at(dir: &Path, point: &str) {
    let (ok, _) = outcome(
        fleetgen(dir)
            .arg("commit")
            .env("FLEETGEN_TEST_STOP_AT", point),
    );
    assert!(!ok, "{point}: the process was stopped");
}

/// A repository whose branches were committed once, then a committed source edit whose
/// `commit` stopped at `point`.
fn edit_stopped_at(point: &str, round: usize) -> tempfile::TempDir {
    let dir = repo();
    let root = dir.path();
    assert!(run(root, &["commit"]).0);
    edit_source(root, round);
    git(root, &["commit", "-qam", "source edit"]);
    commit_stopped_at(root, point);
    dir
}

/// The example fleet in a new repository, its source committed on `main`.
fn repo() -> tempfile::TempDir {
    let dir = common::example_fleet();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "fleet source"]);
    dir
}

fn heads(dir: &Path) -> BTreeMap<String, String> {
    git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
        ],
    )
    .lines()
    .map(|line| {
        let (name, oid) = line.split_once(' ').unwrap();
        (name.to_owned(), oid.to_owned())
    })
    .collect()
}

/// Sets the pod CIDR of cluster k3d-emea's file to the `round`th of a few free networks.
fn edit_source(dir: &Path, round: usize) {
    let file = dir.join("fleet/clusters/k3d-emea.env");
    let text = fs::read_to_string(&file).unwrap();
    let edited: String = text
        .lines()
        .map(|line| {
            if line.starts_with("SYNC_INTERVAL=") {
                format!("SYNC_INTERVAL={}m", 2 + round)
            } else {
                line.to_owned()
            }
        })
        .chain((!text.contains("SYNC_INTERVAL=")).then(|| format!("SYNC_INTERVAL={}m", 2 + round)))
        .map(|line| line + "\n")
        .collect();
    fs::write(&file, edited).unwrap();
}

/// Whether `git commit -a` here would delete a file: the trap of a checkout left behind.
fn commit_a_would_delete(dir: &Path) -> Vec<String> {
    git(dir, &["status", "--porcelain"])
        .lines()
        .filter(|line| line.starts_with(" D") || line.starts_with("D"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn twenty_rounds_of_source_edits_and_commits_never_leave_a_trap() {
    let dir = repo();
    let root = dir.path();
    for round in 0..20 {
        edit_source(root, round);
        if round % 2 == 0 {
            // Render first, from the uncommitted edit; then commit the source.
            let (ok, stderr) = run(root, &["commit"]);
            assert!(ok, "round {round}: {stderr}");
            assert!(
                stderr.contains("uncommitted changes of the fleet source"),
                "{stderr}"
            );
            assert_eq!(
                commit_a_would_delete(root),
                Vec::<String>::new(),
                "round {round}"
            );
            git(root, &["commit", "-qam", &format!("source {round}")]);
        } else {
            git(root, &["commit", "-qam", &format!("source {round}")]);
            let (ok, stderr) = run(root, &["commit", "--require-clean"]);
            assert!(ok, "round {round}: {stderr}");
        }
        assert_eq!(git(root, &["status", "--porcelain"]), "", "round {round}");
        assert!(root.join("clusters/k3d-emea/infrastructure.yaml").is_file());
    }
    let (ok, stderr) = run(root, &["diff", "--exit-code"]);
    assert!(ok, "{stderr}");
}

/// Sets a file's modification time to `nanos` past second `SECOND`.
fn set_mtime(file: &Path, nanos: u32) {
    const SECOND: u64 = 1_700_000_000;
    let time = std::time::UNIX_EPOCH + Duration::new(SECOND, nanos);
    fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// git compares whole seconds: a source file edited within the second its index entry was
/// staged in, and the index written in that second too, is one git must re-read, and it knows
/// so only while the index is no newer than the file. Updating the checkout writes the index
/// later; the edit must still show, or the next `git commit -a` silently leaves it out.
#[test]
fn a_source_edit_in_the_second_the_index_was_written_stays_visible() {
    let dir = repo();
    let root = dir.path();
    // Only the second of mtime and the size count, as on file systems without finer times;
    // the edits below keep the size.
    git(root, &["config", "core.checkStat", "minimal"]);
    git(root, &["config", "core.trustctime", "false"]);
    let commit = || run(root, &["commit"]);
    assert!(commit().0);

    let source = root.join("fleet/clusters/k3d-emea.env");
    edit_source(root, 1);
    set_mtime(&source, 100_000_000);
    git(root, &["commit", "-qam", "source 1"]);
    set_mtime(&root.join(".git/index"), 500_000_000);
    edit_source(root, 2);
    set_mtime(&source, 200_000_000);

    let (ok, stderr) = commit();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("updated the checkout"), "{stderr}");
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        " M fleet/clusters/k3d-emea.env\n"
    );
}

#[test]
fn a_dirty_rendered_path_is_refused_and_no_branch_moves() {
    let dir = repo();
    let root = dir.path();
    assert!(run(root, &["commit"]).0);
    edit_source(root, 3);
    git(root, &["commit", "-qam", "interval"]);
    let before_main = heads(root);
    // A file of main the change rewrites, edited by hand in the checkout.
    let stat = fleetgen(root).args(["diff", "--stat"]).output().unwrap();
    let stat = String::from_utf8(stat.stdout).unwrap();
    let changed = stat
        .lines()
        .filter_map(|line| line.trim().split(' ').next()?.strip_prefix("main/"))
        .find(|path| !path.starts_with(".fleetgen"))
        .expect("the change rewrites a file of main")
        .to_owned();
    let changed = changed.as_str();
    let file = root.join(changed);
    fs::write(
        &file,
        format!("{}# mine\n", fs::read_to_string(&file).unwrap()),
    )
    .unwrap();
    let (ok, stderr) = run(root, &["commit"]);
    assert!(!ok);
    assert!(stderr.contains(changed), "{stderr}");
    assert!(stderr.contains("no branch was changed"), "{stderr}");
    assert_eq!(heads(root), before_main);
}

#[test]
fn an_unborn_checked_out_branch_is_created_with_its_files() {
    let dir = common::example_fleet();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    let (ok, stderr) = run(root, &["commit"]);
    assert!(ok, "{stderr}");
    assert!(
        root.join("clusters/k3d-america/infrastructure.yaml")
            .is_file()
    );
    // Only the fleet source, never committed, shows; no rendered file is missing.
    let status = git(root, &["status", "--porcelain"]);
    assert!(
        status.lines().all(|line| line.starts_with("?? ")),
        "{status}"
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "fleet source"]);
    assert!(
        git(root, &["show", "--stat", "--format=", "HEAD"])
            .lines()
            .all(|line| !line.trim_start().starts_with("clusters/")),
    );
}

/// The branches as the next run sees them are either exactly `old` or exactly `new`.
fn assert_all_old_or_all_new(
    now: &BTreeMap<String, String>,
    old: &BTreeMap<String, String>,
    context: &str,
) {
    let moved: Vec<&String> = now
        .iter()
        .filter(|(name, oid)| old.get(*name) != Some(oid))
        .map(|(name, _)| name)
        .collect();
    assert!(
        moved.is_empty() || moved.len() == 3,
        "{context}: only {moved:?} moved"
    );
}

#[test]
fn a_commit_stopped_while_moving_refs_is_finished_by_the_next_run() {
    // `mid`: stopped with every ref locked, then one lock renamed into place by hand, as the
    // ref-by-ref commit of the locks would have left it: main new, dev and qa old and locked.
    for point in ["refs", "mid", "checkouts"] {
        let dir = repo();
        let root = dir.path();
        let stop_at = if point == "mid" { "refs" } else { point };
        commit_stopped_at(root, stop_at);
        let journal = root.join(".git/fleetgen-refs.journal");
        assert!(journal.exists(), "{point}");
        if point == "mid" {
            let text = fs::read_to_string(&journal).unwrap();
            let new_main = text
                .lines()
                .find(|line| line.ends_with(" refs/heads/main"))
                .and_then(|line| line.split(' ').nth(1))
                .unwrap()
                .to_owned();
            let refs = root.join(".git/refs/heads");
            fs::remove_file(refs.join("main.lock")).unwrap();
            fs::write(refs.join("main"), format!("{new_main}\n")).unwrap();
            assert!(refs.join("dev.lock").exists());
        }
        // Whatever was left, the next run (here a read-only diff) finishes the update.
        let (ok, stderr) = run(root, &["diff", "--exit-code"]);
        assert!(ok, "{point}: {stderr}");
        assert!(
            stderr.contains("finished an interrupted fleetgen commit"),
            "{point}: {stderr}"
        );
        assert_eq!(heads(root).len(), 3, "{point}");
        assert!(!root.join(".git/fleetgen-refs.journal").exists());
        let leftover_locks: Vec<_> = walkdir::WalkDir::new(root.join(".git/refs"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "lock"))
            .collect();
        assert!(leftover_locks.is_empty(), "{point}: {leftover_locks:?}");
        assert_eq!(git(root, &["status", "--porcelain"]), "", "{point}");
    }
}

#[test]
fn a_lock_of_a_live_process_is_never_taken() {
    let dir = repo();
    let root = dir.path();
    // A git command (this test) holds main's lock.
    let lock = root.join(".git/refs/heads/main.lock");
    fs::write(&lock, "").unwrap();
    let (ok, stderr) = run(root, &["commit"]);
    assert!(!ok);
    assert!(stderr.contains("refs/heads/main is locked"), "{stderr}");
    assert!(lock.exists());
    assert!(heads(root).len() == 1, "no branch was created");
    assert!(!root.join(".git/fleetgen-refs.journal").exists());

    // A journal of a live process (this test's): another fleetgen is at work.
    fs::remove_file(&lock).unwrap();
    let journal = root.join(".git/fleetgen-refs.journal");
    fs::write(
        &journal,
        format!(
            "fleetgen ref journal 1\npid {}\n{} {} refs/heads/dev\nend\n",
            std::process::id(),
            "0".repeat(40),
            "1".repeat(40)
        ),
    )
    .unwrap();
    let (ok, stderr) = run(root, &["commit"]);
    assert!(!ok);
    assert!(stderr.contains("another fleetgen"), "{stderr}");
    assert!(journal.exists());
}

/// Kills `commit` at whatever moment a delay lands on, a bounded number of times; after each
/// kill the next run must see every branch old or every branch new, and the loop must end
/// with the branches matching the source.
#[test]
fn kill_loop_commit() {
    let dir = repo();
    let root = dir.path();
    // A first commit gives the branches a history, and a measure of how long one takes.
    let started = std::time::Instant::now();
    assert!(run(root, &["commit"]).0);
    let span = started.elapsed().as_micros().max(1000) as u64;
    for round in 0..12u64 {
        edit_source(root, round as usize);
        git(root, &["commit", "-qam", &format!("source {round}")]);
        let before = heads(root);
        let mut child = fleetgen(root)
            .arg("commit")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the whole run, deterministically.
        std::thread::sleep(Duration::from_micros(span * (round + 1) / 12));
        let _ = child.kill();
        let _ = child.wait();
        let (ok, stderr) = run(root, &["diff", "--stat"]);
        assert!(ok, "round {round}: {stderr}");
        assert_all_old_or_all_new(&heads(root), &before, &format!("round {round}"));
        assert_eq!(
            commit_a_would_delete(root),
            Vec::<String>::new(),
            "round {round}"
        );
        let (ok, stderr) = run(root, &["commit"]);
        assert!(ok, "round {round}: {stderr}");
        assert_eq!(git(root, &["status", "--porcelain"]), "", "round {round}");
    }
}

/// A `commit` killed while it rewrote a file of the checkout (the refs moved, the index not
/// yet written) is finished by the next run: no path is left half written or missing.
#[test]
fn a_commit_stopped_while_writing_a_checkout_file_is_finished_by_the_next_run() {
    let dir = edit_stopped_at("checkout-file", 0);
    let root = dir.path();
    let (ok, stderr) = run(root, &["diff", "--exit-code"]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert!(run(root, &["commit"]).0);
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

/// An index lock left by a killed process is never taken over, but named with the way out;
/// once it is gone the next run finishes the checkout.
#[test]
fn a_stale_index_lock_stops_the_roll_forward_with_a_hint() {
    let dir = edit_stopped_at("checkout-file", 1);
    let root = dir.path();
    let lock = root.join(".git/index.lock");
    fs::write(&lock, "").unwrap();
    let diff = || run(root, &["diff", "--exit-code"]);
    let (ok, stderr) = diff();
    assert!(!ok);
    assert!(stderr.contains("index.lock exists"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(lock.exists(), "another's lock is never removed");
    fs::remove_file(&lock).unwrap();
    let (ok, stderr) = diff();
    assert!(ok, "{stderr}");
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

/// What a `commit` killed inside libgit2's write of the index leaves: the index's lock, and
/// the file naming fleetgen as its writer, written before the lock was taken. The next run
/// knows that lock for its own, removes it and finishes the checkout.
#[test]
fn an_index_lock_a_killed_commit_left_is_cleared_by_the_next_run() {
    let dir = edit_stopped_at("index-write", 2);
    let root = dir.path();
    let owner = root.join(".git/fleetgen-index.owner");
    assert!(owner.exists(), "the writer was named before the write");
    // The lock libgit2 had taken when the kill came: after the owner file.
    std::thread::sleep(Duration::from_millis(20));
    let lock = root.join(".git/index.lock");
    fs::write(&lock, "").unwrap();
    let (ok, stderr) = run(root, &["diff", "--exit-code"]);
    assert!(ok, "{stderr}");
    assert!(!lock.exists() && !owner.exists());
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert!(run(root, &["commit"]).0);
}

/// A lock older than the owner file, or taken long after it, is someone else's, and a live
/// writer's lock is its own business: none of them is removed.
#[test]
fn an_index_lock_fleetgen_did_not_leave_is_never_removed() {
    for case in ["older", "much later", "live writer"] {
        let dir = edit_stopped_at("checkout-file", 3);
        let root = dir.path();
        let lock = root.join(".git/index.lock");
        let owner = root.join(".git/fleetgen-index.owner");
        let mut gone = Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        fs::write(&lock, "").unwrap();
        let live = case == "live writer";
        // This test's own process is alive; the child that already ended is not.
        let pid = if live { std::process::id() } else { gone.id() };
        fs::write(&owner, pid.to_string()).unwrap();
        let at = |file: &Path, seconds: u64| {
            let time = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds);
            let file = fs::File::options().write(true).open(file).unwrap();
            file.set_modified(time).unwrap();
        };
        match case {
            "older" => (at(&lock, 0), at(&owner, 1)),
            "much later" => (at(&owner, 0), at(&lock, 10)),
            _ => (at(&owner, 0), at(&lock, 0)),
        };
        let (ok, stderr) = run(root, &["diff", "--exit-code"]);
        assert!(!ok, "{case}");
        assert!(stderr.contains("index.lock exists"), "{case}: {stderr}");
        assert!(lock.exists(), "{case}");
        assert_eq!(
            owner.exists(),
            live,
            "{case}: a gone writer's name is dropped"
        );
    }
}
