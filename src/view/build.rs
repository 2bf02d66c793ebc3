//! `fleetgen build --cluster C`: every object Flux applies to one cluster, as one YAML stream —
//! the reviewer's `kustomize build`, following the Flux graph from the cluster's bootstrap path
//! (and, for a remote cluster, its manager's Kustomizations that point at it).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::Result;
use crate::model::Fleet;
use crate::render::Rendered;
use crate::validate::{self, parse};

/// The objects that reach `cluster`, in the order the walk meets them, each once, with the
/// namespace its build gives it; with `environment`, only those rendered on that environment's
/// branch.
pub fn stream(
    fleet: &Fleet,
    rendered: &Rendered,
    cluster: &str,
    environment: Option<&str>,
) -> Result<String> {
    let (schemas, _) = validate::load_schemas(fleet, Some(rendered))?;
    let (documents, _) = parse::parse_branches(&rendered.branches);
    let simulation = validate::graph::simulate(fleet, rendered, &documents, &schemas);
    let branch = environment
        .and_then(|env| fleet.environments.get(env))
        .map(|env| env.branch.as_str());
    let mut seen = BTreeSet::new();
    let mut out = String::new();
    for applied in simulation.clusters.get(cluster).into_iter().flatten() {
        let object = &applied.object;
        if branch.is_some_and(|branch| object.document.branch != branch) {
            continue;
        }
        let mut value = object.document.full_value();
        if let (Some(namespace), Some(metadata)) = (
            &object.namespace,
            value.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            metadata.insert("namespace".to_owned(), Value::String(namespace.to_string()));
        }
        // An object applied alike by two Kustomizations is one object on the cluster: the Flux
        // install (by bootstrap or a manager, then by the cluster's own Flux), and an
        // environment's namespace that a manager creates before the cluster's Flux declares it.
        let text = serde_norway::to_string(&value).expect("a parsed document serialises");
        if !seen.insert(text.clone()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(&text);
    }
    Ok(out)
}
