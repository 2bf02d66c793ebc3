//! Fields of Flux objects that their schemas type as any string but that a controller reads
//! with a grammar of its own: a chart's `version` and an OCI artifact's `semver` are version
//! constraints as the Masterminds semver library reads them. `version: latest` passes every
//! schema; source-controller then fails the chart on every reconcile, and the HelmRelease
//! never installs.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::document::Document;
use crate::diagnostic::Diagnostic;

const RULE: &str = "flux";

/// Where a Flux kind holds a version constraint, and the field that says whether it is read
/// (a chart's `version` is ignored for a chart built from a Git repository or a bucket).
struct Constrained {
    group: &'static str,
    kind: &'static str,
    pointer: &'static str,
    source_kind: Option<&'static str>,
}

const CONSTRAINED: [Constrained; 3] = [
    Constrained {
        group: "helm.toolkit.fluxcd.io",
        kind: "HelmRelease",
        pointer: "/spec/chart/spec/version",
        source_kind: Some("/spec/chart/spec/sourceRef/kind"),
    },
    Constrained {
        group: "source.toolkit.fluxcd.io",
        kind: "HelmChart",
        pointer: "/spec/version",
        source_kind: Some("/spec/sourceRef/kind"),
    },
    Constrained {
        group: "source.toolkit.fluxcd.io",
        kind: "OCIRepository",
        pointer: "/spec/ref/semver",
        source_kind: None,
    },
];

/// The findings for one rendered object, whose whole value is `value`.
pub fn check(document: &Document, value: &Value) -> Vec<Diagnostic> {
    let (Some((group, _)), Some(kind)) = (document.group_version(), document.kind()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for field in CONSTRAINED
        .iter()
        .filter(|field| (field.group, field.kind) == (group, kind))
    {
        let read = field.source_kind.is_none_or(|at| {
            value
                .pointer(at)
                .and_then(Value::as_str)
                .is_none_or(|source| source == "HelmRepository")
        });
        let Some(constraint) = value.pointer(field.pointer).and_then(Value::as_str) else {
            continue;
        };
        // Empty, it means the latest version; `${…}` is Flux's to fill in.
        if !read || constraint.trim().is_empty() || constraint.contains("${") {
            continue;
        }
        if let Err(problem) = check_constraint(constraint) {
            let what = document.describe();
            let constraint = crate::diagnostic::truncate(constraint);
            let problem = problem
                .map(|problem| format!(": {problem}"))
                .unwrap_or_default();
            found.push(
                Diagnostic::error(
                    RULE,
                    format!(
                        "{what}: {}: `{constraint}` is not a version constraint{problem}",
                        field.pointer
                    ),
                )
                .at(document.location(field.pointer))
                .with_hint(
                    "give a version (`4.11.3`), a range (`>=4.0.0 <5.0.0`, `4.x`, `~4.11`, `^4.1`) or `*` for the latest",
                ),
            );
        }
    }
    found
}

/// One version of a constraint: an optional `v`, up to three dotted parts of digits or a
/// wildcard, a pre-release and build metadata. (The library's own pattern lets `|` into a
/// part; a part that is not all digits fails when the version is read, below.)
const VERSION: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

/// Go's `\s`, which is ASCII only (Rust's takes every Unicode space).
const SPACE: &str = r"[\t\n\f\r ]";

/// The comparison operators, the empty one included.
const OPERATORS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// `1.2 - 1.4.5`, which the library rewrites to `>= 1.2, <= 1.4.5` before anything else.
static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let version = |name: &str| format!("(?P<{name}>{VERSION})");
    let (low, high) = (version("low"), version("high"));
    Regex::new(&format!("{SPACE}*{low}{SPACE}+-{SPACE}+{high}{SPACE}*"))
        .expect("the range pattern compiles")
});

/// One alternative (between `||`): comparisons joined by spaces or commas.
static ALTERNATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "^({SPACE}*({OPERATORS}){SPACE}*({VERSION}){SPACE}*)((?:{SPACE}+|,{SPACE}*)({OPERATORS}){SPACE}*({VERSION}){SPACE}*)*$"
    ))
    .expect("the alternative pattern compiles")
});

/// One comparison inside an alternative, with its version's parts as groups.
static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("({OPERATORS}){SPACE}*({VERSION})"))
        .expect("the comparison pattern compiles")
});

/// Reads `constraint` as source-controller's semver library does, saying what it refuses
/// in a part of it, if a part is to blame.
fn check_constraint(constraint: &str) -> Result<(), Option<String>> {
    // Most constraints are a plain version, which every pattern below takes: no need to
    // compile them.
    if is_plain_version(constraint) {
        return Ok(());
    }
    let rewritten = RANGE.replace_all(constraint, ">= $low, <= $high ");
    for alternative in rewritten.split("||") {
        if !ALTERNATIVE.is_match(alternative) {
            // The whole constraint needs no saying twice.
            let whole = alternative.trim() == constraint.trim();
            let alternative = crate::diagnostic::truncate(alternative.trim());
            return Err(match alternative.is_empty() {
                true => Some("an alternative between `||` is empty".to_owned()),
                false if whole => None,
                false => Some(format!(
                    "`{alternative}` is not a comparison with a version"
                )),
            });
        }
        for comparison in COMPARISON.captures_iter(alternative) {
            // Groups: 1 the operator, 2 the version, 3 to 5 its parts, 6 its pre-release.
            let part = |index: usize| comparison.get(index).map_or("", |part| part.as_str());
            let numbers = [part(3), part(4), part(5)].map(|part| part.trim_start_matches('.'));
            for number in numbers
                .into_iter()
                .take_while(|number| !is_wildcard(number))
            {
                if number.is_empty() {
                    break;
                }
                if number.parse::<u64>().is_err() {
                    let version = crate::diagnostic::truncate(part(2));
                    return Err(Some(format!(
                        "in `{version}`, `{}` is neither a number nor a wildcard",
                        crate::diagnostic::truncate(number)
                    )));
                }
            }
            if let Some(pre_release) = part(6).strip_prefix('-')
                && let Some(bad) = pre_release.split('.').find(|identifier| {
                    identifier.len() > 1
                        && identifier.starts_with('0')
                        && identifier.bytes().all(|byte| byte.is_ascii_digit())
                })
            {
                return Err(Some(format!(
                    "the pre-release part `{}` has a number with a leading zero",
                    crate::diagnostic::truncate(bad)
                )));
            }
        }
    }
    Ok(())
}

/// `4.11.3`, `v4.11` or `4`: up to three numbers, each of 64 bits at most.
fn is_plain_version(version: &str) -> bool {
    let numbers = version.strip_prefix('v').unwrap_or(version);
    let mut parts = 0;
    numbers.split('.').all(|number| {
        parts += 1;
        parts <= 3
            && number.bytes().all(|byte| byte.is_ascii_digit())
            && number.parse::<u64>().is_ok()
    })
}

fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse::parse_file;

    #[test]
    fn constraints_source_controller_reads_pass() {
        for constraint in [
            "4.11.3",
            "v4.11.3",
            "*",
            "x",
            "4.x",
            "4.11.*",
            ">=4.0.0 <5.0.0",
            ">=4.0.0, <5.0.0",
            ">= 4.0.0,<5",
            "~4.11",
            "~>4.11.0",
            "^4.1",
            "=4.11.3",
            "!=4.11.2",
            "<=4.11 || >=5.1.0-rc.1",
            "1.2 - 1.4.5",
            "4.11.3-beta.1+build.5",
            " 4.11.3 ",
        ] {
            assert_eq!(check_constraint(constraint), Ok(()), "{constraint}");
        }
    }

    #[test]
    fn a_plain_version_is_one_the_patterns_take() {
        for version in ["4", "v4.11", "4.11.3", "0.0.0", "18446744073709551615.1.2"] {
            assert!(is_plain_version(version), "{version}");
            assert!(ALTERNATIVE.is_match(version), "{version}");
        }
        for version in [
            "",
            "v",
            "4.",
            ".4",
            "4..1",
            "4.11.3.1",
            "+1",
            "4.11.3-rc.1",
            "18446744073709551616",
        ] {
            assert!(!is_plain_version(version), "{version}");
        }
    }

    #[test]
    fn constraints_it_refuses_say_why() {
        for (constraint, says) in [
            // The whole constraint, which the message quotes already.
            ("latest", ""),
            (">= 4.0.0 && < 5.0.0", ""),
            ("4.11.3.1", ""),
            (
                "4.x || stable",
                "`stable` is not a comparison with a version",
            ),
            ("4.0.0 ||", "an alternative between `||` is empty"),
            ("1x.2", "in `1x.2`, `1x` is neither a number nor a wildcard"),
            ("4.1|2.0", "`1|2` is neither a number nor a wildcard"),
            (
                "4.11.3-01",
                "the pre-release part `01` has a number with a leading zero",
            ),
            (
                "99999999999999999999.0.0",
                "`99999999999999999999` is neither a number nor a wildcard",
            ),
        ] {
            let problem = check_constraint(constraint).expect_err(constraint);
            match (problem, says) {
                (None, "") => {}
                (Some(problem), _) if !says.is_empty() && problem.contains(says) => {}
                (problem, _) => panic!("{constraint}: {problem:?}"),
            }
        }
    }

    fn found(text: &str) -> Vec<(usize, String)> {
        let document = parse_file("main", "x.yaml", text.as_bytes())
            .unwrap()
            .remove(0);
        check(&document, &document.full_value())
            .into_iter()
            .map(|finding| {
                assert_eq!(finding.rule, RULE);
                (finding.location.unwrap().line, finding.message)
            })
            .collect()
    }

    #[test]
    fn a_chart_version_is_checked_where_source_controller_reads_it() {
        let release = |version: &str, source: &str| {
            found(&format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: a, namespace: b}}\nspec:\n  chart:\n    spec:\n      chart: ingress-nginx\n      version: {version}\n      sourceRef: {{kind: {source}, name: c}}\n"
            ))
        };
        assert_eq!(
            release("latest", "HelmRepository"),
            [(
                8,
                "helm.toolkit.fluxcd.io/v2 HelmRelease b/a: /spec/chart/spec/version: `latest` is not a version constraint".to_owned()
            )]
        );
        assert_eq!(release("'>=4.0.0 <5.0.0'", "HelmRepository"), []);
        assert_eq!(release("'${CHART_VERSION}'", "HelmRepository"), []);
        assert_eq!(release("''", "HelmRepository"), []);
        // Ignored for a chart in a Git repository or a bucket.
        assert_eq!(release("latest", "GitRepository"), []);
        let oci = |semver: &str| {
            found(&format!(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: a, namespace: b}}\nspec:\n  url: oci://example.com/a\n  ref:\n    semver: {semver}\n"
            ))
        };
        assert_eq!(oci("'1.x'"), []);
        assert_eq!(oci("newest")[0].0, 7);
        let chart = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: a, namespace: b}\nspec:\n  chart: c\n  version: 'v4 or later'\n  sourceRef: {kind: HelmRepository, name: c}\n";
        assert_eq!(found(chart)[0].0, 6);
        // Another kind's `version` is not a chart's.
        let other = "apiVersion: example.com/v1\nkind: HelmRelease\nmetadata: {name: a}\nspec: {chart: {spec: {version: latest}}}\n";
        assert_eq!(found(other), []);
    }
}
