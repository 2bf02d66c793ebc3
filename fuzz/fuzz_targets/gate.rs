//! The validation gate on any files a blueprint could render: the repository's example fleet is
//! rendered once, then each input, split at NUL into a path and the file's bytes (repeated),
//! adds or replaces files of its branches (`main` for paths under `clusters/` or `infra/`,
//! `dev` otherwise), and the whole is validated with the embedded schemas, as `render` does
//! before it writes. Validation may report anything; it must never panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use fleetgen::pipeline::Compiled;
use fleetgen::validate::{Options, Schemas, validate};
use libfuzzer_sys::fuzz_target;

fn example() -> &'static (Compiled, Schemas) {
    static EXAMPLE: OnceLock<(Compiled, Schemas)> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let compiled = fleetgen::pipeline::compile(&root, &[]).expect("the example fleet renders");
        let schemas = Schemas::embedded(None).expect("the default Kubernetes minor is embedded");
        (compiled, schemas)
    })
}

/// `path` as rendering would write it, or `None` where rendering refuses it.
fn rendered_path(path: &[u8]) -> Option<String> {
    let path = std::str::from_utf8(path).ok()?;
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let refused = |part: &&str| {
        *part == ".."
            || part.eq_ignore_ascii_case(".git")
            || part.len() > 64
            || part.contains('\\')
            || part.chars().any(char::is_control)
    };
    if parts.is_empty() || parts.len() > 8 || parts.iter().any(refused) {
        return None;
    }
    Some(parts.join("/"))
}

fuzz_target!(|data: &[u8]| {
    let (compiled, schemas) = example();
    let mut rendered = compiled.rendered.clone();
    let mut parts = data.split(|byte| *byte == 0);
    while let (Some(path), Some(content)) = (parts.next(), parts.next()) {
        let Some(path) = rendered_path(path) else {
            return;
        };
        let branch = match path.starts_with("clusters/") || path.starts_with("infra/") {
            true => "main",
            false => "dev",
        };
        if let Some(tree) = rendered.branches.trees.get_mut(branch) {
            tree.insert(path, content);
        }
    }
    let _ = validate(&compiled.fleet, &rendered, schemas, Options::default());
});
