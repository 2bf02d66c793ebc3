//! Label and node selectors' expressions, wherever a built-in kind has them (a workload's or
//! a budget's selector, a NetworkPolicy's pod and namespace selectors, pod affinity, topology
//! spread, node affinity). The schemas type the operator as any string and the values as an
//! optional list; the API server takes `In` and `NotIn` with values, `Exists` and
//! `DoesNotExist` without, and, for nodes, `Gt` and `Lt` with one number.

use serde_json::{Map, Value};

use super::fields::unsupported;
use super::{Findings, items, literal};
use crate::model::names;
use crate::validate::document::escape_segment;

/// The fields that hold a label selector.
const LABEL_SELECTORS: [&str; 4] = [
    "selector",
    "labelSelector",
    "podSelector",
    "namespaceSelector",
];

const LABEL_OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];
const NODE_OPERATORS: [&str; 6] = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

/// Nesting past which the walk stops: no built-in kind holds a selector deeper.
const DEEPEST: usize = 16;

/// One step of the way from an object's root to a field.
#[derive(Clone, Copy)]
pub(super) enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// The JSON pointer `path` makes.
fn pointer(path: &[Step<'_>]) -> String {
    let mut pointer = String::new();
    for step in path {
        pointer.push('/');
        match step {
            Step::Key(key) => pointer.push_str(&escape_segment(key)),
            Step::Index(index) => pointer.push_str(&index.to_string()),
        }
    }
    pointer
}

impl Findings<'_, '_> {
    /// The selectors anywhere in `value`, which `path` leads to. The pointer of a place is
    /// made only where a selector is: most objects have none, and most of a large object's
    /// fields are not in one.
    pub(super) fn selectors<'v>(&mut self, value: &'v Value, path: &mut Vec<Step<'v>>) {
        if path.len() > DEEPEST {
            return;
        }
        match value {
            Value::Object(object) => {
                for (key, inner) in object {
                    path.push(Step::Key(key));
                    match (key.as_str(), inner) {
                        (selector, Value::Object(selector_fields))
                            if LABEL_SELECTORS.contains(&selector) =>
                        {
                            let here = pointer(path);
                            self.expressions(&here, selector_fields, "matchExpressions", false);
                        }
                        ("nodeSelectorTerms", Value::Array(terms)) => {
                            let here = pointer(path);
                            for (index, term) in terms.iter().enumerate() {
                                if let Some(term) = term.as_object() {
                                    self.node_term(&format!("{here}/{index}"), term);
                                }
                            }
                        }
                        ("preference", Value::Object(term)) => {
                            self.node_term(&pointer(path), term);
                        }
                        _ => self.selectors(inner, path),
                    }
                    path.pop();
                }
            }
            Value::Array(list) => {
                for (index, inner) in list.iter().enumerate() {
                    path.push(Step::Index(index));
                    self.selectors(inner, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// A node selector term at `at`: its expressions on labels and on fields.
    fn node_term(&mut self, at: &str, term: &Map<String, Value>) {
        self.expressions(at, term, "matchExpressions", true);
        self.expressions(at, term, "matchFields", true);
    }

    /// The expressions at `list` of `selector` (at `at`); of a node selector when `node`.
    fn expressions(&mut self, at: &str, selector: &Map<String, Value>, list: &str, node: bool) {
        let operators: &[&str] = match node {
            true => &NODE_OPERATORS,
            false => &LABEL_OPERATORS,
        };
        for (index, expression) in items(selector, list) {
            let here = format!("{at}/{list}/{index}");
            if !node
                && let Some(key) = literal(expression, "key")
                && let Err(problem) = names::check_qualified_name(key)
            {
                self.error(
                    &format!("{here}/key"),
                    format!("not a valid label key: {problem}"),
                );
            }
            let Some(operator) = literal(expression, "operator") else {
                continue;
            };
            let values = expression.get("values").and_then(Value::as_array);
            let count = values.map_or(0, Vec::len);
            match operator {
                "In" | "NotIn" if count == 0 => self.error(
                    &here,
                    format!("`{operator}` needs `values` to compare the label with"),
                ),
                "Exists" | "DoesNotExist" if count > 0 => self.error(
                    &format!("{here}/values"),
                    format!("`{operator}` takes no `values`"),
                ),
                "Gt" | "Lt" if node => {
                    let texts: Vec<&str> = values
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let number = matches!(texts[..], [one] if one.parse::<i64>().is_ok());
                    if !number && !texts.iter().any(|text| super::substituted(text)) {
                        self.error(
                            &here,
                            format!("`{operator}` compares with exactly one value, a whole number"),
                        );
                    }
                }
                _ if !operators.contains(&operator) => self.error(
                    &format!("{here}/operator"),
                    unsupported(operator, operators),
                ),
                _ => {}
            }
        }
    }
}
