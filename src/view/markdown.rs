//! `fleetgen diff --format markdown`: a pull-request comment that says what changes per
//! environment, cluster and tenant, with a picture of the clusters it touches and the full
//! patch folded away. Every part is bounded so a fleet-wide change still makes a comment a
//! person reads (and that fits GitHub's 65,536-character limit).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::natural;
use crate::model::Fleet;
use crate::printable;
use crate::sinks::diff::{self, Drift, Palette};
use crate::sinks::summary::{Counts, classify, plural};

/// Table rows before the rest are counted.
const ROWS: usize = 30;
/// Clusters drawn in the picture before the rest are counted.
const DRAWN_CLUSTERS: usize = 20;
/// Characters of patch inside `<details>`: what is left of a comment's 65,536 after the rest.
const PATCH_CHARS: usize = 50_000;
/// The most lines the comment has outside the folded patch, whatever the size of the change.
pub const SUMMARY_LINES: usize = 8 + ROWS + 2 + DRAWN_CLUSTERS * 3 + 10;

/// The comment for `drift`; `fleet` names environments and draws who manages whom.
pub fn diff(drift: &Drift, fleet: &Fleet) -> String {
    let environments: BTreeMap<&str, &str> = fleet
        .environments
        .values()
        .map(|env| (env.branch.as_str(), env.name.as_str()))
        .collect();
    let mut total = Counts::default();
    // (environment or branch, cluster, area) → counts, for the table.
    let mut rows: BTreeMap<(String, String, String), Counts> = BTreeMap::new();
    let mut affected: BTreeSet<String> = BTreeSet::new();
    for change in drift.changes() {
        total.count(change.kind);
        let scope = match environments.get(change.branch.as_str()) {
            Some(env) => format!("environment {env}"),
            None => format!("branch {}", change.branch),
        };
        let (cluster, area) = match classify(&change.path) {
            Some((cluster, area)) => {
                affected.insert(cluster.clone());
                (cluster, area.to_string())
            }
            None => ("—".to_owned(), "fleet-wide files".to_owned()),
        };
        rows.entry((scope, cluster, area))
            .or_default()
            .count(change.kind);
    }
    let mut out = String::from("### fleetgen diff\n\n");
    if total.total() == 0 {
        out.push_str("No changes: the rendered branches match the fleet source.\n");
        return out;
    }
    let clusters = affected.len();
    let _ = writeln!(
        out,
        "{} in {} file{} on {clusters} cluster{}.\n",
        total,
        total.total(),
        plural(total.total()),
        plural(clusters)
    );

    let mut rows: Vec<((String, String, String), Counts)> = rows.into_iter().collect();
    rows.sort_by(|(a, _), (b, _)| {
        natural::cmp(&a.0, &b.0)
            .then_with(|| natural::cmp(&a.1, &b.1))
            .then_with(|| natural::cmp(&a.2, &b.2))
    });
    out.push_str("| where | cluster | what | added | changed | removed |\n");
    out.push_str("|---|---|---|--:|--:|--:|\n");
    for ((scope, cluster, area), counts) in rows.iter().take(ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(scope),
            cell(cluster),
            cell(area),
            counts.added,
            counts.modified,
            counts.deleted
        );
    }
    if rows.len() > ROWS {
        let mut rest = Counts::default();
        for (_, counts) in &rows[ROWS..] {
            rest.added += counts.added;
            rest.modified += counts.modified;
            rest.deleted += counts.deleted;
        }
        let _ = writeln!(
            out,
            "| … | {} more row{} | | {} | {} | {} |",
            rows.len() - ROWS,
            plural(rows.len() - ROWS),
            rest.added,
            rest.modified,
            rest.deleted
        );
    }

    out.push('\n');
    out.push_str(&picture(fleet, &affected));
    out.push('\n');
    out.push_str(&folded_patch(drift));
    out
}

/// A table cell: one line, and every character Markdown gives a meaning backslash-escaped,
/// so a name can neither end the cell or the table nor open code, emphasis, a link, an
/// entity or an HTML tag.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in printable::line(text).chars() {
        if "\\`*_[]()<>&|#!~".contains(character) {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// The affected clusters and the managers that drive them, as a Mermaid flowchart.
fn picture(fleet: &Fleet, affected: &BTreeSet<String>) -> String {
    let mut changed: Vec<&str> = affected.iter().map(String::as_str).collect();
    changed.sort_by(|a, b| natural::cmp(a, b));
    let drawn: Vec<&str> = changed.iter().copied().take(DRAWN_CLUSTERS).collect();
    let mut nodes: Vec<&str> = drawn.clone();
    for name in &drawn {
        if let Some(manager) = fleet
            .clusters
            .get(*name)
            .and_then(|cluster| cluster.manager.as_deref())
            && !nodes.contains(&manager)
        {
            nodes.push(manager);
        }
    }
    let id = |name: &str| {
        nodes
            .iter()
            .position(|node| *node == name)
            .map(|index| format!("c{index}"))
    };
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (index, name) in nodes.iter().enumerate() {
        let _ = writeln!(out, "  c{index}([\"{}\"])", mermaid_label(name));
    }
    for name in &drawn {
        let cluster = fleet.clusters.get(*name);
        if let (Some(cluster), Some(to)) = (cluster, id(name))
            && let Some(from) = cluster.manager.as_deref().and_then(id)
        {
            let what = if cluster.is_capi() {
                "provisions"
            } else {
                "drives"
            };
            let _ = writeln!(out, "  {from} ==>|{what}| {to}");
        }
    }
    if changed.len() > DRAWN_CLUSTERS {
        let rest = changed.len() - DRAWN_CLUSTERS;
        let _ = writeln!(
            out,
            "  more([\"… and {rest} more changed cluster{}\"])",
            plural(rest)
        );
    }
    let changed_ids: Vec<String> = drawn.iter().filter_map(|name| id(name)).collect();
    if !changed_ids.is_empty() {
        out.push_str("  classDef changed fill:#fff3c4,stroke:#b58900\n");
        let _ = writeln!(out, "  class {} changed", changed_ids.join(","));
    }
    out.push_str("```\n");
    out
}

fn mermaid_label(text: &str) -> String {
    printable::line(text)
        .replace('"', "#quot;")
        .replace('`', "#96;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// The whole patch inside `<details>`, cut at a line past [`PATCH_CHARS`].
fn folded_patch(drift: &Drift) -> String {
    let mut patch = Vec::new();
    let _ = diff::write_patch(drift, &mut patch, Palette::new(false));
    let patch = String::from_utf8_lossy(&patch);
    let lines = patch.lines().count();
    let mut shown = String::new();
    let mut cut = 0;
    for line in patch.lines() {
        if shown.len() + line.len() + 1 > PATCH_CHARS {
            cut += 1;
            continue;
        }
        shown.push_str(line);
        shown.push('\n');
    }
    // A fence longer than any backtick run inside keeps the patch from closing it.
    let longest = longest_backtick_run(&shown);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details><summary>Full diff ({lines} line{})</summary>\n\n{fence}diff",
        plural(lines)
    );
    out.push_str(&shown);
    let _ = writeln!(out, "{fence}");
    if cut > 0 {
        let _ = writeln!(
            out,
            "\n{cut} more line{} not shown: run `fleetgen diff` for all of it.",
            plural(cut)
        );
    }
    out.push_str("\n</details>\n");
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for character in text.chars() {
        if character == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_fences_cannot_be_broken_out_of() {
        assert_eq!(cell("a|b\n<img>"), "a\\|b\\\\n\\<img\\>");
        assert_eq!(
            cell("[x](https://example.com) ``` &lt; **b** \x1b[2J"),
            "\\[x\\]\\(https://example.com\\) \\`\\`\\` \\&lt; \\*\\*b\\*\\* \\\\u{1b}\\[2J"
        );
        assert_eq!(longest_backtick_run("x ```` y `` z"), 4);
        assert_eq!(mermaid_label("a\"<b>"), "a#quot;#lt;b#gt;");
        assert_eq!(mermaid_label("a\n```\n`b`"), "a\\n#96;#96;#96;\\n#96;b#96;");
    }
}
