//! Parsers that turn file text into positioned structures. Pure functions: no I/O, no rules.
//! Collectors call them; everything they return carries 1-based line numbers.

pub mod json_pointer;
pub mod shell;
#[cfg(test)]
pub(crate) mod testutil;
pub mod yaml;
pub mod yaml_error;
