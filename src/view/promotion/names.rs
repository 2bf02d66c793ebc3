//! Reading one environment's names as another's: `dev-payments` as `qa-payments`,
//! `clusters/x/dev` as `clusters/x/qa`, so that what only differs by the environment it belongs
//! to compares equal.

use serde_json::{Map, Value};

use crate::model::Environment;

/// The renames that read an environment's names as the target environment's.
#[derive(Debug)]
pub struct Abstraction {
    pairs: Vec<(String, String)>,
}

impl Abstraction {
    /// For the source environment `from`: its branch and its name become `to`'s name.
    pub fn source(from: &Environment, to: &Environment) -> Self {
        Self::new([(&from.branch, &to.name), (&from.name, &to.name)])
    }

    /// For the target environment `to`: its branch becomes its name, as the source's does, so
    /// that two environments whose branches are named differently from them still compare.
    pub fn target(to: &Environment) -> Self {
        Self::new([(&to.branch, &to.name)])
    }

    fn new<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let pairs = pairs
            .into_iter()
            .filter(|(from, to)| from != to)
            .map(|(from, to)| (from.clone(), to.clone()))
            .collect();
        Self { pairs }
    }

    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (from, to) in &self.pairs {
            text = rename(&text, from, to);
        }
        text
    }

    /// Renames in every string and every key of `value`.
    pub fn value(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => {
                let renamed: Map<String, Value> = std::mem::take(map)
                    .into_iter()
                    .map(|(key, mut item)| {
                        self.value(&mut item);
                        (self.text(&key), item)
                    })
                    .collect();
                *map = renamed;
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Replaces `from` with `to` where it is a whole segment of a name — between separators such as
/// `-`, `.`, `/`, `:` or a space — and never inside a word (`device`, `undev`, `dev2`,
/// `dev_mode`).
fn rename(text: &str, from: &str, to: &str) -> String {
    let in_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before = None;
    while let Some(at) = rest.find(from) {
        let previous = rest[..at].chars().next_back().or(before);
        let next = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if previous.is_some_and(in_word) || next.is_some_and(in_word) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        // What stood here in the text, not what replaced it, decides the next boundary.
        before = from.chars().next_back();
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    fn environment(name: &str, branch: &str) -> Environment {
        Environment {
            name: name.to_owned(),
            branch: branch.to_owned(),
            dir: PathBuf::new(),
            clusters: BTreeMap::new(),
            tenants: BTreeMap::new(),
        }
    }

    #[test]
    fn branches_named_otherwise_read_as_the_target_name() {
        let (dev, qa) = (environment("dev", "dev"), environment("qa", "release/qa"));
        let (source, target) = (Abstraction::source(&dev, &qa), Abstraction::target(&qa));
        assert_eq!(source.text("dev"), target.text("release/qa"));
        assert_eq!(source.text("dev-redis"), target.text("qa-redis"));
        let (dev, qa) = (environment("dev", "env/dev"), environment("qa", "qa"));
        let source = Abstraction::source(&dev, &qa);
        assert_eq!(source.text("env/dev dev-redis"), "qa qa-redis");
        assert_eq!(Abstraction::target(&qa).text("qa"), "qa");
    }

    #[test]
    fn only_whole_segments_are_renamed() {
        assert_eq!(
            rename(
                "dev dev-redis clusters/x/dev dev.example.com ref:dev",
                "dev",
                "qa"
            ),
            "qa qa-redis clusters/x/qa qa.example.com ref:qa"
        );
        assert_eq!(
            rename("devices undev dev2 dev_mode kdev-x devdev", "dev", "qa"),
            "devices undev dev2 dev_mode kdev-x devdev"
        );
    }

    #[test]
    fn a_name_that_holds_another_is_renamed_as_a_whole() {
        assert_eq!(
            rename("qa-eu-flux-system qa-eu", "qa-eu", "qa"),
            "qa-flux-system qa"
        );
        assert_eq!(rename("qa-flux-system", "qa", "qa-eu"), "qa-eu-flux-system");
        // Back to back, each occurrence is judged by the original text around it.
        assert_eq!(rename("dev-dev", "dev", "qa"), "qa-qa");
    }
}
