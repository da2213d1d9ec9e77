//! Cluster collector: reads a live Kubernetes cluster (or a saved snapshot of one) into plain data.
//!
//! Place in the pipeline: this is the `collect` layer for `dockershim-audit cluster` and
//! `dockershim-audit snapshot`. Collectors are the only layer that talks to the Kubernetes API; they
//! produce a [`ClusterSnapshot`] (objects as dynamic JSON, plus the gaps in what could be read) and
//! never print or decide findings — the evidence builders and the rules engine do that later.
//!
//! Must not: write anything to the cluster (the only non-GET request is the
//! SelfSubjectAccessReview POST, which persists nothing), read Secrets, GET single objects, or
//! print anything but opt-in progress lines on stderr. The one exception is the opt-in
//! [`collector`] of `cluster --node-files`, which creates and deletes its own pods.

pub mod collector;
pub mod coverage;
mod credentials;
pub mod fetch;
pub mod kinds;
pub mod limits;
pub mod pruned;
pub mod snapshot;
mod transport;

pub use fetch::{ClusterClient, FetchOptions, ObjectFilter, client_from, connect, fetch, fetch_filtered, fetch_pruned};
pub use kinds::{RESOURCES, ResourceKind};
pub use limits::Limits;
pub use snapshot::{ClusterSnapshot, Gap, LoadSummary, SourceFormat};
