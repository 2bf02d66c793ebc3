//! Where `render` may write: the output directory, resolved and confined.
//!
//! `output:` in `fleet/fleet.yaml` may come from anyone's pull request, so it must name a
//! folder inside the fleet root, reached without a symlink, and apart from the source. `--out`
//! on the command line is the user's own choice of any other place, but never the source
//! itself either: `render` prunes what it owns there, and the source is not its to prune.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The folders of the fleet source, relative to its root.
const SOURCE: [&str; 4] = ["fleet", "environments", "blueprints", ".git"];

/// Checks `output:` from fleet.yaml as written: a relative path down into the fleet root that
/// neither is nor contains nor lies in the source. Returns what is wrong, as a phrase.
pub fn check_configured(output: &Path) -> std::result::Result<(), &'static str> {
    if output.has_root() || output.is_absolute() {
        return Err("must be a folder inside the fleet root, not an absolute path");
    }
    let mut parts = Vec::new();
    for component in output.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            _ => return Err("leaves the fleet root"),
        }
    }
    let Some(first) = parts.first() else {
        return Err("is the fleet root itself, which holds the source");
    };
    if SOURCE
        .iter()
        .any(|source| first.eq_ignore_ascii_case(source))
    {
        return Err("lies in the fleet source");
    }
    Ok(())
}

/// The output directory of a render: `out` from the command line, else `output` (checked by
/// the model) below `root`. Refuses a configured output reached through a symlink and any
/// output overlapping the source.
pub fn resolve(root: &Path, configured: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let path = match out {
        Some(out) => out.to_path_buf(),
        None => {
            check_configured(configured).map_err(|problem| refuse(configured, problem))?;
            let mut current = root.to_path_buf();
            for component in configured.components() {
                current.push(component);
                match std::fs::symlink_metadata(&current) {
                    Ok(metadata) if metadata.is_symlink() => {
                        return Err(refuse(
                            &current,
                            "is a symbolic link; `output` must stay inside the fleet root \
                             (pass --out to write elsewhere)",
                        ));
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => break,
                    Err(source) => {
                        return Err(Error::Read {
                            path: current,
                            source,
                        });
                    }
                }
            }
            root.join(configured)
        }
    };
    let resolved = canonical(&path)?;
    let root = canonical(root)?;
    if root.starts_with(&resolved) {
        return Err(refuse(&path, "contains the fleet source"));
    }
    for source in SOURCE {
        let source = root.join(source);
        if resolved.starts_with(&source) {
            return Err(refuse(&path, "lies in the fleet source"));
        }
    }
    Ok(path)
}

fn refuse(path: &Path, problem: &str) -> Error {
    Error::Usage(format!(
        "refusing to render into {}: it {problem}",
        crate::printable::path(path)
    ))
}

/// The absolute, symlink-free form of `path`, of which only a leading part need exist.
fn canonical(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(canonical) => {
                let mut canonical = canonical;
                for part in rest.iter().rev() {
                    match part {
                        Component::ParentDir => {
                            canonical.pop();
                        }
                        Component::CurDir => {}
                        part => canonical.push(part),
                    }
                }
                return Ok(canonical);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let (Some(parent), Some(last)) =
                    (existing.parent(), existing.components().next_back())
                else {
                    return Ok(absolute);
                };
                rest.push(last);
                existing = parent;
            }
            Err(source) => {
                return Err(Error::Read {
                    path: existing.to_path_buf(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_outputs_stay_inside_the_root_and_apart_from_the_source() {
        for good in ["out", "./build/out", "rendered"] {
            assert!(check_configured(Path::new(good)).is_ok(), "{good}");
        }
        for bad in [
            "/",
            "/tmp/out",
            "../out",
            "out/../../x",
            ".",
            "",
            "environments",
            "fleet/out",
            "blueprints",
            ".git",
            ".GIT/x",
        ] {
            assert!(check_configured(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_overlapping_the_source_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("fleet")).unwrap();
        let resolve_out = |out: &Path| resolve(root.path(), Path::new("out"), Some(out));
        assert!(resolve_out(root.path()).is_err());
        assert!(resolve_out(&root.path().join("fleet/x")).is_err());
        assert!(resolve_out(&root.path().join("out/../environments")).is_err());
        assert!(resolve_out(root.path().parent().unwrap()).is_err());
        assert!(resolve_out(&root.path().join("elsewhere")).is_ok());
        let outside = tempfile::tempdir().unwrap();
        assert!(resolve_out(outside.path()).is_ok());
    }

    #[test]
    fn a_configured_output_through_a_symlink_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("out")).unwrap();
        let error = resolve(root.path(), Path::new("out/x"), None).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert!(resolve(root.path(), Path::new("build"), None).is_ok());
    }
}
