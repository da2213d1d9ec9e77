//! File kinds: the closed list of what a file can be recognised as, and the classifier that decides
//! it from the path and, for YAML, TOML and JSON, a peek at the content. The same kinds apply to
//! repository files and node files, so a `daemon.json` in an Ansible role is checked like one on a node.

/// Which files are worth analysing: a cheap test of a file's text before it is parsed. The rules
/// build one from their literal prefilters (`rules::prefilter`); the caller hands it to the
/// collectors, which know nothing of rules.
pub trait Prefilter: Sync {
    /// Whether a file of `kind` with this text may produce a finding.
    fn may_match(&self, kind: &str, text: &str) -> bool;
}

/// Every kind a rule's `kinds:` may name. `cluster` is evidence from the API, `node` a node object.
pub const ALL: &[&str] = &[
    "k8s-manifest",
    "helm-template",
    "helm-values",
    "jenkinsfile",
    "shell",
    "gitlab-ci",
    "gitlab-runner-config",
    "github-workflow",
    "kubeadm-config",
    "kubelet-config",
    "kubelet-env",
    "systemd-unit",
    "cron",
    "docker-daemon-json",
    "containerd-config",
    "crictl-config",
    "fluent-bit",
    "fluentd",
    "promtail",
    "filebeat",
    "prometheus-rule",
    "grafana-dashboard",
    "installer-kubekey",
    "installer-kubespray",
    "installer-rke",
    "kernel-modules",
    "sysctl",
    "cluster",
    "node",
];

/// Whether `kind` is one of [`ALL`].
pub fn is_known(kind: &str) -> bool {
    ALL.contains(&kind)
}

/// Kinds whose files are YAML streams. A syntax error in one is reported even when the literal
/// prefilter shows no rule could match it: a broken file is never passed over silently.
pub fn is_yaml(kind: &str) -> bool {
    matches!(
        kind,
        "k8s-manifest"
            | "helm-values"
            | "gitlab-ci"
            | "github-workflow"
            | "crictl-config"
            | "kubeadm-config"
            | "kubelet-config"
            | "promtail"
            | "filebeat"
            | "prometheus-rule"
            | "installer-kubekey"
            | "installer-kubespray"
            | "installer-rke"
    )
}

/// Kinds whose files can hold content of other kinds (a ConfigMap holding a fluent-bit config, a
/// pod template inside a Jenkinsfile, a unit written by a script's heredoc), so every rule may
/// apply to them.
pub fn embeds_others(kind: &str) -> bool {
    matches!(
        kind,
        "k8s-manifest" | "helm-template" | "helm-values" | "jenkinsfile" | "shell" | "gitlab-ci" | "github-workflow"
    )
}

/// Suffixes of template files that render to the file named without them (outside Helm charts).
pub const TEMPLATE_SUFFIXES: &[&str] =
    &[".j2", ".jinja2", ".jinja", ".tpl", ".tmpl", ".tftpl", ".template", ".gotmpl", ".erb", ".mustache", ".in"];

/// What the path alone says a file is. `None`: not a file any rule reads (source code, images...),
/// or a YAML/JSON/TOML/conf file whose kind depends on its content (see [`classify_content`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass {
    /// Decided by the path.
    Kind(&'static str),
    /// YAML: decided per document by its content (`apiVersion`/`kind`, known top-level keys).
    Yaml,
    /// JSON: a Grafana dashboard, or nothing.
    Json,
    /// TOML: GitLab Runner or containerd config, or nothing.
    Toml,
    /// `*.conf`: fluent-bit, fluentd, a systemd drop-in, or nothing.
    Conf,
    /// A template whose inner name says nothing (`cluster.tpl`, `user-data.tmpl`): a script, a unit,
    /// cloud-init, YAML, JSON or TOML by its content, or nothing.
    Template,
    /// Not something the rules read.
    Ignore,
}

/// Classifies by path. `rel` uses `/` separators; `in_chart` says a `Chart.yaml` is in an ancestor
/// directory (the chart root), with the path relative to that root.
pub fn classify_path(rel: &str, chart_rel: Option<&str>) -> PathClass {
    // A template outside a Helm chart (Ansible roles, kubespray, Salt, Terraform, Chef, autoconf)
    // is the file it renders to: `kubelet.service.j2` is a systemd unit, `kubeadm.yaml.tpl` YAML.
    // When the inner name says nothing (`cluster.tpl`, `userdata.tmpl`) the content decides.
    // Templating that breaks parsing is handled by the repository scan (text mode), not here.
    let lower = rel.to_ascii_lowercase();
    if chart_rel.is_none()
        && let Some(suffix) = TEMPLATE_SUFFIXES.iter().find(|s| lower.ends_with(*s) && lower.len() > s.len())
    {
        let inner = &rel[..rel.len() - suffix.len()];
        let inner_name = inner.rsplit('/').next().unwrap_or(inner);
        return match classify_path(inner, None) {
            PathClass::Conf if !inner_name.contains('.') && !inner_name.is_empty() => PathClass::Template,
            PathClass::Ignore if *suffix == ".sls" => PathClass::Yaml,
            class => class,
        };
    }
    if lower.ends_with(".sls") {
        // Salt states and pillars: YAML (with Jinja), read like any YAML.
        return PathClass::Yaml;
    }
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if let Some(chart_rel) = chart_rel {
        let chart_lower = chart_rel.to_ascii_lowercase();
        if chart_lower.starts_with("templates/") {
            return match ext {
                "yaml" | "yml" | "tpl" => PathClass::Kind("helm-template"),
                _ => PathClass::Ignore,
            };
        }
        if !chart_lower.contains('/') && name.starts_with("values") && matches!(ext, "yaml" | "yml") {
            return PathClass::Kind("helm-values");
        }
        if name == "chart.yaml" || name == "chart.lock" || name == "values.schema.json" {
            return PathClass::Ignore;
        }
    }
    if name == "jenkinsfile" || name.starts_with("jenkinsfile.") || name.ends_with(".jenkinsfile") || ext == "groovy" {
        return PathClass::Kind("jenkinsfile");
    }
    if name == ".gitlab-ci.yml" || name.ends_with(".gitlab-ci.yml") || name.ends_with(".gitlab-ci.yaml") {
        return PathClass::Kind("gitlab-ci");
    }
    if lower.contains(".github/workflows/") && matches!(ext, "yml" | "yaml") {
        return PathClass::Kind("github-workflow");
    }
    if name == "daemon.json" {
        return PathClass::Kind("docker-daemon-json");
    }
    if name == "kubeadm-flags.env"
        || lower.ends_with("default/kubelet")
        || lower.ends_with("sysconfig/kubelet")
        || (name.starts_with("kubelet") && (ext == "env" || name.contains(".env.")))
    {
        return PathClass::Kind("kubelet-env");
    }
    if name == "crictl.yaml" {
        return PathClass::Kind("crictl-config");
    }
    if name == "crontab"
        || lower.contains("/cron.d/")
        || lower.contains("/spool/cron/")
        || lower.contains("/cron.daily/")
        || lower.contains("/cron.hourly/")
        || lower.contains("/cron.weekly/")
        || lower.contains("/cron.monthly/")
    {
        return PathClass::Kind("cron");
    }
    if matches!(ext, "service" | "timer") || (lower.contains(".service.d/") && ext == "conf") {
        return PathClass::Kind("systemd-unit");
    }
    if lower.contains("modules-load.d/") && ext == "conf" {
        return PathClass::Kind("kernel-modules");
    }
    if (lower.contains("sysctl.d/") && ext == "conf") || name == "sysctl.conf" {
        return PathClass::Kind("sysctl");
    }
    if matches!(ext, "sh" | "bash" | "ksh" | "zsh") {
        return PathClass::Kind("shell");
    }
    match ext {
        "yaml" | "yml" => PathClass::Yaml,
        "json" => PathClass::Json,
        "toml" => PathClass::Toml,
        "conf" | "cfg" => PathClass::Conf,
        "" => PathClass::Conf, // extensionless: a shebang script, or nothing (checked by content)
        _ => PathClass::Ignore,
    }
}

/// Decides an undecided [`PathClass`] from the text. Returns `None` when no rule reads such a file.
pub fn classify_content(class: PathClass, name: &str, text: &str) -> Option<&'static str> {
    let head: &str = match text.char_indices().nth(4096) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    match class {
        PathClass::Kind(k) => Some(k),
        PathClass::Ignore => None,
        PathClass::Yaml => Some("k8s-manifest"), // per-document dispatch happens in the YAML analyser
        PathClass::Json => {
            if text.contains("\"panels\"") && (text.contains("\"expr\"") || text.contains("\"targets\"")) {
                Some("grafana-dashboard")
            } else if name == "daemon.json" {
                Some("docker-daemon-json")
            } else {
                None
            }
        }
        PathClass::Toml => {
            if head.contains("[[runners]]") || head.contains("concurrent =") && text.contains("[runners") {
                Some("gitlab-runner-config")
            } else if head.contains("[plugins")
                || head.contains("io.containerd")
                || name == "config.toml" && text.contains("containerd")
            {
                Some("containerd-config")
            } else {
                None
            }
        }
        PathClass::Template => template_content(name, head, text),
        PathClass::Conf => {
            if head.starts_with("#!") {
                let first = head.lines().next().unwrap_or("");
                if first.contains("sh") {
                    return Some("shell");
                }
                return None;
            }
            let upper = head.to_ascii_uppercase();
            if upper.contains("[INPUT]")
                || upper.contains("[SERVICE]")
                || upper.contains("[OUTPUT]")
                || upper.contains("[PARSER]")
                || upper.contains("[MULTILINE_PARSER]")
            {
                Some("fluent-bit")
            } else if head.contains("<source>")
                || head.contains("<match ")
                || head.contains("<filter ")
                || head.contains("<label ")
            {
                Some("fluentd")
            } else if head.contains("[Service]") || head.contains("[Unit]") {
                Some("systemd-unit")
            } else {
                None
            }
        }
    }
}

/// The kind of a template whose name says nothing, from its first 4 KiB.
fn template_content(name: &str, head: &str, text: &str) -> Option<&'static str> {
    if let Some(k) = classify_content(PathClass::Conf, name, text) {
        return Some(k);
    }
    let body = head.trim_start();
    if body.starts_with('{') {
        return classify_content(PathClass::Json, name, text);
    }
    if head.contains("[[runners]]") || head.contains("[plugins") {
        return classify_content(PathClass::Toml, name, text);
    }
    // YAML: most non-blank, non-comment, non-template lines are `key:` or `- item`.
    let mut lines = 0usize;
    let mut yamlish = 0usize;
    for l in head.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("{%")) {
        lines += 1;
        let key = l.split(':').next().unwrap_or("");
        if l.starts_with("- ") || (l.contains(':') && !key.contains(' ') && !key.is_empty()) {
            yamlish += 1;
        }
    }
    (lines > 0 && yamlish * 4 >= lines * 3).then_some("k8s-manifest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_path() {
        assert_eq!(classify_path("ci/Jenkinsfile", None), PathClass::Kind("jenkinsfile"));
        assert_eq!(classify_path("ci/Jenkinsfile.release", None), PathClass::Kind("jenkinsfile"));
        assert_eq!(classify_path("vars/buildImage.groovy", None), PathClass::Kind("jenkinsfile"));
        assert_eq!(
            classify_path("charts/a/templates/ds.yaml", Some("templates/ds.yaml")),
            PathClass::Kind("helm-template")
        );
        assert_eq!(classify_path("charts/a/values.yaml", Some("values.yaml")), PathClass::Kind("helm-values"));
        assert_eq!(
            classify_path("charts/a/values-prod.yaml", Some("values-prod.yaml")),
            PathClass::Kind("helm-values")
        );
        assert_eq!(classify_path("charts/a/templates/NOTES.txt", Some("templates/NOTES.txt")), PathClass::Ignore);
        assert_eq!(classify_path("etc/default/kubelet", None), PathClass::Kind("kubelet-env"));
        assert_eq!(classify_path("var/lib/kubelet/kubeadm-flags.env", None), PathClass::Kind("kubelet-env"));
        assert_eq!(
            classify_path("etc/systemd/system/kubelet.service.d/10-kubeadm.conf", None),
            PathClass::Kind("systemd-unit")
        );
        assert_eq!(classify_path("etc/cron.d/docker-prune", None), PathClass::Kind("cron"));
        assert_eq!(classify_path(".github/workflows/build.yml", None), PathClass::Kind("github-workflow"));
        assert_eq!(classify_path("src/main.go", None), PathClass::Ignore);
        assert_eq!(classify_path("deploy/app.yaml", None), PathClass::Yaml);
    }

    #[test]
    fn jinja_templates_are_the_file_they_render_to() {
        let role = "roles/kubernetes/node/templates";
        assert_eq!(classify_path(&format!("{role}/kubelet.env.v1beta1.j2"), None), PathClass::Kind("kubelet-env"));
        assert_eq!(classify_path(&format!("{role}/kubelet.service.j2"), None), classify_path("kubelet.service", None));
        assert_eq!(classify_path("roles/kube-router/templates/kube-router.yml.j2", None), PathClass::Yaml);
        assert_eq!(classify_path("roles/etcd/templates/etcd.sh.jinja2", None), classify_path("etcd.sh", None));
        assert_eq!(classify_path("templates/notes.txt.j2", None), PathClass::Ignore);
    }

    #[test]
    fn templates_whatever_the_suffix() {
        // See: issue 12 (templated files whatever the suffix).
        assert_eq!(classify_path("roles/master/templates/kubeadm.yaml.tpl", None), PathClass::Yaml);
        assert_eq!(classify_path("modules/node/templates/kubelet.service.tmpl", None), PathClass::Kind("systemd-unit"));
        assert_eq!(classify_path("templates/kubelet.service.erb", None), PathClass::Kind("systemd-unit"));
        assert_eq!(
            classify_path("cookbooks/k8s/templates/default/kubelet.env.erb", None),
            PathClass::Kind("kubelet-env")
        );
        assert_eq!(classify_path("files/daemon.json.template", None), PathClass::Kind("docker-daemon-json"));
        assert_eq!(classify_path("deploy/node.sh.gotmpl", None), PathClass::Kind("shell"));
        assert_eq!(classify_path("scripts/bootstrap.sh.in", None), PathClass::Kind("shell"));
        assert_eq!(classify_path("etc/cron.d/prune.mustache", None), PathClass::Kind("cron"));
        assert_eq!(classify_path("rke/cluster.tpl", None), PathClass::Template);
        assert_eq!(classify_path("rke/cluster.yml.tpl", None), PathClass::Yaml);
        assert_eq!(classify_path("Makefile.in", None), PathClass::Template);
        assert_eq!(classify_path("config.h.in", None), PathClass::Ignore);
        assert_eq!(classify_path("salt/kubelet/init.sls", None), PathClass::Yaml);
        assert_eq!(classify_path("pillar/k8s.sls.j2", None), PathClass::Yaml);
        // A chart's own helpers stay Helm templates.
        assert_eq!(
            classify_path("chart/templates/_helpers.tpl", Some("templates/_helpers.tpl")),
            PathClass::Kind("helm-template")
        );
        let rke = "nodes:\n  - address: 10.0.0.1\n    user: ubuntu\n    role: [controlplane, etcd]\n    docker_socket: /var/run/docker.sock\n{% for n in workers %}\n  - address: {{ n }}\n    role: [worker]\n{% endfor %}\nkubernetes_version: v1.20.15-rancher1-1\n";
        assert_eq!(classify_content(PathClass::Template, "cluster.tpl", rke), Some("k8s-manifest"));
        assert_eq!(
            classify_content(PathClass::Template, "userdata.tpl", "#!/bin/bash\n/etc/eks/bootstrap.sh x\n"),
            Some("shell")
        );
        assert_eq!(
            classify_content(
                PathClass::Template,
                "makefile.in",
                "all:\n\tcc -o x x.c\n\ninstall: all\n\tcp x /usr/bin\n"
            ),
            None
        );
        assert_eq!(classify_content(PathClass::Template, "notes.tpl", "Dear {{ name }},\nthanks.\n"), None);
    }

    #[test]
    fn classifies_by_content() {
        assert_eq!(
            classify_content(PathClass::Conf, "fluent-bit.conf", "[SERVICE]\n  Flush 1\n[INPUT]\n  Name tail\n"),
            Some("fluent-bit")
        );
        assert_eq!(
            classify_content(PathClass::Conf, "fluent.conf", "<source>\n  @type tail\n</source>\n"),
            Some("fluentd")
        );
        assert_eq!(classify_content(PathClass::Conf, "bootstrap", "#!/usr/bin/env bash\nset -e\n"), Some("shell"));
        assert_eq!(classify_content(PathClass::Conf, "LICENSE", "Apache License\n"), None);
        assert_eq!(
            classify_content(PathClass::Toml, "config.toml", "concurrent = 4\n[[runners]]\n"),
            Some("gitlab-runner-config")
        );
        assert_eq!(
            classify_content(PathClass::Toml, "config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"),
            Some("containerd-config")
        );
        assert_eq!(classify_content(PathClass::Toml, "Cargo.toml", "[package]\nname = \"x\"\n"), None);
        assert_eq!(
            classify_content(PathClass::Json, "d.json", "{\"panels\": [{\"targets\": [{\"expr\": \"up\"}]}]}"),
            Some("grafana-dashboard")
        );
        assert_eq!(classify_content(PathClass::Json, "package.json", "{\"name\": \"x\"}"), None);
    }
}
