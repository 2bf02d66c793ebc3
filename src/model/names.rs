//! Kubernetes name rules. Every fleetgen name ends up in object names, namespaces and label
//! values, so names are checked once, at load time, against the strictest of those rules.

/// Longest DNS-1123 label, and longest label value.
pub const MAX_LABEL: usize = 63;

/// Checks a DNS-1123 label: lower-case alphanumerics and `-`, starting and ending with an
/// alphanumeric, at most 63 characters.
pub fn check_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > MAX_LABEL {
        return Err(format!(
            "it is {} characters long; the limit is {MAX_LABEL}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let what = match bad {
            '/' | '\\' => "a path separator".to_owned(),
            c if c.is_ascii_uppercase() => format!("the upper-case letter `{c}`"),
            c => describe_char(c),
        };
        return Err(format!(
            "it contains {what}; use lower-case letters, digits and `-`"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it starts or ends with `-`".to_owned());
    }
    Ok(())
}

/// Longest branch name accepted; it becomes a folder name and part of ref paths.
pub const MAX_BRANCH: usize = 200;

/// Checks a Git branch name: `git check-ref-format --branch` rules (no `..`, no component
/// starting with `.` or ending in `.lock`, no `//`, no `@{`, not ending in `/` or `.`, not
/// starting with `-`), on a character set reduced to what is safe as a folder name and in a
/// URL: ASCII letters, digits, `-`, `_`, `.` and `/`.
pub fn check_branch(name: &str) -> Result<(), String> {
    const CHARSET: &str = "use letters, digits, `-`, `_`, `.` and `/` (not at the ends)";
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > MAX_BRANCH {
        return Err(format!(
            "it is {} characters long; the limit is {MAX_BRANCH}",
            name.len()
        ));
    }
    let charset_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if !charset_ok || name.starts_with(['/', '-']) || name.ends_with(['/', '.']) {
        return Err(CHARSET.to_owned());
    }
    if name.contains("..") || name.contains("//") {
        return Err("Git refuses `..` and `//` in branch names".to_owned());
    }
    if name == "HEAD" {
        return Err("`HEAD` names the current commit, not a branch".to_owned());
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return Err(format!(
                "Git refuses the component `{component}`: it starts with `.`"
            ));
        }
        if component.ends_with(".lock") {
            return Err(format!(
                "Git refuses the component `{component}`: it ends in `.lock`"
            ));
        }
    }
    Ok(())
}

/// Whether one branch's tree would sit inside the other's folder (`main` and `main/infra`):
/// both are written to `<output>/<branch>/`, and Git cannot hold both refs either.
pub fn branches_nest(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.strip_prefix(short)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A ClusterRole that no tenant may be bound to, whatever the fleet allows.
pub const FORBIDDEN_ROLE: &str = "cluster-admin";

/// Longest ClusterRole name accepted (a Kubernetes object name).
pub const MAX_ROLE: usize = 253;

/// Checks a ClusterRole name as RBAC accepts it in a RoleBinding's `roleRef`: lower-case
/// letters, digits, `-`, `.` and `:` (as in `system:aggregate-to-edit`), starting and ending
/// with a letter or digit.
pub fn check_role(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > MAX_ROLE {
        return Err(format!(
            "it is {} characters long; the limit is {MAX_ROLE}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(*c)))
    {
        return Err(format!(
            "it contains {}; use lower-case letters, digits, `-`, `.` and `:`",
            describe_char(bad)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A character for a message: control characters by their code, so a message never carries
/// a raw line break or terminal escape.
pub fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("the character U+{:04X}", c as u32)
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(check_label("k3d-america").is_ok());
        assert!(check_label("a").is_ok());
        assert!(
            check_label("team/a")
                .unwrap_err()
                .contains("path separator")
        );
        assert!(check_label("Team").unwrap_err().contains("upper-case"));
        assert!(check_label("-a").is_err());
        assert!(
            check_label(&"a".repeat(64))
                .unwrap_err()
                .contains("64 characters")
        );
        assert!(check_label("..").is_err());
    }

    #[test]
    fn branches() {
        assert!(check_branch("dev").is_ok());
        assert!(check_branch("release/1.0").is_ok());
        for bad in [
            "", "a..b", "/a", "a/", "a b", "x.lock", "a/.b", "a.lock/b", "a//b", "-a", "a.",
            "HEAD", "a@{1}", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b", "a\nb",
        ] {
            assert!(check_branch(bad).is_err(), "{bad}");
        }
        assert!(check_branch(&"a".repeat(MAX_BRANCH + 1)).is_err());
    }

    #[test]
    fn nesting_branches() {
        assert!(branches_nest("main", "main/infra"));
        assert!(branches_nest("main/infra", "main"));
        assert!(!branches_nest("main", "mainline"));
        assert!(!branches_nest("dev", "qa"));
    }

    #[test]
    fn roles() {
        for good in ["admin", "edit", "system:aggregate-to-edit", "team.reader"] {
            assert!(check_role(good).is_ok(), "{good}");
        }
        for bad in ["", "Admin", "admin\n---", "a/b", "-a", "a:", "a b", "x%2f"] {
            assert!(check_role(bad).is_err(), "{bad}");
        }
        assert!(check_role("admin\nextra").unwrap_err().contains("U+000A"));
    }
}
