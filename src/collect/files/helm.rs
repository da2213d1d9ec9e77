//! Helm charts: `values.yaml` and templates.

use super::Source;
use crate::evidence::Evidence;

/// A chart's values, for resolving `.Values.a.b` in templates.
#[derive(Debug, Default)]
pub struct Values;

impl Values {
    /// Adds a values file (`values.yaml` first, then overrides).
    pub fn add_file(&mut self, _path: &str, _text: &str) {}
}

/// `values.yaml`.
pub fn analyze_values(_src: &Source<'_>, _out: &mut Evidence) {}

/// A template.
pub fn analyze_template(src: &Source<'_>, _values: Option<&Values>, out: &mut Evidence) {
    super::manifest::analyze(src, out)
}
