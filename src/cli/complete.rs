//! Shell completion with the names of the fleet: clusters, environments, tenants and apps.
//!
//! The script `fleetgen completions SHELL` prints calls fleetgen back on each Tab (clap's
//! dynamic engine, through the `COMPLETE` variable), and fleetgen reads the names from the
//! fleet source of the command line being completed (`-C DIR`, else the current directory).
//! Only the files are parsed, with no model check and no render, so a fleet in the middle of
//! an edit still completes; a fleet that does not load completes no name, and completion
//! never prints an error.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};

use super::args::Cli;

/// The variable the shell scripts set to ask for completions (clap's convention).
const VAR: &str = "COMPLETE";

/// The fleet source of the command line being completed.
static ROOT: OnceLock<PathBuf> = OnceLock::new();
/// The tenant `remove-app TENANT APP` names, once typed: its apps are the ones to offer.
static TENANT: OnceLock<Option<String>> = OnceLock::new();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cluster,
    Environment,
    Tenant,
    App,
}

/// Answers a completion request, if this run is one; `None` for an ordinary run.
pub fn answer(args: &[OsString]) -> Option<i32> {
    // Only a shell's name asks: `COMPLETE` is a common word, and a variable set for something
    // else must not turn every command into a completion error.
    let value = std::env::var_os(VAR)?;
    let shell = Path::new(&value).file_stem()?.to_str()?;
    Shells::builtins().completer(shell)?;
    let _ = ROOT.set(root_of(args));
    let _ = TENANT.set(tenant_of(args));
    let current_dir = std::env::current_dir().ok();
    match CompleteEnv::with_factory(command).try_complete(args.to_vec(), current_dir.as_deref()) {
        Ok(true) => Some(0),
        Ok(false) => None,
        // Writing the answer failed: the shell has gone, and there is no one to tell.
        Err(_) => Some(1),
    }
}

/// The script that registers completion for `shell`: it calls `fleetgen` back with the words
/// typed so far.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .expect("every shell clap_complete generates for has a dynamic completer");
    let _ = completer.write_registration(VAR, "fleetgen", "fleetgen", "fleetgen", &mut script);
    script
}

/// The command line with the fleet's names attached to the arguments that take them.
fn command() -> clap::Command {
    with_names(Cli::command(), "")
}

fn with_names(command: clap::Command, path: &str) -> clap::Command {
    // In place: `mut_arg` moves the argument last, which renumbers positionals.
    let mut command = command.mut_args(|arg| match kind_of(path, &arg) {
        Some(kind) => arg.add(ArgValueCandidates::new(move || candidates(kind))),
        None => arg,
    });
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in subcommands {
        let sub_path = format!("{path} {name}").trim().to_owned();
        command = command.mut_subcommand(&name, |sub| with_names(sub, &sub_path));
    }
    command
}

/// Which names an argument takes. Options say it by their value name (`--env ENV`,
/// `--cluster CLUSTER`, `--managed-by CLUSTER`, `--against ENV`); positionals are listed,
/// because `add-cluster NAME` and `init-environment ENV` name something new.
fn kind_of(path: &str, arg: &clap::Arg) -> Option<Kind> {
    if arg.is_positional() {
        return match (path, arg.get_id().as_str()) {
            ("explain cluster" | "remove-cluster", "name") => Some(Kind::Cluster),
            ("remove-tenant", "name") | ("add-app" | "remove-app", "tenant") => Some(Kind::Tenant),
            ("remove-app", "app") => Some(Kind::App),
            _ => None,
        };
    }
    match arg.get_value_names()?.first()?.as_str() {
        "CLUSTER" => Some(Kind::Cluster),
        "ENV" => Some(Kind::Environment),
        "TENANT" => Some(Kind::Tenant),
        _ => None,
    }
}

fn candidates(kind: Kind) -> Vec<CompletionCandidate> {
    let root = ROOT.get().map_or(Path::new("."), PathBuf::as_path);
    let tenant = TENANT.get().cloned().flatten();
    names(root, kind, tenant.as_deref())
        .into_iter()
        .map(|(name, help)| CompletionCandidate::new(name).help(Some(help.into())))
        .collect()
}

/// The names of `kind` in the fleet source at `root`, in natural order, each with what tells
/// it apart in a shell that shows descriptions (zsh, fish): a cluster's environments, an
/// environment's size, a tenant's apps, an app's tenants (only `tenant`'s apps when it is
/// given). None when the fleet does not load.
fn names(root: &Path, kind: Kind, tenant: Option<&str>) -> Vec<(String, String)> {
    let Ok(source) = crate::load::load(root) else {
        return Vec::new();
    };
    let listed = |mut names: Vec<String>| {
        names.sort_by(|a, b| crate::view::natural::cmp(a, b));
        names.dedup();
        names.join(", ")
    };
    let mut names: Vec<(String, String)> = match kind {
        Kind::Cluster => source
            .clusters
            .iter()
            .map(|file| {
                let environments: Vec<String> = source
                    .environments
                    .iter()
                    .filter(|env| env.clusters.iter().any(|member| member.name == file.name))
                    .map(|env| env.name.clone())
                    .collect();
                let help = match environments.len() {
                    0 => "in no environment".to_owned(),
                    1 => format!("environment {}", listed(environments)),
                    _ => format!("environments {}", listed(environments)),
                };
                (file.name.clone(), help)
            })
            .collect(),
        Kind::Environment => source
            .environments
            .iter()
            .map(|env| {
                let (clusters, tenants) = (env.clusters.len(), env.tenants.len());
                let help = format!(
                    "{clusters} cluster{}, {tenants} tenant{}",
                    super::plural(clusters),
                    super::plural(tenants)
                );
                (env.name.clone(), help)
            })
            .collect(),
        Kind::Tenant => source
            .tenants
            .iter()
            .map(|(name, tenant)| {
                let apps = tenant.content.apps.clone();
                let help = match apps.len() {
                    0 => "no apps".to_owned(),
                    1 => format!("app {}", listed(apps)),
                    _ => format!("apps {}", listed(apps)),
                };
                (name.clone(), help)
            })
            .collect(),
        Kind::App => {
            let mut tenants_of: std::collections::BTreeMap<String, Vec<String>> =
                std::collections::BTreeMap::new();
            let of_tenant = |name: &String| tenant.is_none_or(|tenant| tenant == name);
            for (tenant, file) in source.tenants.iter().filter(|(name, _)| of_tenant(name)) {
                for app in &file.content.apps {
                    tenants_of
                        .entry(app.clone())
                        .or_default()
                        .push(tenant.clone());
                }
            }
            tenants_of
                .into_iter()
                .map(|(app, tenants)| {
                    let noun = if tenants.len() == 1 {
                        "tenant"
                    } else {
                        "tenants"
                    };
                    (app, format!("app of {noun} {}", listed(tenants)))
                })
                .collect()
        }
    };
    // The shell reads one candidate a line and echoes it: a name that is not one line of
    // plain text (never a valid name) is left out, and the help is shown escaped.
    names.retain(|(name, _)| !name.chars().any(crate::printable::hidden));
    for (_, help) in &mut names {
        *help = crate::printable::line(help).into_owned();
    }
    names.sort_by(|a, b| crate::view::natural::cmp(&a.0, &b.0));
    names.dedup_by(|a, b| a.0 == b.0);
    names
}

/// `-C DIR` (`-CDIR`, `--directory DIR`, `--directory=DIR`) among the words being completed,
/// which follow `--`; the last one wins, as when the command runs.
fn root_of(args: &[OsString]) -> PathBuf {
    let words: Vec<&str> = args
        .iter()
        .skip_while(|arg| *arg != "--")
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .collect();
    let mut root = PathBuf::from(".");
    for (index, word) in words.iter().enumerate() {
        let value = match *word {
            "-C" | "--directory" => words.get(index + 1).copied(),
            _ => word
                .strip_prefix("--directory=")
                .or_else(|| word.strip_prefix("-C").filter(|rest| !rest.is_empty())),
        };
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            root = PathBuf::from(value);
        }
    }
    root
}

/// The tenant of `remove-app TENANT APP` when the word being completed comes after it: the
/// first word after `remove-app` that is neither a flag nor a flag's value, when another
/// word follows it.
fn tenant_of(args: &[OsString]) -> Option<String> {
    let words: Vec<&str> = args
        .iter()
        .skip_while(|arg| *arg != "--")
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .collect();
    let start = words.iter().position(|word| *word == "remove-app")? + 1;
    let mut positionals = Vec::new();
    let mut index = start;
    while index < words.len() {
        let word = words[index];
        match word {
            "--env" | "-C" | "--directory" => index += 1,
            _ if word.starts_with('-') => {}
            _ => positionals.push((index, word)),
        }
        index += 1;
    }
    let &(at, tenant) = positionals.first()?;
    (at + 1 < words.len()).then(|| tenant.to_owned())
}

/// Writes `bytes` whole to stdout, ignoring a closed pipe (`fleetgen completions bash | head`).
pub fn print(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arguments the completion script passes for `words` typed after `fleetgen`.
    fn args(words: &[&str]) -> Vec<OsString> {
        ["fleetgen", "--", "fleetgen"]
            .iter()
            .chain(words)
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_fleet_root_comes_from_the_words_being_completed() {
        assert_eq!(root_of(&args(&["graph", "--cluster", ""])), Path::new("."));
        assert_eq!(root_of(&args(&["-C", "a", "graph"])), Path::new("a"));
        assert_eq!(root_of(&args(&["-Cb", "graph"])), Path::new("b"));
        assert_eq!(
            root_of(&args(&["--directory=c", "-C", "d", "build"])),
            Path::new("d")
        );
        // The word being typed after `-C` is not yet a root.
        assert_eq!(root_of(&args(&["-C", ""])), Path::new("."));
    }

    #[test]
    fn the_tenant_of_remove_app_is_the_first_positional_once_another_word_follows() {
        assert_eq!(tenant_of(&args(&["remove-app", "yak"])), None);
        assert_eq!(
            tenant_of(&args(&["remove-app", "yakuza", ""])).as_deref(),
            Some("yakuza")
        );
        assert_eq!(
            tenant_of(&args(&[
                "-C",
                "f",
                "remove-app",
                "--env",
                "dev",
                "yakuza",
                "w"
            ]))
            .as_deref(),
            Some("yakuza")
        );
        assert_eq!(tenant_of(&args(&["remove-app", "--env", ""])), None);
        assert_eq!(tenant_of(&args(&["graph", "--tenant", ""])), None);
    }

    #[test]
    fn a_name_that_is_not_plain_text_is_never_offered() {
        let root = tempfile::tempdir().unwrap();
        let tenants = root.path().join("fleet/tenants");
        std::fs::create_dir_all(&tenants).unwrap();
        std::fs::write(
            root.path().join("fleet/fleet.yaml"),
            "repo:\n  url: https://example.com/fleet.git\n",
        )
        .unwrap();
        let tenant = "repo: https://example.com/t.git\napps:\n  - \"a\\e[2J\\nb\"\n";
        std::fs::write(tenants.join("team.yaml"), tenant).unwrap();
        std::fs::write(tenants.join("evil\n::error::x.yaml"), tenant).unwrap();
        let offered = names(root.path(), Kind::Tenant, None);
        assert_eq!(
            offered,
            [("team".to_owned(), "app a\\u{1b}[2J\\nb".to_owned())]
        );
    }

    #[test]
    fn new_names_are_not_completed_with_existing_ones() {
        let command = command();
        let positional = |path: &[&str], id: &str| {
            let mut sub = &command;
            for name in path {
                sub = sub.find_subcommand(name).unwrap();
            }
            let arg = sub.get_arguments().find(|arg| arg.get_id() == id).unwrap();
            kind_of(&path.join(" "), arg)
        };
        assert_eq!(positional(&["add-cluster"], "name"), None);
        assert_eq!(positional(&["init-environment"], "env"), None);
        assert_eq!(positional(&["remove-cluster"], "name"), Some(Kind::Cluster));
        assert_eq!(
            positional(&["explain", "cluster"], "name"),
            Some(Kind::Cluster)
        );
    }
}
