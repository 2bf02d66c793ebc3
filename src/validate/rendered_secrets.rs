//! Secrets never enter the tree: a rendered `Secret` that carries `data` or `stringData` must
//! be SOPS-encrypted (SOPS adds a top-level `sops:` key to the documents it encrypts, and
//! kustomize-controller decrypts them). Anything else would put credentials into Git, where
//! everyone who can read the fleet repo reads them, for good.

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::validate::Document;

const RULE: &str = "plaintext-secret";
const HINT: &str = "encrypt the Secret with SOPS (Flux decrypts it), or have the operator create it on the cluster; `fleetgen secrets` lists the ones the fleet needs";

/// The field of a plain-text Secret (`data` or `stringData`), or `None` for any other
/// document.
pub fn plaintext_field(document: &serde_norway::Value) -> Option<&'static str> {
    let field = |name: &str| document.get(name);
    let is_secret = field("kind").and_then(serde_norway::Value::as_str) == Some("Secret")
        && field("apiVersion").and_then(serde_norway::Value::as_str) == Some("v1");
    if !is_secret || field("sops").is_some() {
        return None;
    }
    ["stringData", "data"].into_iter().find(|name| {
        field(name).is_some_and(|value| match value {
            serde_norway::Value::Null => false,
            serde_norway::Value::Mapping(entries) => {
                !entries.is_empty() && !entries.values().all(is_substituted)
            }
            _ => true,
        })
    })
}

/// A value that is nothing but one Flux post-build variable (`${name}`) holds no secret text:
/// the credential stays in a Secret on the cluster (`postBuild.substituteFrom`) and meets the
/// template only when kustomize-controller applies it. A value with anything else in it, even
/// beside a variable, counts as plain text. (A credential written into a Kustomization's inline
/// `postBuild.substitute` would be in the repo whatever this check says; fleetgen's blueprints
/// never do that.)
fn is_substituted(value: &serde_norway::Value) -> bool {
    let Some(name) = value
        .as_str()
        .and_then(|text| text.strip_prefix("${"))
        .and_then(|text| text.strip_suffix('}'))
    else {
        return false;
    };
    // Flux's variable names: `^[_[:alpha:]][_[:alpha:][:digit:]]*$`.
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|rest| rest == '_' || rest.is_ascii_alphanumeric())
}

/// The finding for a plain-text Secret in rendered file `file`.
pub fn finding(file: &str, name: Option<&str>, field: &str, location: Location) -> Diagnostic {
    Diagnostic::error(
        RULE,
        format!(
            "Secret {} in {file} carries `{field}` in plain text",
            name.unwrap_or("(unnamed)")
        ),
    )
    .at(location)
    .with_hint(HINT)
}

/// Checks parsed rendered documents (what `check` and `validate-tree` see).
pub fn check(documents: &[Document]) -> Diagnostics {
    documents
        .iter()
        .filter(|document| document.kind() == Some("Secret"))
        .filter_map(|document| {
            let value = serde_norway::to_value(document.full_value()).ok()?;
            let field = plaintext_field(&value)?;
            Some(finding(
                &document.file(),
                document.name(),
                field,
                Location::new(document.file(), document.first_line, 1),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> Option<&'static str> {
        plaintext_field(&serde_norway::from_str(text).unwrap())
    }

    #[test]
    fn plain_secrets_are_found_and_sops_ones_pass() {
        let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
        assert_eq!(
            field(&format!("{secret}stringData: {{token: x}}\n")),
            Some("stringData")
        );
        assert_eq!(
            field(&format!("{secret}data: {{token: eA==}}\n")),
            Some("data")
        );
        assert_eq!(
            field(&format!(
                "{secret}data: {{token: 'ENC[AES256_GCM,data:x]'}}\nsops: {{version: 3.9.0}}\n"
            )),
            None
        );
        assert_eq!(field(&format!("{secret}type: Opaque\n")), None);
        // Post-build variables alone carry no credential; anything beside them does.
        assert_eq!(
            field(&format!(
                "{secret}data: {{identity: '${{identity}}', known_hosts: '${{_hosts2}}'}}\n"
            )),
            None
        );
        for value in [
            "'${identity}x'",
            "'x${identity}'",
            "'${identity}${other}'",
            "'${2x}'",
            "'${}'",
            "'${a:=secret}'",
            "'$identity'",
        ] {
            assert_eq!(
                field(&format!(
                    "{secret}data: {{identity: '${{a}}', key: {value}}}\n"
                )),
                Some("data"),
                "{value}"
            );
        }
        assert_eq!(field(&format!("{secret}data: {{}}\n")), None);
        assert_eq!(
            field("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"),
            None
        );
    }
}
