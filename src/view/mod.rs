//! Views of a fleet for people: the Flux graph as a tree or a picture ([`graph`]), a change
//! as a pull-request comment ([`markdown`]) and the ordering shared by every list a person
//! reads ([`natural`]).

pub mod graph;
pub mod markdown;
pub mod natural;
