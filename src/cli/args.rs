use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Compile a GitOps fleet into the Git trees that Flux and Cluster API reconcile.
#[derive(Debug, Parser)]
#[command(
    name = "fleetgen",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:
  fleetgen check                      validate the fleet and compare it with the fleet repo
  fleetgen diff -o markdown           what the next commit changes, as a pull-request comment
  fleetgen graph --cluster edge-1     what reaches a cluster, through which Kustomization
  fleetgen -C ../fleet render         render another fleet source into its output directory"
)]
pub struct Cli {
    /// The fleet source root (the directory holding fleet/, environments/, blueprints/).
    #[arg(
        short = 'C',
        long = "directory",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// Print only errors and warnings: no summaries, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more: the time of each stage, the size of the plan, every file written or committed.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the fleet repo's branches into DIR/<branch>/.
    #[command(after_help = "Examples:
  fleetgen render
  fleetgen render --env dev --out /tmp/fleet")]
    Render(RenderArgs),
    /// List the cluster keys: type, default and meaning.
    #[command(after_help = "Examples:
  fleetgen keys
  fleetgen keys -o json | jq '.[].name'")]
    Keys(KeysArgs),
    /// Show how a value was resolved, and from which file and line.
    Explain(ExplainArgs),
    /// Show how the rendered branches differ from the fleet repo's branches.
    Diff(super::git_commands::DiffArgs),
    /// Commit the rendered branches onto the fleet repo's branches, without a checkout.
    Commit(super::git_commands::CommitArgs),
    /// Validate the fleet and compare it with the fleet repo's branches: the CI entry point.
    Check(super::git_commands::CheckArgs),
    /// Install the git pre-commit hook.
    Hook(super::git_commands::HookArgs),
    #[command(flatten)]
    Scaffold(super::scaffold_commands::ScaffoldCommand),
    /// List every Secret the fleet needs, per cluster and namespace, with its purpose.
    Secrets(super::validate_commands::SecretsArgs),
    /// Draw the fleet: clusters, who drives whom, and each cluster's Flux Kustomization chain.
    Graph(super::validate_commands::GraphArgs),
    /// List every apiVersion and kind objects are validated with, and where its schema comes from.
    Schemas(super::validate_commands::SchemasArgs),
    /// Print a shell completion script: commands, flags, and the fleet's own names.
    #[command(
        visible_alias = "completion",
        after_help = "The script asks fleetgen for the names on each Tab, so it follows upgrades when
loaded from the shell's startup file.

Examples:
  echo 'source <(fleetgen completions bash)' >> ~/.bashrc
  echo 'source <(fleetgen completion zsh)' >> ~/.zshrc
  fleetgen completions fish > ~/.config/fish/completions/fleetgen.fish"
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print every object Flux applies to one cluster, as one YAML stream.
    Build(super::validate_commands::BuildArgs),
    /// Print fleetgen's version.
    #[command(after_help = "Examples:
  fleetgen version")]
    Version,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Render only this environment's branch (repeatable); the main branch is always rendered.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Output directory [default: `output` in fleet/fleet.yaml, or out/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite generated files even if they were edited by hand.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub gate: super::validate_commands::GateArgs,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    /// Text for people.
    #[default]
    Human,
    /// JSON for scripts.
    Json,
}

/// `-o`/`--format`, the same flag on every command that prints data, over that command's
/// own set of formats.
#[derive(Debug, Clone, Args)]
pub struct Output<F>
where
    F: ValueEnum + Default + Clone + Send + Sync + 'static,
{
    /// Output format.
    #[arg(
        long,
        short = 'o',
        visible_alias = "output",
        value_enum,
        default_value_t
    )]
    pub format: F,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub output: Output<Format>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen explain cluster k3d-america
  fleetgen explain cluster k3d-america --env dev -o json")]
pub struct ExplainArgs {
    #[command(subcommand)]
    pub what: ExplainWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExplainWhat {
    /// Every key of a cluster: its value and where it came from.
    #[command(after_help = "Examples:
  fleetgen explain cluster k3d-america
  fleetgen explain cluster k3d-america --env dev -o json")]
    Cluster {
        /// The cluster (a file name under fleet/clusters/, without .env).
        #[arg(value_name = "CLUSTER")]
        name: String,
        /// Resolve with this environment's overrides.
        #[arg(long = "env", value_name = "ENV")]
        env: Option<String>,
        #[command(flatten)]
        output: Output<Format>,
    },
}
