//! Views of a fleet for people: the Flux graph as a tree or a picture ([`graph`]) and the
//! ordering shared by every list a person reads ([`natural`]).

pub mod graph;
pub mod natural;
