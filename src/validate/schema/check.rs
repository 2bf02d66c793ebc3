//! Validating one document: finding its schema, running the validator, and turning what it
//! reports into findings at the fields they concern.

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::compile::OBJECT_META;
use super::cut::Cuts;
use super::lookup::Lookup;
use super::{KUSTOMIZE_CONFIG_GROUPS, Schemas, is_builtin_group};
use crate::diagnostic::Diagnostic;
use crate::validate::document::{Document, escape_segment};
use crate::validate::strict::{QUANTITY_PATTERN, drop_nulls, prune_nulls};

/// Patterns of values people write by hand, said in words rather than as the expression:
/// the pattern, what a value matching it is, and a hint.
const KNOWN_PATTERNS: [(&str, &str, &str); 3] = [
    (
        QUANTITY_PATTERN,
        "a quantity",
        "a quantity is a number with an optional suffix: `500m`, `2`, `1.5`, `64Mi`, `10G`",
    ),
    (
        r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        "a duration",
        "a duration is numbers with units `ms`, `s`, `m` or `h`: `30s`, `5m`, `1h30m`",
    ),
    (
        r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$",
        "a duration",
        "a duration here is numbers with units `ms`, `s` or `m`: `30s`, `5m`, `1m30s`",
    ),
];

/// Findings per document are capped so that one badly broken object does not bury the rest.
const MAX_ERRORS_PER_DOCUMENT: usize = 8;

impl Schemas {
    /// Validates one rendered document; `strict` makes unknown kinds errors.
    pub fn check(&self, document: &Document, strict: bool) -> Vec<Diagnostic> {
        self.check_value(document, document.full_value(), strict)
    }

    /// [`Schemas::check`] of a document whose whole value is `instance`, consumed: nulls are
    /// dropped from it as the API server would, without a copy.
    pub fn check_value(
        &self,
        document: &Document,
        instance: Value,
        strict: bool,
    ) -> Vec<Diagnostic> {
        self.check_value_with(document, instance, strict, None)
    }

    /// [`Schemas::check_value`], with validators cut to the documents of one validation
    /// (`cuts`) for the schemas whose whole validators have not been made: what a small fleet's
    /// validation does, which checks a few documents of each kind. The findings are the same.
    pub fn check_value_with(
        &self,
        document: &Document,
        mut instance: Value,
        strict: bool,
        cuts: Option<&Cuts>,
    ) -> Vec<Diagnostic> {
        let (Some((group, version)), Some(kind)) = (document.group_version(), document.kind())
        else {
            return Vec::new();
        };
        if KUSTOMIZE_CONFIG_GROUPS.contains(&group) {
            return Vec::new();
        }
        let what = document.describe();
        let at_api_version = || document.location("/apiVersion");
        match self.lookup(group, version, kind) {
            Lookup::Unknown => {
                // The message names the kind only: findings for every object of a kind merge
                // into one (see `merge_unknown_kinds`).
                let message = format!(
                    "no schema for {} {kind}",
                    document.api_version().unwrap_or_default()
                );
                let diagnostic = if strict {
                    Diagnostic::error("unknown-kind", message)
                } else {
                    Diagnostic::warning("unknown-kind", message)
                };
                let hint = if is_builtin_group(group) {
                    "a built-in kind: name Kubernetes definitions that have it with `validation.kubernetes` (or pick another `validation.kubernetesVersion`) in fleet/fleet.yaml"
                } else {
                    "a custom resource: add its CustomResourceDefinition to `validation.crds` in fleet/fleet.yaml, or commit it in the fleet source"
                };
                vec![diagnostic.at(at_api_version()).with_hint(hint)]
            }
            Lookup::NotServed(message) | Lookup::NoSuchKind(message) => {
                vec![Diagnostic::error("schema", format!("{what}: {message}")).at(at_api_version())]
            }
            Lookup::Crd(crd) => {
                let Some(schema) = crd.schema.schema() else {
                    return vec![
                        Diagnostic::warning(
                            "unknown-kind",
                            format!(
                                "{what}: the CRD in {} has no openAPIV3Schema; not checked",
                                crd.source.origin
                            ),
                        )
                        .at(at_api_version()),
                    ];
                };
                let mut findings = Vec::new();
                if crd.deprecated {
                    findings.push(
                        Diagnostic::warning(
                            "deprecated-api",
                            format!(
                                "{what}: {} {kind} is deprecated",
                                document.api_version().unwrap_or_default()
                            ),
                        )
                        .at(at_api_version()),
                    );
                }
                prune_nulls(&mut instance, schema);
                let validator = crd.schema.validator_for(schema, &instance, cuts);
                findings.extend(self.run(&validator, &instance, document, &what, ""));
                if let Some(metadata) = instance.get("metadata")
                    && let Some(core) = self.cores.last()
                {
                    // Against ObjectMeta of the latest Kubernetes definitions.
                    let meta_validator = core.validator_for(OBJECT_META, metadata, cuts);
                    findings.extend(self.run(
                        &meta_validator,
                        metadata,
                        document,
                        &what,
                        "/metadata",
                    ));
                }
                findings
            }
            Lookup::Core(core, name) => {
                drop_nulls(&mut instance);
                let validator = core.validator_for(name, &instance, cuts);
                self.run(&validator, &instance, document, &what, "")
            }
        }
    }

    fn run(
        &self,
        validator: &std::result::Result<Validator, String>,
        instance: &Value,
        document: &Document,
        what: &str,
        prefix: &str,
    ) -> Vec<Diagnostic> {
        let validator = match validator {
            Ok(validator) => validator,
            Err(problem) => {
                return vec![
                    Diagnostic::warning(
                        "schema-source",
                        format!(
                            "{what}: its schema does not compile, so it was not checked: {problem}"
                        ),
                    )
                    .at(document.location("/apiVersion")),
                ];
            }
        };
        let mut findings = Vec::new();
        for error in validator.iter_errors(instance) {
            let mut pointer = format!("{prefix}{}", error.instance_path().as_str());
            if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind() {
                // Point at the unexpected field itself: that is the line to fix.
                if let [field] = unexpected.as_slice() {
                    pointer = format!("{pointer}/{}", escape_segment(field));
                    findings.push(
                        Diagnostic::error("schema", format!("{what}: {pointer}: unknown field `{}`", crate::diagnostic::truncate(field)))
                            .at(document.location(&pointer))
                            .with_hint("the API has no such field in this version; remove it or move it to where the schema has it"),
                    );
                    continue;
                }
            }
            if let ValidationErrorKind::Pattern { pattern } = error.kind()
                && let Some((_, kind_of_value, hint)) =
                    KNOWN_PATTERNS.iter().find(|(known, ..)| known == pattern)
            {
                let value = error.instance().as_str().unwrap_or_default();
                findings.push(
                    Diagnostic::error(
                        "schema",
                        format!(
                            "{what}: {pointer}: `{}` is not {kind_of_value}",
                            crate::diagnostic::truncate(value)
                        ),
                    )
                    .at(document.location(&pointer))
                    .with_hint(*hint),
                );
                continue;
            }
            let mut message = error.to_string();
            if message.len() > 240 {
                let cut = (0..=240)
                    .rev()
                    .find(|&index| message.is_char_boundary(index))
                    .unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            let shown = if pointer.is_empty() {
                "(root)"
            } else {
                pointer.as_str()
            };
            findings.push(
                Diagnostic::error("schema", format!("{what}: {shown}: {message}"))
                    .at(document.location(&pointer)),
            );
            if findings.len() >= MAX_ERRORS_PER_DOCUMENT {
                break;
            }
        }
        findings
    }
}
