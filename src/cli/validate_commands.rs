//! Commands about what the rendered fleet needs and where it goes: `fleetgen secrets` and
//! `fleetgen graph`.

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::args::Format;
use crate::error::Result;
use crate::pipeline;
use crate::validate::{self, secrets::Secret};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Only the Secrets for this environment's branch (repeatable); the main branch always counts.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn secrets(root: &Path, args: SecretsArgs) -> Result<i32> {
    let compiled = pipeline::compile(root, &args.envs)?;
    let secrets = validate::needed_secrets(&compiled.fleet, &compiled.rendered)?;
    let mut stdout = std::io::stdout().lock();
    let text = match args.format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&secrets).expect("secrets serialise");
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
            out.push_str(&format!("cluster {}\n", secret.cluster));
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
        out.push_str(&format!(
            "  {}/{}  (created by {}{keys})\n",
            secret.namespace, secret.name, secret.provided_by
        ));
        out.push_str(&format!("      {}\n", secret.purpose));
        for reference in &secret.referenced_by {
            out.push_str(&format!("      used by {reference}\n"));
        }
    }
    out
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only this environment's branch (repeatable); the main branch always counts.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Only this cluster.
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn graph(root: &Path, args: GraphArgs) -> Result<i32> {
    let compiled = pipeline::compile(root, &args.envs)?;
    let mut reach = validate::reach(&compiled.fleet, &compiled.rendered)?;
    if let Some(cluster) = &args.cluster {
        if !compiled.fleet.clusters.contains_key(cluster) {
            let mut diagnostic =
                crate::Diagnostic::error("unknown-cluster", format!("no cluster `{cluster}`"));
            if let Some(close) = crate::diagnostic::did_you_mean(
                cluster,
                compiled.fleet.clusters.keys().map(String::as_str),
            ) {
                diagnostic = diagnostic.with_hint(format!("did you mean {close}?"));
            }
            return Err(crate::Error::Invalid([diagnostic].into_iter().collect()));
        }
        reach.retain(|entry| &entry.cluster == cluster);
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&reach).expect("the graph serialises") + "\n",
        Format::Human => {
            let mut out = String::new();
            for (index, cluster) in reach.iter().enumerate() {
                if index > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("cluster {}\n", cluster.cluster));
                for applier in &cluster.appliers {
                    let from = if applier.runs_on == cluster.cluster {
                        String::new()
                    } else {
                        format!(" (runs on {})", applier.runs_on)
                    };
                    out.push_str(&format!(
                        "  Kustomization {}{from}\n",
                        applier.kustomization
                    ));
                    for object in &applier.objects {
                        out.push_str(&format!("    {object}\n"));
                    }
                }
            }
            out
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}
