//! Collectors: the only layer that reads files or talks to the Kubernetes API. They turn what they
//! read into [`crate::evidence`] records and record every gap; they never decide what is a finding.

pub mod callgraph;
pub mod cluster;
pub(crate) mod files;
pub mod git_index;
pub mod node;
pub mod objects;
pub mod rendered;
pub mod repo;
pub mod role_vars;
