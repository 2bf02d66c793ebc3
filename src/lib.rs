//! fleetgen compiles a GitOps fleet — clusters, environments, tenants and their apps, described
//! in a few small files — into the Git trees that Flux and Cluster API reconcile.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! load → model → plan → render → validate → sinks (write / diff / commit / check)
//! ```
//!
//! The library has no stability promise of its own: it exists so that the `fleetgen` binary
//! stays a thin argument parser and so that tests can drive each stage directly.

pub mod atomic;
pub mod cli;
mod crash;
pub mod diagnostic;
pub mod error;
pub mod load;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod printable;
pub mod progress;
pub mod render;
pub mod scaffold;
pub mod sinks;
pub mod tree;
pub mod validate;
pub mod view;

pub use diagnostic::{Diagnostic, Diagnostics, Location, Severity};
pub use error::{Error, Result};
pub use tree::{Branches, Tree};
