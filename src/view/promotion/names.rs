//! Reading one environment's names as another's: `dev-payments` as `qa-payments`,
//! `clusters/x/dev` as `clusters/x/qa`, so that what only differs by the environment it belongs
//! to compares equal.

use serde_json::{Map, Value};

use crate::model::Environment;

/// The renames that read `from`'s objects as `to`'s: its name, and its branch where that is
/// another name.
#[derive(Debug)]
pub struct Abstraction {
    pairs: Vec<(String, String)>,
}

impl Abstraction {
    pub fn new(from: &Environment, to: &Environment) -> Self {
        let mut pairs = vec![(from.name.clone(), to.name.clone())];
        if from.branch != from.name || to.branch != to.name {
            pairs.push((from.branch.clone(), to.branch.clone()));
        }
        Self { pairs }
    }

    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (from, to) in &self.pairs {
            if from != to {
                text = rename(&text, from, to);
            }
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
    use super::*;

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
