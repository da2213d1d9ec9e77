//! Rules are data: the schema of rule files, their compilation, the catalogue, and the engine that
//! turns evidence into findings.

pub mod catalogue;
pub(crate) mod compile;
pub(crate) mod data;
pub mod engine;
pub mod prefilter;
pub mod schema;

pub use catalogue::Catalogue;
