//! Child processes of the benchmarks: timed as a whole, and the Git they need.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall time, processor time (user + system) and peak resident memory of one child process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    pub time: Duration,
    pub cpu: Duration,
    pub peak_mib: f64,
}

/// Runs `program args` in `dir` under `/usr/bin/time`, stdout discarded, and panics when it
/// fails: a benchmark of a failing command measures nothing.
pub fn measure(dir: &Path, program: &str, args: &[&str]) -> Run {
    let report = dir.join(".time");
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M %U %S")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run /usr/bin/time");
    let time = started.elapsed();
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report_text = std::fs::read_to_string(&report).expect("time's report");
    let fields: Vec<f64> = report_text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    let _ = std::fs::remove_file(report);
    let field = |index: usize| fields.get(index).copied().unwrap_or(0.0);
    Run {
        time,
        cpu: Duration::from_secs_f64(field(1) + field(2)),
        peak_mib: field(0) / 1024.0,
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

/// Makes `root` a Git repository whose main branch holds the fleet source as it is, as a fleet
/// repo's main branch does; the rendered output folder is ignored.
pub fn init_fleet_repo(root: &Path) {
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "bench"]);
    git(root, &["config", "user.email", "bench@example.com"]);
    std::fs::write(root.join(".gitignore"), "/out/\n").expect("write .gitignore");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "fleet source"]);
}
