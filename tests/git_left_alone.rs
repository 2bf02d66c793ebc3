//! What `commit` leaves alone on real repositories, through the library: files it did not
//! write, files edited by hand (refused unless forced) and other checkouts, which it moves only
//! when clean.

mod common;

use std::fs;
use std::path::Path;

use common::git::{
    check_out, checkout_state, commit_by_hand, files, fleet, head, new_repo, options, stage, tree,
};
use fleetgen::Error;
use fleetgen::sinks::changes::Conflict;
use fleetgen::sinks::diff;
use fleetgen::sinks::git::{self, CommitOptions};

#[test]
fn hand_written_files_on_a_branch_survive() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    commit_by_hand(&repo, "dev", "README.md", Some("how this branch works\n"));
    commit_by_hand(&repo, "dev", "tenants/a/team/apps/notes.md", Some("mine\n"));

    // The app goes away: its generated file is pruned, the notes next to it stay.
    git::commit(
        &repo,
        &fleet(&[("tenants/a/team/apps/web.yaml", None)]),
        &options(),
    )
    .unwrap();
    let files = files(&repo, "dev");
    assert_eq!(files["README.md"], "how this branch works\n");
    assert_eq!(files["tenants/a/team/apps/notes.md"], "mine\n");
    assert!(!files.contains_key("tenants/a/team/apps/web.yaml"));

    // Without the notes the directory is gone altogether.
    commit_by_hand(&repo, "dev", "tenants/a/team/apps/notes.md", None);
    git::commit(
        &repo,
        &fleet(&[
            ("tenants/a/team/sandbox.yaml", None),
            ("tenants/a/team/apps/web.yaml", None),
        ]),
        &options(),
    )
    .unwrap();
    let tree = repo
        .find_commit(head(&repo, "dev").unwrap())
        .unwrap()
        .tree()
        .unwrap();
    assert!(tree.get_path(Path::new("tenants")).is_err());
    assert!(tree.get_path(Path::new("README.md")).is_ok());
}

#[test]
fn hand_edits_are_refused_unless_forced() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let edited = commit_by_hand(
        &repo,
        "dev",
        "infra/a/redis/deployment.yaml",
        Some("replicas: 5\n"),
    );
    commit_by_hand(&repo, "dev", "infra/a/redis/service.yaml", Some("mine\n"));
    let theirs = head(&repo, "dev");
    assert_ne!(theirs, Some(edited));

    let changed = fleet(&[
        ("infra/a/redis/deployment.yaml", Some("replicas: 2\n")),
        ("infra/a/redis/service.yaml", Some("ours\n")),
    ]);
    let error = git::commit(&repo, &changed, &options()).unwrap_err();
    assert_eq!(
        hand_edited(&error),
        [
            "dev:infra/a/redis/deployment.yaml",
            "dev:infra/a/redis/service.yaml"
        ]
    );
    assert_eq!(head(&repo, "dev"), theirs);

    // diff reports the same two files as conflicts instead of refusing.
    let drift = diff::against_repo(&repo, &changed).unwrap();
    let conflicts: Vec<(&str, Option<Conflict>)> = drift
        .changes()
        .filter(|c| c.conflict.is_some())
        .map(|c| (c.path.as_str(), c.conflict))
        .collect();
    assert_eq!(
        conflicts,
        [
            (
                "infra/a/redis/deployment.yaml",
                Some(Conflict::EditedByHand)
            ),
            ("infra/a/redis/service.yaml", Some(Conflict::HandWritten))
        ]
    );

    let forced = CommitOptions {
        force: true,
        ..options()
    };
    git::commit(&repo, &changed, &forced).unwrap();
    let files = files(&repo, "dev");
    assert_eq!(files["infra/a/redis/deployment.yaml"], "replicas: 2\n");
    assert_eq!(files["infra/a/redis/service.yaml"], "ours\n");
}

#[test]
fn hand_edits_on_several_branches_are_refused_together_and_forced_per_branch() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    commit_by_hand(
        &repo,
        "main",
        "clusters/b/sync.yaml",
        Some("kind: Kustomization\nname: mine\n"),
    );
    commit_by_hand(
        &repo,
        "dev",
        "infra/a/redis/deployment.yaml",
        Some("replicas: 5\n"),
    );
    let theirs = (head(&repo, "main"), head(&repo, "dev"));

    let mut changed = fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 2\n"))]);
    let main = changed.trees.get_mut("main").unwrap();
    *main = tree(&[
        ("clusters/a/sync.yaml", "kind: Kustomization\nname: a2\n"),
        ("clusters/b/sync.yaml", "kind: Kustomization\nname: b2\n"),
    ]);
    let error = git::commit(&repo, &changed, &options()).unwrap_err();
    assert_eq!(
        hand_edited(&error),
        [
            "dev:infra/a/redis/deployment.yaml",
            "main:clusters/b/sync.yaml"
        ]
    );
    assert_eq!((head(&repo, "main"), head(&repo, "dev")), theirs);

    let forced = CommitOptions {
        force: true,
        ..options()
    };
    let done = git::commit(&repo, &changed, &forced).unwrap();
    let overwritten: Vec<(&str, Vec<&str>)> = done
        .iter()
        .map(|result| {
            let paths = result
                .changes
                .iter()
                .filter(|change| change.conflict == Some(Conflict::EditedByHand))
                .map(|change| change.path.as_str())
                .collect();
            (result.target.branch.as_str(), paths)
        })
        .collect();
    assert_eq!(
        overwritten,
        [
            ("dev", vec!["infra/a/redis/deployment.yaml"]),
            ("main", vec!["clusters/b/sync.yaml"])
        ]
    );
    assert_eq!(
        files(&repo, "main")["clusters/b/sync.yaml"],
        "kind: Kustomization\nname: b2\n"
    );
    assert_eq!(
        files(&repo, "dev")["infra/a/redis/deployment.yaml"],
        "replicas: 2\n"
    );
}

/// The paths a refused commit names, as `branch:path`.
/// Anyone who may push to an environment branch can nest folders there far deeper than a
/// rendered path may go (64 names): comparing and committing descend only where fleetgen
/// renders, so such a folder is neither walked nor lost, and nothing overflows a stack.
#[test]
fn a_folder_nested_thousands_deep_on_a_branch_is_kept() {
    let (_dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    const DEPTH: usize = 20_000;
    let mut inner = {
        let mut builder = repo.treebuilder(None).unwrap();
        let blob = repo.blob(b"deep\n").unwrap();
        builder.insert("notes.md", blob, 0o100_644).unwrap();
        builder.write().unwrap()
    };
    for _ in 0..DEPTH {
        let mut builder = repo.treebuilder(None).unwrap();
        builder.insert("d", inner, 0o040_000).unwrap();
        inner = builder.write().unwrap();
    }
    // Beside rendered folders, at the top and inside one.
    let parent = repo.find_commit(head(&repo, "dev").unwrap()).unwrap();
    let root = parent.tree().unwrap();
    let team = root
        .get_path(Path::new("tenants/a/team"))
        .unwrap()
        .to_object(&repo)
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let with_deep = |tree: Option<&git2::Tree<'_>>| {
        let mut builder = repo.treebuilder(tree).unwrap();
        builder.insert("d", inner, 0o040_000).unwrap();
        builder.write().unwrap()
    };
    let team = with_deep(Some(&team));
    let tenant = {
        let a = root.get_path(Path::new("tenants/a")).unwrap();
        let a = repo.find_tree(a.id()).unwrap();
        let mut builder = repo.treebuilder(Some(&a)).unwrap();
        builder.insert("team", team, 0o040_000).unwrap();
        builder.write().unwrap()
    };
    let tenants = {
        let t = repo
            .find_tree(root.get_path(Path::new("tenants")).unwrap().id())
            .unwrap();
        let mut builder = repo.treebuilder(Some(&t)).unwrap();
        builder.insert("a", tenant, 0o040_000).unwrap();
        builder.write().unwrap()
    };
    let new_root = {
        let mut builder = repo.treebuilder(Some(&root)).unwrap();
        builder.insert("tenants", tenants, 0o040_000).unwrap();
        builder.insert("d", inner, 0o040_000).unwrap();
        repo.find_tree(builder.write().unwrap()).unwrap()
    };
    let who = common::git::signature();
    repo.commit(
        Some(&git::branch_ref("dev")),
        &who,
        &who,
        "deep folders by hand",
        &new_root,
        &[&parent],
    )
    .unwrap();

    let changed = fleet(&[("tenants/a/team/apps/web.yaml", Some("changed: true\n"))]);
    let drift = diff::against_repo(&repo, &changed).unwrap();
    let paths: Vec<&str> = drift.changes().map(|c| c.path.as_str()).collect();
    assert!(paths.contains(&"tenants/a/team/apps/web.yaml"), "{paths:?}");
    assert!(paths.iter().all(|path| !path.contains("d/d")), "{paths:?}");

    git::commit(&repo, &changed, &options()).unwrap();
    let tree = repo
        .find_commit(head(&repo, "dev").unwrap())
        .unwrap()
        .tree()
        .unwrap();
    assert_eq!(tree.get_name("d").unwrap().id(), inner);
    let team = tree.get_path(Path::new("tenants/a/team/d")).unwrap();
    assert_eq!(team.id(), inner);
    assert_eq!(
        files_at(&repo, &tree, "tenants/a/team/apps/web.yaml"),
        "changed: true\n"
    );
}

fn files_at(repo: &git2::Repository, tree: &git2::Tree<'_>, path: &str) -> String {
    let entry = tree.get_path(Path::new(path)).unwrap();
    let blob = repo.find_blob(entry.id()).unwrap();
    String::from_utf8(blob.content().to_vec()).unwrap()
}

fn hand_edited(error: &Error) -> Vec<String> {
    match error {
        Error::HandEdited(paths) => paths
            .iter()
            .map(|path| path.display().to_string())
            .collect(),
        other => panic!("expected HandEdited, got {other}"),
    }
}

#[test]
fn commit_leaves_other_checkouts_alone_and_refuses_a_dirty_one() {
    let (dir, repo) = new_repo();
    // The user works on their own branch, with staged, unstaged and untracked changes.
    commit_by_hand(
        &repo,
        "source",
        "fleet/fleet.yaml",
        Some("repo: {url: x}\n"),
    );
    check_out(&repo, "source");
    fs::write(dir.path().join("fleet/staged.env"), "A=1\n").unwrap();
    stage(&repo, "fleet/staged.env");
    fs::write(dir.path().join("fleet/fleet.yaml"), "repo: {url: y}\n").unwrap();
    fs::write(dir.path().join("untracked.txt"), "?\n").unwrap();

    let before = checkout_state(&repo);
    assert_eq!(before.statuses.len(), 3);
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    git::commit(
        &repo,
        &fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 3\n"))]),
        &options(),
    )
    .unwrap();
    assert_eq!(checkout_state(&repo), before);
    assert_eq!(
        git::checked_out(&repo, "refs/heads/dev").unwrap(),
        Vec::<std::path::PathBuf>::new()
    );

    // With the branch checked out over a working tree that does not hold it, a path the
    // commit changes differs there: nothing moves, and the path is named.
    repo.set_head("refs/heads/dev").unwrap();
    let dev = head(&repo, "dev");
    let before = checkout_state(&repo);
    let error = git::commit(
        &repo,
        &fleet(&[("infra/a/redis/deployment.yaml", Some("replicas: 4\n"))]),
        &options(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::CheckoutDirty(_)), "{error}");
    assert!(
        error.to_string().contains("infra/a/redis/deployment.yaml"),
        "{error}"
    );
    assert_eq!(head(&repo, "dev"), dev);
    assert_eq!(checkout_state(&repo), before);
    let checked_out = git::checked_out(&repo, "refs/heads/dev").unwrap();
    assert_eq!(checked_out.len(), 1);
    assert_eq!(
        fs::canonicalize(&checked_out[0]).unwrap(),
        fs::canonicalize(dir.path()).unwrap()
    );
}

#[test]
fn a_clean_checkout_of_the_branch_moves_with_it_and_keeps_other_work() {
    let (dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    check_out(&repo, "dev");
    // Uncommitted work elsewhere in the checkout: a hand-written file, staged and not.
    fs::write(dir.path().join("notes.md"), "mine\n").unwrap();
    stage(&repo, "notes.md");
    fs::write(dir.path().join("notes.md"), "mine, edited\n").unwrap();

    git::commit(
        &repo,
        &fleet(&[
            ("infra/a/redis/deployment.yaml", Some("replicas: 4\n")),
            ("tenants/a/team/apps/web.yaml", None),
            ("tenants/a/team/apps/api/app.yaml", Some("path: ./api/a\n")),
        ]),
        &options(),
    )
    .unwrap();
    let read = |path: &str| fs::read_to_string(dir.path().join(path)).ok();
    assert_eq!(
        read("infra/a/redis/deployment.yaml").as_deref(),
        Some("replicas: 4\n")
    );
    assert_eq!(read("tenants/a/team/apps/web.yaml"), None);
    assert_eq!(
        read("tenants/a/team/apps/api/app.yaml").as_deref(),
        Some("path: ./api/a\n")
    );
    assert_eq!(read("notes.md").as_deref(), Some("mine, edited\n"));
    // Only the hand-written file shows as changed: staged as new, modified since.
    let state = checkout_state(&repo);
    assert_eq!(
        state.statuses,
        [(
            "notes.md".to_owned(),
            (git2::Status::INDEX_NEW | git2::Status::WT_MODIFIED).bits()
        )]
    );
}
