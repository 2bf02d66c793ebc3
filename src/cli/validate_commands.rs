//! Commands about what the rendered fleet needs, where it goes and what it is checked with:
//! `fleetgen secrets`, `fleetgen graph` and `fleetgen schemas`; and the validation options and
//! gate that `check`, `render`, `diff` and `commit` share.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::args::{Format, Output};
use super::say;
use crate::error::Result;
use crate::model::Fleet;
use crate::pipeline::{self, Compiled, Unchecked};
use crate::progress::Progress;
use crate::render::Rendered;
use crate::sinks::source;
use crate::validate::{self, secrets::Secret};
use crate::view;

/// Where schemas come from and how strict validation is, over `validation:` in
/// fleet/fleet.yaml.
#[derive(Debug, Clone, Args)]
pub struct ValidationArgs {
    /// CustomResourceDefinitions to validate custom resources with: a file or a directory
    /// (repeatable); they win over the embedded ones and the fleet's.
    #[arg(long = "crds", value_name = "PATH")]
    pub crds: Vec<PathBuf>,
    /// JSON Schema definitions (or an OpenAPI document) of the built-in Kubernetes kinds; they
    /// win over the embedded ones and `validation.kubernetes`.
    #[arg(long = "kubernetes-schemas", value_name = "FILE")]
    pub kubernetes_schemas: Option<PathBuf>,
    /// The embedded Kubernetes minor to validate built-in kinds with (`fleetgen schemas` lists
    /// them), instead of `validation.kubernetesVersion`.
    #[arg(long = "kubernetes-version", value_name = "MINOR")]
    pub kubernetes_version: Option<String>,
    /// Objects of a kind no schema describes are errors, not warnings.
    #[arg(long)]
    pub strict: bool,
}

/// Whether a validation may reuse an earlier one's findings.
#[derive(Debug, Clone, Args)]
pub struct ReuseArgs {
    /// Validate afresh, reusing no earlier run's findings (never reused in CI, `CI` set)
    ///
    /// A passing validation is kept in the fleet source repository's Git directory, under
    /// fleetgen/validated, and reused while the rendered files, the schemas and fleetgen are
    /// the same.
    #[arg(long)]
    pub no_cache: bool,
}

impl ValidationArgs {
    pub fn overrides(&self) -> validate::Overrides {
        validate::Overrides {
            crds: self.crds.clone(),
            kubernetes: self.kubernetes_schemas.clone(),
            kubernetes_version: self.kubernetes_version.clone(),
        }
    }

    /// Loads and renders the fleet for a validation with these options.
    pub fn compile(
        &self,
        root: &Path,
        envs: &[String],
        reuse: &ReuseArgs,
        progress: &dyn Progress,
    ) -> Result<Unchecked> {
        pipeline::compile_to_validate(
            root,
            envs,
            progress,
            self.kubernetes_version.as_deref(),
            reuse.store(root).as_ref(),
        )
    }

    pub fn settings(&self, fleet: &Fleet, reuse: &ReuseArgs) -> validate::Settings {
        validate::Settings {
            overrides: self.overrides(),
            strict: self.strict,
            reuse: reuse.store(&fleet.root),
        }
    }
}

impl ReuseArgs {
    /// Where the findings of the fleet under `root` are kept and looked up: nowhere with
    /// `--no-cache`, in CI, or outside a Git repository.
    fn store(&self, root: &Path) -> Option<validate::Reuse> {
        // CI validates afresh: a CI system may keep one working copy, Git directory included,
        // for the pipelines of changes it does not trust as for those it does.
        let in_ci = std::env::var_os("CI").is_some();
        match self.no_cache || in_ci {
            true => None,
            false => source::own_dir(root).map(|dir| validate::Reuse::new(dir.join("validated"))),
        }
    }
}

/// The validation `render`, `diff` and `commit` run first, as `check --no-drift` does.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub validation: ValidationArgs,
    #[command(flatten)]
    pub reuse: ReuseArgs,
    /// Skip validation: write, show or commit even what `fleetgen check` rejects.
    #[arg(long)]
    pub no_validate: bool,
}

/// Loads and renders the fleet for [`gate`]: what validation will need is prepared meanwhile,
/// unless `--no-validate` skips it.
pub fn compile(
    root: &Path,
    envs: &[String],
    args: &GateArgs,
    progress: &dyn Progress,
) -> Result<Unchecked> {
    match args.no_validate {
        true => pipeline::compile_unchecked(root, envs, progress),
        false => args.validation.compile(root, envs, &args.reuse, progress),
    }
}

/// Reads the rendered fleet back: validates it, or with `--no-validate` runs only the value
/// check. Refuses to go on when there is an error (every finding is in the error); prints the
/// warnings otherwise.
pub fn gate(unchecked: Unchecked, args: &GateArgs, progress: &dyn Progress) -> Result<Compiled> {
    let (compiled, ()) = gate_alongside(unchecked, args, progress, |_| Ok(()))?;
    Ok(compiled)
}

/// [`gate`], running `alongside` on the rendered trees meanwhile (see
/// [`Unchecked::gate_alongside`]). A gate's error comes first: `alongside`'s is returned only
/// when the gate has passed.
pub fn gate_alongside<R: Send>(
    unchecked: Unchecked,
    args: &GateArgs,
    progress: &dyn Progress,
    alongside: impl FnOnce(&Rendered) -> Result<R> + Send,
) -> Result<(Compiled, R)> {
    if args.no_validate {
        let compiled = unchecked.check_values(progress)?;
        let other = alongside(&compiled.rendered)?;
        return Ok((compiled, other));
    }
    say_ahead(&unchecked);
    let (gated, other) = say::timed("validate", || {
        let settings = args.validation.settings(unchecked.fleet(), &args.reuse);
        let gated = unchecked.gate_alongside(&settings, progress, alongside);
        say_reused(&settings);
        gated
    });
    let (compiled, warnings) = gated?;
    let other = other?;
    let mut stderr = std::io::stderr().lock();
    for warning in warnings.iter() {
        let _ = writeln!(stderr, "{warning}");
    }
    Ok((compiled, other))
}

/// With `--verbose`, when no validators were made while rendering, and why.
pub fn say_ahead(unchecked: &Unchecked) {
    if unchecked.reuse_foreseen() {
        say::detail(format_args!(
            "validation: the same inputs passed lately; no validators made ahead"
        ));
    }
}

/// With `--verbose`, whether validation reused an earlier run's findings.
pub fn say_reused(settings: &validate::Settings) {
    if settings.reuse.as_ref().is_some_and(|reuse| reuse.reused()) {
        say::detail(format_args!(
            "validation: nothing it reads changed since an earlier run; its findings are reused"
        ));
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen schemas
  fleetgen schemas --crds vendor/crds -o json")]
pub struct SchemasArgs {
    #[command(flatten)]
    pub validation: ValidationArgs,
    #[command(flatten)]
    pub output: Output<Format>,
}

/// Every apiVersion and kind objects are validated with, and where its schema comes from: in
/// a fleet, with the fleet's own sources; elsewhere, the embedded ones.
pub fn schemas(root: &Path, args: SchemasArgs) -> Result<i32> {
    let overrides = args.validation.overrides();
    let schemas = if root.join(crate::load::FLEET_FILE).is_file() {
        let fleet = pipeline::load_fleet(root)?;
        validate::load_schemas_with(&fleet, None, &overrides)?.0
    } else {
        validate::load_without_fleet(&overrides)?
    };
    let entries = schemas.entries();
    let text = match args.output.format {
        Format::Json => {
            crate::printable::json(
                serde_json::to_string_pretty(&entries).expect("entries serialise"),
            ) + "\n"
        }
        Format::Human => {
            let width = |field: fn(&validate::schema::Entry) -> usize| {
                entries.iter().map(field).max().unwrap_or(0)
            };
            let api_width = width(|entry| entry.api_version.len());
            let kind_width = width(|entry| entry.kind.len());
            let mut out = String::new();
            for entry in &entries {
                let mut source = format!("{}: {}", entry.source.layer, entry.source.origin);
                if let Some(upstream) = &entry.source.upstream {
                    source.push_str(&format!(" ({upstream})"));
                }
                let status = match (entry.served, entry.deprecated) {
                    (false, _) => "  [not served]",
                    (true, true) => "  [deprecated]",
                    (true, false) => "",
                };
                // CRDs and their origins may come from the fleet source.
                line(
                    &mut out,
                    format!(
                        "{:api_width$}  {:kind_width$}  {source}{status}",
                        entry.api_version, entry.kind
                    ),
                );
            }
            out
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen secrets
  fleetgen secrets --env dev -o json")]
pub struct SecretsArgs {
    /// Only the Secrets for this environment's branch (repeatable); the main branch always counts.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    #[command(flatten)]
    pub output: Output<Format>,
}

pub fn secrets(root: &Path, args: SecretsArgs) -> Result<i32> {
    let compiled = pipeline::compile(root, &args.envs)?;
    say::compiled(&compiled);
    let secrets = say::timed("secrets", || {
        validate::needed_secrets(&compiled.fleet, &compiled.rendered)
    })?;
    say::detail(format_args!("Secrets needed: {}", secrets.len()));
    let mut stdout = std::io::stdout().lock();
    let text = match args.output.format {
        Format::Json => {
            let mut json = crate::printable::json(
                serde_json::to_string_pretty(&secrets).expect("secrets serialise"),
            );
            json.push('\n');
            json
        }
        Format::Human => human(&secrets),
    };
    let _ = stdout.write_all(text.as_bytes());
    Ok(0)
}

/// Grouped by cluster, one Secret per block: what it is for, who makes it, what uses it.
fn human(secrets: &[Secret]) -> String {
    if secrets.is_empty() {
        return "the fleet needs no Secrets\n".to_owned();
    }
    let mut out = String::new();
    let mut cluster = None;
    for secret in secrets {
        if cluster != Some(&secret.cluster) {
            if cluster.is_some() {
                out.push('\n');
            }
            line(&mut out, format!("cluster {}", secret.cluster));
            cluster = Some(&secret.cluster);
        }
        let mut keys = if secret.keys.is_empty() {
            String::new()
        } else {
            format!(", keys: {}", secret.keys.join(", "))
        };
        if !secret.optional_keys.is_empty() {
            keys.push_str(&format!(", optional: {}", secret.optional_keys.join(", ")));
        }
        if let Some(secret_type) = &secret.secret_type {
            keys.push_str(&format!(", type: {secret_type}"));
        }
        if !secret.labels.is_empty() {
            keys.push_str(&format!(", labels: {}", secret.labels.join(", ")));
        }
        line(
            &mut out,
            format!(
                "  {}/{}  (created by {}{keys})",
                secret.namespace, secret.name, secret.provided_by
            ),
        );
        line(&mut out, format!("      {}", secret.purpose));
        for reference in &secret.referenced_by {
            line(&mut out, format!("      used by {reference}"));
        }
    }
    out
}

/// Adds one line of the listing: the names in it come from the fleet source and the rendered
/// objects, so they are escaped rather than allowed to start a line of their own.
fn line(out: &mut String, text: String) {
    out.push_str(&crate::printable::line(&text));
    out.push('\n');
}

/// How `graph` draws the fleet.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum GraphFormat {
    /// A nested tree per cluster, like `flux tree`.
    #[default]
    Human,
    /// Clusters and Kustomizations as objects, for scripts.
    Json,
    /// A Mermaid flowchart, for Markdown that renders it (GitHub, GitLab).
    Mermaid,
    /// Graphviz DOT, for `dot -Tsvg`.
    Dot,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen graph
  fleetgen graph --cluster k3s-america-south --tenant yakuza
  fleetgen graph -o dot | dot -Tsvg > fleet.svg
  fleetgen graph -o mermaid --env dev")]
pub struct GraphArgs {
    /// Only this environment's part (repeatable); the other environments' branches are not rendered.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Only what runs on or reaches this cluster.
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Only this tenant's Kustomizations (and the chain that reaches them).
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub output: Output<GraphFormat>,
}

/// "no cluster `x`", hinting at the closest name or, when none is close, at the names there
/// are (the first few in natural order), as an unknown `--env` is answered.
pub(super) fn unknown(
    rule: &'static str,
    what: &str,
    name: &str,
    known: Vec<&str>,
) -> crate::Error {
    const LISTED: usize = 10;
    let diagnostic = crate::Diagnostic::error(rule, format!("no {what} `{name}`"));
    let diagnostic = match crate::diagnostic::did_you_mean(name, known.iter().copied()) {
        Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
        None if known.is_empty() => diagnostic.with_hint(format!("the fleet has no {what}s")),
        None => {
            let mut known = known;
            known.sort_by(|a, b| view::natural::cmp(a, b));
            let more = match known.len().saturating_sub(LISTED) {
                0 => String::new(),
                more => format!(" and {more} more"),
            };
            known.truncate(LISTED);
            diagnostic.with_hint(format!("the {what}s are: {}{more}", known.join(", ")))
        }
    };
    crate::Error::Invalid([diagnostic].into_iter().collect())
}

pub fn graph(root: &Path, args: GraphArgs) -> Result<i32> {
    let compiled = pipeline::compile(root, &args.envs)?;
    say::compiled(&compiled);
    let fleet = &compiled.fleet;
    if let Some(cluster) = &args.cluster
        && !fleet.clusters.contains_key(cluster)
    {
        let known = fleet.clusters.keys().map(String::as_str).collect();
        return Err(unknown("unknown-cluster", "cluster", cluster, known));
    }
    if let Some(tenant) = &args.tenant
        && !fleet.tenants.contains_key(tenant)
    {
        let known = fleet.tenants.keys().map(String::as_str).collect();
        return Err(unknown("unknown-tenant", "tenant", tenant, known));
    }
    let filter = view::graph::Filter {
        cluster: args.cluster,
        environments: args.envs,
        tenant: args.tenant,
    };
    let graph = say::timed("walk", || view::graph::build(fleet, &compiled.rendered))?;
    let whole = graph.kustomizations.len();
    let graph = graph.filtered(&filter);
    say::detail(format_args!(
        "{} clusters and {} of {whole} Kustomizations drawn",
        graph.clusters.len(),
        graph.kustomizations.len()
    ));
    let text = match args.output.format {
        GraphFormat::Json => {
            crate::printable::json(
                serde_json::to_string_pretty(&graph).expect("the graph serialises"),
            ) + "\n"
        }
        GraphFormat::Human => graph.human(),
        GraphFormat::Mermaid => graph.mermaid(),
        GraphFormat::Dot => graph.dot(),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen build --cluster k3d-emea
  fleetgen build --cluster k3s-america-south --env dev | kubectl diff -f -")]
pub struct BuildArgs {
    /// The cluster whose objects to print.
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: String,
    /// Only the objects of this environment's branch [default: every branch].
    #[arg(long = "env", value_name = "ENV")]
    pub env: Option<String>,
}

pub fn build(root: &Path, args: BuildArgs) -> Result<i32> {
    let envs: Vec<String> = args.env.iter().cloned().collect();
    let compiled = pipeline::compile(root, &envs)?;
    say::compiled(&compiled);
    let fleet = &compiled.fleet;
    if !fleet.clusters.contains_key(&args.cluster) {
        let known = fleet.clusters.keys().map(String::as_str).collect();
        return Err(unknown("unknown-cluster", "cluster", &args.cluster, known));
    }
    // An empty stream would read as "Flux applies nothing there", which is not the mistake.
    if let Some(env) = &args.env
        && !fleet.environments[env].clusters.contains_key(&args.cluster)
    {
        let diagnostic = crate::Diagnostic::error(
            "unknown-cluster",
            format!(
                "cluster {} is not a member of environment {env}",
                args.cluster
            ),
        )
        .with_hint(format!(
            "add environments/{env}/clusters/{}.env",
            args.cluster
        ));
        return Err(crate::Error::Invalid([diagnostic].into_iter().collect()));
    }
    let text = say::timed("walk", || {
        view::build::stream(
            fleet,
            &compiled.rendered,
            &args.cluster,
            args.env.as_deref(),
        )
    })?;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}
