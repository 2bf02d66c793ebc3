//! Key values with their provenance. Layers, lowest first: fleetgen's default, `defaults:` in
//! `fleet/fleet.yaml`, the cluster file, the environment's `values:`, the membership file.
//! `fleetgen explain` prints the winning layer of every key.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::diagnostic::Location;
use crate::model::keys::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    Default,
    FleetDefault,
    Cluster,
    Environment,
    Membership,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Default => "default",
            Layer::FleetDefault => "fleet default",
            Layer::Cluster => "cluster file",
            Layer::Environment => "environment",
            Layer::Membership => "environment membership",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    pub value: Value,
    pub layer: Layer,
    /// Where the value was written; `None` for fleetgen's built-in defaults.
    pub location: Option<Location>,
}

/// The resolved keys of one cluster (in one environment, once environment layers are applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Values(BTreeMap<String, Resolved>);

impl Values {
    pub fn set(&mut self, key: &str, resolved: Resolved) {
        self.0.insert(key.to_owned(), resolved);
    }

    pub fn get(&self, key: &str) -> Option<&Resolved> {
        self.0.get(key)
    }

    pub fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).map(|resolved| &resolved.value)
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.value(key).and_then(Value::as_str)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|key, _| keep(key));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Resolved)> {
        self.0
            .iter()
            .map(|(key, resolved)| (key.as_str(), resolved))
    }
}
