//! Where the kill tests stop a run: `FLEETGEN_TEST_STOP_AT=<point>` makes the process stop at
//! that point as a kill or a power cut would, leaving everything as it is at that moment. Each
//! point sits between two writes whose order the crash safety of a stage depends on.

/// Stops the process here when the kill tests ask for `point`.
pub(crate) fn point(point: &str) {
    if std::env::var("FLEETGEN_TEST_STOP_AT").is_ok_and(|at| at == point) {
        #[cfg(unix)]
        // SAFETY: sending a signal to this very process; SIGKILL does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}
