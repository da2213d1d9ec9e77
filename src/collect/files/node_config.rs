//! Node runtime configuration for readiness to switch runtimes: containerd's `config.toml`
//! (CRI plugin disabled, `SystemdCgroup`, sandbox image), `/etc/modules-load.d` and
//! `/etc/sysctl.d`. One file in, `setting` records out; the node scanner combines them.

use super::source::Source;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Subject};

/// containerd `config.toml` (schema v2 and v3).
pub fn analyze_containerd(src: &Source<'_>, out: &mut Evidence) {
    let value: toml::Table = match src.text.parse() {
        Ok(v) => v,
        Err(e) => {
            let line = e.span().map(|s| src.text[..s.start.min(src.text.len())].lines().count().max(1) as u32);
            out.gaps.push(src.gap(line, format!("invalid TOML: {}", e.message())));
            return;
        }
    };
    let line_of = |needle: &str| -> u32 {
        src.text.lines().position(|l| l.trim_start().starts_with(needle)).map_or(1, |i| i as u32 + 1)
    };
    let mut push = |key: &str, value: String, needle: &str| {
        let line = line_of(needle);
        out.records
            .push(src.record(Subject::Setting, line, 1).with("key", format!("containerd.{key}")).with("value", value));
    };
    if let Some(list) = value.get("disabled_plugins").and_then(toml::Value::as_array) {
        let names: Vec<String> = list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        push("disabled_plugins", names.join(","), "disabled_plugins");
    }
    let mut found = Vec::new();
    walk(&toml::Value::Table(value), "", &mut found);
    for (key, v) in found {
        let needle = key.clone();
        push(&key, v, &needle);
    }
}

/// Collects `SystemdCgroup`, `sandbox_image` (v2) and `pinned_images.sandbox` (v3) anywhere in the tree.
fn walk(v: &toml::Value, parent: &str, out: &mut Vec<(String, String)>) {
    let Some(t) = v.as_table() else { return };
    for (k, child) in t {
        match (k.as_str(), child) {
            ("SystemdCgroup", toml::Value::Boolean(b)) => out.push(("SystemdCgroup".into(), b.to_string())),
            ("sandbox_image", toml::Value::String(s)) => out.push(("sandbox_image".into(), s.clone())),
            ("sandbox", toml::Value::String(s)) if parent == "pinned_images" => out.push(("sandbox".into(), s.clone())),
            _ => walk(child, k, out),
        }
    }
}

/// `/etc/modules-load.d/*.conf` (one module a line) and sysctl files (`key = value`).
pub fn analyze_node_settings(src: &Source<'_>, out: &mut Evidence) {
    for (i, raw) in src.text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let n = i as u32 + 1;
        if src.kind == FileKind::KernelModules {
            let module = line.split_whitespace().next().unwrap_or(line);
            out.records
                .push(src.record(Subject::Setting, n, 1).with("key", "module").with("value", module.to_string()));
        } else if let Some((k, v)) = line.trim_start_matches('-').split_once('=') {
            let key = k.trim().replace('/', ".");
            out.records.push(
                src.record(Subject::Setting, n, 1).with("key", "sysctl").with("value", format!("{key}={}", v.trim())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_v2_and_docker_default_configs() {
        let docker_default =
            "#   Copyright 2018-2022 Docker Inc.\n\ndisabled_plugins = [\"cri\"]\n\n#root = \"/var/lib/containerd\"\n";
        let mut ev = Evidence::default();
        analyze_containerd(
            &Source::file("/etc/containerd/config.toml", FileKind::ContainerdConfig, docker_default),
            &mut ev,
        );
        assert_eq!(ev.records.len(), 1);
        assert_eq!(ev.records[0].str("value"), "cri");
        assert_eq!(ev.records[0].location.line, Some(3));

        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"registry.k8s.io/pause:3.9\"\n  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n    SystemdCgroup = true\n";
        let mut ev = Evidence::default();
        analyze_containerd(&Source::file("/etc/containerd/config.toml", FileKind::ContainerdConfig, v2), &mut ev);
        let got: Vec<(String, String, u32)> = ev
            .records
            .iter()
            .map(|r| (r.str("key").to_string(), r.str("value").to_string(), r.location.line.unwrap()))
            .collect();
        assert!(got.contains(&("containerd.SystemdCgroup".into(), "true".into(), 5)), "{got:?}");
        assert!(got.contains(&("containerd.sandbox_image".into(), "registry.k8s.io/pause:3.9".into(), 3)), "{got:?}");
    }

    #[test]
    fn modules_and_sysctls() {
        let mut ev = Evidence::default();
        analyze_node_settings(
            &Source::file("/etc/modules-load.d/k8s.conf", FileKind::KernelModules, "# k8s\noverlay\nbr_netfilter\n"),
            &mut ev,
        );
        analyze_node_settings(
            &Source::file(
                "/etc/sysctl.d/k8s.conf",
                FileKind::Sysctl,
                "net.bridge.bridge-nf-call-iptables  = 1\nnet/ipv4/ip_forward=1\n",
            ),
            &mut ev,
        );
        let values: Vec<&str> = ev.records.iter().map(|r| r.str("value")).collect();
        assert_eq!(
            values,
            ["overlay", "br_netfilter", "net.bridge.bridge-nf-call-iptables=1", "net.ipv4.ip_forward=1"]
        );
    }
}
