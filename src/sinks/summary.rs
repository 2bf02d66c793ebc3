//! Says what a set of changed files touches — which clusters, and of each its entry point,
//! infrastructure or tenants — from the output layout (DESIGN §3), for `diff`'s summary and for
//! commit messages. Reviewers read "cluster k3d-emea: tenant yakuza" faster than ten paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use crate::printable;
use crate::sinks::changes::{ChangeKind, FileChange};
use crate::view::natural;

/// Files a commit message lists one by one; past this it lists none and counts them, since
/// the commit itself has the list.
const LISTED_FILES: usize = 20;
/// Clusters named in a commit subject before it just counts them.
const NAMED_IN_SUBJECT: usize = 3;
/// Lines of clusters a summary shows: clusters with the same changes share a line, and past
/// this many lines the rest are counted.
const CLUSTER_LINES: usize = 12;
/// Names listed in one line (clusters of a group, tenants of a cluster) before "and N more".
const NAMES_PER_LINE: usize = 6;
/// The most lines a branch summary has: its header, the cluster lines, the "more clusters"
/// and fleet-wide lines.
pub const SUMMARY_LINES: usize = CLUSTER_LINES + 3;
/// The most lines a commit message has, whatever the size of the change.
pub const MESSAGE_LINES: usize = 4 + SUMMARY_LINES + 2 + LISTED_FILES + 4;

/// The part of a cluster's configuration a file belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    /// `clusters/<c>/`: the cluster's Flux entry point.
    Entry,
    /// `clusters/<c>/environments/<env>/` on the main branch.
    Environment(String),
    /// `capi/<c>/` and `clusters/<manager>/capi/<c>/`: the Cluster API definition and the
    /// Kustomization that applies it on its manager.
    Definition,
    /// `infra/<c>/`.
    Infrastructure,
    /// `tenants/<c>/` itself: the list of tenants.
    Tenants,
    /// `tenants/<c>/<tenant>/`.
    Tenant(String),
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Area::Entry => f.write_str("entry point"),
            Area::Environment(env) => write!(f, "environment {env}"),
            Area::Definition => f.write_str("cluster definition"),
            Area::Infrastructure => f.write_str("infrastructure"),
            Area::Tenants => f.write_str("tenant list"),
            Area::Tenant(tenant) => write!(f, "tenant {tenant}"),
        }
    }
}

/// The cluster and area a branch path belongs to, or `None` for fleet-wide files.
///
/// Objects for a remote or Cluster API cluster live under its manager's directory
/// (`…/<manager>/remotes/<c>/`, `…/<manager>/capi/<c>/`) but are about `<c>`.
pub fn classify(path: &str) -> Option<(String, Area)> {
    let parts: Vec<&str> = path.split('/').collect();
    let is_dir = |index: usize| index + 1 < parts.len();
    let (top, cluster) = (parts.first()?, parts.get(1).filter(|_| is_dir(1))?);
    let nested =
        |kind: &str| (parts.get(2) == Some(&kind) && is_dir(3)).then(|| parts[3].to_owned());
    match *top {
        "clusters" => {
            if let Some(remote) = nested("remotes") {
                return Some((remote, Area::Entry));
            }
            if let Some(provisioned) = nested("capi") {
                return Some((provisioned, Area::Definition));
            }
            if let Some(env) = nested("environments") {
                return Some(((*cluster).to_owned(), Area::Environment(env)));
            }
            Some(((*cluster).to_owned(), Area::Entry))
        }
        "capi" => Some(((*cluster).to_owned(), Area::Definition)),
        "infra" => Some((
            nested("remotes").unwrap_or_else(|| (*cluster).to_owned()),
            Area::Infrastructure,
        )),
        "tenants" if is_dir(2) => Some(((*cluster).to_owned(), Area::Tenant(parts[2].to_owned()))),
        "tenants" => Some(((*cluster).to_owned(), Area::Tenants)),
        _ => None,
    }
}

/// How many files were added, modified and deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub modified: usize,
    pub deleted: usize,
}

impl Counts {
    pub fn count(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Added => self.added += 1,
            ChangeKind::Modified => self.modified += 1,
            ChangeKind::Deleted => self.deleted += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.added + self.modified + self.deleted
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            (self.added, "added"),
            (self.modified, "modified"),
            (self.deleted, "deleted"),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        if parts.is_empty() {
            f.write_str("no changes")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What changed on one branch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchSummary {
    pub branch: String,
    /// The environment the branch belongs to; `None` for the main branch.
    pub environment: Option<String>,
    pub counts: Counts,
    /// Per cluster, the areas touched.
    pub clusters: BTreeMap<String, BTreeSet<Area>>,
    /// Files outside any cluster's directories, such as the ownership list.
    pub fleet_wide: usize,
}

impl BranchSummary {
    pub fn new(branch: &str, environment: Option<&str>, changes: &[FileChange]) -> Self {
        let mut summary = BranchSummary {
            branch: branch.to_owned(),
            environment: environment.map(str::to_owned),
            ..Self::default()
        };
        for change in changes {
            summary.counts.count(change.kind);
            match classify(&change.path) {
                Some((cluster, area)) => {
                    summary.clusters.entry(cluster).or_default().insert(area);
                }
                None => summary.fleet_wide += 1,
            }
        }
        summary
    }

    /// `environment dev` (with the branch if it is named differently), or `main`.
    pub fn label(&self) -> String {
        match &self.environment {
            Some(env) if *env == self.branch => format!("environment {env}"),
            Some(env) => format!("environment {env} (branch {})", self.branch),
            None => self.branch.clone(),
        }
    }
}

impl BranchSummary {
    /// One line per group of clusters with the same changes, in natural order, at most
    /// `CLUSTER_LINES` of them, then a line counting the rest.
    pub fn cluster_lines(&self) -> Vec<String> {
        let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (cluster, areas) in &self.clusters {
            groups
                .entry(describe_areas(areas))
                .or_default()
                .push(cluster);
        }
        let mut groups: Vec<(String, Vec<&str>)> = groups
            .into_iter()
            .map(|(areas, mut clusters)| {
                clusters.sort_by(|a, b| natural::cmp(a, b));
                (areas, clusters)
            })
            .collect();
        groups.sort_by(|a, b| natural::cmp(a.1[0], b.1[0]));
        let mut lines: Vec<String> = groups
            .iter()
            .take(CLUSTER_LINES)
            .map(|(areas, clusters)| {
                let label = if clusters.len() == 1 {
                    "cluster"
                } else {
                    "clusters"
                };
                format!("{label} {}: {areas}", fold(clusters, NAMES_PER_LINE))
            })
            .collect();
        if groups.len() > CLUSTER_LINES {
            let rest: usize = groups[CLUSTER_LINES..]
                .iter()
                .map(|(_, clusters)| clusters.len())
                .sum();
            lines.push(format!(
                "… and {rest} more cluster{} with other changes",
                plural(rest)
            ));
        }
        if self.fleet_wide > 0 {
            lines.push(format!(
                "fleet-wide: {} file{}",
                self.fleet_wide,
                plural(self.fleet_wide)
            ));
        }
        lines
    }
}

/// `infrastructure, tenants a, b and 3 more`: the areas of one cluster, tenants folded.
fn describe_areas(areas: &BTreeSet<Area>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut tenants: Vec<&str> = Vec::new();
    for area in areas {
        match area {
            Area::Tenant(tenant) => tenants.push(tenant),
            other => parts.push(other.to_string()),
        }
    }
    match tenants.len() {
        0 => {}
        1 => parts.push(format!("tenant {}", tenants[0])),
        _ => {
            tenants.sort_by(|a, b| natural::cmp(a, b));
            parts.push(format!("tenants {}", fold(&tenants, NAMES_PER_LINE)));
        }
    }
    parts.join(", ")
}

/// `a, b, c and 7 more`: at most `limit` names, in the order given.
pub fn fold(names: &[&str], limit: usize) -> String {
    if names.len() <= limit {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..limit].join(", "),
        names.len() - limit
    )
}

impl fmt::Display for BranchSummary {
    /// `dev (environment dev): 2 added, 1 modified` and the cluster lines, at most
    /// [`SUMMARY_LINES`] lines whatever the size of the change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", printable::line(&self.branch))?;
        if let Some(env) = &self.environment {
            write!(f, " (environment {})", printable::line(env))?;
        }
        write!(f, ": {}", self.counts)?;
        for line in self.cluster_lines() {
            write!(f, "\n  {}", printable::line(&line))?;
        }
        Ok(())
    }
}

/// The message of the commit that brings `changes` onto `branch`: a subject naming the
/// environment and clusters (or `subject`), then the changed files grouped by cluster.
pub fn commit_message(
    branch: &str,
    environment: Option<&str>,
    changes: &[FileChange],
    subject: Option<&str>,
) -> String {
    let summary = BranchSummary::new(branch, environment, changes);
    // Every generated line is one line whatever the names in it hold, so a name can add
    // neither a paragraph nor a trailer (`Signed-off-by:`) to the message.
    let label = printable::line(&summary.label()).into_owned();
    let mut message = match subject {
        Some(subject) => subject.trim().to_owned(),
        None => {
            let mut clusters: Vec<&str> = summary.clusters.keys().map(String::as_str).collect();
            clusters.sort_by(|a, b| natural::cmp(a, b));
            match clusters.len() {
                0 => format!("Render {label}"),
                count if count <= NAMED_IN_SUBJECT => {
                    format!("Render {label}: {}", printable::line(&clusters.join(", ")))
                }
                count => format!("Render {label}: {count} clusters"),
            }
        }
    };
    let _ = write!(message, "\n\n{label}: {}\n", summary.counts);
    let lines = summary.cluster_lines();
    if !lines.is_empty() {
        message.push('\n');
        for line in lines {
            let _ = writeln!(message, "{}", printable::line(&line));
        }
    }
    if changes.len() <= LISTED_FILES {
        message.push('\n');
        let mut files: Vec<&FileChange> = changes.iter().collect();
        files.sort_by(|a, b| natural::cmp(&a.path, &b.path));
        for change in files {
            let path = printable::line(&change.path);
            let _ = writeln!(message, "{} {path}", change.kind.letter());
        }
    }
    message
}

pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: ChangeKind) -> FileChange {
        FileChange {
            branch: "dev".to_owned(),
            path: path.to_owned(),
            kind,
            conflict: None,
            old: None,
            new: None,
        }
    }

    #[test]
    fn paths_name_their_cluster_and_area() {
        let cases = [
            ("clusters/a/sync.yaml", Some(("a", Area::Entry))),
            (
                "clusters/a/environments/dev/sync.yaml",
                Some(("a", Area::Environment("dev".to_owned()))),
            ),
            (
                "clusters/m/remotes/r/infrastructure.yaml",
                Some(("r", Area::Entry)),
            ),
            (
                "clusters/m/capi/c/cluster.yaml",
                Some(("c", Area::Definition)),
            ),
            ("capi/c/workers.yaml", Some(("c", Area::Definition))),
            (
                "infra/a/redis/deployment.yaml",
                Some(("a", Area::Infrastructure)),
            ),
            (
                "infra/m/remotes/r/nginx/release.yaml",
                Some(("r", Area::Infrastructure)),
            ),
            ("tenants/a/kustomization.yaml", Some(("a", Area::Tenants))),
            (
                "tenants/a/team/apps/web.yaml",
                Some(("a", Area::Tenant("team".to_owned()))),
            ),
            (".fleetgen/owned.sha256", None),
            ("clusters/kustomization.yaml", None),
            ("README.md", None),
        ];
        for (path, expected) in cases {
            let expected = expected.map(|(cluster, area)| (cluster.to_owned(), area));
            assert_eq!(classify(path), expected, "{path}");
        }
    }

    #[test]
    fn summary_groups_by_cluster() {
        let changes = [
            change(".fleetgen/owned.sha256", ChangeKind::Modified),
            change("infra/a/redis/deployment.yaml", ChangeKind::Modified),
            change("tenants/a/team/sandbox.yaml", ChangeKind::Added),
            change("tenants/b/kustomization.yaml", ChangeKind::Deleted),
        ];
        let summary = BranchSummary::new("dev", Some("dev"), &changes);
        assert_eq!(
            summary.to_string(),
            "dev (environment dev): 1 added, 2 modified, 1 deleted\n  cluster a: infrastructure, tenant team\n  \
             cluster b: tenant list\n  fleet-wide: 1 file"
        );
    }

    #[test]
    fn commit_messages_name_environment_and_clusters() {
        let changes = [
            change(".fleetgen/owned.sha256", ChangeKind::Modified),
            change("tenants/a/team/sandbox.yaml", ChangeKind::Added),
        ];
        let message = commit_message("dev", Some("dev"), &changes, None);
        assert_eq!(
            message,
            "Render environment dev: a\n\nenvironment dev: 1 added, 1 modified\n\ncluster a: tenant team\n\
             fleet-wide: 1 file\n\nM .fleetgen/owned.sha256\nA tenants/a/team/sandbox.yaml\n"
        );
        let message = commit_message("main", None, &changes, Some("Roll out team"));
        assert!(
            message.starts_with("Roll out team\n\nmain: 1 added, 1 modified\n"),
            "{message}"
        );
    }

    #[test]
    fn hostile_names_add_no_line_to_a_commit_message_or_a_summary() {
        let forged = "x\n\nSigned-off-by: Mallory <m@example.com>\n::error::forged\x1b[2J\r";
        let changes = [
            change(
                &format!("tenants/a/{forged}/sandbox.yaml"),
                ChangeKind::Added,
            ),
            change(&format!("infra/{forged}/x.yaml"), ChangeKind::Added),
            change(&format!("{forged}.yaml"), ChangeKind::Added),
        ];
        let message = commit_message(forged, Some(forged), &changes, None);
        let summary = BranchSummary::new(forged, Some(forged), &changes).to_string();
        for text in [&message, &summary] {
            assert!(!text.contains(['\x1b', '\r']), "{text}");
            for line in text.lines() {
                let line = line.trim_start();
                assert!(
                    !line.starts_with("Signed-off-by") && !line.starts_with("::"),
                    "{text}"
                );
            }
        }
        assert!(message.contains("tenant x\\n\\nSigned-off-by"), "{message}");
    }

    /// 60 clusters × 100 tenants, with the shape of a fleet-wide change plus a few clusters
    /// that differ: the message used to list every file group (1,387 lines for such a fleet).
    fn large_change() -> Vec<FileChange> {
        let mut changes = Vec::new();
        for cluster in 1..=60 {
            changes.push(change(
                &format!("infra/site{cluster}/redis/deployment.yaml"),
                ChangeKind::Modified,
            ));
            let tenants = if cluster % 4 == 0 {
                100
            } else {
                cluster % 7 + 1
            };
            for tenant in 1..=tenants {
                changes.push(change(
                    &format!("tenants/site{cluster}/t{tenant}/apps.yaml"),
                    ChangeKind::Added,
                ));
            }
        }
        changes.push(change(".fleetgen/owned.sha256", ChangeKind::Modified));
        changes
    }

    #[test]
    fn summaries_and_messages_stay_bounded_in_natural_order() {
        let changes = large_change();
        let summary = BranchSummary::new("dev", Some("dev"), &changes).to_string();
        let lines = summary.lines().count();
        assert!(lines <= SUMMARY_LINES, "{lines} lines:\n{summary}");
        assert!(
            summary.contains("tenants t1, t2, t3, t4, t5, t6 and 94 more"),
            "{summary}"
        );
        assert!(
            summary.contains("clusters site4, site8, site12, site16, site20, site24 and 9 more"),
            "{summary}"
        );
        let message = commit_message("dev", Some("dev"), &changes, None);
        let lines = message.lines().count();
        assert!(lines <= MESSAGE_LINES, "{lines} lines:\n{message}");
        assert!(
            message.starts_with("Render environment dev: 60 clusters\n"),
            "{message}"
        );
        assert!(!message.contains("tenants/site"), "{message}");
    }

    #[test]
    fn clusters_with_the_same_changes_share_a_line() {
        let changes: Vec<FileChange> = (1..=12)
            .map(|index| change(&format!("infra/c{index}/x.yaml"), ChangeKind::Added))
            .collect();
        let summary = BranchSummary::new("prod-branch", Some("prod"), &changes);
        assert_eq!(
            summary.cluster_lines(),
            ["clusters c1, c2, c3, c4, c5, c6 and 6 more: infrastructure"]
        );
        let message = commit_message("prod-branch", Some("prod"), &changes, None);
        assert!(
            message.starts_with("Render environment prod (branch prod-branch): 12 clusters\n"),
            "{message}"
        );
        // Few enough files to list, in natural order.
        assert!(
            message.ends_with(
                "A infra/c9/x.yaml\nA infra/c10/x.yaml\nA infra/c11/x.yaml\nA infra/c12/x.yaml\n"
            ),
            "{message}"
        );
    }
}
