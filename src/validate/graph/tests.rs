//! The walks of the clusters, run apart and merged, give what one walk over every cluster
//! gives: the same objects on each cluster in the same order, the same files reached and the
//! same findings in the same order.

use std::collections::BTreeSet;
use std::path::Path;

use super::walk::{self, Walk};
use super::{Context, Simulation};
use crate::diagnostic::Diagnostics;
use crate::model::Fleet;
use crate::pipeline::{Compiled, compile};
use crate::render::Rendered;
use crate::tree::Tree;
use crate::validate::document::Document;
use crate::validate::load_schemas;
use crate::validate::parse;
use crate::validate::schema::Schemas;

fn compiled(root: &Path) -> Compiled {
    compile(root, &[]).unwrap_or_else(|error| panic!("{} compiles: {error}", root.display()))
}

/// Each object on each cluster, in order, with the Kustomization that applies it.
fn applied(simulation: &Simulation<'_>) -> Vec<(String, Vec<String>)> {
    simulation
        .clusters
        .iter()
        .map(|(cluster, applied)| {
            let objects = applied
                .iter()
                .map(|entry| {
                    format!(
                        "{} #{} {} via {} on {}",
                        entry.object.document.file(),
                        entry.object.document.index,
                        entry.object.describe(),
                        entry.via,
                        entry.via_cluster
                    )
                })
                .collect();
            (cluster.clone(), objects)
        })
        .collect()
}

/// What a walk of each cluster that runs Flux on its own needs to be walked with.
fn joined(context: &Context<'_>) -> Vec<BTreeSet<String>> {
    let walks: Vec<_> = context
        .fleet
        .clusters
        .values()
        .filter(|cluster| !cluster.is_remote())
        .map(|cluster| Walk::new(context, BTreeSet::from([cluster.name.clone()])).run())
        .collect();
    walk::join(&walks)
}

/// The main branch's rendered tree, to plant files in.
fn main_tree(compiled: &mut Compiled) -> &mut Tree {
    let main = compiled.fleet.repo.main_branch.clone();
    compiled
        .rendered
        .branches
        .trees
        .get_mut(&main)
        .expect("the main branch is rendered")
}

/// What a walk's context is made of: the fleet's schemas and the rendered documents.
fn schemas_and_documents<'r>(
    fleet: &Fleet,
    rendered: &'r Rendered,
) -> (Schemas, Vec<Document<'r>>) {
    let (schemas, _) = load_schemas(fleet, Some(rendered)).expect("schemas load");
    let (documents, syntax) = parse::parse_branches(&rendered.branches);
    assert!(syntax.is_empty(), "{syntax:?}");
    (schemas, documents)
}

/// Walks `rendered` in parallel and in one walk, asserts that both agree, and returns the
/// findings and the groups of clusters walked together.
fn walk_both_ways(fleet: &Fleet, rendered: &Rendered) -> (Diagnostics, Vec<BTreeSet<String>>) {
    let (schemas, documents) = schemas_and_documents(fleet, rendered);
    let context = Context::new(fleet, rendered, &documents, &schemas);
    let parallel = walk::parallel(&context);
    let joint = walk::joint(&context);
    assert_eq!(applied(&parallel), applied(&joint));
    assert_eq!(parallel.visited, joint.visited);
    assert_eq!(parallel.diagnostics, joint.diagnostics);
    (parallel.diagnostics, joined(&context))
}

#[test]
fn clusters_walked_apart_agree_with_one_walk_and_stand_alone() {
    let compiled = compiled(Path::new(env!("CARGO_MANIFEST_DIR")));
    let (diagnostics, joined) = walk_both_ways(&compiled.fleet, &compiled.rendered);
    assert!(!diagnostics.has_errors(), "{diagnostics}");
    assert!(joined.is_empty(), "{joined:?}");
}

#[test]
fn a_cluster_whose_flux_its_manager_installs_stands_alone_when_it_gets_only_flux() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capi-fleet");
    let compiled = compiled(&root);
    let (_, joined) = walk_both_ways(&compiled.fleet, &compiled.rendered);
    assert!(joined.is_empty(), "{joined:?}");
}

#[test]
fn a_cluster_given_a_kustomization_by_its_manager_is_walked_with_the_manager() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capi-fleet");
    let mut compiled = compiled(&root);
    let tree = main_tree(&mut compiled);
    // The manager applies this folder to os-edge before its Flux runs; its own Flux never does.
    let list = "clusters/os-edge/flux-system/environments/kustomization.yaml";
    let text = String::from_utf8(tree.get(list).expect("the fixture has it").to_vec()).unwrap();
    let from = "  - fleet-repo-secrets.yaml\n";
    assert!(text.contains(from), "{text}");
    tree.insert(
        list,
        text.replace(from, &format!("{from}  - handed-over.yaml\n")),
    );
    tree.insert(
        "clusters/os-edge/flux-system/environments/handed-over.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: handed-over\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./handed-over\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    tree.insert(
        "handed-over/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: handed-over\n  namespace: default\ndata:\n  key: value\n",
    );
    let (schemas, documents) = schemas_and_documents(&compiled.fleet, &compiled.rendered);
    let context = Context::new(&compiled.fleet, &compiled.rendered, &documents, &schemas);
    assert_eq!(
        joined(&context),
        [BTreeSet::from(["mgmt".to_owned(), "os-edge".to_owned()])]
    );
    let simulation = walk::parallel(&context);
    assert!(
        simulation.clusters["os-edge"].iter().any(|entry| {
            entry.object.describe() == "ConfigMap default/handed-over"
                && &*entry.via == "flux-system/handed-over"
                && &*entry.via_cluster == "os-edge"
        }),
        "{:#?}",
        applied(&simulation)
    );
    walk_both_ways(&compiled.fleet, &compiled.rendered);
}

#[test]
fn a_finding_in_a_directory_two_clusters_build_is_reported_once() {
    let mut compiled = compiled(Path::new(env!("CARGO_MANIFEST_DIR")));
    let main = compiled.fleet.repo.main_branch.clone();
    let tree = main_tree(&mut compiled);
    for cluster in ["k3d-america", "k3d-emea"] {
        tree.insert(
            format!("clusters/{cluster}/shared.yaml"),
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: shared\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./shared\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        );
    }
    tree.insert(
        "shared/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - config.yaml\n  - missing.yaml\n",
    );
    tree.insert(
        "shared/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: value\n",
    );
    let (diagnostics, joined) = walk_both_ways(&compiled.fleet, &compiled.rendered);
    assert!(joined.is_empty(), "{joined:?}");
    let missing: Vec<_> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.message.contains("`missing.yaml`"))
        .collect();
    assert_eq!(missing.len(), 1, "{diagnostics}");

    // Both clusters' walks build the directory: the finding is made twice and kept once.
    let (schemas, documents) = schemas_and_documents(&compiled.fleet, &compiled.rendered);
    let context = Context::new(&compiled.fleet, &compiled.rendered, &documents, &schemas);
    for cluster in ["k3d-america", "k3d-emea"] {
        let walked = Walk::new(&context, BTreeSet::from([cluster.to_owned()])).run();
        assert!(
            walked.built.contains_key(&(main.as_str(), "shared", true)),
            "{cluster} builds shared/"
        );
    }
}

#[test]
fn directories_that_include_each_other_build_as_in_one_walk() {
    let mut compiled = compiled(Path::new(env!("CARGO_MANIFEST_DIR")));
    let tree = main_tree(&mut compiled);
    // Which of the two a build takes in depends on which one the walk met first.
    for (cluster, dir, other) in [("k3d-america", "a", "b"), ("k3d-emea", "b", "a")] {
        tree.insert(
            format!("clusters/{cluster}/loop.yaml"),
            format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: loop\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./loop/{dir}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
        );
        tree.insert(
            format!("loop/{dir}/kustomization.yaml"),
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - config.yaml\n  - ../{other}\n"),
        );
        tree.insert(
            format!("loop/{dir}/config.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loop-{dir}\n  namespace: default\n"),
        );
    }
    walk_both_ways(&compiled.fleet, &compiled.rendered);
}
