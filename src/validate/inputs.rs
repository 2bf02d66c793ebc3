//! What a rendering starts from, as a digest known before anything is rendered: a run whose
//! inputs equal those of a run that validated will most likely reuse that run's findings,
//! and then the validators made ahead while rendering are work thrown away, on the cores
//! rendering needs. On the example fleet that work costs more than the whole validation it
//! would have saved.
//!
//! The digest only foresees reuse; it never decides it. It leaves out the schemas and
//! everything rendering makes, which the [`Key`](super::reuse::Key) holds: a wrong guess
//! costs the validators' head start, never a finding.

use sha2::Digest;

use super::reuse::{Framed, program};
use crate::load::FleetSource;
use crate::render::blueprint::Blueprint;

/// Bumped whenever what goes into the digest changes shape.
const FORMAT: &str = "fleetgen rendering inputs 1";

/// A digest of the program, the fleet source's files, the blueprints, the environments
/// rendered and the Kubernetes minor asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs(pub(super) [u8; 32]);

impl Inputs {
    /// `None` when the program's own file cannot be looked at.
    pub fn of(
        source: &FleetSource,
        blueprints: &[Blueprint],
        envs: &[String],
        kubernetes_version: Option<&str>,
    ) -> Option<Self> {
        let mut digest = Framed::default();
        digest.part(FORMAT.as_bytes());
        digest.part(&program()?);
        digest.part(source.root.as_os_str().as_encoded_bytes());
        for file in source.files() {
            digest.part(file.path.as_os_str().as_encoded_bytes());
            digest.part(file.text.as_bytes());
        }
        digest.part(&(blueprints.len() as u64).to_le_bytes());
        for blueprint in blueprints {
            digest.part(blueprint.name.as_bytes());
            digest.part(blueprint.location.as_os_str().as_encoded_bytes());
            digest.part(blueprint.manifest_source.as_bytes());
            digest.part(&(blueprint.files.len() as u64).to_le_bytes());
            for (path, text) in &blueprint.files {
                digest.part(path.as_bytes());
                digest.part(text.as_bytes());
            }
        }
        digest.part(&(envs.len() as u64).to_le_bytes());
        for env in envs {
            digest.part(env.as_bytes());
        }
        digest.part(kubernetes_version.unwrap_or_default().as_bytes());
        Some(Self(digest.0.finalize().into()))
    }

    pub(super) fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::render::blueprint;

    fn example() -> (FleetSource, Vec<Blueprint>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let source = crate::load::load(root).expect("the example fleet loads");
        let blueprints = blueprint::load_all(root).expect("its blueprints load");
        (source, blueprints)
    }

    fn inputs(
        source: &FleetSource,
        blueprints: &[Blueprint],
        envs: &[&str],
        version: Option<&str>,
    ) -> Inputs {
        let envs: Vec<String> = envs.iter().map(|env| (*env).to_owned()).collect();
        Inputs::of(source, blueprints, &envs, version).expect("the test binary can be looked at")
    }

    #[test]
    fn equal_inputs_give_one_digest_and_every_change_another() {
        let (source, blueprints) = example();
        let first = inputs(&source, &blueprints, &[], None);
        let (again, again_blueprints) = example();
        assert_eq!(inputs(&again, &again_blueprints, &[], None), first);

        let mut changed = vec![
            (
                "an environment",
                inputs(&source, &blueprints, &["dev"], None),
            ),
            (
                "a Kubernetes minor",
                inputs(&source, &blueprints, &[], Some("1.33")),
            ),
        ];
        let mut tenant = source.clone();
        tenant.environments[0].tenants[0].1.source.text.push('\n');
        changed.push((
            "an environment's tenant file",
            inputs(&tenant, &blueprints, &[], None),
        ));
        let mut cluster = source.clone();
        cluster.clusters[0].source.text.push('\n');
        changed.push(("a cluster file", inputs(&cluster, &blueprints, &[], None)));
        let mut fleet = source.clone();
        fleet.fleet.source.text.push('\n');
        changed.push(("fleet.yaml", inputs(&fleet, &blueprints, &[], None)));
        let mut template = blueprints.clone();
        template[0].files[0].1.push('\n');
        changed.push(("a template", inputs(&source, &template, &[], None)));
        let mut manifest = blueprints.clone();
        manifest[0].manifest_source.push('\n');
        changed.push(("a blueprint.yaml", inputs(&source, &manifest, &[], None)));
        let mut fewer = blueprints.clone();
        fewer.pop();
        changed.push(("a blueprint less", inputs(&source, &fewer, &[], None)));
        // Parts are framed: text moved from one file to the next is another input.
        let mut moved = source.clone();
        let last = moved.clusters[0].source.text.pop().unwrap();
        moved.clusters[1].source.text.insert(0, last);
        changed.push((
            "text moved between files",
            inputs(&moved, &blueprints, &[], None),
        ));

        for (what, digest) in &changed {
            assert_ne!(*digest, first, "{what}");
        }
        for (i, (what, digest)) in changed.iter().enumerate() {
            for (other, other_digest) in &changed[i + 1..] {
                assert_ne!(digest, other_digest, "{what} and {other}");
            }
        }
    }
}
