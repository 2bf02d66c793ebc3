//! A kustomization file's fields, as kustomize reads them: it refuses a field it does not know
//! (`resource:` for `resources:`), and the whole build with it, where the rest of validation
//! would only see the files the field meant to list reached by nothing.

use serde_json::Value;

use super::document::{Document, escape_segment};
use crate::diagnostic::{Diagnostic, did_you_mean, truncate};

const RULE: &str = "kustomization";

/// The names kustomize builds a directory from, in the order it looks for them.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every field of kustomize's `Kustomization`, deprecated ones included: kustomize still reads
/// those.
const FIELDS: [&str; 35] = [
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "inventory",
    "buildMetadata",
];

/// Whether `path` names a file kustomize builds its directory from.
pub fn is_kustomization_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    FILE_NAMES.contains(&name)
}

/// The findings of one document of a kustomization file, whose whole value is `value`.
pub fn check(document: &Document, value: &Value) -> Vec<Diagnostic> {
    let Some(fields) = value.as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for key in fields.keys() {
        // kustomize decodes with Go's encoding/json, which matches field names in any case.
        if FIELDS.iter().any(|field| field.eq_ignore_ascii_case(key)) {
            continue;
        }
        let mut finding = Diagnostic::error(
            RULE,
            format!(
                "unknown field `{}` in a kustomization file: kustomize refuses the file",
                truncate(key)
            ),
        )
        .at(document.location(&format!("/{}", escape_segment(key))));
        if let Some(meant) = did_you_mean(key, FIELDS) {
            finding = finding.with_hint(format!("did you mean `{meant}`?"));
        }
        found.push(finding);
    }
    let text = |field: &str| fields.get(field).and_then(Value::as_str);
    let kind = text("kind");
    let wanted = match kind {
        None | Some("Kustomization") => "kustomize.config.k8s.io/v1beta1",
        Some("Component") => "kustomize.config.k8s.io/v1alpha1",
        Some(other) => {
            found.push(
                Diagnostic::error(
                    RULE,
                    format!(
                        "a kustomization file's kind is Kustomization or Component, not `{}`",
                        truncate(other)
                    ),
                )
                .at(document.location("/kind")),
            );
            return found;
        }
    };
    if let Some(version) = text("apiVersion")
        && version != wanted
    {
        found.push(
            Diagnostic::error(
                RULE,
                format!(
                    "a {}'s apiVersion is {wanted}, not `{}`",
                    kind.unwrap_or("Kustomization"),
                    truncate(version)
                ),
            )
            .at(document.location("/apiVersion")),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse::parse_file;

    /// `(line, message, hint)` of each finding in `text`, read as a kustomization file.
    fn found(text: &str) -> Vec<(usize, String, Option<String>)> {
        let document = parse_file("main", "apps/kustomization.yaml", text.as_bytes())
            .unwrap()
            .remove(0);
        check(&document, &document.full_value())
            .into_iter()
            .map(|finding| {
                assert_eq!(finding.rule, RULE);
                let line = finding.location.unwrap().line;
                (line, finding.message, finding.hint)
            })
            .collect()
    }

    #[test]
    fn the_fields_kustomize_reads_pass() {
        for text in [
            "resources: [a.yaml]\n",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: a\nresources: []\npatches: []\nbases: []\nopenapi: {path: s.json}\n",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages: []\n",
            // Go's JSON decoder matches field names in any case.
            "Resources: [a.yaml]\nNAMESPACE: b\n",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn what_kustomize_refuses_is_found_at_its_line() {
        assert_eq!(
            found(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - a.yaml\nnamePrefx: x-\n"
            ),
            [
                (
                    5,
                    "unknown field `namePrefx` in a kustomization file: kustomize refuses the file"
                        .to_owned(),
                    Some("did you mean `namePrefix`?".to_owned())
                ),
                (
                    3,
                    "unknown field `resource` in a kustomization file: kustomize refuses the file"
                        .to_owned(),
                    Some("did you mean `resources`?".to_owned())
                ),
            ]
        );
        let said: Vec<(usize, String)> = [
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\n",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n",
            "kind: Deployment\n",
        ]
        .into_iter()
        .flat_map(found)
        .map(|(line, message, _)| (line, message))
        .collect();
        assert_eq!(
            said,
            [
                (1, "a Component's apiVersion is kustomize.config.k8s.io/v1alpha1, not `kustomize.config.k8s.io/v1beta1`".to_owned()),
                (1, "a Kustomization's apiVersion is kustomize.config.k8s.io/v1beta1, not `kustomize.toolkit.fluxcd.io/v1`".to_owned()),
                (1, "a kustomization file's kind is Kustomization or Component, not `Deployment`".to_owned()),
            ]
        );
        // A hostile key is quoted on one line.
        let findings = found("\"a\\n---\\nkind: Secret\": 1\n");
        assert!(
            findings[0].1.contains("`a\\n---\\nkind: Secret`"),
            "{findings:?}"
        );
    }

    #[test]
    fn kustomization_files_are_known_by_name() {
        assert!(is_kustomization_file("infra/kustomization.yaml"));
        assert!(is_kustomization_file("Kustomization"));
        assert!(!is_kustomization_file("infra/my-kustomization.yaml"));
        assert!(!is_kustomization_file("kustomization.yaml/x.yaml"));
    }
}
