//! `init-environment`: a new environment folder, optionally with the cluster and tenant
//! memberships of another environment.
//!
//! This reads the files directly rather than through the loader, because one of the things it
//! repairs — an environment folder without its environment.yaml — makes the loader refuse.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
use crate::error::{Error, Result};
use crate::load::yaml::{self, Seg, locate};
use crate::load::{ENVIRONMENT_FILE, ENVIRONMENTS_DIR, EnvironmentFile};
use crate::model::names;

use super::source::{env_dir, environment_file, key_values};
use super::{Proposal, check_name, edit_error, refuse, text, yaml_edit};

#[derive(Debug, Clone, Default)]
pub struct InitEnvironment {
    pub name: String,
    /// Copy the memberships of this environment.
    pub from: Option<String>,
    /// Branch of the fleet repo; default: the environment's name.
    pub branch: Option<String>,
    /// `KEY=VALUE` for `values:`.
    pub sets: Vec<String>,
}

fn environments(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(ENVIRONMENTS_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|source| Error::Read {
        path: dir.clone(),
        source,
    })? {
        let entry = entry.map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Files of `dir` (relative to root) ending in `extension`, by name.
fn files(root: &Path, dir: &Path, extension: &str) -> Result<Vec<String>> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })? {
        let entry = entry.map_err(|source| Error::Read {
            path: full.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && name.ends_with(extension) && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// A membership of another environment, rewritten for `env`: the same facts (overrides,
/// branch, apps, clusters) under a comment that names the right environment. `None` when the
/// file does not parse; it is then copied as it is, and the loader will point at the problem.
fn copied_membership(
    root: &Path,
    env: &str,
    member: &str,
    folder: &str,
    original: &str,
) -> Option<String> {
    if folder == "clusters" {
        let entries = crate::load::dotenv::parse(Path::new(member), original).ok()?;
        let values: BTreeMap<String, String> = entries
            .into_iter()
            .map(|entry| (entry.key, entry.value))
            .collect();
        // A remote cluster's membership says which manager must be in the environment too.
        let cluster = crate::load::read_source(root, &super::source::cluster_file(member)).ok();
        let manager = cluster.and_then(|file| {
            let entries = crate::load::dotenv::parse(&file.path, &file.text).ok()?;
            let value = |key: &str| {
                entries
                    .iter()
                    .find(|entry| entry.key == key)
                    .map(|entry| entry.value.clone())
            };
            (value("FLUX").as_deref() == Some("remote"))
                .then(|| value("MANAGED_BY"))
                .flatten()
        });
        return text::cluster_membership(env, member, manager.as_deref(), &values).ok();
    }
    let parsed: crate::load::TenantMembershipFile =
        yaml::from_str(Path::new(member), original).ok()?;
    Some(
        text::TenantMembership {
            env,
            tenant: member,
            branch: parsed.branch.as_deref(),
            apps: parsed.apps.as_deref(),
            clusters: parsed.clusters.as_deref(),
        }
        .render(),
    )
}

pub fn init_environment(root: &Path, args: &InitEnvironment) -> Result<Proposal> {
    let name = args.name.as_str();
    let mut problems = Diagnostics::new();
    check_name(&mut problems, "environment", name);
    let known = environments(root)?;
    if let Some(from) = &args.from {
        if from == name {
            problems.push(Diagnostic::error(
                "invalid-argument",
                format!("--from {from} names the environment being created"),
            ));
        } else if !known.contains(from) {
            let diagnostic = Diagnostic::error(
                "unknown-environment",
                format!("no environment `{}`", crate::diagnostic::truncate(from)),
            );
            problems.push(match did_you_mean(from, known.iter().map(String::as_str)) {
                Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                None => diagnostic.with_hint(format!("the environments are: {}", known.join(", "))),
            });
        }
    }
    if let Some(branch) = &args.branch
        && let Err(problem) = names::check_branch(branch)
    {
        problems.push(Diagnostic::error(
            "invalid-branch",
            format!(
                "`{}` is not a valid branch name: {problem}",
                crate::diagnostic::truncate(branch)
            ),
        ));
    }
    let sets = match key_values(&args.sets, "--set") {
        Ok(sets) => sets,
        Err(diagnostic) => {
            problems.push(diagnostic);
            BTreeMap::new()
        }
    };
    refuse(&mut problems)?;

    let mut proposal = Proposal::new(root);
    let path = environment_file(name);
    let branch = args.branch.clone().unwrap_or_else(|| name.to_owned());
    match proposal.changes.text(&path)? {
        None => {
            proposal
                .changes
                .write(&path, text::environment(name, &branch, &sets))?;
        }
        Some(existing) => {
            let parsed: EnvironmentFile = yaml::from_str(&path, &existing)
                .map_err(|diagnostic| Error::Invalid([diagnostic].into_iter().collect()))?;
            let mut conflicts = Diagnostics::new();
            let mut edited = existing.clone();
            let current = parsed.branch.clone().unwrap_or_else(|| name.to_owned());
            if args.branch.is_some() && current != branch {
                conflicts.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("environment {name} already exists, on branch {current}"),
                    )
                    .at_file(&path)
                    .with_hint(format!(
                        "edit {} to move it to another branch",
                        path.display()
                    )),
                );
            }
            for (key, value) in &sets {
                match parsed.values.get(key) {
                    Some(now) if now.to_string() == *value => {}
                    Some(now) => conflicts.push(
                        Diagnostic::error(
                            "duplicate",
                            format!("{key} is already `{now}` in environment {name}"),
                        )
                        .at(
                            match locate(&existing, &[Seg::Key("values"), Seg::Key(key)]) {
                                Some((line, column)) => Location::new(&path, line, column),
                                None => Location::file(&path),
                            },
                        )
                        .with_hint("fleetgen never overwrites a value: edit the file to change it"),
                    ),
                    None => {
                        edited = yaml_edit::add_map_entry(&edited, "values", key, value)
                            .map_err(|message| edit_error(&path, message))?;
                    }
                }
            }
            refuse(&mut conflicts)?;
            proposal.changes.write(&path, edited)?;
        }
    }
    if let Some(from) = &args.from {
        for (folder, extension) in [("clusters", ".env"), ("tenants", ".yaml")] {
            let source_dir = env_dir(from).join(folder);
            for file in files(root, &source_dir, extension)? {
                let target = env_dir(name).join(folder).join(&file);
                if proposal.changes.text(&target)?.is_some() {
                    continue;
                }
                let original = proposal
                    .changes
                    .text(&source_dir.join(&file))?
                    .unwrap_or_default();
                let member = file.trim_end_matches(extension);
                let content =
                    copied_membership(root, name, member, folder, &original).unwrap_or(original);
                proposal.changes.write(&target, content)?;
            }
        }
    }
    proposal.unchanged = match &args.from {
        Some(from) => format!("environment {name} already exists with {from}'s memberships"),
        None => format!("environment {name} already exists"),
    };
    if root.join(env_dir(name)).join(ENVIRONMENT_FILE).is_file() && args.from.is_none() {
        // An existing environment only gained values; no onboarding steps to repeat.
    } else {
        proposal.next.push(format!(
            "add clusters: fleetgen add-cluster NAME --provider existing --env {name}; and tenants: fleetgen add-tenant NAME --repo URL --env {name}"
        ));
        proposal.next.push(format!(
            "fleetgen render writes the {branch} branch's tree; fleetgen commit creates branch {branch} in the fleet repo, which the {name}-flux-system GitRepositories track"
        ));
    }
    Ok(proposal)
}
