//! The graph drawn: a nested tree like `flux tree`, Mermaid and Graphviz DOT. Every name and
//! label comes from the fleet source, so drawings use generated node ids and escaped labels.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{ClusterNode, FleetGraph, Key, KustomizationNode, ObjectRef, key_of};
use crate::printable;
use crate::view::natural;

/// Kustomizations named on a remote cluster's "applied by" line before the rest are counted.
const APPLIED_BY_LISTED: usize = 6;
/// How many Kustomizations deep the nested tree is drawn.
const MAX_TREE_DEPTH: usize = 64;

impl FleetGraph {
    /// The nested tree: per cluster, its Flux and the Kustomizations it runs, each with what
    /// it applies, the way `flux tree` shows one Kustomization.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let children = self.children();
        let roots = self.roots();
        for (index, cluster) in self.clusters.iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            // Every line is one line whatever the names in it hold (see `printable`).
            let line = format!(
                "cluster {}  ({})",
                cluster.name,
                cluster_facts(self, cluster)
            );
            let _ = writeln!(out, "{}", printable::line(&line));
            let own: Vec<usize> = roots
                .iter()
                .copied()
                .filter(|&root| self.kustomizations[root].runs_on == cluster.name)
                .collect();
            // Per driving cluster, folded: a remote cluster with many tenant apps is applied
            // to by a Kustomization per app.
            let mut from_elsewhere: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for node in &self.kustomizations {
                if node.runs_on != cluster.name && node.targets.contains(&cluster.name) {
                    from_elsewhere
                        .entry(node.runs_on.as_str())
                        .or_default()
                        .push(node_label(node));
                }
            }
            for (driver, labels) in from_elsewhere {
                let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                let line = format!(
                    "  applied by {} on {driver}",
                    crate::sinks::summary::fold(&labels, APPLIED_BY_LISTED)
                );
                let _ = writeln!(out, "{}", printable::line(&line));
            }
            for (position, root) in own.iter().enumerate() {
                let mut visiting = BTreeSet::new();
                self.tree(
                    &mut out,
                    &children,
                    *root,
                    "",
                    position + 1 == own.len(),
                    &mut visiting,
                );
            }
        }
        out
    }

    fn tree(
        &self,
        out: &mut String,
        children: &BTreeMap<Key, Vec<usize>>,
        position: usize,
        prefix: &str,
        last: bool,
        visiting: &mut BTreeSet<usize>,
    ) {
        let node = &self.kustomizations[position];
        let (branch, rest) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let line = format!("{}{}", node.id.describe(), annotation(node));
        let _ = writeln!(out, "{prefix}{branch}{}", printable::line(&line));
        if !visiting.insert(position) {
            return;
        }
        // A level takes a frame of the stack and four columns of every line below it: a
        // fleet's Kustomizations nest a handful deep, a template's can nest thousands.
        if visiting.len() > MAX_TREE_DEPTH {
            let _ = writeln!(
                out,
                "{prefix}{rest}└── … nested deeper than {MAX_TREE_DEPTH} Kustomizations; `--format json` has every one"
            );
            visiting.remove(&position);
            return;
        }
        let prefix = format!("{prefix}{rest}");
        let key = key_of(&node.runs_on, &node.id);
        let nested: BTreeMap<Key, usize> = children
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&child| {
                let child_node = &self.kustomizations[child];
                (key_of(&child_node.runs_on, &child_node.id), child)
            })
            .collect();
        // A child Kustomization is drawn where it is applied; other objects are leaves.
        let mut lines: Vec<Result<usize, &ObjectRef>> = Vec::new();
        for object in &node.objects {
            let child = (object.kind == "Kustomization")
                .then(|| {
                    node.targets
                        .iter()
                        .find_map(|target| nested.get(&key_of(target, object)))
                })
                .flatten();
            match child {
                Some(&child) => lines.push(Ok(child)),
                None => lines.push(Err(object)),
            }
        }
        for (index, line) in lines.iter().enumerate() {
            let last = index + 1 == lines.len();
            match line {
                Ok(child) => self.tree(out, children, *child, &prefix, last, visiting),
                Err(object) => {
                    let branch = if last { "└── " } else { "├── " };
                    let line = object.describe();
                    let _ = writeln!(out, "{prefix}{branch}{}", printable::line(&line));
                }
            }
        }
        visiting.remove(&position);
    }

    /// Mermaid `flowchart`: a box per cluster holding the Kustomizations its Flux runs;
    /// solid arrows apply, dotted ones are `dependsOn`, thick ones drive another cluster.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let ids = self.ids();
        for (index, cluster) in self.clusters.iter().enumerate() {
            let _ = writeln!(
                out,
                "  subgraph c{index}_box[\"cluster {}\"]",
                mermaid_text(&cluster.name)
            );
            let _ = writeln!(
                out,
                "    c{index}([\"{} · {}\"])",
                mermaid_text(&cluster.name),
                cluster_kind(cluster)
            );
            for (position, node) in self.kustomizations.iter().enumerate() {
                if node.runs_on == cluster.name {
                    let _ = writeln!(
                        out,
                        "    k{position}[\"{}\"]",
                        mermaid_text(&node_label(node))
                    );
                }
            }
            out.push_str("  end\n");
        }
        for edge in self.edges(&ids) {
            let line = match edge.style {
                EdgeStyle::Applies => format!("  {} --> {}", edge.from, edge.to),
                EdgeStyle::DependsOn => format!("  {} -.->|dependsOn| {}", edge.from, edge.to),
                EdgeStyle::Drives(what) => format!("  {} ==>|{what}| {}", edge.from, edge.to),
                EdgeStyle::Targets => format!("  {} -->|kubeConfig| {}", edge.from, edge.to),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Graphviz DOT with the same boxes and arrows as [`FleetGraph::mermaid`].
    pub fn dot(&self) -> String {
        let mut out = String::from(
            "digraph fleet {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  \
             edge [fontname=\"Helvetica\", fontsize=9];\n",
        );
        let ids = self.ids();
        for (index, cluster) in self.clusters.iter().enumerate() {
            let _ = writeln!(out, "  subgraph cluster_{index} {{");
            let _ = writeln!(out, "    label=\"cluster {}\";", dot_text(&cluster.name));
            let _ = writeln!(
                out,
                "    c{index} [label=\"{}\\n{}\", shape=ellipse];",
                dot_text(&cluster.name),
                cluster_kind(cluster)
            );
            for (position, node) in self.kustomizations.iter().enumerate() {
                if node.runs_on == cluster.name {
                    let _ = writeln!(
                        out,
                        "    k{position} [label=\"{}\"];",
                        dot_text(&node_label(node))
                    );
                }
            }
            out.push_str("  }\n");
        }
        for edge in self.edges(&ids) {
            let attributes = match edge.style {
                EdgeStyle::Applies => String::new(),
                EdgeStyle::DependsOn => " [style=dashed, label=\"dependsOn\"]".to_owned(),
                EdgeStyle::Drives(what) => format!(" [penwidth=2, label=\"{what}\"]"),
                EdgeStyle::Targets => " [label=\"kubeConfig\"]".to_owned(),
            };
            let _ = writeln!(out, "  {} -> {}{attributes};", edge.from, edge.to);
        }
        out.push_str("}\n");
        out
    }

    /// Node ids by key: `c<i>` for clusters, `k<i>` for Kustomizations. Generated ids keep
    /// names (which come from the fleet source) out of the drawing languages' syntax.
    fn ids(&self) -> (BTreeMap<String, String>, BTreeMap<Key, String>) {
        let clusters = self
            .clusters
            .iter()
            .enumerate()
            .map(|(index, cluster)| (cluster.name.clone(), format!("c{index}")))
            .collect();
        let kustomizations = self
            .kustomizations
            .iter()
            .enumerate()
            .map(|(position, node)| (key_of(&node.runs_on, &node.id), format!("k{position}")))
            .collect();
        (clusters, kustomizations)
    }

    fn edges(&self, ids: &(BTreeMap<String, String>, BTreeMap<Key, String>)) -> Vec<Edge> {
        let (clusters, kustomizations) = ids;
        let mut edges = Vec::new();
        for cluster in &self.clusters {
            let Some(manager) = cluster.manager.as_ref().and_then(|m| clusters.get(m)) else {
                continue;
            };
            let what = match (cluster.provider.as_str(), cluster.flux) {
                ("existing", _) => "drives",
                (_, "remote") => "provisions, drives",
                _ => "provisions",
            };
            edges.push(Edge {
                from: manager.clone(),
                to: clusters[&cluster.name].clone(),
                style: EdgeStyle::Drives(what),
            });
        }
        let roots = self.roots();
        for (position, node) in self.kustomizations.iter().enumerate() {
            let id = format!("k{position}");
            if roots.contains(&position)
                && node.parent.is_none()
                && let Some(cluster) = clusters.get(&node.runs_on)
            {
                edges.push(Edge {
                    from: cluster.clone(),
                    to: id.clone(),
                    style: EdgeStyle::Applies,
                });
            }
            if let Some(parent) = node
                .parent
                .as_ref()
                .and_then(|parent| kustomizations.get(&key_of(&node.runs_on, parent)))
            {
                edges.push(Edge {
                    from: parent.clone(),
                    to: id.clone(),
                    style: EdgeStyle::Applies,
                });
            }
            for dependency in &node.depends_on {
                if let Some(target) = kustomizations.get(&key_of(&node.runs_on, dependency)) {
                    edges.push(Edge {
                        from: id.clone(),
                        to: target.clone(),
                        style: EdgeStyle::DependsOn,
                    });
                }
            }
            for target in &node.targets {
                if *target != node.runs_on
                    && let Some(cluster) = clusters.get(target)
                {
                    edges.push(Edge {
                        from: id.clone(),
                        to: cluster.clone(),
                        style: EdgeStyle::Targets,
                    });
                }
            }
        }
        edges
    }
}

struct Edge {
    from: String,
    to: String,
    style: EdgeStyle,
}

enum EdgeStyle {
    Applies,
    DependsOn,
    Drives(&'static str),
    Targets,
}

fn cluster_kind(cluster: &ClusterNode) -> String {
    let mut kind = format!("{} Flux", cluster.flux);
    if cluster.provider != "existing" {
        let _ = write!(kind, ", Cluster API {}", cluster.provider);
    }
    kind
}

fn cluster_facts(graph: &FleetGraph, cluster: &ClusterNode) -> String {
    let mut facts = vec![cluster_kind(cluster)];
    if let Some(manager) = &cluster.manager {
        facts.push(format!("managed by {manager}"));
    }
    let mut driven: Vec<&str> = graph
        .clusters
        .iter()
        .filter(|other| other.manager.as_ref() == Some(&cluster.name))
        .map(|other| other.name.as_str())
        .collect();
    driven.sort_by(|a, b| natural::cmp(a, b));
    if !driven.is_empty() {
        facts.push(format!("manages {}", driven.join(", ")));
    }
    if !cluster.environments.is_empty() {
        facts.push(format!("environments {}", cluster.environments.join(", ")));
    }
    facts.join("; ")
}

fn annotation(node: &KustomizationNode) -> String {
    let mut facts = Vec::new();
    if let (Some(branch), Some(path)) = (&node.branch, &node.path) {
        facts.push(format!("{branch}:{}", path.trim_start_matches("./")));
    }
    let remote: Vec<&str> = node
        .targets
        .iter()
        .filter(|target| **target != node.runs_on)
        .map(String::as_str)
        .collect();
    if !remote.is_empty() {
        facts.push(format!("applies to {}", remote.join(", ")));
    }
    if !node.depends_on.is_empty() {
        let names: Vec<String> = node
            .depends_on
            .iter()
            .map(|dependency| match &dependency.namespace {
                Some(namespace) if node.id.namespace.as_ref() != Some(namespace) => {
                    format!("{namespace}/{}", dependency.name)
                }
                _ => dependency.name.clone(),
            })
            .collect();
        facts.push(format!("depends on {}", names.join(", ")));
    }
    if facts.is_empty() {
        String::new()
    } else {
        format!("  [{}]", facts.join("; "))
    }
}

fn node_label(node: &KustomizationNode) -> String {
    format!(
        "{}/{}",
        node.id.namespace.as_deref().unwrap_or_default(),
        node.id.name
    )
}

/// Text inside a quoted Mermaid label: quotes and angle brackets as entity codes, so a name
/// cannot end the label or open markup.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in printable::line(text).chars() {
        match character {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            other => out.push(other),
        }
    }
    out
}

/// Text inside a quoted DOT string.
fn dot_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in printable::line(text).chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kustomizations applying each other `depth` deep on one cluster.
    fn chain(depth: usize) -> FleetGraph {
        let reference = |at: usize| ObjectRef::kustomization("flux-system", &format!("k{at}"));
        FleetGraph {
            clusters: vec![ClusterNode {
                name: "c".to_owned(),
                flux: "local",
                provider: "existing".to_owned(),
                manager: None,
                environments: Vec::new(),
            }],
            kustomizations: (0..depth)
                .map(|at| KustomizationNode {
                    id: reference(at),
                    runs_on: "c".to_owned(),
                    targets: vec!["c".to_owned()],
                    branch: None,
                    path: None,
                    environment: None,
                    tenant: None,
                    parent: at.checked_sub(1).map(reference),
                    depends_on: Vec::new(),
                    objects: (at + 1 < depth)
                        .then(|| reference(at + 1))
                        .into_iter()
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_tree_nested_thousands_deep_is_drawn_to_a_depth() {
        let shallow = chain(10).human();
        assert!(
            shallow.contains("Kustomization flux-system/k9"),
            "{shallow}"
        );
        assert!(!shallow.contains("nested deeper"), "{shallow}");
        // Drawn level by level it overflowed the stack, and its lines grew with the depth.
        let deep = chain(20_000).human();
        assert!(deep.contains("Kustomization flux-system/k64\n"));
        assert!(!deep.contains("Kustomization flux-system/k65"));
        assert!(deep.contains("nested deeper than 64 Kustomizations"));
        assert!(deep.len() < 40_000, "{} bytes", deep.len());
    }

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            mermaid_text("a\"]; click x \"<b>#"),
            "a#quot;]; click x #quot;#lt;b#gt;#35;"
        );
        assert_eq!(dot_text("a\"];\\\nb"), "a\\\"];\\\\\\\\nb");
        assert_eq!(mermaid_text("a\n\x1b[2Jb"), "a\\n\\u{1b}[2Jb");
        assert_eq!(dot_text("a\r\x1b[2Jb"), "a\\\\r\\\\u{1b}[2Jb");
    }
}
