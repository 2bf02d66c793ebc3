//! `commit` on real repositories, through the library: each test builds a fleet repo in a
//! temporary directory, commits rendered trees built by hand and looks at the result with git2.
//! What a commit leaves alone is in `tests/git_left_alone.rs`, `diff` and `check` in
//! `tests/git_compare.rs`; `tests/git_cli.rs` runs the binary.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use git2::Oid;

use common::git::{TIME, commit_by_hand, committed, files, fleet, head, new_repo, options, tree};
use fleetgen::Error;
use fleetgen::sinks::changes::FileChange;
use fleetgen::sinks::diff;
use fleetgen::sinks::git::{self, CommitOptions, Outcome, Target};
use fleetgen::tree::{Branches, OWNED_LIST};

#[test]
fn the_first_commit_creates_every_branch() {
    let (_dir, repo) = new_repo();
    let rendered = fleet(&[]);
    let done = git::commit(&repo, &rendered, &options()).unwrap();
    assert_eq!(done.len(), 2);
    for result in &done {
        let commit = repo.find_commit(committed(&result.outcome)).unwrap();
        assert_eq!(commit.parent_count(), 0);
        assert_eq!(commit.author().name(), Ok("Fleet Bot"));
        assert_eq!(
            (commit.time().seconds(), commit.time().offset_minutes()),
            (TIME, 60)
        );
        assert_eq!(head(&repo, &result.target.branch), Some(commit.id()));
    }
    for (branch, tree) in rendered.iter() {
        assert_eq!(
            &git::read_branch(&repo, branch).unwrap().unwrap().1,
            tree,
            "{branch}"
        );
    }
    let dev = repo.find_commit(head(&repo, "dev").unwrap()).unwrap();
    assert_eq!(dev.summary(), Ok(Some("Render environment dev: a")));
}

/// `git fsck --strict` finds nothing wrong in the repository at `dir`.
fn assert_fsck_passes(dir: &std::path::Path) {
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-dangling"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

/// A commit run stores its objects as one pack, not a file each, and Git reads it whole.
#[test]
fn a_commit_run_writes_one_pack_that_git_accepts() {
    let (dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let objects = repo.path().join("objects");
    let loose: Vec<_> = std::fs::read_dir(&objects)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.len() == 2)
        .collect();
    assert_eq!(loose, Vec::<String>::new());
    let packs = std::fs::read_dir(objects.join("pack"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("pack".as_ref()))
        .count();
    assert_eq!(packs, 1);
    assert_fsck_passes(dir.path());
    // A second run with a change adds one more pack, readable together with the first.
    git::commit(
        &repo,
        &fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 2\n"))]),
        &options(),
    )
    .unwrap();
    assert_fsck_passes(dir.path());
}

/// The object ids in each pack of the repository at `dir`, by pack file name.
fn packed(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let packs = dir.join(".git/objects/pack");
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(&packs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() != Some("idx".as_ref()) {
            continue;
        }
        let index = std::process::Command::new("git")
            .arg("show-index")
            .stdin(fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        assert!(index.status.success());
        let ids = String::from_utf8(index.stdout)
            .unwrap()
            .lines()
            .map(|line| line.split(' ').nth(1).unwrap().to_owned())
            .collect();
        found.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            ids,
        );
    }
    found
}

/// A commit run packs only objects the repository lacks: a file changed to content the
/// repository already holds, and the trees left as they were, are not stored twice.
#[test]
fn a_commit_run_packs_no_object_the_repository_had() {
    let (dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let before = packed(dir.path());
    let had: std::collections::BTreeSet<&String> = before.values().flatten().collect();
    let existing = "path: ./infra/a\n";
    let new = "replicas: 3\n";
    git::commit(
        &repo,
        &fleet(&[
            ("infra/a/redis/deployment.yaml", Some(existing)),
            ("infra/a/redis/service.yaml", Some(new)),
            (
                "tenants/a/team/apps/api.yaml",
                Some("namespace: dev-team\n"),
            ),
        ]),
        &options(),
    )
    .unwrap();
    let after = packed(dir.path());
    let added: Vec<&String> = after
        .iter()
        .filter(|(name, _)| !before.contains_key(*name))
        .flat_map(|(_, ids)| ids)
        .collect();
    let blob = |content: &str| {
        Oid::hash_object(git2::ObjectType::Blob, content.as_bytes())
            .unwrap()
            .to_string()
    };
    assert!(had.contains(&blob(existing)));
    assert!(added.contains(&&blob(new)), "{added:?}");
    let again: Vec<&&String> = added.iter().filter(|id| had.contains(**id)).collect();
    assert_eq!(again, Vec::<&&String>::new());
    assert_fsck_passes(dir.path());
}

#[test]
fn a_second_commit_with_nothing_changed_creates_nothing() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let before = (head(&repo, "main"), head(&repo, "dev"));
    let done = git::commit(&repo, &fleet(&[]), &options()).unwrap();
    assert!(
        done.iter()
            .all(|result| result.outcome == Outcome::UpToDate && result.changes.is_empty())
    );
    assert_eq!((head(&repo, "main"), head(&repo, "dev")), before);
}

#[test]
fn a_changed_file_lands_as_one_commit_on_its_branch_only() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let (main_before, dev_before) = (head(&repo, "main").unwrap(), head(&repo, "dev").unwrap());

    let changed = fleet(&[(
        "tenants/a/team/apps/web.yaml",
        Some("path: ./web/a\nprune: true\n"),
    )]);
    git::commit(&repo, &changed, &options()).unwrap();

    assert_eq!(head(&repo, "main"), Some(main_before));
    let dev = repo.find_commit(head(&repo, "dev").unwrap()).unwrap();
    assert_eq!(dev.parent_ids().collect::<Vec<_>>(), [dev_before]);
    let old_tree = repo.find_commit(dev_before).unwrap().tree().unwrap();
    let new_tree = dev.tree().unwrap();
    let delta = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
        .unwrap();
    let paths: Vec<String> = delta
        .deltas()
        .map(|delta| {
            delta
                .new_file()
                .path()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(paths, [OWNED_LIST, "tenants/a/team/apps/web.yaml"]);
    // Directories without changes are the very same trees.
    for unchanged in ["clusters", "infra"] {
        assert_eq!(
            old_tree.get_name(unchanged).unwrap().id(),
            new_tree.get_name(unchanged).unwrap().id()
        );
    }
    assert_ne!(
        old_tree.get_name("tenants").unwrap().id(),
        new_tree.get_name("tenants").unwrap().id()
    );
    let message = dev.message().unwrap();
    assert!(
        message.contains("cluster a: tenant team\n")
            && message.contains("\nM tenants/a/team/apps/web.yaml\n"),
        "{message}"
    );
}

#[test]
fn a_branch_moved_meanwhile_is_detected_and_nothing_is_lost() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let main_before = head(&repo, "main").unwrap();
    let dev_before = head(&repo, "dev").unwrap();

    let changed = fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 2\n"))]);
    let main_target = Target::read(&repo, "main", None).unwrap();
    let dev_target = Target::read(&repo, "dev", None).unwrap();
    // Between reading the branches and updating them, someone else commits to dev.
    let theirs = commit_by_hand(&repo, "dev", "docs/runbook.md", Some("call someone\n"));

    let targets = [
        (main_target, &changed.trees["main"]),
        (dev_target, &changed.trees["dev"]),
    ];
    let error = git::commit_targets(&repo, &targets, &options()).unwrap_err();
    match &error {
        Error::BranchMoved {
            branch,
            expected,
            found,
        } => {
            assert_eq!(
                (branch.as_str(), *expected, *found),
                ("dev", Some(dev_before), Some(theirs))
            );
        }
        other => panic!("expected BranchMoved, got {other}"),
    }
    assert!(
        error.to_string().contains("no branch was changed"),
        "{error}"
    );
    assert_eq!(head(&repo, "dev"), Some(theirs));
    assert_eq!(head(&repo, "main"), Some(main_before));

    // Trying again builds on their commit and keeps their file.
    git::commit(&repo, &changed, &options()).unwrap();
    let dev = repo.find_commit(head(&repo, "dev").unwrap()).unwrap();
    assert_eq!(dev.parent_ids().collect::<Vec<_>>(), [theirs]);
    let files = files(&repo, "dev");
    assert_eq!(files["docs/runbook.md"], "call someone\n");
    assert_eq!(files["infra/a/redis/deployment.yaml"], "replicas: 2\n");
}

#[test]
fn a_branch_created_meanwhile_is_detected() {
    let (_dir, repo) = new_repo();
    let rendered = fleet(&[]);
    let target = Target::read(&repo, "dev", None).unwrap();
    assert_eq!(target.expected, None);
    let theirs = commit_by_hand(&repo, "dev", "README.md", Some("ours\n"));
    let error = git::commit_branch(&repo, &target, &rendered.trees["dev"], &options()).unwrap_err();
    assert!(
        matches!(error, Error::BranchMoved { expected: None, found: Some(found), .. } if found == theirs),
        "{error}"
    );
    assert_eq!(head(&repo, "dev"), Some(theirs));
}

#[test]
fn a_branch_known_only_from_origin_is_continued_not_restarted() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    // As in a fresh clone: dev exists only as origin/dev.
    let remote = head(&repo, "dev").unwrap();
    repo.reference("refs/remotes/origin/dev", remote, false, "clone")
        .unwrap();
    repo.find_reference("refs/heads/dev")
        .unwrap()
        .delete()
        .unwrap();

    assert!(diff::against_repo(&repo, &fleet(&[])).unwrap().is_empty());
    let changed = fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 2\n"))]);
    let done = git::commit(&repo, &changed, &options()).unwrap();
    let dev = done
        .iter()
        .find(|result| result.target.branch == "dev")
        .unwrap();
    assert_eq!(dev.changes.len(), 2);
    let commit = repo.find_commit(committed(&dev.outcome)).unwrap();
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), [remote]);
    assert_eq!(head(&repo, "dev"), Some(commit.id()));
    assert_eq!(
        git::head(&repo, "refs/remotes/origin/dev").unwrap(),
        Some(remote)
    );
}

/// Branches are planned at once; each result is still its own branch's, in branch order,
/// exactly what planning that branch alone gives.
#[test]
fn branches_planned_at_once_get_the_changes_each_would_get_alone() {
    let (_dir, repo) = new_repo();
    let rendered = |round: usize| Branches {
        trees: (0..8)
            .map(|branch| {
                let files: Vec<(String, String)> = (0..6)
                    // Each branch changes, adds and drops files of its own in round 1.
                    .filter(|file| round == 0 || (file + branch) % 4 != 0)
                    .map(|file| {
                        let edit = round * usize::from((file * branch) % 3 == 1);
                        (
                            format!("clusters/c{file}/app-{branch}.yaml"),
                            format!("branch: {branch}\nfile: {file}\nedit: {edit}\n"),
                        )
                    })
                    .chain(
                        (round == 1 && branch % 2 == 0)
                            .then(|| (format!("new/{branch}.yaml"), format!("new: {branch}\n"))),
                    )
                    .collect();
                let files: Vec<(&str, &str)> = files
                    .iter()
                    .map(|(path, content)| (path.as_str(), content.as_str()))
                    .collect();
                (format!("e{branch}"), tree(&files))
            })
            .collect(),
    };
    git::commit(&repo, &rendered(0), &options()).unwrap();
    let next = rendered(1);
    let dry = CommitOptions {
        dry_run: true,
        ..options()
    };
    let done = git::commit(&repo, &next, &dry).unwrap();
    let branches: Vec<&str> = done.iter().map(|r| r.target.branch.as_str()).collect();
    assert_eq!(branches, ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"]);
    for (result, (branch, tree)) in done.iter().zip(next.iter()) {
        let alone = git::changes(&repo, branch, head(&repo, branch), tree).unwrap();
        assert!(!alone.is_empty(), "{branch}");
        assert!(alone.iter().all(|change| change.branch == branch));
        // A commit takes the contents from the rendered tree; its changes carry none.
        assert!(
            result
                .changes
                .iter()
                .all(|c| c.old.is_none() && c.new.is_none())
        );
        let without_contents: Vec<FileChange> = alone
            .into_iter()
            .map(|change| FileChange {
                old: None,
                new: None,
                ..change
            })
            .collect();
        assert_eq!(result.changes, without_contents, "{branch}");
    }
}

#[test]
fn a_commit_planned_ahead_commits_what_a_commit_would() {
    let (_dir, planned_dir) = new_repo();
    let (_other, direct) = new_repo();
    for repo in [&planned_dir, &direct] {
        git::commit(repo, &fleet(&[]), &options()).unwrap();
    }
    let changed = fleet(&[
        ("tenants/a/team/apps/web.yaml", None),
        ("infra/a/redis/deployment.yaml", Some("replicas: 2\n")),
        ("new/file.yaml", Some("new: yes\n")),
    ]);
    let plan = git::plan(&planned_dir, &changed, None).unwrap().unwrap();
    let planned = git::commit_planned(&planned_dir, &changed, plan, &options()).unwrap();
    let committed = git::commit(&direct, &changed, &options()).unwrap();
    for (a, b) in planned.iter().zip(&committed) {
        assert_eq!(
            (&a.target.branch, &a.changes, &a.message),
            (&b.target.branch, &b.changes, &b.message)
        );
        assert_eq!(a.outcome, b.outcome, "same signature and time, same commit");
    }
    for branch in ["main", "dev"] {
        assert_eq!(
            files(&planned_dir, branch),
            files(&direct, branch),
            "{branch}"
        );
    }
}

#[test]
fn a_commit_planned_ahead_moves_no_ref_when_one_moved_meanwhile() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let main_before = head(&repo, "main");
    let changed = fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 2\n"))]);
    let plan = git::plan(&repo, &changed, None).unwrap().unwrap();
    // While the rendered trees were being validated, someone committed to dev.
    let theirs = commit_by_hand(&repo, "dev", "docs/runbook.md", Some("call someone\n"));
    let error = git::commit_planned(&repo, &changed, plan, &options()).unwrap_err();
    assert!(
        matches!(error, Error::BranchMoved { ref branch, .. } if branch == "dev"),
        "{error}"
    );
    assert_eq!(
        (head(&repo, "main"), head(&repo, "dev")),
        (main_before, Some(theirs))
    );
}

#[test]
fn no_commit_is_planned_ahead_over_an_interrupted_one() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    // What a killed run leaves: its journal. Planning against refs it is about to move would
    // be planning against the wrong commits, so the plan waits for `commit` to finish it.
    fs::write(repo.commondir().join("fleetgen-refs.journal"), "").unwrap();
    assert!(git::interrupted(&repo));
    assert!(git::plan(&repo, &fleet(&[]), None).unwrap().is_none());
}

#[test]
fn branch_prefix_leaves_the_real_branch_untouched() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let (main_before, dev_before) = (head(&repo, "main"), head(&repo, "dev").unwrap());

    let changed = fleet(&[(
        "tenants/a/team/sandbox.yaml",
        Some("namespace: dev-team\nquota: small\n"),
    )]);
    let review = CommitOptions {
        prefix: Some("review".to_owned()),
        ..options()
    };
    let done = git::commit(&repo, &changed, &review).unwrap();
    assert_eq!(
        (head(&repo, "main"), head(&repo, "dev")),
        (main_before, Some(dev_before))
    );
    // main has nothing to change, so it gets no review branch.
    assert_eq!(head(&repo, "review/main"), None);
    let proposed = committed(
        &done
            .iter()
            .find(|result| result.target.branch == "dev")
            .unwrap()
            .outcome,
    );
    assert_eq!(head(&repo, "review/dev"), Some(proposed));
    assert_eq!(
        repo.find_commit(proposed)
            .unwrap()
            .parent_ids()
            .collect::<Vec<_>>(),
        [dev_before]
    );
    assert_eq!(
        files(&repo, "review/dev")["tenants/a/team/sandbox.yaml"],
        "namespace: dev-team\nquota: small\n"
    );

    // Proposing the same again changes nothing; proposing something else replaces the proposal,
    // still on top of the real branch.
    let again = git::commit(&repo, &changed, &review).unwrap();
    assert!(
        again
            .iter()
            .all(|result| result.outcome == Outcome::UpToDate)
    );
    assert_eq!(head(&repo, "review/dev"), Some(proposed));
    let other = fleet(&[(
        "tenants/a/team/sandbox.yaml",
        Some("namespace: dev-team\nquota: large\n"),
    )]);
    git::commit(&repo, &other, &review).unwrap();
    let replaced = repo
        .find_commit(head(&repo, "review/dev").unwrap())
        .unwrap();
    assert_eq!(replaced.parent_ids().collect::<Vec<_>>(), [dev_before]);
    assert_eq!(head(&repo, "dev"), Some(dev_before));
}

#[test]
fn a_dry_run_writes_no_objects_and_moves_no_refs() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let before = (head(&repo, "main"), head(&repo, "dev"));
    let content = "replicas: 7\n";
    let dry = CommitOptions {
        dry_run: true,
        ..options()
    };
    let done = git::commit(
        &repo,
        &fleet(&[("infra/a/redis/deployment.yaml", Some(content))]),
        &dry,
    )
    .unwrap();
    let dev = done
        .iter()
        .find(|result| result.target.branch == "dev")
        .unwrap();
    assert_eq!(dev.outcome, Outcome::WouldCommit);
    assert!(dev.message.starts_with("Render environment dev: a\n"));
    assert_eq!((head(&repo, "main"), head(&repo, "dev")), before);
    let blob = Oid::hash_object(git2::ObjectType::Blob, content.as_bytes()).unwrap();
    assert!(!repo.odb().unwrap().exists(blob));
}

#[test]
fn the_signature_comes_from_git_config_and_flags_override_it() {
    let (_dir, repo) = new_repo();
    let mut config = repo.config().unwrap();
    config.set_str("user.name", "Config Name").unwrap();
    config.set_str("user.email", "config@example.com").unwrap();
    // The environment may set GIT_AUTHOR_* for the whole test run; only check what the flags
    // decide.
    let (author, _) = git::signatures(&repo, Some("Flag Name"), None).unwrap();
    assert_eq!(author.name(), Ok("Flag Name"));
    let (author, _) = git::signatures(&repo, None, Some("flag@example.com")).unwrap();
    assert_eq!(author.email(), Ok("flag@example.com"));
}
