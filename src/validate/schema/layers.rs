//! Filling the layers: the embedded schemas, and CRDs and Kubernetes definitions added from
//! files or documents into the current layer.

use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use walkdir::WalkDir;

use super::compile::{Core, CrdSchema, CrdVersion, OwnOrShared, Store, prepare_core};
use super::{Layer, Schemas, Source};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::validate::embedded;

impl Schemas {
    pub fn new() -> Self {
        Self::default()
    }

    /// The embedded schemas, with the built-in kinds of Kubernetes `kubernetes_version` (a
    /// minor such as `1.33`; the default minor when `None`).
    pub fn embedded(kubernetes_version: Option<&str>) -> std::result::Result<Self, String> {
        Self::embedded_in(kubernetes_version, Store::shared())
    }

    /// [`Schemas::embedded`], their validators made in `store`.
    pub(super) fn embedded_in(
        kubernetes_version: Option<&str>,
        store: &'static Store,
    ) -> std::result::Result<Self, String> {
        let mut schemas = Self {
            layer: Layer::Embedded,
            ..Self::default()
        };
        let release = embedded::kubernetes(kubernetes_version).ok_or_else(|| {
            format!(
                "Kubernetes {} is not embedded (embedded: {})",
                kubernetes_version.unwrap_or_default(),
                embedded::kubernetes_minors().join(", ")
            )
        })?;
        for (at, file) in embedded::CRD_FILES.iter().enumerate() {
            let project = file.project();
            let source = Source {
                layer: Layer::Embedded,
                origin: project.name.to_owned(),
                upstream: Some(format!("{} {}", project.repository, project.version)),
            };
            schemas.note_kind(file.group, file.kind, file.namespaced);
            for (number, version) in file.versions.iter().enumerate() {
                schemas.insert_crd_version(
                    file.group,
                    version.name,
                    file.kind,
                    CrdVersion {
                        schema: OwnOrShared::Shared(store.crd(at, number)),
                        served: version.served,
                        deprecated: version.deprecated,
                        source: source.clone(),
                    },
                );
            }
        }
        let core = Core::embedded(
            Source {
                layer: Layer::Embedded,
                origin: format!("Kubernetes {}", release.version),
                upstream: Some(release.package.to_owned()),
            },
            release,
            store,
        );
        schemas.cores.push(core);
        schemas.note_added("embedded", release.version, &[]);
        schemas.layer = Layer::FleetSettings;
        Ok(schemas)
    }

    /// Schemas added from now on belong to `layer`.
    pub fn set_layer(&mut self, layer: Layer) {
        self.layer = layer;
    }

    /// No schema of any kind: nothing can be checked.
    pub fn is_empty(&self) -> bool {
        self.crds.is_empty() && self.cores.is_empty()
    }

    pub fn has_core(&self) -> bool {
        !self.cores.is_empty()
    }

    fn note_kind(&mut self, group: &str, kind: &str, namespaced: bool) {
        self.crd_groups.insert(group.to_owned());
        self.crd_scopes
            .insert((group.to_owned(), kind.to_owned()), namespaced);
    }

    fn insert_crd_version(&mut self, group: &str, version: &str, kind: &str, crd: CrdVersion) {
        self.crd_kinds
            .entry((group.to_owned(), kind.to_owned()))
            .or_default()
            .insert(version.to_owned(), crd.served);
        self.crds
            .insert((group.to_owned(), version.to_owned(), kind.to_owned()), crd);
    }

    /// Reads CustomResourceDefinitions from a YAML file or, recursively, a directory of them.
    /// Documents of other kinds are ignored, so a whole components bundle can be given.
    pub fn add_crd_path(&mut self, path: &Path) -> Result<usize> {
        let mut added = 0;
        for file in yaml_files(path)? {
            let text = read_schema_file(&file)?;
            added += self
                .add_crd_text(&text, &file.display().to_string())
                .map_err(|message| {
                    Error::Invalid(
                        [Diagnostic::error("schema-source", message).at_file(&file)]
                            .into_iter()
                            .collect(),
                    )
                })?;
        }
        Ok(added)
    }

    /// Adds the CRDs among the YAML documents of `text`; returns how many versions were added.
    pub fn add_crd_text(&mut self, text: &str, origin: &str) -> std::result::Result<usize, String> {
        let mut added = 0;
        for document in serde_norway::Deserializer::from_str(text) {
            let value =
                Value::deserialize(document).map_err(|error| format!("not valid YAML: {error}"))?;
            added += self.add_crd(&value, origin);
        }
        Ok(added)
    }

    /// Adds one CustomResourceDefinition; anything else is ignored. Returns the number of
    /// versions added. Within one layer the first definition of a group/version/kind is kept;
    /// a later layer replaces it.
    pub fn add_crd(&mut self, document: &Value, origin: &str) -> usize {
        if document.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return 0;
        }
        let spec = &document["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            return 0;
        };
        let bytes = serde_json::to_vec(document).expect("a JSON value serialises");
        self.note_added("crd", origin, &bytes);
        let source = Source {
            layer: self.layer,
            origin: origin.to_owned(),
            upstream: None,
        };
        let mut added = 0;
        for version in spec["versions"].as_array().into_iter().flatten() {
            let Some(name) = version["name"].as_str() else {
                continue;
            };
            let key = (group.to_owned(), name.to_owned(), kind.to_owned());
            if self
                .crds
                .get(&key)
                .is_some_and(|known| known.source.layer >= self.layer)
            {
                continue;
            }
            let raw = version["schema"]["openAPIV3Schema"]
                .as_object()
                .or_else(|| spec["validation"]["openAPIV3Schema"].as_object());
            self.insert_crd_version(
                group,
                name,
                kind,
                CrdVersion {
                    schema: OwnOrShared::Own(CrdSchema::given(raw)),
                    served: version["served"].as_bool().unwrap_or(false),
                    deprecated: version["deprecated"].as_bool().unwrap_or(false),
                    source: source.clone(),
                },
            );
            added += 1;
        }
        if added > 0 {
            self.note_kind(group, kind, spec["scope"].as_str() != Some("Cluster"));
        }
        added
    }

    /// Reads the built-in kinds' schemas from a JSON Schema definitions document (`$defs` with
    /// `x-kubernetes-group-version-kind`), a swagger v2 document (`definitions`) or an OpenAPI
    /// v3 document (`components.schemas`). Its kinds win over those of earlier documents.
    pub fn set_kubernetes_path(&mut self, path: &Path) -> Result<()> {
        let text = read_schema_file(path)?;
        let document: Value = serde_json::from_str(&text)
            .or_else(|_| serde_norway::from_str(&text).map_err(|error| error.to_string()))
            .map_err(|message| {
                invalid_source(path, format!("not a JSON or YAML document: {message}"))
            })?;
        self.set_kubernetes(document, &path.display().to_string())
            .map_err(|message| invalid_source(path, message))
    }

    pub fn set_kubernetes(
        &mut self,
        document: Value,
        origin: &str,
    ) -> std::result::Result<(), String> {
        let bytes = serde_json::to_vec(&document).expect("a JSON value serialises");
        self.note_added("kubernetes", origin, &bytes);
        let (prepared, kinds) = prepare_core(document)?;
        let core = Core::new(
            Source {
                layer: self.layer,
                origin: origin.to_owned(),
                upstream: None,
            },
            kinds,
        );
        let _ = core.document.set(Ok(prepared));
        self.cores.push(core);
        self.cores.sort_by_key(|core| core.source.layer);
        Ok(())
    }
}

/// The largest schema file read, whoever names it. Upstream bundles are a few MiB (Cluster
/// API's with every provider about ten, Kubernetes' definitions about four); a file parsed
/// takes many times its size in memory, and a pull request can add one of any size.
pub const MAX_SCHEMA_FILE_BYTES: u64 = 64 << 20;

/// The bytes of `path`, or `None` when it is larger than [`MAX_SCHEMA_FILE_BYTES`]: looked at
/// before reading, so a larger file is not read at all, and again while reading, for one that
/// grows meanwhile.
pub fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_SCHEMA_FILE_BYTES {
        return Ok(None);
    }
    let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    file.take(MAX_SCHEMA_FILE_BYTES + 1)
        .read_to_end(&mut content)?;
    Ok((content.len() as u64 <= MAX_SCHEMA_FILE_BYTES).then_some(content))
}

/// The text of schema file `path`, refused unread when it is larger than
/// [`MAX_SCHEMA_FILE_BYTES`].
fn read_schema_file(path: &Path) -> Result<String> {
    let unreadable = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let content = read_bounded(path).map_err(unreadable)?.ok_or_else(|| {
        invalid_source(
            path,
            format!(
                "larger than {} MiB, so it was not read as a schema source",
                MAX_SCHEMA_FILE_BYTES >> 20
            ),
        )
    })?;
    String::from_utf8(content)
        .map_err(|error| unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, error)))
}

fn invalid_source(path: &Path, message: String) -> Error {
    Error::Invalid(
        [Diagnostic::error("schema-source", message).at_file(path)]
            .into_iter()
            .collect(),
    )
}

/// The YAML files of `path`: itself, or every `*.yaml`/`*.yml` below it in name order.
fn yaml_files(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::Read {
            path: path.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|error| Error::Read {
            path: path.to_path_buf(),
            source: error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop")),
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}
