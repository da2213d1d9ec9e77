//! Volume mounts held in Helm values: a chart's `sidecars:`, `extraContainers:`, `initContainers:`
//! or its main container's `volumeMounts:`/`extraVolumeMounts:` lists, which its templates splice
//! into a pod whose volumes they define. Place in the pipeline: a chart-level pass after the
//! chart's templates were analysed (`collect::repo`), reading the values files and the volume
//! records the templates gave; no I/O, no rule logic.
//!
//! A mount in values of a volume that a template defines as a hostPath is that hostPath volume
//! mounted by the container the values describe: a copy of the volume record, placed at the
//! mount's values line, where a user adds or removes the mount (issue 12, misses 4). The workload
//! rules (`hostpath-docker-socket`, ...) then read it like any volume record. A mount of a volume
//! no template defines gives nothing, and one of a volume the same values file writes itself
//! (`extraVolumes: [{name, hostPath}]`) neither: that volume is already reported there.
//!
//! Container specs held in values (`sidecars:`, `extraContainers:`, `initContainers:`, ...) that
//! no template rendering placed in a pod (a chart that writes them through a helper such as
//! `include "common.tplvalues.render"`) are read with the workload rules as a pod of their own,
//! with the hostPath volumes the same values file writes ([`values_containers`]).

use serde_json::Value as Json;

use super::embedded::add_provenance;
use crate::evidence::file_kind::FileKind;
use crate::evidence::workload::{self, PodOrigin};
use crate::evidence::{Location, ObjectRef, Record, Subject};
use crate::parse::yaml::{self, YamlDoc, pointer_token};

/// Most mounts read from one values file (hostile input bound).
const MAX_MOUNTS: usize = 1000;

/// Volume records, at the values lines of the mounts, for every mount in the values files
/// (`(path, text)`) of a chart of a hostPath volume among `records` (the chart's records).
pub fn values_mounts(values_files: &[(&str, &str)], records: &[Record]) -> Vec<Record> {
    let volumes: Vec<&Record> =
        records.iter().filter(|r| r.subject == Subject::Volume && !r.str("host_path").is_empty()).collect();
    if volumes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (path, text) in values_files {
        let Ok(docs) = yaml::parse_documents(text) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        for doc in &docs {
            let mut mounts = Vec::new();
            find_mounts(&doc.value, "", None, &mut mounts);
            let mut defined = Vec::new();
            host_path_volumes(&doc.value, &mut defined);
            for m in mounts.into_iter().take(MAX_MOUNTS) {
                // A volume the values define themselves (`extraVolumes`) is reported where they do.
                if defined.contains(&m.volume.as_str()) {
                    continue;
                }
                let Some(volume) = volumes.iter().find(|v| v.str("volume") == m.volume) else { continue };
                let at = mount_position(doc, &m);
                let already = records.iter().chain(out.iter()).any(|r: &Record| {
                    r.subject == Subject::Volume
                        && r.location.path.as_deref() == Some(*path)
                        && r.location.line == Some(at.0)
                        && r.str("volume") == m.volume
                });
                if already {
                    continue;
                }
                let mut r = (*volume).clone();
                r.location = Location::file(path, at.0, at.1);
                r.snippet = lines.get(at.0 as usize - 1).map_or("", |l| l.trim()).to_string();
                r.set("file_kind", FileKind::HelmValues.name());
                r.set("mounted_by", vec![m.container.clone()]);
                r.set("mount_paths", vec![m.mount_path.clone()]);
                add_provenance(&mut r, &format!("mounted by {} in values, as volume {}", m.container, m.volume));
                out.push(r);
            }
        }
    }
    out
}

/// Keys (lower case) whose list value holds container specs in chart values.
const CONTAINER_LISTS: &[&str] =
    &["sidecars", "extracontainers", "initcontainers", "extrainitcontainers", "additionalcontainers"];

/// Most containers read from one values file as a pod (hostile input bound).
const MAX_CONTAINERS: usize = 256;

/// Workload records for the container specs of the values files that no template placed in a pod
/// (no `container` record of the chart has their name): each values file's such
/// containers as one pod, with the hostPath volumes that file writes, at the values lines.
pub fn values_containers(values_files: &[(&str, &str)], records: &[Record]) -> Vec<Record> {
    let mut out = Vec::new();
    for (path, text) in values_files {
        let Ok(docs) = yaml::parse_documents(text) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        for doc in &docs {
            let mut found = Vec::new();
            container_lists(&doc.value, "", &mut found);
            // (values pointer, container) of the containers no rendering placed.
            let placed =
                |name: &str| records.iter().any(|r| r.subject == Subject::Container && r.str("container") == name);
            let mut containers: Vec<(String, &Json)> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            for (list_ptr, items) in found {
                for (i, item) in items.iter().enumerate() {
                    let Some(name) = item.get("name").and_then(Json::as_str) else { continue };
                    if item.get("image").is_none() || placed(name) || containers.len() >= MAX_CONTAINERS {
                        continue;
                    }
                    containers.push((format!("{list_ptr}/{i}"), item));
                    let key = dotted(&list_ptr);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            if containers.is_empty() {
                continue;
            }
            let mut volumes: Vec<(String, &Json)> = Vec::new();
            values_host_path_volumes(&doc.value, "", &mut volumes);
            let mut ptrs: Vec<(String, String)> = Vec::new();
            for (k, (p, _)) in containers.iter().enumerate() {
                ptrs.push((format!("/spec/containers/{k}"), p.clone()));
            }
            for (k, (p, _)) in volumes.iter().enumerate() {
                ptrs.push((format!("/spec/volumes/{k}"), p.clone()));
            }
            let pod = serde_json::json!({
                "kind": "Pod",
                "metadata": {"name": format!("values {}", keys.join(", "))},
                "spec": {
                    "containers": containers.iter().map(|(_, c)| (*c).clone()).collect::<Vec<_>>(),
                    "volumes": volumes.iter().map(|(_, v)| (*v).clone()).collect::<Vec<_>>(),
                },
            });
            let to_values = |p: &str| -> String {
                ptrs.iter()
                    .filter(|(synthetic, _)| p == synthetic || p.starts_with(&format!("{synthetic}/")))
                    .max_by_key(|(synthetic, _)| synthetic.len())
                    .map_or_else(String::new, |(synthetic, real)| format!("{real}{}", &p[synthetic.len()..]))
            };
            let object = ObjectRef {
                kind: "Pod".into(),
                namespace: String::new(),
                name: format!("(values {} in {path})", keys.join(", ")),
            };
            let locate = |p: &str| {
                let at = doc.pos(&to_values(p));
                let mut l = Location::file(path, at.line, at.column);
                l.object = Some(object.clone());
                l
            };
            let snippet = |p: &str, fallback: &str| {
                let line = doc.pos(&to_values(p)).line;
                let text = lines.get(line.saturating_sub(1) as usize).map_or("", |l| l.trim());
                if text.is_empty() { fallback.to_string() } else { text.to_string() }
            };
            let origin = PodOrigin {
                file_kind: FileKind::HelmValues,
                workload: object.clone(),
                locate: &locate,
                snippet: &snippet,
            };
            let mut got = Vec::new();
            workload::extract(&pod, "/spec", &origin, &mut got);
            // A values volume a template also placed, or a values string the values analyser
            // already gave as a setting, is reported at that line once.
            got.retain(|r| {
                !matches!(r.subject, Subject::Volume | Subject::Setting)
                    || !records.iter().any(|o| {
                        o.subject == r.subject
                            && o.location.path == r.location.path
                            && o.location.line == r.location.line
                            && (r.subject == Subject::Volume || o.str("value") == r.str("value"))
                    })
            });
            out.extend(got);
        }
    }
    out
}

/// Every container list (under a key of [`CONTAINER_LISTS`]) of a values document, with its pointer.
fn container_lists<'v>(value: &'v Json, ptr: &str, out: &mut Vec<(String, &'v [Json])>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                let p = format!("{ptr}/{}", pointer_token(k));
                match v {
                    Json::Array(items) if CONTAINER_LISTS.contains(&k.to_ascii_lowercase().as_str()) => {
                        out.push((p, items.as_slice()));
                    }
                    _ => container_lists(v, &p, out),
                }
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                container_lists(item, &format!("{ptr}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The hostPath volumes written in values, with their pointers.
fn values_host_path_volumes<'v>(value: &'v Json, ptr: &str, out: &mut Vec<(String, &'v Json)>) {
    match value {
        Json::Object(map) => {
            if map.contains_key("hostPath") && map.get("name").is_some_and(Json::is_string) {
                out.push((ptr.to_string(), value));
                return;
            }
            for (k, v) in map {
                values_host_path_volumes(v, &format!("{ptr}/{}", pointer_token(k)), out);
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                values_host_path_volumes(item, &format!("{ptr}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// One `volumeMounts` item of a values file.
struct Mount {
    /// JSON pointer of the item.
    ptr: String,
    volume: String,
    mount_path: String,
    /// The container whose list it is (its `name`), or the dotted values key of the list.
    container: String,
}

/// Every item of a `*volumeMounts` list (`volumeMounts`, `extraVolumeMounts`, ...) under `value`.
/// `container` is the name of the innermost enclosing mapping that looks like a container.
fn find_mounts(value: &Json, ptr: &str, container: Option<&str>, out: &mut Vec<Mount>) {
    if out.len() >= MAX_MOUNTS {
        return;
    }
    match value {
        Json::Object(map) => {
            let looks_like_container = map.get("image").is_some() || map.get("volumeMounts").is_some();
            let here = map.get("name").and_then(Json::as_str).filter(|_| looks_like_container).or(container);
            for (k, v) in map {
                let p = format!("{ptr}/{}", pointer_token(k));
                if k.to_ascii_lowercase().ends_with("volumemounts")
                    && let Json::Array(items) = v
                {
                    let owner = here.map_or_else(|| dotted(&p), str::to_string);
                    for (i, item) in items.iter().enumerate() {
                        let name = item.get("name").and_then(Json::as_str);
                        let mount_path = item.get("mountPath").and_then(Json::as_str);
                        if let (Some(volume), Some(mount_path)) = (name, mount_path) {
                            out.push(Mount {
                                ptr: format!("{p}/{i}"),
                                volume: volume.to_string(),
                                mount_path: mount_path.to_string(),
                                container: owner.clone(),
                            });
                        }
                    }
                    continue;
                }
                find_mounts(v, &p, here, out);
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_mounts(item, &format!("{ptr}/{i}"), container, out);
            }
        }
        _ => {}
    }
}

/// The names of the hostPath volumes written in values (`extraVolumes: [{name, hostPath}]`).
fn host_path_volumes<'v>(value: &'v Json, out: &mut Vec<&'v str>) {
    match value {
        Json::Object(map) => {
            if map.contains_key("hostPath")
                && let Some(name) = map.get("name").and_then(Json::as_str)
            {
                out.push(name);
            }
            map.values().for_each(|v| host_path_volumes(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| host_path_volumes(v, out)),
        _ => {}
    }
}

/// `/agent/sidecars/0/volumeMounts` -> `agent.sidecars[0].volumeMounts`.
fn dotted(ptr: &str) -> String {
    let mut out = String::new();
    for part in ptr.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

/// Where a mount is reported: its `mountPath` line (the path the container sees), else the item.
fn mount_position(doc: &YamlDoc, m: &Mount) -> (u32, u32) {
    let p = doc.pos(&format!("{}/mountPath", m.ptr));
    (p.line, p.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str, host_path: &str) -> Record {
        Record::new(Subject::Volume, Location::file("c/templates/ds.yaml", 40, 13), "path: x")
            .with("volume", name)
            .with("host_path", host_path)
            .with("workload", "DaemonSet/release-name-agent")
    }

    #[test]
    fn a_values_sidecar_mounting_a_template_host_path_is_that_volume_at_the_mount_line() {
        let values = "agent:\n  sidecars:\n    - name: exporter\n      image: acme/exporter:1\n      volumeMounts:\n        - name: sock\n          mountPath: /var/run/docker.sock\n        - name: tmp\n          mountPath: /tmp\n  extraVolumeMounts:\n    - name: logs\n      mountPath: /var/log/containers\n";
        let records = vec![volume("sock", "/run/docker.sock"), volume("logs", "/var/lib/docker/containers")];
        let got = values_mounts(&[("c/values.yaml", values)], &records);
        let summary: Vec<(u32, String, String)> = got
            .iter()
            .map(|r| (r.location.line.unwrap(), r.str("volume").to_string(), r.get("mounted_by").unwrap().display()))
            .collect();
        assert_eq!(
            summary,
            [
                (7, "sock".to_string(), "exporter".to_string()),
                (12, "logs".to_string(), "agent.extraVolumeMounts".to_string())
            ]
        );
        assert_eq!(got[0].str("host_path"), "/run/docker.sock");
        assert_eq!(got[0].str("file_kind"), "helm-values");
        assert_eq!(got[0].snippet, "mountPath: /var/run/docker.sock");
    }

    #[test]
    fn values_containers_no_template_placed_are_a_pod_of_their_own() {
        let values = "sidecars:\n  - name: gc\n    image: acme/tools:1\n    args: [docker, system, prune, -af]\n    volumeMounts:\n      - {name: sock, mountPath: /var/run/docker.sock}\n  - name: shipper\n    image: acme/shipper:1\nextraVolumes:\n  - name: sock\n    hostPath: {path: /var/run/docker.sock}\n";
        let got = values_containers(&[("c/values.yaml", values)], &[]);
        let of =
            |s: Subject| got.iter().filter(|r| r.subject == s).map(|r| r.location.line.unwrap()).collect::<Vec<_>>();
        assert_eq!(of(Subject::Command), [4]);
        assert_eq!(of(Subject::Volume), [11]);
        assert!(got.iter().any(|r| r.subject == Subject::Container
            && r.str("container") == "gc"
            && r.get("mounts_docker_socket").is_some_and(|v| v.display() == "true")));
        // A container a template already placed is not read again.
        let placed =
            Record::new(Subject::Container, Location::file("c/templates/ds.yaml", 30, 9), "").with("container", "gc");
        let again = values_containers(&[("c/values.yaml", values)], &[placed]);
        assert!(again.iter().all(|r| r.str("container") != "gc"), "{again:?}");
    }

    #[test]
    fn nothing_without_a_host_path_volume_of_that_name() {
        let values = "sidecars:\n  - name: exporter\n    image: x\n    volumeMounts:\n      - {name: other, mountPath: /run/docker.sock}\n";
        assert!(values_mounts(&[("values.yaml", values)], &[volume("sock", "/run/docker.sock")]).is_empty());
        assert!(values_mounts(&[("values.yaml", "a: [1\n")], &[volume("other", "/x")]).is_empty());
        let own = "extraVolumes:\n  - {name: sock, hostPath: {path: /run/docker.sock}}\nextraVolumeMounts:\n  - {name: sock, mountPath: /run/docker.sock}\n";
        assert!(values_mounts(&[("values.yaml", own)], &[volume("sock", "/run/docker.sock")]).is_empty());
    }
}
