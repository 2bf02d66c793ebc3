//! Computed `kustomization.yaml` files. Every directory at depth two or more of a branch
//! (`infra/<cluster>`, `tenants/<cluster>/<tenant>`, …) that holds generated files gets one
//! listing, sorted, its YAML files and its subdirectories — so the lists can never go stale.
//! Top-level folders (`clusters/`, `infra/`, `tenants/`) are only folders, and `flux bootstrap`
//! paths are left to Flux, whose generated kustomization also takes in `flux-system/`.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::render::is_yaml;
use crate::tree::{GENERATED_HEADER, Tree};

pub const FILE: &str = "kustomization.yaml";

/// Adds the missing kustomization files to `tree`. Directories in `declared` get one even when
/// empty; those in `bootstrap` never do; a kustomization.yaml written by a blueprint is kept.
pub fn complete(tree: &mut Tree, declared: &BTreeSet<String>, bootstrap: &BTreeSet<String>) {
    for (path, text) in missing(tree, declared, bootstrap) {
        tree.insert(path, text);
    }
}

/// The kustomization files [`complete`] adds, worked out from borrowed paths (a large branch
/// has tens of thousands of directories) and written on every core.
fn missing(
    tree: &Tree,
    declared: &BTreeSet<String>,
    bootstrap: &BTreeSet<String>,
) -> Vec<(String, String)> {
    // Paths come in order, so most files are in the directory of the file before them:
    // that directory is looked up once, not once per file.
    let mut directories: BTreeSet<&str> = BTreeSet::new();
    let mut last: Option<&str> = None;
    for path in tree.paths() {
        let mut dir = parent(path);
        if dir == last {
            continue;
        }
        last = dir;
        while let Some(current) = dir {
            if !directories.insert(current) {
                // Its parents went in with it.
                break;
            }
            dir = parent(current);
        }
    }
    directories.extend(declared.iter().map(String::as_str));
    directories.retain(|dir| dir.contains('/') && !bootstrap.contains(*dir));

    let mut entries: BTreeMap<&str, BTreeSet<&str>> = directories
        .iter()
        .map(|dir| (*dir, BTreeSet::new()))
        .collect();
    let mut current: Option<(&str, Option<&mut BTreeSet<&str>>)> = None;
    for path in tree.paths() {
        let Some(dir) = parent(path) else { continue };
        let name = &path[dir.len() + 1..];
        if !is_yaml(path) || name == FILE || name == "kustomization.yml" {
            continue;
        }
        if current.as_ref().is_none_or(|(listed, _)| *listed != dir) {
            current = Some((dir, entries.get_mut(dir)));
        }
        if let Some((_, Some(list))) = &mut current {
            list.insert(name);
        }
    }
    for dir in &directories {
        if let Some(up) = parent(dir) {
            let name = &dir[up.len() + 1..];
            if let Some(list) = entries.get_mut(up) {
                list.insert(name);
            }
        }
    }
    let entries: Vec<(&str, BTreeSet<&str>)> = entries.into_iter().collect();
    entries
        .into_par_iter()
        .filter_map(|(dir, resources)| {
            let path = format!("{dir}/{FILE}");
            let kept = tree.contains(&path) || tree.contains(&format!("{dir}/kustomization.yml"));
            (!kept).then(|| (path, render(&resources)))
        })
        .collect()
}

fn parent(path: &str) -> Option<&str> {
    path.rfind('/').map(|index| &path[..index])
}

fn render(resources: &BTreeSet<&str>) -> String {
    let mut text = format!(
        "{GENERATED_HEADER}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    );
    if resources.is_empty() {
        text.push_str("resources: []\n");
    } else {
        text.push_str("resources:\n");
        for resource in resources {
            text.push_str("  - ");
            // A file or folder name can come from a value; it stays one list item.
            text.push_str(&crate::render::scalar::scalar(resource));
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kustomization(tree: &Tree, dir: &str) -> Option<String> {
        tree.get(&format!("{dir}/{FILE}"))
            .map(|bytes| String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn lists_files_and_subdirectories_sorted() {
        let mut tree = Tree::new();
        tree.insert("infra/a/nginx/release.yaml", "x");
        tree.insert("infra/a/nginx/namespace.yaml", "x");
        tree.insert("infra/a/zz.yaml", "x");
        tree.insert("infra/a/README.md", "x");
        complete(&mut tree, &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(
            kustomization(&tree, "infra/a/nginx").unwrap(),
            format!(
                "{GENERATED_HEADER}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - release.yaml\n"
            )
        );
        assert!(
            kustomization(&tree, "infra/a")
                .unwrap()
                .ends_with("resources:\n  - nginx\n  - zz.yaml\n")
        );
        assert_eq!(kustomization(&tree, "infra"), None);
    }

    #[test]
    fn declared_dirs_exist_empty_and_bootstrap_paths_are_skipped() {
        let mut tree = Tree::new();
        tree.insert("clusters/a/infrastructure.yaml", "x");
        tree.insert("clusters/a/environments/dev/sync.yaml", "x");
        let declared = BTreeSet::from(["infra/a".to_owned()]);
        let bootstrap = BTreeSet::from(["clusters/a".to_owned()]);
        complete(&mut tree, &declared, &bootstrap);
        assert!(
            kustomization(&tree, "infra/a")
                .unwrap()
                .ends_with("resources: []\n")
        );
        assert_eq!(kustomization(&tree, "clusters/a"), None);
        assert!(
            kustomization(&tree, "clusters/a/environments")
                .unwrap()
                .ends_with("resources:\n  - dev\n")
        );
    }

    #[test]
    fn blueprint_kustomizations_are_kept() {
        let mut tree = Tree::new();
        tree.insert("infra/a/x/kustomization.yaml", "mine");
        tree.insert("infra/a/x/patch.yaml", "x");
        complete(&mut tree, &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(kustomization(&tree, "infra/a/x").unwrap(), "mine");
    }

    #[test]
    fn a_name_from_a_value_stays_one_resource() {
        let mut tree = Tree::new();
        tree.insert("infra/a/x\nnamespace: kube-system/a.yaml", "x");
        tree.insert("infra/a/b: c.yaml", "x");
        complete(&mut tree, &BTreeSet::new(), &BTreeSet::new());
        let text = kustomization(&tree, "infra/a").unwrap();
        let parsed: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let mapping = parsed.as_mapping().unwrap();
        assert_eq!(mapping.len(), 3, "{text}");
        assert_eq!(
            parsed["resources"].as_sequence().unwrap().len(),
            2,
            "{text}"
        );
    }
}
