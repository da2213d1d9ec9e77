//! Metric references in PromQL: Prometheus rule groups and Grafana dashboards.

use serde_json::Value as Json;

use super::Source;
use crate::evidence::Evidence;
use crate::parse::yaml::YamlDoc;

/// Prometheus rule `groups` (a rule file, or a PrometheusRule's spec).
pub fn rule_groups(_src: &Source<'_>, _doc: &YamlDoc, _value: &Json, _ptr: &str, _out: &mut Evidence) {}

/// A Grafana dashboard JSON.
pub fn analyze_dashboard(_src: &Source<'_>, _out: &mut Evidence) {}
