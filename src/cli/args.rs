use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Compile a GitOps fleet into the Git trees that Flux and Cluster API reconcile.
#[derive(Debug, Parser)]
#[command(
    name = "fleetgen",
    version,
    propagate_version = true,
    max_term_width = 100
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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the fleet repo's branches into DIR/<branch>/.
    Render(RenderArgs),
    /// List the cluster keys: type, default and meaning.
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
    /// Show what reaches each cluster, through which Flux Kustomization, from its bootstrap path.
    Graph(super::validate_commands::GraphArgs),
    /// List every apiVersion and kind objects are validated with, and where its schema comes from.
    Schemas(super::validate_commands::SchemasArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
    #[default]
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(subcommand)]
    pub what: ExplainWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExplainWhat {
    /// Every key of a cluster: its value and where it came from.
    Cluster {
        name: String,
        /// Resolve with this environment's overrides.
        #[arg(long = "env", value_name = "ENV")]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}
