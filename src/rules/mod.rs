//! Rules are data: the schema of rule files, their compilation, the catalogue, the engine that
//! turns evidence into findings, and the migration plan's steps (`steps.yaml`).

pub mod catalogue;
pub(crate) mod compile;
pub(crate) mod data;
pub mod engine;
pub mod nearest;
pub mod prefilter;
pub mod schema;
pub mod steps;

pub use catalogue::Catalogue;
