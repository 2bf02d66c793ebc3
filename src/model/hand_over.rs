//! What a FLUX=local Cluster API cluster receives from its manager before its own Flux runs:
//! the Git Secrets nobody can create on a cluster that does not exist yet. The fleet repo's
//! credentials are one set of post-build variables named as the repo Secret's keys; each
//! private tenant repository's are the same keys behind a per-tenant prefix, all in the one
//! Secret `<cluster>-flux-system` that the operator creates on the manager.

use super::{Cluster, Environment, Fleet, Tenant};

/// The keys of the Git Secret that source-controller reads for `url`: an SSH key and the
/// host's keys for `ssh://`, a user and password (or token) otherwise. Each is also a valid
/// name for a Flux post-build variable.
pub fn git_secret_keys(url: &str) -> &'static [&'static str] {
    if url.to_ascii_lowercase().starts_with("ssh://") {
        &["identity", "known_hosts"]
    } else {
        &["username", "password"]
    }
}

/// The post-build variable, and key of `<cluster>-flux-system` on the manager, that holds the
/// data key `key` of tenant `tenant`'s Git Secret.
///
/// Tenant names are DNS-1123 labels (`[a-z0-9-]`, maybe starting with a digit), and Flux
/// variable names are `^[_[:alpha:]][_[:alpha:][:digit:]]*$`: the fixed `tenant_` prefix makes
/// every name start with a letter and keeps it apart from the fleet repo's own keys, and `-`
/// becomes `_`, which no tenant name contains. The result is injective: the tenant part is
/// recovered by stripping the prefix and the `_<key>` suffix, and no key of
/// [`git_secret_keys`] is a `_`-suffix of another (`hosts` is not a key), so two tenants or
/// two keys never meet in one name.
pub fn tenant_variable(tenant: &str, key: &str) -> String {
    format!("tenant_{}_{key}", tenant.replace('-', "_"))
}

/// A private tenant repository whose Secret the manager creates in one environment's tenant
/// namespace on a FLUX=local Cluster API cluster.
#[derive(Debug, Clone, Copy)]
pub struct TenantHandOver<'a> {
    pub env: &'a Environment,
    pub tenant: &'a Tenant,
    /// The tenant's `secretRef`: the Secret's name.
    pub secret: &'a str,
}

impl TenantHandOver<'_> {
    /// `<env>-<tenant>`, where the tenant's GitRepository reads the Secret.
    pub fn namespace(&self) -> String {
        self.env.tenant_namespace(&self.tenant.name)
    }

    /// The Secret's data keys with the variable that fills in each.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        self.tenant
            .secret_keys()
            .iter()
            .map(|key| (*key, tenant_variable(&self.tenant.name, key)))
            .collect()
    }
}

impl Tenant {
    /// The keys of the Git Secret source-controller reads for the tenant's repository.
    pub fn secret_keys(&self) -> &'static [&'static str] {
        git_secret_keys(&self.repo)
    }
}

impl Fleet {
    /// Whether `cluster`'s manager runs `<cluster>-flux-environments`, which creates Git
    /// Secrets on the new cluster before its Flux runs: the fleet repo's, in each of its
    /// environments, when the fleet repo is private; and the private tenant repositories'.
    /// The blueprints and the name checks ask this one question.
    pub fn hands_over_environments(&self, cluster: &Cluster) -> bool {
        if !cluster.is_capi() || cluster.is_remote() || cluster.manager.is_none() {
            return false;
        }
        let in_an_environment = self
            .environments
            .values()
            .any(|env| env.clusters.contains_key(&cluster.name));
        (self.repo.secret_ref.is_some() && in_an_environment)
            || !self.tenant_hand_overs(cluster).is_empty()
    }

    /// The private tenant repositories whose Secrets `cluster`'s manager hands over, one per
    /// environment and tenant whose source lives on `cluster` (the plan's tenant-source units
    /// there: the tenant runs on it, or on a remote cluster it drives). Empty unless `cluster`
    /// is a Cluster API cluster with its own Flux.
    pub fn tenant_hand_overs<'a>(&'a self, cluster: &Cluster) -> Vec<TenantHandOver<'a>> {
        if !cluster.is_capi() || cluster.is_remote() || cluster.manager.is_none() {
            return Vec::new();
        }
        let driven: Vec<&Cluster> = self
            .clusters
            .values()
            .filter(|other| other.is_remote() && other.driver() == cluster.name)
            .collect();
        let mut found = Vec::new();
        for env in self
            .environments
            .values()
            .filter(|env| env.clusters.contains_key(&cluster.name))
        {
            for (name, membership) in &env.tenants {
                let Some(tenant) = self.tenants.get(name) else {
                    continue;
                };
                let Some(secret) = &tenant.secret_ref else {
                    continue;
                };
                // The tenant's members this cluster drives: its own, or one of its remotes.
                let sourced_here = membership.clusters.contains(&cluster.name)
                    || driven.iter().any(|remote| {
                        env.clusters.contains_key(&remote.name)
                            && membership.clusters.contains(&remote.name)
                    });
                if sourced_here {
                    found.push(TenantHandOver {
                        env,
                        tenant,
                        secret,
                    });
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_variables_are_flux_variable_names() {
        for tenant in ["shop", "web-shop", "1st", "a-1-b"] {
            for key in git_secret_keys("ssh://x")
                .iter()
                .chain(git_secret_keys("https://x"))
            {
                let name = tenant_variable(tenant, key);
                let mut chars = name.chars();
                assert!(
                    chars.next().is_some_and(|c| c.is_ascii_alphabetic()),
                    "{name}"
                );
                assert!(
                    chars.all(|c| c == '_' || c.is_ascii_alphanumeric()),
                    "{name}"
                );
            }
        }
        assert_eq!(
            tenant_variable("web-shop", "username"),
            "tenant_web_shop_username"
        );
    }

    /// Names that would meet if `-` became nothing, or if a key could absorb part of a name.
    #[test]
    fn tenant_variables_are_injective() {
        let tenants = [
            "a",
            "a-b",
            "ab",
            "a-b-known",
            "a-known",
            "known",
            "hosts",
            "x-known-hosts",
            "x",
            "1",
            "1-a",
            "a-1",
            "identity",
            "password-username",
        ];
        let keys: Vec<&str> = git_secret_keys("ssh://x")
            .iter()
            .chain(git_secret_keys("https://x"))
            .copied()
            .collect();
        let mut seen = std::collections::BTreeMap::new();
        for tenant in tenants {
            for key in &keys {
                let name = tenant_variable(tenant, key);
                assert!(!keys.contains(&name.as_str()), "{name}");
                if let Some(other) = seen.insert(name.clone(), (tenant, *key)) {
                    panic!("{name}: {other:?} and {:?}", (tenant, key));
                }
            }
        }
    }
}
