//! Reading one input file as untrusted: a pull request can make any input a FIFO, a device, a
//! link to a file outside the fleet, or a megabyte of YAML aliases. Each is refused with a
//! message about the file, never with its content.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::error::{Error, Result};

/// Largest input file read. Fleet inputs are a few kilobytes; this leaves room for a fleet of
/// thousands of apps and keeps a hostile file from costing more than a moment.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Longest list accepted in an input file (apps, clusters, …).
pub const MAX_LIST: usize = 10_000;

/// Reads `relative` below `root` as UTF-8 text, refusing anything but a regular file inside
/// the fleet root of at most [`MAX_INPUT_BYTES`].
pub fn read_text(root: &Path, relative: &Path) -> Result<String> {
    let full = root.join(relative);
    let refuse = |rule: &'static str, message: String, hint: &str| {
        Error::Invalid(
            [Diagnostic::error(rule, message)
                .at(Location::file(relative))
                .with_hint(hint)]
            .into_iter()
            .collect(),
        )
    };
    let link = fs::symlink_metadata(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })?;
    if link.file_type().is_symlink() {
        let inside = match (fs::canonicalize(root), fs::canonicalize(&full)) {
            (Ok(root), Ok(target)) => target.starts_with(&root),
            _ => false,
        };
        if !inside {
            return Err(refuse(
                "input-outside-root",
                format!(
                    "{} is a symbolic link that leaves the fleet source (or is broken)",
                    relative.display()
                ),
                "inputs are read only from inside the fleet root; replace the link with the file",
            ));
        }
    }
    // A link higher up, on a folder, takes every file below it out of the fleet just as well.
    if let Some(folder) = relative.parent()
        && !stays_inside(root, folder)
    {
        return Err(refuse(
            "input-outside-root",
            format!(
                "{} is in a folder that a symbolic link takes out of the fleet source",
                relative.display()
            ),
            FOLDER_LINK_HINT,
        ));
    }
    // Following the link is safe now; a FIFO or device is refused before it is opened, since
    // opening a FIFO blocks and a device never ends.
    let metadata = fs::metadata(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(refuse(
            "not-a-file",
            format!("{} is not a regular file", relative.display()),
            "inputs are regular files; FIFOs, sockets and devices are refused",
        ));
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large(relative));
    }
    let file = fs::File::open(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })?;
    // The size may change between the check and the read; never read past the limit.
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: full.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(relative));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        refuse(
            "not-utf8",
            format!(
                "{} is not UTF-8 text (invalid byte at offset {offset})",
                relative.display()
            ),
            "save the file as UTF-8",
        )
    })
}

/// What to do about a folder whose real place is outside the fleet.
const FOLDER_LINK_HINT: &str =
    "inputs are read only from inside the fleet root; replace the linked folder with a real one";

/// Whether folder `folder` (relative to `root`) stays inside the fleet, adding a finding at it
/// when a link takes it out: called before a folder is listed or walked, so that not even the
/// names of what it holds outside are read.
pub fn check_folder(root: &Path, folder: &Path, diagnostics: &mut Diagnostics) -> bool {
    let inside = stays_inside(root, folder);
    if !inside {
        diagnostics.push(
            Diagnostic::error(
                "input-outside-root",
                format!(
                    "{} is a folder that a symbolic link takes out of the fleet source",
                    folder.display()
                ),
            )
            .at(Location::file(folder))
            .with_hint(FOLDER_LINK_HINT),
        );
    }
    inside
}

/// Whether `relative`, a file or folder below `root`, really lies inside it, symbolic links
/// followed: a link anywhere on the way, to a place outside, takes it out of the fleet. The
/// root itself may be reached through links; only where things lead from it counts. What does
/// not resolve (missing, or a broken link) cannot lead anywhere: reading it fails on its own.
pub fn stays_inside(root: &Path, relative: &Path) -> bool {
    if relative.as_os_str().is_empty() {
        return true;
    }
    match (real_path(root), real_path(&root.join(relative))) {
        (Some(root), Some(path)) => path.starts_with(root),
        _ => true,
    }
}

/// The real path of `path`, found once per run and path: the fleet source does not change
/// under a run, and its inputs come a thousand to a folder. What does not resolve is asked
/// again, since it may be made meanwhile (`add-cluster` makes `fleet/clusters`). A relative
/// path is kept as it is, relative to a working folder that fleetgen never changes: making it
/// absolute asks the system for that folder for every file.
fn real_path(path: &Path) -> Option<PathBuf> {
    static REAL: LazyLock<Mutex<HashMap<PathBuf, PathBuf>>> = LazyLock::new(Mutex::default);
    let mut known = REAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(real) = known.get(path) {
        return Some(real.clone());
    }
    let real = fs::canonicalize(path).ok()?;
    known.insert(path.to_path_buf(), real.clone());
    Some(real)
}

fn too_large(relative: &Path) -> Error {
    Error::Invalid(
        [Diagnostic::error(
            "input-too-large",
            format!(
                "{} is larger than {} MiB",
                relative.display(),
                MAX_INPUT_BYTES / 1024 / 1024
            ),
        )
        .at(Location::file(relative))
        .with_hint(
            "fleet inputs are small text files; split the content or remove what is not needed",
        )]
        .into_iter()
        .collect(),
    )
}

/// The path of a finding about `relative`, for callers that only have a full path.
pub fn relative_to(root: &Path, full: &Path) -> PathBuf {
    full.strip_prefix(root).unwrap_or(full).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: Error) -> String {
        match error {
            Error::Invalid(diagnostics) => diagnostics.to_string(),
            other => panic!("expected a finding, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_links_out_are_refused_without_reading() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "TOP-SECRET").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("a.env"))
            .unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.path().join("zero.env")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(root.path().join("fifo.env"))
            .status()
            .unwrap();
        assert!(status.success());

        let out = message(read_text(root.path(), Path::new("a.env")).unwrap_err());
        assert!(
            out.contains("[input-outside-root]") && !out.contains("TOP-SECRET"),
            "{out}"
        );
        let zero = message(read_text(root.path(), Path::new("zero.env")).unwrap_err());
        assert!(zero.contains("[input-outside-root]"), "{zero}");
        let fifo = message(read_text(root.path(), Path::new("fifo.env")).unwrap_err());
        assert!(
            fifo.contains("is not a regular file [not-a-file]"),
            "{fifo}"
        );
    }

    #[test]
    fn links_inside_the_root_and_size_limit() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("real.env"), "A=1\n").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("real.env", root.path().join("link.env")).unwrap();
            assert_eq!(
                read_text(root.path(), Path::new("link.env")).unwrap(),
                "A=1\n"
            );
        }
        let big = vec![b'a'; MAX_INPUT_BYTES as usize + 1];
        std::fs::write(root.path().join("big.env"), big).unwrap();
        let out = message(read_text(root.path(), Path::new("big.env")).unwrap_err());
        assert!(
            out.contains("[input-too-large]") && out.len() < 400,
            "{out}"
        );
    }
}
