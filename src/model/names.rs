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
    at_most(name, MAX_LABEL)?;
    if let Some(bad) = name.chars().find(|c| !is_dns_char(*c)) {
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
    at_most(name, MAX_BRANCH)?;
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
    at_most(name, MAX_ROLE)?;
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

/// Longest DNS-1123 subdomain, what most object names are.
pub const MAX_SUBDOMAIN: usize = 253;

/// Checks a DNS-1123 subdomain, what the API server requires of most object names: parts of
/// lower-case alphanumerics and `-`, each starting and ending with an alphanumeric, joined by
/// `.`, at most 253 characters in all.
pub fn check_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    at_most(name, MAX_SUBDOMAIN)?;
    for part in name.split('.') {
        if part.is_empty() {
            return Err("it starts or ends with `.` or has two in a row".to_owned());
        }
        if let Some(bad) = part.chars().find(|c| !is_dns_char(*c)) {
            let what = match bad {
                c if c.is_ascii_uppercase() => format!("the upper-case letter `{c}`"),
                c => describe_char(c),
            };
            return Err(format!(
                "it contains {what}; use lower-case letters, digits, `-` and `.`"
            ));
        }
        if part.starts_with('-') || part.ends_with('-') {
            return Err("a part of it starts or ends with `-`".to_owned());
        }
    }
    Ok(())
}

/// Checks a DNS-1035 label, what a Service's name must be: a DNS-1123 label that starts with
/// a letter.
pub fn check_dns1035_label(name: &str) -> Result<(), String> {
    check_label(name)?;
    match name.starts_with(|c: char| c.is_ascii_lowercase()) {
        true => Ok(()),
        false => Err("it starts with a digit; it must start with a letter".to_owned()),
    }
}

/// Checks a name that becomes one segment of an API path, all the API server requires of
/// some names (RBAC roles and bindings): not `.` or `..`, no `/` or `%`.
pub fn check_path_segment(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name == "." || name == ".." {
        return Err(format!("it is `{name}`"));
    }
    match name.chars().find(|c| matches!(c, '/' | '%')) {
        Some(bad) => Err(format!("it contains `{bad}`")),
        None => Ok(()),
    }
}

/// Checks a label or annotation key: a name of at most 63 letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit, after an optional DNS-1123 subdomain prefix
/// and `/` (`app.kubernetes.io/name`).
pub fn check_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        check_subdomain(prefix).map_err(|problem| format!("its prefix is not valid: {problem}"))?;
    }
    if name.is_empty() {
        return Err("its name part is empty".to_owned());
    }
    if name.contains('/') {
        return Err("it contains more than one `/`".to_owned());
    }
    check_label_value(name).map_err(|problem| match prefix {
        Some(_) => format!("its name part is not valid: {problem}"),
        None => problem,
    })
}

/// Checks a label value: empty, or at most 63 letters, digits, `-`, `_` and `.`, starting and
/// ending with a letter or digit.
pub fn check_label_value(value: &str) -> Result<(), String> {
    at_most(value, MAX_LABEL)?;
    if let Some(bad) = value.chars().find(|c| !is_label_value_char(*c)) {
        return Err(format!(
            "it contains {}; use letters, digits, `-`, `_` and `.`",
            describe_char(bad)
        ));
    }
    if !value.is_empty()
        && (!value.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !value.ends_with(|c: char| c.is_ascii_alphanumeric()))
    {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// Longest port name.
pub const MAX_PORT_NAME: usize = 15;

/// Checks a container port's name, as a Service's `targetPort` names it (an IANA service
/// name): at most 15 lower-case letters, digits and `-`, at least one letter, no `-` at
/// either end or two in a row.
pub fn check_port_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    at_most(name, MAX_PORT_NAME)?;
    if let Some(bad) = name.chars().find(|c| !is_dns_char(*c)) {
        return Err(format!(
            "it contains {}; use lower-case letters, digits and `-`",
            describe_char(bad)
        ));
    }
    if !name.contains(|c: char| c.is_ascii_lowercase()) {
        return Err("it has no letter; a port number is not a name".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err("it starts or ends with `-` or has two in a row".to_owned());
    }
    Ok(())
}

/// Checks a key of a ConfigMap's or Secret's data, which becomes a file name where the
/// object is mounted: at most 253 letters, digits, `-`, `_` and `.`, and not `.`, `..` or
/// anything starting with `..`.
pub fn check_data_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("it is empty".to_owned());
    }
    at_most(key, MAX_SUBDOMAIN)?;
    if let Some(bad) = key.chars().find(|c| !is_label_value_char(*c)) {
        return Err(format!(
            "it contains {}; use letters, digits, `-`, `_` and `.`",
            describe_char(bad)
        ));
    }
    if key == "." || key.starts_with("..") {
        return Err("it is `.` or starts with `..`".to_owned());
    }
    Ok(())
}

/// Refuses `text` longer than `limit` bytes, saying how long it is.
fn at_most(text: &str, limit: usize) -> Result<(), String> {
    match text.len() > limit {
        true => Err(format!(
            "it is {} characters long; the limit is {limit}",
            text.len()
        )),
        false => Ok(()),
    }
}

/// A character of a DNS-1123 label: a lower-case letter, a digit or `-`.
fn is_dns_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// A character of a label value or a data key: a letter, a digit, `-`, `_` or `.`.
fn is_label_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
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
    fn object_names() {
        for good in [
            "redis",
            "dev-redis",
            "a.b.c",
            "0a",
            "a-1.b-2",
            &"a".repeat(253),
        ] {
            assert_eq!(check_subdomain(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("Redis", "upper-case letter `R`"),
            ("my_app", "`_`"),
            ("a..b", "two in a row"),
            (".a", "starts or ends"),
            ("a.", "starts or ends"),
            ("a.-b", "`-`"),
            ("a\n---", "U+000A"),
            (&"a".repeat(254), "254 characters"),
        ] {
            let problem = check_subdomain(bad).expect_err(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }

        assert_eq!(check_dns1035_label("web"), Ok(()));
        assert!(check_dns1035_label("1web").unwrap_err().contains("digit"));
        assert!(check_dns1035_label("a.b").is_err());

        assert_eq!(check_path_segment("system:controller:X"), Ok(()));
        for bad in ["", ".", "..", "a/b", "a%2F"] {
            assert!(check_path_segment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_keys_and_values() {
        for good in [
            "app",
            "app.kubernetes.io/name",
            "Example_Key.1",
            "a",
            &"k".repeat(63),
        ] {
            assert_eq!(check_qualified_name(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("example.com/", "name part is empty"),
            ("/name", "prefix"),
            ("Example.com/name", "prefix"),
            ("a/b/c", "more than one"),
            ("-app", "start and end"),
            ("my app", "U+0020"),
            (&"k".repeat(64), "64 characters"),
        ] {
            let problem = check_qualified_name(bad).expect_err(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }
        for good in ["", "redis", "v1.2_3-rc", "True"] {
            assert_eq!(check_label_value(good), Ok(()), "{good}");
        }
        for bad in [
            "not valid!",
            "-a",
            "a.",
            &"v".repeat(64),
            "a\n---\nkind: Secret",
        ] {
            assert!(check_label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_names_and_data_keys() {
        for good in ["http", "http-alt", "h2c", "a1", &"p".repeat(15)] {
            assert_eq!(check_port_name(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("8080", "no letter"),
            ("HTTP", "`H`"),
            ("http--alt", "two in a row"),
            ("-http", "starts or ends"),
            ("metrics-endpoint", "16 characters"),
        ] {
            let problem = check_port_name(bad).expect_err(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }
        for good in ["app.yaml", "KEY_NAME", "key-name", ".hidden", "a..b"] {
            assert_eq!(check_data_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "..data",
            "config/app.yaml",
            "a b",
            &"k".repeat(254),
        ] {
            assert!(check_data_key(bad).is_err(), "{bad}");
        }
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
