//! The command line: argument parsing and printing only. Each command calls into the library
//! and turns its result into output and an exit code (0 success, 1 problems with the fleet, 2
//! misuse of the command line). Data goes to stdout, messages to stderr.

mod args;
mod commands;
mod complete;
mod git_commands;
mod pager;
mod progress;
mod say;
mod scaffold_commands;
mod validate_commands;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;
use clap::error::{ContextKind, ContextValue};

pub use args::Cli;

/// Runs fleetgen with `args` (the program name first) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(code) = complete::answer(&args) {
        return code;
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(mut error) => {
            // Beside clap's own tips, where they are printed, unless clap already has one.
            if let Some(hint) = subcommand_hint(&args, error.kind())
                && error.get(ContextKind::Suggested).is_none()
            {
                error.insert(
                    ContextKind::Suggested,
                    ContextValue::StyledStrs(vec![hint.into()]),
                );
            }
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    say::set(match (cli.quiet, cli.verbose) {
        (true, _) => say::Level::Quiet,
        (_, true) => say::Level::Verbose,
        _ => say::Level::Normal,
    });
    // Only the commands that write say that a refusal left everything as it was.
    let writes = matches!(
        cli.command,
        args::Command::Render(_)
            | args::Command::Commit(_)
            | args::Command::Scaffold(_)
            | args::Command::Hook(_)
    );
    match commands::execute(cli) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            // Diagnostics carry their own `file:line:col: error:`; everything else gets the
            // prefix here, so every failure reads the same way.
            match &error {
                crate::Error::Invalid(_) => {
                    let _ = writeln!(stderr, "{error}");
                }
                // Line breaks here are the error's own layout (a hint, a list of paths); the
                // names in it are escaped where the error is written.
                _ => {
                    let text = error.to_string();
                    let _ = writeln!(stderr, "error: {}", crate::printable::lines(&text));
                }
            }
            if let crate::Error::Invalid(diagnostics) = &error {
                let errors = diagnostics
                    .iter()
                    .filter(|diagnostic| diagnostic.is_error())
                    .count();
                let warnings = diagnostics.len() - errors;
                let mut line = findings_line(errors, warnings);
                if writes {
                    line.push_str("; nothing was written");
                }
                let _ = writeln!(stderr, "{line}");
            }
            error.exit_code()
        }
    }
}

/// Lets go of a command's rendered fleet without freeing it. The process ends as soon as the
/// command returns, and freeing half a million rendered files and their parsed documents one
/// by one, on one thread, delayed that end by a few tenths of a second at a thousand clusters.
fn leave<T>(value: T) {
    std::mem::forget(value);
}

/// `fleetgen: 2 errors and 1 warning found`: the last line of every command that found
/// problems, so a script or a person reads the counts the same way whichever command ran.
fn findings_line(errors: usize, warnings: usize) -> String {
    let mut line = format!("fleetgen: {errors} error{}", plural(errors));
    if warnings > 0 {
        line.push_str(&format!(" and {warnings} warning{}", plural(warnings)));
    }
    line.push_str(" found");
    line
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `explain NAME` for `explain cluster NAME`: the one noun `explain` knows today is `cluster`,
/// and a name in its place is the common slip.
fn subcommand_hint(args: &[OsString], kind: clap::error::ErrorKind) -> Option<String> {
    if kind != clap::error::ErrorKind::InvalidSubcommand {
        return None;
    }
    let words: Vec<&str> = args.iter().skip(1).filter_map(|arg| arg.to_str()).collect();
    let at = words.iter().position(|word| *word == "explain")?;
    let name = words.get(at + 1)?;
    // Shell-quoted, since the name came from the command line as typed.
    let quoted = if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        (*name).to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    };
    Some(format!(
        "to explain a cluster, name it after `cluster`: fleetgen explain cluster {quoted}"
    ))
}
