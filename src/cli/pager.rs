//! Paging long output the way git does: through `$PAGER` (default `less -FRX`, which quits at
//! once when the text fits the screen) when stdout is a terminal, straight out otherwise.

use std::io::{self, Write};
use std::process::{Command, Stdio};

const DEFAULT_PAGER: &str = "less -FRX";

/// Writes `text` to stdout, through the pager when `terminal`. A pager that cannot start
/// leaves the text on stdout; a closed pipe or a pager quit early is not an error.
pub fn page(text: &[u8], terminal: bool) {
    if terminal && let Some(pager) = pager() {
        // The pager is a command line, as git and man treat $PAGER.
        let child = Command::new("sh")
            .arg("-c")
            .arg(&pager)
            .env(
                "LESS",
                std::env::var("LESS").unwrap_or_else(|_| "FRX".to_owned()),
            )
            .stdin(Stdio::piped())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text);
            }
            let _ = child.wait();
            return;
        }
    }
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text);
    let _ = stdout.flush();
}

/// `$FLEETGEN_PAGER`, then `$PAGER`, then `less -FRX`; empty or `cat` means no pager.
fn pager() -> Option<String> {
    let pager = std::env::var("FLEETGEN_PAGER")
        .or_else(|_| std::env::var("PAGER"))
        .unwrap_or_else(|_| DEFAULT_PAGER.to_owned());
    let pager = pager.trim().to_owned();
    (!pager.is_empty() && pager != "cat").then_some(pager)
}
