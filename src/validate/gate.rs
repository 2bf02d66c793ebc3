//! The one validation every command runs before it shows, writes or commits a rendered fleet:
//! `check` reports its findings; `render`, `diff` and `commit` refuse to go on when there is
//! an error, so that nothing `check` rejects is ever written or committed.

use super::Options;
use super::reuse::{Key, Reuse};
use super::sources::{Overrides, load_schemas_with};
use crate::diagnostic::Diagnostics;
use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::render::Rendered;

/// How to validate: extra schema sources and strictness, over the fleet's own settings.
#[derive(Debug, Default)]
pub struct Settings {
    pub overrides: Overrides,
    /// Unknown kinds are errors (adds to `validation.strict`).
    pub strict: bool,
    /// Where an earlier run's findings are looked up, and this run's kept; `None` validates
    /// afresh and keeps nothing.
    pub reuse: Option<Reuse>,
}

/// Validates the rendered fleet: schemas, the Flux graph and the fleet facts. Returns every
/// finding, sorted.
pub fn run(fleet: &Fleet, rendered: &Rendered, settings: &Settings) -> Result<Diagnostics> {
    run_with(fleet, rendered, settings, &crate::progress::Quiet)
}

/// [`run`], telling `progress` how far it is.
pub fn run_with(
    fleet: &Fleet,
    rendered: &Rendered,
    settings: &Settings,
    progress: &dyn crate::progress::Progress,
) -> Result<Diagnostics> {
    let (schemas, _) = load_schemas_with(fleet, Some(rendered), &settings.overrides)?;
    let options = Options {
        strict: settings.strict || fleet.validation.strict,
    };
    let Some(reuse) = &settings.reuse else {
        return Ok(super::validate_with(
            fleet, rendered, &schemas, options, progress,
        ));
    };
    let key = Key::of(fleet, rendered, &schemas, options);
    if let Some(found) = key.as_ref().and_then(|key| reuse.get(key)) {
        return Ok(found);
    }
    let diagnostics = super::validate_with(fleet, rendered, &schemas, options, progress);
    // Only a passing result is kept: a run that validation refuses leaves everything as it
    // found it, and a failing fleet is about to change anyway.
    if let Some(key) = key.filter(|_| !diagnostics.has_errors()) {
        reuse.put(&key, &diagnostics);
    }
    Ok(diagnostics)
}

/// [`run`], as a gate: the warnings when there is no error, every finding as
/// [`Error::Invalid`] otherwise.
pub fn gate(fleet: &Fleet, rendered: &Rendered, settings: &Settings) -> Result<Diagnostics> {
    gate_with(fleet, rendered, settings, &crate::progress::Quiet)
}

/// [`gate`], telling `progress` how far it is.
pub fn gate_with(
    fleet: &Fleet,
    rendered: &Rendered,
    settings: &Settings,
    progress: &dyn crate::progress::Progress,
) -> Result<Diagnostics> {
    let diagnostics = run_with(fleet, rendered, settings, progress)?;
    if diagnostics.has_errors() {
        Err(Error::Invalid(diagnostics))
    } else {
        Ok(diagnostics)
    }
}
