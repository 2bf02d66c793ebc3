//! The progress bar on stderr. It shows only when stderr is a terminal outside CI, and only
//! once a run has taken about a second: quick runs, pipes and logs stay clean.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Progress;

/// How long a run goes before it earns a bar.
const DELAY: Duration = Duration::from_secs(1);

pub struct Bar {
    enabled: bool,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    what: String,
    total: u64,
    done: u64,
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar for this process's stderr.
    pub fn new() -> Self {
        Self::with(
            std::io::stderr().is_terminal()
                && std::env::var_os("CI").is_none()
                && super::say::level() > super::say::Level::Quiet,
            Instant::now(),
        )
    }

    fn with(enabled: bool, started: Instant) -> Self {
        Self {
            enabled,
            started,
            state: Mutex::new(State::default()),
        }
    }

    fn show_if_due(&self, state: &mut State) {
        if state.bar.is_none() && self.enabled && self.started.elapsed() >= DELAY {
            let bar =
                ProgressBar::with_draw_target(Some(state.total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg:>12} [{bar:30}] {human_pos}/{human_len}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_message(state.what.clone());
            bar.set_position(state.done);
            state.bar = Some(bar);
        }
    }
}

impl Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        let mut state = self.state.lock().expect("not poisoned");
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        *state = State {
            what: what.to_owned(),
            total,
            ..State::default()
        };
        self.show_if_due(&mut state);
    }

    fn advance(&self, steps: u64) {
        let mut state = self.state.lock().expect("not poisoned");
        state.done += steps;
        match &state.bar {
            Some(bar) => bar.set_position(state.done),
            None => self.show_if_due(&mut state),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.state.lock().expect("not poisoned").bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(bar: &Bar) -> bool {
        bar.state.lock().unwrap().bar.is_some()
    }

    #[test]
    fn shows_only_when_enabled_and_the_run_is_long() {
        let long_ago = Instant::now() - 2 * DELAY;
        let quiet = Bar::with(false, long_ago);
        quiet.start("validating", 3);
        quiet.advance(1);
        assert!(!shown(&quiet));

        let fresh = Bar::with(true, Instant::now() + DELAY);
        fresh.start("validating", 3);
        fresh.advance(1);
        assert!(!shown(&fresh));

        let slow = Bar::with(true, long_ago);
        slow.start("validating", 3);
        slow.advance(2);
        assert!(shown(&slow));
        assert_eq!(slow.state.lock().unwrap().done, 2);
        slow.finish();
        assert!(!shown(&slow));
    }
}
