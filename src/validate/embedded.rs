//! The upstream schemas compiled into the binary (`vendor/schemas/`, see its README): the CRDs
//! of Flux and Cluster API with its providers, and the built-in kinds of two Kubernetes minors.
//!
//! `build.rs` makes them strict (`strict.rs`) and stores each CRD version's schema as its own
//! deflated blob, and each definition of a Kubernetes minor that a kind needs as another, next
//! to an index of what they define and of the definitions each kind needs. Finding out what is
//! known costs nothing, and a run inflates only the schemas of the kinds its fleet has, and of
//! a Kubernetes kind only the definitions its objects reach, each once.

use serde_json::Value;

/// An upstream project whose CRDs are embedded.
#[derive(Debug)]
pub struct Project {
    pub folder: &'static str,
    pub name: &'static str,
    pub repository: &'static str,
    /// The release tag the CRDs come from.
    pub version: &'static str,
}

#[derive(Debug)]
pub struct CrdVersionInfo {
    pub name: &'static str,
    pub served: bool,
    pub deprecated: bool,
    /// The strict form of its `openAPIV3Schema`, if it has one.
    schema: Option<&'static [u8]>,
}

/// One embedded CustomResourceDefinition.
#[derive(Debug)]
pub struct CrdFile {
    /// Index into [`CRD_PROJECTS`].
    pub project: usize,
    pub group: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub versions: &'static [CrdVersionInfo],
}

/// The strict definitions of one Kubernetes minor's built-in kinds.
#[derive(Debug)]
pub struct KubernetesRelease {
    /// `1.33`: what `validation.kubernetesVersion` names.
    pub minor: &'static str,
    pub version: &'static str,
    /// The package the definitions were taken from.
    pub package: &'static str,
    /// Used when the fleet names no version.
    pub default: bool,
    /// The `$schema` of the definitions document: the draft its definitions are read in.
    pub draft: &'static str,
    /// `(group, version, kind, definition name)`.
    pub kinds: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// Every definition a piece has, strict; sorted by name.
    pub definitions: &'static [KubernetesDefinition],
    /// One per definition name of `kinds`, and ObjectMeta; sorted by name.
    pub pieces: &'static [KubernetesPiece],
}

/// One definition of a Kubernetes definitions document.
#[derive(Debug)]
pub struct KubernetesDefinition {
    pub name: &'static str,
    data: &'static [u8],
}

/// The part of a Kubernetes definitions document one definition needs: it and every definition
/// it refers to, directly or not.
#[derive(Debug)]
pub struct KubernetesPiece {
    /// The definition the piece is for.
    pub name: &'static str,
    /// Positions in [`KubernetesRelease::definitions`], the piece's own among them.
    pub members: &'static [u16],
}

include!(concat!(env!("OUT_DIR"), "/embedded_schemas.rs"));

fn inflate(data: &[u8]) -> Value {
    // build.rs wrote these bytes from JSON it had parsed: failing here is a broken build.
    let bytes = miniz_oxide::inflate::decompress_to_vec(data).expect("embedded schemas inflate");
    serde_json::from_slice(&bytes).expect("embedded schemas are JSON")
}

impl CrdFile {
    pub fn project(&self) -> &'static Project {
        &CRD_PROJECTS[self.project]
    }
}

impl CrdVersionInfo {
    /// The version's strict schema (see [`strict_crd_schema`](super::strict::strict_crd_schema)),
    /// inflated afresh: its one user keeps it. `None` when the CRD gives the version none.
    pub fn strict_schema(&self) -> Option<Value> {
        self.schema.map(inflate)
    }
}

impl KubernetesRelease {
    /// The position in [`KubernetesRelease::pieces`] of the piece for definition `name`.
    pub fn piece(&self, name: &str) -> Option<usize> {
        self.pieces
            .binary_search_by(|piece| piece.name.cmp(name))
            .ok()
    }

    /// The position in [`KubernetesRelease::definitions`] of definition `name`.
    pub fn definition(&self, name: &str) -> Option<usize> {
        self.definitions
            .binary_search_by(|definition| definition.name.cmp(name))
            .ok()
    }

    /// The definitions document of piece `index`, inflated afresh: its one user keeps what it
    /// makes of it.
    pub fn piece_document(&self, index: usize) -> Value {
        self.document(self.pieces[index].members.iter().map(|&member| {
            let definition = &self.definitions[usize::from(member)];
            (definition.name.to_owned(), definition.schema())
        }))
    }

    /// A definitions document of this release holding `definitions`.
    pub fn document(&self, definitions: impl IntoIterator<Item = (String, Value)>) -> Value {
        serde_json::json!({
            "$schema": self.draft,
            "$defs": definitions.into_iter().collect::<serde_json::Map<_, _>>(),
        })
    }
}

impl KubernetesDefinition {
    /// The strict definition, inflated afresh: its one user keeps it.
    pub fn schema(&self) -> Value {
        inflate(self.data)
    }
}

/// The embedded minor `minor` names (`1.33`, `v1.33`, `1.33.0`), or the default one.
pub fn kubernetes(minor: Option<&str>) -> Option<&'static KubernetesRelease> {
    match minor {
        None => KUBERNETES.iter().find(|release| release.default),
        Some(given) => {
            // A patch release names its minor: the schemas do not change within one.
            let given = given.trim_start_matches('v');
            let minor: Vec<&str> = given.splitn(3, '.').take(2).collect();
            let minor = minor.join(".");
            KUBERNETES.iter().find(|release| release.minor == minor)
        }
    }
}

/// The minors embedded, for messages.
pub fn kubernetes_minors() -> Vec<&'static str> {
    KUBERNETES.iter().map(|release| release.minor).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blob_inflates_to_what_its_index_says() {
        for file in CRD_FILES {
            for version in file.versions {
                if let Some(schema) = version.strict_schema() {
                    assert!(schema.is_object(), "{} {}", file.kind, version.name);
                }
            }
        }
        for release in KUBERNETES {
            // Found by binary search, as pieces are.
            for sorted in [
                release
                    .definitions
                    .windows(2)
                    .all(|two| two[0].name < two[1].name),
                release
                    .pieces
                    .windows(2)
                    .all(|two| two[0].name < two[1].name),
            ] {
                assert!(sorted, "{}", release.minor);
            }
            for (_, _, _, name) in release.kinds {
                assert!(release.piece(name).is_some(), "{}: {name}", release.minor);
            }
            for (index, piece) in release.pieces.iter().enumerate() {
                let document = release.piece_document(index);
                let definitions = document["$defs"].as_object().unwrap();
                assert!(definitions.contains_key(piece.name), "{}", piece.name);
                // A piece is all its validator can resolve: every reference stays inside it.
                let mut targets = Vec::new();
                references(&document, &mut targets);
                for target in targets {
                    let name = target.strip_prefix("#/$defs/").unwrap_or(&target);
                    assert!(
                        definitions.contains_key(name),
                        "{} {}: {target}",
                        release.minor,
                        piece.name
                    );
                }
            }
        }
        assert_eq!(
            KUBERNETES.iter().filter(|release| release.default).count(),
            1
        );
    }

    fn references(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(target) if key == "$ref" => out.push(target.clone()),
                        _ => references(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| references(item, out)),
            _ => {}
        }
    }

    /// build.rs makes the CRDs' schemas strict; CRDs given at run time go through
    /// `strict_crd_schema` then. Both must give the same schema, for every vendored CRD.
    #[test]
    fn every_embedded_crd_version_holds_the_strict_form_of_the_vendored_schema() {
        let vendor = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/schemas/crds");
        let mut checked = 0;
        for project in CRD_PROJECTS {
            for entry in std::fs::read_dir(vendor.join(project.folder)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|ext| ext != "json") {
                    continue;
                }
                let crd: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let spec = &crd["spec"];
                let file = CRD_FILES
                    .iter()
                    .find(|file| spec["group"] == file.group && spec["names"]["kind"] == file.kind)
                    .unwrap_or_else(|| panic!("{} is not embedded", path.display()));
                let versions = spec["versions"].as_array().unwrap();
                assert_eq!(versions.len(), file.versions.len(), "{}", path.display());
                for (vendored, embedded) in versions.iter().zip(file.versions) {
                    assert_eq!(vendored["name"], embedded.name);
                    let expected = vendored["schema"]["openAPIV3Schema"]
                        .as_object()
                        .map(|raw| {
                            crate::validate::strict::strict_crd_schema(
                                &Value::Object(raw.clone()),
                                true,
                            )
                        });
                    assert_eq!(
                        embedded.strict_schema(),
                        expected,
                        "{} {}",
                        path.display(),
                        embedded.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= CRD_FILES.len());
    }

    /// build.rs makes the pieces' definitions strict; definitions given at run time go through
    /// `strict_core_schema` then. Both must give the same schema.
    #[test]
    fn a_piece_holds_the_strict_form_of_each_vendored_definition() {
        for release in KUBERNETES {
            let path = format!(
                "{}/vendor/schemas/kubernetes/v{}/_definitions.json",
                env!("CARGO_MANIFEST_DIR"),
                release.minor
            );
            let vendored: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let vendored = vendored["$defs"].as_object().unwrap();
            let mut checked = 0;
            for (index, piece) in release.pieces.iter().enumerate() {
                for (name, definition) in
                    release.piece_document(index)["$defs"].as_object().unwrap()
                {
                    assert_eq!(
                        *definition,
                        crate::validate::strict::strict_core_schema(name, &vendored[name]),
                        "{} {}: {name}",
                        release.minor,
                        piece.name
                    );
                    checked += 1;
                }
            }
            assert!(checked > release.pieces.len(), "{}", release.minor);
        }
    }

    #[test]
    fn pieces_are_cut_per_kind() {
        let release = kubernetes(None).unwrap();
        let name = |kind: &str| {
            release
                .kinds
                .iter()
                .find(|(group, version, found, _)| {
                    group.is_empty() && *version == "v1" && *found == kind
                })
                .unwrap()
                .3
        };
        let config_map = release.piece_document(release.piece(name("ConfigMap")).unwrap());
        let pod = release.piece_document(release.piece(name("Pod")).unwrap());
        let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        assert!(config_map["$defs"].get(meta).is_some());
        assert!(
            config_map["$defs"]
                .get("io.k8s.api.core.v1.PodSpec")
                .is_none()
        );
        assert!(pod["$defs"].get("io.k8s.api.core.v1.PodSpec").is_some());
        // A piece keeps the document's draft.
        assert!(config_map["$schema"].is_string());
        assert!(release.piece(meta).is_some());
    }

    #[test]
    fn kubernetes_minors_are_named_loosely() {
        let default = kubernetes(None).unwrap();
        assert_eq!(
            kubernetes(Some(default.minor)).unwrap().minor,
            default.minor
        );
        assert_eq!(
            kubernetes(Some(&format!("v{}.0", default.minor)))
                .unwrap()
                .minor,
            default.minor
        );
        assert!(kubernetes(Some("1.2")).is_none());
    }
}
