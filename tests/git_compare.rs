//! `diff` and `check` of rendered trees against the branches of a real repository, through
//! the library.

mod common;

use std::fs;

use git2::Repository;

use common::git::{commit_by_hand, fleet, new_repo, options};
use fleetgen::sinks::changes::{ChangeKind, Conflict, FileChange};
use fleetgen::sinks::diff::{self, Palette};
use fleetgen::sinks::git;
use fleetgen::tree::OWNED_LIST;

#[test]
fn diff_shows_added_modified_and_deleted_files() {
    let (_dir, repo) = new_repo();
    let rendered = fleet(&[]);
    let drift = diff::against_repo(&repo, &rendered).unwrap();
    assert!(drift.branches.iter().all(|branch| !branch.exists));
    assert_eq!(
        drift
            .changes()
            .filter(|change| change.kind == ChangeKind::Added)
            .count(),
        8
    );

    git::commit(&repo, &rendered, &options()).unwrap();
    commit_by_hand(&repo, "dev", "README.md", Some("hand-written\n"));
    assert!(diff::against_repo(&repo, &rendered).unwrap().is_empty());

    let changed = fleet(&[
        ("tenants/a/team/apps/web.yaml", None),
        ("tenants/a/team/apps/api.yaml", Some("path: ./api/a\n")),
        ("infra/a/redis/deployment.yaml", Some("replicas: 2\n")),
    ]);
    let drift = diff::against_repo(&repo, &changed).unwrap();
    let kinds: Vec<(&str, &str, ChangeKind)> = drift
        .changes()
        .map(|change| (change.branch.as_str(), change.path.as_str(), change.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("dev", OWNED_LIST, ChangeKind::Modified),
            ("dev", "infra/a/redis/deployment.yaml", ChangeKind::Modified),
            ("dev", "tenants/a/team/apps/api.yaml", ChangeKind::Added),
            ("dev", "tenants/a/team/apps/web.yaml", ChangeKind::Deleted),
        ]
    );
    let without_owned_list = diff::Drift {
        compared: drift.compared.clone(),
        branches: drift
            .branches
            .iter()
            .map(|branch| diff::BranchDrift {
                changes: branch
                    .changes
                    .iter()
                    .filter(|change| change.path != OWNED_LIST)
                    .cloned()
                    .collect(),
                ..branch.clone()
            })
            .collect(),
    };
    let mut patch = Vec::new();
    diff::write_patch(&without_owned_list, &mut patch, Palette::new(false)).unwrap();
    insta::assert_snapshot!(String::from_utf8(patch).unwrap(), @r"
    diff --git a/dev/infra/a/redis/deployment.yaml b/dev/infra/a/redis/deployment.yaml
    --- a/dev/infra/a/redis/deployment.yaml
    +++ b/dev/infra/a/redis/deployment.yaml
    @@ -1 +1 @@
    -replicas: 1
    +replicas: 2
    diff --git a/dev/tenants/a/team/apps/api.yaml b/dev/tenants/a/team/apps/api.yaml
    new file mode 100644
    --- /dev/null
    +++ b/dev/tenants/a/team/apps/api.yaml
    @@ -0,0 +1 @@
    +path: ./api/a
    diff --git a/dev/tenants/a/team/apps/web.yaml b/dev/tenants/a/team/apps/web.yaml
    deleted file mode 100644
    --- a/dev/tenants/a/team/apps/web.yaml
    +++ /dev/null
    @@ -1 +0,0 @@
    -path: ./web/a
    ");

    let summaries = drift.summaries(|branch| (branch != "main").then(|| branch.to_owned()));
    let mut summary = Vec::new();
    diff::write_summary(&drift, &summaries, &mut summary).unwrap();
    assert_eq!(
        String::from_utf8(summary).unwrap(),
        "dev (environment dev): 1 added, 2 modified, 1 deleted\n  cluster a: infrastructure, tenant team\n  fleet-wide: 1 file\n"
    );
    // One finding for the branch, naming each drifted file once.
    let diagnostics: Vec<String> = drift
        .diagnostics()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diagnostics,
        [
            "error: branch dev: 3 files differ from the rendered fleet (1 added, 1 modified, 1 deleted): \
          infra/a/redis/deployment.yaml, tenants/a/team/apps/api.yaml, tenants/a/team/apps/web.yaml [drift]\n  \
          hint: `fleetgen diff` shows the changes, `fleetgen commit` brings the branch up to date"
        ]
    );
}

#[test]
fn check_compares_without_contents_and_writes_nothing() {
    let (dir, repo) = new_repo();
    git::commit(&repo, &fleet(&[]), &options()).unwrap();
    let changed = fleet(&[
        ("infra/a/redis/deployment.yaml", Some("replicas: 2\n")),
        ("tenants/a/team/apps/web.yaml", None),
    ]);
    commit_by_hand(
        &repo,
        "dev",
        "tenants/a/team/sandbox.yaml",
        Some("edited\n"),
    );
    let repo_dir = diff::Against::Repo(Repository::open(dir.path()).unwrap());
    let out = tempfile::tempdir().unwrap();
    fleetgen::sinks::write::write(out.path(), &fleet(&[]), Default::default()).unwrap();
    fs::write(
        out.path().join("dev/tenants/a/team/sandbox.yaml"),
        "edited\n",
    )
    .unwrap();
    let out_dir = diff::Against::Directory(out.path().to_path_buf());
    for against in [&repo_dir, &out_dir] {
        let full = against.compare(&changed).unwrap();
        let early = against.findings(&changed).unwrap().unwrap();
        assert!(early.changes().all(|c| c.old.is_none() && c.new.is_none()));
        let stripped: Vec<FileChange> = full
            .changes()
            .map(|change| FileChange {
                old: None,
                new: None,
                ..change.clone()
            })
            .collect();
        assert_eq!(early.changes().cloned().collect::<Vec<_>>(), stripped);
        assert!(
            stripped
                .iter()
                .any(|c| c.conflict == Some(Conflict::EditedByHand))
        );
        let messages = |drift: &diff::Drift| -> Vec<String> {
            drift
                .diagnostics()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(messages(&early), messages(&full));
    }

    // A killed commit's journal: finishing it moves refs, which only `compare` may do.
    let journal = repo.commondir().join("fleetgen-refs.journal");
    fs::write(&journal, "").unwrap();
    assert!(repo_dir.findings(&changed).is_none());
    assert!(journal.exists());
}
