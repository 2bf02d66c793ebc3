//! Commands about what the rendered fleet needs and whether it holds: `fleetgen secrets`.

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
        let keys = if secret.keys.is_empty() {
            String::new()
        } else {
            format!(", keys: {}", secret.keys.join(", "))
        };
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
