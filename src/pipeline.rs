//! The stages chained: load → model → plan → render, then the rendered files read back once:
//! by the value check alone, or by validation, which runs the value check in the same parse.
//! Every command starts here, and no rendered tree leaves this module unchecked.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::model::Fleet;
use crate::plan;
use crate::progress::Progress;
use crate::render::{self, Rendered, blueprint};
use crate::validate;

/// A loaded fleet and its rendered branches.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub fleet: Fleet,
    /// How many units the plan had: the plan itself is let go once rendered, before
    /// validation needs the memory.
    pub units: usize,
    pub rendered: Rendered,
    /// How long each stage took, in order: what `--verbose` reports.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Loads and checks the fleet source under `root`.
pub fn load_fleet(root: &Path) -> Result<Fleet> {
    let source = crate::load::load(root)?;
    Fleet::from_source(&source).map_err(Error::Invalid)
}

/// Loads, checks and renders the fleet, for the environments in `envs` (all when empty), and
/// runs the value check on what it rendered.
pub fn compile(root: &Path, envs: &[String]) -> Result<Compiled> {
    compile_staged(root, root, envs)
}

/// [`compile`], telling `progress` how far it is.
pub fn compile_with(root: &Path, envs: &[String], progress: &dyn Progress) -> Result<Compiled> {
    compile_from(root, root, envs, progress, Ahead::Nothing)?.check_values(progress)
}

/// Like [`compile`], with the fleet's input files read from `source` (a staged copy of them)
/// while the fleet keeps `root` as its root: blueprints, output and schema paths stay the
/// fleet's own.
pub fn compile_staged(source: &Path, root: &Path, envs: &[String]) -> Result<Compiled> {
    let quiet = &crate::progress::Quiet;
    compile_from(source, root, envs, quiet, Ahead::Nothing)?.check_values(quiet)
}

/// Loads and renders the fleet, leaving the read-back of the rendered files to the caller's
/// choice: [`Unchecked::check_values`] or [`Unchecked::validate`]. A command that validates
/// then parses every file once instead of twice.
pub fn compile_unchecked(
    root: &Path,
    envs: &[String],
    progress: &dyn Progress,
) -> Result<Unchecked> {
    compile_from(root, root, envs, progress, Ahead::Nothing)
}

/// [`compile_unchecked`] for a command that validates next, with the embedded Kubernetes
/// minor `kubernetes_version` (`--kubernetes-version`) or else the fleet's: the validators of
/// the kinds the blueprints write are made while rendering, on a thread of their own. A small
/// fleet renders on about one core, and validating it is mostly making validators.
///
/// With a `reuse` store, a run from the same inputs as one that passed validation lately
/// makes nothing ahead: its findings will most likely be reused (see [`validate::Inputs`]).
pub fn compile_to_validate(
    root: &Path,
    envs: &[String],
    progress: &dyn Progress,
    kubernetes_version: Option<&str>,
    reuse: Option<&validate::Reuse>,
) -> Result<Unchecked> {
    compile_from(
        root,
        root,
        envs,
        progress,
        Ahead::Validators {
            kubernetes_version,
            reuse,
        },
    )
}

/// What [`compile_from`] starts while it renders.
#[derive(Debug, Clone, Copy)]
enum Ahead<'a> {
    Nothing,
    Validators {
        kubernetes_version: Option<&'a str>,
        reuse: Option<&'a validate::Reuse>,
    },
}

/// A rendered fleet whose files were not read back yet: nothing but these two methods gives
/// its [`Compiled`] away.
#[derive(Debug)]
pub struct Unchecked {
    compiled: Compiled,
    /// What it was rendered from, when a validation that passes is to note them.
    inputs: Option<validate::Inputs>,
    /// Whether its inputs passed validation lately, so that no validators were made ahead.
    reuse_foreseen: bool,
    /// What validation could do while it rendered, when a validation was foreseen.
    prepared: Option<validate::Prepared>,
}

impl Unchecked {
    /// Runs the value check alone (see [`render::values`]).
    pub fn check_values(self, progress: &dyn Progress) -> Result<Compiled> {
        let clock = Instant::now();
        let mut compiled = self.compiled;
        render::values::check(
            &compiled.rendered.branches,
            &compiled.rendered.values,
            progress,
        )?;
        compiled.timings.push(("check values", clock.elapsed()));
        Ok(compiled)
    }

    /// Validates the rendered fleet (see [`validate::run_with`]), which runs the value check in
    /// its own parse. Every finding is returned, errors included.
    pub fn validate(
        self,
        settings: &validate::Settings,
        progress: &dyn Progress,
    ) -> Result<(Compiled, Diagnostics)> {
        self.validate_alongside(settings, progress, |_| ()).0
    }

    /// [`Unchecked::validate`], running `alongside` on the rendered trees meanwhile, on
    /// another thread: work that only reads them.
    pub fn validate_alongside<R: Send>(
        self,
        settings: &validate::Settings,
        progress: &dyn Progress,
        alongside: impl FnOnce(&Rendered) -> R + Send,
    ) -> (Result<(Compiled, Diagnostics)>, R) {
        let compiled = self.compiled;
        let (validated, other) = rayon::join(
            || {
                validate::run_prepared(
                    &compiled.fleet,
                    &compiled.rendered,
                    settings,
                    self.prepared,
                    progress,
                )
            },
            || alongside(&compiled.rendered),
        );
        if let (Some(reuse), Some(inputs)) = (&settings.reuse, &self.inputs) {
            reuse.remember(inputs);
        }
        (validated.map(|diagnostics| (compiled, diagnostics)), other)
    }

    /// Whether its inputs passed validation lately: no validators were made ahead, since
    /// the findings will most likely be reused.
    pub fn reuse_foreseen(&self) -> bool {
        self.reuse_foreseen
    }

    /// The fleet that was rendered.
    pub fn fleet(&self) -> &Fleet {
        &self.compiled.fleet
    }

    /// [`Unchecked::gate`], running `alongside` on the rendered trees meanwhile, on another
    /// thread: work that reads them, or prepares to write them, without writing (the rendered
    /// tree reaches nothing before the gate has passed).
    pub fn gate_alongside<R: Send>(
        self,
        settings: &validate::Settings,
        progress: &dyn Progress,
        alongside: impl FnOnce(&Rendered) -> R + Send,
    ) -> (Result<(Compiled, Diagnostics)>, R) {
        let (validated, other) = self.validate_alongside(settings, progress, alongside);
        let gated = validated.and_then(|(compiled, diagnostics)| {
            if diagnostics.has_errors() {
                return Err(Error::Invalid(diagnostics));
            }
            Ok((compiled, diagnostics))
        });
        (gated, other)
    }

    /// [`Unchecked::validate`] as a gate: every finding as [`Error::Invalid`] when one is an
    /// error, the warnings otherwise.
    pub fn gate(
        self,
        settings: &validate::Settings,
        progress: &dyn Progress,
    ) -> Result<(Compiled, Diagnostics)> {
        self.gate_alongside(settings, progress, |_| ()).0
    }
}

fn compile_from(
    source: &Path,
    root: &Path,
    envs: &[String],
    progress: &dyn Progress,
    ahead: Ahead<'_>,
) -> Result<Unchecked> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: &'static str| {
        timings.push((stage, clock.elapsed()));
        clock = Instant::now();
    };
    let loaded = crate::load::load(source)?;
    lap("load");
    let mut fleet = Fleet::from_source(&loaded).map_err(Error::Invalid)?;
    fleet.root = root.to_path_buf();
    check_selected(&fleet, envs)?;
    lap("model");
    let preparing = match ahead {
        Ahead::Validators {
            kubernetes_version,
            reuse,
        } => Some((kubernetes_version, reuse.is_some())),
        Ahead::Nothing => None,
    };
    let (rendering, prepared) = std::thread::scope(|scope| {
        // The schema sources and the fleet's share of the reuse key do not depend on what
        // renders: they are made meanwhile, mostly while planning leaves a core idle. A thread
        // the system refuses leaves them to validation.
        let preparing = preparing.and_then(|(version, reuse)| {
            std::thread::Builder::new()
                .name("prepare".to_owned())
                .spawn_scoped(scope, {
                    let fleet = &fleet;
                    move || validate::prepare(fleet, version, reuse)
                })
                .ok()
        });
        let rendering = render_loaded(&fleet, loaded, root, envs, progress, ahead, &mut lap);
        let prepared = preparing.map(|thread| {
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (rendering, prepared)
    });
    let Rendering {
        units,
        rendered,
        inputs,
        reuse_foreseen,
    } = rendering?;
    Ok(Unchecked {
        compiled: Compiled {
            fleet,
            units,
            rendered,
            timings,
        },
        inputs,
        reuse_foreseen,
        prepared,
    })
}

/// What [`render_loaded`] gives [`compile_from`].
struct Rendering {
    units: usize,
    rendered: Rendered,
    inputs: Option<validate::Inputs>,
    reuse_foreseen: bool,
}

/// Plans and renders the checked `fleet` loaded as `loaded`, starting what `ahead` asks for.
fn render_loaded(
    fleet: &Fleet,
    loaded: crate::load::FleetSource,
    root: &Path,
    envs: &[String],
    progress: &dyn Progress,
    ahead: Ahead<'_>,
    lap: &mut dyn FnMut(&'static str),
) -> Result<Rendering> {
    let plan = plan::plan(fleet, envs);
    lap("plan");
    let blueprints = blueprint::load_all(root)?;
    let inputs = match ahead {
        Ahead::Validators {
            kubernetes_version,
            reuse: Some(_),
        } => validate::Inputs::of(&loaded, &blueprints, envs, kubernetes_version),
        _ => None,
    };
    drop(loaded);
    let reuse_foreseen = match (ahead, &inputs) {
        (Ahead::Validators { reuse, .. }, Some(inputs)) => {
            reuse.is_some_and(|reuse| reuse.expects(inputs))
        }
        _ => false,
    };
    let warm = |kinds: BTreeSet<(String, String)>| {
        let Ahead::Validators {
            kubernetes_version, ..
        } = ahead
        else {
            return;
        };
        if kinds.is_empty() || reuse_foreseen {
            return;
        }
        let kinds: Vec<_> = kinds.into_iter().collect();
        let version = kubernetes_version
            .or(fleet.validation.kubernetes_version.as_deref())
            .map(str::to_owned);
        // A fleet this small renders fewer files than validation cuts schemas for (two to four
        // per unit): its validators are made then, from the schemas made ready here.
        let made = if plan.units.len() as u64 <= validate::CUT_SCHEMAS_UP_TO / 4 {
            validate::Ahead::Schemas
        } else {
            validate::Ahead::Validators
        };
        // Not joined: what it has made when validation asks is used, and the rest is made
        // then (or by it, meanwhile), once either way. A thread the system refuses costs
        // only the head start.
        let _ = std::thread::Builder::new()
            .name("warm".to_owned())
            .spawn(move || validate::warm(&kinds, version.as_deref(), made));
    };
    // A blueprint without `when:` applies wherever its scope has units: its kinds are known
    // before the templates are compiled, those of the others once their `when:` is decided.
    let unconditional = match ahead {
        Ahead::Nothing => BTreeSet::new(),
        Ahead::Validators { .. } => {
            let scopes: BTreeSet<_> = plan.units.iter().map(|unit| unit.scope).collect();
            render::declared_kinds(blueprints.iter().filter(|blueprint| {
                blueprint.manifest.when.is_none() && scopes.contains(&blueprint.manifest.scope)
            }))
        }
    };
    warm(unconditional.clone());
    let rendered = render::render_ahead(&plan, &blueprints, progress, |applying| {
        if let Ahead::Validators { .. } = ahead {
            let kinds = render::declared_kinds(applying.iter().copied());
            warm(kinds.difference(&unconditional).cloned().collect());
        }
    })?;
    lap("render");
    Ok(Rendering {
        units: plan.units.len(),
        rendered,
        inputs,
        reuse_foreseen,
    })
}

/// Refuses `--env` names that are not environments of the fleet.
pub fn check_selected(fleet: &Fleet, envs: &[String]) -> Result<()> {
    let mut diagnostics = Diagnostics::new();
    for env in envs {
        if !fleet.environments.contains_key(env) {
            let mut diagnostic =
                Diagnostic::error("unknown-environment", format!("no environment `{env}`"));
            let known: Vec<&str> = fleet.environments.keys().map(String::as_str).collect();
            diagnostic = match crate::diagnostic::did_you_mean(env, known.iter().copied()) {
                Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
                None => diagnostic.with_hint(format!("the environments are: {}", known.join(", "))),
            };
            diagnostics.push(diagnostic);
        }
    }
    if diagnostics.has_errors() {
        Err(Error::Invalid(diagnostics))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Quiet;

    #[test]
    fn reuse_is_foreseen_from_inputs_that_passed_validation_lately() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let store = validate::Reuse::new(dir.path());
        let compile = |envs: &[&str], store: Option<&validate::Reuse>| {
            let envs: Vec<String> = envs.iter().map(|env| (*env).to_owned()).collect();
            compile_to_validate(root, &envs, &Quiet, None, store).expect("the example compiles")
        };
        let first = compile(&[], Some(&store));
        assert!(!first.reuse_foreseen);
        // A validation that fails notes nothing.
        let settings = validate::Settings {
            reuse: Some(validate::Reuse::new(dir.path())),
            strict: true,
            overrides: validate::Overrides {
                kubernetes_version: Some("0.1".to_owned()),
                ..Default::default()
            },
        };
        assert!(first.gate(&settings, &Quiet).is_err());
        assert!(!compile(&[], Some(&store)).reuse_foreseen);

        let settings = validate::Settings {
            reuse: Some(validate::Reuse::new(dir.path())),
            ..Default::default()
        };
        compile(&[], Some(&store)).gate(&settings, &Quiet).unwrap();
        let second = compile(&[], Some(&store));
        assert!(second.reuse_foreseen);
        assert!(second.inputs.is_some());
        // Reused, the inputs are noted again.
        let settings = validate::Settings {
            reuse: Some(validate::Reuse::new(dir.path())),
            ..Default::default()
        };
        second.gate(&settings, &Quiet).unwrap();
        assert!(settings.reuse.as_ref().unwrap().reused());
        assert!(compile(&[], Some(&store)).reuse_foreseen);

        assert!(
            !compile(&["dev"], Some(&store)).reuse_foreseen,
            "other inputs"
        );
        let unstored = compile(&[], None);
        assert!(!unstored.reuse_foreseen, "no store");
        assert!(unstored.inputs.is_none());
    }
}
