//! Structured node and CI configuration: GitLab Runner `config.toml` and Docker's `daemon.json`.
//!
//! Place in the pipeline: file analysers (one text in, records out, no I/O, no rule logic). A text
//! that does not parse is a gap naming the line. Also home of the small JSON text scanner the
//! dashboard analyser shares, which finds where keys sit in JSON text (serde_json gives values but
//! no positions).

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::file_kind::FileKind;
use crate::evidence::workload::{is_docker_socket, normalize_host_path};
use crate::evidence::{Evidence, Subject};

/// A key of a JSON object as written in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonKey {
    /// Containers (objects and arrays) open around the key (1 = a key of the top-level object).
    pub depth: usize,
    /// The key, unescaped.
    pub key: String,
    /// Byte offset of the key's opening quote.
    pub key_start: usize,
    /// Byte offset of the value's first character.
    pub value_start: usize,
    /// Byte offset just after a string value's closing quote (`value_start` for other values).
    pub value_end: usize,
    /// The value, unescaped, when it is a string.
    pub string_value: Option<String>,
}

/// The end (exclusive) of the JSON string literal opening at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn unescape(literal: &str) -> String {
    serde_json::from_str::<String>(literal)
        .unwrap_or_else(|_| literal.trim_start_matches('"').trim_end_matches('"').to_string())
}

/// Every object key of a JSON text, in document order, with where it and its value sit. Never
/// fails: on malformed text it returns what it could recognise.
pub fn json_keys(text: &str) -> Vec<JsonKey> {
    let b = text.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let end = string_end(b, i);
                let colon = skip_ws(b, end);
                if stack.last() == Some(&b'{') && b.get(colon) == Some(&b':') {
                    let value_start = skip_ws(b, colon + 1);
                    let (value_end, string_value) = if b.get(value_start) == Some(&b'"') {
                        let ve = string_end(b, value_start);
                        (ve, text.get(value_start..ve).map(unescape))
                    } else {
                        (value_start, None)
                    };
                    out.push(JsonKey {
                        depth: stack.len(),
                        key: text.get(i..end).map(unescape).unwrap_or_default(),
                        key_start: i,
                        value_start,
                        value_end,
                        string_value,
                    });
                }
                i = end;
            }
            b'{' | b'[' => {
                stack.push(b[i]);
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The 1-based line and column (in characters) of a byte offset of `text`.
pub fn line_col(text: &str, byte: usize) -> (u32, u32) {
    let mut byte = byte.min(text.len());
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &text[..byte];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() as u32 + 1;
    (line, col)
}

/// `/etc/docker/daemon.json`: one `setting` record per top-level key (`key`, and `value` as the
/// string or compact JSON), at the key's line.
pub fn analyze_daemon_json(src: &Source<'_>, out: &mut Evidence) {
    if src.text.trim().is_empty() {
        return;
    }
    let value: Json = match serde_json::from_str(src.text) {
        Ok(v) => v,
        Err(e) => {
            out.gaps.push(src.gap(Some(e.line() as u32), format!("invalid JSON: {e}")));
            return;
        }
    };
    let Some(map) = value.as_object() else {
        out.gaps.push(src.gap(Some(1), "daemon.json is not a JSON object"));
        return;
    };
    let keys: Vec<JsonKey> = json_keys(src.text).into_iter().filter(|k| k.depth == 1).collect();
    let mut used = vec![false; keys.len()];
    for (key, v) in map {
        let (line, col) = match keys.iter().enumerate().find(|(i, k)| !used[*i] && &k.key == key) {
            Some((i, k)) => {
                used[i] = true;
                line_col(src.text, k.key_start)
            }
            None => (1, 1),
        };
        let text = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.records.push(src.record(Subject::Setting, line, col).with("key", key.clone()).with("value", text));
    }
}

/// GitLab Runner `config.toml`. Invalid TOML is a gap naming the line. A containerd
/// `config.toml` is read by [`super::node_config::analyze_containerd`] (runtime readiness).
pub fn analyze_toml(src: &Source<'_>, out: &mut Evidence) {
    if src.kind == FileKind::ContainerdConfig {
        super::node_config::analyze_containerd(src, out);
        return;
    }
    let table: toml::Table = match toml::from_str(src.text) {
        Ok(t) => t,
        Err(e) => {
            // A Helm- or Go-templated config (the gitlab-runner chart's `runners.config`): read
            // it with the actions blanked (lines and columns unchanged); only a config that is
            // still not TOML then is listed, as skipped, since it is not valid until rendered.
            if src.text.contains("{{") {
                match toml::from_str(&super::text::mask_template_actions(src.text)) {
                    Ok(t) => gitlab_runner(src, &t, out),
                    Err(_) => out.skipped.push(src.gap(None, "a template: not valid TOML until rendered")),
                }
                return;
            }
            let line = e.span().map(|s| line_col(src.text, s.start).0);
            out.gaps.push(src.gap(line, format!("invalid TOML: {}", e.message().trim())));
            return;
        }
    };
    gitlab_runner(src, &table, out);
}

/// Each `[[runners.kubernetes.volumes.host_path]]` of each runner: a `volume` record, so the
/// workload rules (docker.sock, /var/lib/docker...) apply to runner job pods. `[runners.docker]`
/// volumes are a Docker executor on a VM, not a Kubernetes pod: no records.
fn gitlab_runner(src: &Source<'_>, table: &toml::Table, out: &mut Evidence) {
    let Some(runners) = table.get("runners").and_then(toml::Value::as_array) else { return };
    let assignments = host_path_assignments(src.text);
    let mut used = vec![false; assignments.len()];
    let mut cursor = 0usize;
    // `privileged = true` lines, in order: one per privileged Kubernetes runner.
    let mut privileged_lines = src.text.lines().enumerate().filter(|(_, l)| {
        let t = l.trim();
        t.strip_prefix("privileged")
            .is_some_and(|r| r.trim_start().strip_prefix('=').is_some_and(|v| v.trim() == "true"))
    });
    for (ri, runner) in runners.iter().enumerate() {
        let Some(k8s) = runner.get("kubernetes") else { continue };
        let runner_name =
            runner.get("name").and_then(toml::Value::as_str).map_or_else(|| format!("#{}", ri + 1), str::to_string);
        let privileged = k8s.get("privileged").and_then(toml::Value::as_bool).unwrap_or(false);
        if privileged && let Some((n, l)) = privileged_lines.next() {
            // A privileged Kubernetes runner is what `docker:dind` services need (issue 12, miss 5):
            // the job pods run their own Docker daemon, a note with its privileged flag.
            let image = k8s.get("image").and_then(toml::Value::as_str).unwrap_or("(job image)").to_string();
            let col = l.len() - l.trim_start().len() + 1;
            out.records.push(
                src.record(Subject::Container, n as u32 + 1, col as u32)
                    .with("container", "job pods (privileged, for dind services)")
                    .with("image", image.clone())
                    .with("images", vec![image])
                    .with("privileged", true)
                    .with("dind", true)
                    .with("mounts_docker_socket", false)
                    .with("workload", format!("GitLab Runner {runner_name}"))
                    .with("workload_kind", "gitlab-runner")
                    .with("name", runner_name.clone())
                    .with("context", crate::evidence::context::Context::CiOnKubernetes.name()),
            );
        }
        let volumes: Vec<&toml::Value> = k8s
            .get("volumes")
            .and_then(|v| v.get("host_path"))
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let paths: Vec<(String, String, String)> = volumes
            .iter()
            .filter_map(|v| {
                let raw = v
                    .get("host_path")
                    .and_then(toml::Value::as_str)
                    .or_else(|| v.get("mount_path").and_then(toml::Value::as_str))?;
                let name = v.get("name").and_then(toml::Value::as_str).unwrap_or("").to_string();
                let mount = v.get("mount_path").and_then(toml::Value::as_str).unwrap_or("").to_string();
                Some((raw.to_string(), name, mount))
            })
            .collect();
        let normalized: Vec<String> = paths.iter().map(|(raw, _, _)| normalize_host_path(raw)).collect();
        let mounts_socket = normalized.iter().any(|p| is_docker_socket(p));
        for ((raw, name, mount), host_path) in paths.iter().zip(&normalized) {
            let found =
                assignments.iter().enumerate().find(|(i, (at, value))| !used[*i] && *at >= cursor && value == raw);
            let (line, col) = match found {
                Some((i, (at, _))) => {
                    used[i] = true;
                    cursor = *at;
                    line_col(src.text, *at)
                }
                None => (1, 1),
            };
            let mut r = src
                .record(Subject::Volume, line, col)
                .with("host_path", host_path.clone())
                .with("raw_path", raw.clone())
                .with("volume", name.clone())
                .with("workload", format!("GitLab Runner {runner_name}"))
                .with("workload_kind", "gitlab-runner")
                .with("name", runner_name.clone())
                .with("mounted_by", Vec::<String>::new())
                .with("mount_paths", if mount.is_empty() { Vec::new() } else { vec![mount.clone()] })
                .with("images", Vec::<String>::new())
                .with("pod_docker_cli", false)
                .with("pod_privileged", privileged)
                .with("pod_dind", false)
                .with("pod_mounts_docker_socket", mounts_socket)
                .with("pod_host_paths", normalized.clone());
            if let Some(image) = k8s.get("image").and_then(toml::Value::as_str) {
                r.set("images", vec![image.to_string()]);
            }
            out.records.push(r);
        }
    }
}

/// `host_path = "..."` assignments in a TOML text: byte offset of the key and the string value.
fn host_path_assignments(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find("host_path")) {
        let at = from + found;
        from = at + "host_path".len();
        let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b'.');
        let after = skip_ws(b, from);
        if !before_ok || b.get(after) != Some(&b'=') {
            continue;
        }
        let v = skip_ws(b, after + 1);
        match b.get(v) {
            Some(b'"') => {
                let end = string_end(b, v);
                if let Some(lit) = text.get(v..end) {
                    out.push((at, unescape(lit)));
                }
            }
            Some(b'\'') => {
                if let Some(close) = text.get(v + 1..).and_then(|r| r.find('\'')) {
                    out.push((at, text[v + 1..v + 1 + close].to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_json_keys() {
        let text = "{\n  \"a\": \"x\\\"y\",\n  \"b\": {\"c\": [1, {\"d\": 2}]},\n  \"e\\u0041\": \"\"\n}";
        let keys = json_keys(text);
        let got: Vec<(usize, &str, Option<&str>)> =
            keys.iter().map(|k| (k.depth, k.key.as_str(), k.string_value.as_deref())).collect();
        assert_eq!(
            got,
            vec![(1, "a", Some("x\"y")), (1, "b", None), (2, "c", None), (4, "d", None), (1, "eA", Some(""))]
        );
        assert_eq!(line_col(text, keys[1].key_start), (3, 3));
        // Malformed input never panics.
        for bad in ["{\"a", "\"", "{\"a\":", "]]}}", "{\"é\": \"ü"] {
            let _ = json_keys(bad);
        }
        assert_eq!(line_col("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_col("é", 1), (1, 1));
    }

    #[test]
    fn daemon_json_settings_at_their_lines() {
        let text = "{\n  \"registry-mirrors\": [\"https://mirror.example\"],\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\"max-size\": \"10m\"},\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n";
        let src = Source::file("roles/docker/files/daemon.json", FileKind::DockerDaemonJson, text);
        let mut ev = Evidence::default();
        analyze_daemon_json(&src, &mut ev);
        let got: Vec<(String, String, Option<u32>)> =
            ev.records.iter().map(|r| (r.str("key").into(), r.str("value").into(), r.location.line)).collect();
        assert_eq!(
            got,
            vec![
                ("registry-mirrors".into(), "[\"https://mirror.example\"]".into(), Some(2)),
                ("log-driver".into(), "json-file".into(), Some(3)),
                ("log-opts".into(), "{\"max-size\":\"10m\"}".into(), Some(4)),
                ("exec-opts".into(), "[\"native.cgroupdriver=systemd\"]".into(), Some(5)),
            ]
        );
        assert_eq!(ev.records[0].str("file_kind"), "docker-daemon-json");
    }

    #[test]
    fn daemon_json_errors_are_gaps() {
        let src = Source::file("daemon.json", FileKind::DockerDaemonJson, "{\n  \"a\": 1,\n  \"b\": \n}\n");
        let mut ev = Evidence::default();
        analyze_daemon_json(&src, &mut ev);
        assert!(ev.records.is_empty());
        assert_eq!(ev.gaps.len(), 1);
        assert!(ev.gaps[0].source.starts_with("daemon.json:4"), "{:?}", ev.gaps);
        let mut ev = Evidence::default();
        analyze_daemon_json(&Source::file("daemon.json", FileKind::DockerDaemonJson, "[1]"), &mut ev);
        assert_eq!(ev.gaps.len(), 1);
        let mut ev = Evidence::default();
        analyze_daemon_json(&Source::file("daemon.json", FileKind::DockerDaemonJson, "  \n"), &mut ev);
        assert!(ev.gaps.is_empty() && ev.records.is_empty());
    }

    #[test]
    fn gitlab_runner_host_path_volumes() {
        let text = r#"concurrent = 4

[[runners]]
  name = "docker-vm"
  executor = "docker"
  [runners.docker]
    volumes = ["/var/run/docker.sock:/var/run/docker.sock", "/cache"]

[[runners]]
  name = "k8s-builds"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "ci"
    privileged = true
    [[runners.kubernetes.volumes.host_path]]
      name = "docker-sock"
      mount_path = "/var/run/docker.sock"
      host_path = "/var/run/docker.sock"
    [[runners.kubernetes.volumes.host_path]]
      name = "cache"
      mount_path = "/cache"
      host_path = '/srv/cache/'
"#;
        let src = Source::file("gitlab/runner/config.toml", FileKind::GitlabRunnerConfig, text);
        let mut ev = Evidence::default();
        analyze_toml(&src, &mut ev);
        assert!(ev.gaps.is_empty());
        let got: Vec<(String, String, Option<u32>, Option<u32>)> = ev
            .records
            .iter()
            .filter(|r| r.subject == Subject::Volume)
            .map(|r| (r.str("host_path").into(), r.str("volume").into(), r.location.line, r.location.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/run/docker.sock".into(), "docker-sock".into(), Some(18), Some(7)),
                ("/srv/cache".into(), "cache".into(), Some(22), Some(7))
            ]
        );
        // The privileged runner is also a Docker-in-Docker container record (issue 12, miss 5).
        let dind = &ev.records[0];
        assert_eq!((dind.subject, dind.get("dind")), (Subject::Container, Some(&crate::evidence::Value::Bool(true))));
        let r = &ev.records[1];
        assert_eq!(r.str("workload"), "GitLab Runner k8s-builds");
        assert_eq!(r.str("raw_path"), "/var/run/docker.sock");
        assert_eq!(r.get("pod_mounts_docker_socket"), Some(&crate::evidence::Value::Bool(true)));
        assert_eq!(r.get("pod_privileged"), Some(&crate::evidence::Value::Bool(true)));
        assert_eq!(r.get("pod_docker_cli"), Some(&crate::evidence::Value::Bool(false)));
    }

    #[test]
    fn toml_errors_are_gaps() {
        let src = Source::file("config.toml", FileKind::GitlabRunnerConfig, "[[runners]]\nname = \n");
        let mut ev = Evidence::default();
        analyze_toml(&src, &mut ev);
        assert_eq!(ev.gaps.len(), 1);
        assert!(ev.gaps[0].source.starts_with("config.toml:2"), "{:?}", ev.gaps);
    }

    #[test]
    fn templated_runner_config_is_read_not_a_gap() {
        // The gitlab-runner chart's `runners.config`: Go template actions with nested quotes.
        let text = "[[runners]]\n  [runners.kubernetes]\n    namespace = \"{{.Release.Namespace}}\"\n    image = \"{{ printf \"%s:%s\" .Values.image .Values.tag }}\"\n    [[runners.kubernetes.volumes.host_path]]\n      name = \"docker\"\n      host_path = \"/var/run/docker.sock\"\n";
        let mut ev = Evidence::default();
        analyze_toml(&Source::file("values.yaml", FileKind::GitlabRunnerConfig, text), &mut ev);
        assert!(ev.gaps.is_empty(), "{:?}", ev.gaps);
        let vol = ev.records.iter().find(|r| r.str("raw_path") == "/var/run/docker.sock").expect("volume");
        assert_eq!(vol.location.line, Some(7));
        let mut ev = Evidence::default();
        analyze_toml(
            &Source::file("values.yaml", FileKind::GitlabRunnerConfig, "[[runners]]\n{{ .Values.extra }} = \n"),
            &mut ev,
        );
        assert!(ev.gaps.is_empty() && ev.skipped.len() == 1, "{:?} {:?}", ev.gaps, ev.skipped);
    }

    #[test]
    fn every_truncation_is_handled() {
        let json = "{\"é\": \"a\\\"\", \"log-opts\": {\"x\": [1, 2]}, \"k\": null}";
        let runner = "[[runners]]\n  name = \"é\"\n  [runners.kubernetes]\n    [[runners.kubernetes.volumes.host_path]]\n      name = \"s\"\n      host_path = '/var/run/docker.sock'\n";
        for (i, _) in json.char_indices() {
            analyze_daemon_json(
                &Source::file("daemon.json", FileKind::DockerDaemonJson, &json[..i]),
                &mut Evidence::default(),
            );
            let _ = json_keys(&json[i..]);
        }
        for (i, _) in runner.char_indices() {
            analyze_toml(
                &Source::file("config.toml", FileKind::GitlabRunnerConfig, &runner[..i]),
                &mut Evidence::default(),
            );
            let _ = host_path_assignments(&runner[i..]);
        }
    }
}
