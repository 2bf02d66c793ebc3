//! `init`: a new fleet source — a commented fleet/fleet.yaml, one example environment, a
//! justfile and a CI workflow, and on request a copy of the default blueprints to adapt.

use std::fs;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::load::{BLUEPRINTS_DIR, FLEET_FILE};
use crate::model::keys::PLACEHOLDER;
use crate::render::blueprint;

use super::source::environment_file;
use super::{Proposal, check_name, refuse, text, yaml_edit};

#[derive(Debug, Clone, Default)]
pub struct Init {
    /// URL Flux clones the fleet repo from; a placeholder when not given.
    pub repo: Option<String>,
    /// Name of the example environment.
    pub env: String,
    pub with_blueprints: bool,
    /// Allow a folder that already holds other files (which are kept).
    pub force: bool,
    /// The CI configuration to write at the repository root.
    pub ci: Ci,
    /// Where CI builds fleetgen from (`cargo install --git`); a placeholder when not given.
    pub fleetgen_git: Option<String>,
}

fn fleet_yaml(repo: &str) -> String {
    format!(
        "\
# Fleet-wide settings. fleetgen reads this file first; every other input is one small file per
# fact: fleet/clusters/<cluster>.env, fleet/tenants/<tenant>.yaml and, per environment,
# environments/<env>/environment.yaml with clusters/<cluster>.env and tenants/<tenant>.yaml
# memberships. `fleetgen add-*`, `remove-*` and `init-environment` create and delete them.

repo:
  # The fleet repo Flux clones. Its main branch holds what all environments share (each
  # cluster's Flux entry point and common infrastructure); each environment has a branch.
  url: {repo}
  mainBranch: main
  # How often Flux polls the fleet repo.
  interval: 1m
  # For a private repo, the Secret with Flux's Git credentials (`fleetgen secrets` lists where
  # it must exist).
  # secretRef: fleet-repo-auth
  # Where `fleetgen commit`, `diff` and `check` find the fleet repo's branches: a local clone,
  # relative to this folder. Leave it unset when the fleet source lives in the fleet repo itself
  # (its branches are then read and written in the repository around this folder); set it when
  # the rendered branches live in another repository than the source.
  # path: ../fleet-repo

# Where `fleetgen render` writes: out/<branch>/. This is build output: review it, commit it to
# the fleet repo's branches with `fleetgen commit`, but do not edit it.
output: out

# Values every cluster gets unless its own file says otherwise (`fleetgen keys` lists the keys).
# defaults:
#   KUBERNETES_VERSION: v1.33.1

# Keys of this fleet's own blueprints (blueprints/), typed and documented like fleetgen's.
# keys:
#   NGINX_HTTP_PORT:
#     type: port
#     default: 80
#     description: Port of the ingress controller's HTTP listener.
"
    )
}

const JUSTFILE: &str = "\
# Everyday tasks on this fleet source; `just` lists them.

default:
    @just --list --unsorted

# Render every branch of the fleet repo into out/ for review.
render:
    fleetgen render

# Validate the fleet and compare it with the fleet repo's branches (what CI runs).
check:
    fleetgen check

# Show what committing would change on the fleet repo's branches.
diff:
    fleetgen diff

# Commit the rendered trees onto the fleet repo's branches.
commit message=\"Render the fleet\":
    fleetgen commit -m \"{{message}}\"
";

/// Which CI configuration `init` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ci {
    #[default]
    Github,
    Gitlab,
    None,
}

/// `fleetgen` with `-C` when the fleet source is below the repository root, where CI runs.
fn fleetgen_in(fleet_dir: &str) -> String {
    if fleet_dir.is_empty() {
        "fleetgen".to_owned()
    } else {
        format!("fleetgen -C {}", shell_word(fleet_dir))
    }
}

fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The steps both GitHub jobs start with: build the chosen fleetgen once per revision and
/// runner, and take it from the cache after that.
const INSTALL_FLEETGEN: &str = r#"      - name: Which fleetgen
        id: fleetgen
        run: echo "rev=${FLEETGEN_REV:-$(git ls-remote "$FLEETGEN_GIT" HEAD | cut -f1)}" >> "$GITHUB_OUTPUT"
      - uses: actions/cache@v4
        with:
          path: ~/.cargo/bin/fleetgen
          key: fleetgen-${{ runner.os }}-${{ steps.fleetgen.outputs.rev }}
      - name: Install fleetgen
        run: |
          if ! command -v fleetgen >/dev/null; then
            cargo install --locked --git "$FLEETGEN_GIT" ${FLEETGEN_REV:+--rev "$FLEETGEN_REV"} fleetgen
          fi"#;

/// The GitHub Actions workflow: at the repository root, whatever folder the fleet is in.
fn github_workflow(fleet_dir: &str, fleetgen_git: &str, main: &str) -> String {
    let fleetgen = fleetgen_in(fleet_dir);
    format!(
        r#"# The fleet source's CI, written by `fleetgen init`.
# Pull requests: the source must load, render and validate (`check --no-drift`: the fleet
# branches lag behind the source until the change is merged), and the job summary shows what
# the change does to each branch. {main}: `fleetgen commit` renders onto the branches,
# `git push --atomic` publishes all of them or none, and a full `check` confirms that they
# match the source.
name: fleet
on:
  pull_request:
  push:
    branches: [{main}]
env:
  # Where fleetgen is built from, and the revision (tag or commit; empty: the newest).
  FLEETGEN_GIT: {fleetgen_git}
  FLEETGEN_REV: ""
jobs:
  pull-request:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # every branch, as origin/<branch>
{INSTALL_FLEETGEN}
      - name: Validate the fleet source
        run: {fleetgen} check --no-drift
      - name: What this change does to the fleet branches
        run: |
          {{
            echo '### Fleet branches after this change'
            echo '```text'
            {fleetgen} diff --stat --color never 2>&1
            echo '```'
          }} >> "$GITHUB_STEP_SUMMARY"
          {fleetgen} diff --color always

  commit:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    # One commit job at a time, each from the newest {main}: a rerun builds on what is there.
    concurrency:
      group: fleet-commit
      cancel-in-progress: false
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@v4
        with:
          ref: {main}
          fetch-depth: 0 # every branch, as origin/<branch>
{INSTALL_FLEETGEN}
      - name: Commit and push the rendered branches
        run: |
          {fleetgen} commit --require-clean --author-name fleetgen \
            --author-email fleetgen@users.noreply.github.com > "$RUNNER_TEMP/committed"
          refs=$(cut -d' ' -f2 "$RUNNER_TEMP/committed")
          if [ -n "$refs" ]; then git push --atomic origin $refs; fi
      - name: The branches match the source
        run: {fleetgen} check
"#
    )
}

/// The GitLab CI variant: the same two legs, in an image with cargo and git.
fn gitlab_ci(fleet_dir: &str, fleetgen_git: &str) -> String {
    let fleetgen = fleetgen_in(fleet_dir);
    format!(
        r#"# The fleet source's CI, written by `fleetgen init --ci gitlab`.
# Merge requests: the source must load, render and validate, and the log shows what the
# change does to each fleet branch. Default branch: `fleetgen commit`, `git push --atomic` of
# the branches (FLEET_PUSH_TOKEN: a project access token with write_repository), full check.
variables:
  FLEETGEN_GIT: {fleetgen_git}
  FLEETGEN_REV: ""
  GIT_DEPTH: "0"

default:
  image: rust:1-bookworm # cargo and git
  cache:
    key: fleetgen-$FLEETGEN_REV
    paths: [.fleetgen-bin/]
  before_script:
    - export PATH="$CI_PROJECT_DIR/.fleetgen-bin/bin:$PATH"
    - command -v fleetgen >/dev/null || cargo install --locked --root .fleetgen-bin --git "$FLEETGEN_GIT" ${{FLEETGEN_REV:+--rev "$FLEETGEN_REV"}} fleetgen
    - git fetch --no-tags origin '+refs/heads/*:refs/remotes/origin/*'

stages: [check, commit]

fleet-check:
  stage: check
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - {fleetgen} check --no-drift
    - {fleetgen} diff --stat --color never

fleet-commit:
  stage: commit
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  resource_group: fleet-commit
  script:
    - git checkout -B "$CI_DEFAULT_BRANCH" "origin/$CI_DEFAULT_BRANCH"
    - {fleetgen} commit --require-clean --author-name fleetgen --author-email fleetgen@example.invalid > /tmp/committed
    - refs=$(cut -d' ' -f2 /tmp/committed)
    - if [ -n "$refs" ]; then git push --atomic "https://oauth2:${{FLEET_PUSH_TOKEN}}@${{CI_SERVER_HOST}}/${{CI_PROJECT_PATH}}.git" $refs; fi
    - {fleetgen} check
"#
    )
}

/// Where the fleet source `dir` sits in a Git repository: the repository's root and `dir`
/// relative to it (`/`-separated, empty at the root). Without a repository, `dir` will be the
/// root of the one the user creates.
fn repository_of(dir: &Path) -> (PathBuf, String) {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut existing = absolute.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break,
        }
    }
    let Ok(repo) = git2::Repository::discover(existing) else {
        return (dir.to_path_buf(), String::new());
    };
    let Some(workdir) = repo.workdir() else {
        return (dir.to_path_buf(), String::new());
    };
    let canonical = |path: &Path| fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let rest = absolute.strip_prefix(existing).unwrap_or(Path::new(""));
    let full = canonical(existing).join(rest);
    match full.strip_prefix(canonical(workdir)) {
        Ok(relative) => (
            workdir.to_path_buf(),
            relative.to_string_lossy().replace('\\', "/"),
        ),
        Err(_) => (dir.to_path_buf(), String::new()),
    }
}

const GITIGNORE: &str = "\
# Rendered output: it goes onto the fleet repo's branches with `fleetgen commit`.
/out/
";

/// A file `init` writes at the Git repository's root, outside the fleet source.
pub type RootFile = Option<(PathBuf, String)>;

pub fn init(dir: &Path, args: &Init) -> Result<(Proposal, RootFile)> {
    let mut problems = crate::diagnostic::Diagnostics::new();
    check_name(&mut problems, "environment", &args.env);
    refuse(&mut problems)?;

    let is_fleet = dir.join(FLEET_FILE).is_file();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if !is_fleet {
        let repo = match &args.repo {
            Some(url) => yaml_edit::scalar(url),
            None => PLACEHOLDER.to_owned(),
        };
        files.push((PathBuf::from(FLEET_FILE), fleet_yaml(&repo)));
        files.push((
            environment_file(&args.env),
            text::environment(&args.env, &args.env, &Default::default()),
        ));
        files.push((PathBuf::from("justfile"), JUSTFILE.to_owned()));
        files.push((PathBuf::from(".gitignore"), GITIGNORE.to_owned()));
    }
    // CI runs at the repository root, where GitHub and GitLab look for their files.
    let (repo_root, fleet_dir) = repository_of(dir);
    let fleetgen_git = match &args.fleetgen_git {
        Some(url) => yaml_edit::scalar(url),
        None => PLACEHOLDER.to_owned(),
    };
    let main = "main";
    let ci_file = match args.ci {
        _ if is_fleet => None,
        Ci::None => None,
        Ci::Github => Some((
            ".github/workflows/fleet.yaml",
            github_workflow(&fleet_dir, &fleetgen_git, main),
        )),
        Ci::Gitlab => Some((".gitlab-ci.yml", gitlab_ci(&fleet_dir, &fleetgen_git))),
    };
    if args.with_blueprints {
        for (path, content) in blueprint::default_sources() {
            let text = String::from_utf8(content.to_vec()).map_err(|_| {
                Error::Usage(format!("default blueprint {} is not UTF-8", path.display()))
            })?;
            files.push((Path::new(BLUEPRINTS_DIR).join(path), text));
        }
    }

    let occupied = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .any(|entry| entry.file_name() != ".git"),
        Err(_) => false,
    };
    if occupied && !is_fleet && !args.force {
        return Err(Error::Invalid(
            [Diagnostic::error(
                "not-empty",
                format!("{} is not empty", dir.display()),
            )
            .with_hint("pass --force to add a fleet source next to what is there (existing files are kept), or pick an empty folder")]
            .into_iter()
            .collect(),
        ));
    }

    // In a subfolder of a repository the CI file goes to the repository's root, outside the
    // fleet source the proposal is checked and written in: the caller writes it afterwards.
    let mut root_file = None;
    match ci_file {
        Some((path, content)) if fleet_dir.is_empty() => files.push((PathBuf::from(path), content)),
        Some((path, content)) => root_file = Some((repo_root.join(path), content)),
        None => {}
    }
    let mut proposal = Proposal::new(dir);
    let mut kept = Vec::new();
    for (path, content) in files {
        match proposal.changes.text(&path)? {
            Some(existing) if existing != content => kept.push(path),
            Some(_) => {}
            None => proposal.changes.write(&path, content)?,
        }
    }
    if !kept.is_empty() {
        proposal.notes.push(format!(
            "kept the existing {}",
            kept.iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    proposal.unchanged = format!("{} already holds a fleet source", dir.display());
    if !is_fleet {
        if args.repo.is_none() {
            proposal.next.push(format!(
                "fill in repo.url in {FLEET_FILE}: the URL Flux clones the fleet repo from"
            ));
        }
        if args.fleetgen_git.is_none() && args.ci != Ci::None {
            proposal.next.push(
                "fill in FLEETGEN_GIT in the CI file: the Git URL CI builds fleetgen from (or run init with --fleetgen-git URL)"
                    .to_owned(),
            );
        }
        proposal.next.push(format!(
            "add clusters and tenants: fleetgen add-cluster NAME --provider existing --env {}; fleetgen add-tenant NAME --repo URL --env {}",
            args.env, args.env
        ));
        proposal
            .next
            .push("fleetgen render; commit the fleet source".to_owned());
    }
    Ok((proposal, root_file))
}
