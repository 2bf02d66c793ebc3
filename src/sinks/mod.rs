//! Where rendered trees go. Every command is a sink over the same [`crate::tree::Branches`]:
//! `render` writes them to a directory, `diff` compares them with the fleet repo's branches,
//! `commit` commits them there, `check` validates and compares.

pub mod changes;
pub mod checkout;
pub mod diff;
pub mod dir_base;
pub mod git;
pub mod git_base;
pub mod journal;
pub mod output;
pub mod pack;
pub mod source;
pub mod summary;
pub mod tree_ids;
pub mod write;
