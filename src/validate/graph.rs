//! The Flux reference graph, per cluster: what reaches each cluster, and whether every
//! reference between Flux objects holds.
//!
//! The walk starts where Flux starts: each cluster with its own Flux has the `flux-system`
//! GitRepository (the main branch) and Kustomization (path `clusters/<cluster>`) that
//! `flux bootstrap` made. Every Kustomization that reaches a cluster is then followed: its
//! source gives the branch, its `path` on that branch is built the way kustomize-controller
//! builds it, and the objects go to the cluster its `kubeConfig` points at (or its own). What a
//! build produces is checked like kustomize would (missing entries, duplicate ids, namespace
//! transformation conflicts), and what reaches a cluster like Flux would (sources, dependencies,
//! paths, kubeconfig Secrets, tenant lockdown, two owners of one object). Every rendered file
//! must be reached from some bootstrap path.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use super::kept::Kept;

use super::document::{Document, by_file};
use super::schema::Schemas;
use super::secrets;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::Fleet;
use crate::render::{Rendered, is_yaml};
use crate::tree::OWNED_LIST;

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const FLUX_SOURCE: &str = "source.toolkit.fluxcd.io";
const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
/// Name and namespace of what `flux bootstrap` creates on each cluster.
pub const BOOTSTRAP: &str = "flux-system";

/// An object as a build places it: its document and the namespace and name it ends up with.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    pub document: &'a Document<'a>,
    pub namespace: Option<String>,
    pub name: String,
}

impl Placed<'_> {
    fn group(&self) -> &str {
        self.document.group_version().map_or("", |(group, _)| group)
    }

    fn kind(&self) -> &str {
        self.document.kind().unwrap_or_default()
    }

    fn id(&self) -> (String, String, String, String) {
        (
            self.group().to_owned(),
            self.kind().to_owned(),
            self.namespace.clone().unwrap_or_default(),
            self.name.clone(),
        )
    }

    /// `Kind namespace/name`, as messages name it.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind(), self.name),
            None => format!("{} {}", self.kind(), self.name),
        }
    }
}

/// An object that reaches a cluster, and the Flux Kustomization that applies it.
#[derive(Debug, Clone)]
pub struct Applied<'a> {
    pub object: Placed<'a>,
    /// `namespace/name` of the Flux Kustomization that applies it; shared by every object it
    /// applies, as is `via_cluster`.
    pub via: Arc<str>,
    /// The cluster that Kustomization runs on (the manager, for a remote cluster).
    pub via_cluster: Arc<str>,
}

/// A Flux source on a cluster, and the branch of the fleet repo it tracks when it is the
/// fleet repo (other repositories are outside the rendered trees).
#[derive(Debug, Clone)]
struct Source {
    branch: Option<String>,
}

/// What reaches each cluster.
#[derive(Debug, Default)]
pub struct Simulation<'a> {
    pub clusters: BTreeMap<String, Vec<Applied<'a>>>,
    /// `(branch, path)` of every rendered file some build used.
    pub visited: BTreeSet<(String, String)>,
    pub diagnostics: Diagnostics,
}

/// Runs the graph checks.
pub fn check(
    fleet: &Fleet,
    rendered: &Rendered,
    documents: &[Document<'_>],
    schemas: &Schemas,
) -> Diagnostics {
    let simulation = simulate(fleet, rendered, documents, schemas);
    let mut diagnostics = simulation.diagnostics;
    for (branch, tree) in rendered.branches.iter() {
        for path in tree.paths() {
            if path == OWNED_LIST
                || !is_yaml(path)
                || simulation
                    .visited
                    .contains(&(branch.to_owned(), path.to_owned()))
            {
                continue;
            }
            diagnostics.push(
                Diagnostic::error("unreachable", format!("{branch}/{path} is reached from no cluster's bootstrap path"))
                    .at_file(format!("{branch}/{path}"))
                    .with_hint("Flux never applies it: reference its directory from a Kustomization or a kustomization.yaml, or do not render it"),
            );
        }
    }
    diagnostics
}

/// Follows the Flux objects from every cluster's bootstrap path.
pub fn simulate<'a>(
    fleet: &'a Fleet,
    rendered: &'a Rendered,
    documents: &'a [Document<'a>],
    schemas: &'a Schemas,
) -> Simulation<'a> {
    let mut walker = Walker::new(fleet, rendered, documents, schemas);
    walker.run();
    walker.finish()
}

/// The result of building one directory.
#[derive(Debug, Default)]
struct Build<'a> {
    objects: Vec<Placed<'a>>,
    files: BTreeSet<String>,
}

/// A Flux Kustomization (or HelmRelease) on a cluster, waiting to be followed.
#[derive(Debug, Clone)]
struct Pending<'a> {
    cluster: String,
    object: Placed<'a>,
}

struct Walker<'a> {
    fleet: &'a Fleet,
    rendered: &'a Rendered,
    schemas: &'a Schemas,
    files: BTreeMap<(&'a str, &'a str), Vec<&'a Document<'a>>>,
    /// Per branch, every directory that holds a file, at any depth.
    directories: BTreeMap<String, BTreeSet<String>>,
    builds: RefCell<HashMap<(String, String, bool), Rc<Build<'a>>>>,
    /// Findings of kustomize builds, which run memoised behind shared references.
    build_findings: RefCell<Vec<Diagnostic>>,
    tenant_namespaces: BTreeSet<String>,
    kubeconfigs: BTreeSet<(String, String, String)>,
    sources: BTreeMap<String, BTreeMap<(String, String, String), Source>>,
    followed: BTreeSet<(String, String, String)>,
    pending: Vec<Pending<'a>>,
    helm_releases: Vec<Pending<'a>>,
    simulation: Simulation<'a>,
}

impl<'a> Walker<'a> {
    fn new(
        fleet: &'a Fleet,
        rendered: &'a Rendered,
        documents: &'a [Document<'a>],
        schemas: &'a Schemas,
    ) -> Self {
        let mut directories: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (branch, tree) in rendered.branches.iter() {
            let set = directories.entry(branch.to_owned()).or_default();
            set.insert(String::new());
            for path in tree.paths() {
                let mut current = path;
                while let Some(index) = current.rfind('/') {
                    current = &current[..index];
                    set.insert(current.to_owned());
                }
            }
        }
        let tenant_namespaces = fleet
            .environments
            .values()
            .flat_map(|env| {
                env.tenants
                    .keys()
                    .map(move |tenant| env.tenant_namespace(tenant))
            })
            .collect();
        let kubeconfigs = secrets::kubeconfig_secrets(fleet)
            .into_iter()
            .map(|secret| (secret.cluster, secret.namespace, secret.name))
            .collect();
        Self {
            fleet,
            rendered,
            schemas,
            files: by_file(documents),
            directories,
            builds: RefCell::new(HashMap::new()),
            build_findings: RefCell::new(Vec::new()),
            tenant_namespaces,
            kubeconfigs,
            sources: BTreeMap::new(),
            followed: BTreeSet::new(),
            pending: Vec::new(),
            helm_releases: Vec::new(),
            simulation: Simulation::default(),
        }
    }

    fn main_branch(&self) -> &str {
        &self.fleet.repo.main_branch
    }

    fn run(&mut self) {
        let main = self.main_branch().to_owned();
        for cluster in self
            .fleet
            .clusters
            .values()
            .filter(|cluster| !cluster.is_remote())
        {
            let name = cluster.name.clone();
            self.simulation.clusters.entry(name.clone()).or_default();
            self.sources.entry(name.clone()).or_default().insert(
                source_key("GitRepository", BOOTSTRAP, BOOTSTRAP),
                Source {
                    branch: Some(main.clone()),
                },
            );
            self.followed
                .insert((name.clone(), BOOTSTRAP.to_owned(), BOOTSTRAP.to_owned()));
            let path = format!("clusters/{name}");
            if !self.rendered.branches.trees.contains_key(&main) {
                continue;
            }
            let via: Arc<str> = format!("{BOOTSTRAP}/{BOOTSTRAP}").into();
            match self.build(&main, &path, true) {
                Some(build) => {
                    for file in &build.files {
                        self.simulation.visited.insert((main.clone(), file.clone()));
                    }
                    self.apply(&name, &build, None, &via, &name.as_str().into());
                }
                None => self.simulation.diagnostics.push(
                    Diagnostic::error("missing-path", format!("cluster {name} has no bootstrap path {path} on branch {main}"))
                        .at_file(&cluster.file)
                        .with_hint("`flux bootstrap --path` points there; a blueprint must render the cluster's entry point"),
                ),
            }
        }
        // Sources may arrive after the Kustomizations that use them, so follow what resolves
        // until nothing more does; what is left names a source that never reaches the cluster.
        loop {
            let pending = std::mem::take(&mut self.pending);
            let before = pending.len();
            let mut waiting = Vec::new();
            for item in pending {
                if self.resolve_source(&item, "/spec/sourceRef").is_some() {
                    self.follow(&item);
                } else {
                    waiting.push(item);
                }
            }
            let progressed = waiting.len() < before || !self.pending.is_empty();
            self.pending.extend(waiting);
            if !progressed {
                break;
            }
        }
        for item in std::mem::take(&mut self.pending) {
            self.report_missing_source(&item, "/spec/sourceRef", "GitRepository");
            self.check_kustomization_refs(&item);
        }
        for item in std::mem::take(&mut self.helm_releases) {
            self.check_helm_release(&item);
        }
        self.check_dependencies();
        self.check_duplicates();
    }

    fn finish(mut self) -> Simulation<'a> {
        let findings = std::mem::take(&mut *self.build_findings.borrow_mut());
        self.simulation
            .diagnostics
            .extend(findings.into_iter().collect());
        self.simulation
    }

    /// Builds `dir` on `branch` the way kustomize does, or — when `generated` and the directory
    /// has no kustomization file — the way kustomize-controller generates one: every YAML file
    /// below it, and every subdirectory that has a kustomization file as a whole. `None` when
    /// the directory does not exist.
    fn build(&self, branch: &str, dir: &str, generated: bool) -> Option<Rc<Build<'a>>> {
        let key = (branch.to_owned(), dir.to_owned(), generated);
        if let Some(build) = self.builds.borrow().get(&key) {
            return Some(Rc::clone(build));
        }
        if !self
            .directories
            .get(branch)
            .is_some_and(|dirs| dirs.contains(dir))
        {
            return None;
        }
        // A directory that includes itself (through `..`) would recurse forever; seeing it
        // again while it is being built ends that loop with an empty build.
        self.builds
            .borrow_mut()
            .insert(key.clone(), Rc::new(Build::default()));
        let build = match self.kustomization_file(branch, dir) {
            Some(file) => self.build_kustomization(branch, dir, &file),
            None if generated => self.build_generated(branch, dir),
            None => Build::default(),
        };
        let build = Rc::new(build);
        self.builds.borrow_mut().insert(key, Rc::clone(&build));
        Some(build)
    }

    fn kustomization_file(&self, branch: &str, dir: &str) -> Option<String> {
        let tree = self.rendered.branches.trees.get(branch)?;
        KUSTOMIZATION_FILES
            .iter()
            .map(|name| join(dir, name))
            .find(|path| tree.contains(path))
    }

    fn objects_of(&self, branch: &str, path: &str) -> Vec<Placed<'a>> {
        self.files
            .get(&(branch, path))
            .into_iter()
            .flatten()
            .filter(|document| document.is_object())
            .map(|document| Placed {
                document,
                namespace: document.namespace().map(str::to_owned),
                name: document.name().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    fn build_generated(&self, branch: &str, dir: &str) -> Build<'a> {
        let mut build = Build::default();
        let Some(tree) = self.rendered.branches.trees.get(branch) else {
            return build;
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut included_dirs = BTreeSet::new();
        let mut origins = Origins::default();
        for path in tree.paths().filter(|path| path.starts_with(&prefix)) {
            let relative = &path[prefix.len()..];
            // The shallowest subdirectory with a kustomization file takes in everything below it.
            let mut owner = None;
            let mut offset = 0;
            while let Some(index) = relative[offset..].find('/') {
                let sub = join(dir, &relative[..offset + index]);
                if self.kustomization_file(branch, &sub).is_some() {
                    owner = Some(sub);
                    break;
                }
                offset += index + 1;
            }
            match owner {
                Some(sub) => {
                    included_dirs.insert(sub);
                }
                None if is_yaml(path) && path != OWNED_LIST && !path.starts_with(".fleetgen/") => {
                    build.files.insert(path.to_owned());
                    origins.add_file(&mut build.objects, self.objects_of(branch, path));
                }
                None => {}
            }
        }
        for sub in included_dirs {
            if let Some(inner) = self.build(branch, &sub, false) {
                build.files.extend(inner.files.iter().cloned());
                origins.add_build(&mut build.objects, &inner.objects);
            }
        }
        self.report_build_duplicates(branch, &build.objects, &origins, None);
        build
    }

    fn build_kustomization(&self, branch: &str, dir: &str, file: &str) -> Build<'a> {
        let mut build = Build::default();
        build.files.insert(file.to_owned());
        let Some(kustomization) = self
            .files
            .get(&(branch, file))
            .and_then(|documents| documents.first().copied())
        else {
            return build;
        };
        let mut diagnostics = Vec::new();
        let mut origins = Origins::default();
        for field in ["resources", "bases", "components"] {
            let entries = kustomization
                .value
                .get(field)
                .and_then(Kept::as_array)
                .unwrap_or_default();
            for (index, entry) in entries.iter().enumerate() {
                let Some(entry) = entry.as_str() else {
                    continue;
                };
                if is_remote(entry) {
                    continue;
                }
                let pointer = format!("/{field}/{index}");
                let Some(target) = normalize(dir, entry) else {
                    diagnostics.push(
                        Diagnostic::error(
                            "missing-resource",
                            format!("{field} entry `{entry}` leaves the branch root"),
                        )
                        .at(kustomization.location(&pointer)),
                    );
                    continue;
                };
                let tree = &self.rendered.branches.trees[branch];
                if tree.contains(&target) {
                    build.files.insert(target.clone());
                    origins.add_file(&mut build.objects, self.objects_of(branch, &target));
                } else if self
                    .directories
                    .get(branch)
                    .is_some_and(|dirs| dirs.contains(&target))
                {
                    if self.kustomization_file(branch, &target).is_none() {
                        diagnostics.push(
                            Diagnostic::error("missing-resource", format!("{field} entry `{entry}` is a directory without a kustomization.yaml"))
                                .at(kustomization.location(&pointer))
                                .with_hint("kustomize builds only directories that have one"),
                        );
                        continue;
                    }
                    if let Some(inner) = self.build(branch, &target, false) {
                        build.files.extend(inner.files.iter().cloned());
                        origins.add_build(&mut build.objects, &inner.objects);
                    }
                } else if let Some(how) = self
                    .rendered
                    .operator_files
                    .get(branch)
                    .and_then(|files| files.get(&target))
                {
                    // A file the blueprint leaves to the operator: say how to provide it, without
                    // failing a fleet that has not been applied yet.
                    diagnostics.push(
                        Diagnostic::warning(
                            "operator-file",
                            format!("{field} entry `{entry}` is committed by hand on branch {branch}, not rendered"),
                        )
                        .at(kustomization.location(&pointer))
                        .with_hint(how.clone()),
                    );
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            "missing-resource",
                            format!("{field} entry `{entry}` does not exist on branch {branch}"),
                        )
                        .at(kustomization.location(&pointer)),
                    );
                }
            }
        }
        // Patches are part of the build too: a listed patch file must exist.
        let patch_files = kustomization
            .value
            .get("patches")
            .and_then(Kept::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, patch)| {
                patch
                    .get("path")
                    .and_then(Kept::as_str)
                    .map(|path| (format!("/patches/{index}/path"), path.to_owned()))
            })
            .chain(
                kustomization
                    .value
                    .get("patchesStrategicMerge")
                    .and_then(Kept::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter_map(|(index, patch)| {
                        patch
                            .as_str()
                            .filter(|text| !text.contains('\n'))
                            .map(|path| {
                                (format!("/patchesStrategicMerge/{index}"), path.to_owned())
                            })
                    }),
            );
        for (pointer, path) in patch_files.collect::<Vec<_>>() {
            match normalize(dir, &path) {
                Some(target) if self.rendered.branches.trees[branch].contains(&target) => {
                    build.files.insert(target);
                }
                _ => diagnostics.push(
                    Diagnostic::error(
                        "missing-resource",
                        format!("patch `{path}` does not exist on branch {branch}"),
                    )
                    .at(kustomization.location(&pointer)),
                ),
            }
        }
        self.report_build_duplicates(branch, &build.objects, &origins, None);

        if let Some(namespace) = kustomization.value.get("namespace").and_then(Kept::as_str) {
            let before: BTreeSet<_> = build.objects.iter().map(Placed::id).collect();
            for object in &mut build.objects {
                if self.namespaced(object) != Some(false) {
                    object.namespace = Some(namespace.to_owned());
                } else if object.group().is_empty() && object.kind() == "Namespace" {
                    // kustomize renames Namespace objects to the namespace it sets.
                    object.name = namespace.to_owned();
                }
            }
            // Only ids that were distinct before and collide now are the transformation's doing.
            if before.len() == build.objects.len() {
                self.report_build_duplicates(
                    branch,
                    &build.objects,
                    &Origins::default(),
                    Some((kustomization, namespace)),
                );
            }
        }
        let prefix = kustomization
            .value
            .get("namePrefix")
            .and_then(Kept::as_str)
            .unwrap_or_default();
        let suffix = kustomization
            .value
            .get("nameSuffix")
            .and_then(Kept::as_str)
            .unwrap_or_default();
        if !prefix.is_empty() || !suffix.is_empty() {
            for object in &mut build.objects {
                if object.kind() != "CustomResourceDefinition" {
                    object.name = format!("{prefix}{}{suffix}", object.name);
                }
            }
        }
        self.simulation_diagnostics(diagnostics);
        build
    }

    /// Build findings go straight into the results; builds are memoised, so each is reported
    /// once, and identical findings from two builds are merged when sorted.
    fn simulation_diagnostics(&self, diagnostics: Vec<Diagnostic>) {
        self.build_findings.borrow_mut().extend(diagnostics);
    }

    fn report_build_duplicates(
        &self,
        branch: &str,
        objects: &[Placed<'a>],
        origins: &Origins,
        namespace: Option<(&Document<'_>, &str)>,
    ) {
        let mut seen: BTreeMap<_, (usize, &Placed<'a>)> = BTreeMap::new();
        let mut findings = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            if let Some((first_index, first)) = seen.insert(object.id(), (index, object)) {
                if origins.same_build(first_index, index) {
                    // That build has reported it itself.
                    continue;
                }
                let diagnostic = match namespace {
                    Some((kustomization, namespace)) => Diagnostic::error(
                        "namespace-conflict",
                        format!(
                            "namespace transformation to `{namespace}` produces an id conflict: {} from {} and from {}",
                            object.describe(),
                            first.document.file(),
                            object.document.file()
                        ),
                    )
                    .at(kustomization.location("/namespace"))
                    .with_hint("kustomize refuses to build this; give the objects distinct names, or set the namespace only where it belongs"),
                    None => Diagnostic::error(
                        "duplicate-object",
                        format!("{} is defined twice in one kustomize build (also in {})", object.describe(), first.document.file()),
                    )
                    .at(object.document.location("/metadata/name"))
                    .with_hint(format!("kustomize refuses to build branch {branch}: objects need distinct names, e.g. prefixed with the cluster's name")),
                };
                findings.push(diagnostic);
            }
        }
        self.simulation_diagnostics(findings);
    }

    fn namespaced(&self, object: &Placed<'_>) -> Option<bool> {
        self.schemas.is_namespaced(object.group(), object.kind())
    }

    /// Records `build`'s objects as applied to `cluster`, and queues the Flux objects among
    /// them.
    fn apply(
        &mut self,
        cluster: &str,
        build: &Build<'a>,
        target_namespace: Option<&str>,
        via: &Arc<str>,
        via_cluster: &Arc<str>,
    ) {
        for object in &build.objects {
            let mut object = object.clone();
            if let Some(namespace) = target_namespace
                && self.namespaced(&object) != Some(false)
            {
                object.namespace = Some(namespace.to_owned());
            }
            let group = object.group().to_owned();
            let kind = object.kind().to_owned();
            if group == FLUX_SOURCE {
                let branch = self.tracked_branch(object.document);
                self.sources.entry(cluster.to_owned()).or_default().insert(
                    source_key(
                        &kind,
                        object.namespace.as_deref().unwrap_or_default(),
                        &object.name,
                    ),
                    Source { branch },
                );
            }
            let flux_cluster = self
                .fleet
                .clusters
                .get(cluster)
                .is_some_and(|cluster| !cluster.is_remote());
            if group == FLUX_KUSTOMIZE && kind == "Kustomization" {
                if !flux_cluster {
                    self.simulation.diagnostics.push(
                        Diagnostic::warning(
                            "not-reconciled",
                            format!(
                                "{} is applied to cluster {cluster}, which runs no Flux",
                                object.describe()
                            ),
                        )
                        .at(object.document.location("/kind"))
                        .with_hint(
                            "a Kustomization is reconciled by the Flux of the cluster it is in",
                        ),
                    );
                } else {
                    let identity = (
                        cluster.to_owned(),
                        object.namespace.clone().unwrap_or_default(),
                        object.name.clone(),
                    );
                    if self.followed.insert(identity) {
                        self.pending.push(Pending {
                            cluster: cluster.to_owned(),
                            object: object.clone(),
                        });
                    }
                }
            }
            if group == FLUX_HELM && kind == "HelmRelease" {
                self.helm_releases.push(Pending {
                    cluster: cluster.to_owned(),
                    object: object.clone(),
                });
            }
            self.simulation
                .clusters
                .entry(cluster.to_owned())
                .or_default()
                .push(Applied {
                    object,
                    via: Arc::clone(via),
                    via_cluster: Arc::clone(via_cluster),
                });
        }
    }

    /// The branch of the fleet repo a GitRepository tracks, when it clones the fleet repo.
    fn tracked_branch(&self, document: &Document<'_>) -> Option<String> {
        if document.kind() != Some("GitRepository") {
            return None;
        }
        let url = document.str_at("/spec/url")?;
        if normalize_url(url) != normalize_url(&self.fleet.repo.url) {
            return None;
        }
        Some(
            document
                .str_at("/spec/ref/branch")
                .unwrap_or(self.main_branch())
                .to_owned(),
        )
    }

    fn is_tenant_namespace(&self, namespace: &str) -> bool {
        self.tenant_namespaces.contains(namespace)
    }

    /// The source a Flux object's reference at `pointer` names, if it reaches the same cluster.
    fn resolve_source(&self, item: &Pending<'a>, pointer: &str) -> Option<Source> {
        let reference = item.object.document.value.pointer(pointer)?;
        let kind = reference
            .get("kind")
            .and_then(Kept::as_str)
            .unwrap_or("GitRepository");
        let name = reference.get("name").and_then(Kept::as_str)?;
        let namespace = reference
            .get("namespace")
            .and_then(Kept::as_str)
            .or(item.object.namespace.as_deref())
            .unwrap_or_default();
        self.sources
            .get(&item.cluster)?
            .get(&source_key(kind, namespace, name))
            .cloned()
    }

    fn report_missing_source(&mut self, item: &Pending<'a>, pointer: &str, default_kind: &str) {
        let document = item.object.document;
        let Some(reference) = document.value.pointer(pointer) else {
            self.simulation.diagnostics.push(
                Diagnostic::error(
                    "source-not-found",
                    format!(
                        "{} has no {}",
                        item.object.describe(),
                        pointer_name(pointer)
                    ),
                )
                .at(document.location("/spec")),
            );
            return;
        };
        let kind = reference
            .get("kind")
            .and_then(Kept::as_str)
            .unwrap_or(default_kind);
        let name = reference
            .get("name")
            .and_then(Kept::as_str)
            .unwrap_or_default();
        let namespace = reference
            .get("namespace")
            .and_then(Kept::as_str)
            .or(item.object.namespace.as_deref())
            .unwrap_or_default();
        let known: Vec<String> = self
            .sources
            .get(&item.cluster)
            .into_iter()
            .flatten()
            .filter(|((_, source_kind, source_namespace), _)| {
                source_kind == kind && source_namespace == namespace
            })
            .map(|((name, _, _), _)| name.clone())
            .collect();
        let mut diagnostic = Diagnostic::error(
            "source-not-found",
            format!(
                "{}: {} {kind} {namespace}/{name} does not exist on cluster {}",
                item.object.describe(),
                pointer_name(pointer),
                item.cluster
            ),
        )
        .at(document.location(&format!("{pointer}/name")));
        diagnostic = match crate::diagnostic::did_you_mean(name, known.iter().map(String::as_str)) {
            Some(close) => diagnostic.with_hint(format!("did you mean {close}?")),
            None if known.is_empty() => diagnostic.with_hint(format!(
                "no {kind} reaches namespace {namespace} on cluster {}",
                item.cluster
            )),
            None => diagnostic.with_hint(format!(
                "the {kind}s in {namespace} are: {}",
                known.join(", ")
            )),
        };
        self.simulation.diagnostics.push(diagnostic);
    }

    /// Follows a Kustomization whose source resolved: checks its references, then applies what
    /// its path builds to its target cluster.
    fn follow(&mut self, item: &Pending<'a>) {
        self.check_kustomization_refs(item);
        let document = item.object.document;
        let source = self
            .resolve_source(item, "/spec/sourceRef")
            .expect("only resolved items are followed");
        let target = self.target_cluster(item);
        let (Some(branch), Some(target)) = (source.branch, target) else {
            return;
        };
        let raw_path = document.str_at("/spec/path").unwrap_or("./");
        let known_branch = branch == self.main_branch()
            || self
                .fleet
                .environments
                .values()
                .any(|env| env.branch == branch);
        if !self.rendered.branches.trees.contains_key(&branch) {
            if !known_branch {
                self.simulation.diagnostics.push(
                    Diagnostic::error(
                        "missing-path",
                        format!(
                            "{}: its source tracks branch {branch}, which the fleet does not have",
                            item.object.describe()
                        ),
                    )
                    .at(document.location("/spec/sourceRef/name")),
                );
            }
            return;
        }
        let Some(path) = normalize("", raw_path.trim_start_matches("./")) else {
            self.simulation.diagnostics.push(
                Diagnostic::error(
                    "missing-path",
                    format!(
                        "{}: path {raw_path} leaves the repository root",
                        item.object.describe()
                    ),
                )
                .at(document.location("/spec/path")),
            );
            return;
        };
        let path = path.trim_end_matches('/').to_owned();
        let Some(build) = self.build(&branch, &path, true) else {
            self.simulation.diagnostics.push(
                Diagnostic::error(
                    "missing-path",
                    format!(
                        "{}: path {raw_path} does not exist on branch {branch}",
                        item.object.describe()
                    ),
                )
                .at(document.location("/spec/path"))
                .with_hint("Flux fails this Kustomization with \"kustomization path not found\""),
            );
            return;
        };
        for file in &build.files {
            self.simulation
                .visited
                .insert((branch.clone(), file.clone()));
        }
        let target_namespace = document.str_at("/spec/targetNamespace").map(str::to_owned);
        let via: Arc<str> = format!(
            "{}/{}",
            item.object.namespace.as_deref().unwrap_or_default(),
            item.object.name
        )
        .into();
        let via_cluster: Arc<str> = item.cluster.as_str().into();
        self.apply(
            &target,
            &build,
            target_namespace.as_deref(),
            &via,
            &via_cluster,
        );
    }

    /// The cluster a Flux object applies to: the one its kubeConfig Secret is for, or its own.
    fn target_cluster(&mut self, item: &Pending<'a>) -> Option<String> {
        let document = item.object.document;
        let Some(secret) = document.str_at("/spec/kubeConfig/secretRef/name") else {
            return Some(item.cluster.clone());
        };
        let namespace = item.object.namespace.clone().unwrap_or_default();
        if !self
            .kubeconfigs
            .contains(&(item.cluster.clone(), namespace.clone(), secret.to_owned()))
        {
            self.simulation.diagnostics.push(
                Diagnostic::error(
                    "kubeconfig-secret",
                    format!("{}: kubeConfig Secret {namespace}/{secret} on cluster {} is not one the fleet provides", item.object.describe(), item.cluster),
                )
                .at(document.location("/spec/kubeConfig/secretRef/name"))
                .with_hint("`fleetgen secrets` lists the kubeconfig Secrets each cluster has: `<cluster>-kubeconfig` in the namespaces of the Flux objects that drive that cluster"),
            );
        }
        let cluster = secret
            .strip_suffix("-kubeconfig")
            .filter(|name| self.fleet.clusters.contains_key(*name))?;
        self.simulation
            .clusters
            .entry(cluster.to_owned())
            .or_default();
        Some(cluster.to_owned())
    }

    /// Tenant lockdown and cross-namespace references of a Kustomization.
    fn check_kustomization_refs(&mut self, item: &Pending<'a>) {
        self.check_lockdown(item, &["/spec/sourceRef"], "/spec/targetNamespace");
    }

    fn check_lockdown(&mut self, item: &Pending<'a>, references: &[&str], target_namespace: &str) {
        let document = item.object.document;
        let namespace = item.object.namespace.clone().unwrap_or_default();
        let tenant = self.is_tenant_namespace(&namespace);
        if tenant && document.str_at("/spec/serviceAccountName").is_none() {
            self.simulation.diagnostics.push(
                Diagnostic::error("tenant-service-account", format!("{} is in tenant namespace {namespace} but sets no serviceAccountName", item.object.describe()))
                    .at(document.location("/spec"))
                    .with_hint("without it Flux applies the tenant's manifests with its own cluster-wide rights; set the tenant's service account"),
            );
        }
        let mut outside = Vec::new();
        for pointer in references {
            if let Some(other) = document
                .value
                .pointer(&format!("{pointer}/namespace"))
                .and_then(Kept::as_str)
                && other != namespace
            {
                outside.push((format!("{pointer}/namespace"), other.to_owned()));
            }
        }
        for (index, dependency) in document
            .value
            .pointer("/spec/dependsOn")
            .and_then(Kept::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(other) = dependency.get("namespace").and_then(Kept::as_str)
                && other != namespace
            {
                outside.push((
                    format!("/spec/dependsOn/{index}/namespace"),
                    other.to_owned(),
                ));
            }
        }
        if tenant
            && let Some(other) = document.str_at(target_namespace)
            && other != namespace
        {
            outside.push((target_namespace.to_owned(), other.to_owned()));
        }
        for (pointer, other) in outside {
            let location = document.location(&pointer);
            if tenant {
                self.simulation.diagnostics.push(
                    Diagnostic::error(
                        "tenant-lockdown",
                        format!(
                            "{} in tenant namespace {namespace} references namespace {other}",
                            item.object.describe()
                        ),
                    )
                    .at(location)
                    .with_hint(
                        "a tenant's Flux objects may reference nothing outside their own namespace",
                    ),
                );
            } else if !self.fleet.validation.cross_namespace_refs
                && !pointer.ends_with("targetNamespace")
            {
                self.simulation.diagnostics.push(
                    Diagnostic::error("cross-namespace-ref", format!("{} in namespace {namespace} references namespace {other}", item.object.describe()))
                        .at(location)
                        .with_hint("Flux with --no-cross-namespace-refs rejects this; set `validation.crossNamespaceRefs: true` in fleet/fleet.yaml if the fleet's Flux allows it"),
                );
            }
        }
    }

    fn check_helm_release(&mut self, item: &Pending<'a>) {
        self.check_lockdown(
            item,
            &["/spec/chart/spec/sourceRef", "/spec/chartRef"],
            "/spec/targetNamespace",
        );
        let document = item.object.document;
        let pointer = if document.value.pointer("/spec/chartRef").is_some() {
            "/spec/chartRef"
        } else {
            "/spec/chart/spec/sourceRef"
        };
        let kind = document
            .value
            .pointer(&format!("{pointer}/kind"))
            .and_then(Kept::as_str)
            .unwrap_or("HelmRepository");
        if kind != "HelmChart" && self.resolve_source(item, pointer).is_none() {
            self.report_missing_source(item, pointer, "HelmRepository");
        }
        if document.str_at("/spec/kubeConfig/secretRef/name").is_some() {
            let _ = self.target_cluster(item);
        }
    }

    /// dependsOn of Kustomizations and HelmReleases: each names an object of the same kind on
    /// the same cluster, and no chain comes back to where it started.
    fn check_dependencies(&mut self) {
        let mut diagnostics = Vec::new();
        for (cluster, applied) in &self.simulation.clusters {
            let mut graph: BTreeMap<KindName, Vec<KindName>> = BTreeMap::new();
            let mut objects: BTreeMap<KindName, &Applied<'a>> = BTreeMap::new();
            for entry in applied
                .iter()
                .filter(|entry| is_dependent_kind(&entry.object))
            {
                let key = (
                    entry.object.kind().to_owned(),
                    entry.object.namespace.clone().unwrap_or_default(),
                    entry.object.name.clone(),
                );
                objects.entry(key).or_insert(entry);
            }
            for (key, entry) in &objects {
                let document = entry.object.document;
                for (index, dependency) in document
                    .value
                    .pointer("/spec/dependsOn")
                    .and_then(Kept::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let Some(name) = dependency.get("name").and_then(Kept::as_str) else {
                        continue;
                    };
                    let namespace = dependency
                        .get("namespace")
                        .and_then(Kept::as_str)
                        .unwrap_or(&key.1);
                    let target = (key.0.clone(), namespace.to_owned(), name.to_owned());
                    if !objects.contains_key(&target) {
                        diagnostics.push(
                            Diagnostic::error("depends-on", format!("{}: dependsOn {} {namespace}/{name} does not exist on cluster {cluster}", entry.object.describe(), key.0))
                                .at(document.location(&format!("/spec/dependsOn/{index}/name")))
                                .with_hint("Flux waits for it forever"),
                        );
                        continue;
                    }
                    graph.entry(key.clone()).or_default().push(target);
                }
            }
            for cycle in cycles(&graph) {
                let first = &cycle[0];
                let entry = objects[first];
                let names: Vec<String> = cycle
                    .iter()
                    .chain(std::iter::once(first))
                    .map(|(_, namespace, name)| format!("{namespace}/{name}"))
                    .collect();
                diagnostics.push(
                    Diagnostic::error(
                        "dependency-cycle",
                        format!(
                            "{}s on cluster {cluster} depend on each other: {}",
                            first.0,
                            names.join(" → ")
                        ),
                    )
                    .at(entry.object.document.location("/spec/dependsOn"))
                    .with_hint("none of them ever becomes ready; remove one dependsOn"),
                );
            }
        }
        self.simulation
            .diagnostics
            .extend(diagnostics.into_iter().collect());
    }

    /// Two objects with one group/kind/namespace/name on one cluster: two owners fighting, or
    /// one overwriting the other.
    fn check_duplicates(&mut self) {
        let mut diagnostics = Vec::new();
        for (cluster, applied) in &self.simulation.clusters {
            let mut seen: BTreeMap<_, &Applied<'a>> = BTreeMap::new();
            for entry in applied {
                if let Some(first) = seen.insert(entry.object.id(), entry) {
                    if first.via == entry.via {
                        // One build: the kustomize build check has reported it already.
                        continue;
                    }
                    if is_bootstrap_install(cluster, first, entry) {
                        continue;
                    }
                    let (first, second) = order(first, entry);
                    diagnostics.push(
                        Diagnostic::error(
                            "duplicate-object",
                            format!(
                                "{} reaches cluster {cluster} twice: from {} (via Kustomization {}) and from {} (via Kustomization {})",
                                second.object.describe(),
                                first.object.document.file(),
                                first.via,
                                second.object.document.file(),
                                second.via
                            ),
                        )
                        .at(second.object.document.location("/metadata/name"))
                        .with_hint("objects in a shared namespace need names of their own, e.g. prefixed with the cluster's name"),
                    );
                }
            }
        }
        self.simulation
            .diagnostics
            .extend(diagnostics.into_iter().collect());
    }
}

/// The Flux install in `clusters/<cluster>/flux-system/`, applied once from outside (by
/// `flux bootstrap`, or by a manager's Kustomization for a Cluster API cluster) and then
/// reconciled by the cluster's own `flux-system` Kustomization: two appliers by design. The
/// same holds for a namespace that a manager creates from that folder ahead of the cluster's
/// own Flux (to put the environments' Git Secrets in it): it is created only if absent, and
/// the cluster's Flux, which declares it elsewhere, owns it from then on.
fn is_bootstrap_install(cluster: &str, first: &Applied<'_>, second: &Applied<'_>) -> bool {
    let bootstrap_via = format!("{BOOTSTRAP}/{BOOTSTRAP}");
    let install_dir = format!("clusters/{cluster}/{BOOTSTRAP}/");
    let (installed, own) = if *first.via == *bootstrap_via {
        (second, first)
    } else if *second.via == *bootstrap_via {
        (first, second)
    } else {
        return false;
    };
    if !installed.object.document.path.starts_with(&install_dir) {
        return false;
    }
    std::ptr::eq(first.object.document, second.object.document)
        || (*installed.via_cluster != *cluster
            && own.object.group().is_empty()
            && own.object.kind() == "Namespace")
}

/// `(kind, namespace, name)`.
type KindName = (String, String, String);

/// Where each object of a build came from, so that a duplicate inside an included build is
/// reported by that build only.
#[derive(Debug, Default)]
struct Origins {
    /// Per object, the index of the included build it came from.
    builds: Vec<Option<usize>>,
    next: usize,
}

impl Origins {
    fn add_file<'a>(&mut self, objects: &mut Vec<Placed<'a>>, found: Vec<Placed<'a>>) {
        self.builds.extend(found.iter().map(|_| None));
        objects.extend(found);
    }

    fn add_build<'a>(&mut self, objects: &mut Vec<Placed<'a>>, found: &[Placed<'a>]) {
        self.builds.extend(found.iter().map(|_| Some(self.next)));
        self.next += 1;
        objects.extend(found.iter().cloned());
    }

    fn same_build(&self, a: usize, b: usize) -> bool {
        matches!((self.builds.get(a), self.builds.get(b)), (Some(Some(x)), Some(Some(y))) if x == y)
    }
}

fn order<'b, 'a>(a: &'b Applied<'a>, b: &'b Applied<'a>) -> (&'b Applied<'a>, &'b Applied<'a>) {
    let key = |entry: &Applied<'_>| (entry.object.document.file(), entry.object.document.index);
    if key(a) <= key(b) { (a, b) } else { (b, a) }
}

fn is_dependent_kind(object: &Placed<'_>) -> bool {
    matches!(
        (object.group(), object.kind()),
        (FLUX_KUSTOMIZE, "Kustomization") | (FLUX_HELM, "HelmRelease")
    )
}

/// Elementary cycles, each reported once, starting at its smallest node.
fn cycles<K: Ord + Clone>(graph: &BTreeMap<K, Vec<K>>) -> Vec<Vec<K>> {
    fn visit<K: Ord + Clone>(
        node: &K,
        graph: &BTreeMap<K, Vec<K>>,
        stack: &mut Vec<K>,
        done: &mut BTreeSet<K>,
        found: &mut BTreeSet<Vec<K>>,
    ) {
        if let Some(position) = stack.iter().position(|entry| entry == node) {
            let mut cycle = stack[position..].to_vec();
            let smallest = cycle
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.cmp(b.1))
                .map(|(index, _)| index)
                .unwrap_or(0);
            cycle.rotate_left(smallest);
            found.insert(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
        done.insert(node.clone());
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_iter().collect()
}

fn source_key(kind: &str, namespace: &str, name: &str) -> (String, String, String) {
    (name.to_owned(), kind.to_owned(), namespace.to_owned())
}

fn pointer_name(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `dir` + `entry`, with `.` and `..` resolved; `None` when it leaves the root.
fn normalize(dir: &str, entry: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|part| !part.is_empty()).collect();
    for part in entry.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.contains("?ref=")
}

fn normalize_url(url: &str) -> String {
    url.trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}
