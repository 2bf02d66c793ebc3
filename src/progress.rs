//! How far a long run is. The library counts steps through [`Progress`]; the command line
//! decides whether and how to show them, so nothing here prints.

/// Receives the steps of a long run, from any thread.
pub trait Progress: Sync {
    /// A stage of `total` steps begins (`what` names it: "rendering", "validating").
    fn start(&self, what: &str, total: u64);
    /// `steps` more steps of the current stage are done.
    fn advance(&self, steps: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// Shows nothing: tests, the library's own callers, and every run that is not on a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _what: &str, _total: u64) {}
    fn advance(&self, _steps: u64) {}
    fn finish(&self) {}
}

/// Counts what it is told, for tests of the plumbing.
#[derive(Debug, Default)]
pub struct Counter {
    stages: std::sync::Mutex<Vec<(String, u64, u64)>>,
}

impl Counter {
    /// `(stage, total, steps done)` of every stage started so far.
    pub fn stages(&self) -> Vec<(String, u64, u64)> {
        self.stages.lock().expect("not poisoned").clone()
    }
}

impl Progress for Counter {
    fn start(&self, what: &str, total: u64) {
        self.stages
            .lock()
            .expect("not poisoned")
            .push((what.to_owned(), total, 0));
    }

    fn advance(&self, steps: u64) {
        if let Some(stage) = self.stages.lock().expect("not poisoned").last_mut() {
            stage.2 += steps;
        }
    }

    fn finish(&self) {}
}
