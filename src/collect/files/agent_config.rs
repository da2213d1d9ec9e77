//! Log shippers configured for CRI logs (issue 12, noise): Fluent Bit and Fluentd depend on Docker
//! Engine only through their configuration (a Docker JSON parser on the container logs; see
//! `rules/data/telemetry-agents.csv`, rows without a version boundary). When the configuration sits
//! beside the shipper — in the same Helm chart or file — and it parses CRI log lines (a `cri`
//! parser) with no Docker parser, the shipper's containers are marked `agent_config: cri` and the
//! `telemetry-agent` note leaves them alone: the configuration's own rules speak for it, and an
//! already-migrated repository stays quiet. Place in the pipeline: after a chart's (or a file's)
//! records are gathered, before the rules. Pure.

use crate::evidence::{Record, Subject};

/// Marks the shipper containers of `records` (one chart or one file) whose configuration there
/// reads CRI logs (see the module header).
pub fn mark_cri_configured(records: &mut [Record]) {
    let mut cri = false;
    for r in records.iter().filter(|r| r.subject == Subject::Line) {
        let key = r.str("key").to_ascii_lowercase();
        let value = r.str("value").to_ascii_lowercase();
        let words = || value.split([',', ' ', '\t']).map(str::trim);
        match r.str("collector") {
            "fluent-bit" => {
                if (key == "parser" && value.trim() == "docker" && r.str("plugin") == "tail")
                    || (key == "docker_mode" && matches!(value.trim(), "on" | "true"))
                    || value.contains("/var/lib/docker/containers")
                {
                    return;
                }
                cri |= matches!(key.as_str(), "parser" | "multiline.parser") && words().any(|w| w == "cri");
            }
            "fluentd" => {
                let parse = r.str("section").ends_with("parse");
                if (key == "@type" && value == "json" && parse && !r.str("source_path").is_empty())
                    || value.contains("/var/lib/docker/containers")
                {
                    return;
                }
                cri |= key == "@type" && value == "cri";
            }
            _ => {}
        }
    }
    if !cri {
        return;
    }
    for r in records.iter_mut().filter(|r| r.subject == Subject::Container) {
        let image = r.str("image").to_ascii_lowercase();
        let name = image.rsplit('/').next().unwrap_or(&image);
        if name.starts_with("fluent-bit") || name.starts_with("fluentd") {
            r.set("agent_config", "cri");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Location;

    fn line(collector: &str, plugin: &str, key: &str, value: &str) -> Record {
        Record::new(Subject::Line, Location::default(), "")
            .with("collector", collector.to_string())
            .with("section", "INPUT")
            .with("plugin", plugin.to_string())
            .with("key", key.to_string())
            .with("value", value.to_string())
    }

    fn container(image: &str) -> Record {
        Record::new(Subject::Container, Location::default(), "").with("image", image.to_string())
    }

    fn marked(mut records: Vec<Record>) -> Vec<bool> {
        mark_cri_configured(&mut records);
        records.iter().filter(|r| r.subject == Subject::Container).map(|r| r.str("agent_config") == "cri").collect()
    }

    #[test]
    fn shippers_reading_cri_logs_are_marked_and_docker_parsers_keep_the_note() {
        let cri = line("fluent-bit", "tail", "multiline.parser", "docker, cri");
        let bit = || container("cr.fluentbit.io/fluent/fluent-bit:2.1.9");
        let other = || container("gcr.io/datadoghq/agent:7.50.0");
        assert_eq!(marked(vec![cri.clone(), bit(), other()]), [true, false]);
        // A Docker parser anywhere in the same configuration: the note stays.
        assert_eq!(marked(vec![cri.clone(), line("fluent-bit", "tail", "Parser", "docker"), bit()]), [false]);
        assert_eq!(marked(vec![cri, line("fluent-bit", "tail", "Docker_Mode", "On"), bit()]), [false]);
        // No configuration seen: nothing is known, the note stays.
        assert_eq!(marked(vec![bit()]), [false]);
        let fluentd_cri = || line("fluentd", "", "@type", "cri");
        assert_eq!(marked(vec![fluentd_cri(), container("fluent/fluentd-kubernetes-daemonset:v1.16")]), [true]);
        assert_eq!(marked(vec![fluentd_cri(), container("fluent/fluentd:v1.16-1"), bit()]), [true, true]);
    }
}
