//! The command line: argument parsing and printing only. Each command calls into the library
//! and turns its result into output and an exit code (0 success, 1 problems with the fleet, 2
//! misuse of the command line). Data goes to stdout, messages to stderr.

mod args;
mod commands;
mod git_commands;
mod progress;
mod scaffold_commands;
mod validate_commands;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

pub use args::Cli;

/// Runs fleetgen with `args` (the program name first) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    match commands::execute(cli) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{error}");
            if let crate::Error::Invalid(diagnostics) = &error {
                let errors = diagnostics
                    .iter()
                    .filter(|diagnostic| diagnostic.is_error())
                    .count();
                let _ = writeln!(
                    stderr,
                    "fleetgen: {errors} error{} found; nothing was written",
                    if errors == 1 { "" } else { "s" }
                );
            }
            error.exit_code()
        }
    }
}
