//! What a fleet source may ask for, whoever wrote the file: Git URLs that parse strictly and
//! carry no credentials, tenant roles from the fleet's allow-list (never `cluster-admin`),
//! branches whose trees cannot nest in one another, and paths that stay in the fleet root.

use fluent_uri::Uri;

use crate::model::names::{self, FORBIDDEN_ROLE};

/// Whether `path`, as written, is absolute or climbs out of the folder it is relative to.
pub fn leaves_root(path: &std::path::Path) -> bool {
    use std::path::Component;
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// The ClusterRoles tenants may be bound to when fleet.yaml does not say.
pub const DEFAULT_TENANT_ROLES: [&str; 3] = ["admin", "edit", "view"];

/// Why a URL is refused, and the hint that goes with it.
#[derive(Debug, PartialEq)]
pub struct UrlProblem {
    pub message: String,
    pub hint: &'static str,
}

/// Checks a Git URL Flux clones from: an RFC 3986 URI with scheme `https`, `http`, `ssh` or
/// `file`, a host (except for `file`), and no password or token in it. `ssh://git@host/…`
/// names the SSH user, which is not a secret; any user part of an HTTP URL is a credential.
pub fn check_git_url(url: &str) -> Result<(), UrlProblem> {
    const SCHEMES: &str = "use https://…, http://… or ssh://git@host/…";
    let invalid = |why: &str| UrlProblem {
        message: format!("is not a Git URL Flux can clone: {why}"),
        hint: SCHEMES,
    };
    let uri = Uri::parse(url).map_err(|_| invalid("it does not parse as a URL"))?;
    let scheme = uri.scheme().as_str().to_ascii_lowercase();
    if !["https", "http", "ssh", "file"].contains(&scheme.as_str()) {
        return Err(invalid("the scheme must be https, http, ssh or file"));
    }
    let Some(authority) = uri.authority() else {
        return Err(invalid("it has no host"));
    };
    if scheme != "file" && authority.host().is_empty() {
        return Err(invalid("it has no host"));
    }
    if scheme == "file" && uri.path().as_str().is_empty() {
        return Err(invalid("it has no path"));
    }
    if let Some(userinfo) = authority.userinfo() {
        let userinfo = userinfo.as_str();
        let credential = match scheme.as_str() {
            "ssh" => userinfo.contains(':'),
            _ => true,
        };
        if credential {
            return Err(UrlProblem {
                message: "contains credentials".to_owned(),
                hint: "credentials in a URL end up in every rendered file and in Git history; put them in a Secret and name it with `secretRef`",
            });
        }
    }
    Ok(())
}

/// A URL for a message: the credentials of a refused URL are not repeated.
pub fn redact_url(url: &str) -> String {
    match Uri::parse(url) {
        Ok(uri) => match uri.authority().and_then(|authority| authority.userinfo()) {
            Some(userinfo) => url.replacen(&format!("{}@", userinfo.as_str()), "***@", 1),
            None => url.to_owned(),
        },
        Err(_) => crate::diagnostic::truncate(url),
    }
}

/// Checks a tenant role against the fleet's allow-list.
pub fn check_tenant_role(role: &str, allowed: &[String]) -> Result<(), (String, String)> {
    names::check_role(role).map_err(|problem| {
        (
            format!(
                "`{}` is not a valid ClusterRole name: {problem}",
                crate::diagnostic::truncate(role)
            ),
            "a role is a ClusterRole name such as admin, edit or view".to_owned(),
        )
    })?;
    if role == FORBIDDEN_ROLE {
        return Err((
            format!("tenants may not be bound to {FORBIDDEN_ROLE}"),
            "cluster-admin reaches every namespace and the cluster itself; use admin, which keeps a tenant inside its namespaces".to_owned(),
        ));
    }
    if !allowed.iter().any(|allowed| allowed == role) {
        return Err((
            format!("ClusterRole `{role}` is not allowed for tenants"),
            format!(
                "the fleet allows {}; add it to `tenantRoles` in fleet/fleet.yaml if the role is meant for tenants",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_root_are_told_as_written() {
        for path in ["/etc", "..", "../x", "a/../../x", "./../x"] {
            assert!(leaves_root(std::path::Path::new(path)), "{path}");
        }
        for path in ["crds", "a/../b", "./crds/x.yaml", "a/b/../../c", "..."] {
            assert!(!leaves_root(std::path::Path::new(path)), "{path}");
        }
    }

    #[test]
    fn git_urls() {
        for good in [
            "https://github.com/org/repo",
            "https://github.com/org/repo.git",
            "ssh://git@github.com/org/repo",
            "ssh://github.com:22/org/repo",
            "http://gitea.local:3000/org/repo",
            "file:///srv/git/fleet",
        ] {
            assert_eq!(check_git_url(good), Ok(()), "{good}");
        }
        for bad in [
            "github.com/org/repo",
            "git@github.com:org/repo",
            "https://",
            "https://host/a b",
            "https://host/a\nb",
            "ftp://host/repo",
            "https://[bad/repo",
        ] {
            assert!(check_git_url(bad).is_err(), "{bad}");
        }
        for secret in [
            "https://user:token@github.com/org/repo",
            "https://token@github.com/org/repo",
            "ssh://git:password@host/org/repo",
        ] {
            let problem = check_git_url(secret).unwrap_err();
            assert_eq!(problem.message, "contains credentials", "{secret}");
            assert!(
                !redact_url(secret).contains("token") && !redact_url(secret).contains("password")
            );
        }
    }

    #[test]
    fn tenant_roles() {
        let allowed: Vec<String> = DEFAULT_TENANT_ROLES.map(str::to_owned).to_vec();
        assert!(check_tenant_role("admin", &allowed).is_ok());
        assert!(check_tenant_role("cluster-admin", &allowed).is_err());
        let with_it = vec!["cluster-admin".to_owned()];
        assert!(check_tenant_role("cluster-admin", &with_it).is_err());
        assert!(check_tenant_role("my-role", &allowed).is_err());
        assert!(check_tenant_role("admin\n---\nkind: X", &allowed).is_err());
    }
}
