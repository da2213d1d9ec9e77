//! Log collector configuration: fluent-bit, fluentd, and YAML log shippers (promtail, filebeat).

use serde_json::Value as Json;

use super::Source;
use crate::evidence::Evidence;
use crate::parse::yaml::YamlDoc;

/// fluent-bit classic configuration.
pub fn analyze_fluent_bit(_src: &Source<'_>, _out: &mut Evidence) {}

/// fluentd configuration.
pub fn analyze_fluentd(_src: &Source<'_>, _out: &mut Evidence) {}

/// promtail / filebeat YAML.
pub fn log_shipper_yaml(_src: &Source<'_>, _doc: &YamlDoc, _value: &Json, _ptr: &str, _out: &mut Evidence) {}
