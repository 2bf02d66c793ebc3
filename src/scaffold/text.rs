//! The text of the files the scaffolding commands create. Each file explains itself in a
//! comment, because it is the user's file from then on: they read, edit and review it.

use std::collections::BTreeMap;

use crate::load::dotenv;
use crate::load::files::FleetFile;
use crate::model::keys::{KeyRegistry, PLACEHOLDER, Required};

use super::yaml_edit;

const WIDTH: usize = 96;

/// `text` as `# ` comment lines, wrapped.
pub fn comment(text: &str) -> String {
    let mut out = String::new();
    for paragraph in text.split('\n') {
        if paragraph.trim().is_empty() {
            out.push_str("#\n");
            continue;
        }
        // An indented paragraph is a command to copy: it stays on one line.
        if paragraph.starts_with(' ') {
            out.push_str("# ");
            out.push_str(paragraph);
            out.push('\n');
            continue;
        }
        for line in textwrap::wrap(paragraph, WIDTH - 2) {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A dotenv value that reads back as `value`: bare when possible, quoted otherwise.
pub fn dotenv_value(value: &str) -> Result<String, String> {
    let candidates = [
        value.to_owned(),
        format!("'{value}'"),
        format!(
            "\"{}\"",
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
                .replace('\n', "\\n")
                .replace('\t', "\\t")
        ),
    ];
    candidates
        .into_iter()
        .find(|candidate| {
            dotenv::parse(std::path::Path::new("-"), &format!("K={candidate}\n"))
                .is_ok_and(|entries| entries.len() == 1 && entries[0].value == value)
        })
        .ok_or_else(|| {
            format!(
                "`{}` cannot be written as a dotenv value",
                crate::diagnostic::truncate(value)
            )
        })
}

/// A key as the cluster file shows it: its documentation, and how it is set.
struct KeyLine {
    name: String,
    help: String,
    default: Option<String>,
    fleet_default: Option<String>,
    required: bool,
}

pub struct ClusterFile<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub remote: bool,
    pub manager: Option<&'a str>,
    pub sets: &'a BTreeMap<String, String>,
    pub fleet: &'a FleetFile,
}

impl ClusterFile<'_> {
    fn keys(&self) -> Vec<KeyLine> {
        let mut keys = Vec::new();
        let fleet_default = |name: &str| self.fleet.defaults.get(name).map(ToString::to_string);
        for spec in KeyRegistry::builtin().iter() {
            // Keys required only by other providers (KUBERNETES_VERSION for a cluster made
            // elsewhere, NODE_CIDR for Docker) would only be noise; the pod and service
            // networks stay, because fleetgen checks every cluster's networks for overlaps.
            let for_others_only = matches!(
                &spec.required,
                Required::ForProviders(providers)
                    if !providers.is_empty() && !providers.contains(&self.provider)
            ) && !["POD_CIDR", "SERVICE_CIDR"].contains(&spec.name.as_str());
            if ["PROVIDER", "FLUX", "MANAGED_BY"].contains(&spec.name.as_str())
                || !spec.applies_to(self.provider)
                || for_others_only
            {
                continue;
            }
            keys.push(KeyLine {
                name: spec.name.clone(),
                help: spec.help.clone(),
                default: spec.default.clone(),
                fleet_default: fleet_default(&spec.name),
                required: spec.is_required(self.provider, self.remote),
            });
        }
        for (name, custom) in &self.fleet.keys {
            keys.push(KeyLine {
                name: name.clone(),
                help: custom.description.clone(),
                default: custom.default.as_ref().map(ToString::to_string),
                fleet_default: fleet_default(name),
                required: custom.required,
            });
        }
        keys
    }

    /// Keys left as placeholders, in file order.
    pub fn placeholders(&self) -> Vec<String> {
        self.keys()
            .into_iter()
            .filter(|key| {
                !self.sets.contains_key(&key.name)
                    && key.required
                    && key.default.is_none()
                    && key.fleet_default.is_none()
            })
            .map(|key| key.name)
            .collect()
    }

    pub fn render(&self, repo_url: &str, main_branch: &str) -> Result<String, String> {
        let name = self.name;
        let mut out = String::new();
        let about = match (self.provider, self.remote) {
            ("existing", false) => format!(
                "Cluster {name}, made outside fleetgen, with its own Flux. Install it with\n  \
                 flux bootstrap git --url={repo_url} --branch={main_branch} --path=clusters/{name}"
            ),
            ("existing", true) => format!(
                "Cluster {name}, made outside fleetgen, without Flux of its own (FLUX=remote): the Flux of {} applies everything to it through a Secret {name}-kubeconfig (key `value`).",
                self.manager.unwrap_or("its manager")
            ),
            (provider, remote) => format!(
                "Cluster {name}, provisioned by Cluster API on {} with the `{provider}` infrastructure provider{}.",
                self.manager.unwrap_or("its manager"),
                if remote {
                    ", and driven by that cluster's Flux (FLUX=remote)"
                } else {
                    ""
                }
            ),
        };
        out.push_str(&comment(&about));
        out.push_str("#\n");
        out.push_str(&comment(&format!(
            "The file name is the cluster's name; environments/<env>/clusters/{name}.env makes it a member of an environment. Every key is typed: `fleetgen keys` documents them and `fleetgen explain cluster {name}` shows where each value comes from. Commented-out keys show their default."
        )));
        if !self.placeholders().is_empty() {
            out.push_str("#\n");
            out.push_str(&comment(&format!(
                "Replace every {PLACEHOLDER} below with this cluster's value: fleetgen refuses to render until then, and never guesses networks, key pairs or versions."
            )));
        }
        out.push('\n');
        out.push_str(&format!("PROVIDER={}\n", self.provider));
        if let Some(manager) = self.manager {
            out.push_str(&format!("MANAGED_BY={manager}\n"));
        }
        out.push_str(&format!(
            "FLUX={}\n",
            if self.remote { "remote" } else { "local" }
        ));
        for key in self.keys() {
            out.push('\n');
            out.push_str(&comment(&key.help));
            let line = match (self.sets.get(&key.name), &key.fleet_default, &key.default) {
                (Some(value), _, _) => format!("{}={}", key.name, dotenv_value(value)?),
                (None, Some(value), _) => {
                    format!("# {}={}  (fleet default)", key.name, dotenv_value(value)?)
                }
                (None, None, Some(value)) => format!("# {}={}", key.name, dotenv_value(value)?),
                (None, None, None) if key.required => format!("{}={PLACEHOLDER}", key.name),
                (None, None, None) => format!("# {}=", key.name),
            };
            out.push_str(&line);
            out.push('\n');
        }
        // Keys given with --set that this provider does not know are still written, so that
        // the loader names the problem at its line instead of the value silently vanishing.
        let known: Vec<String> = self.keys().into_iter().map(|key| key.name).collect();
        let extra: Vec<(&String, &String)> = self
            .sets
            .iter()
            .filter(|(key, _)| !known.contains(key))
            .collect();
        if !extra.is_empty() {
            out.push('\n');
            for (key, value) in extra {
                out.push_str(&format!("{key}={}\n", dotenv_value(value)?));
            }
        }
        Ok(out)
    }
}

pub fn cluster_membership(
    env: &str,
    cluster: &str,
    manager: Option<&str>,
    values: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut about = format!(
        "{cluster} is a member of the {env} environment: the {env} branch holds its infrastructure and tenants."
    );
    if let Some(manager) = manager {
        about.push_str(&format!(
            " It has no Flux of its own: {manager}'s Flux applies {env} to it, so {manager} must be in {env} too."
        ));
    }
    about.push_str(&format!(
        " Keys set here override fleet/clusters/{cluster}.env in {env} only, and only keys that may differ per environment (`fleetgen keys` says which)."
    ));
    let mut out = comment(&about);
    for (key, value) in values {
        out.push_str(&format!("{key}={}\n", dotenv_value(value)?));
    }
    Ok(out)
}

pub fn environment(env: &str, branch: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = comment(&format!(
        "The {env} environment. Its rendered tree goes to the fleet repo's `{branch}` branch (fleetgen commit creates the branch), and every cluster listed under clusters/ gets a {env}-flux-system namespace whose GitRepository tracks that branch. tenants/ lists the tenants in {env}."
    ));
    out.push_str(&format!("branch: {}\n", yaml_edit::scalar(branch)));
    if !values.is_empty() {
        out.push('\n');
        out.push_str(&comment(
            "Values for every cluster of this environment (only keys that may differ per environment).",
        ));
        out.push_str("values:\n");
        for (key, value) in values {
            out.push_str(&format!("  {key}: {}\n", yaml_edit::value_scalar(value)));
        }
    }
    out
}

pub fn tenant(name: &str, repo: &str, role: Option<&str>, apps: &[String]) -> String {
    let mut out = comment(&format!(
        "Tenant {name}: a team with its own Git repository of application manifests. In each environment it joins (environments/<env>/tenants/{name}.yaml) it gets a namespace <env>-{name} on its clusters, and one Flux Kustomization per app applying ./<app>/<cluster> of its repository as the tenant's service account."
    ));
    out.push('\n');
    out.push_str(&comment(
        "The team's repository; its branch is the environment's name unless the membership says otherwise.",
    ));
    out.push_str(&format!("repo: {}\n", yaml_edit::scalar(repo)));
    out.push('\n');
    out.push_str(&comment(
        "ClusterRole bound in the tenant's namespaces (default: the TENANT_ROLE key, `admin`; never cluster-admin).",
    ));
    match role {
        Some(role) => out.push_str(&format!("role: {}\n", yaml_edit::scalar(role))),
        None => out.push_str("# role: admin\n"),
    }
    out.push('\n');
    if apps.is_empty() {
        out.push_str("apps: []\n");
    } else {
        out.push_str("apps:\n");
        for app in apps {
            out.push_str(&format!("  - {}\n", yaml_edit::scalar(app)));
        }
    }
    out
}

pub struct TenantMembership<'a> {
    pub env: &'a str,
    pub tenant: &'a str,
    pub branch: Option<&'a str>,
    pub apps: Option<&'a [String]>,
    pub clusters: Option<&'a [String]>,
}

impl TenantMembership<'_> {
    pub fn render(&self) -> String {
        let (env, tenant) = (self.env, self.tenant);
        let mut out = comment(&format!(
            "{tenant} is in the {env} environment. Without `apps:` it gets all its apps, without `clusters:` all of {env}'s clusters, and without `branch:` the `{env}` branch of its repository."
        ));
        if let Some(branch) = self.branch {
            out.push_str(&format!("branch: {}\n", yaml_edit::scalar(branch)));
        }
        for (key, items) in [("apps", self.apps), ("clusters", self.clusters)] {
            if let Some(items) = items {
                if items.is_empty() {
                    out.push_str(&format!("{key}: []\n"));
                    continue;
                }
                out.push_str(&format!("{key}:\n"));
                for item in items {
                    out.push_str(&format!("  - {}\n", yaml_edit::scalar(item)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_values_round_trip() {
        assert_eq!(dotenv_value("10.0.0.0/16").unwrap(), "10.0.0.0/16");
        assert_eq!(dotenv_value("a b").unwrap(), "'a b'");
        assert_eq!(dotenv_value("it's $x").unwrap(), "\"it's \\$x\"");
        assert_eq!(dotenv_value("").unwrap(), "");
    }

    #[test]
    fn comments_wrap() {
        let text = comment(&"word ".repeat(40));
        assert!(
            text.lines()
                .all(|line| line.len() <= WIDTH && line.starts_with("# "))
        );
    }
}
