//! `add-tenant`, `add-app`, `remove-tenant` and `remove-app`.
//!
//! A tenant is `fleet/tenants/<tenant>.yaml` (its repository and apps) plus one membership file
//! per environment. Adding never takes anything away: an existing tenant only gains what is
//! missing, which is the opposite of the seed script that rebuilt the tenant folder with
//! `rm -rf` and lost its apps.

use std::collections::BTreeSet;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
use crate::error::Result;
use crate::load::yaml::{Seg, locate};
use crate::model::names;

use super::source::{Source, tenant_file, tenant_membership_file, unknown};
use super::text::{self, TenantMembership};
use super::{Proposal, check_name, edit_error, refuse, yaml_edit};

#[derive(Debug, Clone, Default)]
pub struct AddTenant {
    pub name: String,
    pub repo: String,
    /// Branch of the tenant's repository in this environment.
    pub branch: Option<String>,
    pub env: String,
    pub clusters: Vec<String>,
    pub apps: Vec<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AddApp {
    pub tenant: String,
    pub app: String,
    pub env: String,
}

#[derive(Debug, Clone, Default)]
pub struct RemoveTenant {
    pub name: String,
    pub env: Option<String>,
    pub force: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RemoveApp {
    pub tenant: String,
    pub app: String,
    pub env: Option<String>,
    pub force: bool,
}

fn check_env(source: &Source, problems: &mut Diagnostics, env: &str) -> bool {
    if source.env(env).is_some() {
        return true;
    }
    problems.push(unknown(
        "unknown-environment",
        "environment",
        env,
        source.env_names(),
        format!("create it first: fleetgen init-environment {env}"),
    ));
    false
}

fn unique(items: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter(|item| seen.insert(item.as_str()))
        .cloned()
        .collect()
}

pub fn add_tenant(root: &Path, args: &AddTenant) -> Result<Proposal> {
    let source = Source::load(root)?;
    let mut problems = Diagnostics::new();
    let name = args.name.as_str();
    let env = args.env.as_str();
    check_name(&mut problems, "tenant", name);
    let env_known = check_env(&source, &mut problems, env);
    let apps = unique(&args.apps);
    let clusters = unique(&args.clusters);
    for app in &apps {
        check_name(&mut problems, "app", app);
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
    if env_known {
        let members = source.members(env);
        for cluster in &clusters {
            if members.contains(cluster) {
                continue;
            }
            problems.push(match source.cluster(cluster) {
                Some(_) => Diagnostic::error(
                    "unknown-cluster",
                    format!("cluster {cluster} is not in environment {env}"),
                )
                .with_hint(format!(
                    "add it first: fleetgen add-cluster {cluster} --provider {} --env {env}",
                    source.provider(cluster)
                )),
                None => unknown(
                    "unknown-cluster",
                    "cluster",
                    cluster,
                    &members,
                    format!("the clusters of {env} are: {}", members.join(", ")),
                ),
            });
        }
    }
    refuse(&mut problems)?;

    let mut proposal = Proposal::new(root);
    let mut conflicts = Diagnostics::new();
    let tenant_path = tenant_file(name);
    let existing = source.tenant(name);
    let old_apps: Vec<String> = existing
        .map(|parsed| parsed.content.apps.clone())
        .unwrap_or_default();
    match existing {
        None => {
            let content = text::tenant(name, &args.repo, args.role.as_deref(), &apps);
            proposal.changes.write(&tenant_path, content)?;
        }
        Some(parsed) => {
            let content = &parsed.content;
            if content.repo != args.repo {
                let line = locate(&parsed.source.text, &[Seg::Key("repo")]).unwrap_or((1, 1));
                conflicts.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("tenant {name} already exists, with repo {}", content.repo),
                    )
                    .at(Location::new(&tenant_path, line.0, line.1))
                    .with_hint(format!(
                        "fleetgen never rewrites a tenant: edit {} to move it to another repository",
                        tenant_path.display()
                    )),
                );
            }
            match (&content.role, &args.role) {
                (Some(now), Some(wanted)) if now != wanted => conflicts.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("tenant {name} already exists, with role {now}"),
                    )
                    .at_file(&tenant_path)
                    .with_hint(format!("edit {} to change it", tenant_path.display())),
                ),
                (None, Some(wanted)) => {
                    let text = proposal.changes.text(&tenant_path)?.unwrap_or_default();
                    let edited = yaml_edit::add_scalar(&text, "role", wanted)
                        .map_err(|message| edit_error(&tenant_path, message))?;
                    proposal.changes.write(&tenant_path, edited)?;
                }
                _ => {}
            }
            for app in apps.iter().filter(|app| !old_apps.contains(app)) {
                add_to_tenant(&source, &mut proposal, name, app, env)?;
            }
        }
    }
    let all_apps: Vec<String> = {
        let mut all = old_apps.clone();
        all.extend(apps.iter().filter(|app| !old_apps.contains(app)).cloned());
        all
    };

    let membership_path = tenant_membership_file(env, name);
    match source.membership(env, name) {
        None => {
            // Listing every app would freeze the membership: apps added later would not reach
            // this environment. Only a real subset is written.
            let subset = !apps.is_empty() && apps.len() < all_apps.len();
            let content = TenantMembership {
                env,
                tenant: name,
                branch: args.branch.as_deref(),
                apps: subset.then_some(apps.as_slice()),
                clusters: (!clusters.is_empty()).then_some(clusters.as_slice()),
            }
            .render();
            proposal.changes.write(&membership_path, content)?;
        }
        Some(parsed) => {
            let content = &parsed.content;
            let mut text = proposal.changes.text(&membership_path)?.unwrap_or_default();
            match (&content.branch, &args.branch) {
                (Some(now), Some(wanted)) if now != wanted => conflicts.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("tenant {name} is already in {env}, on branch {now}"),
                    )
                    .at_file(&membership_path)
                    .with_hint(format!("edit {} to change it", membership_path.display())),
                ),
                (None, Some(wanted)) => {
                    text = yaml_edit::add_scalar(&text, "branch", wanted)
                        .map_err(|message| edit_error(&membership_path, message))?;
                }
                _ => {}
            }
            for (key, wanted, listed) in [
                ("apps", &apps, &content.apps),
                ("clusters", &clusters, &content.clusters),
            ] {
                // Without a list the membership already has all of them.
                let Some(listed) = listed else { continue };
                for item in wanted.iter().filter(|item| !listed.contains(item)) {
                    text = yaml_edit::append_item(&text, key, item)
                        .map_err(|message| edit_error(&membership_path, message))?;
                }
            }
            proposal.changes.write(&membership_path, text)?;
        }
    }
    refuse(&mut conflicts)?;

    proposal.unchanged = format!("tenant {name} is already in {env} with all of this");
    if !all_apps.is_empty() {
        let on = if clusters.is_empty() {
            source.members(env)
        } else {
            clusters.clone()
        };
        if let (Some(app), Some(cluster)) = (all_apps.first(), on.first()) {
            proposal.next.push(format!(
                "the tenant's repository holds each app per cluster, e.g. ./{app}/{cluster}, on branch {}",
                args.branch.as_deref().unwrap_or(env)
            ));
        }
    }
    proposal
        .next
        .push("fleetgen render, review the result, and commit the fleet source".to_owned());
    Ok(proposal)
}

/// Adds `app` to the tenant's list. Environments whose membership takes all of the tenant's
/// apps would start deploying it too; they are pinned to the apps they had, so the app goes
/// only where it was asked for.
fn add_to_tenant(
    source: &Source,
    proposal: &mut Proposal,
    tenant: &str,
    app: &str,
    env: &str,
) -> Result<()> {
    let tenant_path = tenant_file(tenant);
    let before: Vec<String> = source
        .tenant(tenant)
        .map(|parsed| parsed.content.apps.clone())
        .unwrap_or_default();
    let text = proposal.changes.text(&tenant_path)?.unwrap_or_default();
    let edited = yaml_edit::append_item(&text, "apps", app)
        .map_err(|message| edit_error(&tenant_path, message))?;
    proposal.changes.write(&tenant_path, edited)?;
    for other in source.envs().filter(|other| other.name != env) {
        let Some(parsed) = source.membership(&other.name, tenant) else {
            continue;
        };
        if parsed.content.apps.is_some() {
            continue;
        }
        let path = tenant_membership_file(&other.name, tenant);
        let text = proposal.changes.text(&path)?.unwrap_or_default();
        let edited = yaml_edit::add_list(&text, "apps", &before)
            .map_err(|message| edit_error(&path, message))?;
        proposal.changes.write(&path, edited)?;
        proposal.notes.push(format!(
            "{} now lists the apps {tenant} had, so that {app} is deployed to {env} only; promote it with fleetgen add-app {tenant} {app} --env {}",
            path.display(),
            other.name
        ));
    }
    Ok(())
}

pub fn add_app(root: &Path, args: &AddApp) -> Result<Proposal> {
    let source = Source::load(root)?;
    let mut problems = Diagnostics::new();
    let (tenant, app, env) = (args.tenant.as_str(), args.app.as_str(), args.env.as_str());
    check_name(&mut problems, "app", app);
    let env_known = check_env(&source, &mut problems, env);
    let tenant_known = source.tenant(tenant).is_some();
    if !tenant_known {
        problems.push(unknown(
            "unknown-tenant",
            "tenant",
            tenant,
            source.tenant_names(),
            format!(
                "add it first: fleetgen add-tenant {tenant} --repo URL --env {env} --app {app}"
            ),
        ));
    } else if env_known && source.membership(env, tenant).is_none() {
        let repo = &source.tenant(tenant).expect("checked").content.repo;
        problems.push(
            Diagnostic::error(
                "unknown-tenant",
                format!("tenant {tenant} is not in environment {env}"),
            )
            .with_hint(format!(
                "add it there with the app: fleetgen add-tenant {tenant} --repo {repo} --env {env} --app {app}"
            )),
        );
    }
    refuse(&mut problems)?;

    let mut proposal = Proposal::new(root);
    let apps = &source.tenant(tenant).expect("checked").content.apps;
    if !apps.iter().any(|known| known == app) {
        add_to_tenant(&source, &mut proposal, tenant, app, env)?;
    }
    let membership = source.membership(env, tenant).expect("checked");
    if let Some(listed) = &membership.content.apps
        && !listed.iter().any(|known| known == app)
    {
        let path = tenant_membership_file(env, tenant);
        let text = proposal.changes.text(&path)?.unwrap_or_default();
        let edited = yaml_edit::append_item(&text, "apps", app)
            .map_err(|message| edit_error(&path, message))?;
        proposal.changes.write(&path, edited)?;
    }
    proposal.unchanged = format!("app {app} of {tenant} is already deployed to {env}");
    let clusters = membership
        .content
        .clusters
        .clone()
        .unwrap_or_else(|| source.members(env));
    if let Some(cluster) = clusters.first() {
        proposal.next.push(format!(
            "the tenant's repository needs ./{app}/<cluster> for each cluster, e.g. ./{app}/{cluster}"
        ));
    }
    proposal
        .next
        .push("fleetgen render, review the result, and commit the fleet source".to_owned());
    Ok(proposal)
}

pub fn remove_tenant(root: &Path, args: &RemoveTenant) -> Result<Proposal> {
    let source = Source::load(root)?;
    let name = args.name.as_str();
    let mut proposal = Proposal::new(root);
    if source.tenant(name).is_none() {
        proposal.unchanged = format!("there is no tenant {name}");
        if let Some(close) = did_you_mean(name, source.tenant_names()) {
            proposal.notes.push(format!("did you mean {close}?"));
        }
        return Ok(proposal);
    }
    let in_envs: Vec<String> = source
        .envs()
        .filter(|env| source.membership(&env.name, name).is_some())
        .map(|env| env.name.clone())
        .collect();
    match &args.env {
        Some(env) => {
            let mut problems = Diagnostics::new();
            check_env(&source, &mut problems, env);
            refuse(&mut problems)?;
            proposal
                .changes
                .delete(&tenant_membership_file(env, name))?;
            proposal.unchanged = format!("tenant {name} is not in {env}");
        }
        None => {
            if !in_envs.is_empty() && !args.force {
                return Err(crate::error::Error::Invalid(
                    [Diagnostic::error(
                        "has-dependents",
                        format!(
                            "refusing to remove tenant {name}: it is in {}",
                            in_envs.join(", ")
                        ),
                    )
                    .at_file(tenant_membership_file(&in_envs[0], name))
                    .with_hint(format!(
                        "remove it per environment first (fleetgen remove-tenant {name} --env {}), or pass --force to remove it everywhere",
                        in_envs[0]
                    ))]
                    .into_iter()
                    .collect(),
                ));
            }
            proposal.changes.delete(&tenant_file(name))?;
            for env in &in_envs {
                proposal
                    .changes
                    .delete(&tenant_membership_file(env, name))?;
            }
        }
    }
    proposal.next.push(
        "fleetgen render, review the result, and commit the fleet source; Flux prunes on its next reconciliation".to_owned(),
    );
    Ok(proposal)
}

pub fn remove_app(root: &Path, args: &RemoveApp) -> Result<Proposal> {
    let source = Source::load(root)?;
    let (tenant, app) = (args.tenant.as_str(), args.app.as_str());
    let mut proposal = Proposal::new(root);
    let Some(parsed) = source.tenant(tenant) else {
        proposal.unchanged = format!("there is no tenant {tenant}");
        if let Some(close) = did_you_mean(tenant, source.tenant_names()) {
            proposal.notes.push(format!("did you mean {close}?"));
        }
        return Ok(proposal);
    };
    let apps = &parsed.content.apps;
    if !apps.iter().any(|known| known == app) {
        proposal.unchanged = format!("tenant {tenant} has no app {app}");
        if let Some(close) = did_you_mean(app, apps.iter().map(String::as_str)) {
            proposal.notes.push(format!("did you mean {close}?"));
        }
        return Ok(proposal);
    }
    match &args.env {
        Some(env) => {
            let mut problems = Diagnostics::new();
            check_env(&source, &mut problems, env);
            refuse(&mut problems)?;
            proposal.unchanged = format!("app {app} of {tenant} is not deployed to {env}");
            if let Some(membership) = source.membership(env, tenant) {
                let path = tenant_membership_file(env, tenant);
                let text = proposal.changes.text(&path)?.unwrap_or_default();
                let edited = match &membership.content.apps {
                    Some(_) => yaml_edit::remove_item(&text, "apps", app),
                    None => {
                        let rest: Vec<String> =
                            apps.iter().filter(|known| *known != app).cloned().collect();
                        yaml_edit::add_list(&text, "apps", &rest)
                    }
                }
                .map_err(|message| edit_error(&path, message))?;
                proposal.changes.write(&path, edited)?;
            }
        }
        None => {
            let deployed: Vec<String> = source
                .envs()
                .filter(|env| {
                    source
                        .deployed_apps(&env.name, tenant)
                        .iter()
                        .any(|known| known == app)
                })
                .map(|env| env.name.clone())
                .collect();
            if !deployed.is_empty() && !args.force {
                return Err(crate::error::Error::Invalid(
                    [Diagnostic::error(
                        "has-dependents",
                        format!(
                            "refusing to remove app {app} of {tenant}: it is deployed to {}",
                            deployed.join(", ")
                        ),
                    )
                    .at_file(tenant_file(tenant))
                    .with_hint(format!(
                        "remove it per environment first (fleetgen remove-app {tenant} {app} --env {}), or pass --force to remove it everywhere",
                        deployed[0]
                    ))]
                    .into_iter()
                    .collect(),
                ));
            }
            let path = tenant_file(tenant);
            let text = proposal.changes.text(&path)?.unwrap_or_default();
            let edited = yaml_edit::remove_item(&text, "apps", app)
                .map_err(|message| edit_error(&path, message))?;
            proposal.changes.write(&path, edited)?;
            for env in source.envs() {
                let Some(membership) = source.membership(&env.name, tenant) else {
                    continue;
                };
                if membership
                    .content
                    .apps
                    .as_ref()
                    .is_some_and(|listed| listed.iter().any(|known| known == app))
                {
                    let path = tenant_membership_file(&env.name, tenant);
                    let text = proposal.changes.text(&path)?.unwrap_or_default();
                    let edited = yaml_edit::remove_item(&text, "apps", app)
                        .map_err(|message| edit_error(&path, message))?;
                    proposal.changes.write(&path, edited)?;
                }
            }
        }
    }
    proposal.next.push(
        "fleetgen render, review the result, and commit the fleet source; Flux prunes on its next reconciliation".to_owned(),
    );
    Ok(proposal)
}
