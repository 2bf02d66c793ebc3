//! `diff`, `commit`, `check` and `hook install`: the commands that compare the rendered
//! branches with the fleet repo, put them there, or guard the fleet source.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use git2::Repository;

use super::args::{Format, Output};
use super::say;
use super::validate_commands::{GateArgs, ReuseArgs, ValidationArgs, gate, gate_alongside};
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::pipeline;
use crate::sinks::diff::{self, Compared, Drift, Palette};
use crate::sinks::git::{self, CommitOptions, Outcome};
use crate::sinks::source;
use crate::sinks::summary::{Counts, plural};

/// When to colour output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        }
    }
}

#[derive(Debug, Args)]
#[command(
    mut_arg("format", |arg| arg.help(
        "Output format: the patch (paged on a terminal) or a Markdown pull-request comment"
    )),
    after_help = "Examples:
  fleetgen diff
  fleetgen diff --stat --env dev
  fleetgen diff -o markdown > comment.md
  fleetgen diff --env qa --against dev"
)]
pub struct DiffArgs {
    /// Compare only this environment's branch (repeatable); the main branch is always compared.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Show changed files with counts of changed lines instead of the patch.
    #[arg(long)]
    pub stat: bool,
    /// Exit with status 1 when anything would change.
    #[arg(long)]
    pub exit_code: bool,
    /// Colour the output.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t)]
    pub color: ColorWhen,
    /// Compare with DIR/<branch>/, as `render` writes it, instead of the fleet repo's branches.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output<DiffFormat>,
    /// Show what the one --env environment would gain or lose if it matched this one
    /// (memberships, values, and applied objects with the environment's name abstracted).
    #[arg(long, value_name = "ENV")]
    pub against: Option<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// How `diff` shows a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// A unified diff (or `--stat`) on stdout and a summary on stderr.
    #[default]
    Human,
    /// A pull-request comment: per environment, cluster and tenant, a picture of the affected
    /// clusters, and the patch folded in `<details>`.
    Markdown,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen commit --dry-run
  fleetgen commit -m \"Add tenant payments\" --branch-prefix review")]
pub struct CommitArgs {
    /// Commit only this environment's branch (repeatable); the main branch is always committed.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Subject line of the commit message [default: what changed, per environment and cluster].
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Commit to branches PREFIX/<branch>, based on <branch>, for a pull request; <branch> itself
    /// is left as it is.
    #[arg(long, value_name = "PREFIX")]
    pub branch_prefix: Option<String>,
    /// Overwrite generated files that were edited by hand on the branch, and hand-written files
    /// where fleetgen renders.
    #[arg(long)]
    pub force: bool,
    /// Show what would be committed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse to commit when the fleet source has changes Git has not committed (what CI
    /// should commit is exactly what was merged).
    #[arg(long)]
    pub require_clean: bool,
    /// Author name [default: GIT_AUTHOR_NAME, or user.name from git config].
    #[arg(long, value_name = "NAME")]
    pub author_name: Option<String>,
    /// Author email [default: GIT_AUTHOR_EMAIL, or user.email from git config].
    #[arg(long, value_name = "EMAIL")]
    pub author_email: Option<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen check
  fleetgen check --no-drift -o json")]
pub struct CheckArgs {
    /// Check only this environment's branch (repeatable); the main branch is always checked.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    #[command(flatten)]
    pub output: Output<Format>,
    /// Compare with DIR/<branch>/ instead of the fleet repo's branches.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only validate; do not compare with the branches (for pre-commit, where the branches are
    /// expected to lag behind the source until the change is merged and committed).
    #[arg(long)]
    pub no_drift: bool,
    #[command(flatten)]
    pub validation: ValidationArgs,
    #[command(flatten)]
    pub reuse: ReuseArgs,
    /// Validate the fleet source as staged in the Git index, not as in the working tree (the
    /// pre-commit hook): implies --no-drift, prints nothing when valid, and passes without a
    /// word where no fleet source is staged (a checkout of a rendered branch).
    #[arg(long)]
    pub staged: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  fleetgen hook install
  fleetgen hook install --dry-run")]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Install a git pre-commit hook that runs `fleetgen check` before each commit.
    #[command(after_help = "Examples:
  fleetgen hook install
  fleetgen hook install --dry-run")]
    Install {
        /// Replace a pre-commit hook that fleetgen did not write.
        #[arg(long)]
        force: bool,
        /// Show the hook and where it would go; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Environment name per environment branch, for summaries and commit messages.
fn environments(fleet: &Fleet) -> BTreeMap<String, String> {
    fleet
        .environments
        .values()
        .map(|env| (env.branch.clone(), env.name.clone()))
        .collect()
}

/// Says what the rendered trees were compared with, when it may not be what the user expects.
fn note_compared(drift: &Drift, out_given: bool) {
    if let (Compared::Directory(dir), false) = (&drift.compared, out_given) {
        say::note(format_args!(
            "note: no fleet repo configured or found around the fleet source; comparing with {}",
            dir.display()
        ));
    }
}

pub(super) fn diff(root: &Path, args: DiffArgs) -> Result<i32> {
    if let Some(source) = &args.against {
        let [target] = args.envs.as_slice() else {
            return Err(Error::Usage(
                "--against compares one environment with another: give exactly one --env".into(),
            ));
        };
        if target == source {
            return Err(Error::Usage(format!(
                "--against {source} compares {target} with itself: name the environment to promote from"
            )));
        }
        let compiled = pipeline::compile(root, &[target.clone(), source.clone()])?;
        say::compiled(&compiled);
        let report = say::timed("compare", || {
            crate::view::promotion::report(&compiled.fleet, &compiled.rendered, target, source)
        })?;
        // Its line breaks are the report's layout; what it quotes of rendered objects may hold
        // any other control character.
        let report = crate::printable::lines(&report);
        let _ = io::stdout().lock().write_all(report.as_bytes());
        return Ok(0);
    }
    let progress = super::progress::Bar::new();
    let unchecked = super::validate_commands::compile(root, &args.envs, &args.gate, &progress)?;
    let compiled = gate(unchecked, &args.gate, &progress)?;
    say::compiled(&compiled);
    let branches = &compiled.rendered.branches;
    let drift = say::timed("compare", || {
        diff::against_fleet(&compiled.fleet, branches, args.out.as_deref())
    })?;
    note_compared(&drift, args.out.is_some());
    let exit = if args.exit_code && !drift.is_empty() {
        1
    } else {
        0
    };
    if args.output.format == DiffFormat::Markdown {
        let markdown = crate::view::markdown::diff(&drift, &compiled.fleet);
        let _ = io::stdout().lock().write_all(markdown.as_bytes());
        super::leave((compiled, drift));
        return Ok(exit);
    }

    let terminal = io::stdout().is_terminal();
    let palette = Palette::new(args.color.enabled(terminal));
    let mut patch = Vec::new();
    let _ = if args.stat {
        diff::write_stat(&drift, &mut patch, palette)
    } else {
        diff::write_patch(&drift, &mut patch, palette)
    };
    super::pager::page(&patch, terminal);

    let environments = environments(&compiled.fleet);
    let summaries = drift.summaries(|branch| environments.get(branch).cloned());
    if say::level() > say::Level::Quiet {
        let _ = diff::write_summary(&drift, &summaries, &mut io::stderr().lock());
    }
    super::leave((compiled, drift));
    Ok(exit)
}

pub(super) fn commit(root: &Path, args: CommitArgs) -> Result<i32> {
    let progress = super::progress::Bar::new();
    // The status of the source checkout only reads the source, so it is taken while the
    // fleet is loaded and planned on one core, and the plan of the commit only reads, so it
    // runs while validation does; nothing is written before validation has passed. Their
    // errors wait behind the gate's, in the order they had when they ran after it.
    let status = {
        let root = root.to_path_buf();
        std::thread::spawn(move || source::uncommitted_source(&root))
    };
    let unchecked = super::validate_commands::compile(root, &args.envs, &args.gate, &progress)?;
    let repo = git::open(unchecked.fleet());
    let prefix = args.branch_prefix.clone();
    let (compiled, repo) = gate_alongside(unchecked, &args.gate, &progress, move |rendered| {
        Ok(repo.map(|repo| {
            let plan = git::plan(&repo, &rendered.branches, prefix.as_deref());
            (repo, plan)
        }))
    })?;
    say::compiled(&compiled);
    let (repo, plan) = repo?;
    let uncommitted = status
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    if !uncommitted.is_empty() {
        // File names of the source may hold anything; the message below has a layout of its own.
        let listed = crate::printable::line(&fold(&uncommitted, 5)).into_owned();
        if args.require_clean {
            return Err(Error::Usage(format!(
                "the fleet source has uncommitted changes ({listed}); --require-clean refuses to commit what no \
                 commit of the source records\n  hint: commit or stash them first"
            )));
        }
        say::note(format_args!(
            "note: rendered with uncommitted changes of the fleet source: {listed}"
        ));
    }
    let identity = git::signatures(
        &repo,
        args.author_name.as_deref(),
        args.author_email.as_deref(),
    );
    let (author, committer) = match identity {
        Ok(identity) => identity,
        // Nothing is signed in a dry run; a missing identity can wait for the real one.
        Err(_) if args.dry_run => {
            let placeholder = git2::Signature::now("fleetgen", "fleetgen@localhost")?;
            (placeholder.clone(), placeholder)
        }
        Err(error) => return Err(error),
    };
    let mut options = CommitOptions::new(author, committer);
    options.force = args.force;
    options.dry_run = args.dry_run;
    options.prefix = args.branch_prefix;
    options.subject = args.message;
    options.environments = environments(&compiled.fleet);

    let branches = &compiled.rendered.branches;
    let done = say::timed("commit", || match plan? {
        Some(plan) => git::commit_planned(&repo, branches, plan, &options),
        None => git::commit(&repo, branches, &options),
    })?;
    let mut stdout = io::stdout().lock();
    for result in &done {
        let target = &result.target;
        let mut counts = Counts::default();
        for change in &result.changes {
            counts.count(change.kind);
        }
        match &result.outcome {
            Outcome::UpToDate => {
                say::status(format_args!("{}: up to date", target.refname));
            }
            Outcome::WouldCommit => {
                say::status(format_args!("{}: would commit {counts}", target.refname));
                for line in result.message.lines() {
                    say::status(format_args!("    {line}"));
                }
            }
            Outcome::Committed(oid) => {
                // The new heads are the command's data: `<commit> <ref>`, as `git show-ref`
                // prints them, for scripts that push what was committed.
                let _ = writeln!(stdout, "{oid} {}", target.refname);
                say::status(format_args!(
                    "{}: committed {} ({counts})",
                    target.refname,
                    short(oid)
                ));
                for change in &result.changes {
                    match change.conflict {
                        Some(conflict) => say::status(format_args!(
                            "  overwrote {}:{} ({conflict}), as --force asked",
                            change.branch, change.path
                        )),
                        None => say::detail(format_args!(
                            "  {} {}:{}",
                            change.kind.letter(),
                            change.branch,
                            change.path
                        )),
                    }
                }
                for dir in git::checked_out(&repo, &target.refname)? {
                    say::status(format_args!(
                        "  updated the checkout in {} (its files and index)",
                        dir.display().to_string().trim_end_matches('/')
                    ));
                }
            }
        }
    }
    super::leave((compiled, done));
    Ok(0)
}

fn short(oid: &git2::Oid) -> String {
    oid.to_string()[..12].to_owned()
}

/// `a, b, c and 7 more`.
fn fold(items: &[String], keep: usize) -> String {
    let mut text = items
        .iter()
        .take(keep)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > keep {
        text.push_str(&format!(" and {} more", items.len() - keep));
    }
    text
}

pub(super) fn check(root: &Path, mut args: CheckArgs) -> Result<i32> {
    let staged = if args.staged {
        match source::stage_index(root)? {
            Some(staged) => Some(staged),
            None => return Ok(0),
        }
    } else {
        None
    };
    let root = match &staged {
        Some(staged) => {
            args.no_drift = true;
            staged.path()
        }
        None => root,
    };
    let progress = super::progress::Bar::new();
    // The staged source is validated in a folder of its own each time: nothing to reuse.
    let reuse = ReuseArgs {
        no_cache: args.reuse.no_cache || args.staged,
    };
    let unchecked = match args.validation.compile(root, &args.envs, &reuse, &progress) {
        Ok(unchecked) => unchecked,
        // In JSON, problems with the fleet are findings like any other.
        Err(Error::Invalid(diagnostics)) if matches!(args.output.format, Format::Json) => {
            print_json(&diagnostics);
            return Ok(1);
        }
        Err(error) => return Err(error),
    };
    // The branches are compared while validation runs: it only reads them. Its error waits
    // behind validation's, as when it ran after it.
    let against =
        (!args.no_drift).then(|| diff::Against::of(unchecked.fleet(), args.out.as_deref()));
    super::validate_commands::say_ahead(&unchecked);
    let settings = args.validation.settings(unchecked.fleet(), &reuse);
    let (validated, (against, early)) = say::timed("validate", || {
        unchecked.validate_alongside(&settings, &progress, move |rendered| {
            let early = match &against {
                Some(Ok(against)) => against.findings(&rendered.branches),
                _ => None,
            };
            (against, early)
        })
    });
    super::validate_commands::say_reused(&settings);
    let (compiled, mut diagnostics) = validated?;
    say::compiled(&compiled);
    let mut drift = None;
    if let Some(against) = against {
        let against = against?;
        let found = match early {
            Some(found) => found,
            None => say::timed("compare", || against.compare(&compiled.rendered.branches)),
        }?;
        note_compared(&found, args.out.is_some());
        diagnostics.extend(found.diagnostics());
        drift = Some(found);
    }
    match args.output.format {
        Format::Json => print_json(&diagnostics),
        // A hook that talks on every commit trains people to ignore it.
        Format::Human if args.staged && !diagnostics.has_errors() => {}
        Format::Human => {
            let mut stderr = io::stderr().lock();
            for diagnostic in diagnostics.iter() {
                let _ = writeln!(stderr, "{diagnostic}");
            }
            let errors = diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.is_error())
                .count();
            let warnings = diagnostics.iter().count() - errors;
            let branches = match &drift {
                Some(drift) if drift.is_empty() => "; branches up to date",
                Some(_) => "",
                None => "; branches not compared",
            };
            let warned = match warnings {
                0 => String::new(),
                n => format!(" ({n} warning{})", plural(n)),
            };
            let _ = match errors {
                0 => {
                    say::status(format_args!(
                        "fleetgen: fleet source is valid{branches}{warned}"
                    ));
                    Ok(())
                }
                _ => writeln!(stderr, "{}", super::findings_line(errors, warnings)),
            };
        }
    }
    super::leave((compiled, drift));
    Ok(if diagnostics.has_errors() { 1 } else { 0 })
}

fn print_json(diagnostics: &Diagnostics) {
    let json = crate::printable::json(
        serde_json::to_string_pretty(diagnostics).expect("diagnostics serialise"),
    );
    let _ = writeln!(io::stdout().lock(), "{json}");
}

/// First line after the shebang of every hook fleetgen writes: how a hook is recognised as
/// fleetgen's, so that it can be updated but a foreign one is never overwritten.
const HOOK_MARKER: &str = "# fleetgen pre-commit hook";

pub(super) fn hook(root: &Path, args: HookArgs) -> Result<i32> {
    match args.action {
        HookAction::Install { force, dry_run } => hook_install(root, force, dry_run),
    }
}

fn hook_install(root: &Path, force: bool, dry_run: bool) -> Result<i32> {
    let repo = Repository::discover(root).map_err(|_| {
        Error::Git(format!(
            "{} is not inside a Git repository: there is nothing to install a hook in",
            root.display()
        ))
    })?;
    let Some(workdir) = repo.workdir() else {
        return Err(Error::Git(
            "a bare repository runs no pre-commit hooks".to_owned(),
        ));
    };
    let hooks = hooks_dir(&repo, workdir)?;
    let path = hooks.join("pre-commit");
    let script = hook_script(&fleet_dir_in(workdir, root)?);

    match fs::read_to_string(&path) {
        Ok(existing) if existing == script => {
            say::status(format_args!("{} is already installed", path.display()));
            return Ok(0);
        }
        Ok(existing) if !existing.contains(HOOK_MARKER) && !force => {
            return Err(Error::HookExists(path));
        }
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        // Unreadable (not UTF-8, say): not ours.
        Err(_) if !force => return Err(Error::HookExists(path)),
        Err(_) => {}
    }
    if dry_run {
        say::note(format_args!("would write {}:", path.display()));
        print!("{script}");
        return Ok(0);
    }
    fs::create_dir_all(&hooks).map_err(|source| Error::Write {
        path: hooks.clone(),
        source,
    })?;
    fs::write(&path, &script).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    make_executable(&path)?;
    say::status(format_args!("installed {}", path.display()));
    Ok(0)
}

/// `core.hooksPath` if set (relative to the working tree, as git reads it), else the hooks of
/// the repository, shared by all its worktrees.
fn hooks_dir(repo: &Repository, workdir: &Path) -> Result<PathBuf> {
    match repo.config()?.get_path("core.hooksPath") {
        Ok(path) => Ok(workdir.join(path)),
        Err(error) if error.code() == git2::ErrorCode::NotFound => {
            Ok(repo.commondir().join("hooks"))
        }
        Err(error) => Err(error.into()),
    }
}

/// The fleet root relative to the working tree, where git runs hooks.
fn fleet_dir_in(workdir: &Path, root: &Path) -> Result<PathBuf> {
    let canonical = |path: &Path| {
        fs::canonicalize(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let (workdir, root) = (canonical(workdir)?, canonical(root)?);
    root.strip_prefix(&workdir)
        .map(Path::to_path_buf)
        .map_err(|_| {
            Error::Git(format!(
                "{} is outside the working tree {}",
                root.display(),
                workdir.display()
            ))
        })
}

/// The hook: validates the staged fleet source (what the commit records, not the working
/// tree), not drift — a commit that changes the source always differs from the branches until
/// it is merged and `fleetgen commit` has run.
fn hook_script(fleet_dir: &Path) -> String {
    let directory = match fleet_dir.to_string_lossy().as_ref() {
        "" => String::new(),
        dir => format!(" -C '{}'", dir.replace('\'', r"'\''")),
    };
    format!(
        "#!/bin/sh\n{HOOK_MARKER}, written by `fleetgen hook install`.\n# Refuses a commit whose staged fleet \
         source does not load, render or validate; `git commit --no-verify` skips it once.\nexec \
         \"${{FLEETGEN:-fleetgen}}\"{directory} check --staged\n"
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_change_to_the_fleet_directory_only_when_needed() {
        assert_eq!(
            hook_script(Path::new("")),
            "#!/bin/sh\n# fleetgen pre-commit hook, written by `fleetgen hook install`.\n# Refuses a commit whose \
             staged fleet source does not load, render or validate; `git commit --no-verify` skips it once.\nexec \
             \"${FLEETGEN:-fleetgen}\" check --staged\n"
        );
        assert!(
            hook_script(Path::new("ops/it's"))
                .ends_with("exec \"${FLEETGEN:-fleetgen}\" -C 'ops/it'\\''s' check --staged\n")
        );
    }

    #[test]
    fn colour_is_never_forced_by_auto_off_a_terminal() {
        assert!(!ColorWhen::Auto.enabled(false));
        assert!(ColorWhen::Always.enabled(false));
        assert!(!ColorWhen::Never.enabled(true));
    }

    #[test]
    fn hook_install_refuses_a_foreign_hook_and_updates_its_own() {
        let dir = tempfile::tempdir().unwrap();
        Repository::init(dir.path()).unwrap();
        let hook = dir.path().join(".git/hooks/pre-commit");
        fs::create_dir_all(hook.parent().unwrap()).unwrap();
        fs::write(&hook, "#!/bin/sh\nmake lint\n").unwrap();
        assert!(matches!(
            hook_install(dir.path(), false, false),
            Err(Error::HookExists(_))
        ));
        assert_eq!(fs::read_to_string(&hook).unwrap(), "#!/bin/sh\nmake lint\n");

        hook_install(dir.path(), true, false).unwrap();
        let installed = fs::read_to_string(&hook).unwrap();
        assert!(installed.contains(HOOK_MARKER));
        // An older fleetgen hook is fleetgen's to replace; installing twice changes nothing.
        fs::write(
            &hook,
            format!("#!/bin/sh\n{HOOK_MARKER}\nexec fleetgen check\n"),
        )
        .unwrap();
        hook_install(dir.path(), false, false).unwrap();
        assert_eq!(fs::read_to_string(&hook).unwrap(), installed);
        hook_install(dir.path(), false, false).unwrap();
        assert_eq!(fs::read_to_string(&hook).unwrap(), installed);
    }
}
