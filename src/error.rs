//! The library's error type. User-input problems travel as [`Diagnostics`] so that all of them
//! are reported at once; everything else is an environment failure with its cause attached.

use std::path::PathBuf;

use crate::diagnostic::Diagnostics;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet source (or the rendered output) has problems the user must fix.
    #[error("{0}")]
    Invalid(Diagnostics),

    #[error("cannot read {}: {source}", crate::printable::path(path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", crate::printable::path(path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Generated files were edited by hand since fleetgen last wrote them.
    #[error("{}", conflicts_message(.0))]
    HandEdited(Vec<PathBuf>),

    #[error("git: {0}")]
    Git(String),

    /// A branch moved between reading it and updating it; no ref was changed.
    #[error("{}", branch_moved_message(.branch, .expected, .found))]
    BranchMoved {
        branch: String,
        expected: Option<git2::Oid>,
        found: Option<git2::Oid>,
    },

    /// A checkout of a branch about to move has changes in paths the commit changes; no ref
    /// was changed.
    #[error(
        "refusing to move a checked-out branch over uncommitted changes; no branch was changed:{}\n  hint: commit, \
         stash or discard those changes (or commit with --branch-prefix) and run the command again",
        .0.iter().map(|line| format!("\n  {}", crate::printable::line(line))).collect::<String>()
    )]
    CheckoutDirty(Vec<String>),

    /// `diff`/`commit` need a fleet repo and none is configured or around the fleet root.
    #[error(
        "no fleet repo: {} is not inside a Git repository\n  hint: set repo.path in fleet/fleet.yaml to a local clone",
        crate::printable::path(.0)
    )]
    NoFleetRepo(PathBuf),

    /// A pre-commit hook that fleetgen did not write is in the way.
    #[error(
        "{} exists and was not written by fleetgen\n  hint: pass --force to replace it, or call `fleetgen check` from it",
        crate::printable::path(.0)
    )]
    HookExists(PathBuf),

    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Exit status of the command that failed with this error: 1 for problems with the
    /// user's fleet, 2 for misuse of the command line.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl From<Diagnostics> for Error {
    fn from(diagnostics: Diagnostics) -> Self {
        Error::Invalid(diagnostics)
    }
}

impl From<git2::Error> for Error {
    fn from(error: git2::Error) -> Self {
        Error::Git(error.message().to_owned())
    }
}

fn conflicts_message(paths: &[PathBuf]) -> String {
    let mut message =
        String::from("refusing to overwrite generated files that were edited by hand:");
    for path in paths {
        message.push_str(&format!("\n  {}", crate::printable::path(path)));
    }
    message.push_str(
        "\n  hint: move the change into the fleet source or a blueprint, or pass --force to discard it",
    );
    message
}

fn branch_moved_message(
    branch: &str,
    expected: &Option<git2::Oid>,
    found: &Option<git2::Oid>,
) -> String {
    let short = |oid: &Option<git2::Oid>| match oid {
        Some(oid) => oid.to_string()[..12].to_owned(),
        None => "no branch".to_owned(),
    };
    format!(
        "branch {branch} moved while fleetgen was committing (expected {}, found {}); no branch was changed\n  \
         hint: run the command again to build on the new head",
        short(expected),
        short(found)
    )
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
