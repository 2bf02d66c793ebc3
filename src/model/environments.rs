//! Tenants and environments: a tenant file, an environment with its cluster and tenant
//! memberships, and the branches environments are rendered to.

use std::collections::{BTreeMap, BTreeSet};

use super::keys::KeyRegistry;
use super::values::{Layer, Values};
use super::{Builder, Cluster, Environment, Tenant, TenantMembership, names, yaml_location};
use crate::diagnostic::{Diagnostic, Location, did_you_mean};
use crate::load::SourceFile;
use crate::load::yaml::Seg;

impl Builder<'_> {
    pub(super) fn tenant(
        &mut self,
        name: &str,
        source: &SourceFile,
        content: &crate::load::TenantFile,
    ) -> Tenant {
        self.check_name(name, "tenant name", Location::file(&source.path));
        self.check_url(&content.repo, yaml_location(source, &[Seg::Key("repo")]));
        if let Some(branch) = &content.branch
            && let Err(problem) = names::check_branch(branch)
        {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-branch",
                    format!(
                        "`{}` is not a valid branch name",
                        crate::diagnostic::truncate(branch)
                    ),
                )
                .at(yaml_location(source, &[Seg::Key("branch")]))
                .with_hint(problem),
            );
        }
        if let Some(role) = &content.role {
            self.check_role(role, yaml_location(source, &[Seg::Key("role")]));
        }
        if let Some(secret) = &content.secret_ref {
            self.check_name(
                secret,
                "secret name",
                yaml_location(source, &[Seg::Key("secretRef")]),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, app) in content.apps.iter().enumerate() {
            // Locating a list item reads the file; only a finding needs it, so that a tenant
            // of thousands of apps is not read thousands of times.
            let valid = names::check_label(app).is_ok();
            if valid && seen.insert(app) {
                continue;
            }
            let location = yaml_location(source, &[Seg::Key("apps"), Seg::Index(index)]);
            if self.check_name(app, "app name", location.clone()) {
                self.diagnostics.push(
                    Diagnostic::error("duplicate-name", format!("app {app} is listed twice"))
                        .at(location),
                );
            }
        }
        Tenant {
            name: name.to_owned(),
            file: source.path.clone(),
            repo: content.repo.clone(),
            branch: content.branch.clone(),
            role: content.role.clone(),
            secret_ref: content.secret_ref.clone(),
            apps: content.apps.clone(),
        }
    }

    pub(super) fn environment(
        &mut self,
        env: &crate::load::EnvironmentSource,
        keys: &KeyRegistry,
        clusters: &BTreeMap<String, Cluster>,
        tenants: &BTreeMap<String, Tenant>,
        main_branch: &str,
    ) -> Environment {
        let file = &env.file;
        self.check_name(&env.name, "environment name", Location::file(&env.dir));
        let branch = file
            .content
            .branch
            .clone()
            .unwrap_or_else(|| env.name.clone());
        let branch_location = yaml_location(&file.source, &[Seg::Key("branch")]);
        if let Err(problem) = names::check_branch(&branch) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-branch",
                    format!(
                        "`{}` is not a valid branch name",
                        crate::diagnostic::truncate(&branch)
                    ),
                )
                .at(branch_location.clone())
                .with_hint(problem),
            );
        } else if branch == main_branch {
            self.diagnostics.push(
                Diagnostic::error("invalid-branch", format!("environment {} uses the main branch `{branch}`", env.name))
                    .at(branch_location)
                    .with_hint("each environment needs a branch of its own; the main branch holds what all environments share"),
            );
        }

        let mut env_values = Values::default();
        for (key, scalar) in &file.content.values {
            let location = yaml_location(&file.source, &[Seg::Key("values"), Seg::Key(key)]);
            if let Some(spec) = keys.get(key)
                && !spec.per_environment
            {
                self.diagnostics.push(
                        Diagnostic::error("not-per-environment", format!("{key} cannot differ between environments"))
                            .at(location)
                            .with_hint(format!("{key} shapes the clusters themselves; set it in fleet/fleet.yaml `defaults` or a cluster file")),
                    );
                continue;
            }
            if let Some(resolved) =
                self.scalar_value(keys, key, scalar, location, Layer::Environment)
            {
                env_values.set(key, resolved);
            }
        }

        let mut members = BTreeMap::new();
        for membership in &env.clusters {
            let Some(cluster) = clusters.get(&membership.name) else {
                if names::check_label(&membership.name).is_ok()
                    && !self
                        .source
                        .clusters
                        .iter()
                        .any(|file| file.name == membership.name)
                {
                    let mut diagnostic = Diagnostic::error(
                        "unknown-cluster",
                        format!(
                            "environment {} lists cluster `{}`, which is not in fleet/clusters",
                            env.name, membership.name
                        ),
                    )
                    .at_file(&membership.source.path);
                    diagnostic =
                        match did_you_mean(&membership.name, clusters.keys().map(String::as_str)) {
                            Some(close) => diagnostic.with_hint(format!(
                                "did you mean {close}? membership files are named after the cluster"
                            )),
                            None => diagnostic.with_hint(format!(
                                "add fleet/clusters/{}.env first (fleetgen add-cluster)",
                                membership.name
                            )),
                        };
                    self.diagnostics.push(diagnostic);
                }
                continue;
            };
            let mut values = cluster.values.clone();
            for (key, resolved) in env_values.iter() {
                values.set(key, resolved.clone());
            }
            self.env_entries(keys, membership, Layer::Membership, &mut values);
            members.insert(cluster.name.clone(), values);
        }
        for name in members.keys() {
            let cluster = &clusters[name];
            if let (true, Some(manager)) = (cluster.is_remote(), &cluster.manager)
                && clusters.contains_key(manager)
                && !members.contains_key(manager)
            {
                self.diagnostics.push(
                        Diagnostic::error(
                            "manager-not-in-environment",
                            format!("remote cluster {name} is in environment {} but its manager {manager} is not", env.name),
                        )
                        .at_file(env.dir.join("clusters").join(format!("{name}.env")))
                        .with_hint(format!("{manager}'s Flux drives {name}: add {manager} to {} too", env.name)),
                    );
            }
        }

        let mut memberships = BTreeMap::new();
        for (tenant_name, parsed) in &env.tenants {
            let Some(tenant) = tenants.get(tenant_name) else {
                if !self
                    .source
                    .tenants
                    .iter()
                    .any(|(name, _)| name == tenant_name)
                {
                    let mut diagnostic = Diagnostic::error(
                        "unknown-tenant",
                        format!(
                            "environment {} lists tenant `{}`, which is not in fleet/tenants",
                            env.name,
                            crate::diagnostic::truncate(tenant_name)
                        ),
                    )
                    .at_file(&parsed.source.path);
                    diagnostic = match did_you_mean(tenant_name, tenants.keys().map(String::as_str))
                    {
                        Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                        None => diagnostic.with_hint(format!(
                            "add fleet/tenants/{tenant_name}.yaml first (fleetgen add-tenant)"
                        )),
                    };
                    self.diagnostics.push(diagnostic);
                }
                continue;
            };
            let content = &parsed.content;
            let branch = content
                .branch
                .clone()
                .or_else(|| tenant.branch.clone())
                .unwrap_or_else(|| env.name.clone());
            if let Err(problem) = names::check_branch(&branch) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-branch",
                        format!(
                            "`{}` is not a valid branch name",
                            crate::diagnostic::truncate(&branch)
                        ),
                    )
                    .at(yaml_location(&parsed.source, &[Seg::Key("branch")]))
                    .with_hint(problem),
                );
            }
            let apps = match &content.apps {
                None => tenant.apps.clone(),
                Some(apps) => {
                    let known: BTreeSet<&String> = tenant.apps.iter().collect();
                    for (index, app) in apps.iter().enumerate() {
                        if !known.contains(app) {
                            let mut diagnostic = Diagnostic::error(
                                "unknown-app",
                                format!(
                                    "tenant {tenant_name} has no app `{}`",
                                    crate::diagnostic::truncate(app)
                                ),
                            )
                            .at(yaml_location(
                                &parsed.source,
                                &[Seg::Key("apps"), Seg::Index(index)],
                            ));
                            diagnostic =
                                match did_you_mean(app, tenant.apps.iter().map(String::as_str)) {
                                    Some(close) => {
                                        diagnostic.with_hint(format!("did you mean {close}?"))
                                    }
                                    None => diagnostic.with_hint(format!(
                                        "the apps of {tenant_name} are listed in {}",
                                        tenant.file.display()
                                    )),
                                };
                            self.diagnostics.push(diagnostic);
                        }
                    }
                    apps.clone()
                }
            };
            let on_clusters = match &content.clusters {
                None => members.keys().cloned().collect(),
                Some(listed) => {
                    for (index, cluster) in listed.iter().enumerate() {
                        if !members.contains_key(cluster) {
                            let location = yaml_location(
                                &parsed.source,
                                &[Seg::Key("clusters"), Seg::Index(index)],
                            );
                            let why = if clusters.contains_key(cluster) {
                                format!(
                                    "cluster {cluster} is not a member of environment {}",
                                    env.name
                                )
                            } else {
                                format!(
                                    "`{}` is not a cluster of the fleet",
                                    crate::diagnostic::truncate(cluster)
                                )
                            };
                            let mut diagnostic =
                                Diagnostic::error("unknown-cluster", why).at(location);
                            let suggestion = match clusters.contains_key(cluster) {
                                true => None,
                                false => did_you_mean(cluster, members.keys().map(String::as_str)),
                            };
                            diagnostic = match suggestion {
                                Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                                None if clusters.contains_key(cluster) => diagnostic.with_hint(format!(
                                    "add environments/{}/clusters/{cluster}.env, or remove it from this list",
                                    env.name
                                )),
                                None => diagnostic,
                            };
                            self.diagnostics.push(diagnostic);
                        }
                    }
                    listed.iter().cloned().collect()
                }
            };
            memberships.insert(
                tenant_name.clone(),
                TenantMembership {
                    file: parsed.source.path.clone(),
                    branch,
                    apps,
                    clusters: on_clusters,
                },
            );
        }

        Environment {
            name: env.name.clone(),
            branch,
            dir: env.dir.clone(),
            clusters: members,
            tenants: memberships,
        }
    }

    pub(super) fn check_branches_unique(
        &mut self,
        environments: &BTreeMap<String, Environment>,
        main_branch: &str,
    ) {
        for env in environments.values() {
            let nested = std::iter::once(main_branch)
                .chain(
                    environments
                        .values()
                        .filter(|other| other.name < env.name)
                        .map(|other| other.branch.as_str()),
                )
                .find(|other| names::branches_nest(other, &env.branch));
            if let Some(other) = nested {
                self.diagnostics.push(
                    Diagnostic::error(
                        "nested-branch",
                        format!("branch `{}` of environment {} and branch `{other}` nest in one another", env.branch, env.name),
                    )
                    .at_file(env.dir.join(crate::load::ENVIRONMENT_FILE))
                    .with_hint("each branch's tree is written to a folder of its name, and Git cannot hold a branch and a branch below it; pick a name that is not a path prefix of another"),
                );
            }
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for env in environments.values() {
            if let Some(other) = seen.insert(&env.branch, &env.name) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "duplicate-branch",
                        format!(
                            "environments {other} and {} both use branch `{}`",
                            env.name, env.branch
                        ),
                    )
                    .at_file(env.dir.join(crate::load::ENVIRONMENT_FILE)),
                );
            }
        }
    }
}
