//! `fleetgen diff --env qa --against dev`: what an environment would gain or lose if it
//! matched another — memberships, per-environment values, and the rendered files with the
//! environment's name abstracted (so `dev-redis` and `qa-redis` count as the same thing) —
//! short enough to read on one screen in a promotion pull request.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::natural;
use crate::model::{Environment, Fleet};
use crate::render::Rendered;
use crate::sinks::summary::{fold, plural};
use crate::tree::OWNED_LIST;

/// Names listed per line before "and N more".
const NAMES: usize = 8;
/// Value differences and files listed per section before the rest are counted.
const LISTED: usize = 12;

/// The report for making `target` match `source`; both must be compiled in `rendered`.
pub fn report(fleet: &Fleet, rendered: &Rendered, target: &str, source: &str) -> String {
    let (to, from) = (&fleet.environments[target], &fleet.environments[source]);
    let mut out = format!(
        "{target} compared with {source}: what {target} would gain (+) or lose (-) if it matched {source}\n"
    );
    let to_clusters: BTreeSet<&str> = to.clusters.keys().map(String::as_str).collect();
    let from_clusters: BTreeSet<&str> = from.clusters.keys().map(String::as_str).collect();
    section(&mut out, "clusters", &to_clusters, &from_clusters);
    let to_tenants: BTreeSet<&str> = to.tenants.keys().map(String::as_str).collect();
    let from_tenants: BTreeSet<&str> = from.tenants.keys().map(String::as_str).collect();
    section(&mut out, "tenants", &to_tenants, &from_tenants);
    for tenant in sorted(to_tenants.intersection(&from_tenants).copied()) {
        let (now, then) = (&to.tenants[tenant], &from.tenants[tenant]);
        fn names(names: &[String]) -> BTreeSet<&str> {
            names.iter().map(String::as_str).collect()
        }
        section(
            &mut out,
            &format!("tenant {tenant} apps"),
            &names(&now.apps),
            &names(&then.apps),
        );
        section(
            &mut out,
            &format!("tenant {tenant} clusters"),
            &names(&now.clusters),
            &names(&then.clusters),
        );
    }
    values(&mut out, to, from);
    files(&mut out, rendered, to, from);
    out
}

fn sorted<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_by(|a, b| natural::cmp(a, b));
    names
}

/// `clusters: + a, b; - c`, or nothing when both sides hold the same names.
fn section(out: &mut String, what: &str, now: &BTreeSet<&str>, then: &BTreeSet<&str>) {
    let gained = sorted(then.difference(now).copied());
    let lost = sorted(now.difference(then).copied());
    if gained.is_empty() && lost.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    if !gained.is_empty() {
        parts.push(format!("+ {}", fold(&gained, NAMES)));
    }
    if !lost.is_empty() {
        parts.push(format!("- {}", fold(&lost, NAMES)));
    }
    let _ = writeln!(out, "  {what}: {}", parts.join("; "));
}

/// Values of the clusters in both environments that differ.
fn values(out: &mut String, to: &Environment, from: &Environment) {
    let mut rows = Vec::new();
    let mut clusters: Vec<&str> = to
        .clusters
        .keys()
        .filter(|name| from.clusters.contains_key(*name))
        .map(String::as_str)
        .collect();
    clusters.sort_by(|a, b| natural::cmp(a, b));
    for cluster in clusters {
        let (now, then) = (&to.clusters[cluster], &from.clusters[cluster]);
        for (key, resolved) in then.iter() {
            let theirs = resolved.value.to_string();
            let ours = now
                .iter()
                .find(|(other, _)| *other == key)
                .map(|(_, resolved)| resolved.value.to_string());
            if ours.as_deref() != Some(theirs.as_str()) {
                rows.push(format!(
                    "{cluster} {key}: {} → {theirs}",
                    ours.as_deref().unwrap_or("(unset)")
                ));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "  values ({} → {}):", to.name, from.name);
    for row in rows.iter().take(LISTED) {
        let _ = writeln!(out, "    {row}");
    }
    if rows.len() > LISTED {
        let _ = writeln!(out, "    … and {} more", rows.len() - LISTED);
    }
}

/// `from`'s rendered branch with its environment's name replaced by `to`'s, compared file by
/// file with `to`'s.
fn files(out: &mut String, rendered: &Rendered, to: &Environment, from: &Environment) {
    let (Some(now), Some(then)) = (
        rendered.branches.trees.get(&to.branch),
        rendered.branches.trees.get(&from.branch),
    ) else {
        return;
    };
    let (mut gained, mut lost, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let mut abstracted = BTreeSet::new();
    for (path, content) in then.iter() {
        if path == OWNED_LIST {
            continue;
        }
        let path = rename(path, &from.name, &to.name);
        let content = rename(&String::from_utf8_lossy(content), &from.name, &to.name);
        match now.get(&path) {
            None => gained.push(path.clone()),
            Some(ours) if ours != content.as_bytes() => changed.push(path.clone()),
            Some(_) => {}
        }
        abstracted.insert(path);
    }
    for path in now.paths() {
        if path != OWNED_LIST && !abstracted.contains(path) {
            lost.push(path.to_owned());
        }
    }
    let _ = writeln!(
        out,
        "  rendered files ({} as {}): {} added, {} changed, {} removed",
        from.name,
        to.name,
        gained.len(),
        changed.len(),
        lost.len()
    );
    for (sign, paths) in [("+", &mut gained), ("~", &mut changed), ("-", &mut lost)] {
        paths.sort_by(|a, b| natural::cmp(a, b));
        for path in paths.iter().take(LISTED) {
            let _ = writeln!(out, "    {sign} {path}");
        }
        if paths.len() > LISTED {
            let rest = paths.len() - LISTED;
            let _ = writeln!(out, "    {sign} … and {rest} more file{}", plural(rest));
        }
    }
}

/// Replaces `from` with `to` where it stands as a name or a name's part (`dev`, `dev-redis`,
/// `/dev/`), not inside another word (`device`).
fn rename(text: &str, from: &str, to: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_names_are_renamed() {
        assert_eq!(
            rename("dev-redis devices /dev/ undev dev", "dev", "qa"),
            "qa-redis devices /qa/ undev qa"
        );
    }
}
