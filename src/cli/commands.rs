use std::io::Write;
use std::path::Path;

use super::args::{Cli, Command, ExplainWhat, Format, KeysArgs, RenderArgs};
use super::say;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::model::keys::Required;
use crate::model::values::Values;
use crate::pipeline;
use crate::printable;
use crate::sinks::write;

pub fn execute(cli: Cli) -> Result<i32> {
    let root = cli.root;
    // A scaffolding change a kill interrupted is finished before anything reads the source.
    crate::atomic::recover(&root)?;
    match cli.command {
        Command::Render(args) => render(&root, args),
        Command::Keys(args) => keys(&root, args),
        Command::Explain(args) => match args.what {
            ExplainWhat::Cluster { name, env, output } => {
                explain_cluster(&root, &name, env.as_deref(), output.format)
            }
        },
        Command::Diff(args) => super::git_commands::diff(&root, args),
        Command::Commit(args) => super::git_commands::commit(&root, args),
        Command::Check(args) => super::git_commands::check(&root, args),
        Command::Hook(args) => super::git_commands::hook(&root, args),
        Command::Scaffold(command) => super::scaffold_commands::execute(&root, command),
        Command::Secrets(args) => super::validate_commands::secrets(&root, args),
        Command::Graph(args) => super::validate_commands::graph(&root, args),
        Command::Schemas(args) => super::validate_commands::schemas(&root, args),
        Command::Build(args) => super::validate_commands::build(&root, args),
        Command::Version => {
            println!("fleetgen {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Command::Completions { shell } => {
            // Generated whole, then written: `fleetgen completion bash | head` must not panic.
            super::complete::print(&super::complete::script(shell));
            Ok(0)
        }
    }
}

fn render(root: &Path, args: RenderArgs) -> Result<i32> {
    let progress = super::progress::Bar::new();
    let unchecked = super::validate_commands::compile(root, &args.envs, &args.gate, &progress)?;
    let options = write::Options { force: args.force };
    let configured = unchecked.fleet().output.clone();
    // What the write will change is worked out while validation runs: it only reads the
    // output directory; nothing is written before the gate has passed.
    let (compiled, (out, ahead)) =
        super::validate_commands::gate_alongside(unchecked, &args.gate, &progress, |rendered| {
            let out = crate::sinks::output::resolve(root, &configured, args.out.as_deref())?;
            let ahead = write::plan_ahead(&out, &rendered.branches, options)?;
            Ok((out, ahead))
        })?;
    say::compiled(&compiled);
    let report = say::timed("write", || {
        ahead.write(&out, &compiled.rendered.branches, options, &progress)
    })?;
    for (verb, paths) in [
        ("added", &report.added),
        ("modified", &report.modified),
        ("removed", &report.removed),
    ] {
        for path in paths {
            say::detail(format_args!("{verb} {}", out.join(path).display()));
        }
    }
    say::status(format_args!(
        "rendered {} into {}: {} added, {} modified, {} removed, {} unchanged",
        say::branches(&compiled),
        out.display(),
        report.added.len(),
        report.modified.len(),
        report.removed.len(),
        report.unchanged
    ));
    super::leave(compiled);
    Ok(0)
}

fn keys(root: &Path, args: KeysArgs) -> Result<i32> {
    // Outside a fleet, list fleetgen's own keys; inside one, the fleet's keys as well.
    let registry = match root.join(crate::load::FLEET_FILE).is_file() {
        true => pipeline::load_fleet(root)?.keys,
        false => crate::model::keys::KeyRegistry::builtin(),
    };
    let mut stdout = std::io::stdout().lock();
    match args.output.format {
        Format::Json => {
            let specs: Vec<_> = registry.iter().collect();
            let _ = writeln!(
                stdout,
                "{}",
                printable::json(serde_json::to_string_pretty(&specs).expect("key specs serialise"))
            );
        }
        Format::Human => {
            for spec in registry.iter() {
                let required = match &spec.required {
                    Required::No if spec.name == "MANAGED_BY" => {
                        "required with FLUX=remote or a Cluster API provider".to_owned()
                    }
                    Required::No => "optional".to_owned(),
                    Required::ForProviders(providers) if providers.is_empty() => {
                        "required".to_owned()
                    }
                    Required::ForProviders(providers) => {
                        format!("required for PROVIDER={}", providers.join("|"))
                    }
                    Required::ForRemoteFlux => {
                        "required with FLUX=remote or a Cluster API provider".to_owned()
                    }
                };
                let mut facts = vec![format!("type {}", spec.ty), required];
                if let Some(default) = &spec.default {
                    facts.push(format!("default {default}"));
                }
                let required_for_same = matches!(&spec.required, Required::ForProviders(providers) if *providers == spec.providers);
                if !spec.providers.is_empty() && !required_for_same {
                    facts.push(format!("for PROVIDER={}", spec.providers.join("|")));
                }
                if spec.per_environment {
                    facts.push("may differ per environment".to_owned());
                }
                if spec.custom {
                    facts.push("defined by this fleet".to_owned());
                }
                // A fleet's own keys and their help come from fleet.yaml.
                let _ = writeln!(
                    stdout,
                    "{}\n    {}\n    {}\n",
                    printable::line(&spec.name),
                    printable::line(&facts.join("; ")),
                    printable::line(&spec.help)
                );
            }
        }
    }
    Ok(0)
}

fn explain_cluster(root: &Path, name: &str, env: Option<&str>, format: Format) -> Result<i32> {
    let fleet = pipeline::load_fleet(root)?;
    let Some(cluster) = fleet.clusters.get(name) else {
        let known = fleet.clusters.keys().map(String::as_str).collect();
        return Err(super::validate_commands::unknown(
            "unknown-cluster",
            "cluster",
            name,
            known,
        ));
    };
    let values: &Values = match env {
        None => &cluster.values,
        Some(env_name) => {
            pipeline::check_selected(&fleet, &[env_name.to_owned()])?;
            let environment = &fleet.environments[env_name];
            match environment.clusters.get(name) {
                Some(values) => values,
                None => {
                    return Err(Error::Invalid(
                        [Diagnostic::error(
                            "unknown-cluster",
                            format!("cluster {name} is not a member of environment {env_name}"),
                        )
                        .with_hint(format!("add environments/{env_name}/clusters/{name}.env"))]
                        .into_iter()
                        .collect(),
                    ));
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            let _ = writeln!(
                stdout,
                "{}",
                printable::json(serde_json::to_string_pretty(values).expect("values serialise"))
            );
        }
        Format::Human => {
            let rows: Vec<(String, String, String)> = values
                .iter()
                .map(|(key, resolved)| {
                    let source = match &resolved.location {
                        Some(location) => format!("{} ({})", location, resolved.layer),
                        None => resolved.layer.to_string(),
                    };
                    let row = [key.to_owned(), resolved.value.to_string(), source];
                    let [key, value, source] = row.map(|text| printable::line(&text).into_owned());
                    (key, value, source)
                })
                .collect();
            let key_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
            let value_width = rows.iter().map(|row| row.1.len()).max().unwrap_or(0);
            for (key, value, source) in rows {
                let _ = writeln!(stdout, "{key:key_width$}  {value:value_width$}  {source}");
            }
        }
    }
    Ok(0)
}
