//! The kustomize build of one directory, as kustomize and kustomize-controller do it: a
//! kustomization file's resources, bases, components and patches, or the one the controller
//! generates where there is none; and the id conflicts kustomize refuses.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt, HashSet};

use super::Placed;
use super::paths::{is_remote, join, normalize};
use super::walk::Walk;
use crate::diagnostic::Diagnostic;
use crate::render::is_yaml;
use crate::tree::OWNED_LIST;
use crate::validate::document::Document;
use crate::validate::kept::Kept;

use crate::validate::kustomize_file::FILE_NAMES as KUSTOMIZATION_FILES;

/// The result of building one directory.
#[derive(Debug, Default)]
pub(super) struct Build<'a> {
    pub(super) objects: Vec<Placed<'a>>,
    /// Every file the build reads, once per way it is reached: only ever marked as reached.
    pub(super) files: Vec<&'a str>,
}

/// How many builds deep a build may be inside others: far more than any kustomization tree
/// needs, and far less than a validating thread's stack holds.
const MAX_NESTING: usize = 100;

/// `(branch, directory, generated)`: a build, as the walk memoises it.
pub(super) type BuildKey<'a> = (&'a str, &'a str, bool);

impl<'a> Walk<'_, 'a> {
    /// Builds `dir` on `branch` the way kustomize does, or — when `generated` and the directory
    /// has no kustomization file — the way kustomize-controller generates one: every YAML file
    /// below it, and every subdirectory that has a kustomization file as a whole. `None` when
    /// the directory does not exist.
    pub(super) fn build(&self, branch: &str, dir: &str, generated: bool) -> Option<Rc<Build<'a>>> {
        let (branch, dirs) = self.context.directories.get_key_value(branch)?;
        let (dir, kustomization) = dirs.get_key_value(dir)?;
        let key: BuildKey<'a> = (*branch, *dir, generated);
        if let Some(build) = self.builds.borrow().get(&key) {
            if !self.built.borrow().contains_key(&key) {
                self.cyclic.set(true);
            }
            return Some(Rc::clone(build));
        }
        // A directory that includes itself (through `..`) would recurse forever; seeing it
        // again while it is being built ends that loop with an empty build.
        self.builds
            .borrow_mut()
            .insert(key, Rc::new(Build::default()));
        let mut findings = Vec::new();
        let build = if self.nesting.get() >= MAX_NESTING {
            // Templates can nest directories, and chain them through `resources`, as deep as
            // they like: each build inside another takes stack, and a few thousand overflowed
            // it. kustomize would follow; the walk reports it and goes no deeper.
            findings.push(self.too_deep(branch, dir, *kustomization));
            Build::default()
        } else {
            self.nesting.set(self.nesting.get() + 1);
            let build = match kustomization {
                Some(file) => self.build_kustomization(branch, dir, file, &mut findings),
                None if generated => self.build_generated(branch, dir, &mut findings),
                None => Build::default(),
            };
            self.nesting.set(self.nesting.get() - 1);
            build
        };
        // Findings belong to the build that makes them, so that the merge of the walks keeps
        // them once however many walks make it.
        self.build_findings
            .borrow_mut()
            .extend(findings.into_iter().map(|finding| (key, finding)));
        self.built.borrow_mut().insert(key, self.step.clone());
        let build = Rc::new(build);
        self.builds.borrow_mut().insert(key, Rc::clone(&build));
        Some(build)
    }

    fn too_deep(&self, branch: &str, dir: &str, kustomization: Option<&'a str>) -> Diagnostic {
        let finding = Diagnostic::error(
            "build-depth",
            format!(
                "kustomize builds nest more than {MAX_NESTING} deep at `{}` on branch {branch}; not followed further",
                crate::diagnostic::truncate(dir)
            ),
        )
        .with_hint("a tree this deep is most likely a template path or `resources` entries that run away");
        match kustomization.and_then(|file| self.context.files.get(branch, file).first()) {
            Some(document) => finding.at(document.location("")),
            None => finding.at_file(format!("{branch}/{dir}")),
        }
    }

    fn is_directory(&self, branch: &str, dir: &str) -> bool {
        self.context
            .directories
            .get(branch)
            .is_some_and(|dirs| dirs.contains_key(dir))
    }

    fn kustomization_file(&self, branch: &str, dir: &str) -> Option<&'a str> {
        *self.context.directories.get(branch)?.get(dir)?
    }

    /// The rendered tree of `branch`, borrowed for as long as the walk.
    fn tree(&self, branch: &str) -> Option<&'a crate::tree::Tree> {
        let rendered: &'a crate::render::Rendered = self.context.rendered;
        rendered.branches.trees.get(branch)
    }

    fn objects_of(&self, branch: &str, path: &str) -> Vec<Placed<'a>> {
        self.context
            .files
            .get(branch, path)
            .iter()
            .filter(|document| document.is_object())
            .map(|document| Placed {
                document,
                namespace: document.namespace().map(Cow::Borrowed),
                name: Cow::Borrowed(document.name().unwrap_or_default()),
            })
            .collect()
    }

    fn build_generated(
        &self,
        branch: &str,
        dir: &str,
        findings: &mut Vec<Diagnostic>,
    ) -> Build<'a> {
        let mut build = Build::default();
        let Some(tree) = self.tree(branch) else {
            return build;
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut included_dirs = BTreeSet::new();
        let mut origins = Origins::default();
        // A range of the sorted paths: a walk over every file per generated build made the
        // bootstrap builds quadratic in the clusters.
        for path in tree.paths_starting_with(&prefix) {
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
                    build.files.push(path);
                    origins.add_file(&mut build.objects, self.objects_of(branch, path));
                }
                None => {}
            }
        }
        for sub in included_dirs {
            if let Some(inner) = self.build(branch, &sub, false) {
                build.files.extend(inner.files.iter().copied());
                origins.add_build(&mut build.objects, &inner.objects);
            }
        }
        self.report_build_duplicates(branch, &build.objects, &origins, None, findings);
        build
    }

    fn build_kustomization(
        &self,
        branch: &str,
        dir: &str,
        file: &'a str,
        findings: &mut Vec<Diagnostic>,
    ) -> Build<'a> {
        let mut build = Build::default();
        build.files.push(file);
        let Some(kustomization) = self.context.files.get(branch, file).first() else {
            return build;
        };
        let mut diagnostics = Vec::new();
        let mut origins = Origins::default();
        for field in ["resources", "bases", "components"] {
            for (index, entry) in kustomization.value.list(field).iter().enumerate() {
                let Some(entry) = entry.as_str() else {
                    continue;
                };
                if is_remote(entry) {
                    continue;
                }
                // Only a finding needs it.
                let pointer = || format!("/{field}/{index}");
                let Some(target) = normalize(dir, entry) else {
                    diagnostics.push(
                        Diagnostic::error(
                            "missing-resource",
                            format!("{field} entry `{entry}` leaves the branch root"),
                        )
                        .at(kustomization.location(&pointer())),
                    );
                    continue;
                };
                let tree = self
                    .tree(branch)
                    .expect("the branch of a build is rendered");
                if let Some(file) = tree.key(&target) {
                    build.files.push(file);
                    origins.add_file(&mut build.objects, self.objects_of(branch, file));
                } else if self.is_directory(branch, &target) {
                    if self.kustomization_file(branch, &target).is_none() {
                        diagnostics.push(
                            Diagnostic::error("missing-resource", format!("{field} entry `{entry}` is a directory without a kustomization.yaml"))
                                .at(kustomization.location(&pointer()))
                                .with_hint("kustomize builds only directories that have one"),
                        );
                        continue;
                    }
                    if let Some(inner) = self.build(branch, &target, false) {
                        build.files.extend(inner.files.iter().copied());
                        origins.add_build(&mut build.objects, &inner.objects);
                    }
                } else if let Some(how) = self
                    .context
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
                        .at(kustomization.location(&pointer()))
                        .with_hint(how.clone()),
                    );
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            "missing-resource",
                            format!("{field} entry `{entry}` does not exist on branch {branch}"),
                        )
                        .at(kustomization.location(&pointer())),
                    );
                }
            }
        }
        // Patches are part of the build too: a listed patch file must exist.
        let patch_files = kustomization
            .value
            .list("patches")
            .iter()
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
                    .list("patchesStrategicMerge")
                    .iter()
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
            let tree = self
                .tree(branch)
                .expect("the branch of a build is rendered");
            match normalize(dir, &path).and_then(|target| tree.key(&target)) {
                Some(file) => {
                    build.files.push(file);
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
        self.report_build_duplicates(branch, &build.objects, &origins, None, findings);

        if let Some(namespace) = kustomization.value.get("namespace").and_then(Kept::as_str) {
            let before = build
                .objects
                .iter()
                .map(Placed::id)
                .collect::<HashSet<_>>()
                .len();
            for object in &mut build.objects {
                if self.context.namespaced(object) != Some(false) {
                    object.namespace = Some(Cow::Borrowed(namespace));
                } else if object.group().is_empty() && object.kind() == "Namespace" {
                    // kustomize renames Namespace objects to the namespace it sets.
                    object.name = Cow::Borrowed(namespace);
                }
            }
            // Only ids that were distinct before and collide now are the transformation's doing.
            if before == build.objects.len() {
                self.report_build_duplicates(
                    branch,
                    &build.objects,
                    &Origins::default(),
                    Some((kustomization, namespace)),
                    findings,
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
                    object.name = format!("{prefix}{}{suffix}", object.name).into();
                }
            }
        }
        findings.extend(diagnostics);
        build
    }

    fn report_build_duplicates(
        &self,
        branch: &str,
        objects: &[Placed<'a>],
        origins: &Origins,
        namespace: Option<(&Document<'_>, &str)>,
        findings: &mut Vec<Diagnostic>,
    ) {
        let mut seen: HashMap<_, (usize, &Placed<'a>)> = HashMap::new();
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
    }
}

/// Every directory of `tree` that holds a file at any depth (the root is `""`), with the
/// kustomization file it has, if any: the first of [`KUSTOMIZATION_FILES`] there, as kustomize
/// looks for them.
pub(super) fn directories(tree: &crate::tree::Tree) -> HashMap<&str, Option<&str>> {
    let mut directories: HashMap<&str, Option<&str>> = [("", None)].into_iter().collect();
    for path in tree.paths() {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        if let Some(rank) = KUSTOMIZATION_FILES.iter().position(|file| *file == name) {
            let slot = directories.entry(parent).or_insert(None);
            let better = slot.is_none_or(|held: &str| {
                let held = held.rsplit_once('/').map_or(held, |(_, name)| name);
                KUSTOMIZATION_FILES.iter().position(|file| *file == held) > Some(rank)
            });
            if better {
                *slot = Some(path);
            }
        }
        let mut current = path;
        while let Some((dir, _)) = current.rsplit_once('/') {
            if directories.contains_key(dir) && dir != parent {
                // Its parents went in with it.
                break;
            }
            directories.entry(dir).or_insert(None);
            current = dir;
        }
    }
    directories
}

/// Where each object of a build came from, so that a duplicate inside an included build is
/// reported by that build only.
#[derive(Debug, Default)]
struct Origins {
    /// Per object, the number of the included build it came from, or [`Origins::FILE`]: one
    /// entry per object of every build, so kept small.
    builds: Vec<u32>,
    next: u32,
}

impl Origins {
    /// An object of a file the kustomization lists itself.
    const FILE: u32 = u32::MAX;

    fn add_file<'a>(&mut self, objects: &mut Vec<Placed<'a>>, found: Vec<Placed<'a>>) {
        self.builds.extend(found.iter().map(|_| Self::FILE));
        objects.extend(found);
    }

    fn add_build<'a>(&mut self, objects: &mut Vec<Placed<'a>>, found: &[Placed<'a>]) {
        self.builds.extend(found.iter().map(|_| self.next));
        self.next = (self.next + 1).min(Self::FILE - 1);
        objects.extend(found.iter().cloned());
    }

    fn same_build(&self, a: usize, b: usize) -> bool {
        matches!((self.builds.get(a), self.builds.get(b)), (Some(x), Some(y)) if x == y && *x != Self::FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_know_their_kustomization_file_as_kustomize_picks_it() {
        let mut tree = crate::tree::Tree::new();
        for path in [
            "kustomization.yaml",
            "a/b/c/file.yaml",
            "a/b/Kustomization",
            "a/b/kustomization.yml",
            "a/x/kustomization.yml",
            "a/x/Kustomization",
            "d/notes.yaml",
        ] {
            tree.insert(path, "kind: X\n");
        }
        let directories = directories(&tree);
        let mut listed: Vec<(&str, Option<&str>)> = directories
            .iter()
            .map(|(dir, file)| (*dir, *file))
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                ("", Some("kustomization.yaml")),
                ("a", None),
                ("a/b", Some("a/b/kustomization.yml")),
                ("a/b/c", None),
                ("a/x", Some("a/x/kustomization.yml")),
                ("d", None),
            ]
        );
    }
}
