//! The scaffolding commands: arguments, and the printing of what they did. The work is in
//! [`crate::scaffold`].

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use crate::error::Result;
use crate::scaffold::{self, Outcome};

#[derive(Debug, Subcommand)]
pub enum ScaffoldCommand {
    /// Create a new fleet source.
    ///
    /// Writes a commented fleet/fleet.yaml, an example environment, a justfile and a CI
    /// workflow; with --with-blueprints also a copy of the default blueprints. Refuses a folder that already holds other files unless --force (they are kept). Run in
    /// a folder that already holds a fleet, it only adds what was asked for (--with-blueprints).
    Init(InitArgs),
    /// Create an environment, optionally with another one's memberships.
    ///
    /// Writes environments/ENV/environment.yaml, tracking branch ENV. With --from, the new environment starts with the cluster and tenant memberships of
    /// another one. Run on an existing environment, it only adds the missing --set values.
    InitEnvironment(InitEnvironmentArgs),
    /// Add a cluster, or add an existing one to more environments.
    ///
    /// Writes fleet/clusters/NAME.env with every key its provider takes, commented, and the
    /// membership in each --env. Values only the user can decide (networks, key pairs, versions) are written as
    /// <FILL-IN> placeholders that render and check refuse until they are filled in. Run for an
    /// existing cluster, it adds the missing memberships, and fills placeholders from --set.
    AddCluster(AddClusterArgs),
    /// Add a cluster driven by its manager's Flux, and list the Secrets it needs.
    ///
    /// The cluster runs no Flux: its manager applies to it through a kubeconfig Secret
    /// `<NAME>-kubeconfig` (key `value`) in each namespace that holds such a Kustomization.
    AddRemoteCluster(AddRemoteClusterArgs),
    /// Add a tenant to an environment, or what it is missing there.
    ///
    /// Writes fleet/tenants/NAME.yaml and environments/ENV/tenants/NAME.yaml. For a tenant that exists, only what is missing is added (apps, clusters, the
    /// membership); nothing is ever taken away.
    AddTenant(AddTenantArgs),
    /// Deploy a tenant's app to an environment (a new app is added to the tenant).
    AddApp(AddAppArgs),
    /// Remove a cluster (or, with --env, its membership) and every reference to it.
    RemoveCluster(RemoveClusterArgs),
    /// Remove a tenant (or, with --env, its membership in one environment).
    RemoveTenant(RemoveTenantArgs),
    /// Remove an app of a tenant (or, with --env, from one environment).
    RemoveApp(RemoveAppArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ChangeArgs {
    /// Print the changes to the fleet source as a unified diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen init fleet --repo https://git.example.com/platform/fleet
  fleetgen init --with-blueprints")]
pub struct InitArgs {
    /// Folder of the new fleet source [default: the -C folder].
    pub dir: Option<PathBuf>,
    /// URL Flux clones the fleet repo from [default: a placeholder to fill in].
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Name of the example environment.
    #[arg(long, value_name = "ENV", default_value = "dev")]
    pub env: String,
    /// Copy fleetgen's default blueprints into blueprints/, to adapt them.
    #[arg(long)]
    pub with_blueprints: bool,
    /// Add the fleet source to a folder that already holds other files.
    #[arg(long)]
    pub force: bool,
    /// The CI configuration to write at the Git repository's root.
    #[arg(long, value_enum, value_name = "CI", default_value = "github")]
    pub ci: CiKind,
    /// The Git URL CI builds fleetgen from (`cargo install --git URL --locked`)
    /// [default: a placeholder to fill in].
    #[arg(long, value_name = "URL")]
    pub fleetgen_git: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// `init --ci`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CiKind {
    /// .github/workflows/fleet.yaml
    Github,
    /// .gitlab-ci.yml
    Gitlab,
    None,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen init-environment qa --from dev
  fleetgen init-environment prod --branch production --set SYNC_INTERVAL=10m")]
pub struct InitEnvironmentArgs {
    /// Name of the environment (a DNS label), and of its branch unless --branch says otherwise.
    pub env: String,
    /// Start with the cluster and tenant memberships of this environment.
    #[arg(long, value_name = "ENV")]
    pub from: Option<String>,
    /// Branch of the fleet repo [default: the environment's name].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// A value for every cluster of the environment (a key that may differ per environment).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Provider {
    Existing,
    Aws,
    Openstack,
    Docker,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Existing => "existing",
            Provider::Aws => "aws",
            Provider::Openstack => "openstack",
            Provider::Docker => "docker",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FluxMode {
    /// Flux runs in the cluster.
    Local,
    /// The manager's Flux applies to the cluster through a kubeconfig Secret.
    Remote,
}

/// The memberships and values `add-cluster` and `add-remote-cluster` write.
#[derive(Debug, Clone, Args)]
pub struct ClusterValues {
    /// Make the cluster a member of this environment (repeatable).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// A key of the cluster file (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// A per-environment override in one membership file (repeatable).
    #[arg(long = "env-set", value_name = "ENV:KEY=VALUE")]
    pub env_sets: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen add-cluster edge-1 --provider existing --env dev
  fleetgen add-cluster prod-eu --provider aws --managed-by mgmt-eu --env prod --dry-run")]
pub struct AddClusterArgs {
    /// Name of the cluster (a DNS label: lower-case letters, digits and `-`).
    pub name: String,
    /// How the cluster comes to exist: made outside fleetgen, or by Cluster API.
    #[arg(long, value_enum)]
    pub provider: Provider,
    /// The management cluster (Cluster API providers, or --flux remote).
    #[arg(long, value_name = "CLUSTER")]
    pub managed_by: Option<String>,
    /// Where the cluster's Flux runs [default: local].
    #[arg(long, value_enum)]
    pub flux: Option<FluxMode>,
    #[command(flatten)]
    pub values: ClusterValues,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("envs", |arg| arg.required(true)),
    after_help = "Examples:
  fleetgen add-remote-cluster store-7 --managed-by mgmt-eu --env prod"
)]
pub struct AddRemoteClusterArgs {
    /// Name of the cluster (a DNS label: lower-case letters, digits and `-`).
    pub name: String,
    /// The cluster whose Flux drives this one.
    #[arg(long, value_name = "CLUSTER")]
    pub managed_by: String,
    #[command(flatten)]
    pub values: ClusterValues,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen add-tenant payments --repo https://git.example.com/payments/deploy --env dev
  fleetgen add-tenant payments --repo https://git.example.com/payments/deploy --env qa --cluster edge-1 --app api")]
pub struct AddTenantArgs {
    /// Name of the tenant (a DNS label: lower-case letters, digits and `-`).
    pub name: String,
    /// The tenant's Git repository of application manifests.
    #[arg(long, value_name = "URL")]
    pub repo: String,
    /// Branch of that repository in this environment [default: the environment's name].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// The environment to add the tenant to.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Run the tenant only on this cluster of ENV (repeatable) [default: all of them].
    #[arg(long = "cluster", value_name = "CLUSTER")]
    pub clusters: Vec<String>,
    /// An app of the tenant (repeatable).
    #[arg(long = "app", value_name = "APP")]
    pub apps: Vec<String>,
    /// ClusterRole bound in the tenant's namespaces [default: the TENANT_ROLE key, admin].
    #[arg(long, value_name = "CLUSTERROLE")]
    pub role: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen add-app payments api --env dev")]
pub struct AddAppArgs {
    /// The tenant the app belongs to.
    pub tenant: String,
    /// The app (a folder of the tenant repo, per cluster).
    pub app: String,
    /// The environment to deploy the app to.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen remove-cluster edge-1 --env dev
  fleetgen remove-cluster edge-1 --dry-run")]
pub struct RemoveClusterArgs {
    /// The cluster to remove.
    pub name: String,
    /// Remove only the cluster's membership in this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Also remove what depends on the cluster (the clusters it manages).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen remove-tenant payments --env qa")]
pub struct RemoveTenantArgs {
    /// The tenant to remove.
    pub name: String,
    /// Remove only the tenant's membership in this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Remove the tenant even though environments still list it.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen remove-app payments api --env dev")]
pub struct RemoveAppArgs {
    /// The tenant the app belongs to.
    pub tenant: String,
    /// The app to remove.
    pub app: String,
    /// Remove the app only from this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Remove the app even though environments still deploy it.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

pub fn execute(root: &Path, command: ScaffoldCommand) -> Result<i32> {
    let (proposal, change) = match command {
        ScaffoldCommand::Init(args) => return init(root, args),
        ScaffoldCommand::InitEnvironment(args) => (
            scaffold::init_environment(
                root,
                &scaffold::InitEnvironment {
                    name: args.env,
                    from: args.from,
                    branch: args.branch,
                    sets: args.sets,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::AddCluster(args) => (
            scaffold::add_cluster(
                root,
                &scaffold::AddCluster {
                    name: args.name,
                    provider: args.provider.name().to_owned(),
                    managed_by: args.managed_by,
                    remote: args.flux.map(|flux| matches!(flux, FluxMode::Remote)),
                    envs: args.values.envs,
                    sets: args.values.sets,
                    env_sets: args.values.env_sets,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::AddRemoteCluster(args) => (
            scaffold::add_remote_cluster(
                root,
                &scaffold::AddCluster {
                    name: args.name,
                    provider: "existing".to_owned(),
                    managed_by: Some(args.managed_by),
                    remote: Some(true),
                    envs: args.values.envs,
                    sets: args.values.sets,
                    env_sets: args.values.env_sets,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::AddTenant(args) => (
            scaffold::add_tenant(
                root,
                &scaffold::AddTenant {
                    name: args.name,
                    repo: args.repo,
                    branch: args.branch,
                    env: args.env,
                    clusters: args.clusters,
                    apps: args.apps,
                    role: args.role,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::AddApp(args) => (
            scaffold::add_app(
                root,
                &scaffold::AddApp {
                    tenant: args.tenant,
                    app: args.app,
                    env: args.env,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::RemoveCluster(args) => (
            scaffold::remove_cluster(
                root,
                &scaffold::RemoveCluster {
                    name: args.name,
                    env: args.env,
                    force: args.force,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::RemoveTenant(args) => (
            scaffold::remove_tenant(
                root,
                &scaffold::RemoveTenant {
                    name: args.name,
                    env: args.env,
                    force: args.force,
                },
            )?,
            args.change,
        ),
        ScaffoldCommand::RemoveApp(args) => (
            scaffold::remove_app(
                root,
                &scaffold::RemoveApp {
                    tenant: args.tenant,
                    app: args.app,
                    env: args.env,
                    force: args.force,
                },
            )?,
            args.change,
        ),
    };
    print(&scaffold::finish(root, proposal, change.dry_run)?);
    Ok(0)
}

/// `init` works in its own folder, and may also write a CI file at the repository root.
fn init(root: &Path, args: InitArgs) -> Result<i32> {
    let dir = args.dir.unwrap_or_else(|| root.to_path_buf());
    let (proposal, root_file) = scaffold::init(
        &dir,
        &scaffold::Init {
            repo: args.repo,
            env: args.env,
            with_blueprints: args.with_blueprints,
            force: args.force,
            ci: match args.ci {
                CiKind::Github => scaffold::Ci::Github,
                CiKind::Gitlab => scaffold::Ci::Gitlab,
                CiKind::None => scaffold::Ci::None,
            },
            fleetgen_git: args.fleetgen_git,
        },
    )?;
    print(&scaffold::finish(&dir, proposal, args.change.dry_run)?);
    if let Some((path, content)) = root_file {
        write_root_file(&path, &content, args.change.dry_run)?;
    }
    Ok(0)
}

/// The CI file `init` puts at the repository root when the fleet source is in a subfolder:
/// written only where there is none, so a team's own CI is never replaced.
fn write_root_file(path: &Path, content: &str, dry_run: bool) -> Result<()> {
    if path.exists() {
        super::say::note(format_args!("note: kept the existing {}", path.display()));
        return Ok(());
    }
    if dry_run {
        super::say::status(format_args!("would create {}", path.display()));
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| crate::error::Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| crate::error::Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    super::say::status(format_args!("created {}", path.display()));
    Ok(())
}

fn print(outcome: &Outcome) {
    let mut stderr = std::io::stderr().lock();
    if let Some(reason) = &outcome.unchanged {
        super::say::status(format_args!("nothing to do: {reason}"));
        for note in &outcome.notes {
            super::say::note(format_args!("note: {note}"));
        }
        return;
    }
    if outcome.dry_run {
        // The files it shows are the fleet source, which may hold any character.
        let diff = outcome.diff();
        let _ = write!(
            std::io::stdout().lock(),
            "{}",
            crate::printable::content(&diff)
        );
    }
    for change in &outcome.changes {
        let verb = match (outcome.dry_run, change.verb()) {
            (false, verb) => verb.to_owned(),
            (true, "created") => "would create".to_owned(),
            (true, "deleted") => "would delete".to_owned(),
            (true, _) => "would edit".to_owned(),
        };
        super::say::status(format_args!(
            "{verb} {}",
            scaffold::slash_path(&change.path)
        ));
    }
    for note in &outcome.notes {
        super::say::note(format_args!("note: {note}"));
    }
    if !outcome.fill_in.is_empty() {
        let _ = writeln!(
            stderr,
            "left for you to fill in (render and check refuse the fleet until then):"
        );
        for diagnostic in &outcome.fill_in {
            let location = diagnostic
                .location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let message = crate::printable::line(&diagnostic.message);
            let _ = writeln!(stderr, "  {location}: {message}");
        }
    }
    if !outcome.secrets.is_empty() {
        let _ = writeln!(
            stderr,
            "Secrets to create (fleetgen never handles secret material):"
        );
        for secret in &outcome.secrets {
            let mut keys = match secret.keys.as_slice() {
                [] => String::new(),
                [key] => format!(" with key `{key}`"),
                keys => format!(" with keys `{}`", keys.join("`, `")),
            };
            if !secret.optional_keys.is_empty() {
                keys.push_str(&format!(
                    " (optional `{}`)",
                    secret.optional_keys.join("`, `")
                ));
            }
            if let Some(secret_type) = &secret.secret_type {
                keys.push_str(&format!(", type `{secret_type}`"));
            }
            if !secret.labels.is_empty() {
                keys.push_str(&format!(", label `{}`", secret.labels.join("`, `")));
            }
            let line = format!(
                "  on {}: Secret {}/{}{keys}: {}",
                secret.cluster, secret.namespace, secret.name, secret.purpose
            );
            let _ = writeln!(stderr, "{}", crate::printable::line(&line));
        }
    }
    for line in &outcome.prune {
        let _ = writeln!(stderr, "{}", crate::printable::line(line));
    }
    for next in &outcome.next {
        super::say::status(format_args!("next: {next}"));
    }
    if outcome.dry_run {
        super::say::status(format_args!("dry run: nothing was written"));
    }
}
