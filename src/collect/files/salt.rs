//! Salt states and variables in plain YAML. Place in the pipeline: reached from the YAML analyser
//! for documents without `apiVersion`/`kind`.
//!
//! - Salt states (`ID: {file.managed: [...], cmd.run: [...]}`): the `contents` of `file.managed` /
//!   `file.append` (`text`) are analysed as the file they write (`name`, else the state ID), through
//!   [`super::embedded`]; `cmd.run` / `cron.present` names are shell commands.
//! - kubelet flags held in variables (Salt pillars, kubespray group_vars, any plain YAML): a string
//!   (or list of strings) under a key path naming the kubelet whose words are `--flags` gives
//!   `kubelet-flag` records, `from` = the dotted key.

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::Evidence;
use crate::evidence::context::Context;
use crate::evidence::file_kind::FileKind;
use crate::parse::yaml::{YamlDoc, pointer_token};

/// Deepest mapping walked for flag-valued variables.
const MAX_DEPTH: usize = 16;

/// Whether a document's root looks like Salt states: a mapping of IDs to mappings whose keys are
/// `module.function` with a list of arguments.
pub fn is_salt_state(value: &Json) -> bool {
    let Some(map) = value.as_object() else { return false };
    map.values().filter_map(Json::as_object).any(|state| {
        state.iter().any(|(k, v)| {
            let mut parts = k.split('.');
            matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty())
                && v.is_array()
        })
    })
}

/// The argument `name` of a state's argument list (`- name: x`).
fn arg<'a>(args: &'a [Json], name: &str) -> Option<(usize, &'a Json)> {
    args.iter().enumerate().find_map(|(i, a)| a.get(name).map(|v| (i, v)))
}

/// Analyses the states of one document.
pub fn analyze_states(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let Some(map) = value.as_object() else { return };
    for (id, state) in map {
        let Some(state) = state.as_object() else { continue };
        let id_ptr = format!("{ptr}/{}", pointer_token(id));
        for (function, args) in state {
            let Some(args) = args.as_array() else { continue };
            let fptr = format!("{id_ptr}/{}", pointer_token(function));
            let name = arg(args, "name").and_then(|(_, v)| v.as_str()).unwrap_or(id);
            match function.as_str() {
                "file.managed" | "file.append" => {
                    for key in ["contents", "text"] {
                        let Some((i, body)) = arg(args, key) else { continue };
                        let vptr = format!("{fptr}/{i}/{key}");
                        let how = format!("Salt {function}");
                        match body {
                            Json::String(s) => {
                                let b =
                                    super::embedded::Body { text: s, target: Some(name), line_offset: 0, how: &how };
                                super::embedded::analyze_scalar(src, doc, &vptr, b, None, out);
                            }
                            Json::Array(lines) => {
                                // One line per item, written in order: one body from the first
                                // item's line (items on consecutive lines map line for line).
                                let text: Vec<&str> = lines.iter().filter_map(Json::as_str).collect();
                                let first = doc.span(&format!("{vptr}/0")).map_or(0, |s| s.value.line);
                                let body = super::embedded::Body {
                                    text: &format!("{}\n", text.join("\n")),
                                    target: Some(name),
                                    line_offset: first.saturating_sub(1),
                                    how: &how,
                                };
                                super::embedded::analyze_as(
                                    src,
                                    &body,
                                    crate::evidence::file_kind::classify_body(body.target, body.text),
                                    out,
                                );
                            }
                            _ => {}
                        }
                    }
                }
                "file.serialize" => serialized(src, doc, args, &fptr, name, out),
                "pkg.installed" | "pkg.latest" => {
                    // `pkgs: [...]` lists the packages; else `name`, else the state ID.
                    let (names, at) = match arg(args, "pkgs") {
                        Some((i, v)) => {
                            let names = super::packages::names(v);
                            let item = names.iter().position(|n| n.starts_with("docker")).unwrap_or(0);
                            (names, doc.pos(&format!("{fptr}/{i}/pkgs/{item}")))
                        }
                        None => match arg(args, "name") {
                            Some((i, v)) => (super::packages::names(v), doc.pos(&format!("{fptr}/{i}/name"))),
                            None => (vec![id.clone()], doc.pos(&id_ptr)),
                        },
                    };
                    if !names.is_empty() {
                        let how = format!("a Salt {function} state");
                        let context = src.context.unwrap_or(Context::Node);
                        let program = ("pkg", "pkg");
                        let r =
                            super::packages::install_record(src, (at.line, at.column), program, &names, &how, context);
                        out.records.push(r);
                    }
                }
                "cmd.run" | "cmd.script" | "cron.present" => {
                    let how = format!("Salt {function}");
                    let mut sub = Evidence::default();
                    match arg(args, "name") {
                        Some((i, Json::String(cmd))) => {
                            let cptr = format!("{fptr}/{i}/name");
                            let b = super::embedded::Body { text: cmd, target: None, line_offset: 0, how: &how };
                            super::embedded::analyze_scalar(src, doc, &cptr, b, Some(FileKind::Shell), &mut sub);
                        }
                        _ => {
                            // The state ID is the command: point at it.
                            let p = doc.pos(&id_ptr);
                            let body = super::embedded::Body { text: id, target: None, line_offset: 0, how: &how };
                            super::embedded::analyze_as(src, &body, Some(FileKind::Shell), &mut sub);
                            for r in &mut sub.records {
                                r.location = src.loc(p.line, p.column);
                                r.snippet = src.line(p.line).trim().to_string();
                            }
                        }
                    }
                    if function == "cron.present" {
                        for r in &mut sub.records {
                            if r.str("source") == "script" {
                                r.set("source", "cron");
                            }
                        }
                    }
                    out.merge(sub);
                }
                _ => {}
            }
        }
    }
}

/// `file.serialize` of a Docker `daemon.json` (`name` or the state ID, `formatter`/`serializer`
/// json): each top-level key of its `dataset` is a daemon.json setting, at the key's line of the
/// state file. A `dataset_pillar` is not followed.
fn serialized(src: &Source<'_>, doc: &YamlDoc, args: &[Json], fptr: &str, name: &str, out: &mut Evidence) {
    let kind = crate::evidence::file_kind::classify_body(Some(name), "");
    let Some(FileKind::DockerDaemonJson) = kind else { return };
    let Some((i, Json::Object(dataset))) = arg(args, "dataset") else { return };
    let inner = Source { written_to: Some(name), ..src.embedded_kind(FileKind::DockerDaemonJson) };
    for (key, v) in dataset {
        let at = doc.span(&format!("{fptr}/{i}/dataset/{}", pointer_token(key)));
        let p = at.map_or_else(|| doc.pos(&format!("{fptr}/{i}/dataset")), |s| s.key.unwrap_or(s.value));
        let value = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut r = inner
            .record(crate::evidence::Subject::Setting, p.line, p.column)
            .with("key", key.clone())
            .with("value", value)
            .with("written_to", name.to_string());
        super::embedded::add_provenance(&mut r, &format!("written to {name} by Salt file.serialize"));
        out.records.push(r);
    }
}

/// `kubelet-flag` records for flag-valued variables under kubelet keys.
pub fn kubelet_flag_values(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    walk(src, doc, value, ptr, "", false, 0, out);
}

#[allow(clippy::too_many_arguments)]
fn walk(
    src: &Source<'_>,
    doc: &YamlDoc,
    v: &Json,
    ptr: &str,
    dotted: &str,
    kubelet: bool,
    depth: usize,
    out: &mut Evidence,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                let d = if dotted.is_empty() { k.clone() } else { format!("{dotted}.{k}") };
                let named = kubelet || k.to_ascii_lowercase().contains("kubelet");
                walk(src, doc, child, &format!("{ptr}/{}", pointer_token(k)), &d, named, depth + 1, out);
            }
        }
        Json::Array(items) if kubelet => {
            for (i, item) in items.iter().enumerate() {
                walk(src, doc, item, &format!("{ptr}/{i}"), dotted, kubelet, depth + 1, out);
            }
        }
        Json::String(s) if kubelet && looks_like_flags(s) => {
            super::scripts::flags_in_scalar(src, doc, ptr, s, dotted, out);
        }
        _ => {}
    }
}

/// Every word is a `--flag` or the value of the one before (`--a=b --c d`).
fn looks_like_flags(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    words.first().is_some_and(|w| w.starts_with("--") && w.len() > 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Subject;
    use crate::parse::testutil::for_each_generated_text;
    use crate::parse::yaml::parse_documents;

    fn run(path: &str, text: &str) -> Vec<String> {
        let src = Source::file(path, FileKind::K8sManifest, text);
        let mut ev = Evidence::default();
        for doc in parse_documents(text).expect("yaml") {
            if is_salt_state(&doc.value) {
                analyze_states(&src, &doc, &doc.value, "", &mut ev);
            }
            kubelet_flag_values(&src, &doc, &doc.value, "", &mut ev);
        }
        ev.records
            .iter()
            .map(|r| {
                let what = match r.subject {
                    Subject::Command => r.str("text").to_string(),
                    Subject::KubeletFlag => format!("{}={} from {}", r.str("name"), r.str("value"), r.str("from")),
                    _ => format!("{}={}", r.str("key"), r.str("value")),
                };
                format!("{} {} {what}", r.location.line.unwrap_or(0), r.str("file_kind"))
            })
            .collect()
    }

    #[test]
    fn salt_states_write_files_and_run_commands() {
        // See: issue 12 (Salt file.managed contents, cmd.run).
        let text = "/etc/default/kubelet:\n  file.managed:\n    - mode: '0644'\n    - contents: |\n        KUBELET_EXTRA_ARGS=--container-runtime=docker\nkubelet-dropin:\n  file.managed:\n    - name: /etc/systemd/system/kubelet.service.d/20-deps.conf\n    - contents:\n      - '[Unit]'\n      - After=docker.service\nprune-images:\n  cron.present:\n    - name: docker image prune -af\n    - hour: 3\ndocker info:\n  cmd.run: []\n";
        assert_eq!(
            run("salt/kubelet/init.sls", text),
            [
                "5 kubelet-env --container-runtime=docker from KUBELET_EXTRA_ARGS",
                "11 systemd-unit unit.After=docker.service",
                "14 shell docker image prune -af",
                "16 shell docker info"
            ]
        );
    }

    /// Hostile YAML through every carrier of embedded files (Salt, Ansible, YAML manifests): no panic.
    #[test]
    fn generated_inputs_do_not_panic() {
        const PIECES: &[&str] = &[
            "/etc/default/kubelet:\n",
            "  file.managed:\n",
            "    - contents: |\n",
            "        KUBELET_EXTRA_ARGS=--network-plugin=cni\n",
            "    - contents:\n",
            "      - '[Unit]'\n",
            "  cmd.run: []\n",
            "- copy:\n",
            "    dest: /etc/systemd/system/kubelet.service\n",
            "    content: \"[Service]\\nExecStart=docker ps\"\n",
            "  lineinfile: {path: /var/lib/kubelet/kubeadm-flags.env, line: x}\n",
            "  cron: {job: docker ps}\n",
            "kubelet:\n",
            "  extra_args: --container-runtime docker\n",
            "kind: ConfigMap\napiVersion: v1\ndata:\n  kubelet.service: |\n    [Unit]\n",
            "cat > /etc/cron.d/x <<E\n",
            "E\n",
            "  ",
            "- ",
            ": ",
            "|\n",
            "\n",
            "é",
        ];
        for_each_generated_text(0x5A17_0001, 300, 24, PIECES, |text| {
            let src = Source::file("x.sls", FileKind::K8sManifest, text);
            let mut ev = Evidence::default();
            super::super::manifest::analyze(&src, &mut ev);
        });
    }

    #[test]
    fn pillars_and_group_vars_holding_kubelet_flags() {
        let text = "kubernetes:\n  kubelet:\n    extra_args: \"--network-plugin=cni --container-runtime docker\"\n    labels: role=worker\nkubelet_custom_flags:\n  - \"--docker-endpoint=unix:///var/run/docker.sock\"\nother: --network-plugin=cni\n";
        assert_eq!(
            run("pillar/kubernetes.sls", text),
            [
                "3 k8s-manifest --network-plugin=cni from kubernetes.kubelet.extra_args",
                "3 k8s-manifest --container-runtime=docker from kubernetes.kubelet.extra_args",
                "6 k8s-manifest --docker-endpoint=unix:///var/run/docker.sock from kubelet_custom_flags"
            ]
        );
    }
}
