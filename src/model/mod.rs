//! The typed fleet: clusters, tenants and environments with every cross-reference resolved and
//! checked. Everything after this stage may assume the fleet is consistent.

pub mod keys;
pub mod names;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ipnet::IpNet;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
use crate::load::files::{CustomKey, Scalar, ValidationSettings};
use crate::load::yaml::{Seg, locate};
use crate::load::{EnvFile, FleetSource, SourceFile};
use keys::{KeyRegistry, KeySpec, KeyType, Required};
use values::{Layer, Resolved, Values};

#[derive(Debug, Clone)]
pub struct Fleet {
    pub root: PathBuf,
    pub repo: Repo,
    /// Output directory, relative to the fleet root unless absolute.
    pub output: PathBuf,
    pub keys: KeyRegistry,
    pub clusters: BTreeMap<String, Cluster>,
    pub tenants: BTreeMap<String, Tenant>,
    pub environments: BTreeMap<String, Environment>,
    pub validation: ValidationSettings,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub url: String,
    pub path: Option<PathBuf>,
    pub main_branch: String,
    pub secret_ref: Option<String>,
    pub interval: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flux {
    Local,
    Remote,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub file: PathBuf,
    pub values: Values,
    pub provider: String,
    pub flux: Flux,
    pub manager: Option<String>,
}

impl Cluster {
    pub fn is_remote(&self) -> bool {
        self.flux == Flux::Remote
    }

    /// Provisioned by Cluster API on its manager.
    pub fn is_capi(&self) -> bool {
        self.provider != "existing"
    }

    /// The cluster whose Flux applies this cluster's objects: itself, or its manager.
    pub fn driver(&self) -> &str {
        match (&self.flux, &self.manager) {
            (Flux::Remote, Some(manager)) => manager,
            _ => &self.name,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub file: PathBuf,
    pub repo: String,
    pub branch: Option<String>,
    pub role: Option<String>,
    pub secret_ref: Option<String>,
    pub apps: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub branch: String,
    pub dir: PathBuf,
    /// Member clusters with their values resolved for this environment.
    pub clusters: BTreeMap<String, Values>,
    pub tenants: BTreeMap<String, TenantMembership>,
}

impl Environment {
    /// Namespace of the environment's Flux source and entry points on each cluster.
    pub fn flux_namespace(&self) -> String {
        format!("{}-flux-system", self.name)
    }

    pub fn tenant_namespace(&self, tenant: &str) -> String {
        format!("{}-{tenant}", self.name)
    }
}

#[derive(Debug, Clone)]
pub struct TenantMembership {
    pub file: PathBuf,
    pub branch: String,
    pub apps: Vec<String>,
    pub clusters: Vec<String>,
}

impl Fleet {
    /// Interprets and checks a loaded fleet source, reporting every problem found.
    pub fn from_source(source: &FleetSource) -> Result<Fleet, Diagnostics> {
        Builder {
            source,
            diagnostics: Diagnostics::new(),
        }
        .build()
    }

    /// The clusters that are members of `env`, in name order.
    pub fn env_clusters<'a>(
        &'a self,
        env: &'a Environment,
    ) -> impl Iterator<Item = (&'a Cluster, &'a Values)> + 'a {
        env.clusters
            .iter()
            .map(|(name, values)| (&self.clusters[name], values))
    }

    /// Names of the clusters whose Flux `driver` drives, itself excluded.
    pub fn remotes_of<'a>(&'a self, driver: &'a str) -> impl Iterator<Item = &'a Cluster> + 'a {
        self.clusters
            .values()
            .filter(move |cluster| cluster.is_remote() && cluster.driver() == driver)
    }
}

/// The keys of a dotenv file that were read, and those that were refused.
struct EntryKeys {
    set: BTreeSet<String>,
    failed: BTreeSet<String>,
}

struct Builder<'a> {
    source: &'a FleetSource,
    diagnostics: Diagnostics,
}

/// Places a finding at the node `path` of a YAML source, or at the top of the file.
fn yaml_location(file: &SourceFile, path: &[Seg<'_>]) -> Location {
    match locate(&file.text, path) {
        Some((line, column)) => Location::new(&file.path, line, column),
        None => Location::file(&file.path),
    }
}

impl Builder<'_> {
    fn build(mut self) -> Result<Fleet, Diagnostics> {
        let fleet_file = &self.source.fleet;
        let keys = self.keys();
        let defaults = self.fleet_defaults(&keys);
        let repo = self.repo();
        let mut clusters = BTreeMap::new();
        for file in &self.source.clusters {
            let cluster = self.cluster(file, &keys, &defaults);
            clusters.insert(cluster.name.clone(), cluster);
        }
        self.check_managers(&clusters);
        self.check_networks(&clusters);
        let mut tenants = BTreeMap::new();
        for (name, parsed) in &self.source.tenants {
            let tenant = self.tenant(name, &parsed.source, &parsed.content);
            tenants.insert(name.clone(), tenant);
        }
        let mut environments = BTreeMap::new();
        for env in &self.source.environments {
            let environment = self.environment(env, &keys, &clusters, &tenants, &repo.main_branch);
            environments.insert(environment.name.clone(), environment);
        }
        self.check_branches_unique(&environments);
        self.check_derived_names(&clusters, &environments);

        let output = PathBuf::from(
            fleet_file
                .content
                .output
                .clone()
                .unwrap_or_else(|| "out".to_owned()),
        );
        if let Err(problem) = crate::sinks::output::check_configured(&output) {
            // `--out` is the explicit way to write elsewhere; a shared fleet.yaml may not.
            self.diagnostics.push(
                Diagnostic::error("output-outside-root", format!("`output` {problem}"))
                    .at(yaml_location(&fleet_file.source, &[Seg::Key("output")]))
                    .with_hint(
                        "use a folder inside the fleet root beside the source, such as `out`, \
                         or pass --out to write elsewhere",
                    ),
            );
        }
        if self.diagnostics.has_errors() {
            let mut diagnostics = self.diagnostics;
            diagnostics.sort();
            return Err(diagnostics);
        }
        Ok(Fleet {
            root: self.source.root.clone(),
            repo,
            output,
            keys,
            clusters,
            tenants,
            environments,
            validation: fleet_file.content.validation.clone(),
        })
    }

    fn repo(&mut self) -> Repo {
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
                    format!("main branch `{main_branch}` is not a valid branch name"),
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
        } else if !is_git_url(&settings.url) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-url",
                    format!("`{}` is not a Git URL Flux can clone", settings.url),
                )
                .at(yaml_location(
                    &file.source,
                    &[Seg::Key("repo"), Seg::Key("url")],
                ))
                .with_hint("use https://…, http://… or ssh://git@host/…"),
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
                Diagnostic::error("invalid-value", format!("interval `{interval}`: {problem}")).at(
                    yaml_location(&file.source, &[Seg::Key("repo"), Seg::Key("interval")]),
                ),
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

    fn check_name(&mut self, name: &str, what: &str, location: Location) -> bool {
        match names::check_label(name) {
            Ok(()) => true,
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::error("invalid-name", format!("{what} `{name}` is not a valid name: {problem}"))
                        .at(location)
                        .with_hint("names become Kubernetes names and label values: DNS-1123 labels, at most 63 characters"),
                );
                false
            }
        }
    }

    fn keys(&mut self) -> KeyRegistry {
        let mut registry = KeyRegistry::builtin();
        let file = &self.source.fleet;
        for (name, custom) in &file.content.keys {
            let location = yaml_location(&file.source, &[Seg::Key("keys"), Seg::Key(name)]);
            if registry.get(name).is_some() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "duplicate-key",
                        format!("key {name} is already defined by fleetgen"),
                    )
                    .at(location)
                    .with_hint("pick another name for the fleet's own key"),
                );
                continue;
            }
            let valid_name = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid_name {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-name",
                        format!("key name `{name}` must be UPPER_SNAKE_CASE"),
                    )
                    .at(location),
                );
                continue;
            }
            match custom_key(name, custom) {
                Ok(spec) => registry.add(spec),
                Err(problem) => self
                    .diagnostics
                    .push(Diagnostic::error("invalid-value", problem).at(location)),
            }
        }
        registry
    }

    fn fleet_defaults(&mut self, keys: &KeyRegistry) -> Values {
        let mut values = Values::default();
        let file = &self.source.fleet;
        for spec in keys.iter() {
            if let Some(default) = &spec.default
                && let Ok(value) = spec.parse(default)
            {
                // A fleet key's default is written in fleet.yaml; say where.
                let location = spec.custom.then(|| {
                    yaml_location(
                        &file.source,
                        &[Seg::Key("keys"), Seg::Key(&spec.name), Seg::Key("default")],
                    )
                });
                values.set(
                    &spec.name,
                    Resolved {
                        value,
                        layer: Layer::Default,
                        location,
                    },
                );
            }
        }
        for (key, scalar) in &file.content.defaults {
            let location = yaml_location(&file.source, &[Seg::Key("defaults"), Seg::Key(key)]);
            if let Some(resolved) =
                self.scalar_value(keys, key, scalar, location, Layer::FleetDefault)
            {
                values.set(key, resolved);
            }
        }
        values
    }

    fn unknown_key(&mut self, keys: &KeyRegistry, key: &str, location: Location) {
        let mut diagnostic =
            Diagnostic::error("unknown-key", format!("unknown key {key}")).at(location);
        diagnostic = match did_you_mean(key, keys.names()) {
            Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
            None => diagnostic.with_hint("`fleetgen keys` lists the known keys; a fleet declares its own under `keys:` in fleet/fleet.yaml"),
        };
        self.diagnostics.push(diagnostic);
    }

    fn parse_key(
        &mut self,
        spec: &KeySpec,
        raw: &str,
        location: Location,
        layer: Layer,
    ) -> Option<Resolved> {
        if keys::is_placeholder(raw) {
            self.diagnostics.push(
                Diagnostic::error("fill-in", format!("fill in {}", spec.name))
                    .at(location)
                    .with_hint(format!(
                        "replace `{raw}` with the value to use (fleetgen never guesses one). {}: {}",
                        spec.name, spec.help
                    )),
            );
            return None;
        }
        match spec.parse(raw) {
            Ok(value) => Some(Resolved {
                value,
                layer,
                location: Some(location),
            }),
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("{} = `{raw}`: {problem}", spec.name),
                    )
                    .at(location)
                    .with_hint(spec.help.clone()),
                );
                None
            }
        }
    }

    fn scalar_value(
        &mut self,
        keys: &KeyRegistry,
        key: &str,
        scalar: &Scalar,
        location: Location,
        layer: Layer,
    ) -> Option<Resolved> {
        let Some(spec) = keys.get(key) else {
            self.unknown_key(keys, key, location);
            return None;
        };
        let spec = spec.clone();
        self.parse_key(&spec, &scalar.to_string(), location, layer)
    }

    /// Reads dotenv entries into `values` at `layer`. Returns the keys that were set.
    fn env_entries(
        &mut self,
        keys: &KeyRegistry,
        file: &EnvFile,
        layer: Layer,
        values: &mut Values,
    ) -> EntryKeys {
        let mut set = BTreeSet::new();
        let mut failed = BTreeSet::new();
        for entry in &file.entries {
            let key_location = Location::new(&file.source.path, entry.line, entry.key_column);
            let Some(spec) = keys.get(&entry.key).cloned() else {
                self.unknown_key(keys, &entry.key, key_location);
                failed.insert(entry.key.clone());
                continue;
            };
            if layer == Layer::Membership && !spec.per_environment {
                self.diagnostics.push(
                    Diagnostic::error("not-per-environment", format!("{} cannot differ between environments", entry.key))
                        .at(key_location)
                        .with_hint(format!(
                            "{} shapes the cluster itself, which all its environments share; set it in fleet/clusters/{}.env",
                            entry.key, file.name
                        )),
                );
                continue;
            }
            let value_location = Location::new(&file.source.path, entry.line, entry.value_column);
            match self.parse_key(&spec, &entry.value, value_location, layer) {
                Some(resolved) => {
                    values.set(&entry.key, resolved);
                    set.insert(entry.key.clone());
                }
                None => {
                    failed.insert(entry.key.clone());
                }
            }
        }
        EntryKeys { set, failed }
    }

    fn cluster(&mut self, file: &EnvFile, keys: &KeyRegistry, defaults: &Values) -> Cluster {
        self.check_name(
            &file.name,
            "cluster name",
            Location::file(&file.source.path),
        );
        let mut values = defaults.clone();
        let EntryKeys { set: own, failed } =
            self.env_entries(keys, file, Layer::Cluster, &mut values);
        // A cluster with a bad value still exists: other files may name it, and reporting them
        // as unknown would bury the real error. Checks that depend on a value that failed to
        // parse are skipped, so one mistake gives one message.
        let shape_known = !failed.contains("PROVIDER") && !failed.contains("FLUX");
        let provider = values.text("PROVIDER").unwrap_or("existing").to_owned();
        let flux = if values.text("FLUX") == Some("remote") {
            Flux::Remote
        } else {
            Flux::Local
        };
        for key in own.iter().filter(|_| shape_known) {
            let spec = keys.get(key).expect("parsed keys are known");
            if !spec.applies_to(&provider) {
                let entry = file
                    .entries
                    .iter()
                    .find(|entry| &entry.key == key)
                    .expect("key came from an entry");
                self.diagnostics.push(
                    Diagnostic::error(
                        "key-not-for-provider",
                        format!("{key} does not apply to PROVIDER={provider}"),
                    )
                    .at(Location::new(
                        &file.source.path,
                        entry.line,
                        entry.key_column,
                    ))
                    .with_hint(format!(
                        "{key} is for PROVIDER={}; remove it or change PROVIDER",
                        spec.providers.join("|")
                    )),
                );
            }
        }
        let capi = provider != "existing";
        for spec in keys.iter() {
            let required = spec.is_required(&provider, flux == Flux::Remote)
                || (spec.name == "MANAGED_BY" && capi)
                || (spec.custom
                    && spec.required == Required::ForProviders(Vec::new())
                    && spec.applies_to(&provider));
            if required
                && shape_known
                && !failed.contains(&spec.name)
                && values.get(&spec.name).is_none()
            {
                let why = match (&spec.required, spec.name.as_str()) {
                    (_, "MANAGED_BY") if capi => {
                        format!(" (PROVIDER={provider} is provisioned by a management cluster)")
                    }
                    (Required::ForRemoteFlux, _) => " (FLUX=remote)".to_owned(),
                    (Required::ForProviders(providers), _) if !providers.is_empty() => {
                        format!(" (PROVIDER={provider})")
                    }
                    _ => String::new(),
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        "missing-key",
                        format!("missing required key {}{why}", spec.name),
                    )
                    .at(Location::file(&file.source.path))
                    .with_hint(format!("add {}=… : {}", spec.name, spec.help)),
                );
            }
        }
        // Keys of other providers (defaults included) mean nothing for this cluster; dropping
        // them keeps `explain` honest and makes templates see them as unset.
        if shape_known {
            values.retain(|key| keys.get(key).is_none_or(|spec| spec.applies_to(&provider)));
        }
        let manager = values.text("MANAGED_BY").map(str::to_owned);
        Cluster {
            name: file.name.clone(),
            file: file.source.path.clone(),
            values,
            provider,
            flux,
            manager,
        }
    }

    fn key_location(&self, cluster: &Cluster, key: &str) -> Location {
        cluster
            .values
            .get(key)
            .and_then(|resolved| resolved.location.clone())
            .unwrap_or_else(|| Location::file(&cluster.file))
    }

    fn check_managers(&mut self, clusters: &BTreeMap<String, Cluster>) {
        for cluster in clusters.values() {
            let Some(manager) = &cluster.manager else {
                continue;
            };
            let location = self.key_location(cluster, "MANAGED_BY");
            if manager == &cluster.name {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!("cluster {} is managed by itself", cluster.name),
                    )
                    .at(location),
                );
                continue;
            }
            let Some(managing) = clusters.get(manager) else {
                let mut diagnostic = Diagnostic::error(
                    "unknown-cluster",
                    format!("MANAGED_BY names `{manager}`, which is not a cluster of the fleet"),
                )
                .at(location);
                diagnostic = match did_you_mean(manager, clusters.keys().map(String::as_str)) {
                    Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                    None => diagnostic
                        .with_hint(format!("add fleet/clusters/{manager}.env, or fix the name")),
                };
                self.diagnostics.push(diagnostic);
                continue;
            };
            if cluster.is_capi() && managing.is_remote() {
                // The Cluster, machine templates and add-ons are applied by the manager's own
                // Flux (they sit under its bootstrap path), and Cluster API writes the
                // kubeconfig there; a manager without Flux would apply nothing.
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!(
                            "{} is provisioned by Cluster API on {manager}, but {manager} has no Flux of its own (FLUX=remote)",
                            cluster.name
                        ),
                    )
                    .at(location.clone())
                    .with_hint(format!(
                        "{manager}'s Flux applies {}'s Cluster API objects: the manager of a Cluster API cluster needs FLUX=local",
                        cluster.name
                    )),
                );
            } else if cluster.is_remote() && managing.is_remote() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-manager",
                        format!("{} has FLUX=remote but its manager {manager} has no Flux of its own (FLUX=remote)", cluster.name),
                    )
                    .at(location.clone())
                    .with_hint("a remote cluster must be driven by a cluster with FLUX=local"),
                );
            }
            if !cluster.is_remote() && !cluster.is_capi() {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "unused-key",
                        format!("MANAGED_BY has no effect on {}: it is PROVIDER=existing with FLUX=local", cluster.name),
                    )
                    .at(location.clone()),
                );
            }
            // Follow the chain of managers; coming back to the start is a cycle.
            let mut seen = vec![cluster.name.as_str()];
            let mut next = Some(manager.as_str());
            while let Some(name) = next {
                if seen.contains(&name) {
                    if name == cluster.name {
                        seen.push(name);
                        self.diagnostics.push(
                            Diagnostic::error(
                                "manager-cycle",
                                format!("clusters manage each other: {}", seen.join(" → ")),
                            )
                            .at(location.clone()),
                        );
                    }
                    break;
                }
                seen.push(name);
                next = clusters.get(name).and_then(|next| next.manager.as_deref());
            }
        }
    }

    fn check_networks(&mut self, clusters: &BTreeMap<String, Cluster>) {
        let mut networks: Vec<(&Cluster, &str, IpNet)> = Vec::new();
        for cluster in clusters.values() {
            for key in ["POD_CIDR", "SERVICE_CIDR", "NODE_CIDR"] {
                if let Some(net) = cluster
                    .values
                    .text(key)
                    .and_then(|text| text.parse::<IpNet>().ok())
                {
                    networks.push((cluster, key, net));
                }
            }
        }
        for (index, (cluster, key, net)) in networks.iter().enumerate() {
            for (other, other_key, other_net) in &networks[..index] {
                if net.contains(&other_net.network()) || other_net.contains(&net.network()) {
                    let whose = if other.name == cluster.name {
                        "its own".to_owned()
                    } else {
                        format!("{}'s", other.name)
                    };
                    let location = self.key_location(cluster, key);
                    self.diagnostics.push(
                        Diagnostic::error(
                            "cidr-overlap",
                            format!(
                                "{key} {net} of {} overlaps {whose} {other_key} {other_net}",
                                cluster.name
                            ),
                        )
                        .at(location)
                        .with_hint(format!(
                            "{other_key} of {} is set at {}",
                            other.name,
                            self.key_location(other, other_key)
                        )),
                    );
                }
            }
        }
    }

    fn tenant(
        &mut self,
        name: &str,
        source: &SourceFile,
        content: &crate::load::TenantFile,
    ) -> Tenant {
        self.check_name(name, "tenant name", Location::file(&source.path));
        if !is_git_url(&content.repo) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-url",
                    format!("`{}` is not a Git URL Flux can clone", content.repo),
                )
                .at(yaml_location(source, &[Seg::Key("repo")]))
                .with_hint("use https://…, http://… or ssh://git@host/…"),
            );
        }
        if let Some(branch) = &content.branch
            && let Err(problem) = names::check_branch(branch)
        {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-branch",
                    format!("`{branch}` is not a valid branch name"),
                )
                .at(yaml_location(source, &[Seg::Key("branch")]))
                .with_hint(problem),
            );
        }
        if let Some(role) = &content.role
            && (role.is_empty() || role.contains(['/', '%']) || role == "." || role == "..")
        {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-name",
                    format!("`{role}` is not a valid ClusterRole name"),
                )
                .at(yaml_location(source, &[Seg::Key("role")])),
            );
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
            let location = yaml_location(source, &[Seg::Key("apps"), Seg::Index(index)]);
            if self.check_name(app, "app name", location.clone()) && !seen.insert(app) {
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

    fn environment(
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
                    format!("`{branch}` is not a valid branch name"),
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
                        format!("environment {} lists tenant `{tenant_name}`, which is not in fleet/tenants", env.name),
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
                        format!("`{branch}` is not a valid branch name"),
                    )
                    .at(yaml_location(&parsed.source, &[Seg::Key("branch")]))
                    .with_hint(problem),
                );
            }
            let apps = match &content.apps {
                None => tenant.apps.clone(),
                Some(apps) => {
                    for (index, app) in apps.iter().enumerate() {
                        if !tenant.apps.contains(app) {
                            let mut diagnostic = Diagnostic::error(
                                "unknown-app",
                                format!("tenant {tenant_name} has no app `{app}`"),
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
                                format!("`{cluster}` is not a cluster of the fleet")
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
                    listed.clone()
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

    fn check_branches_unique(&mut self, environments: &BTreeMap<String, Environment>) {
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

    /// Names fleetgen derives (namespaces, object names used as label values) must fit the
    /// 63-character limit too; better to say so here than to have the API server refuse them.
    fn check_derived_names(
        &mut self,
        clusters: &BTreeMap<String, Cluster>,
        environments: &BTreeMap<String, Environment>,
    ) {
        let mut check = |derived: String, what: &str, location: Location| {
            if derived.len() > names::MAX_LABEL {
                self.diagnostics.push(
                    Diagnostic::error(
                        "name-too-long",
                        format!(
                            "{what} `{derived}` would be {} characters long; the limit is {}",
                            derived.len(),
                            names::MAX_LABEL
                        ),
                    )
                    .at(location)
                    .with_hint("shorten the names it is made of"),
                );
            }
        };
        for cluster in clusters.values() {
            if cluster.is_remote() || cluster.is_capi() {
                check(
                    format!("{}-infrastructure", cluster.name),
                    "Kustomization name",
                    Location::file(&cluster.file),
                );
                check(
                    format!("{}-kubeconfig", cluster.name),
                    "Secret name",
                    Location::file(&cluster.file),
                );
            }
            if cluster.is_capi() && !cluster.is_remote() {
                check(
                    format!("{}-flux", cluster.name),
                    "Kustomization name",
                    Location::file(&cluster.file),
                );
            }
        }
        for env in environments.values() {
            check(
                env.flux_namespace(),
                "namespace",
                Location::file(env.dir.join(crate::load::ENVIRONMENT_FILE)),
            );
            // A remote Cluster API cluster's environment Kustomizations share its namespace
            // on the manager, so their names carry the environment.
            for name in env.clusters.keys() {
                if let Some(cluster) = clusters.get(name)
                    && cluster.is_remote()
                    && cluster.is_capi()
                {
                    check(
                        format!("{}-{}-infrastructure", cluster.name, env.name),
                        "Kustomization name",
                        Location::file(env.dir.join("clusters").join(format!("{name}.env"))),
                    );
                }
            }
            for (tenant, membership) in &env.tenants {
                check(
                    env.tenant_namespace(tenant),
                    "namespace",
                    Location::file(&membership.file),
                );
                for cluster in membership
                    .clusters
                    .iter()
                    .filter_map(|name| clusters.get(name))
                {
                    if cluster.is_remote() {
                        for app in &membership.apps {
                            let name = if cluster.is_capi() {
                                format!("{}-{}-{tenant}-{app}", cluster.name, env.name)
                            } else {
                                format!("{}-{app}", cluster.name)
                            };
                            check(name, "Kustomization name", Location::file(&membership.file));
                        }
                    }
                }
            }
        }
    }
}

fn is_git_url(url: &str) -> bool {
    let rest = ["https://", "http://", "ssh://", "file://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    matches!(rest, Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace))
}

fn custom_key(name: &str, custom: &CustomKey) -> Result<KeySpec, String> {
    let ty = match custom.ty.as_str() {
        "text" => KeyType::Text,
        "count" => KeyType::Count,
        "port" => KeyType::Port,
        "bool" => KeyType::Bool,
        "cidr" => KeyType::Cidr,
        "version" => KeyType::Version,
        "duration" => KeyType::Duration,
        "name" => KeyType::Name,
        "ip-list" => KeyType::IpList,
        "enum" if !custom.values.is_empty() => KeyType::Enum(custom.values.clone()),
        "enum" => return Err(format!("key {name} has type enum but no `values`")),
        other => {
            return Err(format!(
                "key {name} has unknown type `{other}`; the types are text, count, port, bool, cidr, version, duration, name, ip-list, enum"
            ));
        }
    };
    let default = custom.default.as_ref().map(Scalar::to_string);
    if let Some(default) = &default {
        keys::parse_value(&ty, default)
            .map_err(|problem| format!("default of {name}, `{default}`: {problem}"))?;
    }
    Ok(KeySpec {
        name: name.to_owned(),
        ty,
        default,
        // A required custom key applies to every provider; `ForProviders(vec![])` marks it.
        required: if custom.required {
            Required::ForProviders(Vec::new())
        } else {
            Required::No
        },
        providers: Vec::new(),
        per_environment: custom.per_environment,
        help: custom.description.clone(),
        custom: true,
    })
}
