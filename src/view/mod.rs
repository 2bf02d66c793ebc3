//! Views of a fleet for people: one cluster's objects as a YAML stream ([`build`]), the Flux
//! graph as a tree or a picture ([`graph`]), a change as a pull-request comment ([`markdown`]),
//! what a promotion between environments changes ([`promotion`]) and the ordering shared by
//! every list a person reads ([`natural`]).

pub mod build;
pub mod graph;
pub mod markdown;
pub mod natural;
pub mod promotion;
