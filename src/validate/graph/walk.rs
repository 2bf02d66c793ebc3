//! The walk of the Flux clusters: one walk per cluster, run in parallel, and the merge that
//! makes of them what one walk over every cluster gives, in the same order.
//!
//! One walk over all clusters applies each cluster's bootstrap build in name order, then goes
//! round after round through one queue of pending Kustomizations. A cluster's Flux only follows
//! what reaches that cluster, so the part of the queue that belongs to one cluster evolves the
//! same whether the others are walked with it or not; each walk keeps, for every step, the key
//! that step would have in the shared queue, and the merge sorts by it. Two things do cross
//! from one cluster to another: what a Kustomization applies through a `kubeConfig`, which the
//! merge places by its key, and Flux objects given to another cluster that runs Flux (a Cluster
//! API cluster's Flux is installed by its manager), which may change that cluster's walk: such
//! clusters are walked again together. A directory that includes itself builds differently
//! depending on where its build starts, so then every cluster is walked in one walk.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt, HashSet};
use rayon::prelude::*;

use super::build::{Build, BuildKey};
use super::{
    Applied, BOOTSTRAP, Context, FLUX_SOURCE, Pending, Simulation, Source, Sources,
    bootstrap_source, source_key,
};
use crate::diagnostic::Diagnostic;

/// The place of a step or a pending item in one walk over every cluster, compared
/// lexicographically. A bootstrap build is step `[0, i]` for the `i`th cluster; the item it
/// queues `j`th is `[i, j]` in the first round. Following an item with key `k` in round `r` is
/// step `[r, k..]`; in the next round an item it queued `j`th is `[0, k.., j]`, and an item
/// still waiting `[1, k..]`, as the queue puts what is new before what waits. No key of a
/// round is a prefix of another, so comparing the flat lists compares the places.
pub(super) type Step = Vec<u32>;

/// The state of one walk: the Flux of `roots`, and everything their Kustomizations apply.
pub(super) struct Walk<'c, 'a> {
    pub(super) context: &'c Context<'a>,
    pub(super) builds: RefCell<HashMap<BuildKey<'a>, Rc<Build<'a>>>>,
    /// The step each build was made in, once it is complete.
    pub(super) built: RefCell<HashMap<BuildKey<'a>, Step>>,
    /// Findings of kustomize builds, which run memoised behind shared references.
    pub(super) build_findings: RefCell<Vec<(BuildKey<'a>, Diagnostic)>>,
    /// A build met itself: its result depends on where the walk entered the loop.
    pub(super) cyclic: Cell<bool>,
    /// How many builds the one being made is inside.
    pub(super) nesting: Cell<usize>,
    pub(super) step: Step,
    /// The key the items the current step queues start with.
    queued_prefix: Step,
    sources: BTreeMap<String, Sources>,
    followed: BTreeSet<(String, String, String)>,
    pending: Vec<Pending<'a>>,
    walked: Walked<'a>,
}

/// What one walk found, without its builds (which are not shared between threads).
#[derive(Default)]
pub(super) struct Walked<'a> {
    roots: BTreeSet<String>,
    /// What each step applied, and to which cluster.
    applied: Vec<(Step, String, Vec<Applied<'a>>)>,
    /// Clusters something reaches, or a kubeConfig names, even when nothing is applied.
    clusters: BTreeSet<String>,
    visited: HashSet<(&'a str, &'a str)>,
    diagnostics: Vec<(Step, Diagnostic)>,
    build_findings: Vec<(BuildKey<'a>, Diagnostic)>,
    pub(super) built: HashMap<BuildKey<'a>, Step>,
    cyclic: bool,
    /// Kustomizations whose source never reached their cluster.
    left: Vec<Pending<'a>>,
    /// Rounds through the queue, the last one without progress.
    rounds: u32,
    /// HelmReleases, by the step that applied them and their place in it.
    helm_releases: Vec<((Step, u32), Pending<'a>)>,
    /// Clusters outside the walk, running Flux, given Flux objects that may change their walk.
    touched: BTreeSet<String>,
    /// Clusters outside the walk given their own bootstrap source, tracking the main branch:
    /// harmless unless their walk points that source elsewhere.
    bootstrap_sources: BTreeSet<String>,
    /// Clusters of the walk whose bootstrap source it points at another branch or repository.
    bootstrap_moved: BTreeSet<String>,
}

impl<'c, 'a> Walk<'c, 'a> {
    pub(super) fn new(context: &'c Context<'a>, roots: BTreeSet<String>) -> Self {
        Self {
            context,
            builds: RefCell::new(HashMap::new()),
            built: RefCell::new(HashMap::new()),
            build_findings: RefCell::new(Vec::new()),
            cyclic: Cell::new(false),
            nesting: Cell::new(0),
            step: Vec::new(),
            queued_prefix: Vec::new(),
            sources: BTreeMap::new(),
            followed: BTreeSet::new(),
            pending: Vec::new(),
            walked: Walked {
                roots,
                ..Walked::default()
            },
        }
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.walked
            .diagnostics
            .push((self.step.clone(), diagnostic));
    }

    pub(super) fn is_root(&self, cluster: &str) -> bool {
        self.walked.roots.contains(cluster)
    }

    pub(super) fn reach(&mut self, cluster: &str) {
        if !self.walked.clusters.contains(cluster) {
            self.walked.clusters.insert(cluster.to_owned());
        }
    }

    pub(super) fn visit(&mut self, branch: &'a str, files: &[&'a str]) {
        self.walked
            .visited
            .extend(files.iter().map(|file| (branch, *file)));
    }

    pub(super) fn sources(&self) -> &BTreeMap<String, Sources> {
        &self.sources
    }

    /// Records `applied` as what the current step takes to `cluster`.
    pub(super) fn record(&mut self, cluster: &str, applied: Vec<Applied<'a>>) {
        self.walked
            .applied
            .push((self.step.clone(), cluster.to_owned(), applied));
    }

    pub(super) fn add_source(
        &mut self,
        cluster: &str,
        key: (String, String, String),
        source: Source,
    ) {
        let bootstrap = key == bootstrap_source();
        let main = source.branch.as_deref() == Some(self.context.main_branch());
        if self.is_root(cluster) {
            if bootstrap && !main {
                self.walked.bootstrap_moved.insert(cluster.to_owned());
            }
            self.sources
                .entry(cluster.to_owned())
                .or_default()
                .insert(key, source);
        } else if self.context.runs_flux(cluster) {
            if bootstrap && main {
                self.walked.bootstrap_sources.insert(cluster.to_owned());
            } else {
                self.walked.touched.insert(cluster.to_owned());
            }
        }
        // The sources of a cluster without Flux are only read after the merge, which finds them
        // in what reaches it.
    }

    /// Queues a Kustomization that reaches `cluster`, which runs Flux; `index` is its place
    /// among what the current step queues.
    pub(super) fn queue(&mut self, item: Pending<'a>, index: &mut u32) {
        let identity = (
            item.cluster.clone(),
            item.object
                .namespace
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            item.object.name.to_string(),
        );
        if !self.is_root(&item.cluster) {
            // Every cluster's bootstrap Kustomization is followed before any other.
            if identity.1 != BOOTSTRAP || identity.2 != BOOTSTRAP {
                self.walked.touched.insert(item.cluster);
            }
            return;
        }
        if self.followed.insert(identity) {
            let mut key = self.queued_prefix.clone();
            key.push(*index);
            *index += 1;
            self.pending.push(Pending { key, ..item });
        }
    }

    pub(super) fn queue_helm_release(&mut self, item: Pending<'a>, index: u32) {
        self.walked
            .helm_releases
            .push(((self.step.clone(), index), item));
    }

    pub(super) fn run(mut self) -> Walked<'a> {
        let context = self.context;
        let main = context.main_branch();
        for (index, cluster) in context.fleet.clusters.values().enumerate() {
            if cluster.is_remote() || !self.is_root(&cluster.name) {
                continue;
            }
            let index = index as u32;
            self.step = vec![0, index];
            self.queued_prefix = vec![index];
            let name = cluster.name.clone();
            self.reach(&name);
            self.sources.entry(name.clone()).or_default().insert(
                bootstrap_source(),
                Source {
                    branch: Some(main.to_owned()),
                },
            );
            self.followed
                .insert((name.clone(), BOOTSTRAP.to_owned(), BOOTSTRAP.to_owned()));
            let path = format!("clusters/{name}");
            let Some(branch) = context.branch_key(main) else {
                continue;
            };
            let via: Arc<str> = format!("{BOOTSTRAP}/{BOOTSTRAP}").into();
            match self.build(branch, &path, true) {
                Some(build) => {
                    self.visit(branch, &build.files);
                    self.apply(&name, &build, None, &via, &name.as_str().into());
                }
                None => self.report(
                    Diagnostic::error("missing-path", format!("cluster {name} has no bootstrap path {path} on branch {main}"))
                        .at_file(&cluster.file)
                        .with_hint("`flux bootstrap --path` points there; a blueprint must render the cluster's entry point"),
                ),
            }
        }
        // Sources may arrive after the Kustomizations that use them, so follow what resolves
        // until nothing more does; what is left names a source that never reaches the cluster.
        loop {
            self.walked.rounds += 1;
            let round = self.walked.rounds;
            let pending = std::mem::take(&mut self.pending);
            let before = pending.len();
            let mut waiting = Vec::new();
            for mut item in pending {
                if context
                    .resolve_source(&self.sources, &item, "/spec/sourceRef")
                    .is_some()
                {
                    self.step = std::iter::once(round)
                        .chain(item.key.iter().copied())
                        .collect();
                    self.queued_prefix =
                        std::iter::once(0).chain(item.key.iter().copied()).collect();
                    self.follow(&item);
                } else {
                    item.key.insert(0, 1);
                    waiting.push(item);
                }
            }
            let progressed = waiting.len() < before || !self.pending.is_empty();
            self.pending.extend(waiting);
            if !progressed {
                break;
            }
        }
        self.walked.left = std::mem::take(&mut self.pending);
        self.walked.build_findings = self.build_findings.take();
        self.walked.built = self.built.take();
        self.walked.cyclic = self.cyclic.get();
        self.walked
    }
}

/// Walks every cluster that runs Flux on its own, in parallel, and merges the walks.
pub(super) fn parallel<'a>(context: &Context<'a>) -> Simulation<'a> {
    let mut groups: Vec<BTreeSet<String>> = flux_clusters(context)
        .map(|name| BTreeSet::from([name]))
        .collect();
    let mut done: Vec<Walked<'a>> = Vec::new();
    loop {
        let walked: Vec<Walked<'a>> = groups
            .par_iter()
            .map(|roots| Walk::new(context, roots.clone()).run())
            .collect();
        done.extend(walked);
        if done.iter().any(|walked| walked.cyclic) {
            return joint(context);
        }
        let joined = join(&done);
        if joined.is_empty() {
            return merge(context, done);
        }
        // Walks of clusters that affect each other are done again, together.
        done.retain(|walked| joined.iter().all(|group| walked.roots.is_disjoint(group)));
        groups = joined;
    }
}

/// Walks every cluster that runs Flux in one walk, as one thread would.
pub(super) fn joint<'a>(context: &Context<'a>) -> Simulation<'a> {
    let walked = Walk::new(context, flux_clusters(context).collect()).run();
    merge(context, vec![walked])
}

fn flux_clusters(context: &Context<'_>) -> impl Iterator<Item = String> {
    context
        .fleet
        .clusters
        .values()
        .filter(|cluster| !cluster.is_remote())
        .map(|cluster| cluster.name.clone())
}

/// The groups of walks that must be walked together because one gives another Flux objects
/// that may change its walk; empty when the walks stand alone.
pub(super) fn join(walks: &[Walked<'_>]) -> Vec<BTreeSet<String>> {
    let walk_of: HashMap<&str, usize> = walks
        .iter()
        .enumerate()
        .flat_map(|(index, walked)| walked.roots.iter().map(move |root| (root.as_str(), index)))
        .collect();
    let mut parent: Vec<usize> = (0..walks.len()).collect();
    fn find(parent: &mut [usize], mut index: usize) -> usize {
        while parent[index] != index {
            parent[index] = parent[parent[index]];
            index = parent[index];
        }
        index
    }
    let mut joined = false;
    for (index, walked) in walks.iter().enumerate() {
        let moved = walked.bootstrap_sources.iter().filter(|cluster| {
            walk_of
                .get(cluster.as_str())
                .is_some_and(|other| walks[*other].bootstrap_moved.contains(*cluster))
        });
        for cluster in walked.touched.iter().chain(moved) {
            let Some(&other) = walk_of.get(cluster.as_str()) else {
                continue;
            };
            let (a, b) = (find(&mut parent, index), find(&mut parent, other));
            if a != b {
                parent[a.max(b)] = a.min(b);
                joined = true;
            }
        }
    }
    if !joined {
        return Vec::new();
    }
    let mut groups: BTreeMap<usize, (BTreeSet<String>, usize)> = BTreeMap::new();
    for (index, walked) in walks.iter().enumerate() {
        let group = groups.entry(find(&mut parent, index)).or_default();
        group.0.extend(walked.roots.iter().cloned());
        group.1 += 1;
    }
    groups
        .into_values()
        .filter(|(_, walks)| *walks > 1)
        .map(|(roots, _)| roots)
        .collect()
}

/// Puts the walks together in the order one walk over every cluster takes, then runs the
/// checks that need the whole picture.
fn merge<'a>(context: &Context<'a>, walks: Vec<Walked<'a>>) -> Simulation<'a> {
    let mut simulation = Simulation::default();
    let rounds = walks.iter().map(|walked| walked.rounds).max().unwrap_or(0);
    // A build's findings come from the walk that made it first, as one walk makes it once.
    // Only builds with findings are looked for: every walk's builds, at a thousand clusters,
    // made a table of tens of megabytes to answer a question asked of a few.
    let mut first: HashMap<BuildKey<'a>, &Step> = walks
        .iter()
        .flat_map(|walked| {
            walked
                .build_findings
                .iter()
                .map(|(key, _)| (*key, &walked.built[key]))
        })
        .collect();
    for (key, slot) in &mut first {
        for walked in &walks {
            if let Some(step) = walked.built.get(key)
                && step < *slot
            {
                *slot = step;
            }
        }
    }
    let mut build_findings: Vec<(&Step, &Diagnostic)> = walks
        .iter()
        .flat_map(|walked| {
            walked
                .build_findings
                .iter()
                .filter_map(|(key, diagnostic)| {
                    let step = &walked.built[key];
                    (first[key] == step).then_some((step, diagnostic))
                })
        })
        .collect();
    build_findings.sort_by(|a, b| a.0.cmp(b.0));
    let build_findings: Vec<Diagnostic> = build_findings
        .into_iter()
        .map(|(_, diagnostic)| diagnostic.clone())
        .collect();
    drop(first);

    let mut applied = Vec::new();
    let mut diagnostics = Vec::new();
    let mut left = Vec::new();
    let mut helm_releases = Vec::new();
    // Sized once: grown walk by walk, the set would be rehashed a dozen times over.
    simulation
        .visited
        .reserve(walks.iter().map(|walked| walked.visited.len()).sum());
    for walked in walks {
        for cluster in walked.clusters {
            simulation.clusters.entry(cluster).or_default();
        }
        simulation.visited.extend(walked.visited);
        applied.extend(walked.applied);
        diagnostics.extend(walked.diagnostics);
        // The shared walk goes on while any cluster progresses: what waits in a walk that
        // stopped earlier waits through every later round.
        let padding = rounds - walked.rounds;
        left.extend(walked.left.into_iter().map(|mut item| {
            item.key
                .splice(0..0, std::iter::repeat_n(1, padding as usize));
            item
        }));
        helm_releases.extend(walked.helm_releases);
    }
    applied.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, cluster, objects) in applied {
        simulation
            .clusters
            .entry(cluster)
            .or_default()
            .extend(objects);
    }
    diagnostics.sort_by(|a, b| a.0.cmp(&b.0));
    simulation.diagnostics.extend(
        diagnostics
            .into_iter()
            .map(|(_, diagnostic)| diagnostic)
            .collect(),
    );
    left.sort_by(|a, b| a.key.cmp(&b.key));
    helm_releases.sort_by(|a, b| a.0.cmp(&b.0));

    let mut merged = Merged {
        sources: sources(
            context,
            &simulation,
            left.iter()
                .chain(helm_releases.iter().map(|(_, item)| item)),
        ),
        context,
        simulation,
    };
    let mut findings = Vec::new();
    for item in &left {
        findings.push(merged.context.missing_source(
            &merged.sources,
            item,
            "/spec/sourceRef",
            "GitRepository",
        ));
        merged.context.check_kustomization_refs(item, &mut findings);
    }
    for (_, item) in &helm_releases {
        merged.check_helm_release(item, &mut findings);
    }
    merged
        .simulation
        .diagnostics
        .extend(findings.into_iter().collect());
    merged.check_dependencies();
    merged.check_duplicates();
    merged.check_namespaces();
    merged.check_capi_references();
    merged
        .simulation
        .diagnostics
        .extend(build_findings.into_iter().collect());
    merged.simulation
}

/// The sources on each cluster `items` are on once every walk is done, as the walks left them:
/// what `flux bootstrap` made, then every source applied there, in order.
fn sources<'x, 'a: 'x>(
    context: &Context<'a>,
    simulation: &Simulation<'a>,
    items: impl Iterator<Item = &'x Pending<'a>>,
) -> BTreeMap<String, Sources> {
    let mut sources = BTreeMap::new();
    for item in items {
        if sources.contains_key(&item.cluster) {
            continue;
        }
        let mut on_cluster = Sources::new();
        if context.runs_flux(&item.cluster) {
            on_cluster.insert(
                bootstrap_source(),
                Source {
                    branch: Some(context.main_branch().to_owned()),
                },
            );
        }
        for applied in simulation.clusters.get(&item.cluster).into_iter().flatten() {
            let object = &applied.object;
            if object.group() == FLUX_SOURCE {
                on_cluster.insert(
                    source_key(
                        object.kind(),
                        object.namespace.as_deref().unwrap_or_default(),
                        &object.name,
                    ),
                    Source {
                        branch: context.tracked_branch(object.document),
                    },
                );
            }
        }
        sources.insert(item.cluster.clone(), on_cluster);
    }
    sources
}

/// The walks merged, for the checks that need every cluster's part.
pub(super) struct Merged<'c, 'a> {
    pub(super) context: &'c Context<'a>,
    pub(super) simulation: Simulation<'a>,
    pub(super) sources: BTreeMap<String, Sources>,
}
