//! The typed fleet: clusters, tenants and environments with every cross-reference resolved and
//! checked. Everything after this stage may assume the fleet is consistent.

pub mod capi;
mod clusters;
mod environments;
pub mod hand_over;
pub mod keys;
pub mod names;
pub mod policy;
mod settings;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

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

impl Repo {
    /// The keys of the Git Secret that source-controller reads for the fleet repo.
    pub fn secret_keys(&self) -> &'static [&'static str] {
        hand_over::git_secret_keys(&self.url)
    }
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
    /// The clusters of the environment the tenant is on: asked of every cluster and tenant,
    /// so a set, not a list to scan.
    pub clusters: BTreeSet<String>,
}

impl Fleet {
    /// Interprets and checks a loaded fleet source, reporting every problem found.
    pub fn from_source(source: &FleetSource) -> Result<Fleet, Diagnostics> {
        Builder {
            source,
            diagnostics: Diagnostics::new(),
            tenant_roles: Vec::new(),
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

    /// The clusters each cluster's Flux drives, itself excluded, in name order. One pass over
    /// the clusters for callers that ask of every cluster: a scan per question made planning
    /// quadratic in the clusters.
    pub fn remotes_by_driver(&self) -> HashMap<&str, Vec<&Cluster>> {
        let mut remotes: HashMap<&str, Vec<&Cluster>> = HashMap::new();
        for cluster in self.clusters.values().filter(|cluster| cluster.is_remote()) {
            remotes.entry(cluster.driver()).or_default().push(cluster);
        }
        remotes
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
    /// The fleet's allow-list of tenant ClusterRoles.
    tenant_roles: Vec<String>,
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
        self.tenant_roles = self.allowed_tenant_roles();
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
        capi::check(&clusters, &mut self.diagnostics);
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
        self.check_branches_unique(&environments, &repo.main_branch);
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
        self.check_validation_paths(&fleet_file.content.validation);
        let fleet = Fleet {
            root: self.source.root.clone(),
            repo,
            output,
            keys,
            clusters,
            tenants,
            environments,
            validation: fleet_file.content.validation.clone(),
        };
        self.check_hand_over_names(&fleet);
        if self.diagnostics.has_errors() {
            let mut diagnostics = self.diagnostics;
            diagnostics.sort();
            return Err(diagnostics);
        }
        Ok(fleet)
    }

    fn check_name(&mut self, name: &str, what: &str, location: Location) -> bool {
        match names::check_label(name) {
            Ok(()) => true,
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::error("invalid-name", format!("{what} `{}` is not a valid name: {problem}", crate::diagnostic::truncate(name)))
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
                        format!(
                            "key name `{}` must be UPPER_SNAKE_CASE",
                            crate::diagnostic::truncate(name)
                        ),
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
            Ok(_) if spec.name == "TENANT_ROLE" && !self.check_role(raw, location.clone()) => None,
            Ok(value) => Some(Resolved {
                value,
                layer,
                location: Some(location),
            }),
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!(
                            "{} = `{}`: {problem}",
                            spec.name,
                            crate::diagnostic::truncate(raw)
                        ),
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

    fn check_derived_name(&mut self, derived: String, what: &str, location: Location) {
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
    }

    /// The hand-over Kustomization's name, checked only where it is rendered: which clusters
    /// get one depends on the assembled fleet (its repo, environments and tenants).
    fn check_hand_over_names(&mut self, fleet: &Fleet) {
        for cluster in fleet.clusters.values() {
            if fleet.hands_over_environments(cluster) {
                self.check_derived_name(
                    format!("{}-flux-environments", cluster.name),
                    "Kustomization name",
                    Location::file(&cluster.file),
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
            self.check_derived_name(derived, what, location)
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
                check(
                    format!("{}-flux-system", cluster.name),
                    "Secret name",
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
