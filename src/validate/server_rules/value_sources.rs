//! Where a container's environment and a pod's volumes come from. The OpenAPI document makes
//! every source of an environment variable, of an `envFrom` entry and of a volume an optional
//! field, so `value` beside `valueFrom`, or `secret` beside `configMap` in one volume, passes
//! every schema; the API server takes one source each, and refuses the object otherwise.

use serde_json::{Map, Value};

use super::fields::listed;
use super::{CONTAINER_LISTS, Findings, items, literal};
use crate::model::names;

/// Where `valueFrom` may take a variable's value from: one of them. (`fileKeyRef` is newer
/// than some Kubernetes minors; where the schema does not know it, the schema check refuses it.)
const VALUE_FROM: [&str; 5] = [
    "fieldRef",
    "resourceFieldRef",
    "configMapKeyRef",
    "secretKeyRef",
    "fileKeyRef",
];

const ENV_FROM: [&str; 2] = ["configMapRef", "secretRef"];

impl Findings<'_, '_> {
    /// The environment of each container of the pod spec at `at`, and the pod's volumes.
    pub(super) fn value_sources(&mut self, at: &str, spec: &Map<String, Value>) {
        for list in CONTAINER_LISTS {
            for (index, container) in items(spec, list) {
                let here = format!("{at}/{list}/{index}");
                for (variable, env) in items(container, "env") {
                    self.variable(&format!("{here}/env/{variable}"), env);
                }
                for (entry, from) in items(container, "envFrom") {
                    self.env_from(&format!("{here}/envFrom/{entry}"), from);
                }
            }
        }
        for (index, volume) in items(spec, "volumes") {
            let here = format!("{at}/volumes/{index}");
            // A volume is its name and its source, which the API server defaults to
            // `emptyDir` when none is given.
            let given: Vec<&str> = present(volume).filter(|field| *field != "name").collect();
            if given.len() > 1 {
                let message = format!(
                    "a volume has one source; this one names {}",
                    listed(&given, "and")
                );
                self.error(&here, message);
            }
            let projections = volume
                .get("projected")
                .and_then(Value::as_object)
                .map(|projected| items(projected, "sources"));
            for (source, projection) in projections.into_iter().flatten() {
                let given: Vec<&str> = present(projection).collect();
                if given.len() > 1 {
                    let message = format!(
                        "each source of a projected volume projects one thing; this one names {}",
                        listed(&given, "and")
                    );
                    self.error(&format!("{here}/projected/sources/{source}"), message);
                }
            }
        }
    }

    /// An environment variable at `here`: a name, and a `value` or one `valueFrom` source.
    fn variable(&mut self, here: &str, env: &Map<String, Value>) {
        if let Some(name) = literal(env, "name") {
            self.variable_name(&format!("{here}/name"), name);
        }
        let Some(from) = env.get("valueFrom").and_then(Value::as_object) else {
            return;
        };
        let at = format!("{here}/valueFrom");
        let sources: Vec<&str> = present(from)
            .filter(|field| VALUE_FROM.contains(field))
            .collect();
        let has_value = env
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty());
        match sources.len() {
            0 => self.error(
                &at,
                format!(
                    "`valueFrom` takes the value from one of {}; this one names none",
                    listed(&VALUE_FROM, "or")
                ),
            ),
            _ if has_value => self.error(
                &at,
                "a variable takes its value from `value` or from `valueFrom`, not both".to_owned(),
            ),
            1 => {}
            _ => self.error(
                &at,
                format!(
                    "`valueFrom` takes the value from one source; this one names {}",
                    listed(&sources, "and")
                ),
            ),
        }
        for selector in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(reference) = from.get(selector).and_then(Value::as_object) {
                self.key_selector(&format!("{at}/{selector}"), reference);
            }
        }
    }

    /// An `envFrom` entry at `here`: one ConfigMap or Secret, named, and a valid prefix.
    fn env_from(&mut self, here: &str, from: &Map<String, Value>) {
        if let Some(prefix) = literal(from, "prefix")
            && !prefix.is_empty()
        {
            self.variable_name(&format!("{here}/prefix"), prefix);
        }
        let sources: Vec<&str> = present(from)
            .filter(|field| ENV_FROM.contains(field))
            .collect();
        match sources.len() {
            1 => {}
            0 => self.error(
                here,
                "`envFrom` takes variables from a `configMapRef` or a `secretRef`; this entry names neither"
                    .to_owned(),
            ),
            _ => self.error(
                here,
                "`envFrom` takes variables from one ConfigMap or Secret per entry; this entry names both"
                    .to_owned(),
            ),
        }
        for source in ENV_FROM {
            if let Some(reference) = from.get(source).and_then(Value::as_object) {
                self.object_name(&format!("{here}/{source}"), reference);
            }
        }
    }

    /// A ConfigMap's or Secret's key a variable takes its value from, at `here`: the object
    /// named, and a key it may hold.
    fn key_selector(&mut self, here: &str, reference: &Map<String, Value>) {
        self.object_name(here, reference);
        if let Some(key) = literal(reference, "key")
            && let Err(problem) = names::check_data_key(key)
        {
            self.error(
                &format!("{here}/key"),
                format!("not a valid key: {problem}"),
            );
        }
    }

    /// The `name` of the ConfigMap or Secret referred to at `here`, which the API server
    /// requires (though the schema makes it optional) and checks as the object's own name.
    fn object_name(&mut self, here: &str, reference: &Map<String, Value>) {
        match reference.get("name") {
            None | Some(Value::Null) => {
                self.error(here, "the ConfigMap or Secret needs a `name`".to_owned());
            }
            Some(Value::String(_)) => {
                if let Some(name) = literal(reference, "name")
                    && let Err(problem) = names::check_subdomain(name)
                {
                    self.error(
                        &format!("{here}/name"),
                        format!("not a valid name: {problem}"),
                    );
                }
            }
            // Of another type: the schema check says so.
            Some(_) => {}
        }
    }

    /// An environment variable's name, or the prefix `envFrom` gives names, at `pointer`.
    fn variable_name(&mut self, pointer: &str, name: &str) {
        if let Err(problem) = check_variable_name(name) {
            self.error(pointer, format!("not a valid variable name: {problem}"));
        }
    }
}

/// The API server's relaxed rule for variable names (the default since Kubernetes 1.32):
/// printable ASCII other than `=`.
fn check_variable_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    match name.chars().find(|c| !matches!(c, ' '..='~') || *c == '=') {
        Some(bad) => Err(format!(
            "it contains {}; use printable ASCII other than `=`",
            names::describe_char(bad)
        )),
        None => Ok(()),
    }
}

/// The fields of `object` that are given: present and not null.
fn present(object: &Map<String, Value>) -> impl Iterator<Item = &str> {
    object
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(field, _)| field.as_str())
}
