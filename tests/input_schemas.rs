//! The JSON Schemas of the input files under `schemas/` are what the Rust types say today, and
//! they accept the example fleet's files. `SNAPSHOTS=overwrite cargo test --test input_schemas`
//! rewrites them.

use std::path::PathBuf;

use fleetgen::validate::input_schema;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schemas_are_current() {
    let dir = repo().join(input_schema::DIR);
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|value| value == "overwrite");
    let mut stale = Vec::new();
    for (name, generated) in input_schema::input_schemas() {
        let path = dir.join(name);
        if overwrite {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas {stale:?}: run `SNAPSHOTS=overwrite cargo test --test input_schemas`"
    );
}

fn schema_validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join(input_schema::DIR).join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn yaml(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_norway::from_str::<Option<serde_json::Value>>(&text)
        .unwrap()
        .unwrap_or_else(|| serde_json::json!({}))
}

#[test]
fn example_fleet_files_match_their_schemas() {
    let cases = [
        ("fleet.schema.json", "fleet/fleet.yaml"),
        ("tenant.schema.json", "fleet/tenants/kaizentm.yaml"),
        (
            "environment.schema.json",
            "environments/dev/environment.yaml",
        ),
        (
            "tenant-membership.schema.json",
            "environments/dev/tenants/kaizentm.yaml",
        ),
    ];
    for (schema, file) in cases {
        let validator = schema_validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(&yaml(file))
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

#[test]
fn schemas_reject_unknown_keys_and_wrong_types() {
    let validator = schema_validator("fleet.schema.json");
    assert!(
        !validator.is_valid(&serde_json::json!({"repo": {"url": "https://x", "branch": "main"}}))
    );
    assert!(!validator.is_valid(&serde_json::json!({"repo": {"url": 3}})));
    assert!(validator.is_valid(
        &serde_json::json!({"repo": {"url": "https://x"}, "defaults": {"WORKER_MACHINE_COUNT": 3}})
    ));
    let membership = schema_validator("tenant-membership.schema.json");
    assert!(!membership.is_valid(&serde_json::json!({"apps": "web"})));
}
