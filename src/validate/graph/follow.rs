//! Following Flux objects on a cluster: what a build applies where, the sources a
//! Kustomization or HelmRelease names, the path it builds, the cluster its kubeConfig targets,
//! and the tenant lockdown and cross-namespace rules its references must keep.

use std::borrow::Cow;
use std::sync::Arc;

use std::collections::BTreeMap;

use super::build::Build;
use super::paths::normalize;
use super::walk::{Merged, Walk};
use super::{
    Applied, Context, FLUX_HELM, FLUX_KUSTOMIZE, FLUX_SOURCE, Pending, Source, Sources, source_key,
};
use crate::diagnostic::Diagnostic;
use crate::validate::document::Document;
use crate::validate::kept::Kept;

/// The branch source-controller checks out of a GitRepository that names no revision.
const FLUX_DEFAULT_BRANCH: &str = "master";

impl<'a> Walk<'_, 'a> {
    /// Records `build`'s objects as applied to `cluster`, and queues the Flux objects among
    /// them.
    pub(super) fn apply(
        &mut self,
        cluster: &str,
        build: &Build<'a>,
        target_namespace: Option<&'a str>,
        via: &Arc<str>,
        via_cluster: &Arc<str>,
    ) {
        let context = self.context;
        let flux_cluster = context.runs_flux(cluster);
        let mut applied = Vec::with_capacity(build.objects.len());
        let (mut queued, mut helm_releases) = (0, 0);
        for object in &build.objects {
            let mut object = object.clone();
            if let Some(namespace) = target_namespace
                && context.namespaced(&object) != Some(false)
            {
                object.namespace = Some(Cow::Borrowed(namespace));
            }
            let document: &'a Document<'a> = object.document;
            let group = document.group_version().map_or("", |(group, _)| group);
            let kind = document.kind().unwrap_or_default();
            if group == FLUX_SOURCE {
                let branch = context.tracked_branch(object.document);
                self.add_source(
                    cluster,
                    source_key(
                        kind,
                        object.namespace.as_deref().unwrap_or_default(),
                        &object.name,
                    ),
                    Source { branch },
                );
            }
            if group == FLUX_KUSTOMIZE && kind == "Kustomization" {
                if !flux_cluster {
                    self.report(
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
                    let item = Pending {
                        cluster: cluster.to_owned(),
                        object: object.clone(),
                        key: Vec::new(),
                    };
                    self.queue(item, &mut queued);
                }
            }
            if group == FLUX_HELM && kind == "HelmRelease" {
                let item = Pending {
                    cluster: cluster.to_owned(),
                    object: object.clone(),
                    key: Vec::new(),
                };
                self.queue_helm_release(item, helm_releases);
                helm_releases += 1;
            }
            applied.push(Applied {
                object,
                via: Arc::clone(via),
                via_cluster: Arc::clone(via_cluster),
            });
        }
        self.record(cluster, applied);
    }

    /// Follows a Kustomization whose source resolved: checks its references, then applies what
    /// its path builds to its target cluster.
    pub(super) fn follow(&mut self, item: &Pending<'a>) {
        let context = self.context;
        let mut findings = Vec::new();
        context.check_kustomization_refs(item, &mut findings);
        let source = context
            .resolve_source(self.sources(), item, "/spec/sourceRef")
            .expect("only resolved items are followed");
        let target = context.target_cluster(item, &mut findings);
        for finding in findings {
            self.report(finding);
        }
        if let Some(target) = &target {
            self.reach(target);
        }
        let document = item.object.document;
        let (Some(branch), Some(target)) = (source.branch, target) else {
            return;
        };
        let raw_path = document.str_at("/spec/path").unwrap_or("./");
        let known_branch = branch == context.main_branch()
            || context
                .fleet
                .environments
                .values()
                .any(|env| env.branch == branch);
        let missing_path = |problem: String, pointer: &str| {
            Diagnostic::error(
                "missing-path",
                format!("{}: {problem}", item.object.describe()),
            )
            .at(document.location(pointer))
        };
        let Some(branch) = context.branch_key(&branch) else {
            if !known_branch {
                let mut finding = missing_path(
                    format!("its source tracks branch {branch}, which the fleet does not have"),
                    "/spec/sourceRef/name",
                );
                if branch == FLUX_DEFAULT_BRANCH {
                    finding = finding.with_hint(format!(
                        "a GitRepository that names no revision (`spec.ref`) tracks `{FLUX_DEFAULT_BRANCH}`; set `spec.ref.branch`"
                    ));
                }
                self.report(finding);
            }
            return;
        };
        let Some(path) = normalize("", raw_path.trim_start_matches("./")) else {
            self.report(missing_path(
                format!("path {raw_path} leaves the repository root"),
                "/spec/path",
            ));
            return;
        };
        let path = path.trim_end_matches('/').to_owned();
        let Some(build) = self.build(branch, &path, true) else {
            self.report(
                missing_path(
                    format!("path {raw_path} does not exist on branch {branch}"),
                    "/spec/path",
                )
                .with_hint("Flux fails this Kustomization with \"kustomization path not found\""),
            );
            return;
        };
        self.visit(branch, &build.files);
        let target_namespace = document.str_at("/spec/targetNamespace");
        let via: Arc<str> = format!(
            "{}/{}",
            item.object.namespace.as_deref().unwrap_or_default(),
            item.object.name
        )
        .into();
        let via_cluster: Arc<str> = item.cluster.as_str().into();
        self.apply(&target, &build, target_namespace, &via, &via_cluster);
    }
}

impl Merged<'_, '_> {
    pub(super) fn check_helm_release(&mut self, item: &Pending<'_>, out: &mut Vec<Diagnostic>) {
        let context = self.context;
        context.check_lockdown(
            item,
            &["/spec/chart/spec/sourceRef", "/spec/chartRef"],
            "/spec/targetNamespace",
            out,
        );
        let document = item.object.document;
        let pointer = if document.value.pointer("/spec/chartRef").is_some() {
            "/spec/chartRef"
        } else {
            "/spec/chart/spec/sourceRef"
        };
        let kind = document
            .value
            .pointer(pointer)
            .and_then(|reference| reference.get("kind"))
            .and_then(Kept::as_str)
            .unwrap_or("HelmRepository");
        if kind != "HelmChart"
            && context
                .resolve_source(&self.sources, item, pointer)
                .is_none()
        {
            out.push(context.missing_source(&self.sources, item, pointer, "HelmRepository"));
        }
        if document.str_at("/spec/kubeConfig/secretRef/name").is_some()
            && let Some(target) = context.target_cluster(item, out)
        {
            self.simulation.clusters.entry(target).or_default();
        }
    }
}

impl<'a> Context<'a> {
    /// The branch of the fleet repo a GitRepository tracks, when it clones the fleet repo.
    pub(super) fn tracked_branch(&self, document: &Document<'_>) -> Option<String> {
        if document.kind() != Some("GitRepository") {
            return None;
        }
        let url = document.str_at("/spec/url")?;
        if normalize_url(url) != normalize_url(&self.fleet.repo.url) {
            return None;
        }
        if let Some(branch) = document.str_at("/spec/ref/branch") {
            return Some(branch.to_owned());
        }
        // A tag, a semver range or a commit may be on any branch: the main one is the guess.
        let pinned = [
            "/spec/ref/tag",
            "/spec/ref/semver",
            "/spec/ref/commit",
            "/spec/ref/name",
        ]
        .iter()
        .any(|pointer| document.str_at(pointer).is_some());
        Some(match pinned {
            true => self.main_branch().to_owned(),
            // What source-controller checks out when nothing says which revision.
            false => FLUX_DEFAULT_BRANCH.to_owned(),
        })
    }

    fn is_tenant_namespace(&self, namespace: &str) -> bool {
        self.tenant_namespaces.contains(namespace)
    }

    /// The source a Flux object's reference at `pointer` names, if it reaches the same cluster.
    pub(super) fn resolve_source(
        &self,
        sources: &BTreeMap<String, Sources>,
        item: &Pending<'_>,
        pointer: &str,
    ) -> Option<Source> {
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
        sources
            .get(&item.cluster)?
            .get(&source_key(kind, namespace, name))
            .cloned()
    }

    /// The finding for a source reference at `pointer` that names nothing on the cluster.
    pub(super) fn missing_source(
        &self,
        sources: &BTreeMap<String, Sources>,
        item: &Pending<'_>,
        pointer: &str,
        default_kind: &str,
    ) -> Diagnostic {
        let document = item.object.document;
        let Some(reference) = document.value.pointer(pointer) else {
            return Diagnostic::error(
                "source-not-found",
                format!(
                    "{} has no {}",
                    item.object.describe(),
                    pointer_name(pointer)
                ),
            )
            .at(document.location("/spec"));
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
        let known: Vec<String> = sources
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
        diagnostic
    }

    /// The cluster a Flux object applies to: the one its kubeConfig Secret is for, or its own.
    pub(super) fn target_cluster(
        &self,
        item: &Pending<'_>,
        out: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let document = item.object.document;
        let Some(secret) = document.str_at("/spec/kubeConfig/secretRef/name") else {
            return Some(item.cluster.clone());
        };
        let namespace = item.object.namespace.clone().unwrap_or_default();
        if !self.kubeconfigs.contains(&(
            item.cluster.clone(),
            namespace.to_string(),
            secret.to_owned(),
        )) {
            out.push(
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
        Some(cluster.to_owned())
    }

    /// Tenant lockdown and cross-namespace references of a Kustomization.
    pub(super) fn check_kustomization_refs(&self, item: &Pending<'_>, out: &mut Vec<Diagnostic>) {
        self.check_lockdown(item, &["/spec/sourceRef"], "/spec/targetNamespace", out);
    }

    pub(super) fn check_lockdown(
        &self,
        item: &Pending<'_>,
        references: &[&str],
        target_namespace: &str,
        out: &mut Vec<Diagnostic>,
    ) {
        let document = item.object.document;
        let namespace = item.object.namespace.clone().unwrap_or_default();
        let tenant = self.is_tenant_namespace(&namespace);
        if tenant && document.str_at("/spec/serviceAccountName").is_none() {
            out.push(
                Diagnostic::error("tenant-service-account", format!("{} is in tenant namespace {namespace} but sets no serviceAccountName", item.object.describe()))
                    .at(document.location("/spec"))
                    .with_hint("without it Flux applies the tenant's manifests with its own cluster-wide rights; set the tenant's service account"),
            );
        }
        let mut outside = Vec::new();
        for pointer in references {
            if let Some(other) = document
                .value
                .pointer(pointer)
                .and_then(|reference| reference.get("namespace"))
                .and_then(Kept::as_str)
                && other != namespace
            {
                outside.push((format!("{pointer}/namespace"), other.to_owned()));
            }
        }
        for (index, dependency) in document.value.list_at("/spec/dependsOn").iter().enumerate() {
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
                out.push(
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
                out.push(
                    Diagnostic::error("cross-namespace-ref", format!("{} in namespace {namespace} references namespace {other}", item.object.describe()))
                        .at(location)
                        .with_hint("Flux with --no-cross-namespace-refs rejects this; set `validation.crossNamespaceRefs: true` in fleet/fleet.yaml if the fleet's Flux allows it"),
                );
            }
        }
    }
}

fn pointer_name(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

fn normalize_url(url: &str) -> String {
    url.trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}
