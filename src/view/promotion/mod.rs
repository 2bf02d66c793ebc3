//! `fleetgen diff --env qa --against dev`: what an environment would gain or lose if it
//! matched another — memberships, per-environment values, and the objects Flux applies with
//! the environment's name abstracted (so `dev-redis` and `qa-redis` are one object) — short
//! enough to read on one screen in a promotion pull request, whatever the size of the fleet.

mod fields;
mod names;
mod objects;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::natural;
use crate::error::Result;
use crate::model::{Environment, Fleet};
use crate::render::Rendered;
use crate::sinks::summary::fold;

/// Names listed per line before "and N more".
const NAMES: usize = 8;
/// Tenants whose membership differs listed before the rest are counted.
const TENANTS: usize = 8;
/// Value differences listed before the rest are counted.
const VALUES: usize = 12;
/// The most lines a report has, whatever the size of the fleet: the title, the membership
/// (clusters, tenants, three lines per listed tenant and a count), the values with their
/// heading and count, and the objects with theirs.
pub const REPORT_LINES: usize = 1 + 2 + 3 * TENANTS + 1 + VALUES + 2 + 1 + objects::LINES;

/// The report for making `target` match `source`; both must be compiled in `rendered`.
pub fn report(fleet: &Fleet, rendered: &Rendered, target: &str, source: &str) -> Result<String> {
    let (to, from) = (&fleet.environments[target], &fleet.environments[source]);
    let names = Names {
        source: names::Abstraction::source(from, to),
        target: names::Abstraction::target(to),
    };
    let mut out = format!(
        "{target} compared with {source}: what {target} would gain (+) or lose (-) if it matched {source}\n"
    );
    membership(&mut out, to, from, &names);
    values(&mut out, to, from);
    objects::section(&mut out, fleet, rendered, to, from, &names)?;
    Ok(out)
}

/// How each side's names are read, so that what differs only by its environment compares
/// equal.
struct Names {
    source: names::Abstraction,
    target: names::Abstraction,
}

fn keys<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<&'a str> {
    names.into_iter().map(String::as_str).collect()
}

fn sorted<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_by(|a, b| natural::cmp(a, b));
    names
}

/// `+ a, b; - c`, or `None` when both sides hold the same names.
fn gained_lost(now: &BTreeSet<&str>, then: &BTreeSet<&str>) -> Option<String> {
    let gained = sorted(then.difference(now).copied());
    let lost = sorted(now.difference(then).copied());
    let mut parts = Vec::new();
    if !gained.is_empty() {
        parts.push(format!("+ {}", fold(&gained, NAMES)));
    }
    if !lost.is_empty() {
        parts.push(format!("- {}", fold(&lost, NAMES)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Clusters and tenants gained or lost, then, per tenant in both, its apps, clusters and branch.
fn membership(out: &mut String, to: &Environment, from: &Environment, names: &Names) {
    if let Some(line) = gained_lost(&keys(to.clusters.keys()), &keys(from.clusters.keys())) {
        let _ = writeln!(out, "  clusters: {line}");
    }
    let (to_tenants, from_tenants) = (keys(to.tenants.keys()), keys(from.tenants.keys()));
    if let Some(line) = gained_lost(&to_tenants, &from_tenants) {
        let _ = writeln!(out, "  tenants: {line}");
    }
    let mut differing = 0;
    let mut lines = Vec::new();
    for tenant in sorted(to_tenants.intersection(&from_tenants).copied()) {
        let (now, then) = (&to.tenants[tenant], &from.tenants[tenant]);
        let mut rows = Vec::new();
        if let Some(line) = gained_lost(&keys(&now.apps), &keys(&then.apps)) {
            rows.push(format!("  tenant {tenant} apps: {line}"));
        }
        if let Some(line) = gained_lost(&keys(&now.clusters), &keys(&then.clusters)) {
            rows.push(format!("  tenant {tenant} clusters: {line}"));
        }
        let (ours, theirs) = (
            names.target.text(&now.branch),
            names.source.text(&then.branch),
        );
        if ours != theirs {
            rows.push(format!("  tenant {tenant} branch: {ours} → {theirs}"));
        }
        if !rows.is_empty() {
            differing += 1;
            if differing <= TENANTS {
                lines.extend(rows);
            }
        }
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    if differing > TENANTS {
        let _ = writeln!(out, "  … and {} more tenants differ", differing - TENANTS);
    }
}

/// Values of the clusters in both environments that differ.
fn values(out: &mut String, to: &Environment, from: &Environment) {
    let mut rows = Vec::new();
    let clusters = sorted(
        to.clusters
            .keys()
            .filter(|name| from.clusters.contains_key(*name))
            .map(String::as_str),
    );
    for cluster in clusters {
        let (now, then) = (&to.clusters[cluster], &from.clusters[cluster]);
        let value = |values: &crate::model::values::Values, key: &str| {
            values.value(key).map(ToString::to_string)
        };
        let keys: BTreeSet<&str> = now.iter().chain(then.iter()).map(|(key, _)| key).collect();
        for key in sorted(keys.into_iter()) {
            let (ours, theirs) = (value(now, key), value(then, key));
            if ours != theirs {
                let shown = |value: Option<String>| value.unwrap_or_else(|| "(unset)".to_owned());
                rows.push(format!(
                    "{cluster} {key}: {} → {}",
                    shown(ours),
                    shown(theirs)
                ));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "  values ({} → {}):", to.name, from.name);
    for row in rows.iter().take(VALUES) {
        let _ = writeln!(out, "    {row}");
    }
    if rows.len() > VALUES {
        let _ = writeln!(out, "    … and {} more", rows.len() - VALUES);
    }
}

// The README promises a promotion report under 80 lines.
const _: () = assert!(REPORT_LINES < 80);
