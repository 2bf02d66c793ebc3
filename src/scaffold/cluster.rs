//! `add-cluster`, `add-remote-cluster` and `remove-cluster`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::error::Result;
use crate::load::EnvFile;
use crate::model::keys::is_placeholder;

use super::source::{
    Source, cluster_file, cluster_membership_file, key_values, tenant_membership_file, unknown,
};
use super::text::{self, ClusterFile};
use super::{Proposal, check_name, edit_error, refuse, yaml_edit};

#[derive(Debug, Clone, Default)]
pub struct AddCluster {
    pub name: String,
    /// `existing`, `aws`, `openstack` or `docker`.
    pub provider: String,
    pub managed_by: Option<String>,
    /// `Some(true)` for FLUX=remote; `None` leaves an existing cluster's setting alone.
    pub remote: Option<bool>,
    pub envs: Vec<String>,
    /// `KEY=VALUE` for the cluster file.
    pub sets: Vec<String>,
    /// `ENV:KEY=VALUE` for a membership file.
    pub env_sets: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RemoveCluster {
    pub name: String,
    pub env: Option<String>,
    pub force: bool,
}

const SHAPE_KEYS: [(&str, &str); 3] = [
    ("PROVIDER", "--provider"),
    ("FLUX", "--flux"),
    ("MANAGED_BY", "--managed-by"),
];

pub fn add_cluster(root: &Path, args: &AddCluster) -> Result<Proposal> {
    let source = Source::load(root)?;
    let mut problems = Diagnostics::new();
    let name = args.name.as_str();
    check_name(&mut problems, "cluster", name);
    let existing = source.cluster(name);
    let remote = args
        .remote
        .unwrap_or_else(|| existing.is_some() && source.is_remote(name));
    let capi = args.provider != "existing";
    let manager = args
        .managed_by
        .clone()
        .or_else(|| existing.and_then(|_| source.manager(name)));

    match &args.managed_by {
        Some(manager) if manager == name => problems.push(Diagnostic::error(
            "invalid-manager",
            format!("cluster {name} cannot manage itself"),
        )),
        Some(manager) if source.cluster(manager).is_none() => problems.push(unknown(
            "unknown-cluster",
            "cluster",
            manager,
            source.cluster_names(),
            format!("add the management cluster first: fleetgen add-cluster {manager} --provider existing"),
        )),
        Some(manager) if remote && source.is_remote(manager) => problems.push(
            Diagnostic::error(
                "invalid-manager",
                format!("{manager} has no Flux of its own (FLUX=remote), so it cannot drive {name}"),
            )
            .with_hint("a remote cluster must be managed by a cluster with FLUX=local"),
        ),
        Some(_) if !capi && !remote => problems.push(
            Diagnostic::error(
                "invalid-argument",
                "--managed-by is for clusters made by Cluster API (--provider aws|openstack|docker) or driven by another cluster's Flux (--flux remote)",
            )
            .with_hint("drop --managed-by: a PROVIDER=existing cluster with its own Flux has no manager"),
        ),
        Some(_) => {}
        None if existing.is_none() && (capi || remote) => problems.push(
            Diagnostic::error(
                "invalid-argument",
                match capi {
                    true => format!("PROVIDER={} clusters are made by Cluster API on a management cluster: pass --managed-by", args.provider),
                    false => "a cluster with --flux remote is driven by its manager's Flux: pass --managed-by".to_owned(),
                },
            ),
        ),
        None => {}
    }
    for env in &args.envs {
        if source.env(env).is_none() {
            problems.push(unknown(
                "unknown-environment",
                "environment",
                env,
                source.env_names(),
                format!("create it first: fleetgen init-environment {env}"),
            ));
        } else if remote
            && let Some(manager) = &manager
            && source.cluster(manager).is_some()
            && !source.is_member(env, manager)
        {
            problems.push(
                Diagnostic::error(
                    "manager-not-in-environment",
                    format!("{manager}, whose Flux drives {name}, is not in environment {env}"),
                )
                .with_hint(format!(
                    "add it first: fleetgen add-cluster {manager} --provider {} --env {env}",
                    source.provider(manager)
                )),
            );
        }
    }
    let sets = match key_values(&args.sets, "--set") {
        Ok(sets) => sets,
        Err(diagnostic) => {
            problems.push(diagnostic);
            BTreeMap::new()
        }
    };
    for (key, flag) in SHAPE_KEYS {
        if sets.contains_key(key) {
            problems.push(Diagnostic::error(
                "invalid-argument",
                format!("set {key} with {flag}, not --set"),
            ));
        }
    }
    let mut env_sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in &args.env_sets {
        match pair.split_once(':') {
            Some((env, assignment)) if args.envs.iter().any(|given| given == env) => {
                env_sets
                    .entry(env.to_owned())
                    .or_default()
                    .push(assignment.to_owned());
            }
            Some((env, _)) => problems.push(
                Diagnostic::error(
                    "invalid-argument",
                    format!(
                        "--env-set `{pair}` is for environment {env}, which is not given with --env"
                    ),
                )
                .with_hint(format!("add --env {env}")),
            ),
            None => problems.push(
                Diagnostic::error(
                    "invalid-argument",
                    format!(
                        "--env-set `{}` is not ENV:KEY=VALUE",
                        crate::diagnostic::truncate(pair)
                    ),
                )
                .with_hint("e.g. --env-set dev:REDIS_REPLICAS=2"),
            ),
        }
    }
    let mut env_values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (env, pairs) in &env_sets {
        match key_values(pairs, "--env-set") {
            Ok(values) => {
                env_values.insert(env.clone(), values);
            }
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    refuse(&mut problems)?;

    let mut proposal = Proposal::new(root);
    let mut conflicts = Diagnostics::new();
    let file_path = cluster_file(name);
    match existing {
        None => {
            let fleet = &source.raw.fleet.content;
            let file = ClusterFile {
                name,
                provider: &args.provider,
                remote,
                manager: manager.as_deref(),
                sets: &sets,
                fleet,
            };
            let content = file
                .render(
                    &fleet.repo.url,
                    fleet.repo.main_branch.as_deref().unwrap_or("main"),
                )
                .map_err(|message| edit_error(&file_path, message))?;
            proposal.changes.write(&file_path, content)?;
        }
        Some(file) => {
            let location_of = |key: &str| {
                file.entries
                    .iter()
                    .find(|entry| entry.key == key)
                    .map(|entry| Location::new(&file.source.path, entry.line, entry.key_column))
                    .unwrap_or_else(|| Location::file(&file.source.path))
            };
            let mut conflict = |key: &str, now: String| {
                conflicts.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("cluster {name} already exists, with {key}={now}"),
                    )
                    .at(location_of(key))
                    .with_hint(format!(
                        "fleetgen never rewrites a cluster's settings: edit {} to change it, or remove-cluster {name} first",
                        file_path.display()
                    )),
                );
            };
            if source.provider(name) != args.provider {
                conflict("PROVIDER", source.provider(name));
            }
            if let Some(wanted) = args.remote
                && wanted != source.is_remote(name)
            {
                conflict(
                    "FLUX",
                    if source.is_remote(name) {
                        "remote"
                    } else {
                        "local"
                    }
                    .to_owned(),
                );
            }
            if let Some(wanted) = &args.managed_by
                && source.manager(name).as_ref() != Some(wanted)
            {
                conflict(
                    "MANAGED_BY",
                    source.manager(name).unwrap_or_else(|| "(none)".to_owned()),
                );
            }
            let edited = set_entries(
                &proposal.changes.text(&file_path)?.unwrap_or_default(),
                file,
                &sets,
                &mut conflicts,
            )
            .map_err(|message| edit_error(&file_path, message))?;
            proposal.changes.write(&file_path, edited)?;
        }
    }
    for env in &args.envs {
        let values = env_values.get(env).cloned().unwrap_or_default();
        let path = cluster_membership_file(env, name);
        let membership = source
            .env(env)
            .and_then(|environment| environment.clusters.iter().find(|file| file.name == name));
        let content = match membership {
            None => text::cluster_membership(
                env,
                name,
                remote.then_some(manager.as_deref()).flatten(),
                &values,
            )
            .map_err(|message| edit_error(&path, message))?,
            Some(file) => set_entries(
                &proposal.changes.text(&path)?.unwrap_or_default(),
                file,
                &values,
                &mut conflicts,
            )
            .map_err(|message| edit_error(&path, message))?,
        };
        proposal.changes.write(&path, content)?;
    }
    refuse(&mut conflicts)?;

    let is_new = existing.is_none();
    proposal.unchanged = match args.envs.is_empty() {
        true => format!("cluster {name} already exists with these settings"),
        false => format!(
            "cluster {name} already exists with these settings and is in {}",
            args.envs.join(", ")
        ),
    };
    let repo = &source.raw.fleet.content.repo;
    if is_new && !capi && !remote {
        proposal.next.push(format!(
            "install Flux on {name}: flux bootstrap git --url={} --branch={} --path=clusters/{name}",
            repo.url,
            repo.main_branch.as_deref().unwrap_or("main")
        ));
    }
    if is_new && capi {
        proposal.next.push(format!(
            "Cluster API on {} creates {name} once the {} branch is committed; its kubeconfig lands in Secret {name}/{name}-kubeconfig there",
            manager.as_deref().unwrap_or("its manager"),
            repo.main_branch.as_deref().unwrap_or("main")
        ));
    }
    if is_new && args.provider == "docker" {
        proposal.next.push(format!(
            "{} runs {name}'s machines as Docker containers: its CAPD needs the Docker socket of the node it runs on (/var/run/docker.sock mounted, as in a kind cluster created with it) and the Docker network `kind`",
            manager.as_deref().unwrap_or("its manager")
        ));
    }
    if is_new && capi && !remote {
        proposal.next.push(format!(
            "commit clusters/{name}/flux-system/gotk-components.yaml on the {} branch, the Flux that {} installs into {name}: flux install --export --version=<the Flux version you run, e.g. the manager's> > clusters/{name}/flux-system/gotk-components.yaml",
            repo.main_branch.as_deref().unwrap_or("main"),
            manager.as_deref().unwrap_or("its manager")
        ));
    }
    if args.envs.is_empty() && is_new {
        proposal.next.push(format!(
            "add {name} to an environment: fleetgen add-cluster {name} --provider {} --env ENV",
            args.provider
        ));
    }
    proposal
        .next
        .push("fleetgen render, review the result, and commit the fleet source".to_owned());
    Ok(proposal)
}

/// `add-remote-cluster`: a cluster without Flux, driven by its manager's Flux.
pub fn add_remote_cluster(root: &Path, args: &AddCluster) -> Result<Proposal> {
    let args = AddCluster {
        remote: Some(true),
        ..args.clone()
    };
    add_cluster(root, &args)
}

/// Sets `values` in a dotenv file, keeping every other line: a value equal to the file's is
/// left alone, a placeholder is filled in, a commented-out `# KEY=` line is replaced, a missing
/// key is appended; a different value is a conflict.
fn set_entries(
    text: &str,
    file: &EnvFile,
    values: &BTreeMap<String, String>,
    conflicts: &mut Diagnostics,
) -> std::result::Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut changed = false;
    for (key, value) in values {
        let written = text::dotenv_value(value)?;
        match file.entries.iter().find(|entry| &entry.key == key) {
            Some(entry) if &entry.value == value => {}
            Some(entry) if is_placeholder(&entry.value) => {
                let line = &lines[entry.line - 1];
                let chars: Vec<char> = line.chars().collect();
                let start = entry.value_column - 1;
                let quoted = matches!(chars.get(start), Some('\'' | '"'));
                let end = start + entry.value.chars().count() + if quoted { 2 } else { 0 };
                let mut replaced: String = chars[..start].iter().collect();
                replaced.push_str(&written);
                replaced.extend(chars[end.min(chars.len())..].iter());
                lines[entry.line - 1] = replaced;
                changed = true;
            }
            Some(entry) => conflicts.push(
                Diagnostic::error(
                    "duplicate",
                    format!("{key} is already set to `{}`", entry.value),
                )
                .at(Location::new(
                    &file.source.path,
                    entry.line,
                    entry.value_column,
                ))
                .with_hint("fleetgen never overwrites a value: edit the file to change it"),
            ),
            None => {
                let commented = lines.iter().position(|line| {
                    line.trim_start()
                        .strip_prefix('#')
                        .map(str::trim_start)
                        .is_some_and(|rest| rest.starts_with(&format!("{key}=")))
                });
                match commented {
                    Some(index) => lines[index] = format!("{key}={written}"),
                    None => lines.push(format!("{key}={written}")),
                }
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(text.to_owned());
    }
    let mut edited = lines.join("\n");
    edited.push('\n');
    Ok(edited)
}

pub fn remove_cluster(root: &Path, args: &RemoveCluster) -> Result<Proposal> {
    let source = Source::load(root)?;
    let name = args.name.as_str();
    let mut proposal = Proposal::new(root);
    if source.cluster(name).is_none() {
        proposal.unchanged = format!("there is no cluster {name}");
        if let Some(close) = crate::diagnostic::did_you_mean(name, source.cluster_names()) {
            proposal.notes.push(format!("did you mean {close}?"));
        }
        return Ok(proposal);
    }
    let mut problems = Diagnostics::new();
    let removed: Vec<String> = match &args.env {
        Some(env) => {
            if source.env(env).is_none() {
                problems.push(unknown(
                    "unknown-environment",
                    "environment",
                    env,
                    source.env_names(),
                    "`ls environments` lists them",
                ));
                refuse(&mut problems)?;
            }
            if !source.is_member(env, name) {
                proposal.unchanged = format!("cluster {name} is not in {env}");
                return Ok(proposal);
            }
            let dependents: Vec<String> = source
                .managed_by(name)
                .into_iter()
                .filter(|other| source.is_remote(other) && source.is_member(env, other))
                .collect();
            if !dependents.is_empty() && !args.force {
                problems.push(
                    Diagnostic::error(
                        "has-dependents",
                        format!(
                            "refusing to remove {name} from {env}: its Flux drives {} there (FLUX=remote)",
                            dependents.join(", ")
                        ),
                    )
                    .with_hint(format!(
                        "remove {} from {env} first (fleetgen remove-cluster {} --env {env}), or pass --force to remove {} too",
                        dependents.join(", "),
                        dependents[0],
                        if dependents.len() == 1 { "it" } else { "them" }
                    )),
                );
                refuse(&mut problems)?;
            }
            let mut removed = vec![name.to_owned()];
            removed.extend(dependents);
            for cluster in &removed {
                remove_membership(&source, &mut proposal, env, cluster)?;
            }
            removed
        }
        None => {
            let dependents = managed_closure(&source, name);
            if !dependents.is_empty() && !args.force {
                let described: Vec<String> = dependents
                    .iter()
                    .map(|other| match source.provider(other).as_str() {
                        "existing" => format!("{other} (FLUX=remote)"),
                        provider => format!("{other} (PROVIDER={provider})"),
                    })
                    .collect();
                problems.push(
                    Diagnostic::error(
                        "has-dependents",
                        format!(
                            "refusing to remove {name}: it manages {}",
                            described.join(", ")
                        ),
                    )
                    .at(manager_location(&source, &dependents[0]))
                    .with_hint(format!(
                        "remove or re-home {} first (MANAGED_BY), or pass --force to remove {} too",
                        dependents.join(", "),
                        if dependents.len() == 1 { "it" } else { "them" }
                    )),
                );
                refuse(&mut problems)?;
            }
            let mut removed = vec![name.to_owned()];
            removed.extend(dependents);
            for cluster in &removed {
                proposal.changes.delete(&cluster_file(cluster))?;
                let envs: Vec<String> = source.env_names().map(str::to_owned).collect();
                for env in envs {
                    remove_membership(&source, &mut proposal, &env, cluster)?;
                }
            }
            removed
        }
    };
    if removed.len() > 1 {
        proposal
            .notes
            .push(format!("--force: also removed {}", removed[1..].join(", ")));
    }
    for cluster in &removed {
        if source.provider(cluster) != "existing"
            && let Some(manager) = source.manager(cluster)
            && !removed.contains(&manager)
            && args.env.is_none()
        {
            proposal.next.push(format!(
                "once Cluster {cluster}/{cluster} is gone from {manager} (`kubectl -n {cluster} get cluster`), delete namespace {cluster} there: Flux keeps it, because it holds the credentials Cluster API needs until the last machine is deleted"
            ));
        }
        if source.is_remote(cluster)
            && let Some(manager) = source.manager(cluster)
            && !removed.contains(&manager)
        {
            proposal.next.push(match &args.env {
                Some(env) => format!(
                    "after Flux has pruned, delete the Secrets {cluster}-kubeconfig in the {env}-* namespaces of {manager}"
                ),
                None => format!(
                    "after Flux has pruned, delete every Secret {cluster}-kubeconfig on {manager}"
                ),
            });
        }
    }
    proposal.next.push(
        "fleetgen render, review the result, and commit the fleet source; Flux prunes on its next reconciliation".to_owned(),
    );
    Ok(proposal)
}

/// Where a cluster names its manager: its MANAGED_BY line, or its file.
fn manager_location(source: &Source, cluster: &str) -> Location {
    let file = source
        .cluster(cluster)
        .expect("dependents are clusters of the fleet");
    file.entries
        .iter()
        .find(|entry| entry.key == "MANAGED_BY")
        .map(|entry| Location::new(&file.source.path, entry.line, entry.key_column))
        .unwrap_or_else(|| Location::file(&file.source.path))
}

/// Every cluster that, directly or through others, has `name` as its manager.
fn managed_closure(source: &Source, name: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut queue = vec![name.to_owned()];
    while let Some(current) = queue.pop() {
        for other in source.managed_by(&current) {
            if other != name && !found.contains(&other) {
                found.push(other.clone());
                queue.push(other);
            }
        }
    }
    found
}

/// Deletes a cluster's membership in `env` and drops it from the environment's tenant lists.
fn remove_membership(
    source: &Source,
    proposal: &mut Proposal,
    env: &str,
    cluster: &str,
) -> Result<()> {
    proposal
        .changes
        .delete(&cluster_membership_file(env, cluster))?;
    let Some(environment) = source.env(env) else {
        return Ok(());
    };
    for (tenant, parsed) in &environment.tenants {
        let lists_it = parsed
            .content
            .clusters
            .as_ref()
            .is_some_and(|clusters| clusters.iter().any(|listed| listed == cluster));
        if !lists_it {
            continue;
        }
        let path: PathBuf = tenant_membership_file(env, tenant);
        let Some(text) = proposal.changes.text(&path)? else {
            continue;
        };
        let edited = yaml_edit::remove_item(&text, "clusters", cluster)
            .map_err(|message| edit_error(&path, message))?;
        if yaml_edit::read_list(&edited, "clusters").is_ok_and(|left| left.is_empty()) {
            proposal.notes.push(format!(
                "tenant {tenant} is left on no cluster of {env} ({} says `clusters: []`)",
                path.display()
            ));
        }
        proposal.changes.write(&path, edited)?;
    }
    Ok(())
}
