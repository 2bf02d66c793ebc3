//! JSON Schemas of fleetgen's own input files, derived from the serde types that read them, so
//! that editors validate and complete the files as they are typed. They are committed under
//! `schemas/`; a test fails when they are stale.

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::load::files::{EnvironmentFile, FleetFile, TenantFile, TenantMembershipFile};

/// Directory, in the repository, of the committed schemas.
pub const DIR: &str = "schemas";

/// `(file name, schema text)` of every input file's schema.
pub fn input_schemas() -> Vec<(&'static str, String)> {
    vec![
        ("fleet.schema.json", schema::<FleetFile>("fleet/fleet.yaml")),
        (
            "tenant.schema.json",
            schema::<TenantFile>("fleet/tenants/<tenant>.yaml"),
        ),
        (
            "environment.schema.json",
            schema::<EnvironmentFile>("environments/<env>/environment.yaml"),
        ),
        (
            "tenant-membership.schema.json",
            schema::<TenantMembershipFile>("environments/<env>/tenants/<tenant>.yaml"),
        ),
    ]
}

fn schema<T: JsonSchema>(file: &str) -> String {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".to_owned(), format!("fleetgen {file}").into());
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialise");
    text.push('\n');
    text
}
