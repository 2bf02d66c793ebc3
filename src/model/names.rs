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
            c => format!("`{c}`"),
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

/// Checks a Git branch name, reduced to the forms that are safe as a ref and in a URL.
pub fn check_branch(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !name.starts_with(['/', '.', '-'])
        && !name.ends_with(['/', '.'])
        && !name.contains("..")
        && !name.contains("//")
        && !name.ends_with(".lock");
    if valid {
        Ok(())
    } else {
        Err("use letters, digits, `-`, `_`, `.` and `/` (not at the ends)".to_owned())
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
        for bad in ["", "a..b", "/a", "a/", "a b", "x.lock"] {
            assert!(check_branch(bad).is_err(), "{bad}");
        }
    }
}
