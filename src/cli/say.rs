//! How much the command line says besides data and errors. `--quiet` keeps errors and
//! warnings, as cargo's does, and drops what a command did (summaries, progress, "created …");
//! `--verbose` adds the detail there is: the time of each stage and every file written.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Normal,
    Verbose,
}

/// One process runs one command, so the level is set once from the arguments rather than
/// threaded through every printing function.
static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

pub fn set(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    }
}

/// A line saying what the command did, on stderr; not with `--quiet`.
pub fn status(line: fmt::Arguments<'_>) {
    if level() >= Level::Normal {
        print_line(line);
    }
}

/// A line of detail, on stderr; only with `--verbose`.
pub fn detail(line: fmt::Arguments<'_>) {
    if level() >= Level::Verbose {
        print_line(line);
    }
}

/// A note on stderr whatever the level (`note: rendered with uncommitted changes …`).
pub fn note(line: fmt::Arguments<'_>) {
    print_line(line);
}

/// One line as the terminal or the CI log gets it: names in it may come from the fleet
/// source, so a control character in them is shown escaped and cannot start a line.
fn print_line(line: fmt::Arguments<'_>) {
    let text = line.to_string();
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        crate::printable::line(&text)
    );
}

/// Runs `stage` and, with `--verbose`, says how long it took.
pub fn timed<T>(what: &str, stage: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = stage();
    detail(format_args!("{what}: {}", duration(started.elapsed())));
    result
}

/// With `--verbose`: the time of each stage of the compilation and what it planned.
pub fn compiled(compiled: &crate::pipeline::Compiled) {
    if level() < Level::Verbose {
        return;
    }
    for (stage, elapsed) in &compiled.timings {
        detail(format_args!("{stage}: {}", duration(*elapsed)));
    }
    let fleet = &compiled.fleet;
    let files: usize = compiled
        .rendered
        .branches
        .iter()
        .map(|(_, tree)| tree.iter().count())
        .sum();
    detail(format_args!(
        "{} clusters, {} environments, {} tenants: {} units rendered into {files} files on {}",
        fleet.clusters.len(),
        fleet.environments.len(),
        fleet.tenants.len(),
        compiled.units,
        branches(compiled)
    ));
}

/// The rendered branches, `main, dev, qa`, as the summaries name them.
pub fn branches(compiled: &crate::pipeline::Compiled) -> String {
    compiled
        .rendered
        .branches
        .iter()
        .map(|(branch, _)| branch)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `850 ms`, `2.4 s`.
pub fn duration(elapsed: Duration) -> String {
    if elapsed < Duration::from_secs(1) {
        format!("{} ms", elapsed.as_millis())
    } else {
        format!("{:.1} s", elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration(Duration::from_micros(1500)), "1 ms");
        assert_eq!(duration(Duration::from_millis(2430)), "2.4 s");
    }
}
