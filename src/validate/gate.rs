//! The one validation every command runs before it shows, writes or commits a rendered fleet:
//! `check` reports its findings; `render`, `diff` and `commit` refuse to go on when there is
//! an error, so that nothing `check` rejects is ever written or committed.

use super::Options;
use super::reuse::{FleetDigest, Key, Reuse};
use super::sources::{EarlySchemas, Overrides, load_early, load_rest};
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

/// What validation can do before the fleet renders, done while it does (see [`prepare`]).
#[derive(Debug)]
pub struct Prepared {
    /// The `--kubernetes-version` it was prepared for.
    kubernetes_version: Option<String>,
    /// Its errors are reported where they would have been found without preparing: after
    /// the render's.
    schemas: Result<EarlySchemas>,
    fleet: Option<FleetDigest>,
}

/// Loads the schema layers that do not depend on what `fleet` renders
/// ([`load_early`](super::sources::load_early)), for `--kubernetes-version`
/// `kubernetes_version`, and, when findings may be reused, takes the fleet's share of the key.
pub fn prepare(fleet: &Fleet, kubernetes_version: Option<&str>, reuse: bool) -> Prepared {
    Prepared {
        kubernetes_version: kubernetes_version.map(str::to_owned),
        schemas: load_early(fleet, kubernetes_version),
        fleet: reuse.then(|| FleetDigest::of(fleet)),
    }
}

/// [`run`], telling `progress` how far it is.
pub fn run_with(
    fleet: &Fleet,
    rendered: &Rendered,
    settings: &Settings,
    progress: &dyn crate::progress::Progress,
) -> Result<Diagnostics> {
    run_prepared(fleet, rendered, settings, None, progress)
}

/// [`run_with`], from what [`prepare`] did for this `fleet` while it rendered.
pub fn run_prepared(
    fleet: &Fleet,
    rendered: &Rendered,
    settings: &Settings,
    prepared: Option<Prepared>,
    progress: &dyn crate::progress::Progress,
) -> Result<Diagnostics> {
    let version = settings.overrides.kubernetes_version.as_deref();
    let (early, digest) = match prepared {
        Some(prepared) if prepared.kubernetes_version.as_deref() == version => {
            (prepared.schemas, prepared.fleet)
        }
        // Prepared for another minor: the setting validation is run with wins.
        Some(prepared) => (load_early(fleet, version), prepared.fleet),
        None => (load_early(fleet, version), None),
    };
    let (schemas, _) = load_rest(early?, fleet, Some(rendered), &settings.overrides)?;
    let options = Options {
        strict: settings.strict || fleet.validation.strict,
    };
    let Some(reuse) = &settings.reuse else {
        return Ok(super::validate_with(
            fleet, rendered, &schemas, options, progress,
        ));
    };
    let key = Key::of(fleet, digest, rendered, &schemas, options);
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::pipeline::{Compiled, compile};
    use crate::progress::Quiet;

    fn example() -> Compiled {
        compile(Path::new(env!("CARGO_MANIFEST_DIR")), &[]).expect("the example fleet compiles")
    }

    fn with_version(version: Option<&str>) -> Settings {
        Settings {
            overrides: Overrides {
                kubernetes_version: version.map(str::to_owned),
                ..Overrides::default()
            },
            ..Settings::default()
        }
    }

    #[test]
    fn prepared_validation_finds_what_unprepared_validation_finds() {
        let Compiled {
            fleet, rendered, ..
        } = example();
        let settings = with_version(None);
        let unprepared = run(&fleet, &rendered, &settings).unwrap();
        let prepared = prepare(&fleet, None, true);
        let found = run_prepared(&fleet, &rendered, &settings, Some(prepared), &Quiet).unwrap();
        assert_eq!(found, unprepared);
    }

    #[test]
    fn preparing_errs_where_validation_would_and_yields_to_the_minor_validated_with() {
        let Compiled {
            fleet, rendered, ..
        } = example();
        // Prepared for a minor that is not embedded: found when validation runs with it ...
        let prepared = prepare(&fleet, Some("0.1"), false);
        let refused = |settings: &Settings, prepared| {
            let error = run_prepared(&fleet, &rendered, settings, Some(prepared), &Quiet)
                .expect_err("0.1 is not an embedded minor");
            let Error::Invalid(found) = error else {
                panic!("{error:?}")
            };
            found.iter().any(|finding| {
                finding.rule == "schema-source"
                    && finding
                        .hint
                        .as_deref()
                        .is_some_and(|hint| hint.contains("--kubernetes-version"))
            })
        };
        assert!(refused(&with_version(Some("0.1")), prepared));
        // ... and not when validation runs with another, which wins.
        let prepared = prepare(&fleet, Some("0.1"), false);
        run_prepared(
            &fleet,
            &rendered,
            &with_version(None),
            Some(prepared),
            &Quiet,
        )
        .unwrap();
        // Prepared for the fleet's minor, validated with one that is not embedded.
        let prepared = prepare(&fleet, None, false);
        assert!(refused(&with_version(Some("0.1")), prepared));
    }
}
