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

const CI_WORKFLOW: &str = "\
# Checks every change to the fleet source: it loads, renders and validates, and the fleet repo's
# branches hold exactly what it renders. `fleetgen check` exits 1 on any problem.
name: fleet
on:
  pull_request:
  push:
    branches: [main]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          # check compares with the environment branches, so it needs them.
          fetch-depth: 0
      - run: cargo install --locked fleetgen
      - run: fleetgen check
";

const GITIGNORE: &str = "\
# Rendered output: it goes onto the fleet repo's branches with `fleetgen commit`.
/out/
";

pub fn init(dir: &Path, args: &Init) -> Result<Proposal> {
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
        files.push((
            PathBuf::from(".github/workflows/fleet.yaml"),
            CI_WORKFLOW.to_owned(),
        ));
        files.push((PathBuf::from(".gitignore"), GITIGNORE.to_owned()));
    }
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
        proposal.next.push(format!(
            "add clusters and tenants: fleetgen add-cluster NAME --provider existing --env {}; fleetgen add-tenant NAME --repo URL --env {}",
            args.env, args.env
        ));
        proposal
            .next
            .push("fleetgen render; commit the fleet source".to_owned());
    }
    Ok(proposal)
}
