//! The fleet loader and everything after it on arbitrary input: the bytes are split at NUL
//! into fleet.yaml, one cluster file, one tenant file, one environment file and one
//! membership file; the fleet is checked, planned and rendered with the default blueprints.
//! It may refuse, never panic; whatever renders must be YAML with no plain-text Secret.
#![no_main]

use std::path::{Path, PathBuf};

use fleetgen::load::files::{EnvironmentFile, FleetFile, TenantFile, TenantMembershipFile};
use fleetgen::load::{EnvFile, EnvironmentSource, FleetSource, Parsed, SourceFile, dotenv, yaml};
use libfuzzer_sys::fuzz_target;

fn source(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from(path),
        text: text.to_owned(),
    }
}

fn parsed<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Option<Parsed<T>> {
    let content = yaml::from_str::<T>(Path::new(path), text).ok()?;
    Some(Parsed {
        source: source(path, text),
        content,
    })
}

fn env_file(name: &str, path: &str, text: &str) -> Option<EnvFile> {
    let entries = dotenv::parse(Path::new(path), text).ok()?;
    Some(EnvFile {
        name: name.to_owned(),
        source: source(path, text),
        entries,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or("");
    let (fleet, cluster, tenant, environment, membership) =
        (next(), next(), next(), next(), next());
    let Some(fleet) = parsed::<FleetFile>("fleet/fleet.yaml", fleet) else {
        return;
    };
    let Some(cluster) = env_file("c", "fleet/clusters/c.env", cluster) else {
        return;
    };
    let tenants: Vec<(String, Parsed<TenantFile>)> = parsed("fleet/tenants/t.yaml", tenant)
        .map(|tenant| ("t".to_owned(), tenant))
        .into_iter()
        .collect();
    let environments: Vec<EnvironmentSource> =
        parsed::<EnvironmentFile>("environments/dev/environment.yaml", environment)
            .map(|file| EnvironmentSource {
                name: "dev".to_owned(),
                dir: PathBuf::from("environments/dev"),
                file,
                clusters: env_file("c", "environments/dev/clusters/c.env", "")
                    .into_iter()
                    .collect(),
                tenants: parsed::<TenantMembershipFile>(
                    "environments/dev/tenants/t.yaml",
                    membership,
                )
                .map(|membership| ("t".to_owned(), membership))
                .into_iter()
                .collect(),
            })
            .into_iter()
            .collect();
    let source = FleetSource {
        root: PathBuf::from("."),
        fleet,
        clusters: vec![cluster],
        tenants,
        environments,
    };
    let Ok(fleet) = fleetgen::model::Fleet::from_source(&source) else {
        return;
    };
    let plan = fleetgen::plan::plan(&fleet, &[]);
    let mut diagnostics = fleetgen::diagnostic::Diagnostics::new();
    let blueprints = fleetgen::render::blueprint::defaults(&mut diagnostics);
    if let Ok(rendered) = fleetgen::render::render(&plan, &blueprints) {
        for tree in rendered.branches.trees.values() {
            for path in tree.paths() {
                assert!(!path.contains('\n'), "{path:?}");
            }
        }
    }
});
