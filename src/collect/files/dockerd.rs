//! Docker Engine settings held outside `daemon.json` (issue 12): installer variables that the
//! installer turns into dockerd's configuration — kubespray's `docker_insecure_registries`,
//! `docker_registry_mirrors`, `docker_options` (dockerd flags), ... — read as the `daemon.json`
//! settings they become (`setting` records of kind `docker-daemon-json`, `key` = the daemon.json
//! key), at the variable's line, so the same rule says where each must move for containerd. Place
//! in the pipeline: called by the YAML analyser for plain YAML (group_vars, role defaults).

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Subject};
use crate::parse::yaml::{YamlDoc, pointer_token};

/// kubespray variables of its Docker role and the daemon.json key each sets (its
/// `inventory/sample/group_vars/all/docker.yml` and `roles/container-engine/docker`): `None` for a
/// string of dockerd flags, read flag by flag.
const KUBESPRAY_DOCKER_VARS: &[(&str, Option<&str>)] = &[
    ("docker_insecure_registries", Some("insecure-registries")),
    ("docker_registry_mirrors", Some("registry-mirrors")),
    ("docker_daemon_graph", Some("data-root")),
    ("docker_cgroup_driver", Some("exec-opts")),
    ("docker_log_opts", None),
    ("docker_options", None),
    ("docker_storage_options", None),
];

/// dockerd command-line flags and the daemon.json key each is (dockerd's reference: a flag and its
/// daemon.json key name the same option).
const DOCKERD_FLAGS: &[(&str, &str)] = &[
    ("--insecure-registry", "insecure-registries"),
    ("--registry-mirror", "registry-mirrors"),
    ("--log-driver", "log-driver"),
    ("--log-opt", "log-opts"),
    ("--data-root", "data-root"),
    ("--graph", "data-root"),
    ("-g", "data-root"),
    ("--exec-opt", "exec-opts"),
    ("--default-runtime", "default-runtime"),
    ("--add-runtime", "runtimes"),
    ("--storage-driver", "storage-driver"),
    ("-s", "storage-driver"),
    ("--default-ulimit", "default-ulimits"),
    ("--live-restore", "live-restore"),
    ("--max-concurrent-downloads", "max-concurrent-downloads"),
];

/// The daemon.json settings of dockerd flags in `text` (`--insecure-registry=r:5000 --log-opt
/// max-size=50m`): (key, value). Templated words (`{{ x }}`) are kept as written.
pub fn flag_settings(text: &str) -> Vec<(&'static str, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (w, None),
        };
        if let Some((_, key)) = DOCKERD_FLAGS.iter().find(|(f, _)| *f == flag) {
            let value = match inline {
                Some(v) => v.to_string(),
                None if *key == "live-restore" => "true".to_string(),
                None => match words.get(i + 1).filter(|n| !n.starts_with('-')) {
                    // A templated value (`{{ docker_daemon_graph }}`) is one value, blanks and all.
                    Some(n) if n.starts_with("{{") => {
                        let end = (i + 1..words.len()).find(|&j| words[j].ends_with("}}")).unwrap_or(i + 1);
                        let v = words[i + 1..=end].join(" ");
                        i = end;
                        v
                    }
                    Some(n) => {
                        i += 1;
                        n.to_string()
                    }
                    None => String::new(),
                },
            };
            out.push((*key, value.trim_matches(['"', '\'']).to_string()));
        }
        i += 1;
    }
    out
}

/// Settings of kubespray's Docker variables in a plain YAML mapping at `ptr` (see the module
/// header). Empty values (`[]`, `""`) set nothing.
pub fn kubespray_vars(
    src: &Source<'_>,
    doc: &YamlDoc,
    map: &serde_json::Map<String, Json>,
    ptr: &str,
    out: &mut Evidence,
) {
    let s = src.embedded_kind(FileKind::DockerDaemonJson);
    for (var, key) in KUBESPRAY_DOCKER_VARS {
        let Some(v) = map.get(*var) else { continue };
        let vptr = format!("{ptr}/{}", pointer_token(var));
        let settings: Vec<(&str, String)> = match (key, v) {
            (Some(k), Json::Array(items)) if !items.is_empty() => {
                let shown: Vec<String> =
                    items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string)).collect();
                vec![(*k, shown.join(", "))]
            }
            (Some(k), Json::String(s)) if !s.trim().is_empty() => {
                let value = if *k == "exec-opts" { format!("native.cgroupdriver={s}") } else { s.clone() };
                vec![(*k, value)]
            }
            (None, Json::String(s)) => flag_settings(s),
            _ => Vec::new(),
        };
        let p = doc.span(&vptr).map_or_else(|| doc.pos(&vptr), |sp| sp.key.unwrap_or(sp.value));
        for (key, value) in settings {
            let mut r = s.record(Subject::Setting, p.line, p.column).with("key", key).with("value", value);
            super::embedded::add_provenance(
                &mut r,
                &format!("kubespray variable {var}, which its Docker role passes to dockerd"),
            );
            out.records.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerd_flags_are_daemon_json_settings() {
        assert_eq!(
            flag_settings(
                "--insecure-registry=10.233.0.0/18 --graph {{ docker_daemon_graph }} --log-opt max-size=50m --live-restore --iptables=false -s overlay2 --exec-opt"
            ),
            [
                ("insecure-registries", "10.233.0.0/18".to_string()),
                ("data-root", "{{ docker_daemon_graph }}".to_string()),
                ("log-opts", "max-size=50m".to_string()),
                ("live-restore", "true".to_string()),
                ("storage-driver", "overlay2".to_string()),
                ("exec-opts", String::new()),
            ]
        );
    }
}
