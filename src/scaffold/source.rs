//! What the scaffolding commands need to know about the fleet as it is on disk: which
//! clusters, tenants and environments exist and how they refer to each other.
//!
//! This reads the parsed files, not the checked [`crate::model::Fleet`], on purpose: a fleet
//! with an unfilled placeholder or another mistake does not load as a model, and the user must
//! still be able to add and remove things while fixing it. Whether the result of a command
//! loads is checked separately, on a staged copy (see `stage`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Result;
use crate::load::{
    self, CLUSTERS_DIR, ENVIRONMENTS_DIR, EnvFile, EnvironmentSource, FleetSource, Parsed,
    TENANTS_DIR, TenantFile, TenantMembershipFile,
};

pub struct Source {
    pub raw: FleetSource,
}

impl Source {
    pub fn load(root: &Path) -> Result<Self> {
        Ok(Self {
            raw: load::load(root)?,
        })
    }

    pub fn cluster(&self, name: &str) -> Option<&EnvFile> {
        self.raw.clusters.iter().find(|file| file.name == name)
    }

    pub fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.raw.clusters.iter().map(|file| file.name.as_str())
    }

    /// A cluster's own value for `key`, else the fleet's default, as written.
    pub fn cluster_value(&self, name: &str, key: &str) -> Option<String> {
        let own = self
            .cluster(name)?
            .entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| entry.value.clone());
        own.or_else(|| {
            self.raw
                .fleet
                .content
                .defaults
                .get(key)
                .map(ToString::to_string)
        })
    }

    pub fn provider(&self, name: &str) -> String {
        self.cluster_value(name, "PROVIDER")
            .unwrap_or_else(|| "existing".to_owned())
    }

    pub fn is_remote(&self, name: &str) -> bool {
        self.cluster_value(name, "FLUX").as_deref() == Some("remote")
    }

    pub fn manager(&self, name: &str) -> Option<String> {
        self.cluster_value(name, "MANAGED_BY")
    }

    /// Clusters whose MANAGED_BY is `name`: remote ones (driven by its Flux) and Cluster API
    /// ones (provisioned by it).
    pub fn managed_by(&self, name: &str) -> Vec<String> {
        self.cluster_names()
            .filter(|other| self.manager(other).as_deref() == Some(name))
            .map(str::to_owned)
            .collect()
    }

    pub fn tenant(&self, name: &str) -> Option<&Parsed<TenantFile>> {
        self.raw
            .tenants
            .iter()
            .find(|(tenant, _)| tenant == name)
            .map(|(_, parsed)| parsed)
    }

    pub fn tenant_names(&self) -> impl Iterator<Item = &str> {
        self.raw.tenants.iter().map(|(name, _)| name.as_str())
    }

    pub fn env(&self, name: &str) -> Option<&EnvironmentSource> {
        self.raw.environments.iter().find(|env| env.name == name)
    }

    pub fn envs(&self) -> impl Iterator<Item = &EnvironmentSource> {
        self.raw.environments.iter()
    }

    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.raw.environments.iter().map(|env| env.name.as_str())
    }

    pub fn members(&self, env: &str) -> Vec<String> {
        self.env(env)
            .map(|env| env.clusters.iter().map(|file| file.name.clone()).collect())
            .unwrap_or_default()
    }

    pub fn is_member(&self, env: &str, cluster: &str) -> bool {
        self.members(env).iter().any(|member| member == cluster)
    }

    pub fn membership(&self, env: &str, tenant: &str) -> Option<&Parsed<TenantMembershipFile>> {
        self.env(env)?
            .tenants
            .iter()
            .find(|(name, _)| name == tenant)
            .map(|(_, parsed)| parsed)
    }

    /// The apps of `tenant` deployed in `env`: the membership's list, or all of the tenant's.
    pub fn deployed_apps(&self, env: &str, tenant: &str) -> Vec<String> {
        let all = self
            .tenant(tenant)
            .map(|parsed| parsed.content.apps.clone())
            .unwrap_or_default();
        match self.membership(env, tenant) {
            Some(parsed) => parsed.content.apps.clone().unwrap_or(all),
            None => Vec::new(),
        }
    }
}

pub fn cluster_file(name: &str) -> PathBuf {
    Path::new(CLUSTERS_DIR).join(format!("{name}.env"))
}

pub fn tenant_file(name: &str) -> PathBuf {
    Path::new(TENANTS_DIR).join(format!("{name}.yaml"))
}

pub fn env_dir(env: &str) -> PathBuf {
    Path::new(ENVIRONMENTS_DIR).join(env)
}

pub fn environment_file(env: &str) -> PathBuf {
    env_dir(env).join(load::ENVIRONMENT_FILE)
}

pub fn cluster_membership_file(env: &str, cluster: &str) -> PathBuf {
    env_dir(env).join("clusters").join(format!("{cluster}.env"))
}

pub fn tenant_membership_file(env: &str, tenant: &str) -> PathBuf {
    env_dir(env).join("tenants").join(format!("{tenant}.yaml"))
}

/// "no cluster `x`", with the closest existing name as a hint, or `otherwise`.
pub fn unknown(
    rule: &'static str,
    what: &str,
    name: &str,
    known: impl IntoIterator<Item = impl AsRef<str>>,
    otherwise: impl Into<String>,
) -> Diagnostic {
    let known: Vec<String> = known.into_iter().map(|k| k.as_ref().to_owned()).collect();
    let diagnostic = Diagnostic::error(
        rule,
        format!("no {what} `{}`", crate::diagnostic::truncate(name)),
    );
    match did_you_mean(name, known.iter().map(String::as_str)) {
        Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
        None => diagnostic.with_hint(otherwise),
    }
}

/// Collects the values of `KEY=VALUE` arguments, refusing malformed ones.
pub fn key_values(
    pairs: &[String],
    flag: &str,
) -> std::result::Result<BTreeMap<String, String>, Diagnostic> {
    let mut values = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Diagnostic::error(
                "invalid-argument",
                format!(
                    "{flag} `{}` is not KEY=VALUE",
                    crate::diagnostic::truncate(pair)
                ),
            )
            .with_hint(format!("e.g. {flag} POD_CIDR=10.244.0.0/16")));
        };
        let valid_key = key.starts_with(|c: char| c.is_ascii_uppercase())
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid_key {
            return Err(Diagnostic::error(
                "invalid-argument",
                format!(
                    "{flag} `{}`: `{}` is not a key name",
                    crate::diagnostic::truncate(pair),
                    crate::diagnostic::truncate(key)
                ),
            )
            .with_hint("keys are UPPER_SNAKE_CASE; `fleetgen keys` lists them"));
        }
        if values.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Diagnostic::error(
                "invalid-argument",
                format!("{flag} sets {key} twice"),
            ));
        }
    }
    Ok(values)
}
