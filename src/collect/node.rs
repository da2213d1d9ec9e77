//! Node files: reads the files listed in `rules/data/node-files.csv` under a node's root (`/`, a
//! mounted image, or a copy) and analyses each with the same analysers as repository files.
//!
//! Every path is resolved inside the root: symbolic links are followed by re-rooting absolute
//! targets and clamping `..`, so a link can never lead out of the root. Files that exist but
//! cannot be read are gaps.

use std::path::{Component, Path, PathBuf};

use super::files;
use super::files::source::Source;
use crate::bounded_read::{self as read, ReadError};
use crate::evidence::context::Context;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Gap, NodeFile, Subject, inline_ignore};

/// Largest node file read (units, configs and scripts are small; larger files are skipped).
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Resolves `path` (absolute, as on the node) inside `root`, following symlinks without ever
/// leaving `root`. Returns the host path and whether any symlink was followed.
pub fn resolve_in_root(root: &Path, path: &str) -> Option<(PathBuf, bool)> {
    let mut pending: Vec<String> = Vec::new();
    push_components(&mut pending, path);
    let mut resolved: Vec<String> = Vec::new();
    let mut followed = false;
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        resolved.push(part);
        let host = host_path(root, &resolved);
        if let Ok(meta) = std::fs::symlink_metadata(&host)
            && meta.file_type().is_symlink()
        {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = std::fs::read_link(&host).ok()?;
            followed = true;
            resolved.pop();
            let t = target.to_string_lossy().to_string();
            if t.starts_with('/') {
                resolved.clear();
            }
            push_components(&mut pending, &t);
        }
    }
    Some((host_path(root, &resolved), followed))
}

fn push_components(stack: &mut Vec<String>, path: &str) {
    // Pushed in reverse so they pop in order.
    let parts: Vec<String> = Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

fn host_path(root: &Path, parts: &[String]) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in parts {
        p.push(part);
    }
    p
}

/// Longest node name kept from `etc/hostname` (a DNS name is at most 253 characters).
const MAX_NAME: usize = 253;

/// The node's name from `etc/hostname` under `root`, read like every node file (in the root, a
/// regular file, capped), first line only, control characters removed. Errors other than "not
/// found" are gaps.
fn hostname(root: &Path, ev: &mut Evidence) -> Option<String> {
    let (host, _) = resolve_in_root(root, "/etc/hostname")?;
    match read::regular(&host, 4096) {
        Ok(bytes) => {
            let text = read::decode_text(bytes);
            let name: String =
                text.lines().next().unwrap_or("").chars().filter(|c| !c.is_control()).take(MAX_NAME).collect();
            let name = name.trim().to_string();
            (!name.is_empty()).then_some(name)
        }
        Err(ReadError::NotFound) => None,
        Err(e @ (ReadError::NotRegular(_) | ReadError::TooLarge(_))) => {
            ev.skipped.push(Gap { source: "/etc/hostname".into(), reason: e.to_string(), ..Gap::default() });
            None
        }
        Err(e) => {
            ev.gaps.push(Gap { source: "/etc/hostname".into(), reason: e.to_string(), ..Gap::default() });
            None
        }
    }
}

/// Scans the node files under `root`: those of `files` (the catalogue's node file list).
pub fn scan(root: &Path, node_name: Option<&str>, files: &[NodeFile]) -> Evidence {
    let mut ev = Evidence::default();
    let mut name_ev = Evidence::default();
    let node = node_name
        .map(str::to_string)
        .or_else(|| hostname(root, &mut name_ev))
        .unwrap_or_else(|| root.display().to_string());
    for g in name_ev.gaps.iter_mut().chain(name_ev.skipped.iter_mut()) {
        g.source = format!("node {node}: {}", g.source);
        g.node = Some(node.clone());
    }
    ev.merge(name_ev);
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) | Err(_) => {
            ev.gaps.push(Gap {
                source: root.display().to_string(),
                reason: "node root is not a directory".into(),
                missing_permission: None,
                node: Some(node.clone()),
            });
            return ev;
        }
    }
    let gap = |ev: &mut Evidence, path: &str, reason: String| {
        ev.gaps.push(Gap {
            source: format!("node {node}: {path}"),
            reason,
            missing_permission: None,
            node: Some(node.clone()),
        });
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut to_read: Vec<(String, FileKind)> = Vec::new();
    for NodeFile { path: pattern, kind } in files {
        let kind = *kind;
        match pattern.strip_suffix("/*") {
            Some(dir) => {
                let Some((host_dir, _)) = resolve_in_root(root, dir) else {
                    gap(&mut ev, dir, "too many symbolic links".into());
                    continue;
                };
                let entries = match std::fs::read_dir(&host_dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        gap(&mut ev, dir, format!("cannot list: {e}"));
                        continue;
                    }
                };
                let mut names = Vec::new();
                for entry in entries {
                    match entry {
                        Ok(e) => names.push(e.file_name().to_string_lossy().to_string()),
                        Err(e) => gap(&mut ev, dir, format!("cannot list: {e}")),
                    }
                }
                names.sort();
                for name in names {
                    to_read.push((format!("{dir}/{name}"), kind));
                }
            }
            None => to_read.push((pattern.clone(), kind)),
        }
    }
    let mut i = 0;
    while i < to_read.len() {
        let (path, kind) = to_read[i].clone();
        i += 1;
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some((host, _)) = resolve_in_root(root, &path) else {
            gap(&mut ev, &path, "too many symbolic links".into());
            continue;
        };
        let bytes = match read::regular(&host, MAX_FILE) {
            Ok(b) => b,
            Err(ReadError::NotFound) | Err(ReadError::NotRegular("directory")) => continue,
            // A unit masked with a link to /dev/null.
            Err(ReadError::NotRegular(_)) if host == root.join("dev/null") => continue,
            Err(e @ (ReadError::NotRegular(_) | ReadError::TooLarge(_))) => {
                ev.count("node_files_seen", 1);
                ev.skipped.push(Gap {
                    source: format!("node {node}: {path}"),
                    reason: e.to_string(),
                    missing_permission: None,
                    node: Some(node.clone()),
                });
                continue;
            }
            Err(e) => {
                gap(&mut ev, &path, e.to_string());
                continue;
            }
        };
        ev.count("node_files_seen", 1);
        if read::looks_binary(&bytes) {
            // Programs in the script directories are not scripts; anything else is listed.
            if kind == FileKind::Shell {
                continue;
            }
            ev.skipped.push(Gap {
                source: format!("node {node}: {path}"),
                reason: "binary".into(),
                missing_permission: None,
                node: Some(node.clone()),
            });
            continue;
        }
        let text = read::decode_text(bytes);
        // Directories of mixed content: decide by content where the list says "shell" or "systemd-unit".
        let kind = match kind {
            FileKind::Shell if !text.starts_with("#!") => continue,
            FileKind::SystemdUnit
                if !(path.ends_with(".service") || path.ends_with(".conf") || path.ends_with(".timer")) =>
            {
                continue;
            }
            FileKind::K8sManifest
                if !(path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json")) =>
            {
                continue;
            }
            k => k,
        };
        ev.count("node_files_read", 1);
        let src = Source { node: Some(&node), context: Some(Context::Node), ..Source::file(&path, kind, &text) };
        let start = ev.records.len();
        files::analyze(&src, &mut ev);
        inline_ignore::collect_inline(&path, &text, &mut ev.inline_ignores);
        // The kubelet config file the unit or flags point to.
        for r in &ev.records[start..] {
            if r.subject == Subject::KubeletFlag && r.str("name") == "--config" {
                let cfg = r.str("value").to_string();
                if cfg.starts_with('/') {
                    to_read.push((cfg, FileKind::KubeletConfig));
                }
            }
        }
    }
    if ev.counts.get("node_files_seen").copied().unwrap_or(0) == 0 {
        ev.gaps.push(Gap {
            source: root.display().to_string(),
            reason: format!(
                "nothing to audit: none of the {} node files exist — is this a node's root? (the list is \
                 rules/data/node-files.csv: /var/lib/kubelet/kubeadm-flags.env, /etc/systemd/system, ...)",
                files.len()
            ),
            missing_permission: None,
            node: Some(node.clone()),
        });
    }
    resolve_runtime_endpoints(root, &mut ev);
    let summary = summarize(&node, &ev);
    ev.records.push(summary);
    ev
}

/// One `node` record combining what the files say, for the readiness rules: which runtime the
/// kubelet is set up for, the cgroup drivers, the sandbox image, modules and sysctls.
fn summarize(node: &str, ev: &Evidence) -> crate::evidence::Record {
    use crate::evidence::{Location, Record};
    let mut r = Record::new(
        Subject::Node,
        Location { node: Some(node.to_string()), ..Location::default() },
        format!("node files of {node}"),
    )
    .with("file_kind", FileKind::Node)
    .with("name", node.to_string());
    let mut modules = Vec::new();
    let mut sysctls = Vec::new();
    let mut endpoint: Option<(String, String)> = None;
    let mut docker_runtime_flag = false;
    let mut has_daemon_json = false;
    let mut containerd_config = false;
    let mut systemd_cgroup: Option<String> = None;
    for rec in &ev.records {
        let key = rec.str("key");
        let value = rec.str("value").to_string();
        match (rec.subject, rec.str("name"), key) {
            (Subject::Setting, _, "module") => modules.push(value),
            (Subject::Setting, _, "sysctl") => sysctls.push(value),
            (Subject::Setting, _, "kubelet.cgroupDriver") => r.set("kubelet_cgroup_driver", value),
            (Subject::KubeletFlag, "--cgroup-driver", _) => r.set("kubelet_cgroup_driver", value),
            (Subject::KubeletFlag, "--pod-infra-container-image", _) => r.set("kubelet_pod_infra_image", value),
            (Subject::KubeletFlag, "--container-runtime", _) => docker_runtime_flag |= value == "docker",
            (Subject::KubeletFlag, "--container-runtime-endpoint", _) => {
                endpoint = Some((value, rec.str("endpoint_resolves_to").to_string()));
            }
            (Subject::Setting, _, "containerd.disabled_plugins") => {
                containerd_config = true;
                if value.split(',').any(|p| p == "cri" || p == "io.containerd.grpc.v1.cri") {
                    r.set("containerd_cri_disabled", true);
                }
            }
            (Subject::Setting, _, "containerd.SystemdCgroup") => {
                containerd_config = true;
                systemd_cgroup = Some(value);
            }
            (Subject::Setting, _, "containerd.sandbox_image" | "containerd.sandbox") => {
                containerd_config = true;
                r.set("containerd_sandbox_image", value);
            }
            _ => {}
        }
        if rec.str("file_kind") == FileKind::DockerDaemonJson.name() {
            has_daemon_json = true;
        }
        if rec.str("file_kind") == FileKind::ContainerdConfig.name() {
            containerd_config = true;
        }
    }
    if containerd_config {
        let driver = if systemd_cgroup.as_deref() == Some("true") { "systemd" } else { "cgroupfs" };
        r.set("containerd_cgroup_driver", driver);
    }
    // Still on Docker: dockershim endpoint (not a link to another runtime), an explicit
    // --container-runtime=docker, or Docker's daemon.json with no runtime endpoint at all.
    let on_docker = match &endpoint {
        Some((v, resolved)) => (v.contains("dockershim.sock") || v.contains("docker.sock")) && resolved.is_empty(),
        None => docker_runtime_flag || has_daemon_json,
    } || docker_runtime_flag;
    r.set("switch_pending", on_docker);
    // What a CRI runtime needs that Docker Engine set up itself, and these files do not persist.
    let missing: Vec<String> = PREREQUISITE_MODULES
        .iter()
        .filter(|m| !modules.iter().any(|have| have == *m))
        .chain(PREREQUISITE_SYSCTLS.iter().filter(|s| !sysctls.iter().any(|have| have == *s)))
        .map(|s| s.to_string())
        .collect();
    r.set("missing_prerequisites", missing);
    r.set("modules", modules);
    r.set("sysctls", sysctls);
    r
}

/// Kernel modules containerd and CRI-O need loaded at boot (Docker Engine loaded them itself).
const PREREQUISITE_MODULES: &[&str] = &["overlay", "br_netfilter"];
/// Sysctls they need set at boot, as `name=value`.
const PREREQUISITE_SYSCTLS: &[&str] = &["net.bridge.bridge-nf-call-iptables=1", "net.ipv4.ip_forward=1"];

/// Marks `--container-runtime-endpoint` values whose socket is a symlink to another runtime's
/// socket (EKS and Bottlerocket link dockershim.sock to containerd.sock).
fn resolve_runtime_endpoints(root: &Path, ev: &mut Evidence) {
    for r in &mut ev.records {
        if r.subject != Subject::KubeletFlag || r.str("name") != "--container-runtime-endpoint" {
            continue;
        }
        let value = r.str("value").to_string();
        let path = value.strip_prefix("unix://").unwrap_or(&value).to_string();
        if !path.starts_with('/') {
            continue;
        }
        if let Some((host, true)) = resolve_in_root(root, &path) {
            let rel = host.strip_prefix(root).map(|p| format!("/{}", p.to_string_lossy())).unwrap_or_default();
            r.set("endpoint_resolves_to", rel.clone());
            r.set("endpoint_note", format!(" (on this node it is a symlink to {rel})"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn symlinks_never_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc/docker")).unwrap();
        std::fs::create_dir_all(root.join("run/containerd")).unwrap();
        std::fs::write(dir.path().join("secret"), "outside").unwrap();
        std::fs::write(root.join("run/containerd/containerd.sock"), "").unwrap();
        // Absolute link: re-rooted inside the root.
        std::os::unix::fs::symlink("/run/containerd/containerd.sock", root.join("run/dockershim.sock")).unwrap();
        // Relative link climbing above the root: clamped at the root.
        std::os::unix::fs::symlink("../../../../secret", root.join("etc/docker/daemon.json")).unwrap();
        let (p, followed) = resolve_in_root(&root, "/run/dockershim.sock").unwrap();
        assert!(followed);
        assert_eq!(p, root.join("run/containerd/containerd.sock"));
        let (p, _) = resolve_in_root(&root, "/etc/docker/daemon.json").unwrap();
        assert!(p.starts_with(&root), "{p:?} escaped the root");
        assert!(!p.exists() || std::fs::read_to_string(&p).unwrap() != "outside");
        // Loops end.
        std::os::unix::fs::symlink("b", root.join("a")).unwrap();
        std::os::unix::fs::symlink("a", root.join("b")).unwrap();
        assert!(resolve_in_root(&root, "/a").is_none());
    }
}
