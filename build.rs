//! The default blueprints are compiled into the binary (`include_dir!`); cargo only notices
//! edits to files it already knows, so a blueprint file added or removed would not trigger a
//! rebuild. Watching the whole directory makes it do so.

fn main() {
    println!("cargo:rerun-if-changed=default-blueprints");
}
