//! The settings of fleet.yaml that are not keys: the fleet repo, the tenant roles the fleet
//! allows, and where validation finds schemas. Each is checked as a pull request may have
//! written it.

use std::path::{Path, PathBuf};

use super::keys::{self, KeyType};
use super::{Builder, Repo, names, policy, yaml_location};
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::load::files::ValidationSettings;
use crate::load::yaml::Seg;

impl Builder<'_> {
    /// `validation.crds` and `validation.kubernetes` name schema sources inside the fleet
    /// root: a pull request may change them, and a path out of the root (`/`, `../..`) would
    /// have validation read, or walk, whatever the machine holds. `--crds` and
    /// `--kubernetes-schemas` take sources from anywhere.
    pub(super) fn check_validation_paths(&mut self, validation: &ValidationSettings) {
        let source = &self.source.fleet.source;
        let named = validation
            .crds
            .iter()
            .enumerate()
            .map(|(index, path)| {
                let at = [Seg::Key("validation"), Seg::Key("crds"), Seg::Index(index)];
                ("crds", "--crds", path, yaml_location(source, &at))
            })
            .chain(validation.kubernetes.iter().map(|path| {
                let at = [Seg::Key("validation"), Seg::Key("kubernetes")];
                (
                    "kubernetes",
                    "--kubernetes-schemas",
                    path,
                    yaml_location(source, &at),
                )
            }));
        let outside: Diagnostics = named
            .filter(|(_, _, path, _)| policy::leaves_root(Path::new(path)))
            .map(|(field, flag, path, location)| {
                Diagnostic::error(
                    "schema-source",
                    format!(
                        "validation.{field} names `{}`, which is not inside the fleet root",
                        crate::diagnostic::truncate(path)
                    ),
                )
                .at(location)
                .with_hint(format!(
                    "name a file or folder below the fleet root, or pass {flag} to validate with \
                     one elsewhere"
                ))
            })
            .collect();
        self.diagnostics.extend(outside);
    }

    pub(super) fn repo(&mut self) -> Repo {
        let file = &self.source.fleet;
        let settings = &file.content.repo;
        let main_branch = settings
            .main_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned());
        if let Err(problem) = names::check_branch(&main_branch) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-branch",
                    format!(
                        "main branch `{}` is not a valid branch name",
                        crate::diagnostic::truncate(&main_branch)
                    ),
                )
                .at(yaml_location(
                    &file.source,
                    &[Seg::Key("repo"), Seg::Key("mainBranch")],
                ))
                .with_hint(problem),
            );
        }
        if keys::is_placeholder(&settings.url) {
            self.diagnostics.push(
                Diagnostic::error("fill-in", "fill in repo.url")
                    .at(yaml_location(
                        &file.source,
                        &[Seg::Key("repo"), Seg::Key("url")],
                    ))
                    .with_hint(
                        "the URL Flux clones the fleet repo from, e.g. ssh://git@host/org/fleet",
                    ),
            );
        } else {
            self.check_url(
                &settings.url,
                yaml_location(&file.source, &[Seg::Key("repo"), Seg::Key("url")]),
            );
        }
        if let Some(secret) = &settings.secret_ref {
            self.check_name(
                secret,
                "secret name",
                yaml_location(&file.source, &[Seg::Key("repo"), Seg::Key("secretRef")]),
            );
        }
        let interval = settings.interval.clone().unwrap_or_else(|| "1m".to_owned());
        if let Err(problem) = keys::parse_value(&KeyType::Duration, &interval) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-value",
                    format!(
                        "interval `{}`: {problem}",
                        crate::diagnostic::truncate(&interval)
                    ),
                )
                .at(yaml_location(
                    &file.source,
                    &[Seg::Key("repo"), Seg::Key("interval")],
                )),
            );
        }
        Repo {
            url: settings.url.clone(),
            path: settings.path.as_ref().map(PathBuf::from),
            main_branch,
            secret_ref: settings.secret_ref.clone(),
            interval,
        }
    }

    pub(super) fn check_url(&mut self, url: &str, location: Location) {
        if let Err(problem) = policy::check_git_url(url) {
            let rule = if problem.message == "contains credentials" {
                "url-credentials"
            } else {
                "invalid-url"
            };
            self.diagnostics.push(
                Diagnostic::error(
                    rule,
                    format!("`{}` {}", policy::redact_url(url), problem.message),
                )
                .at(location)
                .with_hint(problem.hint),
            );
        }
    }

    /// Checks a tenant role (tenant `role:` or a TENANT_ROLE value) against the allow-list.
    pub(super) fn check_role(&mut self, role: &str, location: Location) -> bool {
        match policy::check_tenant_role(role, &self.tenant_roles) {
            Ok(()) => true,
            Err((message, hint)) => {
                self.diagnostics.push(
                    Diagnostic::error("tenant-role", message)
                        .at(location)
                        .with_hint(hint),
                );
                false
            }
        }
    }

    /// `tenantRoles` of fleet.yaml, or the default; entries are ClusterRole names, and
    /// `cluster-admin` cannot be allowed.
    pub(super) fn allowed_tenant_roles(&mut self) -> Vec<String> {
        let file = &self.source.fleet;
        let Some(listed) = &file.content.tenant_roles else {
            return policy::DEFAULT_TENANT_ROLES.map(str::to_owned).to_vec();
        };
        let mut allowed = Vec::new();
        for (index, role) in listed.iter().enumerate() {
            let location =
                yaml_location(&file.source, &[Seg::Key("tenantRoles"), Seg::Index(index)]);
            let problem = match names::check_role(role) {
                Err(problem) => Some(format!(
                    "`{}` is not a valid ClusterRole name: {problem}",
                    crate::diagnostic::truncate(role)
                )),
                Ok(()) if role == names::FORBIDDEN_ROLE => Some(format!(
                    "{} cannot be allowed for tenants",
                    names::FORBIDDEN_ROLE
                )),
                Ok(()) => None,
            };
            match problem {
                Some(message) => self.diagnostics.push(
                    Diagnostic::error("tenant-role", message)
                        .at(location)
                        .with_hint("list ClusterRoles a tenant may hold in its own namespaces, e.g. admin, edit, view"),
                ),
                None => allowed.push(role.clone()),
            }
        }
        // The built-in default must be allowed too, or be replaced fleet-wide.
        let default_replaced = file.content.defaults.contains_key("TENANT_ROLE");
        if !default_replaced && !allowed.iter().any(|role| role == "admin") {
            self.diagnostics.push(
                Diagnostic::error(
                    "tenant-role",
                    "`tenantRoles` leaves out admin, the default tenant role",
                )
                .at(yaml_location(&file.source, &[Seg::Key("tenantRoles")]))
                .with_hint("set TENANT_ROLE under `defaults:` to an allowed role, or allow admin"),
            );
        }
        allowed
    }
}
